// The content-addressed page store (snapshot/page_store): pages.pack and the
// in-memory variant.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "schemas/framing.hpp"
#include "snapshot/page_store.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace hs;
using hs::test::TempDir;
namespace fs = std::filesystem;

namespace {


// A compressible page that differs per seed.
std::vector<uint8_t> page(uint32_t seed) {
  std::vector<uint8_t> p(kPageSize);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>((i / 16) * seed + seed);
  return p;
}

// An incompressible page (xorshift bytes): stored raw.
std::vector<uint8_t> noise(uint64_t seed) {
  std::vector<uint8_t> p(kPageSize);
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& b : p) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  return p;
}

std::vector<uint8_t> get(PageStore& s, const PageRef& r) {
  std::vector<uint8_t> out(kPageSize, 0xee);
  s.get(r, out.data());
  return out;
}

void flip_byte(const std::string& path, uint64_t offset) {
  const int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  uint8_t b;
  REQUIRE(::pread(fd, &b, 1, static_cast<off_t>(offset)) == 1);
  b ^= 0x40;
  REQUIRE(::pwrite(fd, &b, 1, static_cast<off_t>(offset)) == 1);
  ::close(fd);
}

}  // namespace

TEST_CASE("Hash128 prints canonical hex, high half first") {
  CHECK(Hash128{0x1122334455667788ull, 0x99aabbccddeeff00ull}.to_string() ==
        "99aabbccddeeff001122334455667788");
  CHECK(Hash128{1, 0}.to_string() == "00000000000000000000000000000001");
}

// Recordings store canonical() (16 bytes) and to_string() (images/ names):
// both must stay what XXH128_canonicalFromHash and xxh128sum give.
TEST_CASE("Hash128 canonical bytes and hex: high half first, big-endian") {
  const Hash128 h{0x8899aabbccddeeffull, 0x0011223344556677ull};
  const std::array<uint8_t, 16> want = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                        0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  CHECK(h.canonical() == want);
  CHECK(Hash128::from_canonical(want) == h);
  CHECK(h.to_string() == "00112233445566778899aabbccddeeff");
  // xxh128sum of "hello".
  const std::array<uint8_t, 5> hello = {'h', 'e', 'l', 'l', 'o'};
  CHECK(xxh3_128(hello).to_string() == "b5e9c1ad071b3e7fc779cfaa5e523818");
  CHECK(xxh3_128(hello).canonical()[0] == 0xb5);
  CHECK(xxh3_128(hello).canonical()[15] == 0x18);
  // Either case in, lowercase out.
  CHECK(Hash128::from_hex("00112233445566778899aabbccddeeff") == h);
  CHECK(Hash128::from_hex("00112233445566778899AABBCCDDEEFF") == h);
  CHECK(Hash128::from_hex("00112233445566778899AABBCCDDEEFF")->to_string() ==
        "00112233445566778899aabbccddeeff");
  // Exactly 32 hex digits, nothing else.
  CHECK_FALSE(Hash128::from_hex("").has_value());
  CHECK_FALSE(Hash128::from_hex("0011").has_value());
  CHECK_FALSE(Hash128::from_hex("00112233445566778899aabbccddeeff0").has_value());
  CHECK_FALSE(Hash128::from_hex("g0112233445566778899aabbccddeeff").has_value());
  CHECK_FALSE(Hash128::from_hex("00112233445566778899aabbccddeef ").has_value());
}

TEST_CASE("the zero page has the zero ref and is never stored") {
  MemoryPages s;
  const std::vector<uint8_t> zeros(kPageSize, 0);
  const PageRef r = s.put(zeros.data());
  CHECK(r.is_zero());
  CHECK(r.hash == Hash128{});
  CHECK(s.pages() == 0);
  CHECK(s.flush() == 0);
  CHECK(get(s, r) == zeros);
  // One non-zero byte makes a real page.
  std::vector<uint8_t> one = zeros;
  one[4095] = 1;
  CHECK_FALSE(page_ref_of(one.data()).is_zero());
}

TEST_CASE("identical pages are stored once") {
  MemoryPages s;
  const auto a = page(3), b = page(5);
  const PageRef ra = s.put(a.data());
  const PageRef ra2 = s.put(a.data());
  const PageRef rb = s.put(b.data());
  CHECK(ra == ra2);
  CHECK_FALSE(ra == rb);
  CHECK(s.pages() == 2);
  CHECK(ra.hash == xxh3_128(a));
  CHECK_FALSE(s.put(ra, a.data()));  // already there
  const uint64_t bytes = s.flush();
  CHECK(bytes > 2 * RecordHeader::kSize);
  CHECK(bytes < kPageSize);  // both pages compress well
  CHECK(s.flush() == 0);
  CHECK(get(s, ra) == a);
  CHECK(get(s, rb) == b);
}

TEST_CASE("pages can be read back before and after flush") {
  MemoryPages s;
  const auto a = page(7), n = noise(1);
  const PageRef ra = s.put(a.data()), rn = s.put(n.data());
  CHECK(get(s, ra) == a);  // still in the append buffer
  CHECK(get(s, rn) == n);
  s.flush();
  CHECK(get(s, ra) == a);
  CHECK(get(s, rn) == n);  // incompressible: stored raw
  CHECK(s.bytes() > kPageSize);
}

TEST_CASE("a missing page is a FormatError naming the store") {
  MemoryPages s;
  const auto a = page(9);
  const PageRef r = page_ref_of(a.data());
  std::vector<uint8_t> out(kPageSize);
  CHECK_FALSE(s.contains(r));
  try {
    s.get(r, out.data());
    FAIL("no exception");
  } catch (const FormatError& e) {
    CHECK(e.file() == "(memory)");
    CHECK(std::string(e.what()).find(r.hash.to_string()) != std::string::npos);
  }
}

TEST_CASE("pages.pack is reindexed on open") {
  TempDir dir;
  const std::string path = dir / "pages.pack";
  std::vector<PageRef> refs;
  {
    PackFile pack(path, true);
    for (uint32_t i = 1; i <= 5; ++i) refs.push_back(pack.put(page(i).data()));
    refs.push_back(pack.put(noise(2).data()));
    pack.flush();
  }
  PackFile pack(path, false);
  CHECK(pack.pages() == 6);
  CHECK(pack.tail_problem().empty());
  CHECK(pack.valid_end() == fs::file_size(path));
  for (uint32_t i = 1; i <= 5; ++i) CHECK(get(pack, refs[i - 1]) == page(i));
  CHECK(get(pack, refs[5]) == noise(2));
  // Appending after reopening extends the same file.
  const PageRef r7 = pack.put(page(77).data());
  pack.flush();
  PackFile again(path, false);
  CHECK(again.pages() == 7);
  CHECK(get(again, r7) == page(77));
}

TEST_CASE("a truncated pack keeps the pages before the cut and heals on the next flush") {
  TempDir dir;
  const std::string path = dir / "pages.pack";
  PageRef r1, r2, r3;
  {
    PackFile pack(path, true);
    r1 = pack.put(page(1).data());
    r2 = pack.put(page(2).data());
    pack.flush();
    r3 = pack.put(noise(3).data());
    pack.flush();
  }
  const uint64_t full = fs::file_size(path);
  fs::resize_file(path, full - 100);  // a kill in the middle of the last append
  uint64_t end_before_third;
  {
    PackFile pack(path, false);
    CHECK(pack.pages() == 2);
    CHECK(pack.contains(r1));
    CHECK(pack.contains(r2));
    CHECK_FALSE(pack.contains(r3));
    CHECK(pack.tail_problem().find("record needs") != std::string::npos);
    end_before_third = pack.valid_end();
    CHECK(end_before_third < full - 100);
    CHECK(get(pack, r2) == page(2));
    // Re-adding the lost page cuts the damaged tail off first.
    CHECK(pack.put(r3, noise(3).data()));
    pack.flush();
    CHECK(pack.tail_problem().empty());
  }
  CHECK(fs::file_size(path) == full);
  PackFile pack(path, false);
  CHECK(pack.pages() == 3);
  CHECK(get(pack, r3) == noise(3));
}

TEST_CASE("a corrupt page record is reported with the pack's name and offset") {
  TempDir dir;
  const std::string path = dir / "pages.pack";
  PageRef r1, r2;
  uint64_t second_offset;
  {
    PackFile pack(path, true);
    r1 = pack.put(page(1).data());
    pack.flush();
    second_offset = fs::file_size(path);
    r2 = pack.put(page(2).data());
    pack.flush();
  }
  PackFile pack(path, false);
  flip_byte(path, second_offset + RecordHeader::kSize + 40);  // inside the payload, after indexing
  std::vector<uint8_t> out(kPageSize);
  try {
    pack.get(r2, out.data());
    FAIL("no exception");
  } catch (const FormatError& e) {
    CHECK(e.file() == path);
    CHECK(e.offset() == second_offset);
    CHECK(std::string(e.what()).find("checksum mismatch") != std::string::npos);
  }
  CHECK(get(pack, r1) == page(1));
  // Reopening stops indexing at the damaged record.
  PackFile reopened(path, false);
  CHECK(reopened.pages() == 1);
  CHECK(reopened.valid_end() == second_offset);
  CHECK(reopened.tail_problem() == "checksum mismatch");
}

TEST_CASE("a pack record of another version is refused") {
  TempDir dir;
  const std::string path = dir / "pages.pack";
  {
    PackFile pack(path, true);
    pack.put(page(1).data());
    pack.flush();
  }
  // Re-frame the same payload as version 99.
  const std::vector<uint8_t> bytes = read_whole_file(path);
  const DecodedRecord d = decode_record(bytes, 0, "HSPG");
  REQUIRE(d.status == RecordStatus::kOk);
  write_file_atomic(path, encode_record("HSPG", 99, d.payload, 0));
  try {
    PackFile pack(path, false);
    FAIL("no exception");
  } catch (const FormatError& e) {
    CHECK(e.file() == path);
    CHECK(std::string(e.what()).find("version 99") != std::string::npos);
  }
}

TEST_CASE("opening a missing pack without create fails naming it") {
  TempDir dir;
  const std::string path = dir / "nope.pack";
  try {
    PackFile pack(path, false);
    FAIL("no exception");
  } catch (const FormatError& e) {
    CHECK(e.file() == path);
  }
}
