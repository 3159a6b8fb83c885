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
#   cross_tier.sh cache       the bare-metal guest replayed with code from the
#                             persistent code cache (--jit-cache): written by
#                             the recording, by an earlier replay (the
#                             background JIT), and after every cache file was
#                             damaged (reported, removed, compiled again)
#   cross_tier.sh linux       the interactive-shell recording of
#                             replay_linux_console (made with the default
#                             tier) replayed with --jit off and --jit sync
source "$(dirname "$0")/lib.sh"
what=${1:?usage: cross_tier.sh baremetal|linux}
test_name=replay_cross_tier_$what
workdir "cross_tier_$what"

# replay_with REC TIER EXPECTED_OUT [ARGS...]: replays REC with --jit TIER
# (and ARGS); the end reached, every state hash verified, stdout equal to
# EXPECTED_OUT.
replay_with() {
  local rec=$1 tier=$2 expected=$3 end_pos nsnaps
  hs replay --jit "$tier" "${@:4}" "$rec"
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
  cache)
    cache=$work/jit-cache
    rec=$work/rec
    rm -rf "$cache"
    # loaded_count: units the last run loaded from the cache (--stats).
    loaded_count() { sed -n 's/.* \([0-9]*\) loaded from the code cache.*/\1/p' "$work/err"; }
    note "recorded with --jit sync, which fills the cache"
    HINDSIGHT_JIT=sync HINDSIGHT_JIT_CACHE=$cache baremetal_rec "$rec"
    [[ -n $(find "$cache" -name '*.o') ]] || fail "the recording left no code in $cache"
    note "replayed with --jit sync: every unit from the cache"
    replay_with "$rec" sync "$rec.out" --stats --jit-cache "$cache"
    expect_err '^hindsight: jit: 0 units compiled, ' "replay --jit sync compiled units the cache has"
    (( $(loaded_count) > 0 )) || fail "replay --jit sync loaded nothing from the cache"
    note "replayed twice with the background JIT: the second run loads what the first compiled"
    replay_with "$rec" on "$rec.out" --stats --jit-cache "$cache"
    replay_with "$rec" on "$rec.out" --stats --jit-cache "$cache"
    (( $(loaded_count) > 0 )) || fail "the second replay --jit on loaded nothing from the cache"
    note "every cache file damaged: reported, removed, compiled again"
    # (once per file: a tier-1 batch's file has a name per unit)
    for f in $(find "$cache" -name '*.o' -printf '%i %p\n' | sort -u -k1,1 | cut -d' ' -f2); do
      flip_byte "$f" $(( $(stat -c %s "$f") / 2 ))
    done
    replay_with "$rec" sync "$rec.out" --stats --jit-cache "$cache"
    expect_err '^hindsight: jit: damaged code cache file .* removed$' "no damaged cache file reported"
    replay_with "$rec" sync "$rec.out" --stats --jit-cache "$cache"
    expect_err '^hindsight: jit: 0 units compiled, ' "the units compiled again were not cached again"
    expect_no_err 'damaged' "damaged files reported twice"
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
