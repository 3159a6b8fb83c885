#!/bin/sh
# /test.sh of the Linux end-to-end tests (tests/linux). /init runs it with
# busybox sh instead of the interactive shell and powers off afterwards.
#
# Parameters come from the kernel command line (/proc/cmdline), set by the
# host-side scripts:
#   hs.mode=checks|write|readback   what to do (default checks)
#   hs.sha=HEX        sha256 of the test disk (the one whose first sector
#                     starts with "HS-DISK-RW") as created on the host
#   hs.sha_after=HEX  sha256 of that disk after this script's writes
#   hs.ro_sha=HEX     sha256 of the readonly=on disk ("HS-DISK-RO"), if any
#   hs.isa=STR        the device tree's riscv,isa (rv64imafdc_zicntr_...)
#   hs.mmu=svNN       the device tree's mmu-type without "riscv,"
#   hs.ncpu=N         the number of cpu@N nodes in the device tree
#   hs.krel=STR       the kernel release (uname -r)
#
# Output: one "HS-CHECK ok NAME" or "HS-CHECK FAIL NAME: why" line per check,
# a few "HS-INFO ..." lines for the host, and at the end
# "HS-LINUX-TEST: all checks passed (N)" with exit status 0, or
# "HS-LINUX-TEST: K of N checks FAILED" with exit status 1.

passed=0
failed=0
ok() { echo "HS-CHECK ok $1"; passed=$((passed + 1)); }
bad() { echo "HS-CHECK FAIL $1: $2"; failed=$((failed + 1)); }
# check NAME WHAT GOT WANT
check() { if [ "$3" = "$4" ]; then ok "$1"; else bad "$1" "$2 is '$3', expected '$4'"; fi; }

param() {
  for w in $(cat /proc/cmdline); do
    case $w in "hs.$1="*) echo "${w#*=}"; return ;; esac
  done
}
mode=$(param mode)
mode=${mode:-checks}
echo "HS-INFO mode $mode"

# The pattern the guest writes: 8 sectors at sector 1001 (not 4 KiB aligned,
# so the overlay has to merge it with the base's data). The host builds the
# same bytes to compute hs.sha_after.
pattern() { awk 'BEGIN { for (i = 1; i <= 300; i++) printf "guest write %05d\n", i }' | head -c 4096; }
write_seek=1001
write_count=8

# Finds the disk whose first sector starts with HEADER; prints e.g. vda.
find_disk() {
  for d in /sys/block/vd*; do
    [ -e "$d" ] || continue
    n=${d##*/}
    h=$(dd if=/dev/$n bs=512 count=1 2>/dev/null | head -c ${#1})
    [ "$h" = "$1" ] && { echo "$n"; return; }
  done
}

disk_sha() { sha256sum "/dev/$1" | cut -d' ' -f1; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

rw=$(find_disk HS-DISK-RW)
if [ -n "$rw" ]; then ok disk_found; else bad disk_found "no /dev/vd* starts with HS-DISK-RW ($(ls /dev/vd* 2>&1))"; fi

# disk_read: the disk's size and contents as created on the host.
disk_read() {
  check disk_size "/sys/block/$rw/size (512-byte sectors)" "$(cat /sys/block/$rw/size)" 2048
  check disk_ro_flag "/sys/block/$rw/ro" "$(cat /sys/block/$rw/ro)" 0
  h=$(dd if=/dev/$rw bs=512 count=1 2>/dev/null | head -n 1)
  check disk_header "the first line of /dev/$rw" "$h" "HS-DISK-RW hindsight linux test disk"
  # A sector from the middle, read past the page cache.
  s=$(dd if=/dev/$rw bs=512 skip=1500 count=1 iflag=direct 2>/dev/null | head -c 16)
  check disk_sector_1500 "the start of sector 1500" "$s" "HS sector 001500"
  check disk_sha "sha256 of /dev/$rw" "$(disk_sha "$rw")" "$(param sha)"
}

# disk_write: writes the pattern with O_DIRECT, reads it back with O_DIRECT
# and, after dropping the caches, checks the whole disk.
disk_write() {
  pattern >/tmp/pattern
  want=$(sha256sum /tmp/pattern | cut -d' ' -f1)
  if dd if=/tmp/pattern of=/dev/$rw bs=512 seek=$write_seek count=$write_count oflag=direct 2>/tmp/dd.err; then
    ok disk_write
  else
    bad disk_write "dd to /dev/$rw failed: $(cat /tmp/dd.err)"
  fi
  got=$(dd if=/dev/$rw bs=512 skip=$write_seek count=$write_count iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
  check disk_readback "sha256 of the written sectors read back (O_DIRECT)" "$got" "$want"
  drop_caches
  check disk_sha_after "sha256 of /dev/$rw after the write" "$(disk_sha "$rw")" "$(param sha_after)"
}

if [ "$mode" = checks ]; then
  # ---- CPU: what the device tree announces ----
  isa=$(grep -m 1 '^isa' /proc/cpuinfo | sed 's/.*: *//')
  echo "HS-INFO isa $isa"
  case $isa in
    rv64imafdc|rv64imafdc_*) ok cpu_isa_base ;;
    *) bad cpu_isa_base "/proc/cpuinfo isa '$isa' does not start with rv64imafdc" ;;
  esac
  # every extension the device tree lists is in the kernel's isa string
  want_isa=$(param isa)
  case $want_isa in rv64imafdc*) ;; *) bad cpu_isa_ext "hs.isa '$want_isa' is not rv64imafdc..." ;; esac
  missing=
  for e in $(echo "${want_isa#rv64imafdc}" | tr '_' ' '); do
    case "_${isa#rv64imafdc}_" in *"_${e}_"*) ;; *) missing="$missing $e" ;; esac
  done
  if [ -z "$missing" ]; then ok cpu_isa_ext; else bad cpu_isa_ext "missing in /proc/cpuinfo:$missing"; fi
  check cpu_mmu "/proc/cpuinfo mmu" "$(grep -m 1 '^mmu' /proc/cpuinfo | sed 's/.*: *//')" "$(param mmu)"
  check cpu_count "processors in /proc/cpuinfo" "$(grep -c '^processor' /proc/cpuinfo)" "$(param ncpu)"

  # ---- busybox basics ----
  check uname_m "uname -m" "$(uname -m)" riscv64
  check uname_r "uname -r" "$(uname -r)" "$(param krel)"
  check shell_arith 'echo $((6*7))' "$(echo $((6 * 7)))" 42
  check ls_vda "ls /dev/vda" "$(ls /dev/vda 2>&1)" /dev/vda

  # ---- virtio-blk ----
  if [ -n "$rw" ]; then
    disk_read
    disk_write
  fi
  # a second disk, attached with readonly=on: the guest must not write it
  ro=$(find_disk HS-DISK-RO)
  if [ -n "$ro" ]; then
    ok ro_disk_found
    check ro_disk_flag "/sys/block/$ro/ro" "$(cat /sys/block/$ro/ro)" 1
    if echo overwritten | dd of=/dev/$ro bs=512 count=1 conv=sync oflag=direct 2>/tmp/dd.err; then
      bad ro_disk_write "writing /dev/$ro succeeded"
    else
      ok ro_disk_write
      echo "HS-INFO write to the readonly disk: $(head -n 1 /tmp/dd.err)"
    fi
    drop_caches
    check ro_disk_sha "sha256 of /dev/$ro" "$(disk_sha "$ro")" "$(param ro_sha)"
  else
    bad ro_disk_found "no /dev/vd* starts with HS-DISK-RO"
  fi

  # ---- goldfish RTC ----
  check rtc_name "/sys/class/rtc/rtc0/name" "$(cut -d' ' -f1 /sys/class/rtc/rtc0/name)" goldfish_rtc
  rtc=$(cat /sys/class/rtc/rtc0/since_epoch)
  echo "HS-INFO rtc_epoch $rtc"
  now=$(date +%s)
  d=$((now - rtc))
  # the kernel set its clock from the RTC at boot (hctosys)
  if [ "$d" -ge -2 ] && [ "$d" -le 2 ]; then ok rtc_vs_date; else bad rtc_vs_date "date +%s $now vs RTC $rtc"; fi
  if hwclock -r >/tmp/hwclock 2>&1; then ok hwclock; else bad hwclock "hwclock -r: $(cat /tmp/hwclock)"; fi
  echo "HS-INFO hwclock $(cat /tmp/hwclock)"

  # ---- virtio-rng ----
  cur=$(cat /sys/class/misc/hw_random/rng_current)
  case $cur in virtio_rng.*) ok rng_current ;; *) bad rng_current "rng_current is '$cur'" ;; esac
  a=$(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
  b=$(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
  echo "HS-INFO hwrng $a $b"
  check rng_bytes "hex digits read from /dev/hwrng (16 bytes)" "${#a}" 32
  if [ "$a" != "$b" ] && [ "$a" != 00000000000000000000000000000000 ]; then ok rng_differs
  else bad rng_differs "two reads gave '$a' and '$b'"; fi

  # ---- the kernel's clock (from mtime) ----
  t0=$(date +%s)
  u0=$(cut -d' ' -f1 /proc/uptime)
  sleep 1
  t1=$(date +%s)
  u1=$(cut -d' ' -f1 /proc/uptime)
  echo "HS-INFO clock date $t0 -> $t1, uptime $u0 -> $u1"
  d=$((t1 - t0))
  if [ "$d" -ge 1 ] && [ "$d" -le 3 ]; then ok clock_date; else bad clock_date "date advanced by $d s across sleep 1"; fi
  # uptime in hundredths of a second
  du=$(( $(echo "$u1" | tr -d .) - $(echo "$u0" | tr -d .) ))
  if [ "$du" -ge 100 ] && [ "$du" -le 300 ]; then ok clock_uptime; else bad clock_uptime "uptime advanced by $du/100 s across sleep 1"; fi
elif [ "$mode" = write ]; then
  if [ -n "$rw" ]; then
    disk_read
    disk_write
  fi
elif [ "$mode" = readback ]; then
  if [ -n "$rw" ]; then
    check disk_header "the first line of /dev/$rw" "$(head -n 1 /dev/$rw)" "HS-DISK-RW hindsight linux test disk"
    got=$(dd if=/dev/$rw bs=512 skip=$write_seek count=$write_count 2>/dev/null | sha256sum | cut -d' ' -f1)
    check disk_readback "sha256 of the sectors written by the previous boot" "$got" "$(pattern | sha256sum | cut -d' ' -f1)"
    check disk_sha_after "sha256 of /dev/$rw" "$(disk_sha "$rw")" "$(param sha_after)"
  fi
else
  bad mode "unknown hs.mode '$mode'"
fi

if [ "$failed" -eq 0 ]; then
  echo "HS-LINUX-TEST: all checks passed ($passed)"
  exit 0
fi
echo "HS-LINUX-TEST: $failed of $((passed + failed)) checks FAILED"
exit 1
