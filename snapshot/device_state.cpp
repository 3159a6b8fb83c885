#include "snapshot/device_state.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/machine.hpp"
#include "devices/virt.hpp"
#include "devices/virtio_blk.hpp"

namespace hs::snapshot_detail {

namespace sn = snapshot_schema;

namespace {

// ---- list helpers: fixed-length arrays <-> capnp lists ----

template <typename ListBuilder, typename Array>
void put_list(ListBuilder list, const Array& values) {
  for (unsigned i = 0; i < list.size(); ++i) list.set(i, values[i]);
}

template <typename ListReader>
void check_length(ListReader list, size_t n, const char* what) {
  if (list.size() != n)
    throw StateMismatch(fmt::format("{} has {} entries, expected {}", what, list.size(), n));
}

template <typename ListReader, typename Array>
void get_list(ListReader list, Array& values) {
  for (unsigned i = 0; i < list.size(); ++i) values[i] = list[i];
}

// ---- hart ----

void save_hart(const HartState& h, sn::Hart::Builder b) {
  auto x = b.initX(32);
  for (unsigned i = 0; i < 32; ++i) x.set(i, h.x[i]);
  put_list(b.initF(32), h.f);
  b.setPc(h.pc);
  b.setPosition(h.position);
  b.setInstret(h.instret);
  b.setPriv(static_cast<uint8_t>(h.priv));
  b.setDmode(static_cast<uint8_t>(h.dmode));
  b.setFrm(h.frm);
  b.setFflags(h.fflags);
  b.setMstatus(h.mstatus);
  b.setMisa(h.misa);
  b.setMedeleg(h.medeleg);
  b.setMideleg(h.mideleg);
  b.setMie(h.mie);
  b.setMip(h.mip);
  b.setSeipExt(h.seip_ext);
  b.setMtvec(h.mtvec);
  b.setMscratch(h.mscratch);
  b.setMepc(h.mepc);
  b.setMcause(h.mcause);
  b.setMtval(h.mtval);
  b.setMcounteren(h.mcounteren);
  b.setMcountinhibit(h.mcountinhibit);
  b.setMenvcfg(h.menvcfg);
  b.setMhartid(h.mhartid);
  b.setMcycleOffset(h.mcycle_offset);
  b.setMinstretOffset(h.minstret_offset);
  b.setStvec(h.stvec);
  b.setSscratch(h.sscratch);
  b.setSepc(h.sepc);
  b.setScause(h.scause);
  b.setStval(h.stval);
  b.setSatp(h.satp);
  b.setScounteren(h.scounteren);
  b.setSenvcfg(h.senvcfg);
  put_list(b.initPmpcfg(16), h.pmpcfg);
  put_list(b.initPmpaddr(16), h.pmpaddr);
  b.setReservation(h.reservation);
  b.setReservationValid(h.reservation_valid);
  b.setTrapCause(h.trap_cause);
  b.setTrapTval(h.trap_tval);
  b.setWfi(h.wfi);
}

Priv to_priv(uint8_t v, const char* what) {
  if (v != 0 && v != 1 && v != 3)
    throw StateMismatch(fmt::format("{} {} is not a privilege level", what, v));
  return static_cast<Priv>(v);
}

void check_hart(sn::Hart::Reader r) {
  check_length(r.getX(), 32, "hart.x");
  check_length(r.getF(), 32, "hart.f");
  check_length(r.getPmpcfg(), 16, "hart.pmpcfg");
  check_length(r.getPmpaddr(), 16, "hart.pmpaddr");
  if (r.getX()[0] != 0) throw StateMismatch("hart.x[0] is not zero");
  to_priv(r.getPriv(), "hart.priv");
  to_priv(r.getDmode(), "hart.dmode");
}

// Everything but the (empty) x0 sink and the loop's scratch, which a
// restore leaves at their between-instructions values.
HartState load_hart(sn::Hart::Reader r) {
  HartState h;
  get_list(r.getX(), h.x);
  get_list(r.getF(), h.f);
  h.pc = r.getPc();
  h.position = r.getPosition();
  h.instret = r.getInstret();
  h.priv = to_priv(r.getPriv(), "hart.priv");
  h.dmode = to_priv(r.getDmode(), "hart.dmode");
  h.frm = r.getFrm();
  h.fflags = r.getFflags();
  h.mstatus = r.getMstatus();
  h.misa = r.getMisa();
  h.medeleg = r.getMedeleg();
  h.mideleg = r.getMideleg();
  h.mie = r.getMie();
  h.mip = r.getMip();
  h.seip_ext = r.getSeipExt();
  h.mtvec = r.getMtvec();
  h.mscratch = r.getMscratch();
  h.mepc = r.getMepc();
  h.mcause = r.getMcause();
  h.mtval = r.getMtval();
  h.mcounteren = r.getMcounteren();
  h.mcountinhibit = r.getMcountinhibit();
  h.menvcfg = r.getMenvcfg();
  h.mhartid = r.getMhartid();
  h.mcycle_offset = r.getMcycleOffset();
  h.minstret_offset = r.getMinstretOffset();
  h.stvec = r.getStvec();
  h.sscratch = r.getSscratch();
  h.sepc = r.getSepc();
  h.scause = r.getScause();
  h.stval = r.getStval();
  h.satp = r.getSatp();
  h.scounteren = r.getScounteren();
  h.senvcfg = r.getSenvcfg();
  get_list(r.getPmpcfg(), h.pmpcfg);
  get_list(r.getPmpaddr(), h.pmpaddr);
  h.reservation = r.getReservation();
  h.reservation_valid = r.getReservationValid();
  h.trap_cause = r.getTrapCause();
  h.trap_tval = r.getTrapTval();
  h.wfi = r.getWfi();
  return h;
}

// ---- CLINT ----

void save_clint(const Clint::State& s, sn::Clint::Builder b) {
  b.setMsip(s.msip);
  b.setMtimecmp(s.mtimecmp);
  b.setMtip(s.mtip);
}

Clint::State load_clint(sn::Clint::Reader r) {
  Clint::State s;
  s.msip = r.getMsip();
  s.mtimecmp = r.getMtimecmp();
  s.mtip = r.getMtip();
  return s;
}

// ---- PLIC ----

void save_plic(const Plic::State& s, sn::Plic::Builder b) {
  put_list(b.initPriority(Plic::kNumSources), s.priority);
  put_list(b.initLevel(Plic::kWords), s.level);
  put_list(b.initPending(Plic::kWords), s.pending);
  put_list(b.initClaimed(Plic::kWords), s.claimed);
  auto enable = b.initEnable(Plic::kNumContexts * Plic::kWords);
  for (unsigned ctx = 0; ctx < Plic::kNumContexts; ++ctx)
    for (unsigned w = 0; w < Plic::kWords; ++w)
      enable.set(ctx * Plic::kWords + w, s.enable[ctx][w]);
  put_list(b.initThreshold(Plic::kNumContexts), s.threshold);
  put_list(b.initOutput(Plic::kNumContexts), s.output);
}

void check_plic(sn::Plic::Reader r) {
  check_length(r.getPriority(), Plic::kNumSources, "plic.priority");
  check_length(r.getLevel(), Plic::kWords, "plic.level");
  check_length(r.getPending(), Plic::kWords, "plic.pending");
  check_length(r.getClaimed(), Plic::kWords, "plic.claimed");
  check_length(r.getEnable(), Plic::kNumContexts * Plic::kWords, "plic.enable");
  check_length(r.getThreshold(), Plic::kNumContexts, "plic.threshold");
  check_length(r.getOutput(), Plic::kNumContexts, "plic.output");
}

Plic::State load_plic(sn::Plic::Reader r) {
  Plic::State s;
  get_list(r.getPriority(), s.priority);
  get_list(r.getLevel(), s.level);
  get_list(r.getPending(), s.pending);
  get_list(r.getClaimed(), s.claimed);
  const auto enable = r.getEnable();
  for (unsigned ctx = 0; ctx < Plic::kNumContexts; ++ctx)
    for (unsigned w = 0; w < Plic::kWords; ++w) s.enable[ctx][w] = enable[ctx * Plic::kWords + w];
  get_list(r.getThreshold(), s.threshold);
  get_list(r.getOutput(), s.output);
  return s;
}

// ---- UART ----

void save_uart(const Uart16550::State& s, sn::Uart::Builder b) {
  b.setRx(kj::arrayPtr(s.rx.data(), s.rx.size()));
  b.setRxHead(s.rx_head);
  b.setRxCount(s.rx_count);
  b.setIer(s.ier);
  b.setFcr(s.fcr);
  b.setLcr(s.lcr);
  b.setMcr(s.mcr);
  b.setLsrErrors(s.lsr_errors);
  b.setMsr(s.msr);
  b.setScr(s.scr);
  b.setDivisor(s.divisor);
  b.setThrPending(s.thr_pending);
  b.setIrq(s.irq);
}

void check_uart(sn::Uart::Reader r) {
  if (r.getRx().size() != Uart16550::kFifoSize)
    throw StateMismatch(
        fmt::format("uart.rx has {} bytes, expected {}", r.getRx().size(), Uart16550::kFifoSize));
  if (r.getRxHead() >= Uart16550::kFifoSize || r.getRxCount() > Uart16550::kFifoSize)
    throw StateMismatch("uart receive ring head/count out of range");
}

Uart16550::State load_uart(sn::Uart::Reader r) {
  Uart16550::State s;
  const auto rx = r.getRx();
  std::copy(rx.begin(), rx.end(), s.rx.begin());
  s.rx_head = r.getRxHead();
  s.rx_count = r.getRxCount();
  s.ier = r.getIer();
  s.fcr = r.getFcr();
  s.lcr = r.getLcr();
  s.mcr = r.getMcr();
  s.lsr_errors = r.getLsrErrors();
  s.msr = r.getMsr();
  s.scr = r.getScr();
  s.divisor = r.getDivisor();
  s.thr_pending = r.getThrPending();
  s.irq = r.getIrq();
  return s;
}

// ---- goldfish RTC ----

void save_rtc(const GoldfishRtc::State& s, sn::Rtc::Builder b) {
  b.setStarted(s.started);
  b.setEpochNs(s.epoch_ns);
  b.setTimeHigh(s.time_high);
  b.setAlarmNs(s.alarm_ns);
  b.setAlarmTick(s.alarm_tick);
  b.setAlarmRunning(s.alarm_running);
  b.setIrqEnabled(s.irq_enabled);
  b.setIrqPending(s.irq_pending);
}

GoldfishRtc::State load_rtc(sn::Rtc::Reader r) {
  GoldfishRtc::State s;
  s.started = r.getStarted();
  s.epoch_ns = r.getEpochNs();
  s.time_high = r.getTimeHigh();
  s.alarm_ns = r.getAlarmNs();
  s.alarm_tick = r.getAlarmTick();
  s.alarm_running = r.getAlarmRunning();
  s.irq_enabled = r.getIrqEnabled();
  s.irq_pending = r.getIrqPending();
  return s;
}

// ---- virtio-mmio transports ----

uint32_t device_id(const VirtioMmio& t) {
  return t.device() ? t.device()->device_id() : virtio::kIdNone;
}

void save_virtio(const VirtioMmio& t, sn::VirtioTransport::Builder b) {
  const VirtioMmio::State& s = t.state();
  b.setDeviceId(device_id(t));
  b.setStatus(s.status);
  b.setDeviceFeaturesSel(s.device_features_sel);
  b.setDriverFeaturesSel(s.driver_features_sel);
  b.setDriverFeatures(s.driver_features);
  b.setQueueSel(s.queue_sel);
  b.setInterruptStatus(s.interrupt_status);
  auto queues = b.initQueues(VirtioMmio::kMaxQueues);
  for (unsigned i = 0; i < VirtioMmio::kMaxQueues; ++i) {
    const VirtqState& q = s.queues[i];
    auto qb = queues[i];
    qb.setNum(q.num);
    qb.setReady(q.ready);
    qb.setDesc(q.desc);
    qb.setDriver(q.driver);
    qb.setDevice(q.device);
    qb.setLastAvail(q.last_avail);
    qb.setUsedIdx(q.used_idx);
  }
}

void check_virtio(sn::VirtioTransport::Reader r, const VirtioMmio& t, unsigned slot) {
  if (r.getDeviceId() != device_id(t))
    throw StateMismatch(fmt::format("virtio slot {} held device ID {}, this board has {} there",
                                    slot, r.getDeviceId(), device_id(t)));
  check_length(r.getQueues(), VirtioMmio::kMaxQueues, "virtio queues");
}

VirtioMmio::State load_virtio(sn::VirtioTransport::Reader r) {
  VirtioMmio::State s;
  s.status = r.getStatus();
  s.device_features_sel = r.getDeviceFeaturesSel();
  s.driver_features_sel = r.getDriverFeaturesSel();
  s.driver_features = r.getDriverFeatures();
  s.queue_sel = r.getQueueSel();
  s.interrupt_status = r.getInterruptStatus();
  const auto queues = r.getQueues();
  for (unsigned i = 0; i < VirtioMmio::kMaxQueues; ++i) {
    const auto q = queues[i];
    s.queues[i] = VirtqState{q.getNum(),    q.getReady(),     q.getDesc(),   q.getDriver(),
                             q.getDevice(), q.getLastAvail(), q.getUsedIdx()};
  }
  return s;
}

}  // namespace

void save_machine_state(Machine& m, VirtBoard& board, sn::MachineState::Builder out) {
  save_hart(m.hart(), out.initHart());
  save_clint(board.clint().state(), out.initClint());
  save_plic(board.plic().state(), out.initPlic());
  save_uart(board.uart().state(), out.initUart());
  save_rtc(board.rtc().state(), out.initRtc());
  auto virtio = out.initVirtio(VirtBoard::kVirtioSlots);
  for (unsigned slot = 0; slot < VirtBoard::kVirtioSlots; ++slot)
    save_virtio(board.virtio(slot), virtio[slot]);
}

void check_machine_state(sn::MachineState::Reader in, VirtBoard& board) {
  check_hart(in.getHart());
  check_plic(in.getPlic());
  check_uart(in.getUart());
  check_length(in.getVirtio(), VirtBoard::kVirtioSlots, "virtio slots");
  for (unsigned slot = 0; slot < VirtBoard::kVirtioSlots; ++slot)
    check_virtio(in.getVirtio()[slot], board.virtio(slot), slot);
}

void load_machine_state(sn::MachineState::Reader in, Machine& m, VirtBoard& board) {
  board.uart().restore(load_uart(in.getUart()));
  board.rtc().restore(load_rtc(in.getRtc()));
  for (unsigned slot = 0; slot < VirtBoard::kVirtioSlots; ++slot)
    board.virtio(slot).restore(load_virtio(in.getVirtio()[slot]));
  board.clint().restore(load_clint(in.getClint()));
  board.plic().restore(load_plic(in.getPlic()));
  static_cast<HartState&>(m.hart()) = load_hart(in.getHart());
}

Disk& drive(VirtBoard& board, size_t i) {
  auto* blk = dynamic_cast<VirtioBlk*>(
      board.virtio(VirtBoard::virtio_slot(static_cast<unsigned>(i))).device());
  if (!blk) throw std::logic_error(fmt::format("virtio device {} is not a drive", i));
  return blk->disk();
}

}  // namespace hs::snapshot_detail
