#include "cli/gdb_stub.hpp"

#include <fmt/format.h>

#include "rsp/connection.hpp"
#include "rsp/server.hpp"

namespace hs {

bool serve_gdb(rsp::Debuggee& target, const std::string& address) {
  rsp::Listener listener(rsp::parse_listen_address(address));
  fmt::print(stderr, "hindsight: waiting for gdb on port {} (target remote :{})\n",
             listener.port(), listener.port());
  std::optional<rsp::Connection> conn;
  while (!conn) conn = listener.accept(std::chrono::milliseconds(-1));
  rsp::GdbServer server(target, *conn);
  server.housekeeping = [&listener] {
    for (const std::string& peer : listener.refuse_pending())
      fmt::print(stderr, "hindsight: refused a second gdb connection from {}\n", peer);
  };
  const rsp::GdbServer::End end = server.serve();
  return end == rsp::GdbServer::End::kKilled;
}

}  // namespace hs
