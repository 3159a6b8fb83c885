// Snapshots: capture the whole VM state (hart, devices, RAM and ROM, disk
// overlays, journal cursor) at a position and restore it later, bit for bit
// (determinism contract, rule 4).
//
// On disk (schemas/snapshot.capnp has the formats):
//   REC/pages.pack             content-addressed pages (snapshot/page_store.hpp)
//   REC/snapshots/<pos>.snap   one record per snapshot: positions, hart and
//                              device state, the page tables of every memory
//                              region and drive overlay, the state hash
// A snapshot record is written atomically (temp file, fsync, rename) after
// its new pages are appended to the pack and synced, so a kill at any point
// leaves every existing snapshot usable, and a pack cut short by a kill only
// makes the snapshots that need its lost pages unusable (open() says which).
//
// Incremental capture: the store keeps the page tables of the state it last
// captured or restored (its baseline) and the dirty generation it took then
// (Bus::mark_dirty, Disk::write_generation). A capture hashes only the pages
// and overlay clusters written since, stores the new ones, and reuses every
// other ref; a restore rewrites only pages that were written since or differ
// between the baseline and the target. Several stores may capture the same
// machine: each has its own baseline.
//
// Costs, measured with a 512 MiB guest whose pages are half in use (each
// page zstd-compresses to ~63%), on a 2-core x86-64 host shared with other
// work (`test_snapshot "[.perf]"` prints them):
//   capture, 5% of RAM dirty (6554 new pages)  55-95 ms: compression on all
//     cores, then the pack's fdatasync and the record's fsync
//   capture, nothing dirty                      4-8 ms: the record holds the
//     page table of every non-zero page (24 bytes per page)
//   restore into the same machine, 5% changed   16 ms
//   restore into a fresh machine                160 ms for 65536 non-zero
//     pages: ~2.4 us per page (decompression + first-touch page faults)
//   the first capture of a machine             ~7 us per non-zero page
//
// Background writes (Writes::kBackground, what `hindsight record` uses): the
// capture itself only hashes the dirty pages, copies the ones new to the
// store into a queue and builds the record's message; one writer thread
// then compresses and appends the pages, syncs the pack and writes the
// record atomically, in capture order, while the guest runs on (the writer
// compresses on one core, on all while the capturing thread waits for it).
// The files are byte for byte those an inline store writes, and the crash
// rules above hold unchanged (the pages of a record are durable before its
// rename). The queue holds at most kQueueBudget bytes of page copies and
// messages: a capture that would exceed it waits for the writer. A snapshot
// is listed by snapshots() as soon as it is captured; restore() and flush()
// wait for everything queued. A write error on the writer thread is thrown
// (as the FormatError it was) by the next capture(), flush() or restore():
// the snapshots it kept from being written are dropped from snapshots(), and
// the next capture rehashes all memory and disks (as after a failed inline
// capture, nothing is lost but the work). Capture costs, same setup as
// below: 5% of RAM dirty 13-16 ms (then 115-160 ms on the writer), nothing
// dirty 1.4 ms; a 512 MiB Linux boot's captures 0.5-7 ms of thread CPU time
// each, its first (7908 pages) ~15 ms.
//
// Not thread-safe; capture and restore happen between runs of the machine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "snapshot/page_store.hpp"

namespace hs {

class Machine;
class VirtBoard;

struct SnapshotInfo {
  Position position;
  uint64_t instret = 0;
  uint64_t journal_cursor = 0;  // index of the next journal event
  Hash128 state_hash;           // snapshot/state_hash.hpp of the captured state
  std::string file;             // its .snap file; "(memory)" in an in-memory store
  // Capture statistics (zero for snapshots found by open()).
  uint64_t pages_hashed = 0;   // dirty RAM pages and changed disk chunks examined
  uint64_t pages_written = 0;  // new pages added to the page store
  uint64_t bytes_written = 0;  // page records + the snapshot record
  double seconds = 0;          // wall time of the capture
};

// A .snap file open() could not use, and why (one line, names the file).
struct UnusableSnapshot {
  std::string file;
  std::string reason;
};

class SnapshotStore {
 public:
  // How a file store writes (an in-memory store always writes inline).
  enum class Writes {
    kInline,      // capture() returns once pages and record are durable
    kBackground,  // a writer thread compresses and writes (see above)
  };
  // Most bytes of page copies and record messages a background store's queue
  // holds before capture() waits for the writer.
  static constexpr uint64_t kQueueBudget = 64ull << 20;

  // A new store in recording directory `rec_dir` (created if missing):
  // creates REC/pages.pack and REC/snapshots/. Throws FormatError naming the
  // path if they cannot be created or if REC already holds a non-empty
  // pages.pack (use open() to continue with one).
  static SnapshotStore create(const std::string& rec_dir, Writes writes = Writes::kInline);
  // The store of an existing recording. Indexes pages.pack and validates
  // every .snap (checksum, version, structure, all its pages present);
  // unusable ones are left out of snapshots() and listed in unusable().
  // Throws FormatError if pages.pack is missing or unreadable. Cost: reads
  // the pack's record headers and every snapshot record once.
  static SnapshotStore open(const std::string& rec_dir, Writes writes = Writes::kInline);
  // A store that keeps pages and records in memory (debugger checkpoints);
  // same format and code path as the files.
  static SnapshotStore in_memory();

  SnapshotStore(SnapshotStore&&) noexcept;
  SnapshotStore& operator=(SnapshotStore&&) noexcept;
  // A background store first writes what is queued (errors are dropped:
  // call flush() to see them).
  ~SnapshotStore();

  // Captures the state of `m` and `board` at m's position. Call between runs
  // only (never from inside Machine::run). `journal_cursor` is stored as is.
  // A second capture at the same position replaces the first. Throws
  // FormatError on a host write failure (nothing is recorded then; the next
  // capture redoes the work) and DiskError if an overlay cannot be read.
  // A background store returns before anything is written (bytes_written is
  // 0 then; see bytes_written() below) and throws the FormatError of an
  // earlier background write instead.
  SnapshotInfo capture(Machine& m, VirtBoard& board, uint64_t journal_cursor);

  // Waits until every captured snapshot is durable (pages, then record), so
  // another SnapshotStore::open() of the directory sees them. Throws the
  // FormatError of a failed background write (once; see above). Nothing to
  // do for an inline store.
  void flush();
  // Bytes this store has added to its files (page records and snapshot
  // records); for a background store, what the writer has finished so far.
  uint64_t bytes_written() const;

  // Usable snapshots, sorted by position.
  const std::vector<SnapshotInfo>& snapshots() const;
  const std::vector<UnusableSnapshot>& unusable() const;
  // The latest snapshot at or before `p`, or nullptr.
  const SnapshotInfo* nearest_at_or_before(Position p) const;

  // Restores `info` (one of snapshots()) into `m` and `board`, which must
  // have the configuration the snapshot was taken with (same memory regions,
  // drives, virtio devices), freshly built or having run: RAM and ROM, disk
  // overlays, devices and hart are replaced, the block cache and TLB are
  // dropped (Machine::state_replaced). Returns the journal cursor. Throws
  // FormatError naming the file (and offset) if the snapshot or a page it
  // needs is corrupt, of another version, or does not fit the machine; if
  // that happens after RAM was touched the machine's state is unspecified.
  // A background store first waits for its writer (as flush()).
  uint64_t restore(const SnapshotInfo& info, Machine& m, VirtBoard& board);

 private:
  struct Impl;
  explicit SnapshotStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hs
