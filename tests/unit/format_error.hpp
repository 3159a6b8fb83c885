// The FormatError a callable throws, if any: for tests that inspect the
// error's file, offset and reason.
#pragma once

#include <functional>
#include <optional>

#include "schemas/framing.hpp"

namespace hs::test {

inline std::optional<FormatError> format_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e;
  }
  return std::nullopt;
}

}  // namespace hs::test
