# The recording: manifest, journal frames and end record.
#
# A recording is a directory (REC/):
#   manifest        one HSMF record holding a Manifest
#   images/<hex>    content-addressed copies of the boot and disk base images
#                   (<hex> = XXH3-128 of the content, canonical big-endian, 32
#                   lowercase hex digits)
#   journal         HSJF records, one JournalFrame each, append-only
#   end             one HSEN record holding an End, written at a clean end only
#   pages.pack, snapshots/   see snapshot.capnp
#
# Every record uses the container of schemas/framing.hpp (magic, version,
# zstd, XXH3-64 checksum). The record header's version is `formatVersion`;
# a reader refuses any other value. Bump it on every change to this file,
# including additions: old readers must not guess at new meanings.

@0xd53c25313041a0a4;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("hs::recording_schema");

# Version of every record in this file (manifest, journal frame, end).
const formatVersion :UInt16 = 2;  # 2: check events

# A file the guest sees (firmware, kernel, initrd, device tree, disk base).
struct ImageRef {
  path @0 :Text;
  # Absolute path of the file when it was recorded. Informational when the
  # image was copied (`stored` set); the file replay reads when it was not.
  size @1 :UInt64;
  # Size in bytes. Checked on every open.
  hash @2 :Data;
  # XXH3-128 of the whole content, seed 0, canonical (big-endian) form:
  # exactly 16 bytes.
  stored @3 :Text;
  # File name under images/ (the hash in lowercase hex), or empty when the
  # recording references `path` instead of holding a copy.
}

enum BiosMode {
  none @0;         # --bios none: the kernel starts in M-mode; `bios` is unset
  file @1;         # --bios FILE: `bios` describes FILE
  defaultFirmware @2;  # no --bios: the default firmware, resolved to a file
}

struct Drive {
  image @0 :ImageRef;
  # The raw base image. The guest's writes go to an overlay that is not part
  # of the manifest (snapshots hold disk state).
  readonly @1 :Bool;
  # Guest writes fail (virtio-blk VIRTIO_BLK_F_RO).
}

struct Manifest {
  formatVersion @0 :UInt16;
  # Equal to the record header's version and to `formatVersion` above.
  hindsightVersion @1 :Text;
  # Version string of the hindsight that recorded, e.g. "0.1.0".
  created @2 :Text;
  # Wall-clock time the recording started, ISO 8601 UTC. Metadata for
  # humans only: never fed to the guest (the guest's clock is journaled).
  commandLine @3 :Text;
  # argv joined by single spaces. Informational.

  ramSize @4 :UInt64;
  # Guest RAM in bytes (nonzero, a multiple of 4 KiB).
  biosMode @5 :BiosMode;
  bios @6 :ImageRef;
  # The firmware; null when biosMode is none.
  kernel @7 :ImageRef;
  # Null when no kernel was given.
  initrd @8 :ImageRef;
  # Null when no initrd was given.
  dtb @9 :ImageRef;
  # A user-supplied device tree; null when the board's generated one is used.
  append @10 :Text;
  # Kernel command line (/chosen/bootargs); empty for none.
  drives @11 :List(Drive);
  # virtio-blk disks in slot order (the first is /dev/vda).
  rng @12 :Bool;
  # A virtio-rng device follows the drives.
  snapshotInterval @13 :UInt64;
  # Positions between periodic snapshots; 0 = no periodic snapshots.
  pacing @14 :Bool;
  # Guest sleep was paced in real time while recording (kWake events may
  # appear in the journal). Informational: replay never paces.
}

# One input from outside the VM (core/host_input.hpp InputSource).
enum Source {
  console @0;    # payload: the bytes delivered to the UART at that poll (1..16)
  wallClock @1;  # payload: 8 bytes, ns since the Unix epoch, little-endian
  entropy @2;    # payload: the random bytes of one fill (1..4096)
  wake @3;       # payload: empty; live pacing woke the sleeping hart here
  stop @4;       # payload: empty; the user ended the run here (last event)
  check @5;      # payload: 16 bytes, XXH3-128 of the hart state (record --check-every);
                 # not an input: replay compares it to pin a divergence
}

struct Event {
  position @0 :UInt64;
  # Machine position at which the input was consumed: the poll point for
  # console/wake/stop, the executing instruction for wallClock/entropy.
  source @1 :Source;
  payload @2 :Data;
  # Meaning and size constraints per source above.
}

# One journal record: every input in a range of positions. Frames tile the
# run without gaps: frame k's startPosition is frame k-1's endPosition (0 for
# the first frame).
struct JournalFrame {
  startPosition @0 :UInt64;
  # Equal to the previous frame's endPosition; 0 for the first frame.
  endPosition @1 :UInt64;
  # >= startPosition. The recorded run had reached this position when the
  # frame was written: every input at a position < endPosition is in this or
  # an earlier frame. Inputs exactly at endPosition may continue in the next
  # frame (they arrived at that position after the flush).
  events @2 :List(Event);
  # Non-decreasing positions, each in [startPosition, endPosition]; among
  # equal positions, in the order the inputs were consumed. May be empty (the
  # frame then only says how far the run got).
}

enum EndReason {
  guestExit @0;  # the guest powered off (test finisher / SBI); see exitCode
  userStop @1;   # the user ended the run (Ctrl-A x, a stop event)
  limit @2;      # a run limit given on the command line was reached
}

# Written once when a recording ends cleanly. Its absence means the recorder
# was killed: the journal is then replayable up to its last complete frame.
struct End {
  position @0 :UInt64;
  # Final machine position; equals the last journal frame's endPosition.
  reason @1 :EndReason;
  exitCode @2 :Int32;
  # The guest's exit code when reason is guestExit, else 0.
  stateHash @3 :Data;
  # 16 bytes: the machine state hash at `position`, as computed by the
  # recorder; replay must reproduce it.
  instructions @4 :UInt64;
  # Instructions retired (instret) at `position`.
  idlePositions @5 :UInt64;
  # Positions skipped in WFI sleep.
  events @6 :UInt64;
  # Journal events written.
  frames @7 :UInt64;
  # Journal frames written.
  journalBytes @8 :UInt64;
  # Size of the journal file.
}
