// Instruction decoder built from the per-extension instruction tables.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/insn.hpp"

namespace hs {

class Decoder {
 public:
  // Builds the lookup structure from every table slice (rv_*_table()).
  Decoder();

  // Instruction length from its low 16 bits: 2 (compressed) or 4.
  static constexpr unsigned length(uint32_t low16) { return (low16 & 3) == 3 ? 4 : 2; }

  // Decodes one instruction at `pc`. `raw` holds the encoding (only the low 16
  // bits matter for a compressed one). Never fails: an illegal or unimplemented
  // encoding decodes to a handler that raises an illegal-instruction trap with
  // tval = the original encoding. `flags` receives the spec's InsnFlags (kEndsBlock
  // for illegal ones too). idx is left 0 for the caller to set.
  DecodedInsn decode(uint32_t raw, uint64_t pc, uint8_t& flags) const;

  // All specs, in table order; DecodedInsn::spec indexes this.
  std::span<const InsnSpec> specs() const { return specs_; }
  const char* name(const DecodedInsn& d) const;

 private:
  std::vector<InsnSpec> specs_;
  // Specs grouped by major opcode (bits 6:0), most specific mask first.
  std::vector<uint16_t> by_opcode_[128];
};

// Expands a 16-bit RVC encoding into its 32-bit equivalent; 0 if illegal/reserved.
uint32_t expand_compressed(uint16_t c);

}  // namespace hs
