#include "core/compiled.hpp"

#include "core/block_cache.hpp"
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
  return HartLayout{at(x),    at(f),    at(&pc),         at(&position),   at(&instret),
                    at(&dtlb), at(tlb_), at(&block_exit), at(&chain_until), at(&reenter_until),
                    at(&chain_gen), at(jump_cache), at(&priv), at(jit_helpers)};
}

namespace {
// Position and instret of the instruction a slow path runs for.
void sync(Hart& h, uint64_t position) {
  h.instret += position - h.position;
  h.position = position;
}

// After a load or store that did not trap: kEndBlock if it set block_exit
// (a device or a code page: the unit ends after `insn`, as a block would).
JitSlowResult access_done(Hart& h, const DecodedInsn& insn, uint64_t value) {
  if (!h.block_exit) [[likely]]
    return {value, static_cast<uint64_t>(Flow::kNext)};
  h.pc = insn.pc + insn.len;
  ++h.position;
  ++h.instret;
  return {value, static_cast<uint64_t>(Flow::kEndBlock)};
}

// A load of U, extended to 64 bits as S (signed) or U (info & 0x10).
template <typename U, typename S>
bool load_as(Hart& h, uint64_t va, uint64_t info, uint64_t& out) {
  U v;
  if (!h.load(kUnitInsn, va, v)) return false;
  out = (info & 0x10) ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<S>(v))) : v;
  return true;
}

JitSlowResult trapped(Hart& h, const DecodedInsn& insn) {
  h.pc = insn.pc;
  return {0, static_cast<uint64_t>(Flow::kTrap)};
}
}  // namespace

extern "C" JitSlowResult hs_jit_load(Hart* h, const DecodedInsn* insn, uint64_t va, uint64_t info,
                                     uint64_t position) {
  sync(*h, position);
  uint64_t v;
  bool ok;
  switch (info & 0xf) {
    case 1: ok = load_as<uint8_t, int8_t>(*h, va, info, v); break;
    case 2: ok = load_as<uint16_t, int16_t>(*h, va, info, v); break;
    case 4: ok = load_as<uint32_t, int32_t>(*h, va, info, v); break;
    default: ok = h->load(kUnitInsn, va, v); break;
  }
  if (!ok) return trapped(*h, *insn);
  // Ending the unit: x[rd] is written here, not by the unit.
  if (h->block_exit) h->x[insn->rd] = v;
  return access_done(*h, *insn, v);
}

extern "C" JitSlowResult hs_jit_store(Hart* h, const DecodedInsn* insn, uint64_t va, uint64_t value,
                                      uint64_t size, uint64_t position) {
  sync(*h, position);
  bool ok;
  switch (size) {
    case 1: ok = h->store(kUnitInsn, va, static_cast<uint8_t>(value)); break;
    case 2: ok = h->store(kUnitInsn, va, static_cast<uint16_t>(value)); break;
    case 4: ok = h->store(kUnitInsn, va, static_cast<uint32_t>(value)); break;
    default: ok = h->store(kUnitInsn, va, value); break;
  }
  if (!ok) return trapped(*h, *insn);
  return access_done(*h, *insn, 0);
}

extern "C" uint8_t hs_jit_exec(Hart* h, const DecodedInsn* insn, uint64_t position) {
  sync(*h, position);
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

uint64_t new_chain_generation() {
  static std::atomic<uint64_t> last{0};
  return ++last;
}

bool chain_slot_holds(const Hart& h, const ChainSlot& slot, uint64_t pc) {
  const uint8_t* host = h.fetch_hit(pc);
  return slot.unit && slot.pc == pc && slot.gen == h.chain_gen && host &&
         reinterpret_cast<uintptr_t>(host) - pc == slot.addend;
}

extern "C" JitChainResult hs_jit_chain(Hart* h, ChainSlot* slot) {
  const uint64_t pc = h->pc;
  const uint8_t* host = h->fetch_hit(pc);
  // The loop checks breakpoints between units: a slot never names one.
  if (!host || h->chain_blocks->breakpoint_at(pc)) return {};
  Block* b = h->chain_blocks->probe(pc, host);
  if (!b || !b->unit) return {};
  *slot = ChainSlot{pc, h->chain_gen, b->unit, reinterpret_cast<uintptr_t>(host) - pc};
  return {b->unit->entry.load(std::memory_order_acquire), b->unit};
}

}  // namespace hs
