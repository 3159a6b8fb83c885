// libFuzzer target for the gdb remote protocol's byte-facing layers: the
// packet decoder (rsp/packet) and the request parser (rsp/request).
//
// Input layout: byte 0 selects the mode (bit 0: no-ack mode, bit 1: a 64-byte
// payload limit so oversized packets are common, bits 2..7: feed chunk size),
// the rest is the byte stream from "gdb". Checked properties, beyond "no
// crash and no UB" (ASan/UBSan abort on those):
//   - decoded payloads never exceed the decoder's limit;
//   - every decoded payload, and the raw input itself, survives an
//     encode_packet -> Decoder round trip, with and without RLE;
//   - parsed requests respect their documented bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "rsp/packet.hpp"
#include "rsp/request.hpp"

using namespace hs::rsp;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void check_round_trip(std::string_view payload, bool rle) {
  if (payload.size() > kMaxPayload) return;
  Decoder d;
  std::vector<Event> ev;
  d.feed(encode_packet(payload, rle), ev);
  require(ev.size() == 1 && ev[0].kind == EventKind::kPacket && ev[0].payload == payload);
}

void check_request(const Request& r) {
  std::visit(
      [](const auto& q) {
        using T = std::decay_t<decltype(q)>;
        if constexpr (std::is_same_v<T, ReadMemory>) {
          require(q.length <= kMaxMemoryLength);
          require(q.length == 0 || q.addr + (q.length - 1) >= q.addr);
          (void)reply::xfer_chunk("0123456789", q.addr, q.length);
        } else if constexpr (std::is_same_v<T, WriteMemory>) {
          require(q.data.size() <= kMaxMemoryLength);
        } else if constexpr (std::is_same_v<T, VCont>) {
          require(!q.actions.empty());
        } else if constexpr (std::is_same_v<T, XferRead>) {
          (void)reply::xfer_chunk(q.annex, q.offset, q.length);
        } else if constexpr (std::is_same_v<T, MonitorCommand>) {
          for (const std::string& p : reply::console_output(q.command, 64)) require(p.size() <= 64);
          require(reply::monitor_output(q.command).size() >= 2);
        } else if constexpr (std::is_same_v<T, Malformed>) {
          require(!q.reason.empty());
        }
      },
      r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t limit = (mode & 2) ? 64 : kMaxPayload;
  const size_t chunk = (mode >> 2) + 1;

  Decoder d(limit);
  d.set_no_ack(mode & 1);
  std::vector<Event> events;
  for (size_t at = 0; at < stream.size(); at += chunk) {
    events.clear();
    d.feed(stream.substr(at, chunk), events);
    for (const Event& e : events) {
      const auto ack = d.ack_for(e);
      require(!ack || (!d.no_ack() && (*ack == '+' || *ack == '-')));
      if (e.kind != EventKind::kPacket) {
        require(e.payload.empty());
        continue;
      }
      require(e.payload.size() <= limit);
      check_round_trip(e.payload, mode & 1);
      check_request(parse_request(e.payload));
    }
  }
  // The raw stream as a payload exercises the encoder and parser directly.
  check_round_trip(stream, true);
  check_round_trip(stream, false);
  check_request(parse_request(stream));
  return 0;
}
