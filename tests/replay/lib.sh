# Helpers for the record/replay tests (sourced by tests/replay/*.sh). They
# build on tests/linux/lib.sh (fail, note, finish, workdir, need_guest,
# expect_* ...). Settings come from the environment (ctest sets them, see
# CMakeLists.txt); defaults suit a manual run from the repository:
#
#   HS_HINDSIGHT     hindsight binary (default: build/hindsight)
#   HS_REPLAY_CHECK  hs_replay_check (default: build/tests/replay/hs_replay_check)
#   HS_GUEST_DIR     scripts/fetch-linux-guest output (default: build/guest)
#   HS_WORK_DIR      scratch directory (default: build/tests/replay/work)
#   HS_LINUX_REC     the recording replay_linux_console makes and the Linux
#                    checks reuse (default: $HS_WORK_DIR/linux_console/rec)
hs_replay_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
hs_repo_root=$(cd "$hs_replay_lib_dir/../.." && pwd)
HS_WORK_DIR=${HS_WORK_DIR:-$hs_repo_root/build/tests/replay/work}
source "$hs_repo_root/tests/linux/lib.sh"
HS_REPLAY_CHECK=${HS_REPLAY_CHECK:-$hs_repo/build/tests/replay/hs_replay_check}
HS_LINUX_REC=${HS_LINUX_REC:-$HS_WORK_DIR/linux_console/rec}

[[ -x $HS_HINDSIGHT ]] || { echo "$test_name: FAILED: no hindsight at $HS_HINDSIGHT"; exit 1; }
[[ -x $HS_REPLAY_CHECK ]] || { echo "$test_name: FAILED: no hs_replay_check at $HS_REPLAY_CHECK"; exit 1; }

# hs CMD...: runs hindsight CMD... with stdin from /dev/null; stdout to
# $work/out, stderr to $work/err; sets $rc. Echoes the command and stderr
# (and the stdout of info).
hs() {
  echo "---- hindsight $*"
  "$HS_HINDSIGHT" "$@" </dev/null >"$work/out" 2>"$work/err"
  rc=$?
  sed 's/^/  stderr: /' "$work/err"
  [[ $1 = info ]] && sed 's/^/  stdout: /' "$work/out"
  echo "  exit code $rc"
}

# check CMD...: runs hs_replay_check CMD...; its output goes to the log;
# sets $rc.
check() {
  echo "---- hs_replay_check $*"
  "$HS_REPLAY_CHECK" "$@"
  rc=$?
  echo "  exit code $rc"
}

# expect_rc WANT [WHAT]: the last hs/check exit code.
expect_rc() {
  [[ $rc -eq $1 ]] || fail "${2:-exit code} $rc, expected $1"
}

# expect_one_error REGEX: the last hs printed exactly one stderr line, and
# it matches the extended REGEX (the file and what is wrong with it).
expect_one_error() {
  local n
  n=$(grep -c '' "$work/err")
  [[ $n -eq 1 ]] || fail "$n stderr lines, expected exactly one error line"
  grep -q -E -e "$1" "$work/err" || fail "the error line does not match '$1'"
}

# expect_err REGEX [WHAT] / expect_no_err REGEX [WHAT]: some / no stderr line
# of the last hs matches.
expect_err() { grep -q -E -e "$1" "$work/err" || fail "${2:-no stderr line matching '$1'}"; }
expect_no_err() {
  local hit
  hit=$(grep -m 1 -E -e "$1" "$work/err") && fail "${2:-unexpected stderr line}: '$hit'"
}
# expect_out REGEX [WHAT]: some stdout line of the last hs matches.
expect_out() { grep -q -E -e "$1" "$work/out" || fail "${2:-no stdout line matching '$1'}"; }

# is_prefix SHORT LONG: the bytes of file SHORT start file LONG.
is_prefix() {
  local n
  n=$(stat -c %s "$1")
  cmp -s -n "$n" "$1" "$2" && [[ $(stat -c %s "$2") -ge $n ]]
}

# flip_byte FILE OFFSET: inverts the byte at OFFSET.
flip_byte() {
  local b
  b=$(od -A n -t u1 -j "$2" -N 1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $((b ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# replayed_position: N from the last hs's "replayed to position N" line.
replayed_position() { sed -n 's/^hindsight: replayed to position \([0-9]*\).*/\1/p' "$work/err"; }
# verified_count: the last hs's "K state hash(es) verified".
verified_count() { sed -n 's/.* \([0-9]*\) state hash(es) verified$/\1/p' "$work/err"; }

# baremetal_rec REC: records the raw RTC guest of rtc_guest.hpp (2000 loops,
# about 8e6 positions: one wall-clock event, the echoed input) with a
# snapshot every 500000 positions (18 snapshots, 17 journal frames) and 27
# bytes of console input. Its console output goes to REC.out. Ends the test
# if recording fails.
baremetal_rec() {
  local rec=$1 r
  "$HS_REPLAY_CHECK" make-guest "$work/guest.bin" >/dev/null || { fail "make-guest failed"; finish; }
  printf 'hello world, this is input\n' >"$work/input.txt"
  echo "---- hindsight record -o $rec --snapshot-every 500000 --bios none --kernel $work/guest.bin -m 16M <input.txt"
  "$HS_HINDSIGHT" record -o "$rec" --snapshot-every 500000 --bios none --kernel "$work/guest.bin" \
    -m 16M <"$work/input.txt" >"$rec.out" 2>"$rec.err"
  r=$?
  sed 's/^/  stderr: /' "$rec.err"
  if [[ $r -ne 0 ]] || ! grep -q -x -F 'rtc-guest done' "$rec.out"; then
    fail "recording the bare-metal guest failed (exit code $r)"
    cat "$rec.out"
    finish
  fi
}
