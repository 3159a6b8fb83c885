#!/usr/bin/env bash
# Runs a command (a guest on hindsight) and checks both its exit code and its
# output; ctest's PASS_REGULAR_EXPRESSION alone would ignore the exit code.
#
#   run_guest.sh [--exit N] [--expect REGEX]... -- COMMAND [ARGS...]
#
# --exit N       required exit code (default 0)
# --expect REGEX extended regex that some output line (stdout and stderr,
#                CRs removed) must match; several --expect must match lines
#                in the given order.
# The command's stdin is /dev/null. Its output is echoed for the ctest log.
set -u
want_exit=0
expects=()
while [[ $# -gt 0 && $1 != -- ]]; do
  case $1 in
    --exit) want_exit=$2; shift 2 ;;
    --expect) expects+=("$2"); shift 2 ;;
    *) echo "run_guest.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ ${1:-} == -- ]] || { echo "run_guest.sh: missing -- COMMAND" >&2; exit 2; }
shift
[[ $# -gt 0 ]] || { echo "run_guest.sh: missing COMMAND" >&2; exit 2; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" </dev/null >"$out" 2>&1
rc=$?
tr -d '\r' <"$out" >"$out.lf" && mv "$out.lf" "$out"
cat "$out"
echo "---- exit code $rc"

status=0
if [[ $rc -ne $want_exit ]]; then
  echo "run_guest.sh: FAILED: exit code $rc, expected $want_exit"
  status=1
fi
line=0
for re in "${expects[@]}"; do
  # first matching line after the previous match
  n=$(tail -n +$((line + 1)) "$out" | grep -n -E -m 1 -e "$re" | cut -d: -f1)
  if [[ -z $n ]]; then
    where=; [[ $line -gt 0 ]] && where=" after line $line"
    echo "run_guest.sh: FAILED: no output line matching '$re'$where"
    status=1
    break
  fi
  line=$((line + n))
done
[[ $status -eq 0 ]] && echo "run_guest.sh: ok"
exit $status
