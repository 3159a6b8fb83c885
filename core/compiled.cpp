#include "core/compiled.hpp"

#include "core/hart.hpp"

namespace hs {

namespace {
TierFactory& factory_slot() {
  static TierFactory f;
  return f;
}

// The instruction a slow path is called for: index 0 of its unit, whose
// position the generated code wrote back to the hart before the call.
constexpr DecodedInsn kUnitInsn{};
}  // namespace

void set_tier_factory(TierFactory factory) { factory_slot() = std::move(factory); }
const TierFactory& tier_factory() { return factory_slot(); }

HartLayout Hart::layout() const {
  const auto at = [this](const void* field) {
    return static_cast<size_t>(static_cast<const char*>(field) - reinterpret_cast<const char*>(this));
  };
  return HartLayout{at(x),        at(f),    at(&pc),         at(&position), at(&instret),
                    at(&dtlb),    at(tlb_), at(&block_exit)};
}

extern "C" bool hs_jit_load(Hart* h, uint64_t va, uint32_t size, uint64_t* out) {
  switch (size) {
    case 1: {
      uint8_t v;
      if (!h->load(kUnitInsn, va, v)) return false;
      *out = v;
      return true;
    }
    case 2: {
      uint16_t v;
      if (!h->load(kUnitInsn, va, v)) return false;
      *out = v;
      return true;
    }
    case 4: {
      uint32_t v;
      if (!h->load(kUnitInsn, va, v)) return false;
      *out = v;
      return true;
    }
    default:
      return h->load(kUnitInsn, va, *out);
  }
}

extern "C" bool hs_jit_store(Hart* h, uint64_t va, uint32_t size, uint64_t value) {
  switch (size) {
    case 1:
      return h->store(kUnitInsn, va, static_cast<uint8_t>(value));
    case 2:
      return h->store(kUnitInsn, va, static_cast<uint16_t>(value));
    case 4:
      return h->store(kUnitInsn, va, static_cast<uint32_t>(value));
    default:
      return h->store(kUnitInsn, va, value);
  }
}

extern "C" uint8_t hs_jit_exec(Hart* h, const DecodedInsn* insn) {
  const Flow f = insn->fn(*h, *insn);
  // Where the unit ends: pc, position and instret as Machine::run_block
  // leaves them (a jump's handler has set pc).
  if (f != Flow::kNext) {
    if (f == Flow::kTrap) {
      h->pc = insn->pc;
    } else {
      if (f != Flow::kJump) h->pc = insn->pc + insn->len;
      ++h->position;
      ++h->instret;
    }
  }
  return static_cast<uint8_t>(f);
}

}  // namespace hs
