// gdb remote serial protocol, transport: a TCP listener for one gdb client
// and the connection that turns socket bytes into inputs (packets, Ctrl-C,
// disconnect) with the acknowledgement protocol handled underneath.
//
// One client at a time: clients that connect while a session is active are
// accepted and closed at once (refuse_pending). Sending them an error packet
// instead would be an unsolicited reply: gdb speaks first (qSupported) and
// would take "E01" as the answer to that, so a plain close is the clearest
// refusal; gdb reports "Remote connection closed".
//
// Errors the user can cause (bad address, port in use) throw hs::UserError
// with a one-line message.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rsp/packet.hpp"

namespace hs::rsp {

struct ListenAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port (see Listener::port)
  bool operator==(const ListenAddress&) const = default;
};

// Parses "[host:]port": "1234", ":1234", "localhost:1234", "0.0.0.0:1234",
// "[::1]:1234", and QEMU's "tcp::1234". The host defaults to 127.0.0.1.
// Throws UserError on a missing/non-numeric/out-of-range port or a bad host.
ListenAddress parse_listen_address(std::string_view spec);

enum class InputKind : uint8_t {
  kPacket,        // payload holds the decoded packet (already acked)
  kInterrupt,     // Ctrl-C (0x03): stop the target, reply with a stop packet
  kOversized,     // a packet too large to accept (already acked): reply E01
  kDisconnected,  // the client went away (EOF or socket error)
};

struct Input {
  InputKind kind;
  std::string payload;
};

// One client. Move-only; closes its socket on destruction.
class Connection {
 public:
  explicit Connection(int fd, std::string peer = {});
  Connection(Connection&& o) noexcept;
  Connection& operator=(Connection&& o) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // The next input. Waits up to `timeout` for bytes when none are queued
  // (0 polls without blocking — use it between run slices to notice Ctrl-C;
  // negative waits indefinitely). May return nullopt before the timeout if
  // the bytes that arrived completed no input. Sends the acks the packet
  // layer asks for, retransmits the last packet on a NAK, swallows '+'.
  // Once disconnected, returns kDisconnected on every call.
  std::optional<Input> poll(std::chrono::milliseconds timeout);

  // Frames and sends one reply (run-length encoded where that helps).
  // Blocks until written. False if the client is gone.
  bool send(std::string_view payload);

  // Enter no-ack mode: call right after sending the OK for QStartNoAckMode.
  void set_no_ack(bool on) { decoder_.set_no_ack(on); }
  bool closed() const { return fd_ < 0; }
  int fd() const { return fd_; }
  const std::string& peer() const { return peer_; }

 private:
  bool read_some(std::chrono::milliseconds timeout);
  void handle(Event e, std::string& acks);
  bool write_all(std::string_view bytes);
  void close_fd();

  int fd_ = -1;
  std::string peer_;
  Decoder decoder_;
  std::deque<Input> queue_;  // bounded: filled only from one read of at most 4 KiB
  std::string last_sent_;    // framed, for retransmission on NAK
};

// A listening TCP socket.
class Listener {
 public:
  // Binds and listens. Throws UserError if the address can't be resolved or
  // bound (e.g. the port is in use).
  explicit Listener(const ListenAddress& addr);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();

  // The bound port (the kernel's choice when the address asked for port 0).
  uint16_t port() const { return port_; }
  int fd() const { return fd_; }

  // Waits up to `timeout` (negative: forever) for a client; nullopt on timeout.
  std::optional<Connection> accept(std::chrono::milliseconds timeout);
  // Accepts and immediately closes every client waiting in the backlog (call
  // while a session is active). Returns their addresses, for a log line.
  std::vector<std::string> refuse_pending();

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace hs::rsp
