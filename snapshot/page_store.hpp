// Content-addressed page storage for snapshots: 4 KiB pages keyed by the
// XXH3-128 of their contents, each stored once, zstd-compressed one by one.
//
// Two stores share one record format (an HSPG record of schemas/framing.hpp
// holding a snapshot.capnp PageRecord) and one code path:
//   PackFile     REC/pages.pack, append-only. Opening walks the records and
//                rebuilds the hash -> offset index; it stops at the first
//                truncated or corrupt record (a kill mid-append loses only
//                the pages after it; snapshots that need them are reported
//                unusable by the snapshot store). The first append after such
//                a tail cuts it off.
//   MemoryPages  the same records kept in memory (debugger checkpoints).
//
// The all-zero page is never stored: put() returns the zero PageRef for it
// (hash 0/0, a value XXH3-128 of a real page is assumed never to take), and
// get() of the zero ref fills zeros.
//
// Not thread-safe (flush() and get_many() use worker threads internally; a
// background-writing SnapshotStore hands its store to one writer thread and
// touches it only while that thread is idle).
// Costs: a new page costs one zstd compression (level kZstdLevel) at put or
// flush time; get = one checksum + one decompression + one XXH3-128 check
// (figures in page_store.cpp and snapshot/snapshot.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/types.hpp"
#include "snapshot/hash128.hpp"

namespace hs {

// XXH3-128 (seed 0) of `data`.
Hash128 xxh3_128(std::span<const uint8_t> data);

// A stored page: its content hash; the zero page has hash 0/0.
struct PageRef {
  Hash128 hash;
  constexpr bool is_zero() const { return hash == Hash128{}; }
  constexpr bool operator==(const PageRef&) const = default;
};

// The PageRef of the kPageSize bytes at `page`: their XXH3-128, or the zero
// ref when they are all zero. Cost: one XXH3-128 of 4 KiB (~0.2 us).
PageRef page_ref_of(const uint8_t* page);

class PageStore {
 public:
  // zstd level for pages: a fast negative level (measurements in
  // page_store.cpp).
  static constexpr int kZstdLevel = -1;
  // put() keeps up to this many raw pages before compressing and appending
  // them (bounds the memory a large capture needs).
  static constexpr size_t kStagedPages = 4096;

  virtual ~PageStore();

  // True if `ref` can be read back (always for the zero ref).
  bool contains(const PageRef& ref) const { return ref.is_zero() || index_.count(ref.hash) != 0; }
  // Stores the kPageSize bytes at `page`, whose ref is `ref` (= page_ref_of),
  // unless already stored. True if it was new. Cost: a 4 KiB copy; every
  // kStagedPages new pages, a compress-and-append of the batch (as flush()
  // does, without the sync). Throws FormatError like flush().
  bool put(const PageRef& ref, const uint8_t* page);
  // page_ref_of + put.
  PageRef put(const uint8_t* page);
  // Reads a page into `out` (kPageSize bytes). Throws FormatError naming the
  // store's file and the record offset if the page is missing or its record
  // is corrupt (bad checksum, undecodable, content not matching its hash).
  void get(const PageRef& ref, uint8_t* out);
  // get() of many pages, decompressed on all host cores (up to 8). Throws
  // the first FormatError met.
  void get_many(std::span<const PageRef> refs, std::span<uint8_t* const> outs);
  // Compresses every staged page (on all host cores, up to 8), appends the
  // records and makes everything put() since the last flush durable (file:
  // fdatasync). Returns the bytes added since the last flush. Throws
  // FormatError on a host failure, after forgetting the pages that were not
  // appended (they can be put again).
  uint64_t flush();

  size_t pages() const { return index_.size(); }
  // Calls f(hash) for every page held (appended or staged), in no order.
  template <typename F>
  void for_each_hash(F&& f) const {
    for (const auto& [hash, loc] : index_) f(hash);
  }
  // Threads that flush() and put() compress on: 0 (the default) = all host
  // cores up to 8; 1 = the calling thread only (a background writer, which
  // must leave the other cores to the guest).
  void set_compress_threads(unsigned n) { compress_threads_ = n; }
  // Name used in errors: the pack file's path, or "(memory)".
  const std::string& name() const { return name_; }

 protected:
  struct Location {
    uint64_t offset;  // of the record; kStaged: not compressed yet
    uint64_t length;  // header + payload; for a staged page its staging slot
  };
  static constexpr uint64_t kStaged = UINT64_MAX;
  explicit PageStore(std::string name);

  // The bytes of the appended record at `loc`. Must be safe to call from
  // several threads after prepare_reads().
  virtual std::span<const uint8_t> stored_record(const Location& loc) = 0;
  // Makes every appended record readable through stored_record().
  virtual void prepare_reads() {}
  // Appends `records` (whole records) at offset `end`; throws FormatError.
  virtual void append(uint64_t end, std::span<const uint8_t> records) = 0;
  // Makes the appended records durable; throws FormatError.
  virtual void sync() {}

  // Decodes the PageRecord at `offset` of `data`: sets its hash and the
  // record's end and returns "", or returns why it is truncated/corrupt.
  // Throws FormatError for a record of another format version.
  std::string parse_record(std::span<const uint8_t> data, uint64_t offset, Hash128& hash,
                           uint64_t& next) const;

  std::unordered_map<Hash128, Location, Hash128Hasher> index_;
  uint64_t end_ = 0;  // offset after the last appended record

 private:
  struct Codec;
  Codec& codec(unsigned worker);
  void read_page(Codec& codec, const PageRef& ref, uint8_t* out);
  void decode_page(Codec& codec, std::span<const uint8_t> record, uint64_t offset,
                   const PageRef& ref, uint8_t* out) const;
  // Compresses the staged pages and appends them (no sync).
  void append_staged();

  std::string name_;
  std::vector<std::unique_ptr<Codec>> codecs_;  // one per worker thread
  std::vector<uint8_t> staged_;                 // raw pages put but not appended
  std::vector<Hash128> staged_hashes_;
  std::vector<uint8_t> batch_;  // append_staged()'s output, kept: no page faults per batch
  uint64_t unsynced_bytes_ = 0;  // appended since the last flush
  unsigned compress_threads_ = 0;
};

// REC/pages.pack.
class PackFile : public PageStore {
 public:
  // Opens (creating it if missing when `create`) and indexes the pack; an
  // existing pack that cannot be opened for writing is opened read-only
  // (then flush() of new pages throws). Throws FormatError naming the file
  // if it cannot be opened or read, or holds a record of another version.
  PackFile(const std::string& path, bool create);
  ~PackFile() override;

  // Why the walk stopped before the end of the file ("" if it did not), and
  // where: bytes from there on are ignored and cut off by the next flush.
  const std::string& tail_problem() const { return tail_problem_; }
  uint64_t valid_end() const { return end_; }

 protected:
  std::span<const uint8_t> stored_record(const Location& loc) override;
  void prepare_reads() override { map(end_); }
  void append(uint64_t end, std::span<const uint8_t> records) override;
  void sync() override;

 private:
  void map(uint64_t length);
  void walk();

  std::string path_;
  int fd_ = -1;
  bool writable_ = true;
  uint64_t file_size_ = 0;  // as found by open (tail included)
  const uint8_t* map_ = nullptr;
  uint64_t mapped_ = 0;
  std::string tail_problem_;
};

// Pages kept in memory, in the same record format.
class MemoryPages : public PageStore {
 public:
  MemoryPages() : PageStore("(memory)") {}
  // Bytes held (compressed records).
  uint64_t bytes() const { return end_; }

 protected:
  std::span<const uint8_t> stored_record(const Location& loc) override;
  void append(uint64_t end, std::span<const uint8_t> records) override;

 private:
  // One block per append, keyed by its start offset (no reallocation copies).
  std::map<uint64_t, std::vector<uint8_t>> blocks_;
};

}  // namespace hs
