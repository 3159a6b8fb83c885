// PLACEHOLDER: replaced by the extension's handlers and table.
#include "core/insn.hpp"
namespace hs {
std::span<const InsnSpec> rv_system_table() { return {}; }
}  // namespace hs
