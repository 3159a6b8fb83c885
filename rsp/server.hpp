// The gdb server: maps typed requests (rsp/request.hpp) from one connection
// onto a Debuggee. All-stop mode, one thread (the hart).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "rsp/connection.hpp"
#include "rsp/debuggee.hpp"
#include "rsp/request.hpp"

namespace hs::rsp {

class GdbServer {
 public:
  enum class End { kDetached, kKilled, kDisconnected };

  GdbServer(Debuggee& target, Connection& conn) : target_(target), conn_(conn) {}

  // Serves requests until gdb detaches, kills or disconnects.
  End serve();
  // Called a few times a second while serving, and while the target runs
  // (e.g. to refuse a second client politely).
  std::function<void()> housekeeping;

 private:
  // One handler per request kind; each returns the reply payload.
  std::string on(const QueryHaltReason&);
  std::string on(const ReadRegisters&);
  std::string on(const WriteRegisters&);
  std::string on(const ReadRegister&);
  std::string on(const WriteRegister&);
  std::string on(const ReadMemory&);
  std::string on(const WriteMemory&);
  std::string on(const Continue&);
  std::string on(const Step&);
  std::string on(const VContQuery&);
  std::string on(const VCont&);
  std::string on(const ReverseContinue&);
  std::string on(const ReverseStep&);
  std::string on(const InsertBreakpoint&);
  std::string on(const RemoveBreakpoint&);
  std::string on(const QuerySupported&);
  std::string on(const XferRead&);
  std::string on(const MonitorCommand&);
  std::string on(const QueryAttached&);
  std::string on(const QueryCurrentThread&);
  std::string on(const ThreadInfoFirst&);
  std::string on(const ThreadInfoNext&);
  std::string on(const StartNoAckMode&);
  std::string on(const SetThread&);
  std::string on(const ThreadAlive&);
  std::string on(const Detach&);
  std::string on(const Kill&);
  std::string on(const VKill&);
  std::string on(const Malformed&);
  template <typename T>
  std::string on(const T&) {  // qOffsets, qSymbol, vMustReplyEmpty, qTStatus, unknown
    return {};
  }

  std::string resume(Direction dir, bool step);
  std::string stop_reply(const ResumeResult& r);
  std::optional<uint64_t> read_reg(const struct RegInfo& r);
  void update_watchpoints();

  Debuggee& target_;
  Connection& conn_;
  bool swbreak_ = false, hwbreak_ = false;
  bool no_ack_pending_ = false;
  std::optional<End> end_;
  std::string last_stop_ = "S05";
  std::map<uint64_t, int> breakpoints_;  // pc -> number of Z0/Z1 inserts
  std::multimap<uint64_t, Breakpoint> watchpoints_;
};

}  // namespace hs::rsp
