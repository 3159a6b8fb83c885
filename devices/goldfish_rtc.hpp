// Goldfish RTC ("google,goldfish-rtc") as on QEMU's virt board at 0x101000,
// PLIC source 11: a nanosecond real-time clock with one alarm.
//
// Register map (32-bit accesses only; other sizes fault, unknown offsets
// read as zero and ignore stores, as in QEMU):
//   0x00 TIME_LOW        read: low 32 bits of the time; latches TIME_HIGH
//                        write: sets the low half of the time
//   0x04 TIME_HIGH       read: high half latched by the last TIME_LOW read
//                        write: sets the high half of the time
//   0x08 ALARM_LOW       write: low half of the alarm time, and arms it
//   0x0c ALARM_HIGH      write: high half of the alarm time (does not arm)
//   0x10 IRQ_ENABLED     bit 0 gates the interrupt output
//   0x14 CLEAR_ALARM     write: disarm the alarm
//   0x18 ALARM_STATUS    read: 1 while an alarm is armed
//   0x1c CLEAR_INTERRUPT write: drop the pending interrupt
//
// Time: the host wall clock is consulted exactly once, through
// HostInput::wall_clock_ns() (a recorded input), at the first access that
// needs the time. From then on the RTC advances with the machine clock
// (100 ns per 10 MHz timebase tick), so it stays consistent with mtime and
// replays bit for bit. Guest writes to TIME move an offset, as in QEMU.
//
// Alarm: an armed alarm fires at the first timebase tick at which the RTC
// reaches the alarm time (reported to the run loop through
// next_deadline()/advance()); firing disarms it and sets the pending
// interrupt, which drives the line while IRQ_ENABLED. An alarm at or before
// the current time fires at the ALARM_LOW store. Like QEMU, the deadline is
// fixed when the alarm is armed; later TIME writes do not move it.
#pragma once

#include <cstdint>

#include "core/clock.hpp"
#include "core/device.hpp"
#include "core/host_input.hpp"

namespace hs {

class GoldfishRtc : public Device {
 public:
  static constexpr uint64_t kSize = 0x1000;
  static constexpr uint64_t kRegTimeLow = 0x00;
  static constexpr uint64_t kRegTimeHigh = 0x04;
  static constexpr uint64_t kRegAlarmLow = 0x08;
  static constexpr uint64_t kRegAlarmHigh = 0x0c;
  static constexpr uint64_t kRegIrqEnabled = 0x10;
  static constexpr uint64_t kRegClearAlarm = 0x14;
  static constexpr uint64_t kRegAlarmStatus = 0x18;
  static constexpr uint64_t kRegClearInterrupt = 0x1c;

  static constexpr uint64_t kNsPerTick = 1'000'000'000 / Clock::kTimebaseHz;
  static_assert(1'000'000'000 % Clock::kTimebaseHz == 0);

  struct State {
    bool started = false;    // the wall clock has been read
    uint64_t epoch_ns = 0;   // RTC time at timebase tick 0 (wall clock + guest offset)
    uint32_t time_high = 0;  // latched by TIME_LOW reads
    uint64_t alarm_ns = 0;   // ALARM_HIGH:ALARM_LOW
    uint64_t alarm_tick = 0;  // timebase tick at which the armed alarm fires
    bool alarm_running = false;
    bool irq_enabled = false;
    bool irq_pending = false;
  };

  GoldfishRtc(const Clock& clock, HostInput& input, IrqLine irq);

  const char* name() const override { return "goldfish-rtc"; }
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;
  Position next_deadline() const override;
  void advance(Position now) override;

  // RTC time (ns since the Unix epoch) at the clock's position; reads the
  // wall clock on first use.
  uint64_t time_ns();
  const State& state() const { return s_; }
  // Restores a snapshot and re-drives the interrupt line from it.
  void restore(const State& s);

 private:
  uint64_t time_at(Position p);
  void set_time(uint64_t ns);
  void arm_alarm();
  void fire();
  void update_irq();

  const Clock& clock_;
  HostInput& input_;
  IrqLine irq_;
  State s_;
};

}  // namespace hs
