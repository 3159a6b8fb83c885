// PLACEHOLDER: RVC expansion.
#include "core/decoder.hpp"
namespace hs {
uint32_t expand_compressed(uint16_t) { return 0; }
}  // namespace hs
