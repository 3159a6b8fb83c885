// RV64A: load-reserved/store-conditional and atomic memory operations.
//
// One hart, so atomicity is automatic; what matters is the architectural
// behaviour: natural alignment is required (misaligned LR raises a load
// address-misaligned trap, SC/AMO a store/AMO address-misaligned trap — the
// spec allows an access fault instead; we pick misaligned, checked here so it
// does not depend on the MMU slow path), the reservation is a virtual address
// in HartState, and W results are sign-extended. The aq/rl bits order nothing
// on a single hart and are ignored by the table masks.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/hart.hpp"
#include "core/insn.hpp"
#include "core/isa/dispatch.hpp"

namespace hs {

namespace {

template <typename T>
constexpr bool misaligned(uint64_t va) {
  return (va & (sizeof(T) - 1)) != 0;
}

// T is int32_t or int64_t: converting the loaded value to uint64_t
// sign-extends W results.
template <typename T>
Flow lr(Hart& h, const DecodedInsn& i) {
  const uint64_t va = h.x[i.rs1];
  if (misaligned<T>(va)) return h.raise(cause::kLoadMisaligned, va);
  T v;
  if (!h.load(i, va, v)) return Flow::kTrap;
  h.x[i.rd] = static_cast<uint64_t>(v);
  h.reservation = va;
  h.reservation_valid = true;
  return h.mem_done();
}

// A failing SC performs no access (and so raises no access/page fault); the
// spec leaves that choice to the implementation. Every SC clears the
// reservation, including one that traps, but not one stopped by a debugger
// watchpoint: it has not executed yet.
template <typename T>
Flow sc(Hart& h, const DecodedInsn& i) {
  const uint64_t va = h.x[i.rs1];
  const bool reserved = h.reservation_valid && h.reservation == va;
  Flow f;
  if (misaligned<T>(va)) {
    f = h.raise(cause::kStoreMisaligned, va);
  } else if (!reserved) {
    h.x[i.rd] = 1;
    f = Flow::kNext;
  } else if (!h.store(i, va, static_cast<T>(h.x[i.rs2]))) {
    f = Flow::kTrap;
  } else {
    h.x[i.rd] = 0;
    f = h.mem_done();
  }
  if (f != Flow::kTrap || h.trap_cause != cause::kWatchStop) h.reservation_valid = false;
  return f;
}

// ---- AMO operations on the memory value m and the register value r ----
template <typename T>
constexpr T swap_(T, T r) {
  return r;
}
template <typename T>
constexpr T add_(T m, T r) {
  using U = std::make_unsigned_t<T>;  // wrap-around without signed overflow UB
  return static_cast<T>(static_cast<U>(m) + static_cast<U>(r));
}
template <typename T>
constexpr T xor_(T m, T r) {
  return m ^ r;
}
template <typename T>
constexpr T and_(T m, T r) {
  return m & r;
}
template <typename T>
constexpr T or_(T m, T r) {
  return m | r;
}
template <typename T>
constexpr T min_(T m, T r) {
  return std::min(m, r);
}
template <typename T>
constexpr T max_(T m, T r) {
  return std::max(m, r);
}
template <typename T>
constexpr T minu_(T m, T r) {
  using U = std::make_unsigned_t<T>;
  return static_cast<U>(m) < static_cast<U>(r) ? m : r;
}
template <typename T>
constexpr T maxu_(T m, T r) {
  using U = std::make_unsigned_t<T>;
  return static_cast<U>(m) > static_cast<U>(r) ? m : r;
}

template <typename T, T (*Fn)(T, T)>
Flow amo(Hart& h, const DecodedInsn& i) {
  const uint64_t va = h.x[i.rs1];
  if (misaligned<T>(va)) return h.raise(cause::kStoreMisaligned, va);
  T* ref;
  if (!h.amo_ref(i, va, ref)) return Flow::kTrap;
  const T old = *ref;
  *ref = Fn(old, static_cast<T>(h.x[i.rs2]));
  h.x[i.rd] = static_cast<uint64_t>(old);  // after reading rs2: rd may equal rs2
  return h.mem_done();
}

constexpr uint32_t kAmo = 0xf800707f;  // funct5 + funct3 + opcode; aq/rl free
constexpr uint32_t kLr = 0xf9f0707f;   // LR also requires rs2 == 0
constexpr Format R = Format::kR;
constexpr uint32_t W = 2, D = 3;  // funct3: access width

constexpr uint32_t match(uint32_t funct5, uint32_t width) {
  return funct5 << 27 | width << 12 | 0x2f;
}

constexpr InsnSpec kTable[] = {
    {"lr.w", match(0x02, W), kLr, R, isa::dispatch<lr<int32_t>>, 0},
    {"lr.d", match(0x02, D), kLr, R, isa::dispatch<lr<int64_t>>, 0},
    {"sc.w", match(0x03, W), kAmo, R, isa::dispatch<sc<uint32_t>>, 0},
    {"sc.d", match(0x03, D), kAmo, R, isa::dispatch<sc<uint64_t>>, 0},
    {"amoswap.w", match(0x01, W), kAmo, R, isa::dispatch<amo<int32_t, swap_<int32_t>>>, 0},
    {"amoswap.d", match(0x01, D), kAmo, R, isa::dispatch<amo<int64_t, swap_<int64_t>>>, 0},
    {"amoadd.w", match(0x00, W), kAmo, R, isa::dispatch<amo<int32_t, add_<int32_t>>>, 0},
    {"amoadd.d", match(0x00, D), kAmo, R, isa::dispatch<amo<int64_t, add_<int64_t>>>, 0},
    {"amoxor.w", match(0x04, W), kAmo, R, isa::dispatch<amo<int32_t, xor_<int32_t>>>, 0},
    {"amoxor.d", match(0x04, D), kAmo, R, isa::dispatch<amo<int64_t, xor_<int64_t>>>, 0},
    {"amoand.w", match(0x0c, W), kAmo, R, isa::dispatch<amo<int32_t, and_<int32_t>>>, 0},
    {"amoand.d", match(0x0c, D), kAmo, R, isa::dispatch<amo<int64_t, and_<int64_t>>>, 0},
    {"amoor.w", match(0x08, W), kAmo, R, isa::dispatch<amo<int32_t, or_<int32_t>>>, 0},
    {"amoor.d", match(0x08, D), kAmo, R, isa::dispatch<amo<int64_t, or_<int64_t>>>, 0},
    {"amomin.w", match(0x10, W), kAmo, R, isa::dispatch<amo<int32_t, min_<int32_t>>>, 0},
    {"amomin.d", match(0x10, D), kAmo, R, isa::dispatch<amo<int64_t, min_<int64_t>>>, 0},
    {"amomax.w", match(0x14, W), kAmo, R, isa::dispatch<amo<int32_t, max_<int32_t>>>, 0},
    {"amomax.d", match(0x14, D), kAmo, R, isa::dispatch<amo<int64_t, max_<int64_t>>>, 0},
    {"amominu.w", match(0x18, W), kAmo, R, isa::dispatch<amo<int32_t, minu_<int32_t>>>, 0},
    {"amominu.d", match(0x18, D), kAmo, R, isa::dispatch<amo<int64_t, minu_<int64_t>>>, 0},
    {"amomaxu.w", match(0x1c, W), kAmo, R, isa::dispatch<amo<int32_t, maxu_<int32_t>>>, 0},
    {"amomaxu.d", match(0x1c, D), kAmo, R, isa::dispatch<amo<int64_t, maxu_<int64_t>>>, 0},
};

}  // namespace

std::span<const InsnSpec> rv_a_table() { return kTable; }

}  // namespace hs
