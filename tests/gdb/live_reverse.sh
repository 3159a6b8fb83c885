#!/usr/bin/env bash
# gdb_live_reverse: gdb on `hindsight run --gdb PORT -S` of debugee.elf
# (live_reverse.gdb, checked against live_reverse.expect); afterwards the
# temporary recording of the live run must be gone.
#
# usage: live_reverse.sh HINDSIGHT DEBUGEE_ELF WORK_DIR PORT
set -u
hindsight=$1 elf=$2 work=$3 port=$4
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work/tmp"
# the live recording goes to $TMPDIR/hindsight-live-*
TMPDIR=$work/tmp python3 "$here/gdbtest.py" --name live_reverse --work "$work" --port "$port" \
  --script "$here/live_reverse.gdb" --expect "$here/live_reverse.expect" --elf "$elf" \
  -- "$hindsight" run --gdb "127.0.0.1:$port" -S --bios none --kernel "$elf" || exit 1
left=$(ls -A "$work/tmp")
if [[ -n $left ]]; then
  echo "live_reverse: FAILED: the live recording was left behind: $left"
  exit 1
fi
echo "live_reverse: ok"
