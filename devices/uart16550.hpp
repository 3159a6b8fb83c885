// NS16550A UART ("ns16550a") as on QEMU's virt board: byte-wide registers at
// stride 1, a 16-byte receive FIFO, and one interrupt line (PLIC source 10).
//
// Register map (offset, DLAB = LCR bit 7):
//   0  RBR (read) / THR (write)      DLL when DLAB=1
//   1  IER                           DLM when DLAB=1
//   2  IIR (read) / FCR (write)
//   3  LCR   4  MCR   5  LSR   6  MSR   7  SCR
// Only 1-byte accesses at offsets 0..7 are valid; anything else is an access
// fault. Stores to the read-only LSR/MSR are ignored, as on the chip.
//
// Timing model: transmission is instantaneous (a THR store hands the byte to
// on_tx before the store completes), so THRE and TEMT always read 1 and the
// THR-empty interrupt re-arms on every THR store. The receiver's character
// timeout is zero: host input is pushed in bursts at poll points, so there is
// no inter-character gap worth waiting for, and a FIFO holding fewer bytes
// than the trigger level reports the timeout interrupt (IIR 0xC) at once.
// Drivers treat it exactly like "data available".
//
// Input: the board's user calls push_rx()/rx_space() (from the machine's poll
// hook, through the input journal). In loopback mode (MCR bit 4) the serial
// input is disconnected, as on the chip: push_rx() refuses bytes and THR
// stores feed the receiver instead of on_tx.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "core/device.hpp"

namespace hs {

class Uart16550 : public Device {
 public:
  static constexpr uint64_t kSize = 0x100;
  static constexpr unsigned kFifoSize = 16;

  // Register offsets.
  static constexpr uint64_t kRegData = 0;  // RBR / THR / DLL
  static constexpr uint64_t kRegIer = 1;   // IER / DLM
  static constexpr uint64_t kRegIir = 2;   // IIR (read) / FCR (write)
  static constexpr uint64_t kRegLcr = 3;
  static constexpr uint64_t kRegMcr = 4;
  static constexpr uint64_t kRegLsr = 5;
  static constexpr uint64_t kRegMsr = 6;
  static constexpr uint64_t kRegScr = 7;

  // IER bits.
  static constexpr uint8_t kIerRdi = 0x01;   // received data available
  static constexpr uint8_t kIerThri = 0x02;  // THR empty
  static constexpr uint8_t kIerRlsi = 0x04;  // receiver line status
  static constexpr uint8_t kIerMsi = 0x08;   // modem status
  static constexpr uint8_t kIerMask = 0x0f;
  // IIR values (bits 3..0) and the FIFO-enabled flag (bits 7..6).
  static constexpr uint8_t kIirNoInt = 0x01;
  static constexpr uint8_t kIirMsi = 0x00;
  static constexpr uint8_t kIirThri = 0x02;
  static constexpr uint8_t kIirRdi = 0x04;
  static constexpr uint8_t kIirRlsi = 0x06;
  static constexpr uint8_t kIirCti = 0x0c;
  static constexpr uint8_t kIirFifoEnabled = 0xc0;
  // FCR bits.
  static constexpr uint8_t kFcrEnable = 0x01;
  static constexpr uint8_t kFcrClearRx = 0x02;
  static constexpr uint8_t kFcrClearTx = 0x04;
  static constexpr uint8_t kFcrDmaMode = 0x08;
  static constexpr uint8_t kFcrTriggerMask = 0xc0;
  // LCR / MCR bits.
  static constexpr uint8_t kLcrDlab = 0x80;
  static constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08;
  static constexpr uint8_t kMcrLoop = 0x10;
  static constexpr uint8_t kMcrMask = 0x1f;
  // LSR bits.
  static constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrPe = 0x04, kLsrFe = 0x08;
  static constexpr uint8_t kLsrBi = 0x10, kLsrThre = 0x20, kLsrTemt = 0x40;
  // MSR bits: deltas in the low nibble, line states in the high nibble.
  static constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08;
  static constexpr uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
  static constexpr uint8_t kMsrDeltaMask = 0x0f;

  struct State {
    std::array<uint8_t, kFifoSize> rx{};  // ring buffer
    uint8_t rx_head = 0;
    uint8_t rx_count = 0;
    uint8_t ier = 0;
    uint8_t fcr = 0;
    uint8_t lcr = 0;
    uint8_t mcr = 0;
    uint8_t lsr_errors = 0;  // OE/PE/FE/BI, cleared by reading LSR
    // A terminal is attached: DCD, DSR and CTS asserted (QEMU's default).
    uint8_t msr = kMsrDcd | kMsrDsr | kMsrCts;
    uint8_t scr = 0;
    uint16_t divisor = 0;
    bool thr_pending = false;  // THR-empty interrupt armed (cleared by reading IIR)
    bool irq = false;          // level driven on the interrupt line
  };

  explicit Uart16550(IrqLine irq);

  const char* name() const override { return "uart16550"; }
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;

  // Host input: queues one received byte. False (byte not taken) when the
  // receiver is full or in loopback mode; the caller keeps it for later.
  bool push_rx(uint8_t byte);
  // How many bytes push_rx() accepts right now (1 without FIFO, up to 16 with).
  size_t rx_space() const;

  // Transmitted bytes (not called in loopback mode). May be empty.
  std::function<void(uint8_t)> on_tx;

  const State& state() const { return s_; }
  // Restores a snapshot and re-drives the interrupt line from it.
  void restore(const State& s);

 private:
  bool fifo_enabled() const { return s_.fcr & kFcrEnable; }
  unsigned rx_capacity() const { return fifo_enabled() ? kFifoSize : 1; }
  unsigned rx_trigger() const;
  // Puts a byte into the receiver; sets OE and drops it when full.
  void receive(uint8_t byte);
  uint8_t pop_rx();
  uint8_t lsr() const;
  // Highest-priority pending interrupt, encoded as IIR bits 3..0.
  uint8_t interrupt_id() const;
  void set_modem_lines(uint8_t lines);
  void update_irq();

  uint8_t read_reg(uint64_t reg);
  void write_reg(uint64_t reg, uint8_t v);
  void write_fcr(uint8_t v);
  void write_ier(uint8_t v);

  IrqLine irq_;
  State s_;
};

}  // namespace hs
