#!/usr/bin/env bash
# Corrupt boot images must not crash hindsight.
#
#   corrupt_boot.sh initrd   linux_corrupt_initrd: the real kernel with 256 KiB
#       of pseudo-random bytes as the initrd and "panic=-1". The kernel cannot
#       unpack it, panics ("VFS: Unable to mount root fs") and reboots at once;
#       the reset ends hindsight with exit code 0.
#   corrupt_boot.sh kernel   linux_corrupt_kernel: 1 MiB of pseudo-random
#       bytes as a raw kernel Image. OpenSBI starts it and the hart runs
#       garbage (traps); after 10 s hindsight must still be running (timeout
#       kills it: 124) or have exited with 0..2 -- never a signal or an
#       internal error (70).
# The random bytes are reproducible: Python's random.Random(SEED), or
# /dev/urandom if python3 is missing (the file is kept in the work directory).
source "$(dirname "$0")/lib.sh"
what=${1:-}
case $what in initrd | kernel) ;; *) echo "usage: $0 initrd|kernel" >&2; exit 2 ;; esac
test_name=corrupt_$what
need_guest "$HS_GUEST_DIR/initrd.gz"
workdir "corrupt_$what"

# random_file FILE BYTES SEED
random_file() {
  if command -v python3 >/dev/null; then
    python3 -c 'import random, sys
sys.stdout.buffer.write(random.Random(int(sys.argv[2])).getrandbits(8 * int(sys.argv[1])).to_bytes(int(sys.argv[1]), "little"))' "$2" "$3" >"$1"
  else
    head -c "$2" /dev/urandom >"$1"
  fi
  [[ $(stat -c %s "$1") -eq $2 ]] || { fail "could not make $2 random bytes in $1"; finish; }
}

if [[ $what == initrd ]]; then
  random_file "$work/random.initrd" 262144 1
  boot "$work/boot.log" --initrd "$work/random.initrd" --append "console=ttyS0 panic=-1"
  expect_exit 0
  expect_line "$work/boot.log" 'Initramfs unpacking failed' "the kernel did not reject the initrd ('Initramfs unpacking failed')"
  expect_line "$work/boot.log" 'Kernel panic - not syncing: VFS: Unable to mount root fs' "no 'Kernel panic - not syncing: VFS: Unable to mount root fs'"
  expect_no_line "$work/boot.log" '^hindsight-guest:' "/init ran from a random initrd"
else
  random_file "$work/random.Image" 1048576 2
  HS_BOOT_TIMEOUT=10 boot_kernel=$work/random.Image
  boot "$work/boot.log" --initrd "$HS_GUEST_DIR/initrd.gz" --append "console=ttyS0 panic=-1"
  # OpenSBI ran and handed over to the "kernel"
  expect_line "$work/boot.log" '^Domain0 Next Address +: 0x0*80200000$' "OpenSBI did not start the kernel at 0x80200000"
  expect_no_line "$work/boot.log" 'internal error' "hindsight reported an internal error"
  if [[ $rc -ne 124 && $rc -gt 2 ]]; then
    fail "hindsight exit code $rc (expected: still running after 10 s, or exit 0..2)"
  fi
fi
finish
