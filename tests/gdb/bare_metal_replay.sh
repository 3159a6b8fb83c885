#!/usr/bin/env bash
# gdb_bare_metal_replay: records debugee.elf, then debugs the replay with gdb
# (bare_metal_replay.gdb, checked against bare_metal_replay.expect).
#
# usage: bare_metal_replay.sh HINDSIGHT DEBUGEE_ELF WORK_DIR PORT
set -u
hindsight=$1 elf=$2 work=$3 port=$4
here=$(cd "$(dirname "$0")" && pwd)
seek=300   # a position before the loop (in the "debugee: start" print)

rm -rf "$work" && mkdir -p "$work"
rec=$work/rec
echo "---- hindsight record -o $rec --bios none --kernel $elf"
timeout 60 "$hindsight" record -o "$rec" --bios none --kernel "$elf" </dev/null ||
  { echo "bare_metal_replay: FAILED: hindsight record exited $?"; exit 1; }
end=$("$hindsight" info "$rec" | sed -n 's/^ *0 \.\. \([0-9][0-9]*\) .*/\1/p')
[[ $end =~ ^[0-9]+$ ]] || { echo "bare_metal_replay: FAILED: no end position in 'hindsight info'"; exit 1; }
# the pc at $seek, from a plain replay (no gdb): the test compares gdb's view
seek_pc=$("$hindsight" replay "$rec" --seek "$seek" | sed -n 's/^position [0-9]* .* pc \([0-9a-f]*\) .*/0x\1/p')
[[ -n $seek_pc ]] || { echo "bare_metal_replay: FAILED: no pc from 'hindsight replay --seek $seek'"; exit 1; }
echo "---- end position $end, pc at $seek: $seek_pc"

# replay --seek past the end is refused (as gdb's replay_seek); with --gdb the
# session starts at the --seek position.
"$hindsight" replay "$rec" --seek $((end + 1)) >/dev/null 2>"$work/seek.err"
rc=$?
if [[ $rc -ne 2 ]] || ! grep -q "beyond the end of the recording" "$work/seek.err"; then
  echo "bare_metal_replay: FAILED: --seek past the end: exit $rc, stderr: $(cat "$work/seek.err")"
  exit 1
fi
sport=$((port + 100))
"$hindsight" replay "$rec" --seek "$seek" --gdb "127.0.0.1:$sport" >/dev/null 2>"$work/seek_gdb.err" &
hs_pid=$!
for _ in $(seq 200); do
  grep -q "gdb server on port" "$work/seek_gdb.err" 2>/dev/null && break
  sleep 0.05
done
seen=$(timeout 60 gdb-multiarch -q -batch -ex "set architecture riscv:rv64" \
  -ex "target remote 127.0.0.1:$sport" -ex "monitor info replay" -ex "info registers pc" -ex kill 2>&1)
kill "$hs_pid" 2>/dev/null
wait "$hs_pid" 2>/dev/null
gdb_pc=$(sed -n 's/^pc  *\(0x[0-9a-f]*\).*/\1/p' <<<"$seen")
if ! grep -q "position $seek of $end" <<<"$seen" || [[ -z $gdb_pc ]] || ((gdb_pc != seek_pc)); then
  echo "bare_metal_replay: FAILED: replay --seek $seek --gdb did not start there:"
  echo "$seen"
  exit 1
fi
echo "---- replay --seek: past the end refused, --gdb session starts at $seek"

exec python3 "$here/gdbtest.py" --name bare_metal_replay --work "$work" --port "$port" \
  --script "$here/bare_metal_replay.gdb" --expect "$here/bare_metal_replay.expect" \
  --elf "$elf" --var "END=$end" --var "SEEK=$seek" --var "SEEK_PC=$seek_pc" \
  -- "$hindsight" replay "$rec" --gdb "127.0.0.1:$port"
