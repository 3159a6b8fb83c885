// Floating-point state helpers shared by the F/D handlers (core/isa/rv_fd.cpp),
// the fflags/frm/fcsr CSRs, the gdb stub's FPU registers and tests:
// mstatus.FS gating, fflags bits, rounding-mode numbers, NaN boxing and
// bit-level classification. All inline and cheap (a few instructions each).
//
// Stable interface: add, don't change.
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>

#include "core/csr.hpp"
#include "core/hart.hpp"

namespace hs::isa {

// fcsr.fflags bits (accrued IEEE 754 exceptions).
namespace fflag {
constexpr uint8_t kNX = 1, kUF = 2, kOF = 4, kDZ = 8, kNV = 16;
}

// Rounding modes: the rm field of an instruction and fcsr.frm. 5 and 6 are
// reserved; kDyn (only valid in rm) selects frm.
namespace frm {
constexpr unsigned kRNE = 0, kRTZ = 1, kRDN = 2, kRUP = 3, kRMM = 4, kDyn = 7;
}

// F/D instructions and fcsr accesses are legal only while mstatus.FS != Off.
inline bool fp_enabled(const HartState& h) { return (h.mstatus & mstatus::kFS) != 0; }

// Every write to an f register or to fflags/frm/fcsr makes FS Dirty, and SD
// summarises a Dirty FS.
inline void mark_fp_dirty(HartState& h) { h.mstatus |= mstatus::kFSDirty | mstatus::kSD; }

// ORs IEEE exception flags into fflags. Only a raised flag is a write of
// fflags (and so dirties FS): a compare that raises nothing leaves FS alone.
inline void accrue_fflags(HartState& h, uint8_t flags) {
  if (flags) {
    h.fflags |= flags;
    mark_fp_dirty(h);
  }
}

// Bit layout of the two formats. T is float (binary32) or double (binary64).
template <class T>
struct FpFormat;
template <>
struct FpFormat<float> {
  using Bits = uint32_t;
  static constexpr Bits kCanonicalNaN = 0x7fc00000u;
  static constexpr Bits kQuietBit = 1u << 22;
  static constexpr Bits kExpMask = 0x7f800000u;
};
template <>
struct FpFormat<double> {
  using Bits = uint64_t;
  static constexpr Bits kCanonicalNaN = 0x7ff8000000000000ull;
  static constexpr Bits kQuietBit = 1ull << 51;
  static constexpr Bits kExpMask = 0x7ff0000000000000ull;
};
template <class T>
using FpBits = typename FpFormat<T>::Bits;

template <class T>
constexpr FpBits<T> kFpSignBit = FpBits<T>{1} << (8 * sizeof(T) - 1);

// Upper half of a NaN-boxed single in a 64-bit f register.
constexpr uint64_t kNanBox = 0xffffffff00000000ull;

template <class T>
inline T canonical_nan() {
  return std::bit_cast<T>(FpFormat<T>::kCanonicalNaN);
}

// Signalling NaN: exponent all ones, quiet bit clear, some mantissa bit set.
template <class T>
inline bool is_snan(T v) {
  using F = FpFormat<T>;
  const FpBits<T> b = std::bit_cast<FpBits<T>>(v) & ~kFpSignBit<T>;
  return (b & F::kExpMask) == F::kExpMask && !(b & F::kQuietBit) && (b & ~F::kExpMask) != 0;
}

// Operand f[r] read as format T. A single whose upper 32 bits are not all
// ones is not a valid NaN-boxed value and reads as the canonical NaN.
template <class T>
inline T read_freg(const HartState& h, unsigned r) {
  if constexpr (std::is_same_v<T, float>) {
    const uint64_t v = h.f[r];
    return (v & kNanBox) == kNanBox ? std::bit_cast<float>(static_cast<uint32_t>(v))
                                    : canonical_nan<float>();
  } else {
    return std::bit_cast<double>(h.f[r]);
  }
}

// Writes the raw bits of a T to f[r] (NaN-boxing singles) and dirties FS.
template <class T>
inline void write_freg_bits(HartState& h, unsigned r, FpBits<T> bits) {
  if constexpr (std::is_same_v<T, float>)
    h.f[r] = kNanBox | bits;
  else
    h.f[r] = bits;
  mark_fp_dirty(h);
}

template <class T>
inline void write_freg(HartState& h, unsigned r, T v) {
  write_freg_bits<T>(h, r, std::bit_cast<FpBits<T>>(v));
}

}  // namespace hs::isa
