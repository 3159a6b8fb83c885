#!/usr/bin/env bash
# linux_disk_overlay: persistence through --drive file=IMG,overlay=OV.
#   boot 1 (hs.mode=write):    the guest checks the disk, writes 8 sectors
#                              (O_DIRECT) and reads them back
#   boot 2 (hs.mode=readback): same overlay; the guest reads the written
#                              sectors and the whole disk (sha256) back
# The base image must be unchanged on the host, the overlay file must be a
# Hindsight overlay (HSOVL001), and both boots exit 0 (poweroff).
source "$(dirname "$0")/lib.sh"
need_guest "$HS_TEST_INITRD"
workdir disk_overlay

disk=$work/disk.img ovl=$work/disk.ovl
make_disk "$disk" RW 2048
written_copy "$disk" "$work/disk-after.img"
sha=$(sha256 "$disk") sha_after=$(sha256 "$work/disk-after.img")
note "disk.img sha256 $sha (after the guest's write: $sha_after)"

boot "$work/write.log" --initrd "$HS_TEST_INITRD" \
  --append "console=ttyS0 hs.mode=write hs.sha=$sha hs.sha_after=$sha_after" \
  --drive "file=$disk,overlay=$ovl"
expect_exit 0
expect_clean_kernel "$work/write.log"
expect_line "$work/write.log" '^HS-INFO mode write$' "boot 1 did not run hs.mode=write"
expect_checks "$work/write.log" disk_found disk_size disk_ro_flag disk_header disk_sector_1500 disk_sha \
  disk_write disk_readback disk_sha_after
[[ $(sha256 "$disk") == "$sha" ]] || fail "disk.img changed on the host after boot 1"
if [[ ! -s $ovl ]]; then
  fail "boot 1 left no overlay file $ovl"
else
  [[ $(head -c 8 "$ovl") == HSOVL001 ]] || fail "$ovl does not start with HSOVL001"
  note "overlay after boot 1: $(stat -c %s "$ovl") bytes"
fi

boot "$work/readback.log" --initrd "$HS_TEST_INITRD" \
  --append "console=ttyS0 hs.mode=readback hs.sha_after=$sha_after" \
  --drive "file=$disk,overlay=$ovl"
expect_exit 0
expect_clean_kernel "$work/readback.log"
expect_line "$work/readback.log" '^HS-INFO mode readback$' "boot 2 did not run hs.mode=readback"
expect_checks "$work/readback.log" disk_found disk_header disk_readback disk_sha_after
[[ $(sha256 "$disk") == "$sha" ]] || fail "disk.img changed on the host after boot 2"
finish
