// The state hash: one XXH3-128 value that names the whole VM state at a
// position, so two runs (record/replay, snapshot/restore, JIT/interpreter)
// can be compared cheaply (determinism contract).
//
// It hashes a canonical serialization of
//   1. the hart and device states: the Cap'n Proto canonical form of the
//      snapshot.capnp MachineState, with the hart's dead trap scratch
//      (trapCause/trapTval) cleared: architectural state only, no host
//      pointers, TLB, cur_idx or block_exit (they are not in it);
//   2. every memory region (bus order): name, base, size, then
//      (page index, page hash) for each non-zero page in page order;
//   3. every drive (configuration order): capacity, cluster size, readonly,
//      then for each overlay cluster in order its index and
//      (chunk index, chunk hash) for each non-zero 4 KiB chunk.
// Memory and disks enter only through page hashes, so the snapshot store
// computes the same value from its incrementally maintained tables without
// rereading clean pages (tests check incremental == full).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "snapshot/page_store.hpp"

namespace hs {

class Disk;
class Hart;
class Machine;
class VirtBoard;

// Memory and disk contents as page hashes.
struct ContentTables {
  // Per bus memory region, in bus order: one PageRef per 4 KiB page (the
  // last one zero-padded if the region size is not a multiple of 4 KiB).
  std::vector<std::vector<PageRef>> regions;
  // Per drive, in VirtConfig::drives order: overlay cluster -> PageRefs of
  // its 4 KiB chunks (cluster_length rounded up to 4 KiB, zero-padded).
  // Readonly drives have no entries.
  std::vector<std::map<uint64_t, std::vector<PageRef>>> drives;
};

// Hashes every page of every memory region and every overlay cluster of
// every writable drive. Cost: XXH3 over all of RAM (~80 ms per 512 MiB,
// first-touch faults of never-written pages included) and one read per
// overlay cluster. Throws DiskError if an overlay cluster cannot be read.
ContentTables scan_contents(Machine& m, VirtBoard& board);

// The state hash of the machine and board whose memory and disks `contents`
// describes. Cost: O(pages + chunks) over the tables, no memory reads.
Hash128 state_hash(Machine& m, VirtBoard& board, const ContentTables& contents);

// A hash of the hart's architectural state alone (registers, pc, privilege,
// counters, trap CSRs, satp): cheap enough to take every few thousand
// instructions (record --check-every), to pin where a replay diverges.
Hash128 hart_hash(const Hart& h);

// state_hash(m, board, scan_contents(m, board)): for tests and for the end
// of a recording. Call between runs only.
Hash128 full_state_hash(Machine& m, VirtBoard& board);

// Reads overlay cluster `cluster` of `disk` into `buf`, zero-padded to whole
// 4 KiB chunks, and returns the chunk count. Throws DiskError naming the
// disk if it cannot be read.
size_t read_cluster_chunks(Disk& disk, uint64_t cluster, std::vector<uint8_t>& buf);

}  // namespace hs
