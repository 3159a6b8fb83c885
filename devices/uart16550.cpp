#include "devices/uart16550.hpp"

namespace hs {

namespace {

// Modem input lines seen by the receiver for a given MCR: in loopback the
// outputs are wired back to the inputs (DTR->DSR, RTS->CTS, OUT1->RI,
// OUT2->DCD); otherwise an always-ready terminal.
uint8_t modem_lines(uint8_t mcr) {
  using U = Uart16550;
  if (!(mcr & U::kMcrLoop)) return U::kMsrDcd | U::kMsrDsr | U::kMsrCts;
  uint8_t lines = 0;
  if (mcr & U::kMcrDtr) lines |= U::kMsrDsr;
  if (mcr & U::kMcrRts) lines |= U::kMsrCts;
  if (mcr & U::kMcrOut1) lines |= U::kMsrRi;
  if (mcr & U::kMcrOut2) lines |= U::kMsrDcd;
  return lines;
}

}  // namespace

Uart16550::Uart16550(IrqLine irq) : irq_(irq) {}

bool Uart16550::read(uint64_t offset, unsigned size, uint64_t& value) {
  if (size != 1 || offset > kRegScr) return false;
  value = read_reg(offset);
  return true;
}

bool Uart16550::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 1 || offset > kRegScr) return false;
  write_reg(offset, static_cast<uint8_t>(value));
  return true;
}

uint8_t Uart16550::read_reg(uint64_t reg) {
  const bool dlab = s_.lcr & kLcrDlab;
  switch (reg) {
    case kRegData: {
      if (dlab) return s_.divisor & 0xff;
      const uint8_t byte = s_.rx_count ? pop_rx() : 0;
      update_irq();
      return byte;
    }
    case kRegIer:
      return dlab ? s_.divisor >> 8 : s_.ier;
    case kRegIir: {
      const uint8_t id = interrupt_id();
      // Reading IIR while it reports THR-empty acknowledges that interrupt.
      if (id == kIirThri) {
        s_.thr_pending = false;
        update_irq();
      }
      return id | (fifo_enabled() ? kIirFifoEnabled : 0);
    }
    case kRegLcr:
      return s_.lcr;
    case kRegMcr:
      return s_.mcr;
    case kRegLsr: {
      const uint8_t v = lsr();
      if (s_.lsr_errors) {
        s_.lsr_errors = 0;
        update_irq();
      }
      return v;
    }
    case kRegMsr: {
      const uint8_t v = s_.msr;
      if (s_.msr & kMsrDeltaMask) {
        s_.msr &= ~kMsrDeltaMask;
        update_irq();
      }
      return v;
    }
    default:
      return s_.scr;
  }
}

void Uart16550::write_reg(uint64_t reg, uint8_t v) {
  const bool dlab = s_.lcr & kLcrDlab;
  switch (reg) {
    case kRegData:
      if (dlab) {
        s_.divisor = static_cast<uint16_t>((s_.divisor & 0xff00) | v);
        return;
      }
      if (s_.mcr & kMcrLoop)
        receive(v);
      else if (on_tx)
        on_tx(v);
      // The byte left at once, so THR is already empty again and the THRE
      // interrupt re-arms (QEMU behaves the same).
      s_.thr_pending = true;
      update_irq();
      return;
    case kRegIer:
      if (dlab)
        s_.divisor = static_cast<uint16_t>((s_.divisor & 0x00ff) | (v << 8));
      else
        write_ier(v);
      return;
    case kRegIir:
      write_fcr(v);
      return;
    case kRegLcr:
      s_.lcr = v;
      return;
    case kRegMcr:
      s_.mcr = v & kMcrMask;
      set_modem_lines(modem_lines(s_.mcr));
      update_irq();
      return;
    case kRegLsr:
    case kRegMsr:
      return;  // read-only status registers
    default:
      s_.scr = v;
      return;
  }
}

void Uart16550::write_ier(uint8_t v) {
  const uint8_t changed = (s_.ier ^ v) & kIerMask;
  s_.ier = v & kIerMask;
  // Enabling the THRE interrupt while THR is empty (always, here) raises it
  // even if it was acknowledged before. Linux's 8250 driver checks that a
  // UART re-asserts THRE this way when it starts the port (UART_BUG_THRE).
  if (changed & kIerThri) s_.thr_pending = s_.ier & kIerThri;
  update_irq();
}

void Uart16550::write_fcr(uint8_t v) {
  // Toggling the FIFO enable flushes both FIFOs, as on the chip.
  if ((v ^ s_.fcr) & kFcrEnable) v |= kFcrClearRx | kFcrClearTx;
  if (v & kFcrClearRx) {
    s_.rx_head = 0;
    s_.rx_count = 0;
  }
  if (v & kFcrClearTx) s_.thr_pending = true;  // the (empty) TX FIFO is reset: THR empty
  s_.fcr = v & (kFcrEnable | kFcrDmaMode | kFcrTriggerMask);
  update_irq();
}

unsigned Uart16550::rx_trigger() const {
  static constexpr unsigned kLevels[4] = {1, 4, 8, 14};
  return kLevels[(s_.fcr & kFcrTriggerMask) >> 6];
}

void Uart16550::receive(uint8_t byte) {
  if (s_.rx_count >= rx_capacity()) {
    s_.lsr_errors |= kLsrOe;
    return;
  }
  s_.rx[(s_.rx_head + s_.rx_count) % kFifoSize] = byte;
  ++s_.rx_count;
}

uint8_t Uart16550::pop_rx() {
  const uint8_t byte = s_.rx[s_.rx_head];
  s_.rx_head = (s_.rx_head + 1) % kFifoSize;
  --s_.rx_count;
  return byte;
}

bool Uart16550::push_rx(uint8_t byte) {
  if (rx_space() == 0) return false;
  receive(byte);
  update_irq();
  return true;
}

size_t Uart16550::rx_space() const {
  if (s_.mcr & kMcrLoop) return 0;
  return rx_capacity() - s_.rx_count;
}

uint8_t Uart16550::lsr() const {
  // Transmission is instantaneous: THR and the shift register are always empty.
  return (s_.rx_count ? kLsrDr : 0) | s_.lsr_errors | kLsrThre | kLsrTemt;
}

uint8_t Uart16550::interrupt_id() const {
  if ((s_.ier & kIerRlsi) && s_.lsr_errors) return kIirRlsi;
  if ((s_.ier & kIerRdi) && s_.rx_count)
    return fifo_enabled() && s_.rx_count < rx_trigger() ? kIirCti : kIirRdi;
  if ((s_.ier & kIerThri) && s_.thr_pending) return kIirThri;
  if ((s_.ier & kIerMsi) && (s_.msr & kMsrDeltaMask)) return kIirMsi;
  return kIirNoInt;
}

void Uart16550::set_modem_lines(uint8_t lines) {
  const uint8_t old = s_.msr;
  const uint8_t changed = (old ^ lines) & ~kMsrDeltaMask;
  uint8_t delta = old & kMsrDeltaMask;
  if (changed & kMsrCts) delta |= kMsrDcts;
  if (changed & kMsrDsr) delta |= kMsrDdsr;
  if (changed & kMsrDcd) delta |= kMsrDdcd;
  if ((old & kMsrRi) && !(lines & kMsrRi)) delta |= kMsrTeri;  // trailing edge only
  s_.msr = static_cast<uint8_t>(lines | delta);
}

void Uart16550::update_irq() {
  const bool level = interrupt_id() != kIirNoInt;
  if (level == s_.irq) return;
  s_.irq = level;
  irq_.set(level);
}

void Uart16550::restore(const State& s) {
  s_ = s;
  irq_.set(s_.irq);
}

}  // namespace hs
