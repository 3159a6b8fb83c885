#include "devices/plic.hpp"

namespace hs {

Plic::Plic(std::array<IrqLine, kNumContexts> outputs) : outputs_(outputs) {}

void Plic::set_bit(std::array<uint32_t, kWords>& bm, unsigned src, bool on) {
  const uint32_t m = 1u << (src % 32);
  if (on)
    bm[src / 32] |= m;
  else
    bm[src / 32] &= ~m;
}

bool Plic::read(uint64_t offset, unsigned size, uint64_t& value) {
  if (size != 4 || offset % 4) return false;
  if (offset < kPendingBase) {
    const uint64_t src = (offset - kPriorityBase) / 4;
    value = src < kNumSources ? s_.priority[src] : 0;
    return true;
  }
  if (offset >= kPendingBase && offset < kPendingBase + kMaxSources / 8) {
    const uint64_t word = (offset - kPendingBase) / 4;
    value = word < kWords ? s_.pending[word] : 0;
    return true;
  }
  if (offset >= kEnableBase && offset < kEnableBase + kEnableStride * kNumContexts) {
    const uint64_t ctx = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
    value = word < kWords ? s_.enable[ctx][word] : 0;
    return true;
  }
  if (offset >= kContextBase && offset < kContextBase + kContextStride * kNumContexts) {
    const unsigned ctx = static_cast<unsigned>((offset - kContextBase) / kContextStride);
    const uint64_t reg = (offset - kContextBase) % kContextStride;
    if (reg == kThresholdOffset) {
      value = s_.threshold[ctx];
      return true;
    }
    if (reg == kClaimOffset) {
      value = claim(ctx);
      return true;
    }
  }
  return false;
}

bool Plic::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 4 || offset % 4) return false;
  const uint32_t v = static_cast<uint32_t>(value);
  if (offset < kPendingBase) {
    const uint64_t src = (offset - kPriorityBase) / 4;
    // Source 0 and sources we do not have: hardwired to 0.
    if (src == 0 || src >= kNumSources) return true;
    s_.priority[src] = v & kPriorityMask;
    update();
    return true;
  }
  if (offset >= kPendingBase && offset < kPendingBase + kMaxSources / 8) {
    return true;  // pending bits are read-only; the gateway owns them
  }
  if (offset >= kEnableBase && offset < kEnableBase + kEnableStride * kNumContexts) {
    const uint64_t ctx = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
    if (word >= kWords) return true;
    s_.enable[ctx][word] = word == 0 ? v & ~1u : v;  // source 0 cannot be enabled
    update();
    return true;
  }
  if (offset >= kContextBase && offset < kContextBase + kContextStride * kNumContexts) {
    const unsigned ctx = static_cast<unsigned>((offset - kContextBase) / kContextStride);
    const uint64_t reg = (offset - kContextBase) % kContextStride;
    if (reg == kThresholdOffset) {
      s_.threshold[ctx] = v & kPriorityMask;
      update();
      return true;
    }
    if (reg == kClaimOffset) {
      complete(ctx, v);
      return true;
    }
  }
  return false;
}

void Plic::set_irq(unsigned line, bool level) {
  if (line == 0 || line >= kNumSources) return;
  set_bit(s_.level, line, level);
  // While in service the gateway holds further requests back; complete()
  // looks at the level again.
  if (!bit(s_.claimed, line)) set_bit(s_.pending, line, level);
  update();
}

unsigned Plic::best_source(unsigned ctx) const {
  unsigned best = 0;
  uint32_t best_prio = 0;
  for (unsigned w = 0; w < kWords; ++w) {
    uint32_t cand = s_.pending[w] & ~s_.claimed[w] & s_.enable[ctx][w];
    while (cand) {
      const unsigned src = w * 32 + static_cast<unsigned>(__builtin_ctz(cand));
      cand &= cand - 1;
      if (s_.priority[src] > best_prio) {
        best_prio = s_.priority[src];
        best = src;
      }
    }
  }
  return best;
}

uint32_t Plic::claim(unsigned ctx) {
  const unsigned src = best_source(ctx);
  if (src != 0) {
    set_bit(s_.pending, src, false);
    set_bit(s_.claimed, src, true);
    update();
  }
  return src;
}

void Plic::complete(unsigned ctx, uint32_t src) {
  // The spec ignores completions for sources not enabled for this context;
  // completing a source that is not in service is likewise a no-op.
  if (src == 0 || src >= kNumSources || !bit(s_.enable[ctx], src) || !bit(s_.claimed, src)) return;
  set_bit(s_.claimed, src, false);
  if (bit(s_.level, src)) set_bit(s_.pending, src, true);
  update();
}

void Plic::update() {
  for (unsigned ctx = 0; ctx < kNumContexts; ++ctx) {
    const unsigned src = best_source(ctx);
    const bool level = src != 0 && s_.priority[src] > s_.threshold[ctx];
    if (level == s_.output[ctx]) continue;
    s_.output[ctx] = level;
    outputs_[ctx].set(level);
  }
}

void Plic::restore(const State& s) {
  s_ = s;
  for (unsigned ctx = 0; ctx < kNumContexts; ++ctx) outputs_[ctx].set(s_.output[ctx]);
}

}  // namespace hs
