#include "rsp/packet.hpp"

namespace hs::rsp {

namespace {

constexpr uint8_t kInterruptByte = 0x03;
constexpr uint8_t kEscapeXor = 0x20;
// A repeat count byte encodes (extra repetitions + 29); printable only.
constexpr unsigned kRepeatBias = 29;
constexpr uint8_t kMinRepeatChar = ' ', kMaxRepeatChar = '~';

int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool needs_escape(uint8_t c) { return c == '#' || c == '$' || c == '}' || c == '*'; }

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

uint8_t checksum(std::string_view raw) {
  uint8_t sum = 0;
  for (char c : raw) sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
  return sum;
}

std::optional<Event> Decoder::push(uint8_t byte) {
  // '#' always ends the payload and a raw '$' always starts a new packet: the
  // sender must escape both inside a payload, so seeing them raw is framing.
  switch (state_) {
    case State::kIdle:
      return idle_byte(byte);
    case State::kSum1:
      sum_hi_ = byte;
      state_ = State::kSum2;
      return std::nullopt;
    case State::kSum2:
      return finish(byte);
    default:
      break;
  }
  if (byte == '$') {
    start_packet();
    return std::nullopt;
  }
  if (byte == '#') {
    if (state_ != State::kPayload) malformed_ = true;  // dangling '}' or '*'
    state_ = State::kSum1;
    return std::nullopt;
  }
  sum_ = static_cast<uint8_t>(sum_ + byte);
  if (state_ == State::kEscape)
    escape_byte(byte);
  else if (state_ == State::kRepeat)
    repeat_byte(byte);
  else
    payload_byte(byte);
  return std::nullopt;
}

void Decoder::feed(std::string_view bytes, std::vector<Event>& out) {
  for (char c : bytes)
    if (auto e = push(static_cast<uint8_t>(c))) out.push_back(std::move(*e));
}

std::optional<char> Decoder::ack_for(const Event& e) const {
  if (no_ack_) return std::nullopt;
  switch (e.kind) {
    case EventKind::kPacket:
    case EventKind::kOversized:
      return '+';
    case EventKind::kBadChecksum:
    case EventKind::kMalformed:
      return '-';
    default:
      return std::nullopt;
  }
}

std::optional<Event> Decoder::idle_byte(uint8_t byte) {
  switch (byte) {
    case '$':
      start_packet();
      return std::nullopt;
    case '+':
      return Event{EventKind::kAck, {}};
    case '-':
      return Event{EventKind::kNak, {}};
    case kInterruptByte:
      return Event{EventKind::kInterrupt, {}};
    default:
      return std::nullopt;  // noise between packets
  }
}

void Decoder::start_packet() {
  state_ = State::kPayload;
  malformed_ = false;
  oversized_ = false;
  sum_ = 0;
  payload_.clear();
}

void Decoder::payload_byte(uint8_t byte) {
  if (byte == '}') {
    state_ = State::kEscape;
  } else if (byte == '*') {
    state_ = State::kRepeat;
  } else {
    append(byte);
  }
}

void Decoder::escape_byte(uint8_t byte) {
  append(static_cast<uint8_t>(byte ^ kEscapeXor));
  state_ = State::kPayload;
}

void Decoder::repeat_byte(uint8_t byte) {
  state_ = State::kPayload;
  // A count needs a previous byte to repeat (one discarded by oversizing still
  // counts: the packet is dropped anyway) and must be printable.
  if ((payload_.empty() && !oversized_) || byte < kMinRepeatChar || byte > kMaxRepeatChar) {
    malformed_ = true;
    return;
  }
  if (oversized_) return;
  const uint8_t last = static_cast<uint8_t>(payload_.back());
  for (unsigned n = byte - kRepeatBias; n > 0 && !oversized_; --n) append(last);
}

void Decoder::append(uint8_t byte) {
  if (oversized_) return;
  if (payload_.size() >= max_payload_) {
    oversized_ = true;
    payload_.clear();
    return;
  }
  payload_.push_back(static_cast<char>(byte));
}

std::optional<Event> Decoder::finish(uint8_t sum_lo) {
  state_ = State::kIdle;
  const int hi = hex_value(sum_hi_), lo = hex_value(sum_lo);
  const bool sum_ok = hi >= 0 && lo >= 0 && static_cast<uint8_t>(hi << 4 | lo) == sum_;
  Event e{EventKind::kPacket, {}};
  if (!sum_ok)
    e.kind = EventKind::kBadChecksum;
  else if (oversized_)
    e.kind = EventKind::kOversized;
  else if (malformed_)
    e.kind = EventKind::kMalformed;
  else
    e.payload = std::move(payload_);
  payload_.clear();
  return e;
}

std::string encode_packet(std::string_view payload, bool rle) {
  constexpr unsigned kMaxExtra = kMaxRepeatChar - kRepeatBias;  // 97
  constexpr unsigned kMinExtra = kMinRepeatChar - kRepeatBias;  // 3
  std::string out;
  out.reserve(payload.size() + 4);
  out.push_back('$');
  size_t i = 0;
  while (i < payload.size()) {
    const uint8_t c = static_cast<uint8_t>(payload[i]);
    if (needs_escape(c)) {
      out.push_back('}');
      out.push_back(static_cast<char>(c ^ kEscapeXor));
      ++i;
      continue;
    }
    out.push_back(static_cast<char>(c));
    size_t run = 1;
    while (i + run < payload.size() && payload[i + run] == payload[i] && run <= kMaxExtra) ++run;
    unsigned extra = static_cast<unsigned>(run - 1);
    // Counts 6 and 7 would encode as '#' and '$'; use 5 and send the rest plain.
    while (extra + kRepeatBias == '#' || extra + kRepeatBias == '$') --extra;
    if (rle && extra >= kMinExtra) {
      out.push_back('*');
      out.push_back(static_cast<char>(extra + kRepeatBias));
      i += 1 + extra;
    } else {
      ++i;
    }
  }
  const uint8_t sum = checksum(std::string_view(out).substr(1));
  out.push_back('#');
  out.push_back(kHexDigits[sum >> 4]);
  out.push_back(kHexDigits[sum & 0xf]);
  return out;
}

}  // namespace hs::rsp
