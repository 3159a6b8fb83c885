// A machine built from a configuration: the virt board, its devices and the
// boot images in memory, ready to run. `run`, `record` and `replay` all build
// their machine through this, so a replay gets exactly the recorded machine.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/host_input.hpp"
#include "core/machine.hpp"
#include "devices/boot.hpp"
#include "devices/disk.hpp"
#include "devices/virt.hpp"

namespace hs {

// Everything that determines the guest's machine.
struct MachineConfig {
  BootOptions boot;
  std::vector<DriveSpec> drives;
  bool rng = true;
};

class Session {
 public:
  // Builds the board and loads the images. Guest inputs come through `input`
  // (an InputSwitch the caller points at the live host, a recorder or a
  // replayer). Throws UserError for unusable files or options.
  Session(const MachineConfig& cfg, InputSwitch& input);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Machine& machine() { return m_; }
  VirtBoard& board() { return *board_; }
  const MachineConfig& config() const { return cfg_; }
  const BootInfo& boot_info() const { return boot_; }

 private:
  MachineConfig cfg_;
  Machine m_;
  std::unique_ptr<VirtBoard> board_;
  BootInfo boot_;
};

}  // namespace hs
