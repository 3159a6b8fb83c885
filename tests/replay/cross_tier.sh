#!/usr/bin/env bash
# replay_cross_tier_baremetal / replay_cross_tier_linux: a recording replays
# exactly whichever execution tier made it (docs/determinism.md, rule 5):
# every state hash (one per snapshot and the end's) verified, the console
# output identical.
#
#   cross_tier.sh baremetal   the bare-metal guest of lib.sh recorded with the
#                             JIT in synchronous mode (every block compiled),
#                             replayed with the interpreter only; and the
#                             other way round
#   cross_tier.sh linux       the interactive-shell recording of
#                             replay_linux_console (made with the default
#                             tier) replayed with --jit off and --jit sync
source "$(dirname "$0")/lib.sh"
what=${1:?usage: cross_tier.sh baremetal|linux}
test_name=replay_cross_tier_$what
workdir "cross_tier_$what"

# replay_with REC TIER EXPECTED_OUT: replays REC with --jit TIER; the end
# reached, every state hash verified, stdout equal to EXPECTED_OUT.
replay_with() {
  local rec=$1 tier=$2 expected=$3 end_pos nsnaps
  hs replay --jit "$tier" "$rec"
  expect_rc 0 "replay --jit $tier: exit code"
  cmp -s "$work/out" "$expected" || fail "replay --jit $tier: the console output differs"
  expect_no_err 'diverged|cut short' "replay --jit $tier did not run cleanly"
  read -r end_pos _ < <("$HS_REPLAY_CHECK" end-hash "$rec")
  nsnaps=$(ls "$rec/snapshots" | grep -c '\.snap$')
  expect_err "^hindsight: replayed to position $end_pos \\(end of recording\\), $nsnaps state hash\\(es\\) verified$" \
    "replay --jit $tier: not every state hash verified to the end ($end_pos, $nsnaps snapshots)"
}

case $what in
  baremetal)
    for tiers in "sync off" "off sync"; do
      read -r made replayed <<<"$tiers"
      rec=$work/rec-$made
      note "recorded with --jit $made, replayed with --jit $replayed"
      HINDSIGHT_JIT=$made baremetal_rec "$rec"
      replay_with "$rec" "$replayed" "$rec.out"
    done
    ;;
  linux)
    need_guest
    [[ -d $HS_LINUX_REC ]] || { fail "no recording at $HS_LINUX_REC (made by replay_linux_console)"; finish; }
    hs replay --jit off "$HS_LINUX_REC"
    cp "$work/out" "$work/expected.out"
    replay_with "$HS_LINUX_REC" off "$work/expected.out"
    replay_with "$HS_LINUX_REC" sync "$work/expected.out"
    ;;
  *) echo "cross_tier.sh: unknown case '$what'" >&2; exit 2 ;;
esac
finish
