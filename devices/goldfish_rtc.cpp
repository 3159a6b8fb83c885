#include "devices/goldfish_rtc.hpp"

#include "core/hart.hpp"  // Clock::now()

namespace hs {

GoldfishRtc::GoldfishRtc(const Clock& clock, HostInput& input, IrqLine irq)
    : clock_(clock), input_(input), irq_(irq) {}

uint64_t GoldfishRtc::time_at(Position p) {
  const uint64_t elapsed_ns = Clock::ticks_at(p) * kNsPerTick;
  if (!s_.started) {
    // The one host read: "now" on the host is the RTC at this position.
    s_.started = true;
    s_.epoch_ns = input_.wall_clock_ns() - elapsed_ns;
  }
  return s_.epoch_ns + elapsed_ns;  // wraps like QEMU's 64-bit tick count
}

uint64_t GoldfishRtc::time_ns() { return time_at(clock_.now()); }

void GoldfishRtc::set_time(uint64_t ns) { s_.epoch_ns += ns - time_ns(); }

bool GoldfishRtc::read(uint64_t offset, unsigned size, uint64_t& value) {
  if (size != 4) return false;
  switch (offset) {
    case kRegTimeLow: {
      const uint64_t t = time_ns();
      s_.time_high = static_cast<uint32_t>(t >> 32);
      value = static_cast<uint32_t>(t);
      return true;
    }
    case kRegTimeHigh:
      value = s_.time_high;
      return true;
    case kRegAlarmLow:
      value = static_cast<uint32_t>(s_.alarm_ns);
      return true;
    case kRegAlarmHigh:
      value = static_cast<uint32_t>(s_.alarm_ns >> 32);
      return true;
    case kRegIrqEnabled:
      value = s_.irq_enabled;
      return true;
    case kRegAlarmStatus:
      value = s_.alarm_running;
      return true;
    default:
      value = 0;
      return true;
  }
}

bool GoldfishRtc::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 4) return false;
  const uint64_t v = value & 0xffffffffu;
  switch (offset) {
    case kRegTimeLow:
      set_time((time_ns() & 0xffffffff00000000ull) | v);
      return true;
    case kRegTimeHigh:
      set_time((time_ns() & 0xffffffffull) | v << 32);
      return true;
    case kRegAlarmLow:
      s_.alarm_ns = (s_.alarm_ns & 0xffffffff00000000ull) | v;
      arm_alarm();
      return true;
    case kRegAlarmHigh:
      s_.alarm_ns = (s_.alarm_ns & 0xffffffffull) | v << 32;
      return true;
    case kRegIrqEnabled:
      s_.irq_enabled = v & 1;
      update_irq();
      return true;
    case kRegClearAlarm:
      s_.alarm_running = false;
      return true;
    case kRegClearInterrupt:
      s_.irq_pending = false;
      update_irq();
      return true;
    default:
      return true;
  }
}

void GoldfishRtc::arm_alarm() {
  const uint64_t now = time_ns();
  if (s_.alarm_ns <= now) {
    fire();
    return;
  }
  // First tick at which epoch + tick * kNsPerTick >= alarm.
  const uint64_t wait_ticks = (s_.alarm_ns - now + kNsPerTick - 1) / kNsPerTick;
  const uint64_t now_tick = Clock::ticks_at(clock_.now());
  s_.alarm_tick = wait_ticks > UINT64_MAX - now_tick ? UINT64_MAX : now_tick + wait_ticks;
  s_.alarm_running = true;
}

void GoldfishRtc::fire() {
  s_.alarm_running = false;
  s_.irq_pending = true;
  update_irq();
}

Position GoldfishRtc::next_deadline() const {
  return s_.alarm_running ? Clock::position_of_tick(s_.alarm_tick) : Position::max();
}

void GoldfishRtc::advance(Position now) {
  if (s_.alarm_running && Clock::ticks_at(now) >= s_.alarm_tick) fire();
}

void GoldfishRtc::update_irq() { irq_.set(s_.irq_pending && s_.irq_enabled); }

void GoldfishRtc::restore(const State& s) {
  s_ = s;
  update_irq();
}

}  // namespace hs
