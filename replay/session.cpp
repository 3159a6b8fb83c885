#include "replay/session.hpp"

#include "core/user_error.hpp"

namespace hs {

Session::Session(const MachineConfig& cfg, InputSwitch& input) : cfg_(cfg) {
  VirtConfig vc;
  vc.ram_size = cfg.boot.ram_size;
  vc.drives = cfg.drives;
  vc.rng = cfg.rng;
  try {
    board_ = std::make_unique<VirtBoard>(m_, vc, input);
  } catch (const DiskError& e) {
    throw UserError(e.what());
  }
  boot_ = load_boot_images(m_, *board_, cfg.boot);
}

}  // namespace hs
