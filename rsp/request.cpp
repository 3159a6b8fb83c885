#include "rsp/request.hpp"

#include <algorithm>
#include <limits>

namespace hs::rsp {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits `s` at the first `sep`; nullopt if absent.
std::optional<std::pair<std::string_view, std::string_view>> split(std::string_view s, char sep) {
  const size_t at = s.find(sep);
  if (at == std::string_view::npos) return std::nullopt;
  return std::pair{s.substr(0, at), s.substr(at + 1)};
}

Request malformed(std::string reason) { return Malformed{std::move(reason)}; }

// A signed id as thread-ids use: hex, or "-1" for "all".
std::optional<int64_t> parse_id(std::string_view s) {
  if (s == "-1") return ThreadId::kAll;
  auto v = parse_hex_u64(s);
  if (!v || *v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(*v);
}

std::optional<ThreadId> parse_thread(std::string_view s) {
  if (s.empty() || s[0] != 'p') {
    auto tid = parse_id(s);
    if (!tid) return std::nullopt;
    return ThreadId{std::nullopt, *tid};
  }
  s.remove_prefix(1);
  auto parts = split(s, '.');
  auto pid = parse_id(parts ? parts->first : s);
  auto tid = parts ? parse_id(parts->second) : std::optional<int64_t>{ThreadId::kAll};
  if (!pid || !tid) return std::nullopt;
  return ThreadId{pid, *tid};
}

// "addr,length" with both fields hex.
std::optional<std::pair<uint64_t, uint64_t>> parse_addr_len(std::string_view s) {
  auto parts = split(s, ',');
  if (!parts) return std::nullopt;
  auto addr = parse_hex_u64(parts->first), len = parse_hex_u64(parts->second);
  if (!addr || !len) return std::nullopt;
  return std::pair{*addr, *len};
}

// Range checks shared by m, M and X.
std::optional<std::string> check_memory_range(uint64_t addr, uint64_t len) {
  if (len > kMaxMemoryLength) return "memory length above 64 KiB";
  if (len != 0 && addr + (len - 1) < addr) return "memory range wraps around";
  return std::nullopt;
}

// ---- one parser per packet; `args` is the payload after the table name ----

template <typename T>
Request simple(std::string_view) {
  return T{};
}

Request parse_write_registers(std::string_view args) {
  auto bytes = decode_hex(args);
  if (!bytes || bytes->empty()) return malformed("G: bad register data");
  return WriteRegisters{std::move(*bytes)};
}

std::optional<uint32_t> parse_regnum(std::string_view s) {
  auto n = parse_hex_u64(s);
  if (!n || *n > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return static_cast<uint32_t>(*n);
}

Request parse_read_register(std::string_view args) {
  auto n = parse_regnum(args);
  if (!n) return malformed("p: bad register number");
  return ReadRegister{*n};
}

Request parse_write_register(std::string_view args) {
  auto parts = split(args, '=');
  if (!parts) return malformed("P: missing '='");
  auto n = parse_regnum(parts->first);
  auto bytes = decode_hex(parts->second);
  if (!n) return malformed("P: bad register number");
  if (!bytes || bytes->empty()) return malformed("P: bad register value");
  return WriteRegister{*n, std::move(*bytes)};
}

Request parse_read_memory(std::string_view args) {
  auto range = parse_addr_len(args);
  if (!range) return malformed("m: expected addr,length");
  if (auto bad = check_memory_range(range->first, range->second)) return malformed("m: " + *bad);
  return ReadMemory{range->first, range->second};
}

// M (hex data) and X (binary data) differ only in how the data is encoded.
template <bool kBinary>
Request parse_write_memory(std::string_view args) {
  const char* name = kBinary ? "X: " : "M: ";
  auto parts = split(args, ':');
  auto range = parts ? parse_addr_len(parts->first) : std::nullopt;
  if (!range) return malformed(std::string(name) + "expected addr,length:data");
  if (auto bad = check_memory_range(range->first, range->second))
    return malformed(std::string(name) + *bad);
  std::optional<std::vector<uint8_t>> data;
  if (kBinary)
    data.emplace(parts->second.begin(), parts->second.end());
  else
    data = decode_hex(parts->second);
  if (!data) return malformed(std::string(name) + "bad hex data");
  if (data->size() != range->second) return malformed(std::string(name) + "length mismatch");
  return WriteMemory{range->first, std::move(*data)};
}

template <typename T>
Request parse_resume(std::string_view args) {
  if (args.empty()) return T{};
  auto addr = parse_hex_u64(args);
  if (!addr) return malformed("c/s: bad address");
  return T{*addr};
}

std::optional<uint8_t> parse_signal(std::string_view s) {
  auto v = parse_hex_u64(s);
  if (!v || *v > 0xff) return std::nullopt;
  return static_cast<uint8_t>(*v);
}

// "c", "s", "t", "Cxx", "Sxx", "rstart,end", each optionally ":thread-id".
std::optional<VContAction> parse_vcont_action(std::string_view s) {
  VContAction a;
  if (auto parts = split(s, ':')) {
    a.thread = parse_thread(parts->second);
    if (!a.thread) return std::nullopt;
    s = parts->first;
  }
  if (s.empty()) return std::nullopt;
  const std::string_view arg = s.substr(1);
  switch (s[0]) {
    case 'c': a.kind = VContAction::Kind::kContinue; break;
    case 's': a.kind = VContAction::Kind::kStep; break;
    case 't': a.kind = VContAction::Kind::kStop; break;
    case 'C': a.kind = VContAction::Kind::kContinue; a.signal = parse_signal(arg); break;
    case 'S': a.kind = VContAction::Kind::kStep; a.signal = parse_signal(arg); break;
    case 'r': {
      auto range = parse_addr_len(arg);
      if (!range) return std::nullopt;
      a.kind = VContAction::Kind::kRange;
      a.range_start = range->first;
      a.range_end = range->second;
      return a;
    }
    default: return std::nullopt;
  }
  const bool wants_signal = s[0] == 'C' || s[0] == 'S';
  if (wants_signal ? !a.signal : !arg.empty()) return std::nullopt;
  return a;
}

Request parse_vcont(std::string_view args) {
  VCont v;
  while (true) {
    auto parts = split(args, ';');
    auto action = parse_vcont_action(parts ? parts->first : args);
    if (!action) return malformed("vCont: bad action");
    v.actions.push_back(*action);
    if (!parts) break;
    args = parts->second;
  }
  return v;
}

template <typename T>
Request parse_breakpoint(std::string_view args) {
  // "type,addr,kind"
  auto first = split(args, ',');
  if (!first || first->first.size() != 1 || first->first[0] < '0' || first->first[0] > '4')
    return malformed("Z/z: bad type");
  auto range = parse_addr_len(first->second);
  if (!range) return malformed("Z/z: expected type,addr,kind");
  T bp;
  bp.type = static_cast<BreakType>(first->first[0] - '0');
  bp.addr = range->first;
  bp.kind = range->second;
  return bp;
}

Request parse_supported(std::string_view args) {
  QuerySupported q;
  while (!args.empty()) {
    auto parts = split(args, ';');
    q.features.emplace_back(parts ? parts->first : args);
    args = parts ? parts->second : std::string_view{};
  }
  return q;
}

Request parse_xfer(std::string_view args) {
  // "object:read:annex:offset,length"; the annex may be empty.
  auto object = split(args, ':');
  auto op = object ? split(object->second, ':') : std::nullopt;
  if (!op) return malformed("qXfer: expected object:operation:...");
  if (op->first != "read") return Unknown{"qXfer:" + std::string(args)};
  const size_t last = op->second.rfind(':');
  if (last == std::string_view::npos) return malformed("qXfer: expected annex:offset,length");
  auto range = parse_addr_len(op->second.substr(last + 1));
  if (!range) return malformed("qXfer: bad offset,length");
  return XferRead{std::string(object->first), std::string(op->second.substr(0, last)),
                  range->first, range->second};
}

Request parse_rcmd(std::string_view args) {
  auto bytes = decode_hex(args);
  if (!bytes) return malformed("qRcmd: bad hex");
  return MonitorCommand{std::string(bytes->begin(), bytes->end())};
}

template <typename T>
Request parse_pid(std::string_view args) {
  auto pid = parse_id(args);
  if (!pid) return malformed("bad process id");
  return T{*pid};
}

Request parse_set_thread(std::string_view args) {
  if (args.empty() || (args[0] != 'g' && args[0] != 'c')) return malformed("H: bad operation");
  auto thread = parse_thread(args.substr(1));
  if (!thread) return malformed("H: bad thread-id");
  return SetThread{args[0], *thread};
}

Request parse_thread_alive(std::string_view args) {
  auto thread = parse_thread(args);
  if (!thread) return malformed("T: bad thread-id");
  return ThreadAlive{*thread};
}

// The dispatch table. An exact entry matches the whole payload; a prefix
// entry matches payloads starting with `name` and passes the rest on. First
// match wins, so a longer name sharing a prefix must come first.
using Parser = Request (*)(std::string_view args);
struct Entry {
  std::string_view name;
  bool exact;
  Parser parse;
};

constexpr Entry kPackets[] = {
    {"vCont?", true, simple<VContQuery>},
    {"vCont;", false, parse_vcont},
    {"vMustReplyEmpty", true, simple<MustReplyEmpty>},
    {"vKill", true, simple<VKill>},
    {"vKill;", false, parse_pid<VKill>},
    {"qSupported", true, simple<QuerySupported>},
    {"qSupported:", false, parse_supported},
    {"qXfer:", false, parse_xfer},
    {"qRcmd,", false, parse_rcmd},
    {"qAttached", true, simple<QueryAttached>},
    {"qAttached:", false, parse_pid<QueryAttached>},
    {"qC", true, simple<QueryCurrentThread>},
    {"qfThreadInfo", true, simple<ThreadInfoFirst>},
    {"qsThreadInfo", true, simple<ThreadInfoNext>},
    {"qOffsets", true, simple<QueryOffsets>},
    {"qTStatus", true, simple<TraceStatus>},
    {"qSymbol:", false, simple<QuerySymbol>},
    {"QStartNoAckMode", true, simple<StartNoAckMode>},
    {"bc", true, simple<ReverseContinue>},
    {"bs", true, simple<ReverseStep>},
    {"?", true, simple<QueryHaltReason>},
    {"g", true, simple<ReadRegisters>},
    {"G", false, parse_write_registers},
    {"p", false, parse_read_register},
    {"P", false, parse_write_register},
    {"m", false, parse_read_memory},
    {"M", false, parse_write_memory<false>},
    {"X", false, parse_write_memory<true>},
    {"c", false, parse_resume<Continue>},
    {"s", false, parse_resume<Step>},
    {"Z", false, parse_breakpoint<InsertBreakpoint>},
    {"z", false, parse_breakpoint<RemoveBreakpoint>},
    {"H", false, parse_set_thread},
    {"T", false, parse_thread_alive},
    {"D", true, simple<Detach>},
    {"D;", false, parse_pid<Detach>},
    {"k", true, simple<Kill>},
};

}  // namespace

bool QuerySupported::has(std::string_view name) const {
  return std::any_of(features.begin(), features.end(), [&](const std::string& f) {
    return f.size() == name.size() + 1 && f.starts_with(name) && f.back() == '+';
  });
}

Request parse_request(std::string_view payload) {
  for (const Entry& e : kPackets) {
    if (e.exact ? payload == e.name : payload.starts_with(e.name))
      return e.parse(payload.substr(e.name.size()));
  }
  return Unknown{std::string(payload)};
}

std::optional<uint64_t> parse_hex_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    const int d = hex_digit(c);
    if (d < 0 || v > (std::numeric_limits<uint64_t>::max() >> 4)) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

std::optional<std::vector<uint8_t>> decode_hex(std::string_view s) {
  if (s.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> out(s.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string encode_hex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0xf]);
  }
  return out;
}

std::string encode_hex(std::string_view text) {
  return encode_hex(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

namespace reply {

namespace {

std::string hex2(uint64_t v) { return {kHexDigits[(v >> 4) & 0xf], kHexDigits[v & 0xf]}; }

std::string hex_number(uint64_t v) {
  std::string out;
  do {
    out.insert(out.begin(), kHexDigits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return out;
}

std::string reason_field(const Stop& s) {
  switch (s.reason) {
    case StopReason::kNone: return {};
    case StopReason::kSwBreak: return "swbreak:;";
    case StopReason::kHwBreak: return "hwbreak:;";
    case StopReason::kWatch: return "watch:" + hex_number(s.watch_addr) + ";";
    case StopReason::kReadWatch: return "rwatch:" + hex_number(s.watch_addr) + ";";
    case StopReason::kAccessWatch: return "awatch:" + hex_number(s.watch_addr) + ";";
    case StopReason::kReplayBegin: return "replaylog:begin;";
    case StopReason::kReplayEnd: return "replaylog:end;";
  }
  return {};
}

}  // namespace

std::string ok() { return "OK"; }

std::string error(uint8_t code) { return "E" + hex2(code); }

std::string reg_hex(uint64_t value, unsigned size) {
  std::string out;
  out.reserve(size * 2);
  for (unsigned i = 0; i < size; ++i) out += hex2(i < 8 ? value >> (8 * i) : 0);
  return out;
}

std::string reg_unavailable(unsigned size) { return std::string(size * 2, 'x'); }

std::string stop(const Stop& s) {
  std::string out = "T" + hex2(s.signal);
  if (s.thread) out += "thread:" + (*s.thread < 0 ? "-1" : hex_number(*s.thread)) + ";";
  out += reason_field(s);
  for (const auto& [regnum, value] : s.registers) out += hex_number(regnum) + ":" + value + ";";
  return out;
}

std::string signal_stop(uint8_t signal) { return "S" + hex2(signal); }

std::string exited(uint8_t code) { return "W" + hex2(code); }

std::vector<std::string> console_output(std::string_view text, size_t max_payload) {
  const size_t chunk = std::max<size_t>(1, (max_payload - 1) / 2);
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size(); at += chunk)
    out.push_back("O" + encode_hex(text.substr(at, chunk)));
  return out;
}

std::string supported(size_t packet_size) {
  return "PacketSize=" + hex_number(packet_size) +
         ";qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;ReverseStep+;"
         "ReverseContinue+;vContSupported+";
}

std::string vcont_actions() { return "vCont;c;C;s;S"; }

std::string xfer_chunk(std::string_view document, uint64_t offset, uint64_t length) {
  if (offset > document.size()) return error(1);
  const std::string_view piece = document.substr(offset, length);
  const bool last = offset + piece.size() == document.size();
  return (last ? "l" : "m") + std::string(piece);
}

std::string monitor_output(std::string_view text) { return text.empty() ? ok() : encode_hex(text); }

}  // namespace reply

}  // namespace hs::rsp
