// gdb remote serial protocol, request layer: a decoded packet payload becomes
// a typed Request (one std::variant alternative per packet kind), and replies
// are built by small pure functions. No machine, no sockets.
//
// Parsing contract:
//   - every payload maps to exactly one alternative; parse_request never
//     throws and never reads past the payload;
//   - recognised packets with bad arguments (bad hex, missing fields, numbers
//     that overflow, lengths above kMaxMemoryLength, trailing junk) become
//     Malformed{reason}: the server answers them with an error reply (E01);
//   - anything not recognised becomes Unknown{payload}: the server answers
//     with an empty reply ("not supported"), as the protocol requires.
// Numbers are hex as on the wire. Binary data (X) arrives already unescaped
// by the packet layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace hs::rsp {

// Largest m/M/X transfer accepted (bytes of guest memory).
constexpr uint64_t kMaxMemoryLength = 64 * 1024;

// gdb signal numbers used in stop replies (gdb's own numbering, not the host's).
constexpr uint8_t kSigInt = 2, kSigTrap = 5;

// A thread-id: "tid", "pPID", "pPID.TID"; -1 means all, 0 means any.
struct ThreadId {
  static constexpr int64_t kAll = -1, kAny = 0;
  std::optional<int64_t> pid;  // only in the multiprocess form
  int64_t tid = kAny;
  bool operator==(const ThreadId&) const = default;
};

// Z/z packet types.
enum class BreakType : uint8_t { kSoftware = 0, kHardware = 1, kWrite = 2, kRead = 3, kAccess = 4 };

struct Breakpoint {
  BreakType type = BreakType::kSoftware;
  uint64_t addr = 0;
  uint64_t kind = 0;  // breakpoint: instruction length (2 or 4); watchpoint: bytes watched
  bool operator==(const Breakpoint&) const = default;
};

// One vCont action. kRange is range stepping ("r start,end": step while pc is
// in [start, end)); servers that don't list it in vCont? may treat it as kStep.
struct VContAction {
  enum class Kind : uint8_t { kContinue, kStep, kStop, kRange };
  Kind kind = Kind::kContinue;
  std::optional<uint8_t> signal;  // C sig / S sig
  uint64_t range_start = 0, range_end = 0;
  std::optional<ThreadId> thread;  // no thread: applies to all threads
  bool operator==(const VContAction&) const = default;
};

// ---- requests, in the order of the gdb manual's packet list ----
struct QueryHaltReason { bool operator==(const QueryHaltReason&) const = default; };  // ?
struct ReadRegisters { bool operator==(const ReadRegisters&) const = default; };      // g
struct WriteRegisters {                                                               // G XX..
  std::vector<uint8_t> bytes;  // target byte order, registers in g order
  bool operator==(const WriteRegisters&) const = default;
};
struct ReadRegister {  // p n
  uint32_t regnum = 0;
  bool operator==(const ReadRegister&) const = default;
};
struct WriteRegister {  // P n=XX..
  uint32_t regnum = 0;
  std::vector<uint8_t> bytes;  // target byte order
  bool operator==(const WriteRegister&) const = default;
};
struct ReadMemory {  // m addr,len (len <= kMaxMemoryLength, range does not wrap)
  uint64_t addr = 0;
  uint64_t length = 0;
  bool operator==(const ReadMemory&) const = default;
};
struct WriteMemory {  // M addr,len:XX.. and X addr,len:binary (data.size() == len)
  uint64_t addr = 0;
  std::vector<uint8_t> data;
  bool operator==(const WriteMemory&) const = default;
};
struct Continue {  // c [addr]
  std::optional<uint64_t> addr;
  bool operator==(const Continue&) const = default;
};
struct Step {  // s [addr]
  std::optional<uint64_t> addr;
  bool operator==(const Step&) const = default;
};
struct VContQuery { bool operator==(const VContQuery&) const = default; };  // vCont?
struct VCont {                                                            // vCont;action[:tid]...
  std::vector<VContAction> actions;  // at least one
  bool operator==(const VCont&) const = default;
};
struct ReverseContinue { bool operator==(const ReverseContinue&) const = default; };  // bc
struct ReverseStep { bool operator==(const ReverseStep&) const = default; };          // bs
struct InsertBreakpoint : Breakpoint {};                                              // Z t,a,k
struct RemoveBreakpoint : Breakpoint {};                                              // z t,a,k
struct QuerySupported {  // qSupported[:f1;f2...]
  std::vector<std::string> features;  // as sent: "swbreak+", "xmlRegisters=i386", ...
  // True if gdb announced `name+` (e.g. has("swbreak")).
  bool has(std::string_view name) const;
  bool operator==(const QuerySupported&) const = default;
};
struct XferRead {  // qXfer:object:read:annex:offset,length
  std::string object, annex;
  uint64_t offset = 0, length = 0;
  bool operator==(const XferRead&) const = default;
};
struct MonitorCommand {  // qRcmd,hex — decoded to text
  std::string command;
  bool operator==(const MonitorCommand&) const = default;
};
struct QueryAttached {  // qAttached[:pid]
  std::optional<int64_t> pid;
  bool operator==(const QueryAttached&) const = default;
};
struct QueryCurrentThread { bool operator==(const QueryCurrentThread&) const = default; };  // qC
struct ThreadInfoFirst { bool operator==(const ThreadInfoFirst&) const = default; };  // qfThreadInfo
struct ThreadInfoNext { bool operator==(const ThreadInfoNext&) const = default; };    // qsThreadInfo
struct StartNoAckMode { bool operator==(const StartNoAckMode&) const = default; };  // QStartNoAckMode
struct SetThread {  // H op thread-id; op is 'g' (registers/memory) or 'c' (resume)
  char operation = 'g';
  ThreadId thread;
  bool operator==(const SetThread&) const = default;
};
struct ThreadAlive {  // T thread-id
  ThreadId thread;
  bool operator==(const ThreadAlive&) const = default;
};
struct Detach {  // D[;pid]
  std::optional<int64_t> pid;
  bool operator==(const Detach&) const = default;
};
struct Kill { bool operator==(const Kill&) const = default; };                  // k
struct QueryOffsets { bool operator==(const QueryOffsets&) const = default; };  // qOffsets
struct QuerySymbol { bool operator==(const QuerySymbol&) const = default; };    // qSymbol:...
struct MustReplyEmpty { bool operator==(const MustReplyEmpty&) const = default; };  // vMustReplyEmpty
struct TraceStatus { bool operator==(const TraceStatus&) const = default; };        // qTStatus
struct VKill {                                                                       // vKill[;pid]
  std::optional<int64_t> pid;
  bool operator==(const VKill&) const = default;
};
struct Unknown {  // anything else: reply empty
  std::string payload;
  bool operator==(const Unknown&) const = default;
};
struct Malformed {  // a known packet with bad arguments: reply E01
  std::string reason;
  bool operator==(const Malformed&) const = default;
};

using Request =
    std::variant<QueryHaltReason, ReadRegisters, WriteRegisters, ReadRegister, WriteRegister,
                 ReadMemory, WriteMemory, Continue, Step, VContQuery, VCont, ReverseContinue,
                 ReverseStep, InsertBreakpoint, RemoveBreakpoint, QuerySupported, XferRead,
                 MonitorCommand, QueryAttached, QueryCurrentThread, ThreadInfoFirst,
                 ThreadInfoNext, StartNoAckMode, SetThread, ThreadAlive, Detach, Kill,
                 QueryOffsets, QuerySymbol, MustReplyEmpty, TraceStatus, VKill, Unknown,
                 Malformed>;

// Parses one decoded packet payload. Cost: O(payload size).
Request parse_request(std::string_view payload);

// ---- hex helpers (also used by the server) ----
// A non-empty run of hex digits whose value fits in 64 bits.
std::optional<uint64_t> parse_hex_u64(std::string_view s);
// An even-length hex string as bytes; nullopt on odd length or a non-hex digit.
std::optional<std::vector<uint8_t>> decode_hex(std::string_view s);
// Lowercase hex of each byte.
std::string encode_hex(std::span<const uint8_t> bytes);
std::string encode_hex(std::string_view text);

// ---- reply builders ----
namespace reply {

std::string ok();                   // "OK"
std::string error(uint8_t code);    // "E01" for code 1
// `size` bytes of `value`, least significant first (RISC-V is little-endian).
std::string reg_hex(uint64_t value, unsigned size);
// A register whose value is unavailable: "xx" per byte.
std::string reg_unavailable(unsigned size);

// Why the target stopped, for a T stop reply.
enum class StopReason : uint8_t {
  kNone,         // plain signal stop (step done, Ctrl-C)
  kSwBreak,      // "swbreak:;"  (send only if gdb announced swbreak+)
  kHwBreak,      // "hwbreak:;"  (send only if gdb announced hwbreak+)
  kWatch,        // "watch:addr;"
  kReadWatch,    // "rwatch:addr;"
  kAccessWatch,  // "awatch:addr;"
  kReplayBegin,  // "replaylog:begin;" — reverse execution hit the start of history
  kReplayEnd,    // "replaylog:end;"   — forward replay hit the end of the recording
};
struct Stop {
  uint8_t signal = kSigTrap;
  StopReason reason = StopReason::kNone;
  uint64_t watch_addr = 0;           // kWatch/kReadWatch/kAccessWatch
  std::optional<int64_t> thread = 1;  // "thread:N;" when set
  // Expedited registers: (regnum, value hex as from reg_hex), saving gdb a round trip.
  std::vector<std::pair<unsigned, std::string>> registers;
};
// "T05thread:1;swbreak:;" — thread, reason, then expedited registers.
std::string stop(const Stop& s);
std::string signal_stop(uint8_t signal);  // "S05"
std::string exited(uint8_t code);         // "W00"
// Console output while the target runs: "O" + hex(text). Texts longer than
// `max_payload` allows are split into several packets.
std::vector<std::string> console_output(std::string_view text, size_t max_payload = 16 * 1024);
// Reply to qSupported: our PacketSize (hex) and the features we implement.
std::string supported(size_t packet_size);
// Reply to vCont?: the actions we implement.
std::string vcont_actions();  // "vCont;c;C;s;S"
// One qXfer read chunk of `document`: "m" + data if more follows, "l" + data
// for the last piece ("l" alone at offset == size), E01 for offset > size.
std::string xfer_chunk(std::string_view document, uint64_t offset, uint64_t length);
// qRcmd output: the hex of `text` (the final reply; "OK" for no output).
std::string monitor_output(std::string_view text);

}  // namespace reply

}  // namespace hs::rsp
