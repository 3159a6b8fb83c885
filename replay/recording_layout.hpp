// What every part of a recording shares: the directory layout, the format
// version, and the 128-bit hash type used for image contents and machine
// state. The schema itself (schemas/recording.capnp) stays private to
// replay/*.cpp; this header is cheap to include.
//
// REC/
//   manifest        one HSMF record (replay/manifest.hpp)
//   images/<hex>    content-addressed copies of the guest's images
//   journal         append-only HSJF frame records (replay/journal.hpp)
//   end             one HSEN record, only after a clean end (replay/journal.hpp)
//   pages.pack, snapshots/   snapshot/ (not described here)
//
// There is no journal index file: the reader validates every frame's
// checksum anyway (that is how it finds where a killed recording stops), so
// it rebuilds the index in memory while reading. An index file would be a
// second truth that can lag the journal after a crash and would need its own
// validation, for no saving.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hs {

// Version of the manifest, journal frame and end records. Mirrors
// `formatVersion` in schemas/recording.capnp (checked by a static_assert in
// replay/journal.cpp); bump both on any format change.
constexpr uint16_t kRecordingFormatVersion = 2;

namespace rec_file {
constexpr const char* kManifest = "manifest";
constexpr const char* kImagesDir = "images";
constexpr const char* kJournal = "journal";
constexpr const char* kEnd = "end";
}  // namespace rec_file

// A 128-bit hash (XXH3-128 for image contents; the caller's state hash in
// the end record) in canonical form: 16 bytes, big-endian, which is also how
// xxh128sum prints it and how images/ names files. (snapshot/page_store.hpp
// has Hash128 as XXH128_hash_t's {lo, hi}; from_halves() converts.)
struct Digest128 {
  std::array<uint8_t, 16> bytes{};

  bool operator==(const Digest128&) const = default;

  // From XXH128_hash_t's halves: canonical order is `hi` first.
  static Digest128 from_halves(uint64_t hi, uint64_t lo) {
    Digest128 d;
    for (size_t i = 0; i < 8; ++i) {
      d.bytes[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
      d.bytes[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
    }
    return d;
  }
  uint64_t hi() const { return half(0); }
  uint64_t lo() const { return half(8); }

  // 32 lowercase hex digits.
  std::string hex() const {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s(32, '0');
    for (size_t i = 0; i < 16; ++i) {
      s[2 * i] = kDigits[bytes[i] >> 4];
      s[2 * i + 1] = kDigits[bytes[i] & 15];
    }
    return s;
  }

  // Parses 32 hex digits (either case); nullopt for anything else.
  static std::optional<Digest128> from_hex(std::string_view s) {
    if (s.size() != 32) return std::nullopt;
    Digest128 h;
    for (size_t i = 0; i < 32; ++i) {
      const int d = digit(s[i]);
      if (d < 0) return std::nullopt;
      h.bytes[i / 2] = static_cast<uint8_t>(h.bytes[i / 2] << 4 | d);
    }
    return h;
  }

 private:
  uint64_t half(size_t at) const {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = v << 8 | bytes[at + i];
    return v;
  }
  static int digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
};

}  // namespace hs
