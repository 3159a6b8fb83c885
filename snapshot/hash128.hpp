// The 128-bit hash type of the whole code base: XXH3-128 of pages and image
// contents, and the state hashes of snapshot/state_hash.hpp.
//
// Held as XXH128_hash_t's two halves. Its canonical form is big-endian, `hi`
// first (XXH128_canonicalFromHash, xxh128sum): recordings store those 16
// bytes (capnp Data) and name images/ files by their 32 lowercase hex digits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace hs {

struct Hash128 {
  uint64_t lo = 0;
  uint64_t hi = 0;
  constexpr bool operator==(const Hash128&) const = default;

  // The 16 canonical bytes: `hi` big-endian, then `lo` big-endian.
  constexpr std::array<uint8_t, 16> canonical() const {
    std::array<uint8_t, 16> b{};
    for (size_t i = 0; i < 8; ++i) {
      b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
      b[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
    }
    return b;
  }
  // Inverse of canonical().
  static constexpr Hash128 from_canonical(std::span<const uint8_t, 16> b) {
    Hash128 h;
    for (size_t i = 0; i < 8; ++i) {
      h.hi = h.hi << 8 | b[i];
      h.lo = h.lo << 8 | b[8 + i];
    }
    return h;
  }

  // 32 lowercase hex digits of canonical().
  std::string to_string() const { return fmt::format("{:016x}{:016x}", hi, lo); }
  // Parses 32 hex digits (either case) in canonical order; nullopt for
  // anything else.
  static constexpr std::optional<Hash128> from_hex(std::string_view s) {
    if (s.size() != 32) return std::nullopt;
    Hash128 h;
    for (size_t i = 0; i < 32; ++i) {
      const char c = s[i];
      uint64_t d;
      if (c >= '0' && c <= '9')
        d = static_cast<uint64_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        d = static_cast<uint64_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        d = static_cast<uint64_t>(c - 'A' + 10);
      else
        return std::nullopt;
      uint64_t& half = i < 16 ? h.hi : h.lo;
      half = half << 4 | d;
    }
    return h;
  }
};

struct Hash128Hasher {
  size_t operator()(const Hash128& h) const {
    return static_cast<size_t>(h.lo ^ (h.hi * 0x9e3779b97f4a7c15ull));
  }
};

}  // namespace hs
