// gdb remote serial protocol, framing layer: turns a byte stream into events
// (packets, acks, the Ctrl-C byte) and payloads into framed packets.
//
// Wire format (gdb manual, "Overview" and "Binary Data"):
//   $<payload>#<two hex digits: sum of the payload's raw bytes mod 256>
//   payload escapes: '}' followed by (byte ^ 0x20) for '#', '$', '}', '*'
//   run-length encoding: "X*n" repeats X (the previous decoded byte) n-29
//   more times; n is printable (' '..'~'), never '#' or '$'
//   '+' / '-' acknowledge / reject the last packet (not sent in no-ack mode)
//   0x03 outside a packet is an interrupt request (Ctrl-C)
//
// Pure: no sockets, no clocks. Memory is bounded by the maximum payload size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hs::rsp {

// Largest decoded payload accepted (and advertised as PacketSize).
constexpr size_t kMaxPayload = 64 * 1024;

enum class EventKind : uint8_t {
  kPacket,       // a complete packet with a good checksum; payload is decoded
  kAck,          // '+' between packets
  kNak,          // '-' between packets: the peer wants the last packet again
  kInterrupt,    // 0x03 between packets
  kBadChecksum,  // complete packet whose checksum did not match (dropped)
  kMalformed,    // bad escape or run-length encoding (dropped)
  kOversized,    // payload exceeded the maximum; discarded up to its '#xx'
};

struct Event {
  EventKind kind;
  std::string payload;  // kPacket only: unescaped, run-length expanded
  bool operator==(const Event&) const = default;
};

// Byte-stream decoder. Feed bytes in any chunking; each byte completes at most
// one event. Between packets, bytes other than '$', '+', '-' and 0x03 are
// ignored (line noise, a stray '\n'). A raw '$' inside a packet restarts
// framing (as gdb's own reader does), dropping the partial packet silently.
class Decoder {
 public:
  explicit Decoder(size_t max_payload = kMaxPayload) : max_payload_(max_payload) {}

  // Consumes one byte; returns the event it completes, if any. O(1), never
  // allocates beyond max_payload bytes for the current packet.
  std::optional<Event> push(uint8_t byte);
  // Consumes `bytes`, appending completed events to `out`.
  void feed(std::string_view bytes, std::vector<Event>& out);

  // The acknowledgement the receiver owes for `e`: '+' for a packet (and for
  // an oversized one: it arrived intact, the server answers it with an error),
  // '-' for a bad checksum or malformed packet (gdb retransmits). Nothing in
  // no-ack mode, nothing for other events.
  std::optional<char> ack_for(const Event& e) const;

  // No-ack mode (QStartNoAckMode): set after replying OK to that packet.
  void set_no_ack(bool on) { no_ack_ = on; }
  bool no_ack() const { return no_ack_; }
  // True between packets (no partial packet buffered).
  bool idle() const { return state_ == State::kIdle; }

 private:
  enum class State : uint8_t { kIdle, kPayload, kEscape, kRepeat, kSum1, kSum2 };

  std::optional<Event> idle_byte(uint8_t byte);
  void start_packet();
  void payload_byte(uint8_t byte);
  void escape_byte(uint8_t byte);
  void repeat_byte(uint8_t byte);
  void append(uint8_t byte);
  std::optional<Event> finish(uint8_t sum_lo);

  size_t max_payload_;
  bool no_ack_ = false;
  State state_ = State::kIdle;
  bool malformed_ = false;
  bool oversized_ = false;
  uint8_t sum_ = 0;       // running checksum of the raw payload bytes
  uint8_t sum_hi_ = 0;    // first checksum character
  std::string payload_;
};

// Frames `payload`: "$" + escaped payload + "#" + checksum. With `rle`, runs
// of 4 or more identical bytes that need no escaping are run-length encoded
// (only where that shortens the packet). Cost: O(payload size).
std::string encode_packet(std::string_view payload, bool rle = false);

// Sum of bytes mod 256, the packet checksum.
uint8_t checksum(std::string_view raw);

}  // namespace hs::rsp
