#include "snapshot/state_hash.hpp"

#include <capnp/message.h>
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "core/machine.hpp"
#include "devices/virt.hpp"
#include "snapshot/device_state.hpp"

namespace hs {

namespace sn = snapshot_schema;
using snapshot_detail::drive;

namespace {

// Version of the hash definition: changing what is hashed changes it.
constexpr char kHashTag[8] = {'H', 'S', 'S', 'T', 'A', 'T', 'E', 1};
constexpr uint64_t kEndOfList = UINT64_MAX;

// Feeds little-endian 64-bit words to XXH3-128 in batches (one update call
// per word would cost more than the hashing itself).
class Feeder {
 public:
  Feeder() : st_(XXH3_createState()) { XXH3_128bits_reset(st_); }
  ~Feeder() { XXH3_freeState(st_); }
  Feeder(const Feeder&) = delete;
  Feeder& operator=(const Feeder&) = delete;

  void word(uint64_t v) {
    buf_[n_++] = v;
    if (n_ == kBatch) drain();
  }
  void bytes(const void* p, size_t len) {
    drain();
    word(len);
    drain();
    XXH3_128bits_update(st_, p, len);
  }
  void page(uint64_t index, const PageRef& ref) {
    word(index);
    word(ref.hash.lo);
    word(ref.hash.hi);
  }
  Hash128 digest() {
    drain();
    const XXH128_hash_t h = XXH3_128bits_digest(st_);
    return Hash128{h.low64, h.high64};
  }

 private:
  static constexpr size_t kBatch = 1024;
  void drain() {
    if (n_) XXH3_128bits_update(st_, buf_, n_ * sizeof(uint64_t));  // little-endian host
    n_ = 0;
  }
  XXH3_state_t* st_;
  uint64_t buf_[kBatch];
  size_t n_ = 0;
};

void feed_machine_state(Feeder& f, Machine& m, VirtBoard& board) {
  capnp::MallocMessageBuilder msg;
  auto state = msg.initRoot<sn::MachineState>();
  snapshot_detail::save_machine_state(m, board, state);
  state.getHart().setTrapCause(0);  // dead scratch, see the header
  state.getHart().setTrapTval(0);
  const kj::Array<capnp::word> canonical = capnp::canonicalize(state.asReader());
  const kj::ArrayPtr<const kj::byte> bytes = canonical.asBytes();
  f.bytes(bytes.begin(), bytes.size());
}

void feed_regions(Feeder& f, Machine& m, const ContentTables& c) {
  const auto& regions = m.bus().memories();
  f.word(regions.size());
  for (size_t r = 0; r < regions.size(); ++r) {
    f.bytes(regions[r]->name.data(), regions[r]->name.size());
    f.word(regions[r]->base.v);
    f.word(regions[r]->size);
    const std::vector<PageRef>& pages = c.regions.at(r);
    for (uint64_t p = 0; p < pages.size(); ++p)
      if (!pages[p].is_zero()) f.page(p, pages[p]);
    f.word(kEndOfList);
  }
}

void feed_drives(Feeder& f, VirtBoard& board, const ContentTables& c) {
  const size_t n = board.config().drives.size();
  f.word(n);
  for (size_t d = 0; d < n; ++d) {
    Disk& disk = drive(board, d);
    f.word(disk.size());
    f.word(disk.cluster_size());
    f.word(disk.readonly());
    const uint64_t chunks_per_cluster = disk.cluster_size() / kPageSize;
    for (const auto& [cluster, chunks] : c.drives.at(d)) {
      f.word(cluster);
      for (size_t k = 0; k < chunks.size(); ++k)
        if (!chunks[k].is_zero()) f.page(cluster * chunks_per_cluster + k, chunks[k]);
      f.word(kEndOfList);
    }
    f.word(kEndOfList);
  }
}

}  // namespace

size_t read_cluster_chunks(Disk& disk, uint64_t cluster, std::vector<uint8_t>& buf) {
  const uint64_t len = disk.cluster_length(cluster);
  const size_t chunks = (len + kPageSize - 1) / kPageSize;
  buf.assign(chunks * kPageSize, 0);
  if (!disk.read_cluster(cluster, std::span<uint8_t>(buf.data(), len)))
    throw DiskError(
        fmt::format("{}: cannot read overlay cluster {} for a snapshot", disk.path(), cluster));
  return chunks;
}

ContentTables scan_contents(Machine& m, VirtBoard& board) {
  ContentTables c;
  std::vector<uint8_t> padded(kPageSize);
  for (const auto& region : m.bus().memories()) {
    std::vector<PageRef>& pages =
        c.regions.emplace_back((region->size + kPageSize - 1) / kPageSize);
    for (uint64_t p = 0; p < pages.size(); ++p) {
      const uint64_t off = p * kPageSize;
      const uint64_t len = std::min<uint64_t>(kPageSize, region->size - off);
      if (len == kPageSize) {
        pages[p] = page_ref_of(region->host + off);
      } else {
        std::fill(padded.begin(), padded.end(), 0);
        std::memcpy(padded.data(), region->host + off, len);
        pages[p] = page_ref_of(padded.data());
      }
    }
  }
  std::vector<uint8_t> buf;
  for (size_t d = 0; d < board.config().drives.size(); ++d) {
    auto& table = c.drives.emplace_back();
    Disk& disk = drive(board, d);
    if (disk.readonly()) continue;
    for (uint64_t cluster : disk.overlay_clusters()) {
      const size_t chunks = read_cluster_chunks(disk, cluster, buf);
      std::vector<PageRef>& refs = table[cluster];
      for (size_t k = 0; k < chunks; ++k) refs.push_back(page_ref_of(buf.data() + k * kPageSize));
    }
  }
  return c;
}

Hash128 state_hash(Machine& m, VirtBoard& board, const ContentTables& contents) {
  Feeder f;
  f.bytes(kHashTag, sizeof kHashTag);
  feed_machine_state(f, m, board);
  feed_regions(f, m, contents);
  feed_drives(f, board, contents);
  return f.digest();
}

Hash128 hart_hash(const Hart& h) {
  uint64_t v[32 + 32 + 24];
  size_t n = 0;
  for (unsigned r = 1; r < 32; ++r) v[n++] = h.x[r];
  for (unsigned r = 0; r < 32; ++r) v[n++] = h.f[r];
  for (uint64_t x : {h.pc, static_cast<uint64_t>(h.priv), h.position, h.instret,
                     uint64_t{h.frm} << 8 | h.fflags, h.mstatus, h.mie, h.effective_mip(),
                     h.medeleg, h.mideleg, h.mtvec, h.mscratch, h.mepc, h.mcause, h.mtval,
                     h.stvec, h.sscratch, h.sepc, h.scause, h.stval, h.satp,
                     static_cast<uint64_t>(h.wfi)})
    v[n++] = x;
  const XXH128_hash_t d = XXH3_128bits(v, n * sizeof(uint64_t));
  return Hash128{d.low64, d.high64};
}

Hash128 full_state_hash(Machine& m, VirtBoard& board) {
  return state_hash(m, board, scan_contents(m, board));
}

}  // namespace hs
