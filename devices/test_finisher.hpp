// SiFive test finisher ("sifive,test0" / "sifive,test1"), as on QEMU's virt
// board: a single write-only register through which firmware and kernels
// power the machine off (pass or fail with an exit code) or reset it.
//
// Register map (offset 0, 16- or 32-bit writes, QEMU's access rule):
//   low 16 bits = command, high 16 bits = exit code for kFail.
//   0x5555 pass   -> on_exit(0)
//   0x3333 fail   -> on_exit(code)   (QEMU: exit status = code)
//   0x7777 reset  -> on_reset()
// Other commands are ignored (QEMU logs them as guest errors). Reads return 0.
// The device has no state: a command takes effect at the store that issues it.
#pragma once

#include <cstdint>
#include <functional>

#include "core/device.hpp"

namespace hs {

class TestFinisher : public Device {
 public:
  static constexpr uint64_t kSize = 0x1000;
  static constexpr uint64_t kRegControl = 0x0;
  static constexpr uint32_t kCmdFail = 0x3333;
  static constexpr uint32_t kCmdPass = 0x5555;
  static constexpr uint32_t kCmdReset = 0x7777;

  // Either callback may be empty (the command is then ignored).
  TestFinisher(std::function<void(int)> on_exit, std::function<void()> on_reset);

  const char* name() const override { return "sifive_test"; }
  // Offset 0 only, 2- or 4-byte accesses; anything else is an access fault.
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;

 private:
  static bool valid(uint64_t offset, unsigned size) {
    return offset == kRegControl && (size == 2 || size == 4);
  }

  std::function<void(int)> on_exit_;
  std::function<void()> on_reset_;
};

}  // namespace hs
