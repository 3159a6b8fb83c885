// PLACEHOLDER: CSRs.
#include "core/hart.hpp"
namespace hs {
bool Hart::csr_read(unsigned, const DecodedInsn&, uint64_t&) { return false; }
bool Hart::csr_write(unsigned, const DecodedInsn&, uint64_t) { return false; }
}  // namespace hs
