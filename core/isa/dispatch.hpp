// Table helpers: both entry points of an instruction (InsnHandlers) from the
// one handler that holds its semantics.
#pragma once

#include "core/hart.hpp"
#include "core/insn.hpp"

namespace hs::isa {

// dispatch<F>: F alone, and F under threaded dispatch.
template <Handler F>
constexpr InsnHandlers dispatch{threaded<F>, F};

// dispatch_fast<Fast, Full>: Full alone, and threaded dispatch that tries the
// frameless Fast path first (see threaded_fast).
template <bool (*Fast)(Hart&, const DecodedInsn&), Handler Full>
constexpr InsnHandlers dispatch_fast{threaded_fast<Fast, Full>, Full};

}  // namespace hs::isa
