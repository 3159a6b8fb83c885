// RV64I base integer instructions + Zifencei.
//
// Handlers are instantiated from a few templates (register/immediate ALU op,
// branch condition, load/store width) over one-line operation functions, so
// each semantic rule is written once. Handlers use i.pc for the instruction's
// address: h.pc is only updated at block boundaries.
#include <cstdint>
#include <cstring>

#include "core/hart.hpp"
#include "core/insn.hpp"
#include "core/isa/dispatch.hpp"
#include "core/isa/isa_util.hpp"

namespace hs {

namespace {

using isa::sext32;
using Op = uint64_t (*)(uint64_t, uint64_t);
using Cond = bool (*)(uint64_t, uint64_t);

// ---- ALU operations (b is rs2 or the sign-extended immediate) ----
// Shift amounts are masked to 6 bits (5 for W forms): for immediates the
// decoder's table already rejects out-of-range shamts, and for registers the
// ISA defines the shift by the low bits.
constexpr uint64_t add(uint64_t a, uint64_t b) { return a + b; }
constexpr uint64_t sub(uint64_t a, uint64_t b) { return a - b; }
constexpr uint64_t sll(uint64_t a, uint64_t b) { return a << (b & 63); }
constexpr uint64_t srl(uint64_t a, uint64_t b) { return a >> (b & 63); }
constexpr uint64_t sra(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>(static_cast<int64_t>(a) >> (b & 63));
}
constexpr uint64_t slt(uint64_t a, uint64_t b) {
  return static_cast<int64_t>(a) < static_cast<int64_t>(b);
}
constexpr uint64_t sltu(uint64_t a, uint64_t b) { return a < b; }
constexpr uint64_t xor_(uint64_t a, uint64_t b) { return a ^ b; }
constexpr uint64_t or_(uint64_t a, uint64_t b) { return a | b; }
constexpr uint64_t and_(uint64_t a, uint64_t b) { return a & b; }

constexpr uint64_t addw(uint64_t a, uint64_t b) { return sext32(a + b); }
constexpr uint64_t subw(uint64_t a, uint64_t b) { return sext32(a - b); }
constexpr uint64_t sllw(uint64_t a, uint64_t b) {
  return sext32(static_cast<uint32_t>(a) << (b & 31));
}
constexpr uint64_t srlw(uint64_t a, uint64_t b) {
  return sext32(static_cast<uint32_t>(a) >> (b & 31));
}
constexpr uint64_t sraw(uint64_t a, uint64_t b) {
  return sext32(static_cast<uint32_t>(static_cast<int32_t>(a) >> (b & 31)));
}

template <Op Fn>
Flow op_rr(Hart& h, const DecodedInsn& i) {
  h.x[i.rd] = Fn(h.x[i.rs1], h.x[i.rs2]);
  return Flow::kNext;
}

template <Op Fn>
Flow op_ri(Hart& h, const DecodedInsn& i) {
  h.x[i.rd] = Fn(h.x[i.rs1], static_cast<uint64_t>(i.imm));
  return Flow::kNext;
}

Flow lui(Hart& h, const DecodedInsn& i) {
  h.x[i.rd] = static_cast<uint64_t>(i.imm);
  return Flow::kNext;
}

Flow auipc(Hart& h, const DecodedInsn& i) {
  h.x[i.rd] = i.pc + static_cast<uint64_t>(i.imm);
  return Flow::kNext;
}

// ---- control transfer ----
// Targets are never misaligned: with C implemented only bit 0 could break
// alignment, and jal/branch offsets are even while jalr clears bit 0.
Flow jal(Hart& h, const DecodedInsn& i) {
  h.x[i.rd] = i.pc + i.len;
  h.pc = i.pc + static_cast<uint64_t>(i.imm);
  return Flow::kJump;
}

Flow jalr(Hart& h, const DecodedInsn& i) {
  const uint64_t target = (h.x[i.rs1] + static_cast<uint64_t>(i.imm)) & ~uint64_t{1};
  h.x[i.rd] = i.pc + i.len;  // after reading rs1: rd may equal rs1
  h.pc = target;
  return Flow::kJump;
}

constexpr bool eq(uint64_t a, uint64_t b) { return a == b; }
constexpr bool ne(uint64_t a, uint64_t b) { return a != b; }
constexpr bool lt(uint64_t a, uint64_t b) {
  return static_cast<int64_t>(a) < static_cast<int64_t>(b);
}
constexpr bool ge(uint64_t a, uint64_t b) {
  return static_cast<int64_t>(a) >= static_cast<int64_t>(b);
}
constexpr bool ltu(uint64_t a, uint64_t b) { return a < b; }
constexpr bool geu(uint64_t a, uint64_t b) { return a >= b; }

template <Cond C>
Flow branch(Hart& h, const DecodedInsn& i) {
  if (!C(h.x[i.rs1], h.x[i.rs2])) return Flow::kNext;
  h.pc = i.pc + static_cast<uint64_t>(i.imm);
  return Flow::kJump;
}

// ---- memory ----
// T's signedness selects sign or zero extension: converting a signed value to
// uint64_t sign-extends it.
template <typename T>
Flow load(Hart& h, const DecodedInsn& i) {
  T v;
  if (!h.load(i, h.x[i.rs1] + static_cast<uint64_t>(i.imm), v)) return Flow::kTrap;
  h.x[i.rd] = static_cast<uint64_t>(v);
  return h.mem_done();
}

// The TLB hit paths of load and store (threaded_fast).
template <typename T>
bool load_hit(Hart& h, const DecodedInsn& i) {
  const void* p = h.data_hit<T>(kRead, h.x[i.rs1] + static_cast<uint64_t>(i.imm));
  if (!p) return false;
  T v;
  std::memcpy(&v, p, sizeof(T));
  h.x[i.rd] = static_cast<uint64_t>(v);
  return true;
}

template <typename T>
bool store_hit(Hart& h, const DecodedInsn& i) {
  void* p = h.data_hit<T>(kWrite, h.x[i.rs1] + static_cast<uint64_t>(i.imm));
  if (!p) return false;
  const T v = static_cast<T>(h.x[i.rs2]);
  std::memcpy(p, &v, sizeof(T));
  return true;
}

template <typename T>
Flow store(Hart& h, const DecodedInsn& i) {
  if (!h.store(i, h.x[i.rs1] + static_cast<uint64_t>(i.imm), static_cast<T>(h.x[i.rs2])))
    return Flow::kTrap;
  return h.mem_done();
}

// A single hart observes its own memory operations in order, and devices see
// accesses as they happen, so FENCE (incl. FENCE.TSO and PAUSE) orders nothing.
Flow fence(Hart&, const DecodedInsn&) { return Flow::kNext; }

// FENCE.I makes earlier stores visible to later fetches. Hindsight is always
// that coherent: every store to a page holding decoded blocks (CPU, AMO, DMA)
// goes through the bus, which invalidates them at once (core/block_cache.hpp).
// So there is nothing to drop; the block still ends here.
Flow fence_i(Hart&, const DecodedInsn&) { return Flow::kEndBlock; }

using F = Format;
constexpr uint32_t kR = 0xfe00707f;    // funct7 + funct3 + opcode
constexpr uint32_t kF3 = 0x0000707f;   // funct3 + opcode
constexpr uint32_t kSh6 = 0xfc00707f;  // funct6 + funct3 + opcode (RV64 shamt[5] free)
constexpr uint32_t kOpc = 0x0000007f;  // opcode only

constexpr InsnSpec kTable[] = {
    {"lui", 0x00000037, kOpc, F::kU, isa::dispatch<lui>, 0},
    {"auipc", 0x00000017, kOpc, F::kU, isa::dispatch<auipc>, 0},
    {"jal", 0x0000006f, kOpc, F::kJ, isa::dispatch<jal>, kEndsBlock},
    {"jalr", 0x00000067, kF3, F::kI, isa::dispatch<jalr>, kEndsBlock},

    {"beq", 0x00000063, kF3, F::kB, isa::dispatch<branch<eq>>, 0},
    {"bne", 0x00001063, kF3, F::kB, isa::dispatch<branch<ne>>, 0},
    {"blt", 0x00004063, kF3, F::kB, isa::dispatch<branch<lt>>, 0},
    {"bge", 0x00005063, kF3, F::kB, isa::dispatch<branch<ge>>, 0},
    {"bltu", 0x00006063, kF3, F::kB, isa::dispatch<branch<ltu>>, 0},
    {"bgeu", 0x00007063, kF3, F::kB, isa::dispatch<branch<geu>>, 0},

    {"lb", 0x00000003, kF3, F::kI, isa::dispatch_fast<load_hit<int8_t>, load<int8_t>>, 0},
    {"lh", 0x00001003, kF3, F::kI, isa::dispatch_fast<load_hit<int16_t>, load<int16_t>>, 0},
    {"lw", 0x00002003, kF3, F::kI, isa::dispatch_fast<load_hit<int32_t>, load<int32_t>>, 0},
    {"ld", 0x00003003, kF3, F::kI, isa::dispatch_fast<load_hit<uint64_t>, load<uint64_t>>, 0},
    {"lbu", 0x00004003, kF3, F::kI, isa::dispatch_fast<load_hit<uint8_t>, load<uint8_t>>, 0},
    {"lhu", 0x00005003, kF3, F::kI, isa::dispatch_fast<load_hit<uint16_t>, load<uint16_t>>, 0},
    {"lwu", 0x00006003, kF3, F::kI, isa::dispatch_fast<load_hit<uint32_t>, load<uint32_t>>, 0},
    {"sb", 0x00000023, kF3, F::kS, isa::dispatch_fast<store_hit<uint8_t>, store<uint8_t>>, 0},
    {"sh", 0x00001023, kF3, F::kS, isa::dispatch_fast<store_hit<uint16_t>, store<uint16_t>>, 0},
    {"sw", 0x00002023, kF3, F::kS, isa::dispatch_fast<store_hit<uint32_t>, store<uint32_t>>, 0},
    {"sd", 0x00003023, kF3, F::kS, isa::dispatch_fast<store_hit<uint64_t>, store<uint64_t>>, 0},

    {"addi", 0x00000013, kF3, F::kI, isa::dispatch<op_ri<add>>, 0},
    {"slti", 0x00002013, kF3, F::kI, isa::dispatch<op_ri<slt>>, 0},
    {"sltiu", 0x00003013, kF3, F::kI, isa::dispatch<op_ri<sltu>>, 0},
    {"xori", 0x00004013, kF3, F::kI, isa::dispatch<op_ri<xor_>>, 0},
    {"ori", 0x00006013, kF3, F::kI, isa::dispatch<op_ri<or_>>, 0},
    {"andi", 0x00007013, kF3, F::kI, isa::dispatch<op_ri<and_>>, 0},
    {"slli", 0x00001013, kSh6, F::kI, isa::dispatch<op_ri<sll>>, 0},
    {"srli", 0x00005013, kSh6, F::kI, isa::dispatch<op_ri<srl>>, 0},
    {"srai", 0x40005013, kSh6, F::kI, isa::dispatch<op_ri<sra>>, 0},

    {"add", 0x00000033, kR, F::kR, isa::dispatch<op_rr<add>>, 0},
    {"sub", 0x40000033, kR, F::kR, isa::dispatch<op_rr<sub>>, 0},
    {"sll", 0x00001033, kR, F::kR, isa::dispatch<op_rr<sll>>, 0},
    {"slt", 0x00002033, kR, F::kR, isa::dispatch<op_rr<slt>>, 0},
    {"sltu", 0x00003033, kR, F::kR, isa::dispatch<op_rr<sltu>>, 0},
    {"xor", 0x00004033, kR, F::kR, isa::dispatch<op_rr<xor_>>, 0},
    {"srl", 0x00005033, kR, F::kR, isa::dispatch<op_rr<srl>>, 0},
    {"sra", 0x40005033, kR, F::kR, isa::dispatch<op_rr<sra>>, 0},
    {"or", 0x00006033, kR, F::kR, isa::dispatch<op_rr<or_>>, 0},
    {"and", 0x00007033, kR, F::kR, isa::dispatch<op_rr<and_>>, 0},

    {"addiw", 0x0000001b, kF3, F::kI, isa::dispatch<op_ri<addw>>, 0},
    {"slliw", 0x0000101b, kR, F::kI, isa::dispatch<op_ri<sllw>>, 0},
    {"srliw", 0x0000501b, kR, F::kI, isa::dispatch<op_ri<srlw>>, 0},
    {"sraiw", 0x4000501b, kR, F::kI, isa::dispatch<op_ri<sraw>>, 0},
    {"addw", 0x0000003b, kR, F::kR, isa::dispatch<op_rr<addw>>, 0},
    {"subw", 0x4000003b, kR, F::kR, isa::dispatch<op_rr<subw>>, 0},
    {"sllw", 0x0000103b, kR, F::kR, isa::dispatch<op_rr<sllw>>, 0},
    {"srlw", 0x0000503b, kR, F::kR, isa::dispatch<op_rr<srlw>>, 0},
    {"sraw", 0x4000503b, kR, F::kR, isa::dispatch<op_rr<sraw>>, 0},

    // fm/pred/succ/rs1/rd are ignored for forward compatibility (ISA §2.7), as
    // are FENCE.I's imm/rs1/rd (Zifencei).
    {"fence", 0x0000000f, kF3, F::kNone, isa::dispatch<fence>, 0},
    {"fence.i", 0x0000100f, kF3, F::kNone, isa::dispatch<fence_i>, kEndsBlock},
};

}  // namespace

std::span<const InsnSpec> rv_i_table() { return kTable; }

}  // namespace hs
