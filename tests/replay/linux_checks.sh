#!/usr/bin/env bash
# replay_restore_every_snapshot / replay_random_seek: hs_replay_check on the
# Linux recording of replay_linux_console ($HS_LINUX_REC; ctest's fixture
# hs_replay_linux_rec makes it first).
#
#   linux_checks.sh restore   every snapshot (about 50) restored by a fresh
#                             replay and replayed to the next snapshot: its
#                             recorded state hash; 8 of them (the first and
#                             the last included) and the replay from the boot
#                             images run to the end: the end record's hash.
#                             (All of them to the end would take ~2.5 min;
#                             the bare-metal variant does that.)
#   linux_checks.sh seek      24 random positions plus 0, the end and 6
#                             snapshots with their neighbours, seeked in
#                             random order (fixed seed) on one replay; the
#                             same positions in one straight run: equal hashes
source "$(dirname "$0")/lib.sh"
what=${1:?usage: linux_checks.sh restore|seek}
case $what in
  restore) test_name=replay_restore_every_snapshot ;;
  seek) test_name=replay_random_seek ;;
  *) echo "linux_checks.sh: unknown check '$what'" >&2; exit 2 ;;
esac
workdir "linux_$what"
rec=$HS_LINUX_REC
if [[ ! -f $rec/end ]]; then
  fail "no complete recording at $rec (made by replay_linux_console: run that test first)"
  finish
fi
t0=$(date +%s%N)
if [[ $what = restore ]]; then
  check restore-all "$rec" --to-end 8
  expect_rc 0 "restore-all"
else
  check seek-random "$rec" --count 24 --seed 1121 --edge-snapshots 6
  expect_rc 0 "seek-random"
fi
note "took $(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s"
finish
