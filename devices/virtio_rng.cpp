#include "devices/virtio_rng.hpp"

#include <algorithm>
#include <array>

namespace hs {

void VirtioRng::handle(unsigned, VirtQueue& vq) {
  VirtqChain c;
  std::array<uint8_t, kMaxPerRequest> buf;
  while (vq.pop(c) == VirtQueue::Pop::kChain) {
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(c.writable_len, kMaxPerRequest));
    const std::span<uint8_t> bytes(buf.data(), n);
    // Drawn before the copy even if a buffer then proves unwritable: the
    // outcome depends only on guest state, so replay repeats it exactly.
    if (n) input_.entropy(bytes);
    vq.push(c.head, scatter(vq.bus(), c.writable, 0, bytes) ? n : 0);
  }
}

}  // namespace hs
