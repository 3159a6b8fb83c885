// The single door through which inputs from outside the VM enter it
// (determinism contract, rule 2): console bytes, wall-clock time, entropy.
// Devices never read the host directly; they ask this interface, at an exact
// position (devices call it from MMIO accesses or from the machine's poll
// hook). A live implementation reads the host; the recording layer logs
// (position, source, payload) around it, and replay returns the logged values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

namespace hs {

enum class InputSource : uint8_t {
  kConsole = 0,    // bytes typed on the console (UART RX)
  kWallClock = 1,  // real-time clock reads (goldfish RTC), ns since the Unix epoch
  kEntropy = 2,    // random bytes (virtio-rng)
  kWake = 3,       // live pacing woke a sleeping hart early (no payload)
  kStop = 4,       // the user ended a live run (Ctrl-A x): the recording ends here
  kCheck = 5,      // journal only, not an input: a hart-state hash (record --check-every)
};

class HostInput {
 public:
  virtual ~HostInput() = default;
  // Console bytes available now, at most out.size(); never blocks.
  virtual size_t console(std::span<uint8_t> out) = 0;
  // Wall-clock time, nanoseconds since the Unix epoch.
  virtual uint64_t wall_clock_ns() = 0;
  // Fills `out` with random bytes.
  virtual void entropy(std::span<uint8_t> out) = 0;
};

// Forwards to a HostInput chosen later (a board is built before the replay
// input that needs its clock, and a live session switches between recording
// and replaying). Must point somewhere before the guest runs.
class InputSwitch : public HostInput {
 public:
  void set(HostInput* to) { to_ = to; }
  HostInput* get() const { return to_; }
  size_t console(std::span<uint8_t> out) override { return to_->console(out); }
  uint64_t wall_clock_ns() override { return to_->wall_clock_ns(); }
  void entropy(std::span<uint8_t> out) override { to_->entropy(out); }

 private:
  HostInput* to_ = nullptr;
};

// Reads the live host: console bytes from a callback (the CLI's terminal),
// CLOCK_REALTIME, getrandom(2).
class LiveHostInput : public HostInput {
 public:
  explicit LiveHostInput(std::function<size_t(std::span<uint8_t>)> console_source = {})
      : console_source_(std::move(console_source)) {}
  size_t console(std::span<uint8_t> out) override;
  uint64_t wall_clock_ns() override;
  void entropy(std::span<uint8_t> out) override;

 private:
  std::function<size_t(std::span<uint8_t>)> console_source_;
};

}  // namespace hs
