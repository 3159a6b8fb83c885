#!/usr/bin/env bash
# linux_bad_input_CASE: `hindsight run` with the Linux guest and one bad
# input must exit 2 with exactly one line on stderr naming the problem and
# nothing on stdout (tests/guests/expect_cli_error.sh checks that). No boot.
#
#   bad_input.sh CASE   (CASE: see the list below / CMakeLists.txt)
source "$(dirname "$0")/lib.sh"
case_=${1:-}
test_name=bad_input_$case_
need_guest "$HS_GUEST_DIR/initrd.gz"
workdir "bad_input_$case_"
expect=$hs_linux_dir/../guests/expect_cli_error.sh

kernel=$HS_GUEST_DIR/Image initrd=$HS_GUEST_DIR/initrd.gz
disk=$work/disk.img
make_disk "$disk" RW 2048
sha=$(sha256 "$disk")
base=(run -m 512M --kernel "$kernel" --append console=ttyS0)

case $case_ in
  missing_initrd)   # regex: the file name
    re='no-such-initrd\.gz' args=(--initrd "$work/no-such-initrd.gz") ;;
  initrd_is_dir)
    re='initrd-dir' args=(--initrd "$work/initrd-dir"); mkdir "$work/initrd-dir" ;;
  dtb_is_dir)
    re='dtb-dir' args=(--initrd "$initrd" --dtb "$work/dtb-dir"); mkdir "$work/dtb-dir" ;;
  missing_drive)
    re='no-such-disk\.img' args=(--initrd "$initrd" --drive "file=$work/no-such-disk.img") ;;
  drive_is_dir)
    re='disk-dir' args=(--initrd "$initrd" --drive "file=$work/disk-dir"); mkdir "$work/disk-dir" ;;
  empty_drive)
    re='empty\.img' args=(--initrd "$initrd" --drive "file=$work/empty.img"); : >"$work/empty.img" ;;
  drive_qcow2)
    re='qcow2' args=(--initrd "$initrd" --drive "file=$disk,format=qcow2") ;;
  drive_unknown_option)
    re='no-such-opt' args=(--initrd "$initrd" --drive "file=$disk,no-such-opt=1") ;;
  drive_no_file)
    re='missing file=' args=(--initrd "$initrd" --drive "format=raw") ;;
  overlay_not_overlay)  # an existing file that is not an overlay: refused, not overwritten
    re='not-an-overlay' args=(--initrd "$initrd" --drive "file=$disk,overlay=$work/not-an-overlay")
    printf 'precious data\n' >"$work/not-an-overlay" ;;
  overlay_other_base)   # an overlay made for a 64 KiB image, used with a 1 MiB one
    re='base|size|bytes' args=(--initrd "$initrd" --drive "file=$disk,overlay=$work/small.ovl")
    make_disk "$work/small.img" RW 128
    "$HS_HINDSIGHT" run --drive "file=$work/small.img,overlay=$work/small.ovl" --dump-dtb "$work/x.dtb" ||
      { fail "could not create an overlay for small.img"; finish; }
    [[ $(head -c 8 "$work/small.ovl") == HSOVL001 ]] || { fail "small.ovl is not an overlay"; finish; } ;;
  overlay_dir_missing)
    re='no-such-dir' args=(--initrd "$initrd" --drive "file=$disk,overlay=$work/no-such-dir/disk.ovl") ;;
  *)
    echo "usage: $0 CASE (unknown case '$case_')" >&2; exit 2 ;;
esac

before=
[[ -e $work/not-an-overlay ]] && before=$(sha256 "$work/not-an-overlay")
"$expect" --stderr "$re" -- "$HS_HINDSIGHT" "${base[@]}" "${args[@]}" || fail "see above"
[[ $(sha256 "$disk") == "$sha" ]] || fail "the disk image changed"
if [[ -n $before && $(sha256 "$work/not-an-overlay") != "$before" ]]; then
  fail "the file given as overlay= was modified"
fi
finish
