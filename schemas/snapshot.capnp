# Snapshots: the complete state of the VM at one position, and the page pack
# their memory contents live in.
#
# In a recording directory (REC/):
#   pages.pack               append-only HSPG records, one page each
#   snapshots/<pos>.snap     one HSSN record holding a Snapshot; <pos> is the
#                            position as 20 decimal digits, zero-padded, so
#                            names sort by position. Written atomically (temp
#                            file + fsync + rename) after the pages it uses
#                            are in pages.pack and synced.
#
# Every record uses the container of schemas/framing.hpp (magic, version,
# flags, XXH3-64 checksum). A reader refuses any version other than the
# constants below. Bump the matching constant on every change to this file,
# including additions: old readers must not guess at new meanings.
#
# Pages are 4096 bytes and named by their content hash: XXH3-128 (seed 0) of
# the 4096 bytes, as two UInt64 halves `hashLo`/`hashHi` (XXH128_hash_t's
# low64/high64). The all-zero page is never stored: it is the "zero page"
# and has the reserved name hashLo = hashHi = 0. Tables of pages list only
# non-zero pages; a page absent from a table is all zeros.

@0xb5d61d9d650a2231;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("hs::snapshot_schema");

# Version of the HSSN record (a Snapshot message).
const formatVersion :UInt16 = 1;
# Version of the HSPG record (a PageRecord message).
const pageFormatVersion :UInt16 = 1;

# ---------------------------------------------------------------- page pack

# One page of pages.pack. The HSPG record itself is stored raw (framing flag
# 0): the hash must be readable without decompressing, so that opening a
# pack only walks the records. Compression is per page, inside `data`.
struct PageRecord {
  hashLo @0 :UInt64;
  hashHi @1 :UInt64;
  # XXH3-128 of the uncompressed page; never 0/0 (zero pages are not stored).
  # A reader checks the decompressed page against it.
  compressed @2 :Bool;
  # True: `data` is one zstd frame that decompresses to exactly 4096 bytes.
  # False: `data` is the page itself (used when zstd does not shrink it).
  data @3 :Data;
}

# ---------------------------------------------------------------- snapshot

# One non-zero page of a table: RAM/ROM page `index` of a memory region, or
# 4096-byte chunk `index` of a disk (byte offset index * 4096).
struct PageEntry {
  index @0 :UInt64;
  # Page number within the region or disk. Strictly increasing in a list.
  hashLo @1 :UInt64;
  hashHi @2 :UInt64;
  # Content hash; the page must exist in pages.pack. Never 0/0.
}

# The hart (core/hart.hpp HartState). Every field a restore needs; the
# soft TLB, cur_idx and block_exit are not state between instructions and
# are not stored (cur_idx = 0, block_exit = false after a restore).
struct Hart {
  x @0 :List(UInt64);
  # Integer registers x0..x31: exactly 32 entries, x0 = 0. The decoder's
  # sink register (x[32]) is scratch and not stored.
  f @1 :List(UInt64);
  # Floating-point registers, raw bits (singles NaN-boxed): exactly 32.
  pc @2 :UInt64;
  position @3 :UInt64;
  # Same as Snapshot.position.
  instret @4 :UInt64;
  # Instructions retired (minstret before its offset is applied).
  priv @5 :UInt8;
  # Current privilege: 0 = U, 1 = S, 3 = M.
  dmode @6 :UInt8;
  # Privilege of loads/stores (priv, or mstatus.MPP under MPRV); same encoding.
  frm @7 :UInt8;
  # fcsr rounding mode, 0..7.
  fflags @8 :UInt8;
  # fcsr accrued exceptions, 5 bits.
  mstatus @9 :UInt64;
  misa @10 :UInt64;
  medeleg @11 :UInt64;
  mideleg @12 :UInt64;
  mie @13 :UInt64;
  mip @14 :UInt64;
  # Software-visible pending bits incl. the device-driven MTIP/MSIP/MEIP.
  seipExt @15 :UInt64;
  # SEIP level driven by the PLIC's S context: 0 or 1.
  mtvec @16 :UInt64;
  mscratch @17 :UInt64;
  mepc @18 :UInt64;
  mcause @19 :UInt64;
  mtval @20 :UInt64;
  mcounteren @21 :UInt64;
  mcountinhibit @22 :UInt64;
  menvcfg @23 :UInt64;
  mhartid @24 :UInt64;
  mcycleOffset @25 :UInt64;
  minstretOffset @26 :UInt64;
  # mcycle/minstret writes, kept as offsets from position/instret.
  stvec @27 :UInt64;
  sscratch @28 :UInt64;
  sepc @29 :UInt64;
  scause @30 :UInt64;
  stval @31 :UInt64;
  satp @32 :UInt64;
  scounteren @33 :UInt64;
  senvcfg @34 :UInt64;
  pmpcfg @35 :List(UInt8);
  # Exactly 16 entries.
  pmpaddr @36 :List(UInt64);
  # Exactly 16 entries.
  reservation @37 :UInt64;
  reservationValid @38 :Bool;
  # LR/SC reservation: virtual address and whether it is held.
  trapCause @39 :UInt64;
  trapTval @40 :UInt64;
  # Scratch a handler fills before it reports a trap. Dead between
  # instructions; stored so that a restore is bit-exact, not hashed.
  wfi @41 :Bool;
  # The hart sleeps in WFI.
}

# CLINT (devices/clint.hpp). mtime is not state: it is derived from position.
struct Clint {
  msip @0 :UInt32;
  mtimecmp @1 :UInt64;
  mtip @2 :Bool;
  # Level driven on the hart's MTIP line.
}

# PLIC (devices/plic.hpp): 96 sources, 2 contexts (0 = M, 1 = S), bitmaps
# as 32-bit words (bit s%32 of word s/32 = source s).
struct Plic {
  priority @0 :List(UInt32);
  # Exactly 96 entries, each 0..7.
  level @1 :List(UInt32);
  # Input line levels: exactly 3 words.
  pending @2 :List(UInt32);
  # Exactly 3 words.
  claimed @3 :List(UInt32);
  # Claimed and not yet completed: exactly 3 words.
  enable @4 :List(UInt32);
  # Context-major: enable[ctx * 3 + word]; exactly 6 words.
  threshold @5 :List(UInt32);
  # Exactly 2 entries.
  output @6 :List(Bool);
  # Level driven on each context's line: exactly 2 entries.
}

# UART 16550A (devices/uart16550.hpp).
struct Uart {
  rx @0 :Data;
  # Receive ring buffer: exactly 16 bytes (all of them, live or not).
  rxHead @1 :UInt8;
  # Index of the oldest received byte, 0..15.
  rxCount @2 :UInt8;
  # Bytes held, 0..16.
  ier @3 :UInt8;
  fcr @4 :UInt8;
  lcr @5 :UInt8;
  mcr @6 :UInt8;
  lsrErrors @7 :UInt8;
  msr @8 :UInt8;
  scr @9 :UInt8;
  divisor @10 :UInt16;
  thrPending @11 :Bool;
  irq @12 :Bool;
  # Level driven on the UART's PLIC line.
}

# Goldfish RTC (devices/goldfish_rtc.hpp).
struct Rtc {
  started @0 :Bool;
  # The wall clock has been read (epochNs is meaningful).
  epochNs @1 :UInt64;
  timeHigh @2 :UInt32;
  alarmNs @3 :UInt64;
  alarmTick @4 :UInt64;
  alarmRunning @5 :Bool;
  irqEnabled @6 :Bool;
  irqPending @7 :Bool;
}

# One split virtqueue of a virtio-mmio transport (devices/virtio_mmio.hpp).
struct Virtqueue {
  num @0 :UInt16;
  ready @1 :Bool;
  desc @2 :UInt64;
  driver @3 :UInt64;
  device @4 :UInt64;
  lastAvail @5 :UInt16;
  usedIdx @6 :UInt16;
}

# One virtio-mmio slot. The backends (virtio-blk, virtio-rng) keep no state
# of their own besides the disk contents (see Drive).
struct VirtioTransport {
  deviceId @0 :UInt32;
  # Backend's device ID (0 = empty slot). Must match the restoring board.
  status @1 :UInt32;
  deviceFeaturesSel @2 :UInt32;
  driverFeaturesSel @3 :UInt32;
  driverFeatures @4 :UInt64;
  queueSel @5 :UInt32;
  interruptStatus @6 :UInt32;
  queues @7 :List(Virtqueue);
  # Exactly 4 entries (VirtioMmio::kMaxQueues).
}

# The hart and every device with state. The test finisher and the boot ROM
# device have none (the ROM's bytes are a memory region).
struct MachineState {
  hart @0 :Hart;
  clint @1 :Clint;
  plic @2 :Plic;
  uart @3 :Uart;
  rtc @4 :Rtc;
  virtio @5 :List(VirtioTransport);
  # All 8 slots, in slot order (slot n at 0x10001000 + n * 0x1000).
}

# One memory region of the bus (RAM, boot ROM), in bus order.
struct MemoryRegion {
  name @0 :Text;
  base @1 :UInt64;
  size @2 :UInt64;
  # Name, guest-physical base and size in bytes must match the restoring
  # machine's region at the same position in the list.
  pages @3 :List(PageEntry);
  # Every non-zero 4096-byte page, ascending index < ceil(size / 4096). The
  # last page of a region whose size is not a multiple of 4096 is stored
  # zero-padded.
}

# The copy-on-write overlay of one virtio-blk drive (devices/disk.hpp).
# Readonly drives are not captured: their overlay never changes.
struct Drive {
  capacity @0 :UInt64;
  # Guest-visible size in bytes; must match the restoring drive.
  clusterSize @1 :UInt32;
  # Overlay cluster size (4096 or 65536); must match the restoring drive.
  clusters @2 :List(UInt64);
  # Clusters the overlay holds, ascending. Others read from the base image.
  chunks @3 :List(PageEntry);
  # Non-zero 4096-byte chunks of those clusters: index = byte offset / 4096,
  # ascending; a chunk of a listed cluster that is absent here is all zeros.
  # A final partial chunk (capacity not a multiple of 4096) is zero-padded.
  readonly @4 :Bool;
  # The drive was readonly (then `clusters` and `chunks` are empty). Must
  # match the restoring drive.
}

# The HSSN record: everything needed to resume the VM at `position`.
struct Snapshot {
  position @0 :UInt64;
  # Machine position (instructions retired + trap entries + idle skips).
  instret @1 :UInt64;
  # Instructions retired at `position`.
  journalCursor @2 :UInt64;
  # Index of the next journal event to deliver after `position`.
  stateHashLo @3 :UInt64;
  stateHashHi @4 :UInt64;
  # State hash (snapshot/state_hash.hpp) of the machine at `position`.
  machine @5 :MachineState;
  memory @6 :List(MemoryRegion);
  # Every memory region of the bus, in bus order.
  drives @7 :List(Drive);
  # One entry per --drive, in configuration order; readonly drives have an
  # entry with no clusters.
}
