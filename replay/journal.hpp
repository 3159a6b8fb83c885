// The input journal: every input from outside the VM, keyed by the position
// at which the guest consumed it (determinism contract, rule 2).
//
// REC/journal is an append-only concatenation of HSJF records
// (schemas/framing.hpp), each a zstd-compressed Cap'n Proto JournalFrame
// (schemas/recording.capnp). Frames tile the run: frame k covers positions
// [start_k, end_k] with start_k = end_{k-1} (0 for the first frame). A frame
// says "the run reached end_k; every input before end_k is in the journal".
// Inputs exactly at a frame boundary may be split across the two frames
// (some arrived at that position after the flush), in consumption order.
//
// A recording killed mid-write replays up to its last complete frame; a
// corrupt frame in the middle makes everything from it on unusable (the
// prefix is still replayable). The reader reports either as cut_short().
//
// REC/end (HSEN) is written once at a clean end (write_end). Its absence
// means the recorder did not finish (killed, crashed).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/host_input.hpp"
#include "core/types.hpp"
#include "replay/recording_layout.hpp"
#include "snapshot/hash128.hpp"

namespace hs {

constexpr size_t kInputSourceCount = 6;  // InputSource::kConsole .. kCheck

// One input: what `source` delivered at `pos`. Payload sizes: console 1..16
// bytes, wall clock 8 (ns since the epoch, little-endian), entropy the bytes
// of one fill, wake/stop empty.
struct Event {
  Position pos;
  InputSource source = InputSource::kConsole;
  std::vector<uint8_t> payload;
  bool operator==(const Event&) const = default;
};

// Where one frame lies in the file and which events it holds: the index
// (rebuilt on open, never stored; see recording_layout.hpp for why).
struct FrameInfo {
  uint64_t offset = 0;     // of the record in REC/journal
  uint64_t bytes = 0;      // record size, header included
  Position start, end;     // the positions it covers, [start, end]
  size_t first_event = 0;  // index of its first event in the whole journal
  size_t event_count = 0;
};

// Appends frames to REC/journal. Not thread-safe; one writer per recording.
//
// Durability: every flush() hands the whole frame to the kernel in one
// write(2) on an O_APPEND descriptor, so after SIGKILL (or any crash of this
// process) every flushed frame survives and a reader sees only complete
// frames. fdatasync(2) runs at most once per ~1 s of wall time (at the first
// flush after that), on sync() and on close(): after a power loss or kernel
// crash, the frames flushed in the last ~1 s may be missing (the journal then
// simply ends earlier — still consistent).
class JournalWriter {
 public:
  // Creates REC/journal; `dir` must exist and must not hold a journal yet.
  // Throws FormatError (naming the file) when it cannot be created.
  static JournalWriter create(const std::string& dir);

  JournalWriter(JournalWriter&& o) noexcept;
  JournalWriter& operator=(JournalWriter&& o) noexcept;
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;
  // Closes the file without writing pending events: the journal then ends at
  // the last flush (consistent, but those inputs are lost). Call close().
  ~JournalWriter();

  // Queues an event (in memory; nothing is written until flush). Positions
  // must be non-decreasing and not before covered_until(); a violation is a
  // host bug (aborts with a message). O(payload).
  void append(Event e);

  // Writes one frame with the pending events covering [covered_until(),
  // until], even with no events (readers then know the run reached `until`),
  // and records it in frames(). `until` must be >= covered_until() and >=
  // every pending event's position (host bug otherwise). A flush that would
  // say nothing new (no events, until == covered_until()) writes nothing.
  // Cost: encode + zstd + one write(2); an empty frame is ~70 bytes, so flush
  // at a bounded rate (e.g. after each run slice, at most ~10 per second).
  // Throws FormatError on an I/O error (the file is cut back to the last
  // complete frame when possible).
  void flush(Position until);

  // fdatasync now. Throws FormatError on failure.
  void sync();

  // flush(final_position), sync, close. The writer is unusable afterwards.
  void close(Position final_position);

  bool is_open() const { return fd_ >= 0; }
  Position covered_until() const { return covered_until_; }
  size_t pending() const { return pending_.size(); }
  uint64_t events_written() const { return events_written_; }
  uint64_t bytes_written() const { return bytes_written_; }
  const std::vector<FrameInfo>& frames() const { return frames_; }
  const std::string& path() const { return path_; }

 private:
  JournalWriter(std::string path, int fd);
  void write_frame(const std::vector<uint8_t>& record);
  void maybe_sync();

  std::string path_;
  int fd_ = -1;
  std::vector<Event> pending_;
  Position covered_until_{0};
  uint64_t events_written_ = 0;
  uint64_t bytes_written_ = 0;
  int64_t last_sync_ns_ = 0;  // steady clock
  std::vector<FrameInfo> frames_;
};

// Why the usable journal ends before the file does.
struct JournalDamage {
  bool truncated = false;   // the file ends inside a frame (normal after a kill)
  std::string reason;       // e.g. "record needs 120 payload bytes, file has 7"
  uint64_t offset = 0;      // of the first unusable frame
  uint64_t bytes_ignored = 0;  // from `offset` to the end of the file
  Position last_good;       // end position of the last usable frame (0 if none)

  // One line for `hindsight info` and warnings, e.g. "REC/journal: offset 4096:
  // truncated frame (...): replayable up to position 123456, 37 bytes ignored".
  std::string describe(const std::string& file) const;
};

// Reads and validates a whole journal into memory (journals are small:
// inputs, not guest state). Not thread-safe.
class JournalReader {
 public:
  // Reads REC/journal. Stops at the first truncated or corrupt frame (see
  // cut_short()). Throws FormatError when the file is missing or unreadable,
  // or when a frame has a format version this build does not read (refused,
  // never guessed). Cost: reads and decompresses the whole file.
  static JournalReader open(const std::string& dir);

  // Reads frames appended since the last read (a live recording that the
  // user reverses into). Returns how many were added. Same errors as open().
  size_t refresh();

  // Last position covered by a good frame (0 for an empty journal).
  Position end_position() const { return end_; }
  const std::vector<Event>& events() const { return events_; }
  const std::vector<FrameInfo>& frames() const { return frames_; }
  // Index of the first event with pos >= p (events().size() if none). O(log n).
  size_t cursor_at(Position p) const;
  // Events of one source.
  uint64_t count(InputSource s) const { return counts_[static_cast<size_t>(s)]; }
  // Position of the first stop event, if the user ended the run.
  std::optional<Position> stop_position() const;
  // Bytes of good frames / of the whole file.
  uint64_t valid_bytes() const { return valid_bytes_; }
  uint64_t file_bytes() const { return file_bytes_; }
  // Set when the file holds more than the good frames.
  const std::optional<JournalDamage>& cut_short() const { return damage_; }
  const std::string& path() const { return path_; }

 private:
  explicit JournalReader(std::string path) : path_(std::move(path)) {}
  // Parses records from `data` (the file's bytes from valid_bytes_ on).
  void read_frames(const std::vector<uint8_t>& data);
  // Appends the frame's events after checking them; returns why not if bad.
  std::optional<std::string> add_frame(const std::vector<uint8_t>& payload, uint64_t offset,
                                       uint64_t bytes);

  std::string path_;
  std::vector<Event> events_;
  std::vector<FrameInfo> frames_;
  std::array<uint64_t, kInputSourceCount> counts_{};
  Position end_{0};
  uint64_t valid_bytes_ = 0;
  uint64_t file_bytes_ = 0;
  std::optional<JournalDamage> damage_;
};

enum class EndReason : uint8_t {
  kGuestExit = 0,  // the guest powered off; see exit_code
  kUserStop = 1,   // the user ended the run (a stop event)
  kLimit = 2,      // a run limit from the command line was reached
};

// REC/end: how and where a recording finished cleanly.
struct RecordingEnd {
  Position position;  // final position (= the journal's end_position())
  EndReason reason = EndReason::kGuestExit;
  int32_t exit_code = 0;      // the guest's, for kGuestExit
  Hash128 state_hash;         // machine state at `position`, from the caller
  uint64_t instructions = 0;  // instret at `position`
  uint64_t idle_positions = 0;
  uint64_t events = 0, frames = 0, journal_bytes = 0;  // journal totals
  bool operator==(const RecordingEnd&) const = default;
};

// Writes REC/end atomically. Throws FormatError on I/O failure.
void write_end(const std::string& dir, const RecordingEnd& end);
// Reads REC/end: nullopt when absent (the recording did not end cleanly).
// Throws FormatError when it is truncated, corrupt or of another version.
std::optional<RecordingEnd> read_end(const std::string& dir);

// Short name of a source for messages: "console", "wall-clock", ...
const char* source_name(InputSource s);

}  // namespace hs
