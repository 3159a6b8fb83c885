#!/usr/bin/env bash
# gdb_linux_replay: records the Linux guest booting to power-off (initramfs
# with rootfs/test.sh: prints a marker, /init powers off), then debugs the
# replay with gdb at raw addresses deep in the boot (linux_replay.gdb,
# checked against linux_replay.expect), then interrupts a long
# reverse-continue and continue with Ctrl-C (protocol_robustness.py
# --interrupt).
#
# usage: linux_replay.sh WORK_DIR PORT
# Environment as for tests/linux (lib.sh): HS_HINDSIGHT, HS_GUEST_DIR.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../linux/lib.sh"
work=$1 port=$2

need_guest
rm -rf "$work" && mkdir -p "$work"
initrd=$work/gdb-initrd.gz
"$hs_repo/scripts/fetch-linux-guest" --out "$HS_GUEST_DIR" --extra-dir "$here/rootfs" \
  --initrd-out "$initrd" >/dev/null || { fail "scripts/fetch-linux-guest --extra-dir failed"; finish; }

rec=$work/rec
echo "---- hindsight record -o $rec -m 512M --kernel $boot_kernel --initrd $initrd --append console=ttyS0"
t0=$(date +%s%N)
timeout -k 10 "$HS_BOOT_TIMEOUT" "$HS_HINDSIGHT" record -o "$rec" -m 512M --kernel "$boot_kernel" \
  --initrd "$initrd" --append console=ttyS0 </dev/null 2>&1 | tr -d '\r' >"$work/record.log"
rc=${PIPESTATUS[0]}
echo "---- exit code $rc after $(( ($(date +%s%N) - t0) / 1000000 )) ms; last lines:"
tail -n 4 "$work/record.log"
expect_exit 0
expect_exact_line "$work/record.log" "hindsight-gdb-test: boot done"
[[ $status -eq 0 ]] || finish

end=$("$HS_HINDSIGHT" info "$rec" | sed -n 's/^ *0 \.\. \([0-9][0-9]*\) .*/\1/p')
[[ $end =~ ^[0-9]+$ ]] || { fail "no end position in 'hindsight info $rec'"; finish; }
n=$((end * 8 / 10))
echo "---- end position $end; N = $n (80%)"

python3 "$here/gdbtest.py" --name linux_replay --work "$work" --port "$port" --gdb-timeout 240 \
  --script "$here/linux_replay.gdb" --expect "$here/linux_replay.expect" \
  --var "END=$end" --var "N=$n" \
  -- "$HS_HINDSIGHT" replay "$rec" --gdb "127.0.0.1:$port" || fail "the gdb session did not go as expected"
# informational
grep -h '^@@ .* took' "$work/linux_replay.gdb.out" | sed 's/^@@ /linux_replay: /'
# Ctrl-C during a long reverse-continue and continue (a raw protocol client)
echo "---- interrupts"
python3 "$here/protocol_robustness.py" --hindsight "$HS_HINDSIGHT" --interrupt "$rec" \
  --work "$work/interrupt" --port "$port" || fail "interrupting the replay did not go as expected"
rm -rf "$rec"   # 70 MB
finish
