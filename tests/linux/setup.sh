#!/usr/bin/env bash
# ctest fixture linux_fetch_guest: makes sure the Linux guest exists
# (scripts/fetch-linux-guest: downloads it on the first run, about 113 MB;
# later runs only check that it is up to date) and builds the test initramfs
# $HS_TEST_INITRD: the guest's initramfs plus tests/linux/rootfs/ (its
# test.sh becomes /test.sh).
source "$(dirname "$0")/lib.sh"

fetch=$hs_repo/scripts/fetch-linux-guest
"$fetch" --out "$HS_GUEST_DIR" || { fail "scripts/fetch-linux-guest failed"; finish; }
mkdir -p "$(dirname "$HS_TEST_INITRD")"
"$fetch" --out "$HS_GUEST_DIR" --extra-dir "$hs_linux_dir/rootfs" --initrd-out "$HS_TEST_INITRD" ||
  fail "scripts/fetch-linux-guest --extra-dir failed"
for f in "$HS_GUEST_DIR/Image" "$HS_GUEST_DIR/initrd.gz" "$HS_GUEST_DIR/guest.info" "$HS_TEST_INITRD"; do
  [[ -s $f ]] || fail "$f is missing or empty"
done
[[ -n $(kernel_release) ]] || fail "no kernel_release in $HS_GUEST_DIR/guest.info"
# the test initramfs must really contain /test.sh (cpio newc name "test.sh")
if [[ -s $HS_TEST_INITRD ]] && ! gzip -dc "$HS_TEST_INITRD" | grep -a -q 'HS-LINUX-TEST'; then
  fail "$HS_TEST_INITRD does not contain tests/linux/rootfs/test.sh"
fi
finish
