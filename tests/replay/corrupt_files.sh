#!/usr/bin/env bash
# replay_corrupt_files_<case>: a small bare-metal recording (lib.sh
# baremetal_rec), damaged on purpose in one way. A file that cannot be used
# must give ONE stderr line naming the file (and the offset) and exit code 2;
# damage that leaves a usable prefix (journal) or spare parts (snapshots,
# pages) must replay what it can and say so; a journal whose values were
# changed with valid checksums must be caught as a divergence (exit 1).
#
#   corrupt_files.sh CASE     (see the case list below and in CMakeLists.txt)
source "$(dirname "$0")/lib.sh"
case_name=${1:?usage: corrupt_files.sh CASE}
test_name=replay_corrupt_files_$case_name
workdir "corrupt_$case_name"
rec=$work/rec
baremetal_rec "$rec"
full_out=$rec.out                       # the recorded console output
end_pos=$("$HS_REPLAY_CHECK" end-hash "$rec" | cut -d' ' -f1)
nsnaps=$(ls "$rec/snapshots" | grep -c '\.snap$')
note "recording: end at position $end_pos, $nsnaps snapshots"

# record_offset FILE MAGIC INDEX: byte offset of record INDEX (list-records).
record_offset() { "$HS_REPLAY_CHECK" list-records "$1" "$2" | awk -v k="$3" '$1 == k { print $2 }'; }
# frame_end_position K: the end position of journal frame K of the intact
# recording (the recorder flushes a frame at every snapshot and every 0.25 s).
"$HS_REPLAY_CHECK" journal-frames "$rec" >"$work/frames"
frame_end_position() { awk -v k="$1" '$1 == k { print $5 }' "$work/frames"; }
nframes=$(grep -c '' "$work/frames")
note "journal: $nframes frames"
[[ $nframes -ge 10 ]] || { fail "only $nframes journal frames (expected one per snapshot)"; finish; }

# expect_refused FILE_REGEX REASON_REGEX [CMD...]: replay and info (or the
# CMDs) refuse with one line "hindsight: <file>: offset N: <reason>", exit 2.
# (dump reads only the journal and the snapshots.)
expect_refused() {
  local file_re=$1 reason_re=$2 cmd cmds=(replay info)
  [[ $# -gt 2 ]] && cmds=("${@:3}")
  for cmd in "${cmds[@]}"; do
    hs $cmd "$rec"
    expect_rc 2 "$cmd: exit code"
    expect_one_error "^hindsight: .*$file_re: offset [0-9]+: .*($reason_re)"
  done
}

# expect_prefix_replay POS: replay exits 0, reports the recording cut short
# at POS and prints exactly the console output of the run up to there (a
# prefix of the recorded output).
expect_prefix_replay() {
  local pos=$1
  hs replay "$rec"
  expect_rc 0 "replay: exit code"
  expect_err "cut short; replaying up to position $pos\\b" "replay does not report the recording cut short at $pos"
  expect_err "^hindsight: replayed to position $pos \\(end of the usable journal\\)" "replay did not stop at $pos"
  expect_no_err "diverged" "replay diverged"
  is_prefix "$work/out" "$full_out" || fail "the replay's output is not a prefix of the recorded output"
  [[ $(stat -c %s "$work/out") -lt $(stat -c %s "$full_out") ]] || fail "the replay printed the whole output"
}

# expect_full_replay: replay reproduces the whole recorded output, exit 0.
expect_full_replay() {
  hs replay "$rec"
  expect_rc 0 "replay: exit code"
  expect_err "^hindsight: replayed to position $end_pos \\(end of recording\\)" "replay did not reach the end $end_pos"
  expect_no_err "diverged" "replay diverged"
  cmp -s "$work/out" "$full_out" || fail "the replay's console output differs from the recording's"
}

case $case_name in
  manifest_flipped)
    flip_byte "$rec/manifest" 100
    expect_refused 'rec/manifest' 'checksum' ;;
  manifest_truncated)
    truncate -s 50 "$rec/manifest"
    expect_refused 'rec/manifest' 'needs [0-9]+ payload bytes, file has 18|truncated' ;;
  manifest_version)
    check rewrite-version "$rec/manifest" HSMF 99
    expect_refused 'rec/manifest' 'format version 99 is not supported' ;;
  manifest_missing)
    rm "$rec/manifest"
    expect_refused 'rec/manifest' 'missing' ;;

  journal_middle_frame)
    # one byte inside frame 3: frames 0-2 stay usable
    off=$(record_offset "$rec/journal" HSJF 3)
    flip_byte "$rec/journal" $((off + 40))
    expect_prefix_replay "$(frame_end_position 2)"
    expect_err "rec/journal: offset $off: corrupt frame" "replay does not name the journal and offset $off"
    hs info "$rec"
    expect_rc 0 "info: exit code"
    expect_out "CUT SHORT: .*rec/journal: offset $off: corrupt frame" "info does not report the corrupt frame at $off"
    hs dump --events "$rec"
    expect_rc 0 "dump: exit code"
    expect_out "^# cut short: " "dump does not say the journal is cut short" ;;
  journal_truncated)
    # at several offsets: inside the first header, inside frame 5, exactly
    # at the end of frame 7 (no damaged bytes: the journal just ends early),
    # one byte short of the end; each also without the end record (a kill)
    cp -a "$rec" "$work/intact"
    size=$(stat -c %s "$rec/journal")
    off5=$(record_offset "$rec/journal" HSJF 5)
    off8=$(record_offset "$rec/journal" HSJF 8)
    last=$("$HS_REPLAY_CHECK" list-records "$rec/journal" HSJF | tail -n 1 | cut -d' ' -f1)
    for spec in "10:0" "$((off5 + 20)):$(frame_end_position 4)" "$off8:$(frame_end_position 7)" \
                "$((size - 1)):$(frame_end_position $((last - 1)))"; do
      cut_at=${spec%%:*} pos=${spec#*:}
      for end_record in kept removed; do
        note "journal cut at byte $cut_at of $size, end record $end_record: replayable to $pos"
        rm -rf "$rec" && cp -a "$work/intact" "$rec"
        truncate -s "$cut_at" "$rec/journal"
        [[ $end_record = removed ]] && rm "$rec/end"
        if [[ $pos -eq 0 ]]; then
          # nothing usable: an empty replay, still exit 0
          hs replay "$rec"
          expect_rc 0 "replay: exit code"
          expect_err "cut short; replaying up to position 0\\b" "replay does not report the recording cut short at 0"
          [[ -s $work/out ]] && fail "a replay to position 0 printed console output"
        else
          expect_prefix_replay "$pos"
        fi
        if [[ $cut_at -ne $off8 ]]; then
          expect_err "rec/journal: offset [0-9]+: truncated frame" "replay does not name the truncated frame"
        fi
        hs info "$rec"
        expect_rc 0 "info: exit code"
        expect_out "CUT SHORT: " "info does not say the recording is cut short"
        [[ $cut_at -ne $off8 || $end_record = removed ]] ||
          expect_out "CUT SHORT: .*rec/journal" "info does not name the journal"
      done
    done ;;
  journal_version)
    off=$(record_offset "$rec/journal" HSJF 4)
    check rewrite-version "$rec/journal" HSJF 9 4
    expect_refused "rec/journal" "format version 9 is not supported" replay info dump
    grep -q "offset $off:" "$work/err" || fail "the error does not name offset $off" ;;
  journal_tampered_value)
    # valid checksums, the RTC value changed: the RAM the guest stored it in
    # differs at the next snapshot
    check tamper-journal "$rec" wall-clock-value 5
    hs replay "$rec"
    expect_rc 1 "replay: exit code"
    expect_err "^hindsight: replay diverged between positions 0 and 500000 .*ram: 1 page\\(s\\) differ, first at 0x80010000" \
      "no divergence report naming positions 0..500000 and the RAM page" ;;
  journal_tampered_position)
    # valid checksums, the RTC read moved by one position: the guest asks at 9
    check tamper-journal "$rec" wall-clock-position 1
    hs replay "$rec"
    expect_rc 1 "replay: exit code"
    expect_one_error "^hindsight: replay diverged at position 9: .*wall.clock.* at position 10" ;;

  image_modified)
    img=$(ls "$rec/images")
    flip_byte "$rec/images/$img" 40
    hs replay "$rec"
    expect_rc 2 "replay: exit code"
    expect_one_error "^hindsight: .*rec/images/$img: offset 0: content hash mismatch" ;;
  image_deleted)
    img=$(ls "$rec/images")
    rm "$rec/images/$img"
    hs replay "$rec"
    expect_rc 2 "replay: exit code"
    expect_one_error "^hindsight: .*rec/images/$img: offset 0: .*missing" ;;

  snapshot_corrupt|snapshot_version)
    snap=$(ls "$rec/snapshots" | grep '\.snap$' | sed -n 3p)   # the one at 1000000
    if [[ $case_name = snapshot_corrupt ]]; then
      flip_byte "$rec/snapshots/$snap" 60
      why='checksum mismatch'
    else
      check rewrite-version "$rec/snapshots/$snap" HSSN 5
      why='format version 5 is not supported'
    fi
    expect_full_replay
    [[ $(verified_count) -eq $((nsnaps - 1)) ]] ||
      fail "replay verified $(verified_count) state hashes, expected $((nsnaps - 1)) (all snapshots but the bad one)"
    hs info "$rec"
    expect_rc 0 "info: exit code"
    expect_out "$((nsnaps - 1)) usable .* 1 unusable" "info does not count 1 unusable snapshot"
    expect_out "unusable: .*rec/snapshots/$snap: .*$why" "info does not list $snap as unusable ($why)"
    # seeking just past it restores the snapshot before it
    hs replay --seek 1000001 "$rec"
    expect_rc 0 "replay --seek 1000001: exit code"
    expect_out "^position 1000001 " "replay --seek 1000001 did not arrive"
    check restore-all "$rec"
    expect_rc 0 "restore-all with the other snapshots" ;;
  pages_truncated)
    # cut inside the pack's 13th page record: the snapshots that need its
    # pages (and later ones) are unusable, the replay is complete anyway
    off=$(record_offset "$rec/pages.pack" HSPG 12)
    truncate -s $((off + 48)) "$rec/pages.pack"
    expect_full_replay
    hs info "$rec"
    expect_rc 0 "info: exit code"
    expect_out "[0-9]+ usable .* [1-9][0-9]* unusable" "info does not list unusable snapshots"
    expect_out "unusable: .*rec/snapshots/.*rec/pages.pack: offset $off: " "info does not name pages.pack and offset $off"
    hs replay --seek $((end_pos - 1)) "$rec"
    expect_rc 0 "replay --seek near the end: exit code"
    expect_out "^position $((end_pos - 1)) " "replay --seek $((end_pos - 1)) did not arrive"
    note "pages.pack missing"
    rm "$rec/pages.pack"
    hs replay "$rec"
    expect_rc 2 "replay without pages.pack: exit code"
    expect_one_error "^hindsight: .*rec/pages.pack: offset 0: " ;;
  end_corrupt)
    flip_byte "$rec/end" 50
    expect_refused 'rec/end' 'checksum' ;;
  end_truncated)
    truncate -s 40 "$rec/end"
    expect_refused 'rec/end' 'needs [0-9]+ payload bytes, file has 8|truncated' ;;
  end_version)
    check rewrite-version "$rec/end" HSEN 3
    expect_refused 'rec/end' 'format version 3 is not supported' ;;

  record_existing_dir)
    dir=$work/existing
    mkdir -p "$dir"
    echo "not a recording" >"$dir/keep.txt"
    hs record -o "$dir" --bios none --kernel "$work/guest.bin" -m 16M
    expect_rc 2 "record into a non-empty directory: exit code"
    expect_one_error "^hindsight: .*existing: .*not empty.*--force"
    [[ -f $dir/keep.txt ]] || fail "record without --force touched the directory"
    hs record -o "$dir" --force --bios none --kernel "$work/guest.bin" -m 16M
    expect_rc 0 "record --force: exit code"
    [[ -e $dir/keep.txt ]] && fail "record --force kept the old contents"
    hs replay "$dir"
    expect_rc 0 "replay of the --force recording: exit code"
    expect_err "\\(end of recording\\)" "the --force recording does not replay to its end"
    hs record -o "$dir/keep-file" --bios none --kernel "$work/guest.bin" -m 16M
    expect_rc 0 "record into a new subdirectory: exit code"
    : >"$work/plain-file"
    hs record -o "$work/plain-file" --bios none --kernel "$work/guest.bin" -m 16M
    expect_rc 2 "record -o onto a regular file: exit code"
    expect_one_error "^hindsight: .*plain-file: not a directory" ;;
  *)
    echo "corrupt_files.sh: unknown case '$case_name'" >&2
    exit 2 ;;
esac
finish
