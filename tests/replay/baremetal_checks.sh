#!/usr/bin/env bash
# replay_restore_every_snapshot_baremetal / replay_random_seek_baremetal: the
# checks of hs_replay_check on a small bare-metal recording (lib.sh
# baremetal_rec: 18 snapshots, console and wall-clock events).
#
#   baremetal_checks.sh restore   every snapshot restored (a fresh replay
#                                 seeking to it) and replayed to the end:
#                                 the end record's state hash each time
#   baremetal_checks.sh seek      200 random positions and the edges, seeked
#                                 in random order (fixed seed), against one
#                                 straight run: equal state hashes
source "$(dirname "$0")/lib.sh"
what=${1:?usage: baremetal_checks.sh restore|seek}
case $what in
  restore) test_name=replay_restore_every_snapshot_baremetal ;;
  seek) test_name=replay_random_seek_baremetal ;;
  *) echo "baremetal_checks.sh: unknown check '$what'" >&2; exit 2 ;;
esac
workdir "baremetal_$what"
rec=$work/rec
baremetal_rec "$rec"
hs replay "$rec"
expect_rc 0 "replay: exit code"
cmp -s "$work/out" "$rec.out" || fail "the replay's console output differs from the recording's"
if [[ $what = restore ]]; then
  check restore-all "$rec" --to-end all
  expect_rc 0 "restore-all"
else
  check seek-random "$rec" --count 200 --seed 1121
  expect_rc 0 "seek-random"
fi
finish
