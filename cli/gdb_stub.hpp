// Serving gdb from a subcommand: listen, wait for the client, serve it.
#pragma once

#include <memory>
#include <string>

#include "rsp/connection.hpp"
#include "rsp/debuggee.hpp"

namespace hs {

// QEMU's -S without -s/-gdb waits for its monitor, which hindsight does not
// have: throws UserError saying what to add when `wait_gdb` is set and
// `address` is empty.
void require_gdb_for_wait(bool wait_gdb, const std::string& address);

class GdbStub {
 public:
  // Listens on `address` ([HOST:]PORT, default host 127.0.0.1) and says so
  // on stderr. Throws UserError for a bad or busy address.
  explicit GdbStub(const std::string& address);
  // A client is waiting to be served (never blocks).
  bool client_waiting();
  // Waits for gdb and serves it until it detaches, kills or disconnects. A
  // second client is refused while one is attached. True if gdb killed the
  // target.
  bool serve(rsp::Debuggee& target);

 private:
  rsp::Listener listener_;
};

}  // namespace hs
