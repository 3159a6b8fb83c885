// PLACEHOLDER: bare (untranslated) memory slow paths, no PMP.
#include "core/hart.hpp"
namespace hs {
void Hart::tlb_flush() { for (auto& m : tlb_) for (auto& t : m) for (auto& e : t) e = TlbEntry{}; }
void Hart::tlb_flush_writes() { for (auto& m : tlb_) for (auto& e : m[kWrite]) e = TlbEntry{}; }
bool Hart::translate(uint64_t va, AccessType, unsigned, PAddr& pa) { pa = PAddr{va}; return true; }
bool Hart::pmp_allows(PAddr, uint64_t, AccessType, Priv) const { return true; }
bool Hart::load_slow(const DecodedInsn& i, uint64_t va, unsigned size, uint64_t& out) {
  cur_idx = i.idx;
  if (bus_.read(PAddr{va}, size, out)) { block_exit |= bus_.is_mmio(PAddr{va}); return true; }
  trap_cause = cause::kLoadAccessFault; trap_tval = va; return false;
}
bool Hart::store_slow(const DecodedInsn& i, uint64_t va, unsigned size, uint64_t value) {
  cur_idx = i.idx;
  if (bus_.write(PAddr{va}, size, value)) { block_exit = true; return true; }
  trap_cause = cause::kStoreAccessFault; trap_tval = va; return false;
}
void* Hart::amo_slow(const DecodedInsn&, uint64_t va, unsigned size) {
  auto* m = bus_.find_memory(PAddr{va}, size);
  if (!m || (va & (size - 1))) { trap_cause = cause::kStoreAccessFault; trap_tval = va; return nullptr; }
  return m->host + (va - m->base.v);
}
const uint8_t* Hart::fetch_slow(uint64_t va, PAddr& pa) {
  auto* m = bus_.find_memory(PAddr{va}, 2);
  if (!m) { trap_cause = cause::kInsnAccessFault; trap_tval = va; return nullptr; }
  pa = PAddr{va};
  return m->host + (va - m->base.v);
}
}  // namespace hs
