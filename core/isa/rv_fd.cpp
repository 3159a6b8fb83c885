// F and D extensions (RV64F, RV64D): loads/stores, arithmetic, fused
// multiply-add, sign injection, min/max, comparisons, classification,
// conversions and moves, with their slice of the instruction table.
//
// Arithmetic runs on the host FPU: the guest rounding mode is installed around
// each operation and the host's IEEE exception flags are read back into
// fflags. x86 SSE and RISC-V agree on what matters here (tininess detected
// after rounding, UF only when also inexact, NV for signalling NaN operands);
// where they differ the handlers fix up (NaN results are canonicalised; fma
// signals NV for inf*0 even with a quiet-NaN addend). The host has no
// round-to-nearest-max-magnitude mode, so RMM computes in a wider host format
// with round-to-odd and rounds that to the guest format in software.
//
// This file is compiled with -frounding-math; on top of that, operands and
// results cross asm barriers so no operation is folded or moved out of the
// window in which the guest mode is installed.
#include <array>
#include <bit>
#include <cfenv>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/hart.hpp"
#include "core/insn.hpp"
#include "core/isa/dispatch.hpp"
#include "core/isa/fp_util.hpp"
#include "core/isa/isa_util.hpp"

namespace hs {

namespace {

using namespace isa::fflag;
using isa::accrue_fflags;
using isa::canonical_nan;
using isa::FpBits;
using isa::frd;
using isa::is_snan;
using isa::read_freg;
using isa::write_freg;
using isa::write_freg_bits;
namespace frm = isa::frm;

using S = float;
using D = double;

// RMM needs a host format with at least two more significand bits than the
// guest format (round-to-odd), a wider exponent range (so the wide operation
// never overflows or underflows), and room for any 64-bit integer exactly.
static_assert(LDBL_MANT_DIG >= 64, "long double must be x87 extended or binary128");
static_assert(std::endian::native == std::endian::little);

template <class T>
T canonicalize(T v) {
  return std::isnan(v) ? canonical_nan<T>() : v;
}

// ---- host floating-point environment ----

// Passes v through an empty asm: the optimiser can neither constant-fold it
// nor move the computation that consumes (or produced) it across the fenv
// accesses around it, which are volatile asm as well.
template <class V>
inline V opaque(V v) {
#if defined(__x86_64__)
  if constexpr (std::is_same_v<V, float> || std::is_same_v<V, double>)
    asm volatile("" : "+x"(v));
  else if constexpr (std::is_integral_v<V>)
    asm volatile("" : "+r"(v));
  else
    asm volatile("" : "+m"(v));
#else
  asm volatile("" : "+m"(v));
#endif
  return v;
}

inline void fenv_fence() { asm volatile("" ::: "memory"); }

#if defined(__x86_64__)
// Installs guest rounding mode rm (RNE..RUP) in MXCSR for the object's
// lifetime, with the exception flags cleared, every exception masked and
// FTZ/DAZ off. SSE does all float/double arithmetic on x86-64 (glibc's fma
// and fmaf too, whether the FMA3 or the software variant), and MXCSR access is
// much cheaper than the std fenv functions, which also touch the x87 unit.
class HostRounding {
 public:
  explicit HostRounding(unsigned rm) : saved_(get()) { set(0x1f80u | kRc[rm] << 13); }
  ~HostRounding() { set(saved_); }
  HostRounding(const HostRounding&) = delete;
  HostRounding& operator=(const HostRounding&) = delete;

  // RISC-V flags raised since construction (MXCSR IE ZE OE UE PE; DE ignored).
  uint8_t flags() const {
    const uint32_t c = get();
    return static_cast<uint8_t>((c & 1) << 4 | (c & 4) << 1 | (c & 8) >> 1 | (c & 16) >> 3 |
                                (c & 32) >> 5);
  }

 private:
  static constexpr uint32_t kRc[4] = {0, 3, 1, 2};  // RNE RTZ RDN RUP -> MXCSR.RC
  static uint32_t get() {
    uint32_t c;
    asm volatile("stmxcsr %0" : "=m"(c) : : "memory");
    return c;
  }
  static void set(uint32_t c) { asm volatile("ldmxcsr %0" : : "m"(c) : "memory"); }
  uint32_t saved_;
};
#else
class HostRounding {
 public:
  explicit HostRounding(unsigned rm) : saved_(std::fegetround()) {
    static constexpr int kModes[4] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};
    std::fesetround(kModes[rm]);
    std::feclearexcept(FE_ALL_EXCEPT);
    fenv_fence();
  }
  ~HostRounding() {
    fenv_fence();
    std::fesetround(saved_);
  }
  HostRounding(const HostRounding&) = delete;
  HostRounding& operator=(const HostRounding&) = delete;

  uint8_t flags() const {
    fenv_fence();
    const int e = std::fetestexcept(FE_ALL_EXCEPT);
    return static_cast<uint8_t>((e & FE_INVALID ? kNV : 0) | (e & FE_DIVBYZERO ? kDZ : 0) |
                                (e & FE_OVERFLOW ? kOF : 0) | (e & FE_UNDERFLOW ? kUF : 0) |
                                (e & FE_INEXACT ? kNX : 0));
  }

 private:
  int saved_;
};
#endif

// Round toward zero on every host unit (x87 included: long double) with the
// flags cleared, for the RMM path. Rare, so the portable std calls are fine.
class HostTruncating {
 public:
  HostTruncating() : saved_(std::fegetround()) {
    std::fesetround(FE_TOWARDZERO);
    std::feclearexcept(FE_ALL_EXCEPT);
    fenv_fence();
  }
  ~HostTruncating() {
    fenv_fence();
    std::fesetround(saved_);
  }
  HostTruncating(const HostTruncating&) = delete;
  HostTruncating& operator=(const HostTruncating&) = delete;

  int raised() const {
    fenv_fence();
    return std::fetestexcept(FE_ALL_EXCEPT);
  }

 private:
  int saved_;
};

// ---- round to nearest, ties to max magnitude ----

// Host format for RMM intermediate results of a T operation.
template <class T>
using Wide = std::conditional_t<std::is_same_v<T, float>, double, long double>;

// Sets the lowest significand bit: a truncated inexact result becomes its
// round-to-odd value, which keeps the information "strictly between these two
// representable numbers" through a second rounding to a narrower format.
template <class W>
W with_sticky(W r) {
  unsigned char b[sizeof(W)];
  std::memcpy(b, &r, sizeof(W));
  b[0] |= 1;  // little endian: the significand's low byte comes first
  std::memcpy(&r, b, sizeof(W));
  return r;
}

// Magnitudes below this are tiny after rounding: rounding them to T's
// precision with an unbounded exponent and ties away stays below T's
// smallest normal 2^emin, whose lower midpoint is 2^emin * (1 - 2^-(p+1)).
template <class T, class W>
W tininess_threshold() {
  constexpr int p = std::numeric_limits<T>::digits;
  return W(std::numeric_limits<T>::min()) * (W(1) - std::ldexp(W(1), -(p + 1)));
}

// Rounds x to T, ties away from zero, accruing NX/OF/UF. x is exact or rounded
// to odd in a format at least two bits wider than T: the midpoints and the
// tininess threshold it is compared with have p+1 significant bits, so the
// comparisons give the same answer as for the exact value. Host arithmetic
// here runs in the default nearest mode and is exact.
template <class T, class W>
T narrow_rmm(W x, uint8_t& flags) {
  if (std::isnan(x)) return canonical_nan<T>();
  if (std::isinf(x) || x == 0) return static_cast<T>(x);
  const W ax = std::fabs(x);
  T t = static_cast<T>(x);  // nearest; step back to the truncation if it rounded up
  if (W(std::fabs(t)) > ax) t = std::nextafter(t, T(0));
  if (W(t) == x) return t;
  flags |= kNX;
  const T up = std::nextafter(t, std::copysign(std::numeric_limits<T>::infinity(), t));
  const W lo = std::fabs(W(t));
  // Above the largest finite value the gap is that of the top binade.
  const W half_gap = std::isinf(up) ? (lo - std::fabs(W(std::nextafter(t, T(0))))) / 2
                                    : (std::fabs(W(up)) - lo) / 2;
  const T r = ax >= lo + half_gap ? up : t;
  if (std::isinf(r)) flags |= kOF;
  if (ax < tininess_threshold<T, W>()) flags |= kUF;
  return r;
}

// Op applied to T operands under RMM: truncated in Wide<T>, made odd if
// inexact, then narrowed. NV and DZ come from the wide operation (same
// operands, same conditions); the wide one can neither overflow nor underflow.
template <class T, class Op, class... A>
T rmm_eval(uint8_t& flags, A... a) {
  using W = Wide<T>;
  W r;
  int raised;
  {
    HostTruncating g;
    r = opaque(Op::apply(static_cast<W>(opaque(a))...));
    raised = g.raised();
  }
  if (raised & FE_INVALID) flags |= kNV;
  if (raised & FE_DIVBYZERO) flags |= kDZ;
  if (std::isnan(r)) return canonical_nan<T>();
  return narrow_rmm<T>(raised & FE_INEXACT ? with_sticky(r) : r, flags);
}

// Op applied under a host-supported rounding mode.
template <class T, class Op, class... A>
T host_eval(unsigned rm, uint8_t& flags, A... a) {
  HostRounding g(rm);
  const T r = opaque(Op::apply(opaque(a)...));
  flags |= g.flags();
  return r;
}

// The correctly rounded result of Op in mode rm (0..4), flags accrued, NaN
// results canonical.
template <class T, class Op, class... A>
T round_op(HartState& h, unsigned rm, A... a) {
  uint8_t flags = 0;
  const T r = rm == frm::kRMM ? rmm_eval<T, Op>(flags, a...) : host_eval<T, Op>(rm, flags, a...);
  accrue_fflags(h, flags);
  return canonicalize(r);
}

// ---- operations (instantiated for the guest format and for Wide<T>) ----

struct Add {
  template <class V>
  static V apply(V a, V b) {
    return a + b;
  }
};
struct Sub {
  template <class V>
  static V apply(V a, V b) {
    return a - b;
  }
};
struct Mul {
  template <class V>
  static V apply(V a, V b) {
    return a * b;
  }
};
struct Div {
  template <class V>
  static V apply(V a, V b) {
    return a / b;
  }
};
struct Sqrt {
  template <class V>
  static V apply(V a) {
    return std::sqrt(a);
  }
};
struct Fma {
  template <class V>
  static V apply(V a, V b, V c) {
    return std::fma(a, b, c);
  }
};

// Conversion of an integer or a wider float S to T.
template <class T>
struct ConvertTo {
  template <class V>
  static T apply(V v) {
    return static_cast<T>(v);
  }
};

// S converted to T in mode rm. Integers go to the wide format exactly first
// (long double holds any 64-bit integer), so RMM needs no round-to-odd step.
template <class T, class Src>
T convert(HartState& h, unsigned rm, Src v) {
  uint8_t flags = 0;
  T r;
  if (rm == frm::kRMM) {
    using Exact = std::conditional_t<sizeof(Src) <= 4, double, long double>;
    if constexpr (std::is_floating_point_v<Src>)
      if (is_snan(v)) flags |= kNV;
    r = narrow_rmm<T>(static_cast<Exact>(v), flags);
  } else {
    r = host_eval<T, ConvertTo<T>>(rm, flags, v);
  }
  accrue_fflags(h, flags);
  return canonicalize(r);
}

// x rounded to an integral value in mode rm, in software: the fraction left
// by trunc() is exact, so every mode is a comparison with 1/2.
template <class T>
T round_integral(T x, unsigned rm) {
  const T t = std::trunc(x);
  if (!std::isfinite(x) || t == x) return x;
  const T frac = std::fabs(x - t);
  const T away = t + std::copysign(T(1), x);  // |t| < 2^(p-1): exact
  switch (rm) {
    case frm::kRNE:
      if (frac != T(0.5)) return frac > T(0.5) ? away : t;
      return static_cast<int64_t>(t) & 1 ? away : t;
    case frm::kRTZ:
      return t;
    case frm::kRDN:
      return x < 0 ? away : t;
    case frm::kRUP:
      return x > 0 ? away : t;
    default:  // RMM
      return frac >= T(0.5) ? away : t;
  }
}

// fcvt to integer type I. Out-of-range results (after rounding), infinities
// and NaN saturate with NV alone; NaN converts to the largest value.
template <class I, class T>
I to_int(T x, unsigned rm, uint8_t& flags) {
  constexpr I kMax = std::numeric_limits<I>::max(), kMin = std::numeric_limits<I>::min();
  if (std::isnan(x)) {
    flags |= kNV;
    return kMax;
  }
  const T r = round_integral(x, rm);
  const T hi = std::ldexp(T(1), std::numeric_limits<I>::digits);  // exclusive
  const T lo = std::is_signed_v<I> ? -hi : T(0);                  // inclusive (-0 >= 0)
  if (r < lo || r >= hi) {
    flags |= kNV;
    return r < lo ? kMin : kMax;
  }
  if (r != x) flags |= kNX;
  return static_cast<I>(r);
}

// IEEE minimumNumber/maximumNumber (RISC-V 2019+): -0 < +0, a single NaN
// operand yields the other one, two NaNs the canonical NaN.
template <bool kMax, class T>
T min_max(T a, T b) {
  if (std::isnan(a)) return std::isnan(b) ? canonical_nan<T>() : b;
  if (std::isnan(b)) return a;
  if (a == b) return std::signbit(a) == kMax ? b : a;  // picks the right zero
  return (a < b) != kMax ? a : b;
}

template <class T>
uint64_t fclass_mask(T v) {
  const bool neg = std::signbit(v);
  switch (std::fpclassify(v)) {
    case FP_INFINITE:
      return neg ? 1u << 0 : 1u << 7;
    case FP_NORMAL:
      return neg ? 1u << 1 : 1u << 6;
    case FP_SUBNORMAL:
      return neg ? 1u << 2 : 1u << 5;
    case FP_ZERO:
      return neg ? 1u << 3 : 1u << 4;
    default:
      return is_snan(v) ? 1u << 8 : 1u << 9;
  }
}

// ---- legality ----

// mtval gets the instruction's own encoding. A compressed one (c.fld, c.fsd,
// c.fldsp, c.fsdsp) is decoded into its expansion, so its 16 bits are read
// again: the fetch that decoded it succeeded, and a write to the page would
// have dropped its block.
Flow illegal(Hart& h, const DecodedInsn& i) {
  uint32_t bits = i.raw;
  PAddr pa;
  if (i.len == 2)
    if (const uint8_t* p = h.fetch(i.pc, pa)) {
      uint16_t c;
      std::memcpy(&c, p, 2);
      bits = c;
    }
  return h.raise(cause::kIllegalInsn, bits);
}

using RmHandler = Flow (*)(Hart&, const DecodedInsn&, unsigned rm);

// Every F/D instruction is illegal while mstatus.FS is Off.
template <Handler Fn>
Flow need_fs(Hart& h, const DecodedInsn& i) {
  return isa::fp_enabled(h) ? Fn(h, i) : illegal(h, i);
}

// Instructions with an rm field: also illegal for a reserved rm (5, 6) or a
// dynamic rm while frm holds a reserved value, even when the result would be
// exact.
template <RmHandler Fn>
Flow need_rm(Hart& h, const DecodedInsn& i) {
  const unsigned rm = i.rm() == frm::kDyn ? h.frm : i.rm();
  return isa::fp_enabled(h) && rm <= frm::kRMM ? Fn(h, i, rm) : illegal(h, i);
}

// ---- handlers ----

template <class T>
Flow fload(Hart& h, const DecodedInsn& i) {
  FpBits<T> v;
  if (!h.load(i, h.x[i.rs1] + static_cast<uint64_t>(i.imm), v)) return Flow::kTrap;
  write_freg_bits<T>(h, frd(i), v);
  return h.mem_done();
}

// Stores the register's low bits as they are: no NaN-boxing check.
template <class T>
Flow fstore(Hart& h, const DecodedInsn& i) {
  const auto v = static_cast<FpBits<T>>(h.f[i.rs2]);
  if (!h.store(i, h.x[i.rs1] + static_cast<uint64_t>(i.imm), v)) return Flow::kTrap;
  return h.mem_done();
}

template <class T, class Op>
Flow arith1(Hart& h, const DecodedInsn& i, unsigned rm) {
  write_freg(h, frd(i), round_op<T, Op>(h, rm, read_freg<T>(h, i.rs1)));
  return Flow::kNext;
}

template <class T, class Op>
Flow arith2(Hart& h, const DecodedInsn& i, unsigned rm) {
  const T a = read_freg<T>(h, i.rs1), b = read_freg<T>(h, i.rs2);
  write_freg(h, frd(i), round_op<T, Op>(h, rm, a, b));
  return Flow::kNext;
}

// fmadd: a*b+c; fmsub: a*b-c; fnmsub: -(a*b)+c; fnmadd: -(a*b)-c.
// Negating an operand is exact, so one fused operation covers all four.
template <class T, bool kNegProduct, bool kNegAddend>
Flow fmadd(Hart& h, const DecodedInsn& i, unsigned rm) {
  const T a = read_freg<T>(h, i.rs1), b = read_freg<T>(h, i.rs2), c = read_freg<T>(h, i.rs3);
  // RISC-V wants NV for inf*0 even when the addend is a quiet NaN; IEEE
  // leaves that case to the implementation, so hosts differ.
  if ((std::isinf(a) && b == 0) || (a == 0 && std::isinf(b))) accrue_fflags(h, kNV);
  const T r = round_op<T, Fma>(h, rm, kNegProduct ? -a : a, b, kNegAddend ? -c : c);
  write_freg(h, frd(i), r);
  return Flow::kNext;
}

enum class Sign { kCopy, kNegate, kXor };

// Sign injection works on the bits: NaN payloads pass through unchanged.
template <class T, Sign kMode>
Flow fsgnj(Hart& h, const DecodedInsn& i) {
  using U = FpBits<T>;
  constexpr U kSign = isa::kFpSignBit<T>;
  const U a = std::bit_cast<U>(read_freg<T>(h, i.rs1));
  const U b = std::bit_cast<U>(read_freg<T>(h, i.rs2));
  const U s = kMode == Sign::kCopy ? b : kMode == Sign::kNegate ? ~b : a ^ b;
  write_freg_bits<T>(h, frd(i), (a & ~kSign) | (s & kSign));
  return Flow::kNext;
}

template <class T, bool kMax>
Flow fminmax(Hart& h, const DecodedInsn& i) {
  const T a = read_freg<T>(h, i.rs1), b = read_freg<T>(h, i.rs2);
  if (is_snan(a) || is_snan(b)) accrue_fflags(h, kNV);
  write_freg(h, frd(i), min_max<kMax>(a, b));
  return Flow::kNext;
}

enum class Cmp { kEq, kLt, kLe };

// feq is a quiet comparison (NV only for signalling NaNs); flt and fle are
// signalling (NV for any NaN). Unordered compares false.
template <class T, Cmp kOp>
Flow fcmp(Hart& h, const DecodedInsn& i) {
  const T a = read_freg<T>(h, i.rs1), b = read_freg<T>(h, i.rs2);
  const bool unordered = std::isnan(a) || std::isnan(b);
  if (kOp == Cmp::kEq ? is_snan(a) || is_snan(b) : unordered) accrue_fflags(h, kNV);
  const bool r = kOp == Cmp::kEq ? a == b : kOp == Cmp::kLt ? a < b : a <= b;
  h.x[i.rd] = !unordered && r;
  return Flow::kNext;
}

template <class T>
Flow fclass(Hart& h, const DecodedInsn& i) {
  h.x[i.rd] = fclass_mask(read_freg<T>(h, i.rs1));
  return Flow::kNext;
}

// fcvt.{w,wu,l,lu}.{s,d}. RV64 sign-extends 32-bit results, unsigned ones too.
template <class I, class T>
Flow fcvt_to_int(Hart& h, const DecodedInsn& i, unsigned rm) {
  uint8_t flags = 0;
  const I v = to_int<I>(read_freg<T>(h, i.rs1), rm, flags);
  accrue_fflags(h, flags);
  h.x[i.rd] = sizeof(I) == 4 ? isa::sext32(static_cast<uint32_t>(v)) : static_cast<uint64_t>(v);
  return Flow::kNext;
}

// fcvt.{s,d}.{w,wu,l,lu}: the low 32 bits of x[rs1] for the W forms.
template <class T, class I>
Flow fcvt_from_int(Hart& h, const DecodedInsn& i, unsigned rm) {
  write_freg(h, frd(i), convert<T>(h, rm, static_cast<I>(h.x[i.rs1])));
  return Flow::kNext;
}

// fcvt.s.d and fcvt.d.s.
template <class T, class Src>
Flow fcvt_float(Hart& h, const DecodedInsn& i, unsigned rm) {
  write_freg(h, frd(i), convert<T>(h, rm, read_freg<Src>(h, i.rs1)));
  return Flow::kNext;
}

// fmv.x.w / fmv.x.d: raw bits, no boxing check; the W form sign-extends.
template <class T>
Flow fmv_to_int(Hart& h, const DecodedInsn& i) {
  const uint64_t v = h.f[i.rs1];
  h.x[i.rd] = std::is_same_v<T, float> ? isa::sext32(v) : v;
  return Flow::kNext;
}

template <class T>
Flow fmv_from_int(Hart& h, const DecodedInsn& i) {
  write_freg_bits<T>(h, frd(i), static_cast<FpBits<T>>(h.x[i.rs1]));
  return Flow::kNext;
}

// ---- instruction table ----

constexpr unsigned kFmtS = 0, kFmtD = 1;

// Masks: funct7 + opcode; plus rm (funct3); plus rs2; plus both.
constexpr uint32_t kMaskOp = 0xfe00007f, kMaskOpRm = 0xfe00707f, kMaskOpRs2 = 0xfff0007f,
                   kMaskOpRs2Rm = 0xfff0707f;
constexpr uint32_t kMaskR4 = 0x0600007f;   // fmt + opcode
constexpr uint32_t kMaskMem = 0x0000707f;  // width + opcode

// OP-FP encoding: funct5 | fmt | rs2 | rm | opcode.
constexpr uint32_t op_fp(uint32_t funct5, unsigned fmt, unsigned rs2 = 0, unsigned rm = 0) {
  return funct5 << 27 | fmt << 25 | rs2 << 20 | rm << 12 | isa::op::kOpFp;
}
constexpr uint32_t r4(uint32_t opcode, unsigned fmt) { return fmt << 25 | opcode; }
constexpr uint32_t mem(uint32_t opcode, unsigned width) { return width << 12 | opcode; }

using isa::op::kLoadFp, isa::op::kStoreFp, isa::op::kMadd, isa::op::kMsub, isa::op::kNmsub,
    isa::op::kNmadd;
using F = Format;
using i32 = int32_t;
using u32 = uint32_t;
using i64 = int64_t;
using u64 = uint64_t;

// The rows both precisions share, once: `n` picks the name of T's.
template <class T>
constexpr auto precision_table() {
  constexpr unsigned f = std::is_same_v<T, S> ? kFmtS : kFmtD;
  constexpr auto n = [](const char* single, const char* dbl) {
    return std::is_same_v<T, S> ? single : dbl;
  };
  return std::to_array<InsnSpec>({
      {n("fmadd.s", "fmadd.d"), r4(kMadd, f), kMaskR4, F::kR4, isa::dispatch<need_rm<fmadd<T, false, false>>>, 0},
      {n("fmsub.s", "fmsub.d"), r4(kMsub, f), kMaskR4, F::kR4, isa::dispatch<need_rm<fmadd<T, false, true>>>, 0},
      {n("fnmsub.s", "fnmsub.d"), r4(kNmsub, f), kMaskR4, F::kR4, isa::dispatch<need_rm<fmadd<T, true, false>>>, 0},
      {n("fnmadd.s", "fnmadd.d"), r4(kNmadd, f), kMaskR4, F::kR4, isa::dispatch<need_rm<fmadd<T, true, true>>>, 0},
      {n("fadd.s", "fadd.d"), op_fp(0x00, f), kMaskOp, F::kR, isa::dispatch<need_rm<arith2<T, Add>>>, 0},
      {n("fsub.s", "fsub.d"), op_fp(0x01, f), kMaskOp, F::kR, isa::dispatch<need_rm<arith2<T, Sub>>>, 0},
      {n("fmul.s", "fmul.d"), op_fp(0x02, f), kMaskOp, F::kR, isa::dispatch<need_rm<arith2<T, Mul>>>, 0},
      {n("fdiv.s", "fdiv.d"), op_fp(0x03, f), kMaskOp, F::kR, isa::dispatch<need_rm<arith2<T, Div>>>, 0},
      {n("fsqrt.s", "fsqrt.d"), op_fp(0x0b, f), kMaskOpRs2, F::kR, isa::dispatch<need_rm<arith1<T, Sqrt>>>, 0},
      {n("fsgnj.s", "fsgnj.d"), op_fp(0x04, f, 0, 0), kMaskOpRm, F::kR, isa::dispatch<need_fs<fsgnj<T, Sign::kCopy>>>, 0},
      {n("fsgnjn.s", "fsgnjn.d"), op_fp(0x04, f, 0, 1), kMaskOpRm, F::kR, isa::dispatch<need_fs<fsgnj<T, Sign::kNegate>>>, 0},
      {n("fsgnjx.s", "fsgnjx.d"), op_fp(0x04, f, 0, 2), kMaskOpRm, F::kR, isa::dispatch<need_fs<fsgnj<T, Sign::kXor>>>, 0},
      {n("fmin.s", "fmin.d"), op_fp(0x05, f, 0, 0), kMaskOpRm, F::kR, isa::dispatch<need_fs<fminmax<T, false>>>, 0},
      {n("fmax.s", "fmax.d"), op_fp(0x05, f, 0, 1), kMaskOpRm, F::kR, isa::dispatch<need_fs<fminmax<T, true>>>, 0},
      {n("fcvt.w.s", "fcvt.w.d"), op_fp(0x18, f, 0), kMaskOpRs2, F::kR, isa::dispatch<need_rm<fcvt_to_int<i32, T>>>, 0},
      {n("fcvt.wu.s", "fcvt.wu.d"), op_fp(0x18, f, 1), kMaskOpRs2, F::kR, isa::dispatch<need_rm<fcvt_to_int<u32, T>>>, 0},
      {n("fcvt.l.s", "fcvt.l.d"), op_fp(0x18, f, 2), kMaskOpRs2, F::kR, isa::dispatch<need_rm<fcvt_to_int<i64, T>>>, 0},
      {n("fcvt.lu.s", "fcvt.lu.d"), op_fp(0x18, f, 3), kMaskOpRs2, F::kR, isa::dispatch<need_rm<fcvt_to_int<u64, T>>>, 0},
      {n("fcvt.s.w", "fcvt.d.w"), op_fp(0x1a, f, 0), kMaskOpRs2, F::kR, isa::dispatch<need_rm<fcvt_from_int<T, i32>>>, 0},
      {n("fcvt.s.wu", "fcvt.d.wu"), op_fp(0x1a, f, 1), kMaskOpRs2, F::kR, isa::dispatch<need_rm<fcvt_from_int<T, u32>>>, 0},
      {n("fcvt.s.l", "fcvt.d.l"), op_fp(0x1a, f, 2), kMaskOpRs2, F::kR, isa::dispatch<need_rm<fcvt_from_int<T, i64>>>, 0},
      {n("fcvt.s.lu", "fcvt.d.lu"), op_fp(0x1a, f, 3), kMaskOpRs2, F::kR, isa::dispatch<need_rm<fcvt_from_int<T, u64>>>, 0},
      {n("fmv.x.w", "fmv.x.d"), op_fp(0x1c, f, 0, 0), kMaskOpRs2Rm, F::kR, isa::dispatch<need_fs<fmv_to_int<T>>>, 0},
      {n("fclass.s", "fclass.d"), op_fp(0x1c, f, 0, 1), kMaskOpRs2Rm, F::kR, isa::dispatch<need_fs<fclass<T>>>, 0},
      {n("fmv.w.x", "fmv.d.x"), op_fp(0x1e, f, 0, 0), kMaskOpRs2Rm, F::kR, isa::dispatch<need_fs<fmv_from_int<T>>>, 0},
      {n("feq.s", "feq.d"), op_fp(0x14, f, 0, 2), kMaskOpRm, F::kR, isa::dispatch<need_fs<fcmp<T, Cmp::kEq>>>, 0},
      {n("flt.s", "flt.d"), op_fp(0x14, f, 0, 1), kMaskOpRm, F::kR, isa::dispatch<need_fs<fcmp<T, Cmp::kLt>>>, 0},
      {n("fle.s", "fle.d"), op_fp(0x14, f, 0, 0), kMaskOpRm, F::kR, isa::dispatch<need_fs<fcmp<T, Cmp::kLe>>>, 0},
  });
}

template <class T, size_t A, size_t B>
constexpr std::array<T, A + B> concat(const std::array<T, A>& a, const std::array<T, B>& b) {
  std::array<T, A + B> out{};
  for (size_t k = 0; k < A; ++k) out[k] = a[k];
  for (size_t k = 0; k < B; ++k) out[A + k] = b[k];
  return out;
}

constexpr auto kTable = concat(
    concat(std::to_array<InsnSpec>({
               // loads and stores
               {"flw", mem(kLoadFp, 2), kMaskMem, F::kI, isa::dispatch<need_fs<fload<S>>>, 0},
               {"fld", mem(kLoadFp, 3), kMaskMem, F::kI, isa::dispatch<need_fs<fload<D>>>, 0},
               {"fsw", mem(kStoreFp, 2), kMaskMem, F::kS, isa::dispatch<need_fs<fstore<S>>>, 0},
               {"fsd", mem(kStoreFp, 3), kMaskMem, F::kS, isa::dispatch<need_fs<fstore<D>>>, 0},
               // conversions between the precisions
               {"fcvt.s.d", op_fp(0x08, kFmtS, 1), kMaskOpRs2, F::kR, isa::dispatch<need_rm<fcvt_float<S, D>>>, 0},
               {"fcvt.d.s", op_fp(0x08, kFmtD, 0), kMaskOpRs2, F::kR, isa::dispatch<need_rm<fcvt_float<D, S>>>, 0},
           }),
           precision_table<S>()),
    precision_table<D>());

}  // namespace

std::span<const InsnSpec> rv_fd_table() { return kTable; }

}  // namespace hs
