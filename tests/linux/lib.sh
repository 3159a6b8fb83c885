# Helpers for the Linux end-to-end tests (sourced by the tests/linux/*.sh
# scripts). Settings come from the environment (ctest sets them, see
# CMakeLists.txt); the defaults suit a manual run from the repository:
#
#   HS_HINDSIGHT    hindsight binary            (default: build/hindsight)
#   HS_GUEST_DIR    scripts/fetch-linux-guest --out directory (default: build/guest)
#   HS_TEST_INITRD  initramfs with tests/linux/rootfs/test.sh as /test.sh
#                   (default: build/tests/linux/test-initrd.gz; setup.sh builds it)
#   HS_WORK_DIR     scratch directory for disk images and logs
#                   (default: build/tests/linux/work)
#   HS_BOOT_TIMEOUT wall-clock limit of one boot in seconds (default 240)
set -u

hs_linux_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
hs_repo=$(cd "$hs_linux_dir/../.." && pwd)
HS_HINDSIGHT=${HS_HINDSIGHT:-$hs_repo/build/hindsight}
HS_GUEST_DIR=${HS_GUEST_DIR:-$hs_repo/build/guest}
HS_TEST_INITRD=${HS_TEST_INITRD:-$hs_repo/build/tests/linux/test-initrd.gz}
HS_WORK_DIR=${HS_WORK_DIR:-$hs_repo/build/tests/linux/work}
HS_BOOT_TIMEOUT=${HS_BOOT_TIMEOUT:-240}

test_name=$(basename "$0" .sh)
boot_kernel=$HS_GUEST_DIR/Image
status=0
fail() { echo "$test_name: FAILED: $*"; status=1; }
note() { echo "$test_name: $*"; }

# wait_for_output FILE PID REGEX [SECS]: until a line of FILE (carriage
# returns dropped) matches REGEX; false once process PID has ended, or after
# SECS seconds if given.
wait_for_output() {
  local deadline=$((SECONDS + ${4:-86400}))
  while ! tr -d '\r' <"$1" | grep -q -E -e "$3"; do
    kill -0 "$2" 2>/dev/null || return 1
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.1
  done
}

# finish: the last line and the exit status of a test script.
finish() {
  if [[ $status -eq 0 ]]; then echo "$test_name: ok"; else echo "$test_name: FAILED"; fi
  exit $status
}

# need_guest [INITRD]: the kernel (and INITRD) must exist; they are made by
# the linux_fetch_guest test (setup.sh).
need_guest() {
  local f
  for f in "$HS_HINDSIGHT" "$HS_GUEST_DIR/Image" "$@"; do
    [[ -e $f ]] || { echo "$test_name: FAILED: $f is missing (run tests/linux/setup.sh or the linux_fetch_guest test)"; exit 1; }
  done
}

# workdir NAME: a fresh scratch directory $HS_WORK_DIR/NAME; sets $work.
workdir() {
  work=$HS_WORK_DIR/$1
  rm -rf "$work"
  mkdir -p "$work"
}

# boot LOG ARGS...: runs `hindsight run -m 512M --kernel $boot_kernel ARGS...`
# ($boot_kernel: the guest's Image unless set) with stdin from /dev/null and
# a wall-clock limit of $HS_BOOT_TIMEOUT s. LOG gets the output (stdout and
# stderr) without CRs, the ctest log a copy. Sets $rc and $secs.
boot() {
  local log=$1; shift
  local t0 t1
  echo "---- boot: hindsight run -m 512M --kernel $boot_kernel $*"
  t0=$(date +%s%N)
  timeout -k 10 "$HS_BOOT_TIMEOUT" "$HS_HINDSIGHT" run -m 512M --kernel "$boot_kernel" "$@" \
    </dev/null >"$log.raw" 2>&1
  rc=$?
  t1=$(date +%s%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  tr -d '\r' <"$log.raw" >"$log"
  rm -f "$log.raw"
  cat "$log"
  echo "---- exit code $rc after $secs s (log: $log)"
}

# expect_exit WANT: the last boot's exit code.
expect_exit() {
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    fail "hindsight did not finish within $HS_BOOT_TIMEOUT s (exit code $rc from timeout)"
  elif [[ $rc -ne $1 ]]; then
    fail "hindsight exit code $rc, expected $1"
  fi
}

# expect_line LOG REGEX [WHAT]: some line of LOG matches the extended REGEX.
expect_line() {
  grep -q -E -e "$2" "$1" || fail "${3:-no output line matching '$2'}"
}

# expect_exact_line LOG TEXT [WHAT]: some line of LOG is exactly TEXT.
expect_exact_line() {
  grep -q -x -F -e "$2" "$1" || fail "${3:-no output line '$2'}"
}

# expect_no_line LOG REGEX [WHAT]: no line of LOG matches.
expect_no_line() {
  local hit
  hit=$(grep -m 1 -E -e "$2" "$1") && fail "${3:-unexpected output line}: '$hit'"
}

# expect_clean_kernel LOG: no oops, BUG, WARNING or panic in the kernel log.
expect_clean_kernel() {
  expect_no_line "$1" 'Oops|BUG:|WARNING:|Call Trace:|Kernel panic|Unable to handle kernel' \
    "kernel trouble in the log"
}

# expect_checks LOG NAME...: the guest's /test.sh reported "HS-CHECK ok NAME"
# for every NAME, no failed check, its final marker and exit status 0.
expect_checks() {
  local log=$1 name; shift
  expect_no_line "$log" '^HS-CHECK FAIL' "a guest check failed"
  for name in "$@"; do
    grep -q -x -e "HS-CHECK ok $name" "$log" || fail "guest check '$name' did not pass (no 'HS-CHECK ok $name')"
  done
  expect_line "$log" '^HS-LINUX-TEST: all checks passed \([0-9]+\)$' "no 'HS-LINUX-TEST: all checks passed' marker"
  expect_line "$log" '^hindsight-guest: /test.sh exit status 0$' "/test.sh did not exit with status 0"
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# make_disk FILE TAG SECTORS: a raw disk image. Sector 0 starts with the line
# "HS-DISK-<TAG> hindsight linux test disk"; sector s (s >= 1) is one
# 511-character line starting "HS sector <s as %06d>" and a newline.
make_disk() {
  local file=$1 tag=$2 sectors=$3
  local header="HS-DISK-$tag hindsight linux test disk"
  {
    printf '%s\n' "$header"
    head -c $((511 - ${#header})) /dev/zero
    awk -v n="$sectors" 'BEGIN {
      for (s = 1; s < n; s++) {
        line = sprintf("HS sector %06d", s)
        while (length(line) < 511) line = line sprintf(" %d", s * length(line))
        printf "%s\n", substr(line, 1, 511)
      }
    }'
  } >"$file"
  local size
  size=$(stat -c %s "$file")
  [[ $size -eq $((sectors * 512)) ]] || { echo "$test_name: FAILED: make_disk wrote $size bytes, expected $((sectors * 512))"; exit 1; }
}

# The bytes /test.sh writes (its `pattern` function) and where: 8 sectors at
# sector 1001.
guest_pattern() { awk 'BEGIN { for (i = 1; i <= 300; i++) printf "guest write %05d\n", i }' | head -c 4096; }
guest_write_seek=1001

# written_copy IMAGE OUT: IMAGE with the guest's write applied.
written_copy() {
  cp "$1" "$2"
  guest_pattern | dd of="$2" bs=512 seek=$guest_write_seek conv=notrunc status=none
}

# dtb_prop NODE PROP: a string property of the device tree hindsight
# generates (dumped to $work/virt.dtb).
dtb_prop() {
  local dtb=$work/virt.dtb
  [[ -s $dtb ]] || "$HS_HINDSIGHT" run -m 512M --dump-dtb "$dtb" || return 1
  if command -v fdtget >/dev/null; then
    fdtget -t s "$dtb" "$1" "$2"
  elif command -v dtc >/dev/null; then
    dtc -I dtb -O dts "$dtb" 2>/dev/null | awk -v p="$2" '$1 == p { sub(/^[^"]*"/, ""); sub(/".*$/, ""); print; exit }'
  else
    echo "$test_name: neither fdtget nor dtc (device-tree-compiler) is installed" >&2
    return 1
  fi
}

# dtb_cpus: the number of /cpus/cpu@N nodes in that device tree.
dtb_cpus() {
  local dtb=$work/virt.dtb
  [[ -s $dtb ]] || "$HS_HINDSIGHT" run -m 512M --dump-dtb "$dtb" || return 1
  if command -v fdtget >/dev/null; then
    fdtget -l "$dtb" /cpus | grep -c '^cpu@'
  else
    dtc -I dtb -O dts "$dtb" 2>/dev/null | grep -c -E '^[[:space:]]*cpu@[0-9a-f]+ \{'
  fi
}

# kernel_release: from the guest's guest.info.
kernel_release() { sed -n 's/^kernel_release=//p' "$HS_GUEST_DIR/guest.info"; }
