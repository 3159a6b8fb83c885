#include "rsp/server.hpp"

#include <chrono>
#include <unordered_set>
#include <variant>

#include "rsp/target_xml.hpp"

namespace hs::rsp {

using Outcome = ResumeResult::Outcome;

namespace {

// The debugger reads CSRs as M-mode would, without the guest's privilege
// checks (and without side effects: CSR reads have none).
std::optional<uint64_t> debug_csr_read(Hart& h, unsigned csr) {
  const Priv saved = h.priv;
  h.priv = Priv::M;
  DecodedInsn i{};
  uint64_t v = 0;
  const bool ok = h.csr_read(csr, i, v);
  h.priv = saved;
  if (!ok) return std::nullopt;
  return v;
}

}  // namespace

GdbServer::End GdbServer::serve() {
  while (!end_) {
    if (housekeeping) housekeeping();
    const std::optional<Input> in = conn_.poll(std::chrono::milliseconds(250));
    if (!in) continue;
    switch (in->kind) {
      case InputKind::kDisconnected:
        return End::kDisconnected;
      case InputKind::kInterrupt:
        break;  // already stopped
      case InputKind::kOversized:
        conn_.send(reply::error(1));
        break;
      case InputKind::kPacket: {
        const Request req = parse_request(in->payload);
        const std::string out = std::visit([this](const auto& r) { return on(r); }, req);
        conn_.send(out);
        if (no_ack_pending_) {
          conn_.set_no_ack(true);
          no_ack_pending_ = false;
        }
        break;
      }
    }
  }
  return *end_;
}

std::string GdbServer::on(const QueryHaltReason&) { return last_stop_; }

std::optional<uint64_t> GdbServer::read_reg(const RegInfo& r) {
  Hart& h = target_.machine().hart();
  if (r.kind == RegKind::kCsr) return debug_csr_read(h, r.index);
  return read_register(h, r);
}

std::string GdbServer::on(const ReadRegisters&) {
  const HartState& h = target_.machine().hart();
  std::string out;
  for (unsigned n = 0; n < 32; ++n) out += reply::reg_hex(n == 0 ? 0 : h.x[n], 8);
  out += reply::reg_hex(h.pc, 8);
  return out;
}

std::string GdbServer::on(const WriteRegisters& w) {
  if (!target_.writable() || w.bytes.size() < kGPacketBytes) return reply::error(1);
  HartState& h = target_.machine().hart();
  for (unsigned n = 0; n < kGPacketRegs; ++n) {
    uint64_t v = 0;
    for (unsigned b = 0; b < 8; ++b) v |= uint64_t{w.bytes[n * 8 + b]} << (8 * b);
    if (n == 32)
      h.pc = v;
    else if (n > 0)
      h.x[n] = v;
  }
  return reply::ok();
}

std::string GdbServer::on(const ReadRegister& r) {
  const RegInfo* info = find_register(r.regnum);
  if (!info) return reply::error(1);
  const std::optional<uint64_t> v = read_reg(*info);
  return v ? reply::reg_hex(*v, info->size) : reply::reg_unavailable(info->size);
}

std::string GdbServer::on(const WriteRegister& w) {
  const RegInfo* info = find_register(w.regnum);
  if (!info || !target_.writable() || w.bytes.size() != info->size) return reply::error(1);
  uint64_t v = 0;
  for (unsigned b = 0; b < info->size && b < 8; ++b) v |= uint64_t{w.bytes[b]} << (8 * b);
  return write_register(target_.machine().hart(), *info, v) ? reply::ok() : reply::error(1);
}

std::string GdbServer::on(const ReadMemory& r) {
  Machine& m = target_.machine();
  std::vector<uint8_t> out;
  out.reserve(r.length);
  uint64_t va = r.addr;
  while (out.size() < r.length) {
    const uint64_t chunk = std::min<uint64_t>(r.length - out.size(), kPageSize - (va & (kPageSize - 1)));
    PAddr pa;
    std::vector<uint8_t> buf(chunk);
    // Only memory, never MMIO: a debugger read must not disturb devices.
    if (!m.hart().debug_translate(va, pa) || !m.bus().read_bytes(pa, buf)) break;
    out.insert(out.end(), buf.begin(), buf.end());
    va += chunk;
  }
  if (out.empty() && r.length > 0) return reply::error(1);
  return encode_hex(out);
}

std::string GdbServer::on(const WriteMemory& w) {
  if (w.data.empty()) return reply::ok();  // gdb's probe for X support
  if (!target_.writable()) return reply::error(1);
  Machine& m = target_.machine();
  uint64_t va = w.addr;
  size_t done = 0;
  while (done < w.data.size()) {
    const size_t chunk = std::min<size_t>(w.data.size() - done, kPageSize - (va & (kPageSize - 1)));
    PAddr pa;
    if (!m.hart().debug_translate(va, pa) ||
        !m.bus().load_bytes(pa, {w.data.data() + done, chunk}))
      return reply::error(1);
    done += chunk;
    va += chunk;
  }
  return reply::ok();
}

std::string GdbServer::resume(Direction dir, bool step) {
  if (dir == Direction::kReverse && !target_.reversible()) return reply::error(1);
  auto interrupted = [this] {
    if (housekeeping) housekeeping();
    const std::optional<Input> in = conn_.poll(std::chrono::milliseconds(0));
    if (!in) return false;
    if (in->kind == InputKind::kDisconnected) end_ = End::kDisconnected;
    return in->kind == InputKind::kInterrupt || in->kind == InputKind::kDisconnected;
  };
  last_stop_ = stop_reply(target_.resume(dir, step, interrupted));
  return last_stop_;
}

std::string GdbServer::stop_reply(const ResumeResult& r) {
  reply::Stop s;
  const Hart& h = target_.machine().hart();
  s.registers.emplace_back(kPcRegnum, reply::reg_hex(h.pc, 8));
  switch (r.outcome) {
    case Outcome::kBreakpoint:
      s.reason = swbreak_ ? reply::StopReason::kSwBreak : reply::StopReason::kNone;
      break;
    case Outcome::kWatchpoint:
      s.reason = r.watch.write ? reply::StopReason::kWatch : reply::StopReason::kReadWatch;
      s.watch_addr = r.watch.addr;
      // An access watchpoint reports as awatch.
      for (const auto& [addr, bp] : watchpoints_)
        if (bp.type == BreakType::kAccess && r.watch.addr >= addr && r.watch.addr < addr + bp.kind)
          s.reason = reply::StopReason::kAccessWatch;
      break;
    case Outcome::kInterrupted:
      s.signal = kSigInt;
      break;
    case Outcome::kHistoryBegin:
      s.reason = reply::StopReason::kReplayBegin;
      break;
    case Outcome::kHistoryEnd:
      s.reason = reply::StopReason::kReplayEnd;
      break;
    case Outcome::kExited:
      return reply::exited(static_cast<uint8_t>(r.exit_code));
    case Outcome::kError:
      for (const std::string& o : reply::console_output(r.message + "\n")) conn_.send(o);
      s.signal = kSigInt;
      break;
    case Outcome::kStopped:
      break;
  }
  return reply::stop(s);
}

std::string GdbServer::on(const Continue&) { return resume(Direction::kForward, false); }
std::string GdbServer::on(const Step&) { return resume(Direction::kForward, true); }
std::string GdbServer::on(const ReverseContinue&) { return resume(Direction::kReverse, false); }
std::string GdbServer::on(const ReverseStep&) { return resume(Direction::kReverse, true); }
std::string GdbServer::on(const VContQuery&) { return reply::vcont_actions(); }

std::string GdbServer::on(const VCont& v) {
  // One hart: the first action that applies to it decides.
  for (const VContAction& a : v.actions) {
    switch (a.kind) {
      case VContAction::Kind::kContinue: return resume(Direction::kForward, false);
      case VContAction::Kind::kStep:
      case VContAction::Kind::kRange: return resume(Direction::kForward, true);
      case VContAction::Kind::kStop: return last_stop_;
    }
  }
  return reply::error(1);
}

void GdbServer::update_watchpoints() {
  std::vector<Watchpoint> w;
  for (const auto& [addr, bp] : watchpoints_) {
    Watchpoint x{addr, std::max<uint64_t>(bp.kind, 1), false, false};
    x.write = bp.type == BreakType::kWrite || bp.type == BreakType::kAccess;
    x.read = bp.type == BreakType::kRead || bp.type == BreakType::kAccess;
    w.push_back(x);
  }
  target_.machine().hart().set_watchpoints(std::move(w));
}

std::string GdbServer::on(const InsertBreakpoint& b) {
  Machine& m = target_.machine();
  if (b.type == BreakType::kSoftware || b.type == BreakType::kHardware) {
    if (breakpoints_[b.addr]++ == 0) {
      auto pcs = m.breakpoints();
      pcs.insert(b.addr);
      m.set_breakpoints(std::move(pcs));
    }
    return reply::ok();
  }
  watchpoints_.emplace(b.addr, b);
  update_watchpoints();
  return reply::ok();
}

std::string GdbServer::on(const RemoveBreakpoint& b) {
  Machine& m = target_.machine();
  if (b.type == BreakType::kSoftware || b.type == BreakType::kHardware) {
    auto it = breakpoints_.find(b.addr);
    if (it == breakpoints_.end()) return reply::ok();
    if (--it->second == 0) {
      breakpoints_.erase(it);
      auto pcs = m.breakpoints();
      pcs.erase(b.addr);
      m.set_breakpoints(std::move(pcs));
    }
    return reply::ok();
  }
  auto [first, last] = watchpoints_.equal_range(b.addr);
  for (auto it = first; it != last; ++it) {
    if (it->second.type == b.type && it->second.kind == b.kind) {
      watchpoints_.erase(it);
      break;
    }
  }
  update_watchpoints();
  return reply::ok();
}

std::string GdbServer::on(const QuerySupported& q) {
  swbreak_ = q.has("swbreak");
  hwbreak_ = q.has("hwbreak");
  return reply::supported(kMaxPayload);
}

std::string GdbServer::on(const XferRead& x) {
  if (x.object != "features") return {};
  const std::optional<std::string_view> doc = target_xml_annex(x.annex);
  if (!doc) return reply::error(0);
  return reply::xfer_chunk(*doc, x.offset, x.length);
}

std::string GdbServer::on(const MonitorCommand& c) {
  const std::optional<std::string> out = target_.monitor(c.command);
  if (!out) return reply::monitor_output("unknown monitor command (try `monitor help`)\n");
  return reply::monitor_output(*out);
}

std::string GdbServer::on(const QueryAttached&) { return "1"; }
std::string GdbServer::on(const QueryCurrentThread&) { return "QC1"; }
std::string GdbServer::on(const ThreadInfoFirst&) { return "m1"; }
std::string GdbServer::on(const ThreadInfoNext&) { return "l"; }
std::string GdbServer::on(const SetThread&) { return reply::ok(); }
std::string GdbServer::on(const ThreadAlive&) { return reply::ok(); }
std::string GdbServer::on(const Malformed&) { return reply::error(1); }

std::string GdbServer::on(const StartNoAckMode&) {
  no_ack_pending_ = true;  // after this OK is sent
  return reply::ok();
}

std::string GdbServer::on(const Detach&) {
  end_ = End::kDetached;
  return reply::ok();
}

std::string GdbServer::on(const Kill&) {
  end_ = End::kKilled;
  return reply::ok();
}

std::string GdbServer::on(const VKill&) {
  end_ = End::kKilled;
  return reply::ok();
}

}  // namespace hs::rsp
