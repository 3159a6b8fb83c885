#!/bin/sh
# /test.sh of scripts/bench-linux: a fixed CPU-bound busybox workload. /init
# (scripts/fetch-linux-guest) runs it instead of the interactive shell and
# powers off afterwards.
#
# Output (the host times the gaps between these lines as they reach the
# console; UP is the guest's /proc/uptime in seconds, MD5 a step's result):
#   hindsight-bench-linux: start UP
#   hindsight-bench-linux: step NAME MD5 UP     (once per step, when it ends)
#   hindsight-bench-linux: end UP
# Under hindsight the guest clock follows retired instructions (10^8 per
# guest second), not the host clock, so UP there measures guest work.

up() { read -r u _ </proc/uptime; echo "$u"; }
say() { echo "hindsight-bench-linux: $*"; }
# step NAME: runs the step's pipeline (step_NAME), prints its md5 and the uptime
step() {
  r=$("step_$1")
  say "step $1 ${r%% *} $(up)"
}
step_dd() { dd if=/dev/zero bs=1M count=64 2>/dev/null | md5sum; }
step_gzip() { seq 1 1000000 | gzip -1 | md5sum; }
step_sort() { seq 1 200000 | sort -r | md5sum; }

say "start $(up)"
step dd
step gzip
step sort
say "end $(up)"
