// PLACEHOLDER: decoder.
#include "core/decoder.hpp"
namespace hs {
Decoder::Decoder() {}
DecodedInsn Decoder::decode(uint32_t raw, uint64_t pc, uint8_t& flags) const {
  flags = kEndsBlock;
  return DecodedInsn{nullptr, pc, raw, raw, 0, 0, 0, 0, 4, 0, 0};
}
const char* Decoder::name(const DecodedInsn&) const { return "?"; }
}  // namespace hs
