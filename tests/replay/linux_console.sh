#!/usr/bin/env bash
# replay_linux_console: records the Linux guest's interactive shell (default
# initramfs) while typing commands with pauses (answers awaited, idle time
# between: live pacing wakes, RTC, entropy and console events in the
# journal), ending with `poweroff -f`; then replays the recording with no
# input at all.
#
# Checks: both exit 0; the replay's console output (stdout) is byte for byte
# the recording run's; the replay reaches the end and verifies every state
# hash (one per snapshot, the end's included), no divergence; `info` counts
# the console events and exactly the typed bytes; `dump --events` holds the
# typed text, in order. The recording stays in $HS_LINUX_REC for
# replay_restore_every_snapshot and replay_random_seek (fixture
# hs_replay_linux_rec).
source "$(dirname "$0")/lib.sh"
need_guest "$HS_GUEST_DIR/initrd.gz"
test_name=replay_linux_console
workdir linux_console
rec=$HS_LINUX_REC
rm -rf "$rec"
mkdir -p "$(dirname "$rec")"

fifo=$work/stdin rec_out=$work/record.out rec_err=$work/record.err typed=$work/typed.txt
mkfifo "$fifo"
: >"$typed"
args=(record -o "$rec" -m 512M --kernel "$HS_GUEST_DIR/Image" --initrd "$HS_GUEST_DIR/initrd.gz"
      --append console=ttyS0)
echo "---- hindsight ${args[*]} <$fifo"
t0=$(date +%s%N)
timeout -k 10 "$HS_BOOT_TIMEOUT" "$HS_HINDSIGHT" "${args[@]}" <"$fifo" >"$rec_out" 2>"$rec_err" &
pid=$!
exec 3>"$fifo"

# wait_for REGEX: until a line of the console output matches (or hindsight ends).
wait_for() { wait_for_output "$rec_out" "$pid" "$1"; }
# send TEXT: sends TEXT to the guest and keeps a copy in $typed.
send() { printf '%s' "$1" >&3; printf '%s' "$1" >>"$typed"; }

long=$(printf 'rr%.0s' $(seq 100))   # 200 characters: more than the UART FIFO
ok=0
if wait_for 'Run /init as init process'; then
  send $'echo $((6*7))\n'
  if wait_for '^42$'; then
    sleep 1
    send $'uname -s; date +%s\n'
    if wait_for '^Linux$'; then
      sleep 1.5
      send $'cat /proc/version | cut -c1-13\n'
      if wait_for '^Linux version$'; then
        sleep 0.5
        send "s=$long; echo \"len \${#s}\""$'\n'
        if wait_for '^len 200$'; then
          sleep 1
          send $'head -c 8 /dev/urandom | od -An -tx1; echo "done $((1+2))"\n'
          if wait_for '^done 3$'; then
            sleep 0.5
            send $'poweroff -f\n'
            ok=1
          fi
        fi
      fi
    fi
  fi
else
  fail "the kernel did not start /init"
fi
[[ $ok = 1 ]] || fail "the shell did not answer every command (see the output)"
wait $pid
rec_rc=$?
exec 3>&-
secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
tr -d '\r' <"$rec_out"
sed 's/^/  stderr: /' "$rec_err"
echo "---- record: exit code $rec_rc after $secs s"
rc=$rec_rc
expect_rc 0 "record: exit code"
[[ $ok = 1 ]] || finish
tr -d '\r' <"$rec_out" >"$work/record.log"
expect_clean_kernel "$work/record.log"
expect_exact_line "$work/record.log" 'len 200' "the 200-character line did not arrive intact"
expect_line "$work/record.log" 'reboot: Power down' "the guest did not power off"
expect_line "$rec_err" '^hindsight: recorded [0-9]+ positions into .*: [0-9]+ events, [0-9]+ snapshots' \
  "no summary line from record"

# ---- replay, no input
t0=$(date +%s%N)
hs replay "$rec"
secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
note "replay took $secs s"
expect_rc 0 "replay: exit code"
if cmp "$work/out" "$rec_out"; then
  note "console output identical: $(stat -c %s "$rec_out") bytes"
else
  fail "the replay's console output differs from the recording run's"
  diff <(tr -d '\r' <"$rec_out") <(tr -d '\r' <"$work/out") | head -n 20
fi
expect_no_err 'diverged|cut short' "the replay did not run cleanly"
# the end and every snapshot (the last one is at the end) verified
read -r end_pos end_hash < <("$HS_REPLAY_CHECK" end-hash "$rec")
nsnaps=$(ls "$rec/snapshots" | grep -c '\.snap$')
expect_err "^hindsight: replayed to position $end_pos \\(end of recording\\), $nsnaps state hash\\(es\\) verified$" \
  "the replay did not reach the end ($end_pos) verifying all $nsnaps state hashes"
[[ $nsnaps -ge 10 ]] || fail "only $nsnaps snapshots in a ~2e9-position recording (one per 5e7 expected)"

# ---- info and dump
typed_bytes=$(stat -c %s "$typed")
hs info "$rec"
expect_rc 0 "info: exit code"
expect_out "^  ended    guest power-off \\(exit code 0\\)" "info: not ended by a guest power-off"
expect_out "^  state    $end_hash$" "info: not the end record's state hash"
expect_out "^  console +[0-9]+ events, $typed_bytes bytes$" "info: the console events do not hold the $typed_bytes typed bytes"
for src in wall-clock entropy; do
  expect_out "^  $src +[1-9][0-9]* events" "info: no $src events"
done
expect_out "^  [0-9]+ usable .*, 0 unusable" "info: unusable snapshots"
hs dump --events "$rec"
expect_rc 0 "dump: exit code"
# payloads start at column 28 ("%14d %-11s "); \xNN escapes
grep -E '^ *[0-9]+ console ' "$work/out" | cut -c28- | while IFS= read -r p; do printf '%b' "$p"; done \
  >"$work/dumped.txt"
if cmp -s "$work/dumped.txt" "$typed"; then
  note "dump: the console events hold the typed text ($typed_bytes bytes)"
else
  fail "dump: the console events do not hold the typed text"
  echo "typed:";  od -c "$typed" | head -n 20
  echo "dumped:"; od -c "$work/dumped.txt" | head -n 20
fi
expect_out 'console +echo \$\(\(6\*7\)\)\\x0a' "dump: no event 'echo \$((6*7))\\x0a'"
finish
