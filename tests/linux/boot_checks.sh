#!/usr/bin/env bash
# linux_boot_checks: boots the Linux guest with the test initramfs and two
# disks (a 1 MiB read-write test disk without overlay=, i.e. a temporary
# overlay, and a 64 KiB one with readonly=on). tests/linux/rootfs/test.sh
# checks in the guest: /proc/cpuinfo against the device tree, busybox basics,
# reading, writing (O_DIRECT) and re-reading the disk, the readonly disk,
# the goldfish RTC, virtio-rng and the kernel clock across `sleep 1`.
# Here: exit code 0 (poweroff), every guest check passed, a clean kernel log,
# both base images unchanged, the RTC within a day of the host's clock.
source "$(dirname "$0")/lib.sh"
need_guest "$HS_TEST_INITRD"
workdir boot_checks

isa=$(dtb_prop /cpus/cpu@0 riscv,isa) || { fail "cannot read riscv,isa from the device tree"; finish; }
mmu=$(dtb_prop /cpus/cpu@0 mmu-type) || { fail "cannot read mmu-type from the device tree"; finish; }
mmu=${mmu#riscv,}
ncpu=$(dtb_cpus) || { fail "cannot count the CPUs in the device tree"; finish; }
note "device tree: riscv,isa=$isa mmu-type=riscv,$mmu, $ncpu cpu node(s)"
[[ $ncpu -ge 1 ]] || fail "no cpu@N node in the device tree's /cpus"
[[ $isa == rv64imafdc* ]] || fail "the device tree's riscv,isa '$isa' does not start with rv64imafdc"
[[ $mmu =~ ^sv(39|48|57)$ ]] || fail "the device tree's mmu-type 'riscv,$mmu' is not sv39/48/57"

disk=$work/disk.img ro=$work/ro.img
make_disk "$disk" RW 2048
make_disk "$ro" RO 128
written_copy "$disk" "$work/disk-after.img"
sha=$(sha256 "$disk") ro_sha=$(sha256 "$ro") sha_after=$(sha256 "$work/disk-after.img")
note "disk.img sha256 $sha (after the guest's write: $sha_after); ro.img sha256 $ro_sha"

host_t0=$(date +%s)
boot "$work/boot.log" --initrd "$HS_TEST_INITRD" \
  --append "console=ttyS0 hs.mode=checks hs.sha=$sha hs.sha_after=$sha_after hs.ro_sha=$ro_sha hs.isa=$isa hs.mmu=$mmu hs.ncpu=$ncpu hs.krel=$(kernel_release)" \
  --drive "file=$disk" --drive "file=$ro,readonly=on"
host_t1=$(date +%s)
log=$work/boot.log

expect_exit 0
expect_clean_kernel "$log"
expect_checks "$log" cpu_isa_base cpu_isa_ext cpu_mmu cpu_count uname_m uname_r shell_arith ls_vda \
  disk_found disk_size disk_ro_flag disk_header disk_sector_1500 disk_sha disk_write disk_readback disk_sha_after \
  ro_disk_found ro_disk_flag ro_disk_write ro_disk_sha \
  rtc_name rtc_vs_date hwclock rng_current rng_bytes rng_differs clock_date clock_uptime

# the base images are never modified
[[ $(sha256 "$disk") == "$sha" ]] || fail "disk.img changed on the host (the guest's writes must go to the overlay)"
[[ $(sha256 "$ro") == "$ro_sha" ]] || fail "ro.img changed on the host"

# the guest's RTC reads the host's clock: within a day
rtc=$(sed -n 's/^HS-INFO rtc_epoch \([0-9][0-9]*\)$/\1/p' "$log")
if [[ -z $rtc ]]; then
  fail "no 'HS-INFO rtc_epoch' line"
elif ((rtc < host_t0 - 86400 || rtc > host_t1 + 86400)); then
  fail "guest RTC $rtc is more than a day from the host's clock ($host_t0..$host_t1)"
else
  note "guest RTC $rtc, host clock $host_t0..$host_t1"
fi
finish
