#!/bin/sh
# /test.sh of the gdb Linux tests (tests/gdb) and scripts/bench-reverse: only
# prints a marker; /init powers off afterwards, so a recording of the boot
# ends with the guest's power-off.
echo "hindsight-gdb-test: boot done"
