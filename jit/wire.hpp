// Plain values to and from byte buffers (the persistent cache's files,
// written and read by the same build: host byte order, no padding rules).
#pragma once

#include <cstring>
#include <span>
#include <vector>

namespace hs::jit {

template <typename T>
void put(std::vector<char>& out, const T& v) {
  const auto* p = reinterpret_cast<const char*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

// Reads a T at `at` (advancing it) if one fits in `in`.
template <typename T>
bool get(std::span<const char> in, size_t& at, T& v) {
  if (in.size() - at < sizeof v) return false;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return true;
}

}  // namespace hs::jit
