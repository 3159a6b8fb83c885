// The persistent code cache's files (jit/disk_cache.hpp): written and read
// back, damaged files refused and removed, the directory trimmed to its
// bound, other builds' directories dropped beyond the most recent ones; and
// the regions the files keep (Region::save/load).
#include <catch2/catch.hpp>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/decoder.hpp"
#include "core/types.hpp"
#include "jit/disk_cache.hpp"
#include "jit/region.hpp"

namespace fs = std::filesystem;
using hs::jit::CodeKey;
using hs::jit::DiskCache;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("hs_disk_cache_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

DiskCache::Object object(uint64_t seed, size_t members, size_t bytes) {
  DiskCache::Object o;
  for (size_t k = 0; k < members; ++k)
    o.members.push_back({CodeKey{seed + k, 7}, CodeKey{seed + k, 9}, "hs_t1_" + std::to_string(seed + k),
                         std::vector<char>(40, static_cast<char>(k))});
  o.id = DiskCache::object_id(o.members);
  for (size_t k = 0; k < bytes; ++k) o.bytes.push_back(static_cast<char>(k * 31 + seed));
  return o;
}

// The one file in `dir` (recursively) named by key k.
fs::path file_of(const fs::path& dir, const CodeKey& k) {
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename() == k.to_string() + ".o") return e.path();
  return {};
}

}  // namespace

TEST_CASE("a stored object is found by each member's key, whole", "[disk_cache]") {
  TempDir t;
  DiskCache c(t.path, "v1", 1 << 20);
  const auto o = object(100, 3, 5000);
  CHECK_FALSE(c.has(o.members[0].key));  // not opened yet
  c.open();
  CHECK_FALSE(c.has(o.members[0].key));
  c.store(o);
  for (const auto& m : o.members) {
    REQUIRE(c.has(m.key));
    auto back = c.load(m.key);
    REQUIRE(back);
    CHECK(back->id == o.id);
    CHECK(back->bytes == o.bytes);
    REQUIRE(back->members.size() == 3);
    for (size_t k = 0; k < 3; ++k) {
      CHECK(back->members[k].key == o.members[k].key);
      CHECK(back->members[k].code == o.members[k].code);
      CHECK(back->members[k].symbol == o.members[k].symbol);
      CHECK(back->members[k].region == o.members[k].region);
    }
  }
  // Another process (a new DiskCache on the same directory) finds it too.
  DiskCache again(t.path, "v1", 1 << 20);
  again.open();
  CHECK(again.has(o.members[1].key));
  // Another version does not.
  DiskCache other(t.path, "v2", 1 << 20);
  other.open();
  CHECK_FALSE(other.has(o.members[1].key));
}

TEST_CASE("a damaged or truncated cache file is refused and removed", "[disk_cache]") {
  TempDir t;
  DiskCache c(t.path, "v1", 1 << 20);
  c.open();
  const auto a = object(1, 1, 3000), b = object(2, 1, 3000), z = object(3, 1, 3000);
  c.store(a);
  c.store(b);
  c.store(z);
  const fs::path fa = file_of(t.path, a.members[0].key), fb = file_of(t.path, b.members[0].key),
                 fz = file_of(t.path, z.members[0].key);
  REQUIRE(!fa.empty());
  {  // one byte flipped in the object
    std::fstream f(fa, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2000);
    f.put('\x5a');
  }
  fs::resize_file(fb, fs::file_size(fb) / 2);  // cut short
  fs::resize_file(fz, 0);                      // empty
  for (const auto* o : {&a, &b, &z}) {
    CHECK_FALSE(c.load(o->members[0].key));
    CHECK_FALSE(c.has(o->members[0].key));
  }
  CHECK_FALSE(fs::exists(fa));
  CHECK_FALSE(fs::exists(fb));
  CHECK_FALSE(fs::exists(fz));
  // Stored again, it loads again.
  c.store(a);
  CHECK(c.load(a.members[0].key));
}

TEST_CASE("the cache is trimmed to its bound, least recently used first", "[disk_cache]") {
  TempDir t;
  {
    DiskCache c(t.path, "v1", 1 << 30);
    c.open();
    for (uint64_t k = 0; k < 8; ++k) {
      c.store(object(10 * k, 1, 10000));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // distinct times
    }
    // The oldest file used again: it is kept.
    REQUIRE(c.load(object(0, 1, 1).members[0].key));
  }
  DiskCache small(t.path, "v1", 50000);  // room for 5 files, trimmed to 3/4 of that
  small.open();
  size_t kept = 0;
  for (uint64_t k = 0; k < 8; ++k) kept += small.has(object(10 * k, 1, 1).members[0].key);
  CHECK(kept == 3);
  CHECK(small.has(object(0, 1, 1).members[0].key));
  CHECK(small.has(object(70, 1, 1).members[0].key));
  CHECK_FALSE(small.has(object(10, 1, 1).members[0].key));
}

TEST_CASE("other builds' caches beyond the two most recent are dropped", "[disk_cache]") {
  TempDir t;
  for (int v = 0; v < 5; ++v) {
    DiskCache c(t.path, "version " + std::to_string(v), 1 << 20);
    c.open();
    c.store(object(v, 1, 100));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  size_t dirs = 0;
  for (const auto& e : fs::directory_iterator(t.path)) dirs += e.is_directory();
  CHECK(dirs == 3);  // the current one and two others
}

TEST_CASE("an unusable cache directory means no cache, not an error", "[disk_cache]") {
  TempDir t;
  const fs::path file = t.path / "not-a-directory";
  std::ofstream(file) << "x";
  DiskCache c(file / "jit", "v1", 1 << 20);
  c.open();  // one warning line
  CHECK_FALSE(c.enabled());
  c.store(object(1, 1, 10));
  CHECK_FALSE(c.has(object(1, 1, 10).members[0].key));
  DiskCache none("", "v1", 1 << 20);
  none.open();
  CHECK_FALSE(none.enabled());
}

// A unit's region as the cache keeps it (Region::save/load): read back
// equal, and any shorter or damaged record refused or read as some region,
// never a crash or an over-read.
TEST_CASE("a region saved for the cache reads back, and damaged records are refused", "[disk_cache]") {
  hs::Decoder decoder;
  hs::jit::Region r;
  r.entry = 0x80001000;
  // addi a0, a0, 1; bne a0, a1, -4; then jal x0, +8
  const uint32_t code[][2] = {{0x00150513, 0x80001000}, {0xfeb51ee3, 0x80001004}, {0x0080006f, 0x80001008}};
  r.blocks.resize(2);
  r.blocks[0].vpc = 0x80001000;
  r.blocks[1].vpc = 0x80001008;
  for (auto [raw, pc] : code) {
    uint8_t flags = 0;
    r.blocks[pc < 0x80001008 ? 0 : 1].insns.push_back(decoder.decode(raw, pc, flags));
  }
  r.tier1_blocks = 1;
  r.ranges = {{0, 12}};
  r.bytes.assign(12, 0x13);
  r.targets = {0x80001000, 0x80001008, 0x80001010};
  std::vector<char> out;
  r.save(out);

  size_t at = 0;
  auto back = hs::jit::Region::load(out, at, decoder.specs());
  REQUIRE(back);
  CHECK(at == out.size());
  CHECK(back->key() == r.key());
  CHECK(back->targets == r.targets);
  CHECK(back->bytes == r.bytes);
  CHECK(back->blocks[0].insns[0].fn == decoder.specs()[r.blocks[0].insns[0].spec].fn.exec);

  for (size_t n = 0; n < out.size(); ++n) {
    size_t cut = 0;
    CHECK_FALSE(hs::jit::Region::load(std::span(out).first(n), cut, decoder.specs()));
  }
  // Every byte flipped in turn: refused, or a region whose fields stay in
  // their bounds (the cache then also compares its code key and bytes).
  for (size_t n = 0; n < out.size(); ++n) {
    std::vector<char> bad = out;
    bad[n] = static_cast<char>(bad[n] ^ 0xa5);
    size_t p = 0;
    if (auto x = hs::jit::Region::load(bad, p, decoder.specs())) {
      CHECK(p <= bad.size());
      CHECK(x->blocks.size() <= hs::jit::kMaxRegionBlocks);
      CHECK(x->instructions() <= hs::jit::kMaxRegionInsns);
      for (auto [offset, len] : x->ranges) CHECK(offset + len <= hs::kPageSize);
    }
  }
}
