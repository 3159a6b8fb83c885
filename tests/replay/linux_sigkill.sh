#!/usr/bin/env bash
# replay_sigkill: `hindsight record` of the Linux guest killed with SIGKILL,
# once early (0.1 s after the first journal frame appeared: firmware or early
# kernel) and once mid-boot (1.5 s after the kernel's banner). A killed recording has no end
# record and may end inside a journal frame or a pages.pack record.
#
# Checks, each time: `info` exits 0 and says CUT SHORT; `replay` exits 0,
# says the recording was cut short, replays to the last complete frame
# (position P > 0) verifying the snapshots up to there, without divergence;
# its console output and the killed recorder's agree on their common length
# (the recorder's own stdout may miss up to 4095 bytes it had not flushed
# yet, and it may have printed past P); `replay --seek P/2` works.
source "$(dirname "$0")/lib.sh"
test_name=replay_sigkill
need_guest "$HS_GUEST_DIR/initrd.gz"
workdir linux_sigkill

for when in early mid-boot; do
  rec=$work/rec-$when out=$work/record-$when.out
  echo "==== record, SIGKILL $when"
  "$HS_HINDSIGHT" record -o "$rec" -m 512M --kernel "$HS_GUEST_DIR/Image" \
    --initrd "$HS_GUEST_DIR/initrd.gz" --append console=ttyS0 </dev/null >"$out" 2>"$work/record-$when.err" &
  pid=$!
  if [[ $when = early ]]; then
    # just after the first journal frame (the recorder flushes every 0.25 s)
    deadline=$((SECONDS + 120))
    while [[ ! -s $rec/journal && $SECONDS -lt $deadline ]] && kill -0 $pid 2>/dev/null; do
      sleep 0.05
    done
    [[ -s $rec/journal ]] || fail "no journal frame within 120 s"
    sleep 0.1
  else
    wait_for_output "$out" "$pid" 'Linux version' 120 || fail "no kernel banner within 120 s"
    sleep 1.5
  fi
  if ! kill -0 $pid 2>/dev/null; then
    fail "hindsight record ended before the kill"
    wait $pid
    continue
  fi
  kill -KILL $pid
  wait $pid
  r=$?
  [[ $r -eq 137 ]] || fail "record exit status $r, expected 137 (SIGKILL)"
  note "killed; the recorder had printed $(stat -c %s "$out") bytes; $(ls "$rec/snapshots" | grep -c '\.snap$') snapshot files, journal $(stat -c %s "$rec/journal") bytes"
  [[ -e $rec/end ]] && fail "a killed recording has an end record"

  hs info "$rec"
  expect_rc 0 "info: exit code"
  expect_out "^  CUT SHORT: " "info does not say the recording was cut short"

  hs replay "$rec"
  expect_rc 0 "replay: exit code"
  expect_err "^hindsight: .* was cut short; replaying up to position [0-9]+" "replay does not say the recording was cut short"
  expect_no_err "diverged" "the replay diverged"
  pos=$(replayed_position)
  cut=$(sed -n 's/.* was cut short; replaying up to position \([0-9]*\).*/\1/p' "$work/err")
  [[ -n $pos && $pos -gt 0 ]] || fail "the replay did not get past position 0"
  [[ $pos = "$cut" ]] || fail "the replay stopped at $pos, not at the announced $cut"
  expect_err "\\(end of the usable journal\\), [1-9][0-9]* state hash\\(es\\) verified" "no state hash verified"
  mine=$(stat -c %s "$work/out") theirs=$(stat -c %s "$out")
  n=$((mine < theirs ? mine : theirs))
  if cmp -s -n "$n" "$work/out" "$out"; then
    note "replay printed $mine bytes, the killed recorder $theirs: the first $n agree"
  else
    fail "the replay's output ($mine bytes) and the killed recorder's ($theirs bytes) differ within the first $n bytes"
    cmp -n "$n" "$work/out" "$out"
  fi
  # the recorder buffers at most 4095 bytes of console output
  ((mine <= theirs + 4095)) ||
    fail "the replay printed $((mine - theirs)) bytes more than the killed recorder: more than it can have buffered"
  if [[ $when = mid-boot ]]; then
    expect_line "$work/out" 'Linux version' "the replay does not show the kernel banner"
  fi
  cp "$work/out" "$work/replay-$when.out"
  hs replay --seek $((pos / 2)) "$rec"
  expect_rc 0 "replay --seek $((pos / 2)): exit code"
  expect_out "^position $((pos / 2)) " "replay --seek $((pos / 2)) did not arrive"
done
finish
