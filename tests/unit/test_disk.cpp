// Disk images and copy-on-write overlays (devices/disk), and --drive parsing.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "devices/disk.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace hs;
using hs::test::TempDir;
using hs::test::read_file;
using hs::test::write_file;
namespace fs = std::filesystem;

namespace {


std::vector<uint8_t> pattern(size_t n, uint8_t seed = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + seed + (i >> 9));
  return v;
}

uint64_t fnv(const std::vector<uint8_t>& v) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : v) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

std::vector<uint8_t> disk_read(Disk& d, uint64_t off, size_t n) {
  std::vector<uint8_t> v(n);
  REQUIRE(d.read(off, v));
  return v;
}

std::string error_of(const DriveSpec& spec) {
  try {
    Disk d(spec);
  } catch (const DiskError& e) {
    return e.what();
  }
  return "";
}

std::string parse_error(const char* spec) {
  try {
    parse_drive_spec(spec);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ---------------------------------------------------------------- --drive

TEST_CASE("parse_drive_spec accepts QEMU-style drive options", "[disk]") {
  DriveSpec d = parse_drive_spec("file=disk.img");
  CHECK(d.file == "disk.img");
  CHECK_FALSE(d.readonly);
  CHECK(d.overlay.empty());

  d = parse_drive_spec("file=/x/debian.raw,format=raw,readonly=on");
  CHECK(d.file == "/x/debian.raw");
  CHECK(d.readonly);

  d = parse_drive_spec("overlay=run.ovl,readonly=off,file=a.img");
  CHECK(d.file == "a.img");
  CHECK(d.overlay == "run.ovl");
  CHECK_FALSE(d.readonly);

  CHECK(parse_drive_spec("file=a.img,readonly").readonly);  // bare flag = on
  CHECK(parse_drive_spec("file=we,,ird.img").file == "we,ird.img");  // ",," escapes a comma
}

TEST_CASE("parse_drive_spec rejects bad options with a one-line message", "[disk]") {
  CHECK_THAT(parse_error("file=a.img,if=virtio"), Catch::Contains("unknown option 'if'"));
  CHECK_THAT(parse_error("file=a.img,format=qcow2"), Catch::Contains("format 'qcow2'"));
  CHECK_THAT(parse_error("format=raw"), Catch::Contains("missing file="));
  CHECK_THAT(parse_error(""), Catch::Contains("empty option"));
  CHECK_THAT(parse_error("file="), Catch::Contains("file= needs"));
  CHECK_THAT(parse_error("file=a,file=b"), Catch::Contains("'file' given twice"));
  CHECK_THAT(parse_error("file=a,readonly=maybe"), Catch::Contains("readonly='maybe'"));
  CHECK_THAT(parse_error("file=a,overlay="), Catch::Contains("overlay= needs"));
  CHECK_THAT(parse_error("file=a,"), Catch::Contains("empty option"));
  for (const char* bad : {"file=a.img,if=virtio", "format=raw", "file=a,readonly=maybe"})
    CHECK(parse_error(bad).find('\n') == std::string::npos);
}

// ---------------------------------------------------------------- images

TEST_CASE("Disk reports unusable images by name", "[disk]") {
  TempDir dir;
  const std::string missing = dir / "nope.img";
  CHECK_THAT(error_of(DriveSpec{missing, false, ""}),
             Catch::Contains(missing) && Catch::Contains("cannot open disk image"));
  CHECK_THAT(error_of(DriveSpec{dir.path.string(), false, ""}), Catch::Contains("is a directory"));
  const std::string empty = dir / "empty.img";
  write_file(empty, {});
  CHECK_THAT(error_of(DriveSpec{empty, false, ""}), Catch::Contains(empty) && Catch::Contains("empty"));
  if (geteuid() != 0) {  // root reads anything
    const std::string locked = dir / "locked.img";
    write_file(locked, pattern(512));
    fs::permissions(locked, fs::perms::none);
    CHECK_THAT(error_of(DriveSpec{locked, false, ""}), Catch::Contains(locked));
  }
}

TEST_CASE("Disk with an anonymous overlay never modifies the base", "[disk]") {
  TempDir dir;
  const std::string img = dir / "base.img";
  const auto base = pattern(300 * 1024 + 700);  // not a multiple of the sector or cluster size
  write_file(img, base);
  const uint64_t hash_before = fnv(read_file(img));

  {
    Disk d(DriveSpec{img, false, ""});
    CHECK(d.size() == 300 * 1024 + 1024);  // rounded up to a whole sector
    CHECK(d.sectors() == 602);
    CHECK(disk_read(d, 0, base.size()) == base);
    // The partial last sector reads zeros past the file's end.
    CHECK(disk_read(d, base.size(), 324) == std::vector<uint8_t>(324, 0));

    // A write straddling a cluster boundary: copy-on-write keeps the bytes around it.
    const auto data = pattern(8192, 99);
    const uint64_t at = 64 * 1024 - 4096;
    REQUIRE(d.write(at, data));
    CHECK(d.allocated_clusters() == 2);
    CHECK(disk_read(d, at, data.size()) == data);
    CHECK(disk_read(d, 0, at) == std::vector<uint8_t>(base.begin(), base.begin() + at));
    const uint64_t after = at + data.size();
    CHECK(disk_read(d, after, 128 * 1024 - after) ==
          std::vector<uint8_t>(base.begin() + after, base.begin() + 128 * 1024));

    // Overwriting an allocated cluster, and writing the partial last cluster.
    const auto again = pattern(100, 5);
    REQUIRE(d.write(at + 10, again));
    CHECK(disk_read(d, at + 10, 100) == again);
    const auto tail = pattern(1024, 42);
    REQUIRE(d.write(d.size() - 1024, tail));
    CHECK(disk_read(d, d.size() - 1024, 1024) == tail);

    // Out of range.
    std::vector<uint8_t> buf(512);
    CHECK_FALSE(d.read(d.size() - 511, buf));
    CHECK_FALSE(d.write(d.size(), buf));
    CHECK_FALSE(d.read(UINT64_MAX - 10, buf));
    CHECK(d.flush());
  }
  CHECK(fnv(read_file(img)) == hash_before);
}

TEST_CASE("Disk anonymous overlay lives in TMPDIR and leaves nothing behind", "[disk]") {
  TempDir dir, tmp;
  const std::string img = dir / "base.img";
  write_file(img, pattern(4096));
  const char* old = std::getenv("TMPDIR");
  const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  setenv("TMPDIR", tmp.path.c_str(), 1);
  {
    Disk d(DriveSpec{img, false, ""});
    REQUIRE(d.write(0, pattern(4096, 1)));
    CHECK(fs::is_empty(tmp.path));  // unlinked from the start
  }
  if (saved)
    setenv("TMPDIR", saved->c_str(), 1);
  else
    unsetenv("TMPDIR");
}

TEST_CASE("Disk overlay=FILE persists across reopen", "[disk]") {
  TempDir dir;
  const std::string img = dir / "base.img";
  const std::string ovl = dir / "run.ovl";
  const auto base = pattern(1 << 20);
  write_file(img, base);
  const uint64_t hash_before = fnv(read_file(img));
  const auto data = pattern(3000, 77);

  for (uint32_t cluster : {4096u, 65536u}) {
    INFO("cluster size " << cluster);
    fs::remove(ovl);
    {
      Disk d(DriveSpec{img, false, ovl}, cluster);
      CHECK(d.cluster_size() == cluster);
      REQUIRE(d.write(122000, data));
      REQUIRE(d.flush());
    }
    const auto file = read_file(ovl);
    REQUIRE(file.size() >= 8);
    CHECK(std::string(file.begin(), file.begin() + 8) == "HSOVL001");
    {
      // The cluster size comes from the file, not the argument.
      Disk d(DriveSpec{img, false, ovl}, cluster == 4096 ? 65536 : 4096);
      CHECK(d.cluster_size() == cluster);
      CHECK(disk_read(d, 122000, data.size()) == data);
      CHECK(disk_read(d, 0, 122000) == std::vector<uint8_t>(base.begin(), base.begin() + 122000));
      CHECK(d.allocated_clusters() == (cluster == 4096 ? 2u : 1u));
    }
  }
  CHECK(fnv(read_file(img)) == hash_before);

  SECTION("a second writer is refused while the overlay is open") {
    Disk first(DriveSpec{img, false, ovl});
    CHECK_THAT(error_of(DriveSpec{img, false, ovl}), Catch::Contains("in use"));
  }
  SECTION("readonly=on reads through an existing overlay and rejects writes") {
    Disk d(DriveSpec{img, true, ovl});
    CHECK(d.readonly());
    CHECK(disk_read(d, 122000, data.size()) == data);
    CHECK_FALSE(d.write(0, data));
  }
}

TEST_CASE("Disk rejects overlays that do not belong to the base", "[disk]") {
  TempDir dir;
  const std::string img = dir / "base.img", other = dir / "other.img", ovl = dir / "x.ovl";
  write_file(img, pattern(64 * 1024));
  write_file(other, pattern(128 * 1024));
  { Disk d(DriveSpec{img, false, ovl}); }

  CHECK_THAT(error_of(DriveSpec{other, false, ovl}),
             Catch::Contains(ovl) && Catch::Contains("65536 bytes") && Catch::Contains("131072 bytes"));

  SECTION("not an overlay") {
    write_file(ovl, pattern(100));
    CHECK_THAT(error_of(DriveSpec{img, false, ovl}), Catch::Contains("not a Hindsight disk overlay"));
  }
  SECTION("future version") {
    auto f = read_file(ovl);
    f[8] = 2;
    write_file(ovl, f);
    CHECK_THAT(error_of(DriveSpec{img, false, ovl}), Catch::Contains("version 2"));
  }
  SECTION("damaged header") {
    auto f = read_file(ovl);
    f[0x20] ^= 1;  // bitmap size
    write_file(ovl, f);
    CHECK_THAT(error_of(DriveSpec{img, false, ovl}), Catch::Contains("checksum"));
  }
  SECTION("truncated data") {
    {
      Disk d(DriveSpec{img, false, ovl});
      REQUIRE(d.write(0, pattern(512)));
    }
    fs::resize_file(ovl, fs::file_size(ovl) - 1);
    CHECK_THAT(error_of(DriveSpec{img, false, ovl}), Catch::Contains("truncated"));
  }
  SECTION("readonly needs an existing overlay") {
    CHECK_THAT(error_of(DriveSpec{img, true, dir / "absent.ovl"}), Catch::Contains("absent.ovl"));
  }
}

TEST_CASE("Disk readonly=on without overlay rejects writes and creates nothing", "[disk]") {
  TempDir dir;
  const std::string img = dir / "base.img";
  const auto base = pattern(8192);
  write_file(img, base);
  Disk d(DriveSpec{img, true, ""});
  CHECK(d.readonly());
  CHECK_FALSE(d.write(0, pattern(512, 3)));
  CHECK(disk_read(d, 0, 8192) == base);
  CHECK(d.flush());
  CHECK(read_file(img) == base);
}
