#!/usr/bin/env bash
# Checks that a command rejects bad input the way the CLI must: exit code 2,
# exactly one non-empty line on stderr (matching REGEX if given), nothing on
# stdout.
#
#   expect_cli_error.sh [--stderr REGEX] -- COMMAND [ARGS...]
set -u
re=
if [[ ${1:-} == --stderr ]]; then re=$2; shift 2; fi
[[ ${1:-} == -- ]] || { echo "expect_cli_error.sh: missing -- COMMAND" >&2; exit 2; }
shift

out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$@" </dev/null >"$out" 2>"$err"
rc=$?
echo "---- exit code $rc; stdout:"
cat "$out"
echo "---- stderr:"
cat "$err"
echo "----"

status=0
fail() { echo "expect_cli_error.sh: FAILED: $*"; status=1; }
[[ $rc -eq 2 ]] || fail "exit code $rc, expected 2"
[[ -s $out ]] && fail "unexpected output on stdout"
lines=$(wc -l <"$err")
# a last line without a newline counts too
[[ -s $err && $(tail -c 1 "$err" | od -An -c | tr -d ' ') != '\n' ]] && lines=$((lines + 1))
[[ $lines -eq 1 ]] || fail "$lines lines on stderr, expected exactly 1"
[[ $lines -eq 1 && -z $(tr -d '[:space:]' <"$err") ]] && fail "the stderr line is empty"
if [[ -n $re ]] && ! grep -q -E -e "$re" "$err"; then fail "stderr does not match '$re'"; fi
[[ $status -eq 0 ]] && echo "expect_cli_error.sh: ok"
exit $status
