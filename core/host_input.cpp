#include "core/host_input.hpp"

#include <sys/random.h>

#include <cerrno>
#include <ctime>

namespace hs {

size_t LiveHostInput::console(std::span<uint8_t> out) {
  return console_source_ ? console_source_(out) : 0;
}

uint64_t LiveHostInput::wall_clock_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void LiveHostInput::entropy(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // cannot happen on Linux >= 3.17 with valid arguments
    }
    done += static_cast<size_t>(n);
  }
}

}  // namespace hs
