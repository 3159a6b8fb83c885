// Serving gdb from a subcommand: listen, wait for the client, serve it.
#pragma once

#include <string>

#include "rsp/debuggee.hpp"

namespace hs {

// Listens on `address` ([HOST:]PORT, default host 127.0.0.1), tells the user
// on stderr, waits for gdb and serves it until it detaches, kills or
// disconnects. A second client is refused while one is attached. Returns
// true if gdb killed the target. Throws UserError for a bad or busy address.
bool serve_gdb(rsp::Debuggee& target, const std::string& address);

}  // namespace hs
