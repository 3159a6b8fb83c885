// A user mistake (bad option, missing or unusable file): reported as one line
// on stderr with exit code 2, never as a crash.
#pragma once

#include <stdexcept>
#include <string>

namespace hs {

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace hs
