#include "snapshot/page_store.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "schemas/framing.hpp"
#include "schemas/snapshot.capnp.h"

// Compression level: measured on 4 KiB pages of the Debian guest's kernel
// Image and initramfs (x86-64 host, loaded 2-core machine), one reused
// context per direction:
//   level -3: 49%/73% of the size, compress  7.2 us/page, decompress 2.0 us
//   level -1: 45%/69%,             compress  9.5 us,      decompress 2.4 us
//   level  1: 41%/63%,             compress 12.9-20 us,   decompress 4.7-5.5 us
//   level  3: 40%/62%,             compress 16.5-23 us,   decompress 4.5-5.8 us
// Capture time is dominated by compressing new pages and seek time by
// decompressing them, so the fast level -1: 10% larger than level 1, but
// 1.3x faster to write and 2x faster to read.

namespace hs {

namespace sn = snapshot_schema;

namespace {

constexpr char kPageMagic[5] = "HSPG";

int pwrite_all(int fd, const uint8_t* p, uint64_t len, uint64_t off) {
  uint64_t done = 0;
  while (done < len) {
    const ssize_t n = ::pwrite(fd, p + done, len - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<uint64_t>(n);
  }
  return 0;
}

// Worker threads for batches: all host cores up to 8, but at least
// kMinPagesPerWorker pages each (a thread costs tens of microseconds).
constexpr size_t kMinPagesPerWorker = 128;
constexpr unsigned kMaxWorkers = 8;

unsigned worker_count(size_t items, unsigned limit = 0) {
  const unsigned hw =
      limit ? limit : std::clamp(std::thread::hardware_concurrency(), 1u, kMaxWorkers);
  return static_cast<unsigned>(std::clamp<size_t>(items / kMinPagesPerWorker, 1, hw));
}

// Runs f(worker, begin, end) on `workers` contiguous slices of [0, n),
// slice 0 on the calling thread; rethrows the first exception.
template <typename F>
void parallel_for(size_t n, unsigned workers, F&& f) {
  std::vector<std::exception_ptr> errors(workers);
  auto run = [&](unsigned w) {
    try {
      f(w, n * w / workers, n * (w + 1) / workers);
    } catch (...) {
      errors[w] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (unsigned w = 1; w < workers; ++w) threads.emplace_back(run, w);
  run(0);
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

Hash128 zero_page_hash() {
  static const Hash128 h = [] {
    static const uint8_t zeros[kPageSize] = {};
    return xxh3_128(zeros);
  }();
  return h;
}

}  // namespace


Hash128 xxh3_128(std::span<const uint8_t> data) {
  const XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  return Hash128{h.low64, h.high64};
}

PageRef page_ref_of(const uint8_t* page) {
  const Hash128 h = xxh3_128({page, kPageSize});
  return h == zero_page_hash() ? PageRef{} : PageRef{h};
}

// zstd contexts are reused: creating one per page would cost more than
// compressing the page.
struct PageStore::Codec {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  Codec() = default;
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;
  ~Codec() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }

  std::vector<uint8_t> encode(const Hash128& hash, const uint8_t* page) {
    uint8_t packed[ZSTD_COMPRESSBOUND(kPageSize)];
    const size_t n = ZSTD_compressCCtx(cctx, packed, sizeof packed, page, kPageSize, kZstdLevel);
    const bool compressed = !ZSTD_isError(n) && n < kPageSize;
    capnp::MallocMessageBuilder msg(kPageSize / sizeof(capnp::word) + 16);
    auto r = msg.initRoot<sn::PageRecord>();
    r.setHashLo(hash.lo);
    r.setHashHi(hash.hi);
    r.setCompressed(compressed);
    r.setData(compressed ? kj::arrayPtr(packed, n) : kj::arrayPtr(page, kPageSize));
    const kj::Array<capnp::word> words = capnp::messageToFlatArray(msg);
    const kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
    return encode_record(kPageMagic, sn::PAGE_FORMAT_VERSION, {bytes.begin(), bytes.size()}, 0);
  }
};

PageStore::PageStore(std::string name) : name_(std::move(name)) {}

PageStore::~PageStore() = default;

PageStore::Codec& PageStore::codec(unsigned worker) {
  while (codecs_.size() <= worker) codecs_.push_back(std::make_unique<Codec>());
  return *codecs_[worker];
}

std::string PageStore::parse_record(std::span<const uint8_t> data, uint64_t offset, Hash128& hash,
                                    uint64_t& next) const {
  DecodedRecord d = decode_record(data, offset, kPageMagic);
  if (d.status != RecordStatus::kOk) return d.problem;
  check_version(name_, offset, d.version, sn::PAGE_FORMAT_VERSION);
  if (d.payload.size() % sizeof(capnp::word) != 0) return "page record payload is not whole words";
  try {
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(reinterpret_cast<const capnp::word*>(d.payload.data()),
                     d.payload.size() / sizeof(capnp::word)));
    const auto r = reader.getRoot<sn::PageRecord>();
    hash = Hash128{r.getHashLo(), r.getHashHi()};
    if (hash == Hash128{}) return "page record with the reserved zero hash";
  } catch (const kj::Exception& e) {
    return fmt::format("malformed page record: {}", e.getDescription().cStr());
  }
  next = d.next_offset;
  return "";
}

bool PageStore::put(const PageRef& ref, const uint8_t* page) {
  if (contains(ref)) return false;
  index_.emplace(ref.hash, Location{kStaged, staged_hashes_.size()});
  staged_.insert(staged_.end(), page, page + kPageSize);
  staged_hashes_.push_back(ref.hash);
  if (staged_hashes_.size() >= kStagedPages) append_staged();
  return true;
}

PageRef PageStore::put(const uint8_t* page) {
  const PageRef ref = page_ref_of(page);
  if (!ref.is_zero()) put(ref, page);
  return ref;
}

void PageStore::append_staged() {
  const size_t n = staged_hashes_.size();
  if (n == 0) return;
  std::vector<std::vector<uint8_t>> records(n);
  const unsigned workers = worker_count(n, compress_threads_);
  for (unsigned w = 0; w < workers; ++w) codec(w);  // created before the threads start
  parallel_for(n, workers, [&](unsigned w, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i)
      records[i] = codecs_[w]->encode(staged_hashes_[i], &staged_[i * kPageSize]);
  });
  // Concatenated in put() order, so the pack's bytes do not depend on the
  // number of threads.
  std::vector<uint8_t>& batch = batch_;
  batch.clear();
  std::vector<Location> where(n);
  for (size_t i = 0; i < n; ++i) {
    where[i] = Location{end_ + batch.size(), records[i].size()};
    batch.insert(batch.end(), records[i].begin(), records[i].end());
  }
  try {
    append(end_, batch);
  } catch (...) {
    for (const Hash128& h : staged_hashes_) index_.erase(h);
    staged_.clear();
    staged_hashes_.clear();
    throw;
  }
  for (size_t i = 0; i < n; ++i) index_[staged_hashes_[i]] = where[i];
  end_ += batch.size();
  unsynced_bytes_ += batch.size();
  staged_.clear();
  staged_hashes_.clear();
}

uint64_t PageStore::flush() {
  append_staged();
  if (unsynced_bytes_ == 0) return 0;
  sync();
  const uint64_t n = unsynced_bytes_;
  unsynced_bytes_ = 0;
  return n;
}

void PageStore::get(const PageRef& ref, uint8_t* out) {
  prepare_reads();
  read_page(codec(0), ref, out);
}

void PageStore::get_many(std::span<const PageRef> refs, std::span<uint8_t* const> outs) {
  prepare_reads();
  const unsigned workers = worker_count(refs.size());
  for (unsigned w = 0; w < workers; ++w) codec(w);
  parallel_for(refs.size(), workers, [&](unsigned w, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) read_page(*codecs_[w], refs[i], outs[i]);
  });
}

// Safe on several threads at once: only reads the index and the records.
void PageStore::read_page(Codec& c, const PageRef& ref, uint8_t* out) {
  if (ref.is_zero()) {
    std::memset(out, 0, kPageSize);
    return;
  }
  const auto it = index_.find(ref.hash);
  if (it == index_.end())
    throw FormatError(name_, end_, fmt::format("page {} is not stored", ref.hash.to_string()));
  const Location& loc = it->second;
  if (loc.offset == kStaged) {
    std::memcpy(out, &staged_[loc.length * kPageSize], kPageSize);
    return;
  }
  decode_page(c, stored_record(loc), loc.offset, ref, out);
}

void PageStore::decode_page(Codec& c, std::span<const uint8_t> record, uint64_t offset,
                            const PageRef& ref, uint8_t* out) const {
  DecodedRecord d = decode_record(record, 0, kPageMagic);
  if (d.status != RecordStatus::kOk) throw FormatError(name_, offset, d.problem);
  check_version(name_, offset, d.version, sn::PAGE_FORMAT_VERSION);
  auto bad = [&](const std::string& why) {
    return FormatError(name_, offset, fmt::format("page {}: {}", ref.hash.to_string(), why));
  };
  if (d.payload.size() % sizeof(capnp::word) != 0) throw bad("payload is not whole words");
  try {
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(reinterpret_cast<const capnp::word*>(d.payload.data()),
                     d.payload.size() / sizeof(capnp::word)));
    const auto r = reader.getRoot<sn::PageRecord>();
    const auto data = r.getData();
    if (r.getCompressed()) {
      const size_t n = ZSTD_decompressDCtx(c.dctx, out, kPageSize, data.begin(), data.size());
      if (ZSTD_isError(n) || n != kPageSize) throw bad("zstd data does not decompress to a page");
    } else {
      if (data.size() != kPageSize) throw bad(fmt::format("raw page of {} bytes", data.size()));
      std::memcpy(out, data.begin(), kPageSize);
    }
  } catch (const kj::Exception& e) {
    throw bad(fmt::format("malformed page record: {}", e.getDescription().cStr()));
  }
  if (xxh3_128({out, kPageSize}) != ref.hash) throw bad("content does not match its hash");
}

// ---- PackFile ----

PackFile::PackFile(const std::string& path, bool create) : PageStore(path), path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (fd_ < 0 && !create && (errno == EACCES || errno == EROFS)) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // replay from read-only media
    writable_ = false;
  }
  if (fd_ < 0) throw FormatError(path, 0, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw FormatError(path, 0, std::strerror(err));
  }
  file_size_ = static_cast<uint64_t>(st.st_size);
  try {
    walk();
  } catch (...) {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), mapped_);
    ::close(fd_);
    throw;
  }
}

PackFile::~PackFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), mapped_);
  if (fd_ >= 0) ::close(fd_);
}

void PackFile::map(uint64_t length) {
  if (length <= mapped_) return;
  if (map_) ::munmap(const_cast<uint8_t*>(map_), mapped_);
  map_ = nullptr;
  mapped_ = 0;
  void* p = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED)
    throw FormatError(path_, 0, fmt::format("cannot map: {}", std::strerror(errno)));
  map_ = static_cast<const uint8_t*>(p);
  mapped_ = length;
}

void PackFile::walk() {
  if (file_size_ == 0) return;
  map(file_size_);
  const std::span<const uint8_t> data(map_, file_size_);
  uint64_t offset = 0;
  while (offset < file_size_) {
    Hash128 hash;
    uint64_t next = 0;
    std::string problem = parse_record(data, offset, hash, next);
    if (!problem.empty()) {
      tail_problem_ = std::move(problem);
      break;
    }
    index_.emplace(hash, Location{offset, next - offset});
    offset = next;
  }
  end_ = offset;
}

std::span<const uint8_t> PackFile::stored_record(const Location& loc) {
  if (loc.offset + loc.length > mapped_) map(end_);
  return {map_ + loc.offset, loc.length};
}

void PackFile::append(uint64_t end, std::span<const uint8_t> records) {
  if (!writable_) throw FormatError(path_, end, "opened read-only: cannot add pages");
  // A tail left by a kill mid-append is cut off before anything follows it.
  if (file_size_ > end && ::ftruncate(fd_, static_cast<off_t>(end)) != 0)
    throw FormatError(path_, end,
                      fmt::format("cannot cut off the damaged tail: {}", std::strerror(errno)));
  file_size_ = end;
  if (const int err = pwrite_all(fd_, records.data(), records.size(), end))
    throw FormatError(path_, end, std::strerror(err));
  file_size_ = end + records.size();
  tail_problem_.clear();
}

void PackFile::sync() {
  if (::fdatasync(fd_) != 0) throw FormatError(path_, end_, std::strerror(errno));
}

// ---- MemoryPages ----

std::span<const uint8_t> MemoryPages::stored_record(const Location& loc) {
  auto it = blocks_.upper_bound(loc.offset);
  --it;  // appended offsets always fall inside a block
  return std::span<const uint8_t>(it->second).subspan(loc.offset - it->first, loc.length);
}

void MemoryPages::append(uint64_t end, std::span<const uint8_t> records) {
  blocks_.emplace(end, std::vector<uint8_t>(records.begin(), records.end()));
}

}  // namespace hs
