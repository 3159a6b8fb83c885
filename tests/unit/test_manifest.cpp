// The recording manifest and its content-addressed images (replay/manifest).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "replay/manifest.hpp"
#include "schemas/framing.hpp"
#include "tests/unit/format_error.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace hs;
using hs::test::TempDir;
using hs::test::format_error;
using hs::test::read_file;
using hs::test::write_file;
namespace fs = std::filesystem;

namespace {


std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + seed + (i >> 11));
  return v;
}

size_t files_in(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// A recording directory with every kind of image stored (copied).
struct Fixture {
  TempDir src, rec;
  std::vector<uint8_t> fw = pattern(1000, 1);
  std::vector<uint8_t> kernel = pattern(3 * (1 << 20) + 123, 2);  // spans several 1 MiB chunks
  std::vector<uint8_t> initrd = pattern(4096, 3);
  std::vector<uint8_t> dtb = pattern(77, 4);
  std::vector<uint8_t> disk = pattern(1 << 16, 5);
  RecordingManifest m;

  Fixture() {
    write_file(src / "fw.bin", fw);
    write_file(src / "Image", kernel);
    write_file(src / "initrd", initrd);
    write_file(src / "board.dtb", dtb);
    write_file(src / "disk.img", disk);
    m.hindsight_version = "0.1.0";
    m.created = "2024-05-01T12:34:56Z";
    m.command_line = "hindsight record -m 256M --kernel Image";
    m.ram_size = 256ull << 20;
    m.bios_mode = BiosMode::kFile;
    m.bios = store_image(rec.str(), src / "fw.bin", true);
    m.kernel = store_image(rec.str(), src / "Image", true);
    m.initrd = store_image(rec.str(), src / "initrd", true);
    m.dtb = store_image(rec.str(), src / "board.dtb", true);
    m.append = "console=ttyS0 earlycon";
    m.drives.push_back(DriveRef{store_image(rec.str(), src / "disk.img", true), true});
    m.rng = false;
    m.snapshot_interval = 100'000'000;
    m.pacing = true;
  }
  std::string image_file(const ImageRef& r) const { return rec / ("images/" + r.stored); }
};

}  // namespace

TEST_CASE("manifest: round trip with every field and image refs", "[manifest]") {
  Fixture f;
  write_manifest(f.rec.str(), f.m);
  const RecordingManifest back = read_manifest(f.rec.str());
  CHECK(back == f.m);
  CHECK(back.format_version == kRecordingFormatVersion);
  CHECK(back.ram_size == 256ull << 20);
  CHECK(back.bios_mode == BiosMode::kFile);
  CHECK(back.append == "console=ttyS0 earlycon");
  REQUIRE(back.drives.size() == 1);
  CHECK(back.drives[0].readonly);
  CHECK_FALSE(back.rng);
  CHECK(back.snapshot_interval == 100'000'000);
  CHECK(back.pacing);
  REQUIRE(back.kernel.has_value());
  CHECK(back.kernel->size == f.kernel.size());
  CHECK(back.kernel->hash == hash_bytes(f.kernel));
  CHECK(back.kernel->stored == hash_bytes(f.kernel).to_string());
  CHECK(back.kernel->path == fs::absolute(f.src / "Image").string());
  const std::string kfile = resolve_image(f.rec.str(), *back.kernel);
  CHECK(kfile == f.image_file(*back.kernel));
  CHECK(read_file(kfile) == f.kernel);
  verify_images(f.rec.str(), back);
}

TEST_CASE("manifest: optional images and bios none round-trip as absent", "[manifest]") {
  TempDir rec;
  RecordingManifest m;
  m.ram_size = 128ull << 20;
  m.bios_mode = BiosMode::kNone;
  write_manifest(rec.str(), m);
  const RecordingManifest back = read_manifest(rec.str());
  CHECK(back == m);
  CHECK_FALSE(back.bios.has_value());
  CHECK_FALSE(back.kernel.has_value());
  CHECK_FALSE(back.initrd.has_value());
  CHECK_FALSE(back.dtb.has_value());
  CHECK(back.drives.empty());
  CHECK(back.rng);
}

TEST_CASE("manifest: inconsistent fields are refused on read", "[manifest]") {
  TempDir rec;
  RecordingManifest m;
  m.ram_size = 128ull << 20;
  m.bios_mode = BiosMode::kNone;
  m.bios = ImageRef{"/x", 1, {}, ""};
  write_manifest(rec.str(), m);
  const auto err = format_error([&] { read_manifest(rec.str()); });
  REQUIRE(err.has_value());
  CHECK_THAT(err->what(),
             Catch::Contains("inconsistent manifest: firmware image present iff bios mode is not none"));
}

TEST_CASE("store_image: XXH3-128 matches the published values", "[manifest]") {
  TempDir src, rec;
  write_file(src / "empty", {});
  write_file(src / "hello", {'h', 'e', 'l', 'l', 'o'});
  CHECK(store_image(rec.str(), src / "empty", false).hash.to_string() ==
        "99aa06d3014798d86001c324468d497f");
  const ImageRef hello = store_image(rec.str(), src / "hello", true);
  CHECK(hello.hash.to_string() == "b5e9c1ad071b3e7fc779cfaa5e523818");
  CHECK(hello.stored == "b5e9c1ad071b3e7fc779cfaa5e523818");
  CHECK(hello.size == 5);
  CHECK(read_file(rec / "images/b5e9c1ad071b3e7fc779cfaa5e523818") ==
        std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'});
  CHECK(hash_file(src / "hello") == hello.hash);
}

TEST_CASE("store_image: the same content is stored once, with no temp files left", "[manifest]") {
  TempDir src, rec;
  const std::vector<uint8_t> data = pattern(5000, 9);
  write_file(src / "a.img", data);
  write_file(src / "b.img", data);
  const ImageRef a = store_image(rec.str(), src / "a.img", true);
  const ImageRef b = store_image(rec.str(), src / "b.img", true);
  CHECK(a.stored == b.stored);
  CHECK(a.path != b.path);
  CHECK(files_in(rec / "images") == 1);
  const ImageRef big = store_image(rec.str(), src / "a.img", false);
  CHECK(big.stored.empty());
  CHECK(big.hash == a.hash);
  CHECK(files_in(rec / "images") == 1);
}

TEST_CASE("store_image: an unreadable source is a FormatError naming it", "[manifest]") {
  TempDir rec;
  const std::string missing = rec / "no-such-kernel";
  const auto err = format_error([&] { store_image(rec.str(), missing, true); });
  REQUIRE(err.has_value());
  CHECK(err->file() == missing);
  CHECK_THAT(err->what(), Catch::Contains("No such file or directory"));
}

TEST_CASE("verify_images: a changed copy is named with both hashes", "[manifest]") {
  Fixture f;
  const std::string file = f.image_file(*f.m.initrd);
  std::vector<uint8_t> changed = f.initrd;
  changed[100] ^= 1;
  write_file(file, changed);
  CHECK(resolve_image(f.rec.str(), *f.m.initrd) == file);  // size only: cheap
  const auto err = format_error([&] { verify_images(f.rec.str(), f.m); });
  REQUIRE(err.has_value());
  CHECK(err->file() == file);
  CHECK_THAT(err->what(), Catch::Contains("images/" + f.m.initrd->stored));
  CHECK_THAT(err->what(), Catch::Contains(fmt::format("content hash mismatch (expected {}, got {})",
                                                      hash_bytes(f.initrd).to_string(),
                                                      hash_bytes(changed).to_string())));
}

TEST_CASE("resolve_image: a missing or resized copy is refused", "[manifest]") {
  Fixture f;
  const std::string file = f.image_file(*f.m.dtb);
  SECTION("missing") {
    fs::remove(file);
    const auto err = format_error([&] { resolve_image(f.rec.str(), *f.m.dtb); });
    REQUIRE(err.has_value());
    CHECK(err->file() == file);
    CHECK_THAT(err->what(), Catch::EndsWith("image missing"));
  }
  SECTION("resized") {
    write_file(file, pattern(78, 4));
    const auto err = format_error([&] { resolve_image(f.rec.str(), *f.m.dtb); });
    REQUIRE(err.has_value());
    CHECK_THAT(err->what(), Catch::EndsWith("size 78 bytes, the manifest records 77"));
  }
}

TEST_CASE("resolve_image: an image recorded by reference is re-verified", "[manifest]") {
  TempDir src, rec;
  const std::string disk = src / "disk.img";
  write_file(disk, pattern(8192, 7));
  const ImageRef ref = store_image(rec.str(), disk, false);
  CHECK(ref.stored.empty());
  CHECK(ref.path == fs::absolute(disk).string());
  CHECK_FALSE(fs::exists(rec / "images"));
  CHECK(resolve_image(rec.str(), ref) == ref.path);

  std::vector<uint8_t> changed = pattern(8192, 7);
  changed[0] ^= 0xff;
  write_file(disk, changed);
  auto err = format_error([&] { resolve_image(rec.str(), ref); });
  REQUIRE(err.has_value());
  CHECK(err->file() == ref.path);
  CHECK_THAT(err->what(), Catch::Contains("content hash mismatch"));
  CHECK_THAT(err->what(), Catch::EndsWith("the file changed since it was recorded"));

  fs::remove(disk);
  err = format_error([&] { resolve_image(rec.str(), ref); });
  REQUIRE(err.has_value());
  CHECK_THAT(err->what(), Catch::Contains("image missing (the recording references this file"));
}

TEST_CASE("read_manifest: missing, corrupt, truncated, foreign-version files", "[manifest]") {
  Fixture f;
  const std::string file = f.rec / "manifest";
  SECTION("missing") {
    const auto err = format_error([&] { read_manifest(f.rec.str()); });
    REQUIRE(err.has_value());
    CHECK(err->file() == file);
    CHECK_THAT(err->what(), Catch::EndsWith("missing (not a hindsight recording?)"));
  }
  write_manifest(f.rec.str(), f.m);
  std::vector<uint8_t> data = read_file(file);
  SECTION("corrupt") {
    data[data.size() / 2] ^= 0x20;
    write_file(file, data);
    const auto err = format_error([&] { read_manifest(f.rec.str()); });
    REQUIRE(err.has_value());
    CHECK_THAT(err->what(), Catch::EndsWith("checksum mismatch"));
  }
  SECTION("truncated") {
    data.resize(data.size() - 1);
    write_file(file, data);
    const auto err = format_error([&] { read_manifest(f.rec.str()); });
    REQUIRE(err.has_value());
    CHECK_THAT(err->what(), Catch::Contains("payload bytes, file has"));
  }
  SECTION("trailing bytes") {
    data.push_back(0);
    write_file(file, data);
    const auto err = format_error([&] { read_manifest(f.rec.str()); });
    REQUIRE(err.has_value());
    CHECK(err->offset() == data.size() - 1);
    CHECK_THAT(err->what(), Catch::EndsWith("unexpected bytes after the record"));
  }
  SECTION("another format version") {
    const DecodedRecord r = decode_record(data, 0, "HSMF");
    REQUIRE(r.status == RecordStatus::kOk);
    write_file(file, encode_record("HSMF", kRecordingFormatVersion + 1, r.payload));
    const auto err = format_error([&] { read_manifest(f.rec.str()); });
    REQUIRE(err.has_value());
    CHECK_THAT(err->what(), Catch::Contains(fmt::format("format version {} is not supported",
                                                        kRecordingFormatVersion + 1)));
  }
  SECTION("a journal frame is not a manifest") {
    write_file(file, encode_record("HSJF", kRecordingFormatVersion, std::vector<uint8_t>(8)));
    const auto err = format_error([&] { read_manifest(f.rec.str()); });
    REQUIRE(err.has_value());
    CHECK_THAT(err->what(), Catch::EndsWith("bad magic (expected HSMF)"));
  }
}

TEST_CASE("manifest helpers: command line, timestamp", "[manifest]") {
  const char* argv[] = {"hindsight", "record", "--kernel", "Image"};
  CHECK(join_command_line(4, argv) == "hindsight record --kernel Image");
  CHECK(join_command_line(0, argv).empty());
  const std::string t = utc_timestamp();
  REQUIRE(t.size() == 20);
  CHECK(t[4] == '-');
  CHECK(t[10] == 'T');
  CHECK(t[19] == 'Z');
}
