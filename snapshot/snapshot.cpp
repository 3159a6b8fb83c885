#include "snapshot/snapshot.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <utility>

#include "core/machine.hpp"
#include "devices/virt.hpp"
#include "schemas/framing.hpp"
#include "schemas/snapshot.capnp.h"
#include "snapshot/device_state.hpp"
#include "snapshot/state_hash.hpp"

namespace hs {

namespace sn = snapshot_schema;
namespace fs = std::filesystem;
using snapshot_detail::drive;

namespace {

constexpr char kSnapMagic[5] = "HSSN";
// The record is mostly page hashes (incompressible) and ascending indices;
// level 1 gets nearly all there is to get.
constexpr int kRecordZstdLevel = 1;
constexpr const char* kMemoryName = "(memory)";
constexpr uint64_t kMinTraversalWords = 8u << 20;  // capnp's default limit

std::string snap_file_name(Position p) { return fmt::format("{:020}.snap", p.v); }

uint64_t pages_in(uint64_t bytes) { return (bytes + kPageSize - 1) / kPageSize; }

uint64_t chunks_in_cluster(uint64_t capacity, uint64_t cluster_size, uint64_t cluster) {
  const uint64_t start = cluster * cluster_size;
  return start < capacity ? pages_in(std::min(cluster_size, capacity - start)) : 0;
}

PageRef ref_of(uint64_t lo, uint64_t hi) { return PageRef{Hash128{lo, hi}}; }

// ---- reading a snapshot record ----

// A decoded, structurally checked snapshot record with its page tables. The
// reader points into `words`.
struct ParsedSnapshot {
  kj::Array<capnp::word> words;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader;
  sn::Snapshot::Reader root;
  ContentTables tables;
};

// Page list -> dense table of `pages` entries; indices strictly increasing,
// in range, hashes non-zero.
std::vector<PageRef> dense_table(capnp::List<sn::PageEntry>::Reader list, uint64_t pages,
                                 const std::string& what) {
  std::vector<PageRef> table(pages);
  uint64_t next = 0;
  for (const auto e : list) {
    if (e.getIndex() < next || e.getIndex() >= pages)
      throw std::runtime_error(
          fmt::format("{}: page index {} out of order or range", what, e.getIndex()));
    if (e.getHashLo() == 0 && e.getHashHi() == 0)
      throw std::runtime_error(fmt::format("{}: page {} has the zero hash", what, e.getIndex()));
    table[e.getIndex()] = ref_of(e.getHashLo(), e.getHashHi());
    next = e.getIndex() + 1;
  }
  return table;
}

std::map<uint64_t, std::vector<PageRef>> drive_table(sn::Drive::Reader d, size_t i) {
  const uint64_t cs = d.getClusterSize();
  if (cs != 4096 && cs != 65536)
    throw std::runtime_error(fmt::format("drive {}: cluster size {}", i, cs));
  const uint64_t per_cluster = cs / kPageSize;
  std::map<uint64_t, std::vector<PageRef>> table;
  for (const uint64_t c : d.getClusters()) {
    const uint64_t n = chunks_in_cluster(d.getCapacity(), cs, c);
    if (n == 0 || (!table.empty() && c <= table.rbegin()->first))
      throw std::runtime_error(fmt::format("drive {}: cluster {} out of order or range", i, c));
    table[c].resize(n);
  }
  uint64_t next = 0;
  for (const auto e : d.getChunks()) {
    const uint64_t k = e.getIndex();
    auto it = table.find(k / per_cluster);
    if (k < next || it == table.end() || k % per_cluster >= it->second.size() ||
        (e.getHashLo() == 0 && e.getHashHi() == 0))
      throw std::runtime_error(fmt::format("drive {}: bad chunk {}", i, k));
    it->second[k % per_cluster] = ref_of(e.getHashLo(), e.getHashHi());
    next = k + 1;
  }
  return table;
}

ContentTables tables_of(sn::Snapshot::Reader root) {
  ContentTables t;
  for (const auto r : root.getMemory())
    t.regions.push_back(
        dense_table(r.getPages(), pages_in(r.getSize()), std::string(r.getName().cStr())));
  size_t i = 0;
  for (const auto d : root.getDrives()) t.drives.push_back(drive_table(d, i++));
  return t;
}

// Throws FormatError naming `file` unless `bytes` is a valid HSSN record of
// this version with a well-formed Snapshot.
ParsedSnapshot parse_snapshot(std::span<const uint8_t> bytes, const std::string& file) {
  DecodedRecord d = decode_record(bytes, 0, kSnapMagic);
  if (d.status != RecordStatus::kOk) throw FormatError(file, 0, d.problem);
  check_version(file, 0, d.version, sn::FORMAT_VERSION);
  if (d.payload.size() % sizeof(capnp::word) != 0)
    throw FormatError(file, RecordHeader::kSize, "snapshot payload is not whole words");
  ParsedSnapshot p;
  p.words = kj::heapArray<capnp::word>(d.payload.size() / sizeof(capnp::word));
  std::memcpy(p.words.begin(), d.payload.data(), d.payload.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = std::max<uint64_t>(kMinTraversalWords, p.words.size() * 4);
  try {
    p.reader = std::make_unique<capnp::FlatArrayMessageReader>(p.words.asPtr(), options);
    p.root = p.reader->getRoot<sn::Snapshot>();
    p.root.totalSize();  // walks every pointer: later reads cannot fail
    p.tables = tables_of(p.root);
    if (p.root.getMachine().getHart().getPosition() != p.root.getPosition())
      throw std::runtime_error("hart position differs from the snapshot position");
  } catch (const kj::Exception& e) {
    throw FormatError(file, RecordHeader::kSize,
                      fmt::format("malformed snapshot: {}", e.getDescription().cStr()));
  } catch (const std::runtime_error& e) {
    throw FormatError(file, RecordHeader::kSize, fmt::format("malformed snapshot: {}", e.what()));
  }
  return p;
}

SnapshotInfo info_of(const ParsedSnapshot& p, const std::string& file) {
  SnapshotInfo info;
  info.position = Position{p.root.getPosition()};
  info.instret = p.root.getInstret();
  info.journal_cursor = p.root.getJournalCursor();
  info.state_hash = Hash128{p.root.getStateHashLo(), p.root.getStateHashHi()};
  info.file = file;
  return info;
}

// The first page the tables need that `pages` lacks, or nullptr.
const PageRef* missing_page(const ContentTables& t, const PageStore& pages) {
  for (const auto& region : t.regions)
    for (const PageRef& r : region)
      if (!pages.contains(r)) return &r;
  for (const auto& d : t.drives)
    for (const auto& [cluster, chunks] : d)
      for (const PageRef& r : chunks)
        if (!pages.contains(r)) return &r;
  return nullptr;
}

// Throws a one-line mismatch description unless the snapshot fits m/board.
void check_fits(const ParsedSnapshot& p, Machine& m, VirtBoard& board) {
  const auto regions = p.root.getMemory();
  const auto& mine = m.bus().memories();
  if (regions.size() != mine.size())
    throw std::runtime_error(
        fmt::format("{} memory regions, this machine has {}", regions.size(), mine.size()));
  for (unsigned r = 0; r < regions.size(); ++r) {
    const auto reg = regions[r];
    if (reg.getName() != kj::StringPtr(mine[r]->name.c_str()) || reg.getBase() != mine[r]->base.v ||
        reg.getSize() != mine[r]->size)
      throw std::runtime_error(
          fmt::format("memory region {} ({}, {:#x} bytes at {:#x}) differs from this "
                      "machine's ({}, {:#x} bytes at {:#x})",
                      r, reg.getName().cStr(), reg.getSize(), reg.getBase(), mine[r]->name,
                      mine[r]->size, mine[r]->base.v));
  }
  const auto drives = p.root.getDrives();
  if (drives.size() != board.config().drives.size())
    throw std::runtime_error(
        fmt::format("{} drives, this machine has {}", drives.size(), board.config().drives.size()));
  for (unsigned i = 0; i < drives.size(); ++i) {
    Disk& disk = drive(board, i);
    if (drives[i].getCapacity() != disk.size() || drives[i].getReadonly() != disk.readonly() ||
        (!disk.readonly() && drives[i].getClusterSize() != disk.cluster_size()))
      throw std::runtime_error(
          fmt::format("drive {} ({} bytes{}) differs from this machine's ({}: {} bytes{})", i,
                      drives[i].getCapacity(), drives[i].getReadonly() ? ", readonly" : "",
                      disk.path(), disk.size(), disk.readonly() ? ", readonly" : ""));
  }
  snapshot_detail::check_machine_state(p.root.getMachine(), board);
}

// ---- writing a snapshot record ----

void set_pages(capnp::List<sn::PageEntry>::Builder list, const std::vector<PageRef>& table) {
  unsigned k = 0;
  for (uint64_t i = 0; i < table.size(); ++i) {
    if (table[i].is_zero()) continue;
    auto e = list[k++];
    e.setIndex(i);
    e.setHashLo(table[i].hash.lo);
    e.setHashHi(table[i].hash.hi);
  }
}

size_t non_zero(const std::vector<PageRef>& table) {
  return static_cast<size_t>(
      std::count_if(table.begin(), table.end(), [](const PageRef& r) { return !r.is_zero(); }));
}

void save_memory(sn::Snapshot::Builder root, Machine& m, const ContentTables& t) {
  const auto& regions = m.bus().memories();
  auto list = root.initMemory(static_cast<unsigned>(regions.size()));
  for (unsigned r = 0; r < regions.size(); ++r) {
    auto b = list[r];
    b.setName(regions[r]->name);
    b.setBase(regions[r]->base.v);
    b.setSize(regions[r]->size);
    set_pages(b.initPages(static_cast<unsigned>(non_zero(t.regions[r]))), t.regions[r]);
  }
}

void save_drive(sn::Drive::Builder b, Disk& disk,
                const std::map<uint64_t, std::vector<PageRef>>& table) {
  b.setCapacity(disk.size());
  b.setClusterSize(disk.cluster_size());
  b.setReadonly(disk.readonly());
  auto clusters = b.initClusters(static_cast<unsigned>(table.size()));
  size_t chunks = 0, i = 0;
  for (const auto& [c, refs] : table) {
    clusters.set(static_cast<unsigned>(i++), c);
    chunks += non_zero(refs);
  }
  auto list = b.initChunks(static_cast<unsigned>(chunks));
  const uint64_t per_cluster = disk.cluster_size() / kPageSize;
  unsigned k = 0;
  for (const auto& [c, refs] : table) {
    for (uint64_t j = 0; j < refs.size(); ++j) {
      if (refs[j].is_zero()) continue;
      auto e = list[k++];
      e.setIndex(c * per_cluster + j);
      e.setHashLo(refs[j].hash.lo);
      e.setHashHi(refs[j].hash.hi);
    }
  }
}

kj::Array<capnp::word> build_message(Machine& m, VirtBoard& board, const ContentTables& t,
                                     uint64_t cursor, const Hash128& hash) {
  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<sn::Snapshot>();
  root.setPosition(m.hart().position);
  root.setInstret(m.hart().instret);
  root.setJournalCursor(cursor);
  root.setStateHashLo(hash.lo);
  root.setStateHashHi(hash.hi);
  snapshot_detail::save_machine_state(m, board, root.initMachine());
  save_memory(root, m, t);
  auto drives = root.initDrives(static_cast<unsigned>(board.config().drives.size()));
  for (unsigned i = 0; i < drives.size(); ++i) save_drive(drives[i], drive(board, i), t.drives[i]);
  return capnp::messageToFlatArray(msg);
}

std::vector<uint8_t> encode_snapshot(const kj::Array<capnp::word>& message) {
  const kj::ArrayPtr<const kj::byte> bytes = message.asBytes();
  return encode_record(kSnapMagic, sn::FORMAT_VERSION, {bytes.begin(), bytes.size()},
                       kRecordZstdLevel);
}

// ---- background writes ----

// The writer thread of a Writes::kBackground store and its queue. Jobs run
// in submission order: a job's pages are put into the page store in order
// (so the pack gets the bytes an inline store would write), then, if it
// carries a snapshot record, the pack is flushed (compressed, appended,
// fdatasync'd) and the record written atomically: pages before records, as
// inline. After a failure every later job is skipped (its record may need
// the lost pages) until the owner takes the error with drain(). While the
// queue is not empty the writer owns the page store: the owner touches it
// only after drain().
class BackgroundWriter {
 public:
  struct Job {
    std::vector<Hash128> hashes;  // new pages, in put order
    std::vector<uint8_t> pages;   // their bytes, kPageSize each
    std::string file;             // if not empty: the record to write after the pages
    kj::Array<capnp::word> message;
    uint64_t bytes() const { return pages.size() + message.size() * sizeof(capnp::word); }
  };

  explicit BackgroundWriter(PageStore& pages) : pages_(pages) {
    thread_ = std::thread([this] { run(); });
  }
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;
  // Writes what is queued, then stops.
  ~BackgroundWriter() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      ++owner_waiting_;
    }
    work_.notify_one();
    thread_.join();
  }

  // Queues `job`, first waiting while the queue would exceed the budget.
  void submit(Job job) {
    std::unique_lock lock(mu_);
    wait_done(lock, [&] {
      return queued_bytes_ == 0 || queued_bytes_ + job.bytes() <= SnapshotStore::kQueueBudget;
    });
    queued_bytes_ += job.bytes();
    queue_.push_back(std::move(job));
    work_.notify_one();
  }
  // Waits until the queue is empty; returns the error of a failed job since
  // the last drain (nullptr if none) and resumes writing.
  std::exception_ptr drain() {
    std::unique_lock lock(mu_);
    wait_done(lock, [&] { return queue_.empty(); });
    return std::exchange(error_, nullptr);
  }
  bool failed() const {
    std::lock_guard lock(mu_);
    return error_ != nullptr;
  }
  uint64_t records_written() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  uint64_t bytes_written() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }
  // An empty page buffer with room for a full batch (reused: no page faults).
  std::vector<uint8_t> page_buffer() {
    std::vector<uint8_t> buf;
    {
      std::lock_guard lock(mu_);
      if (!spare_.empty()) {
        buf = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    buf.clear();
    buf.reserve(PageStore::kStagedPages * kPageSize);
    return buf;
  }

 private:
  static constexpr size_t kSpareBuffers = 2;

  // Waits on done_ for `ready`; meanwhile the owner is idle, so the writer
  // compresses on all cores.
  template <typename Ready>
  void wait_done(std::unique_lock<std::mutex>& lock, Ready ready) {
    if (ready()) return;
    ++owner_waiting_;
    done_.wait(lock, ready);
    --owner_waiting_;
  }

  void run() {
    pthread_setname_np(pthread_self(), "hs-snapwrite");
    // Batch scheduling: a woken writer does not preempt the thread running
    // the guest (without this, submit() often lost the CPU to the writer's
    // compression for milliseconds on a busy host). Best effort.
    const sched_param param{};
    pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
    std::unique_lock lock(mu_);
    for (;;) {
      work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      Job& job = queue_.front();  // stays valid: the owner only appends
      const bool skip = error_ != nullptr;
      lock.unlock();
      std::exception_ptr error;
      uint64_t written = 0;
      if (!skip) {
        try {
          written = write(job);
        } catch (...) {
          error = std::current_exception();
        }
      }
      lock.lock();
      if (error) {
        error_ = error;
      } else if (!skip) {
        bytes_ += written;
        if (!job.file.empty()) ++records_;
      }
      queued_bytes_ -= job.bytes();
      if (spare_.size() < kSpareBuffers && job.pages.capacity() != 0)
        spare_.push_back(std::move(job.pages));
      queue_.pop_front();
      done_.notify_all();
    }
  }

  // Returns the bytes added to the files.
  uint64_t write(const Job& job) {
    // One thread while the owner runs the guest on the other core; all
    // cores while it waits (a full queue, flush()).
    pages_.set_compress_threads(owner_waiting_ ? 0 : 1);
    for (size_t i = 0; i < job.hashes.size(); ++i)
      pages_.put(PageRef{job.hashes[i]}, &job.pages[i * kPageSize]);
    if (job.file.empty()) return 0;  // counted by the flush of the next record
    pages_.set_compress_threads(owner_waiting_ ? 0 : 1);
    const uint64_t n = pages_.flush();
    const std::vector<uint8_t> record = encode_snapshot(job.message);
    write_file_atomic(job.file, record);
    return n + record.size();
  }

  PageStore& pages_;
  mutable std::mutex mu_;
  std::condition_variable work_;  // to the writer: a job or stop
  std::condition_variable done_;  // to the owner: a job finished
  std::deque<Job> queue_;         // the front one is being written
  uint64_t queued_bytes_ = 0;
  std::exception_ptr error_;
  uint64_t records_ = 0;  // records written
  uint64_t bytes_ = 0;
  std::vector<std::vector<uint8_t>> spare_;
  std::atomic<int> owner_waiting_{0};  // read by the writer without the lock
  bool stop_ = false;
  std::thread thread_;  // last: started once everything above is built
};

}  // namespace

// ---- the store ----

struct SnapshotStore::Impl {
  // What the store believes memory and disks hold: the tables of the state
  // it last captured or restored, valid for pages not written since the
  // dirty generations it took then, and only for the same bus and disks.
  struct Baseline {
    uint64_t bus_uid = 0;
    uint32_t bus_gen = 0;
    std::vector<uint64_t> disk_uids;
    std::vector<uint32_t> disk_gens;
    ContentTables tables;
  };

  // A snapshot queued for the background writer: its sequence number among
  // the records queued, and the snapshot it replaced in `infos` (same
  // position), put back if the write fails.
  struct Queued {
    uint64_t seq;
    Position position;
    std::optional<SnapshotInfo> replaced;
  };

  std::string dir;  // "" for an in-memory store
  std::unique_ptr<PageStore> pages;
  std::map<uint64_t, std::vector<uint8_t>> memory_records;  // in-memory store: position -> record
  std::vector<SnapshotInfo> infos;
  std::vector<UnusableSnapshot> unusable;
  Baseline base;
  uint64_t bytes_written = 0;  // inline writes

  // Background writes (Writes::kBackground); destroyed before `pages`.
  std::unique_ptr<BackgroundWriter> writer;
  std::unordered_set<Hash128, Hash128Hasher> known;  // pages stored or queued
  BackgroundWriter::Job batch;                       // new pages of the capture in progress
  std::deque<Queued> queued;                         // records queued and maybe not written yet
  uint64_t records_queued = 0;

  void start_writer();
  // Stores a non-zero page, or queues it for the writer; true if it was new.
  bool store_page(const PageRef& ref, const uint8_t* page);
  // Throws the error of a failed background write, after undoing what it
  // kept from being written. `wait`: first wait for the writer to finish
  // everything queued (else only if a write has failed).
  void settle(bool wait);

  std::string snap_path(Position p) const {
    return dir.empty() ? kMemoryName : (fs::path(dir) / "snapshots" / snap_file_name(p)).string();
  }

  void sync_baseline(Machine& m, VirtBoard& board);
  // Hash what changed since the baseline into base.tables, putting new
  // pages into the store; count into info.pages_hashed/pages_written.
  void capture_memory(Machine& m, SnapshotInfo& info);
  void capture_drives(VirtBoard& board, SnapshotInfo& info);
  void take_checkpoints(Machine& m, VirtBoard& board);
  void restore_memory(Machine& m, const ContentTables& target);
  void restore_drives(VirtBoard& board, const ContentTables& target);
  void store_record(const SnapshotInfo& info, const std::vector<uint8_t>& record);
  std::vector<uint8_t> load_record(const SnapshotInfo& info) const;
  void add_info(const SnapshotInfo& info);
  void scan_directory();
};

void SnapshotStore::Impl::sync_baseline(Machine& m, VirtBoard& board) {
  const auto& regions = m.bus().memories();
  bool same = base.bus_uid == m.bus().uid() && base.tables.regions.size() == regions.size();
  for (size_t r = 0; same && r < regions.size(); ++r)
    same = base.tables.regions[r].size() == pages_in(regions[r]->size);
  if (!same) {
    // Another machine: nothing is known, every page written since the
    // machine was built (dirty > 0) must be looked at.
    base.bus_uid = m.bus().uid();
    base.bus_gen = 0;
    base.tables.regions.clear();
    for (const auto& r : regions) base.tables.regions.emplace_back(pages_in(r->size));
  }
  const size_t n = board.config().drives.size();
  base.disk_uids.resize(n, 0);
  base.disk_gens.resize(n, 0);
  base.tables.drives.resize(n);
  for (size_t d = 0; d < n; ++d) {
    if (base.disk_uids[d] == drive(board, d).uid()) continue;
    base.disk_uids[d] = drive(board, d).uid();
    base.disk_gens[d] = 0;
    base.tables.drives[d].clear();
  }
}

void SnapshotStore::Impl::capture_memory(Machine& m, SnapshotInfo& info) {
  std::vector<uint8_t> padded(kPageSize);
  const auto& regions = m.bus().memories();
  for (size_t r = 0; r < regions.size(); ++r) {
    const Bus::Memory& mem = *regions[r];
    std::vector<PageRef>& table = base.tables.regions[r];
    for (uint64_t p = 0; p < table.size(); ++p) {
      if (mem.dirty[p] <= base.bus_gen) continue;
      const uint8_t* page = mem.host + p * kPageSize;
      if ((p + 1) * kPageSize > mem.size) {  // a partial last page is stored zero-padded
        std::fill(padded.begin(), padded.end(), 0);
        std::memcpy(padded.data(), page, mem.size - p * kPageSize);
        page = padded.data();
      }
      table[p] = page_ref_of(page);
      ++info.pages_hashed;
      if (store_page(table[p], page)) ++info.pages_written;
    }
  }
}

void SnapshotStore::Impl::capture_drives(VirtBoard& board, SnapshotInfo& info) {
  std::vector<uint8_t> buf;
  for (size_t d = 0; d < base.tables.drives.size(); ++d) {
    Disk& disk = drive(board, d);
    if (disk.readonly()) continue;
    auto& table = base.tables.drives[d];
    for (const uint64_t c : disk.clusters_changed_since(base.disk_gens[d])) {
      if (!disk.in_overlay(c)) {
        table.erase(c);
        continue;
      }
      const size_t chunks = read_cluster_chunks(disk, c, buf);
      std::vector<PageRef>& refs = table[c];
      refs.assign(chunks, PageRef{});
      for (size_t k = 0; k < chunks; ++k) {
        const uint8_t* chunk = buf.data() + k * kPageSize;
        refs[k] = page_ref_of(chunk);
        ++info.pages_hashed;
        if (store_page(refs[k], chunk)) ++info.pages_written;
      }
    }
  }
}

void SnapshotStore::Impl::start_writer() {
  pages->for_each_hash([this](const Hash128& h) { known.insert(h); });
  writer = std::make_unique<BackgroundWriter>(*pages);
}

bool SnapshotStore::Impl::store_page(const PageRef& ref, const uint8_t* page) {
  if (ref.is_zero()) return false;
  if (!writer) return pages->put(ref, page);
  if (!known.insert(ref.hash).second) return false;
  if (batch.hashes.empty()) batch.pages = writer->page_buffer();
  batch.hashes.push_back(ref.hash);
  batch.pages.insert(batch.pages.end(), page, page + kPageSize);
  if (batch.hashes.size() >= PageStore::kStagedPages) writer->submit(std::exchange(batch, {}));
  return true;
}

void SnapshotStore::Impl::settle(bool wait) {
  if (!writer) return;
  const std::exception_ptr error =
      wait || writer->failed() ? writer->drain() : nullptr;  // drained: the writer is idle
  const uint64_t written = writer->records_written();
  if (!error) {
    while (!queued.empty() && queued.front().seq < written) queued.pop_front();
    return;
  }
  // Every record from the first one not written on was skipped: newest first,
  // drop each from `infos` and put back what it replaced.
  for (auto q = queued.rbegin(); q != queued.rend() && q->seq >= written; ++q) {
    const auto it =
        std::lower_bound(infos.begin(), infos.end(), q->position,
                         [](const SnapshotInfo& a, Position p) { return a.position < p; });
    if (it != infos.end() && it->position == q->position) infos.erase(it);
    if (q->replaced) add_info(*q->replaced);
  }
  queued.clear();
  // What the page store holds is all there is; the baseline's tables may
  // name lost pages, so the next capture starts from scratch.
  batch = {};
  known.clear();
  pages->for_each_hash([this](const Hash128& h) { known.insert(h); });
  base.bus_uid = 0;
  std::fill(base.disk_uids.begin(), base.disk_uids.end(), 0);
  std::rethrow_exception(error);
}

void SnapshotStore::Impl::take_checkpoints(Machine& m, VirtBoard& board) {
  base.bus_gen = m.dirty_checkpoint();
  for (size_t d = 0; d < base.disk_gens.size(); ++d)
    base.disk_gens[d] = drive(board, d).write_checkpoint();
}

void SnapshotStore::Impl::store_record(const SnapshotInfo& info,
                                       const std::vector<uint8_t>& record) {
  if (dir.empty())
    memory_records[info.position.v] = record;
  else
    write_file_atomic(info.file, record);
}

std::vector<uint8_t> SnapshotStore::Impl::load_record(const SnapshotInfo& info) const {
  if (!dir.empty()) return read_whole_file(info.file);
  const auto it = memory_records.find(info.position.v);
  if (it == memory_records.end())
    throw FormatError(kMemoryName, 0, fmt::format("no snapshot at position {}", info.position.v));
  return it->second;
}

void SnapshotStore::Impl::add_info(const SnapshotInfo& info) {
  auto it = std::lower_bound(infos.begin(), infos.end(), info.position,
                             [](const SnapshotInfo& a, Position p) { return a.position < p; });
  if (it != infos.end() && it->position == info.position)
    *it = info;
  else
    infos.insert(it, info);
}

// Indexes every .snap of REC/snapshots; unusable ones go to `unusable`.
void SnapshotStore::Impl::scan_directory() {
  std::vector<fs::path> files;
  const fs::path snaps = fs::path(dir) / "snapshots";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(snaps, ec))
    if (e.path().extension() == ".snap") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  const auto& pack = static_cast<const PackFile&>(*pages);
  const std::string pack_note =
      pack.tail_problem().empty()
          ? std::string()
          : fmt::format(" ({}: offset {}: {})", pack.name(), pack.valid_end(), pack.tail_problem());
  for (const fs::path& f : files) {
    const std::string file = f.string();
    try {
      const std::vector<uint8_t> bytes = read_whole_file(file);
      const ParsedSnapshot p = parse_snapshot(bytes, file);
      if (const PageRef* lost = missing_page(p.tables, *pages)) {
        unusable.push_back({file, fmt::format("{}: needs page {}, which {} does not hold{}", file,
                                              lost->hash.to_string(), pages->name(), pack_note)});
        continue;
      }
      add_info(info_of(p, file));
    } catch (const FormatError& e) {
      unusable.push_back({file, e.what()});
    }
  }
}

void SnapshotStore::Impl::restore_memory(Machine& m, const ContentTables& target) {
  Bus& bus = m.bus();
  const auto& regions = bus.memories();
  for (size_t r = 0; r < regions.size(); ++r) {
    Bus::Memory& mem = *regions[r];
    const std::vector<PageRef>& want = target.regions[r];
    const std::vector<PageRef>& have = base.tables.regions[r];
    std::vector<PageRef> refs;  // pages to load, decompressed in one batch
    std::vector<uint8_t*> outs;
    std::vector<uint64_t> loaded;
    uint64_t zero_run = 0;  // pages to zero, ending just before p
    for (uint64_t p = 0; p <= want.size(); ++p) {
      const bool need = p < want.size() && (mem.dirty[p] > base.bus_gen || have[p] != want[p]);
      if (need && want[p].is_zero()) {
        ++zero_run;
        continue;
      }
      bus.zero_pages(mem, p - zero_run, zero_run);
      zero_run = 0;
      if (!need) continue;
      if ((p + 1) * kPageSize <= mem.size) {
        refs.push_back(want[p]);
        outs.push_back(mem.host + p * kPageSize);
      } else {  // a partial last page
        std::vector<uint8_t> padded(kPageSize);
        pages->get(want[p], padded.data());
        std::memcpy(mem.host + p * kPageSize, padded.data(), mem.size - p * kPageSize);
      }
      loaded.push_back(p);
    }
    pages->get_many(refs, outs);
    for (const uint64_t p : loaded) bus.mark_dirty(mem, p * kPageSize);
  }
}

void SnapshotStore::Impl::restore_drives(VirtBoard& board, const ContentTables& target) {
  std::vector<uint8_t> buf;
  for (size_t d = 0; d < target.drives.size(); ++d) {
    Disk& disk = drive(board, d);
    if (disk.readonly()) continue;
    const auto& want = target.drives[d];
    const auto& have = base.tables.drives[d];
    const std::vector<uint64_t> changed = disk.clusters_changed_since(base.disk_gens[d]);
    auto fail = [&](uint64_t c) {
      return DiskError(fmt::format("{}: cannot restore overlay cluster {}", disk.path(), c));
    };
    for (const uint64_t c : disk.overlay_clusters())
      if (!want.count(c) && !disk.drop_cluster(c)) throw fail(c);
    for (const auto& [c, refs] : want) {
      const auto h = have.find(c);
      const bool same = h != have.end() && h->second == refs &&
                        !std::binary_search(changed.begin(), changed.end(), c);
      if (same && disk.in_overlay(c)) continue;
      buf.assign(refs.size() * kPageSize, 0);
      for (size_t k = 0; k < refs.size(); ++k) pages->get(refs[k], buf.data() + k * kPageSize);
      if (!disk.load_cluster(c, std::span<const uint8_t>(buf.data(), disk.cluster_length(c))))
        throw fail(c);
    }
  }
}

// ---- public interface ----

SnapshotStore::SnapshotStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SnapshotStore::SnapshotStore(SnapshotStore&&) noexcept = default;
SnapshotStore& SnapshotStore::operator=(SnapshotStore&&) noexcept = default;
SnapshotStore::~SnapshotStore() = default;

SnapshotStore SnapshotStore::create(const std::string& rec_dir, Writes writes) {
  const fs::path snaps = fs::path(rec_dir) / "snapshots";
  std::error_code ec;
  fs::create_directories(snaps, ec);
  if (ec) throw FormatError(snaps.string(), 0, fmt::format("cannot create: {}", ec.message()));
  const std::string pack = (fs::path(rec_dir) / "pages.pack").string();
  if (fs::exists(pack, ec) && fs::file_size(pack, ec) > 0)
    throw FormatError(pack, 0, "already holds pages (open the recording instead of creating it)");
  auto impl = std::make_unique<Impl>();
  impl->dir = rec_dir;
  impl->pages = std::make_unique<PackFile>(pack, /*create=*/true);
  if (writes == Writes::kBackground) impl->start_writer();
  return SnapshotStore(std::move(impl));
}

SnapshotStore SnapshotStore::open(const std::string& rec_dir, Writes writes) {
  auto impl = std::make_unique<Impl>();
  impl->dir = rec_dir;
  impl->pages =
      std::make_unique<PackFile>((fs::path(rec_dir) / "pages.pack").string(), /*create=*/false);
  impl->scan_directory();
  if (writes == Writes::kBackground) impl->start_writer();
  return SnapshotStore(std::move(impl));
}

SnapshotStore SnapshotStore::in_memory() {
  auto impl = std::make_unique<Impl>();
  impl->pages = std::make_unique<MemoryPages>();
  return SnapshotStore(std::move(impl));
}

const std::vector<SnapshotInfo>& SnapshotStore::snapshots() const { return impl_->infos; }
const std::vector<UnusableSnapshot>& SnapshotStore::unusable() const { return impl_->unusable; }

const SnapshotInfo* SnapshotStore::nearest_at_or_before(Position p) const {
  const auto& v = impl_->infos;
  auto it = std::upper_bound(v.begin(), v.end(), p,
                             [](Position q, const SnapshotInfo& a) { return q < a.position; });
  return it == v.begin() ? nullptr : &*std::prev(it);
}

SnapshotInfo SnapshotStore::capture(Machine& m, VirtBoard& board, uint64_t journal_cursor) {
  // (block_exit may be left set between runs, e.g. by a reset: it only ends
  // the next block early, which is invisible to the guest.)
  if (m.hart().cur_idx != 0)
    throw std::logic_error("SnapshotStore::capture called in the middle of a block");
  const auto start = std::chrono::steady_clock::now();
  Impl& s = *impl_;
  s.settle(/*wait=*/false);
  SnapshotInfo info;
  info.position = m.position();
  info.instret = m.hart().instret;
  info.journal_cursor = journal_cursor;
  info.file = s.snap_path(info.position);
  s.sync_baseline(m, board);
  s.capture_memory(m, info);
  s.capture_drives(board, info);
  info.state_hash = state_hash(m, board, s.base.tables);
  kj::Array<capnp::word> message =
      build_message(m, board, s.base.tables, journal_cursor, info.state_hash);
  if (s.writer) {
    BackgroundWriter::Job job = std::exchange(s.batch, {});
    job.file = info.file;
    job.message = std::move(message);
    const SnapshotInfo* replaced = nearest_at_or_before(info.position);
    s.queued.push_back(Impl::Queued{
        s.records_queued++, info.position,
        replaced && replaced->position == info.position ? std::optional(*replaced) : std::nullopt});
    s.writer->submit(std::move(job));
  } else {
    const std::vector<uint8_t> record = encode_snapshot(message);
    // Pages first: a record must never reference pages that are not durable.
    info.bytes_written = s.pages->flush() + record.size();
    s.store_record(info, record);
    s.bytes_written += info.bytes_written;
  }
  s.take_checkpoints(m, board);
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  s.add_info(info);
  return info;
}

void SnapshotStore::flush() { impl_->settle(/*wait=*/true); }

uint64_t SnapshotStore::bytes_written() const {
  return impl_->writer ? impl_->writer->bytes_written() : impl_->bytes_written;
}

uint64_t SnapshotStore::restore(const SnapshotInfo& info, Machine& m, VirtBoard& board) {
  Impl& s = *impl_;
  s.settle(/*wait=*/true);
  const std::vector<uint8_t> bytes = s.load_record(info);
  ParsedSnapshot p = parse_snapshot(bytes, info.file);
  try {
    check_fits(p, m, board);
  } catch (const std::runtime_error& e) {
    throw FormatError(info.file, 0,
                      fmt::format("snapshot does not fit this machine: {}", e.what()));
  }
  if (const PageRef* lost = missing_page(p.tables, *s.pages))
    throw FormatError(info.file, 0,
                      fmt::format("needs page {}, which {} does not hold", lost->hash.to_string(),
                                  s.pages->name()));
  s.sync_baseline(m, board);
  // Until the restore completes, the baseline describes nothing: a failure
  // halfway leaves the next capture or restore starting from scratch.
  const std::vector<uint64_t> disk_uids = s.base.disk_uids;
  s.base.bus_uid = 0;
  std::fill(s.base.disk_uids.begin(), s.base.disk_uids.end(), 0);
  s.restore_memory(m, p.tables);
  s.restore_drives(board, p.tables);
  snapshot_detail::load_machine_state(p.root.getMachine(), m, board);
  m.state_replaced();
  s.base.tables = std::move(p.tables);
  s.base.bus_uid = m.bus().uid();
  s.base.disk_uids = disk_uids;
  s.take_checkpoints(m, board);
  const Hash128 recorded{p.root.getStateHashLo(), p.root.getStateHashHi()};
  if (const Hash128 h = state_hash(m, board, s.base.tables); h != recorded)
    throw FormatError(info.file, 0,
                      fmt::format("restored state hash {} differs from the recorded {}",
                                  h.to_string(), recorded.to_string()));
  return p.root.getJournalCursor();
}

}  // namespace hs
