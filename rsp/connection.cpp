#include "rsp/connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/user_error.hpp"

namespace hs::rsp {

namespace {

constexpr size_t kReadChunk = 4096;
constexpr int kBacklog = 4;

[[noreturn]] void bad_address(std::string_view spec, std::string_view why) {
  throw UserError("bad gdb address '" + std::string(spec) + "': " + std::string(why));
}

uint16_t parse_port(std::string_view spec, std::string_view s) {
  if (s.empty()) bad_address(spec, "missing port");
  if (s.size() > 5) bad_address(spec, "port must be a number from 0 to 65535");
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') bad_address(spec, "port must be a number from 0 to 65535");
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) bad_address(spec, "port must be a number from 0 to 65535");
  return static_cast<uint16_t>(v);
}

std::string parse_host(std::string_view spec, std::string_view h) {
  if (h.empty()) return ListenAddress{}.host;
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') bad_address(spec, "unterminated '[' in host");
    return std::string(h.substr(1, h.size() - 2));
  }
  if (h.find(':') != std::string_view::npos)
    bad_address(spec, "write IPv6 hosts in brackets, e.g. [::1]:1234");
  return std::string(h);
}

std::string describe(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(in.sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6.sin6_port));
  }
  return "?";
}

// One bound, listening socket for `ai`, or -1 with errno set.
int listen_on(const addrinfo& ai) {
  const int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          ai.ai_protocol);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // restart during TIME_WAIT
  if (::bind(fd, ai.ai_addr, ai.ai_addrlen) == 0 && ::listen(fd, kBacklog) == 0) return fd;
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return -1;
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6&>(ss).sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in&>(ss).sin_port);
}

// Accepts one pending client (the listener is non-blocking): fd or -1.
int accept_one(int listen_fd, std::string& peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int fd;
  do {
    fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd >= 0) peer = describe(ss);
  return fd;
}

int wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  const int ms = timeout.count() < 0 ? -1 : static_cast<int>(timeout.count());
  return ::poll(&p, 1, ms);
}

}  // namespace

ListenAddress parse_listen_address(std::string_view spec) {
  std::string_view s = spec;
  if (s.starts_with("tcp:")) s.remove_prefix(4);
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return ListenAddress{ListenAddress{}.host, parse_port(spec, s)};
  const std::string_view host = s.substr(0, colon);
  return ListenAddress{parse_host(spec, host), parse_port(spec, s.substr(colon + 1))};
}

// ---- Connection ----

Connection::Connection(int fd, std::string peer) : fd_(fd), peer_(std::move(peer)) {
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // replies are tiny
}

Connection::Connection(Connection&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      peer_(std::move(o.peer_)),
      decoder_(std::move(o.decoder_)),
      queue_(std::move(o.queue_)),
      last_sent_(std::move(o.last_sent_)) {}

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    close_fd();
    fd_ = std::exchange(o.fd_, -1);
    peer_ = std::move(o.peer_);
    decoder_ = std::move(o.decoder_);
    queue_ = std::move(o.queue_);
    last_sent_ = std::move(o.last_sent_);
  }
  return *this;
}

Connection::~Connection() { close_fd(); }

void Connection::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::optional<Input> Connection::poll(std::chrono::milliseconds timeout) {
  if (queue_.empty() && !closed()) read_some(timeout);
  if (!queue_.empty()) {
    Input in = std::move(queue_.front());
    queue_.pop_front();
    return in;
  }
  if (closed()) return Input{InputKind::kDisconnected, {}};
  return std::nullopt;
}

bool Connection::read_some(std::chrono::milliseconds timeout) {
  const int ready = wait_readable(fd_, timeout);
  if (ready < 0 && errno != EINTR) {
    close_fd();
    return false;
  }
  if (ready <= 0) return false;
  char buf[kReadChunk];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
  if (n <= 0) {  // EOF or a reset connection
    close_fd();
    return false;
  }
  std::string acks;
  for (ssize_t i = 0; i < n; ++i)
    if (auto e = decoder_.push(static_cast<uint8_t>(buf[i]))) handle(std::move(*e), acks);
  if (!acks.empty()) write_all(acks);
  return true;
}

void Connection::handle(Event e, std::string& acks) {
  if (auto ack = decoder_.ack_for(e)) acks.push_back(*ack);
  switch (e.kind) {
    case EventKind::kPacket:
      queue_.push_back({InputKind::kPacket, std::move(e.payload)});
      break;
    case EventKind::kInterrupt:
      queue_.push_back({InputKind::kInterrupt, {}});
      break;
    case EventKind::kOversized:
      queue_.push_back({InputKind::kOversized, {}});
      break;
    case EventKind::kNak:
      // Retransmit after the acks gathered so far, keeping the wire order.
      if (!decoder_.no_ack() && !last_sent_.empty()) acks += last_sent_;
      break;
    default:  // '+', or a damaged packet already NAKed above
      break;
  }
}

bool Connection::send(std::string_view payload) {
  if (closed()) return false;
  last_sent_ = encode_packet(payload, /*rle=*/true);
  return write_all(last_sent_);
}

bool Connection::write_all(std::string_view bytes) {
  while (!bytes.empty() && !closed()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close_fd();
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return !closed();
}

// ---- Listener ----

Listener::Listener(const ListenAddress& addr) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string where = addr.host + ":" + std::to_string(addr.port);
  const std::string port = std::to_string(addr.port);
  if (int rc = ::getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    throw UserError("cannot listen for gdb on " + where + ": " + gai_strerror(rc));
  int err = 0;
  for (const addrinfo* ai = res; ai && fd_ < 0; ai = ai->ai_next) {
    fd_ = listen_on(*ai);
    if (fd_ < 0) err = errno;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) throw UserError("cannot listen for gdb on " + where + ": " + std::strerror(err));
  port_ = bound_port(fd_);
}

Listener::~Listener() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<Connection> Listener::accept(std::chrono::milliseconds timeout) {
  if (wait_readable(fd_, timeout) <= 0) return std::nullopt;
  std::string peer;
  const int fd = accept_one(fd_, peer);
  if (fd < 0) return std::nullopt;  // the client gave up between poll and accept
  return Connection(fd, std::move(peer));
}

std::vector<std::string> Listener::refuse_pending() {
  std::vector<std::string> refused;
  std::string peer;
  for (int fd; (fd = accept_one(fd_, peer)) >= 0;) {
    ::close(fd);
    refused.push_back(peer);
  }
  return refused;
}

}  // namespace hs::rsp
