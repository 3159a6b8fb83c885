#!/usr/bin/env bash
# linux_console_input: the interactive shell of the default initramfs (no
# /test.sh), driven through hindsight's stdin (a pipe).
#
# Input is written only once the kernel has started /init: the kernel's 8250
# driver resets the UART's receive FIFO when it opens the console, so bytes
# sent earlier (up to the 16-byte FIFO, plus the ones its probe reads) are
# lost -- QEMU's UART behaves the same. From then on the tty buffers what
# arrives. All commands are written in one go (far more than the 16-byte
# FIFO): hindsight keeps the rest queued until the guest has room.
#
# Checks: the answers (42, Linux, "Linux version", the length of a 300-byte
# line, the kernel release), `poweroff -f` ending hindsight with exit 0.
source "$(dirname "$0")/lib.sh"
need_guest "$HS_GUEST_DIR/initrd.gz"
workdir console_input

krel=$(kernel_release)
long=$(printf 'hs%.0s' $(seq 150))   # 300 characters
fifo=$work/stdin out=$work/console.raw log=$work/console.log
mkfifo "$fifo"
args=(run -m 512M --kernel "$HS_GUEST_DIR/Image" --initrd "$HS_GUEST_DIR/initrd.gz" --append console=ttyS0)
echo "---- boot: hindsight ${args[*]} <$fifo"
t0=$(date +%s%N)
timeout -k 10 "$HS_BOOT_TIMEOUT" "$HS_HINDSIGHT" "${args[@]}" <"$fifo" >"$out" 2>&1 &
pid=$!
exec 3>"$fifo"

# wait_for REGEX: until a line of the output matches (or hindsight ends).
wait_for() { wait_for_output "$out" "$pid" "$1"; }

if wait_for 'Run /init as init process'; then
  # type-ahead: the shell is not running yet
  printf 'echo $((6*7))\nuname -s\ncat /proc/version | cut -c1-13\n' >&3
  if wait_for '^Linux version$'; then
    printf 's=%s; echo "len ${#s}"\nuname -r\necho "done $((1+2))"\npoweroff -f\n' "$long" >&3
  else
    fail "no answer to the first commands"
  fi
else
  fail "the kernel did not start /init"
fi
wait $pid
rc=$?
exec 3>&-
secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
tr -d '\r' <"$out" >"$log"
cat "$log"
echo "---- exit code $rc after $secs s (log: $log)"

expect_exit 0
expect_clean_kernel "$log"
# the answers, each a line of its own (the echoed commands contain more);
# ash's ESC[6n after a prompt may precede an echoed command, not an answer
expect_exact_line "$log" 42 "no answer '42' to 'echo \$((6*7))'"
expect_exact_line "$log" Linux "no answer 'Linux' to 'uname -s'"
expect_exact_line "$log" 'Linux version' "no answer 'Linux version' to 'cat /proc/version | cut -c1-13'"
expect_exact_line "$log" 'len 300' "the 300-character line did not arrive intact (no 'len 300')"
expect_exact_line "$log" "$krel" "no answer '$krel' to 'uname -r'"
expect_exact_line "$log" 'done 3' "no answer 'done 3'"
expect_line "$log" 'reboot: Power down' "the guest did not power off"
finish
