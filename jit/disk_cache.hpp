// The persistent code cache: object files of compiled units on disk, found
// again by the content of the guest code they were compiled from. A replay
// runs exactly the code its recording compiled, a second boot the code of
// the first: with the cache warm their units load in microseconds instead
// of compiling in milliseconds. No LLVM here (engine.cpp links the objects).
//
// Layout: ROOT/<version>/<key>.o, where <version> hashes everything the
// code depends on besides the guest code (this executable's bytes, LLVM's
// version, the host CPU and its features) and <key> a unit's entry key
// (Engine: entry pc, entry block, tier, promotion threshold): a later run
// uses the unit wherever a region entered there would start with the same
// block and the region's code bytes are on the page. One object file may
// hold several units (a tier-1 batch): each member's key names a hard link
// to it. A file starts with a header (magic, checksum, members); files are
// written to a temporary name and renamed, so a reader never sees a partial
// one, and one that fails its checksum is deleted and compiled again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "snapshot/hash128.hpp"

namespace hs::jit {

// The keys of code and of cache files: 128-bit hashes (XXH3).
using CodeKey = Hash128;

class DiskCache {
 public:
  // One unit in an object file: the key it is found by (the file's name),
  // the exact code it is (Engine's code key), its function's symbol and its
  // region (Region::save).
  struct Member {
    CodeKey key;
    CodeKey code;
    std::string symbol;
    std::vector<char> region;
  };
  struct Object {
    CodeKey id;  // of the file (ObjectId of its members)
    std::vector<Member> members;
    std::vector<char> bytes;  // the relocatable object
  };

  // `root` empty: no cache (every call does nothing). `version` describes
  // the compiler and host (see above); the executable's bytes are hashed in.
  DiskCache(std::filesystem::path root, const std::string& version, uint64_t max_bytes);

  bool enabled() const { return !dir_.empty(); }
  // Lists the cache (keys present) and trims it to its bound: other
  // versions but the most recent ones, then the oldest files. Call once,
  // off the guest thread; until then has() is false.
  void open();
  bool has(const CodeKey& k);
  // The object holding unit `k`; nullopt if absent or damaged (a damaged
  // file is deleted, with one warning line).
  std::optional<Object> load(const CodeKey& k);
  // Writes the object and links every member's key to it (errors are
  // ignored: the cache is only ever an optimisation).
  void store(const Object& o);

  // The id of an object holding `members` (in order).
  static CodeKey object_id(const std::vector<Member>& members);

 private:
  std::filesystem::path path(const CodeKey& k) const { return dir_ / (k.to_string() + ".o"); }
  std::filesystem::path root_, dir_;
  uint64_t max_bytes_;
  std::mutex mu_;
  std::unordered_set<CodeKey, Hash128Hasher> present_;
  bool opened_ = false;
};

}  // namespace hs::jit
