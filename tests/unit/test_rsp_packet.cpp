// gdb remote protocol framing (rsp/packet) and transport (rsp/connection):
// checksums, acks, Ctrl-C, escaping, run-length encoding, size limits,
// garbage, no-ack mode; a real loopback socket for the connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/user_error.hpp"
#include "rsp/connection.hpp"
#include "rsp/packet.hpp"

using namespace hs::rsp;
using namespace std::chrono_literals;

namespace {

std::vector<Event> decode(std::string_view bytes, Decoder& d) {
  std::vector<Event> out;
  d.feed(bytes, out);
  return out;
}

std::vector<Event> decode(std::string_view bytes) {
  Decoder d;
  return decode(bytes, d);
}

Event packet(std::string payload) { return Event{EventKind::kPacket, std::move(payload)}; }
Event only(EventKind k) { return Event{k, {}}; }

// "$" + raw + "#" + correct checksum, with no escaping applied to raw.
std::string frame_raw(std::string_view raw) {
  static const char* hex = "0123456789abcdef";
  const uint8_t sum = checksum(raw);
  return "$" + std::string(raw) + "#" + hex[sum >> 4] + hex[sum & 0xf];
}

}  // namespace

TEST_CASE("rsp packet: checksum is the byte sum mod 256", "[rsp]") {
  CHECK(checksum("") == 0);
  CHECK(checksum("g") == 0x67);
  CHECK(checksum("OK") == 0x9a);
  CHECK(checksum(std::string(3, '\xff')) == 0xfd);
}

TEST_CASE("rsp packet: a good packet decodes and is acked", "[rsp]") {
  Decoder d;
  auto ev = decode("$g#67", d);
  REQUIRE(ev == std::vector<Event>{packet("g")});
  CHECK(d.ack_for(ev[0]) == '+');
  CHECK(d.idle());
  // Uppercase checksum digits are accepted too.
  CHECK(decode("$m0,4#fd") == std::vector<Event>{packet("m0,4")});
  CHECK(decode("$m0,4#FD") == std::vector<Event>{packet("m0,4")});
}

TEST_CASE("rsp packet: bad checksums are NAKed and dropped", "[rsp]") {
  Decoder d;
  auto ev = decode("$g#00$g#6$g#zz", d);
  // "$g#6$" takes '$' as the second checksum character: still a bad checksum.
  REQUIRE(ev.size() == 2);
  CHECK(ev[0] == only(EventKind::kBadChecksum));
  CHECK(ev[1] == only(EventKind::kBadChecksum));
  CHECK(d.ack_for(ev[0]) == '-');
  // The retransmission then decodes.
  CHECK(decode("$g#67", d) == std::vector<Event>{packet("g")});
}

TEST_CASE("rsp packet: acks, NAKs and the interrupt byte between packets", "[rsp]") {
  Decoder d;
  auto ev = decode("+-\x03", d);
  REQUIRE(ev == std::vector<Event>{only(EventKind::kAck), only(EventKind::kNak),
                                   only(EventKind::kInterrupt)});
  for (const Event& e : ev) CHECK_FALSE(d.ack_for(e).has_value());
}

TEST_CASE("rsp packet: 0x03, '+' and '-' inside a packet are payload", "[rsp]") {
  const std::string raw = std::string("X0,3:") + '\x03' + "+-";
  CHECK(decode(frame_raw(raw)) == std::vector<Event>{packet(raw)});
}

TEST_CASE("rsp packet: garbage between packets is ignored", "[rsp]") {
  CHECK(decode("junk\r\n$g#67\x7f\x80zz$?#3f") == std::vector<Event>{packet("g"), packet("?")});
}

TEST_CASE("rsp packet: a raw '$' inside a packet restarts framing", "[rsp]") {
  Decoder d;
  CHECK(decode("$m1000,4$g#67", d) == std::vector<Event>{packet("g")});
  CHECK(d.idle());
}

TEST_CASE("rsp packet: escaped bytes decode to their originals", "[rsp]") {
  // '}' + (c ^ 0x20): 0x03 -> '#', 0x04 -> '$', ']' -> '}', 0x0a -> '*'.
  const std::string raw = std::string("a}") + '\x03' + "b}" + '\x04' + "c}]d}" + '\x0a' + "e";
  CHECK(decode(frame_raw(raw)) == std::vector<Event>{packet("a#b$c}d*e")});
}

TEST_CASE("rsp packet: encoder escapes the four special bytes", "[rsp]") {
  const std::string enc = encode_packet("a#b$c}d*e");
  const std::string body = std::string("a}") + '\x03' + "b}" + '\x04' + "c}]d}" + '\x0a' + "e";
  CHECK(enc == frame_raw(body));
  CHECK(encode_packet("OK") == "$OK#9a");
  CHECK(encode_packet("") == "$#00");
}

TEST_CASE("rsp packet: every byte value survives an encode/decode round trip", "[rsp]") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (bool rle : {false, true}) {
    CHECK(decode(encode_packet(all, rle)) == std::vector<Event>{packet(all)});
    for (int b = 0; b < 256; ++b) {
      const std::string one(5, static_cast<char>(b));
      CHECK(decode(encode_packet(one, rle)) == std::vector<Event>{packet(one)});
    }
  }
}

TEST_CASE("rsp packet: run-length decoding", "[rsp]") {
  // ' ' = 32 -> 3 more, '"' = 34 -> 5 more, '~' = 126 -> 97 more.
  CHECK(decode(frame_raw("0* ")) == std::vector<Event>{packet("0000")});
  CHECK(decode(frame_raw("x0*\"y")) == std::vector<Event>{packet("x000000y")});
  CHECK(decode(frame_raw("a*~")) == std::vector<Event>{packet(std::string(98, 'a'))});
  // A count may follow a count: it repeats the last decoded byte again.
  CHECK(decode(frame_raw("a* * ")) == std::vector<Event>{packet("aaaaaaa")});
  // The repeated byte is the decoded one, also after an escape.
  CHECK(decode(frame_raw("}]*!")) == std::vector<Event>{packet("}}}}}")});
  // The count byte is raw even when it is '}' or '*' (96 and 13 more).
  CHECK(decode(frame_raw("b*}")) == std::vector<Event>{packet(std::string(97, 'b'))});
  CHECK(decode(frame_raw("b**")) == std::vector<Event>{packet(std::string(14, 'b'))});
}

TEST_CASE("rsp packet: run-length restrictions make a packet malformed", "[rsp]") {
  Decoder d;
  // Nothing to repeat, a non-printable count, a dangling '*', a dangling '}'.
  for (std::string raw : {"* x", "a*\x1f", "a*\x7f", "a*", "a}"}) {
    INFO(raw);
    auto ev = decode(frame_raw(raw), d);
    REQUIRE(ev == std::vector<Event>{only(EventKind::kMalformed)});
    CHECK(d.ack_for(ev[0]) == '-');
  }
  // "a*$" : '$' is framing, not a count; the next packet decodes.
  CHECK(decode("$a*$g#67", d) == std::vector<Event>{packet("g")});
}

TEST_CASE("rsp packet: run-length encoding only where it shortens", "[rsp]") {
  CHECK(encode_packet("000", true) == frame_raw("000"));
  CHECK(encode_packet("0000", true) == frame_raw("0* "));
  CHECK(encode_packet("0000000000", true) == frame_raw("0*&"));  // 9 more: '&'
  // 6 and 7 more would be '#' and '$': 5 more ('"') and the rest plain.
  CHECK(encode_packet(std::string(7, '0'), true) == frame_raw("0*\"0"));
  CHECK(encode_packet(std::string(8, '0'), true) == frame_raw("0*\"00"));
  // At most 97 more per run.
  CHECK(encode_packet(std::string(100, 'z'), true) == frame_raw("z*~zz"));
  // Bytes that need escaping are never run-length encoded.
  CHECK(encode_packet("####", true) == frame_raw(std::string("}\x03}\x03}\x03}\x03")));
  CHECK(encode_packet("0000", false) == "$0000#c0");
  for (size_t n = 1; n <= 300; ++n) {
    const std::string run = "x" + std::string(n, '7') + "y";
    REQUIRE(decode(encode_packet(run, true)) == std::vector<Event>{packet(run)});
  }
}

TEST_CASE("rsp packet: oversized packets are discarded with an event", "[rsp]") {
  Decoder d(16);
  CHECK(decode(frame_raw(std::string(16, 'a')), d) ==
        std::vector<Event>{packet(std::string(16, 'a'))});
  auto ev = decode(frame_raw(std::string(17, 'a')), d);
  REQUIRE(ev == std::vector<Event>{only(EventKind::kOversized)});
  CHECK(d.ack_for(ev[0]) == '+');  // delivered intact; the server replies E01
  // Run-length expansion counts against the limit too.
  CHECK(decode(frame_raw("a*~"), d) == std::vector<Event>{only(EventKind::kOversized)});
  // A bad checksum wins: the packet may be corrupt rather than large.
  CHECK(decode("$" + std::string(40, 'a') + "#00", d) ==
        std::vector<Event>{only(EventKind::kBadChecksum)});
  CHECK(decode("$g#67", d) == std::vector<Event>{packet("g")});
}

TEST_CASE("rsp packet: default limit is 64 KiB", "[rsp]") {
  CHECK(decode(encode_packet(std::string(kMaxPayload, 'q'))) ==
        std::vector<Event>{packet(std::string(kMaxPayload, 'q'))});
  CHECK(decode(encode_packet(std::string(kMaxPayload + 1, 'q'))) ==
        std::vector<Event>{only(EventKind::kOversized)});
}

TEST_CASE("rsp packet: no-ack mode sends no acknowledgements", "[rsp]") {
  Decoder d;
  d.set_no_ack(true);
  CHECK(d.no_ack());
  auto ev = decode("$g#67$g#00+", d);
  REQUIRE(ev == std::vector<Event>{packet("g"), only(EventKind::kBadChecksum),
                                   only(EventKind::kAck)});
  for (const Event& e : ev) CHECK_FALSE(d.ack_for(e).has_value());
}

TEST_CASE("rsp packet: chunking does not matter", "[rsp]") {
  const std::string stream = "+$qSupported:swbreak+;hwbreak+#5e\x03$m80000000,4#55-";
  Decoder whole, bytewise;
  auto expected = decode(stream, whole);
  std::vector<Event> got;
  for (char c : stream)
    if (auto e = bytewise.push(static_cast<uint8_t>(c))) got.push_back(*e);
  CHECK(got == expected);
  REQUIRE(expected.size() == 5);
  CHECK(expected[1].kind == EventKind::kBadChecksum);  // its checksum is d5
  CHECK(expected[3] == packet("m80000000,4"));
}

// ---- connection ----

TEST_CASE("rsp connection: address parsing", "[rsp]") {
  CHECK(parse_listen_address("1234") == ListenAddress{"127.0.0.1", 1234});
  CHECK(parse_listen_address(":1234") == ListenAddress{"127.0.0.1", 1234});
  CHECK(parse_listen_address("localhost:1234") == ListenAddress{"localhost", 1234});
  CHECK(parse_listen_address("0.0.0.0:65535") == ListenAddress{"0.0.0.0", 65535});
  CHECK(parse_listen_address("[::1]:99") == ListenAddress{"::1", 99});
  CHECK(parse_listen_address("tcp::1234") == ListenAddress{"127.0.0.1", 1234});
  CHECK(parse_listen_address("0") == ListenAddress{"127.0.0.1", 0});
  for (const char* bad : {"", ":", "abc", "65536", "123456", "host:", "-1", "12a4", "::1:1234",
                          "[::1:1234", "1234 "}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_listen_address(bad), hs::UserError);
  }
  CHECK_THROWS_WITH(parse_listen_address("localhost:http"),
                    "bad gdb address 'localhost:http': port must be a number from 0 to 65535");
}

namespace {

// A test-side client socket connected to 127.0.0.1:port.
struct Client {
  int fd = -1;
  explicit Client(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Client() { ::close(fd); }
  void send(std::string_view s) const {
    REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
  }
  // Reads exactly n bytes (waiting up to 2 s); fewer if the peer closes.
  std::string read(size_t n) const {
    std::string out;
    while (out.size() < n) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      char buf[256];
      const ssize_t got = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) break;
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }
  // True if nothing arrives within 100 ms.
  bool quiet() const {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 100) == 0;
  }
};

// Polls until an input arrives (2 s at most).
std::optional<Input> next_input(Connection& c) {
  for (int i = 0; i < 20; ++i)
    if (auto in = c.poll(100ms)) return in;
  return std::nullopt;
}

}  // namespace

TEST_CASE("rsp connection: exchange packets over loopback", "[rsp]") {
  Listener l(ListenAddress{"127.0.0.1", 0});
  REQUIRE(l.port() != 0);
  CHECK_FALSE(l.accept(0ms).has_value());  // nobody yet
  Client client(l.port());
  auto conn = l.accept(2000ms);
  REQUIRE(conn.has_value());
  CHECK(conn->peer().starts_with("127.0.0.1:"));
  CHECK_FALSE(conn->poll(0ms).has_value());  // nothing sent yet

  client.send("+" + frame_raw("qSupported:swbreak+"));
  auto in = next_input(*conn);
  REQUIRE(in.has_value());
  CHECK(in->kind == InputKind::kPacket);
  CHECK(in->payload == "qSupported:swbreak+");
  CHECK(client.read(1) == "+");

  REQUIRE(conn->send("OK"));
  CHECK(client.read(6) == "$OK#9a");

  // A NAK retransmits the last packet; an ack is swallowed.
  client.send("-");
  CHECK_FALSE(conn->poll(500ms).has_value());
  CHECK(client.read(6) == "$OK#9a");
  client.send("+");
  CHECK_FALSE(conn->poll(100ms).has_value());
  CHECK(client.quiet());

  // A corrupted packet gets '-' and produces no input.
  client.send("$g#00");
  CHECK_FALSE(conn->poll(500ms).has_value());
  CHECK(client.read(1) == "-");

  // Ctrl-C.
  client.send("\x03");
  in = next_input(*conn);
  REQUIRE(in.has_value());
  CHECK(in->kind == InputKind::kInterrupt);

  // Replies are run-length encoded.
  REQUIRE(conn->send("000000000"));
  CHECK(client.read(7) == frame_raw("0*%"));  // 8 more: '%' (37)
}

TEST_CASE("rsp connection: no-ack mode and oversized packets", "[rsp]") {
  Listener l(ListenAddress{"127.0.0.1", 0});
  Client client(l.port());
  auto conn = l.accept(2000ms);
  REQUIRE(conn.has_value());

  client.send(frame_raw(std::string(kMaxPayload + 10, 'a')));
  auto in = next_input(*conn);
  REQUIRE(in.has_value());
  CHECK(in->kind == InputKind::kOversized);
  CHECK(client.read(1) == "+");

  conn->set_no_ack(true);
  client.send("$g#67");
  in = next_input(*conn);
  REQUIRE(in.has_value());
  CHECK(in->payload == "g");
  REQUIRE(conn->send("E01"));
  CHECK(client.read(7) == "$E01#a6");  // no '+' before it
  client.send("-");                      // no retransmission in no-ack mode
  CHECK_FALSE(conn->poll(100ms).has_value());
  CHECK(client.quiet());
}

TEST_CASE("rsp connection: a second client is refused while one is served", "[rsp]") {
  Listener l(ListenAddress{"127.0.0.1", 0});
  Client first(l.port());
  auto conn = l.accept(2000ms);
  REQUIRE(conn.has_value());
  CHECK(l.refuse_pending().empty());

  Client second(l.port());
  pollfd p{l.fd(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  auto refused = l.refuse_pending();
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].starts_with("127.0.0.1:"));
  CHECK(second.read(1).empty());  // closed without a byte

  // The first client is unaffected.
  first.send("$?#3f");
  auto in = next_input(*conn);
  REQUIRE(in.has_value());
  CHECK(in->payload == "?");
}

TEST_CASE("rsp connection: client disconnect is an input", "[rsp]") {
  Listener l(ListenAddress{"127.0.0.1", 0});
  std::optional<Connection> conn;
  {
    Client client(l.port());
    conn = l.accept(2000ms);
    REQUIRE(conn.has_value());
    client.send("$k#6b");
  }
  auto in = next_input(*conn);
  REQUIRE(in.has_value());
  CHECK(in->payload == "k");  // bytes before the close are still delivered
  in = next_input(*conn);
  REQUIRE(in.has_value());
  CHECK(in->kind == InputKind::kDisconnected);
  CHECK(conn->closed());
  CHECK_FALSE(conn->send("OK"));
  CHECK(conn->poll(0ms)->kind == InputKind::kDisconnected);
}

TEST_CASE("rsp connection: a port in use is a clear error", "[rsp]") {
  Listener first(ListenAddress{"127.0.0.1", 0});
  const std::string where = "127.0.0.1:" + std::to_string(first.port());
  CHECK_THROWS_WITH(Listener(ListenAddress{"127.0.0.1", first.port()}),
                    "cannot listen for gdb on " + where + ": Address already in use");
}
