#include "cli/gdb_stub.hpp"

#include <fmt/format.h>
#include <poll.h>

#include "core/user_error.hpp"
#include "rsp/server.hpp"

namespace hs {

void require_gdb_for_wait(bool wait_gdb, const std::string& address) {
  if (wait_gdb && address.empty())
    throw UserError("-S waits for gdb: add --gdb [HOST:]PORT or -s (port 1234)");
}

GdbStub::GdbStub(const std::string& address) : listener_(rsp::parse_listen_address(address)) {
  fmt::print(stderr, "hindsight: gdb server on port {} (gdb: target remote :{})\n",
             listener_.port(), listener_.port());
}

bool GdbStub::client_waiting() {
  struct pollfd p = {listener_.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

bool GdbStub::serve(rsp::Debuggee& target) {
  std::optional<rsp::Connection> conn;
  while (!conn) conn = listener_.accept(std::chrono::milliseconds(-1));
  rsp::GdbServer server(target, *conn);
  server.housekeeping = [this] {
    for (const std::string& peer : listener_.refuse_pending())
      fmt::print(stderr, "hindsight: refused a second gdb connection from {}\n", peer);
  };
  return server.serve() == rsp::GdbServer::End::kKilled;
}

}  // namespace hs
