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

exec python3 "$here/gdbtest.py" --name bare_metal_replay --work "$work" --port "$port" \
  --script "$here/bare_metal_replay.gdb" --expect "$here/bare_metal_replay.expect" \
  --elf "$elf" --var "END=$end" --var "SEEK=$seek" --var "SEEK_PC=$seek_pc" \
  -- "$hindsight" replay "$rec" --gdb "127.0.0.1:$port"
