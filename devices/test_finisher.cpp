#include "devices/test_finisher.hpp"

#include <utility>

namespace hs {

TestFinisher::TestFinisher(std::function<void(int)> on_exit, std::function<void()> on_reset)
    : on_exit_(std::move(on_exit)), on_reset_(std::move(on_reset)) {}

bool TestFinisher::read(uint64_t offset, unsigned size, uint64_t& value) {
  if (!valid(offset, size)) return false;
  value = 0;
  return true;
}

bool TestFinisher::write(uint64_t offset, unsigned size, uint64_t value) {
  if (!valid(offset, size)) return false;
  // A 16-bit store carries only the command; the code is then 0, which is
  // what QEMU reports for it as well.
  const uint32_t command = value & 0xffff;
  const int code = static_cast<int>((value >> 16) & 0xffff);
  switch (command) {
    case kCmdPass:
      if (on_exit_) on_exit_(0);
      break;
    case kCmdFail:
      if (on_exit_) on_exit_(code);
      break;
    case kCmdReset:
      if (on_reset_) on_reset_();
      break;
    default:
      break;  // unknown command: ignored, as on QEMU
  }
  return true;
}

}  // namespace hs
