// virtio-rng (entropy device, device ID 4, virtio 1.2 §5.4): one request
// queue; each chain's device-writable buffers are filled with random bytes
// from HostInput::entropy (a recorded input, determinism contract rule 2),
// at the position of the QueueNotify store. No features, no config space.
//
// At most kMaxPerRequest bytes go into one chain (the used length says how
// many), so a hostile multi-gigabyte buffer costs no more than a small one.
// Chains whose buffers are not in RAM are returned with 0 bytes written.
#pragma once

#include <cstdint>

#include "core/host_input.hpp"
#include "devices/virtio_mmio.hpp"

namespace hs {

class VirtioRng : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 8;  // QEMU's virtio-rng queue size
  static constexpr uint32_t kMaxPerRequest = 4096;

  explicit VirtioRng(HostInput& input) : input_(input) {}

  uint32_t device_id() const override { return virtio::kIdEntropy; }
  uint64_t features() const override { return 0; }
  unsigned num_queues() const override { return 1; }
  uint16_t queue_max_size(unsigned) const override { return kQueueSize; }
  void handle(unsigned q, VirtQueue& vq) override;

 private:
  HostInput& input_;
};

}  // namespace hs
