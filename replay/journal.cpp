#include "replay/journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "replay/capnp_io.hpp"

namespace hs {

namespace sc = recording_schema;

static_assert(sc::FORMAT_VERSION == kRecordingFormatVersion,
              "recording_layout.hpp and recording.capnp disagree on the format version");
static_assert(static_cast<int>(sc::Source::CONSOLE) == static_cast<int>(InputSource::kConsole));
static_assert(static_cast<int>(sc::Source::WALL_CLOCK) == static_cast<int>(InputSource::kWallClock));
static_assert(static_cast<int>(sc::Source::ENTROPY) == static_cast<int>(InputSource::kEntropy));
static_assert(static_cast<int>(sc::Source::WAKE) == static_cast<int>(InputSource::kWake));
static_assert(static_cast<int>(sc::Source::STOP) == static_cast<int>(InputSource::kStop));
static_assert(static_cast<int>(sc::EndReason::GUEST_EXIT) == static_cast<int>(EndReason::kGuestExit));
static_assert(static_cast<int>(sc::EndReason::USER_STOP) == static_cast<int>(EndReason::kUserStop));
static_assert(static_cast<int>(sc::EndReason::LIMIT) == static_cast<int>(EndReason::kLimit));

namespace {

constexpr char kJournalMagic[5] = "HSJF";
constexpr char kEndMagic[5] = "HSEN";
constexpr int64_t kSyncIntervalNs = 1'000'000'000;

std::string file_in(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir) / name).string();
}

// A host bug (the caller broke the writer's contract): stays on in release.
[[noreturn]] void host_bug(const std::string& what) {
  std::fprintf(stderr, "hindsight: host bug: journal: %s\n", what.c_str());
  std::abort();
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<uint8_t> encode_frame(Position start, Position end, const std::vector<Event>& events) {
  capnp::MallocMessageBuilder msg;
  auto f = msg.initRoot<sc::JournalFrame>();
  f.setStartPosition(start.v);
  f.setEndPosition(end.v);
  auto list = f.initEvents(static_cast<unsigned>(events.size()));
  for (unsigned i = 0; i < events.size(); ++i) {
    list[i].setPosition(events[i].pos.v);
    list[i].setSource(static_cast<sc::Source>(events[i].source));
    list[i].setPayload(capnp_io::data_of(events[i].payload));
  }
  return encode_record(kJournalMagic, kRecordingFormatVersion, capnp_io::to_bytes(msg));
}

// Why `e` cannot follow `prev_pos` in frame [start, end], or nullopt.
std::optional<std::string> check_event(sc::Event::Reader e, Position prev_pos, const FrameInfo& fi) {
  const Position p{e.getPosition()};
  if (p < fi.start || p > fi.end)
    return fmt::format("event at position {} outside its frame [{}, {}]", p.v, fi.start.v, fi.end.v);
  if (p < prev_pos) return fmt::format("event at position {} after one at {}", p.v, prev_pos.v);
  if (static_cast<size_t>(e.getSource()) >= kInputSourceCount)
    return fmt::format("unknown input source {}", static_cast<unsigned>(e.getSource()));
  return std::nullopt;
}

// Decodes one frame that must start at `expected_start` into `fi` and `out`.
std::optional<std::string> decode_frame(const std::vector<uint8_t>& payload, Position expected_start,
                                        FrameInfo& fi, std::vector<Event>& out) {
  std::optional<std::string> bad;
  const auto err = capnp_io::parse<sc::JournalFrame>(payload, [&](sc::JournalFrame::Reader f) {
    fi.start = Position{f.getStartPosition()};
    fi.end = Position{f.getEndPosition()};
    if (fi.start != expected_start || fi.end < fi.start) {
      bad = fmt::format("frame covers [{}, {}] but the previous frame ended at {}", fi.start.v,
                        fi.end.v, expected_start.v);
      return;
    }
    Position prev = fi.start;
    for (const sc::Event::Reader e : f.getEvents()) {
      if ((bad = check_event(e, prev, fi))) return;
      const auto data = e.getPayload();
      out.push_back(Event{Position{e.getPosition()}, static_cast<InputSource>(e.getSource()),
                          std::vector<uint8_t>(data.begin(), data.end())});
      prev = out.back().pos;
    }
  });
  return err ? err : bad;
}

// The bytes of `path` from `offset` to its end.
std::vector<uint8_t> read_tail(const std::string& path, uint64_t offset) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw FormatError(path, 0, std::strerror(errno));
  std::vector<uint8_t> data;
  uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offset + data.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw FormatError(path, offset + data.size(), std::strerror(err));
    }
    if (n == 0) break;
    data.insert(data.end(), buf, buf + n);
  }
  ::close(fd);
  return data;
}

}  // namespace

const char* source_name(InputSource s) {
  switch (s) {
    case InputSource::kConsole: return "console";
    case InputSource::kWallClock: return "wall-clock";
    case InputSource::kEntropy: return "entropy";
    case InputSource::kWake: return "wake";
    case InputSource::kStop: return "stop";
    case InputSource::kCheck: return "check";
  }
  return "unknown";
}

// --- JournalWriter -------------------------------------------------------------

JournalWriter::JournalWriter(std::string path, int fd)
    : path_(std::move(path)), fd_(fd), last_sync_ns_(steady_ns()) {}

JournalWriter JournalWriter::create(const std::string& dir) {
  std::string path = file_in(dir, rec_file::kJournal);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST)
    throw FormatError(path, 0, "a journal already exists (recordings are never overwritten)");
  if (fd < 0) throw FormatError(path, 0, std::strerror(errno));
  return JournalWriter(std::move(path), fd);
}

JournalWriter::JournalWriter(JournalWriter&& o) noexcept { *this = std::move(o); }

JournalWriter& JournalWriter::operator=(JournalWriter&& o) noexcept {
  if (this == &o) return *this;
  if (fd_ >= 0) ::close(fd_);
  path_ = std::move(o.path_);
  fd_ = std::exchange(o.fd_, -1);
  pending_ = std::move(o.pending_);
  covered_until_ = o.covered_until_;
  events_written_ = o.events_written_;
  bytes_written_ = o.bytes_written_;
  last_sync_ns_ = o.last_sync_ns_;
  frames_ = std::move(o.frames_);
  return *this;
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void JournalWriter::append(Event e) {
  if (fd_ < 0) host_bug("append to a closed journal");
  const Position floor = pending_.empty() ? covered_until_ : pending_.back().pos;
  if (e.pos < floor)
    host_bug(fmt::format("{} event at position {} after position {} (cursor {})",
                         source_name(e.source), e.pos.v, floor.v, events_written_ + pending_.size()));
  pending_.push_back(std::move(e));
}

void JournalWriter::flush(Position until) {
  if (fd_ < 0) host_bug("flush of a closed journal");
  if (until < covered_until_ || (!pending_.empty() && pending_.back().pos > until))
    host_bug(fmt::format("flush to position {}, covered until {}, last event at {}", until.v,
                         covered_until_.v, pending_.empty() ? 0 : pending_.back().pos.v));
  if (pending_.empty() && until == covered_until_) return;
  const std::vector<uint8_t> record = encode_frame(covered_until_, until, pending_);
  write_frame(record);
  frames_.push_back(FrameInfo{bytes_written_, record.size(), covered_until_, until,
                              static_cast<size_t>(events_written_), pending_.size()});
  bytes_written_ += record.size();
  events_written_ += pending_.size();
  covered_until_ = until;
  pending_.clear();
  maybe_sync();
}

void JournalWriter::write_frame(const std::vector<uint8_t>& record) {
  size_t done = 0;
  while (done < record.size()) {
    // One call normally writes it all; a short write (disk full, signal) continues.
    const ssize_t n = ::write(fd_, record.data() + done, record.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      // Leave no partial frame behind, so the journal stays readable to its end
      // (best effort: the write error is the one to report).
      [[maybe_unused]] const int cut = ::ftruncate(fd_, static_cast<off_t>(bytes_written_));
      throw FormatError(path_, bytes_written_, std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
}

void JournalWriter::maybe_sync() {
  if (steady_ns() - last_sync_ns_ >= kSyncIntervalNs) sync();
}

void JournalWriter::sync() {
  if (fd_ < 0) host_bug("sync of a closed journal");
  if (::fdatasync(fd_) != 0) throw FormatError(path_, bytes_written_, std::strerror(errno));
  last_sync_ns_ = steady_ns();
}

void JournalWriter::close(Position final_position) {
  flush(final_position);
  sync();
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) throw FormatError(path_, bytes_written_, std::strerror(errno));
}

// --- JournalReader -------------------------------------------------------------

std::string JournalDamage::describe(const std::string& file) const {
  return fmt::format("{}: offset {}: {} frame ({}): replayable up to position {}, {} bytes {}",
                     file, offset, truncated ? "truncated" : "corrupt", reason, last_good.v,
                     bytes_ignored,
                     truncated ? "ignored (the recorder was probably killed)"
                               : "ignored (frames after a corrupt one are not used)");
}

JournalReader JournalReader::open(const std::string& dir) {
  JournalReader r(file_in(dir, rec_file::kJournal));
  std::error_code ec;
  if (!std::filesystem::exists(r.path_, ec))
    throw FormatError(r.path_, 0, "missing (not a hindsight recording?)");
  r.refresh();
  return r;
}

size_t JournalReader::refresh() {
  const size_t before = frames_.size();
  const std::vector<uint8_t> tail = read_tail(path_, valid_bytes_);
  file_bytes_ = valid_bytes_ + tail.size();
  damage_.reset();
  read_frames(tail);
  return frames_.size() - before;
}

void JournalReader::read_frames(const std::vector<uint8_t>& data) {
  uint64_t off = 0;
  while (off < data.size()) {
    const uint64_t at = valid_bytes_;
    DecodedRecord r = decode_record(data, off, kJournalMagic);
    std::optional<std::string> bad;
    if (r.status == RecordStatus::kOk) {
      check_version(path_, at, r.version, kRecordingFormatVersion);
      bad = add_frame(r.payload, at, r.next_offset - off);
    }
    if (r.status != RecordStatus::kOk || bad) {
      damage_ = JournalDamage{r.status == RecordStatus::kTruncated, bad ? *bad : r.problem, at,
                              file_bytes_ - at, end_};
      return;
    }
    valid_bytes_ += r.next_offset - off;
    off = r.next_offset;
  }
}

std::optional<std::string> JournalReader::add_frame(const std::vector<uint8_t>& payload,
                                                    uint64_t offset, uint64_t bytes) {
  FrameInfo fi{offset, bytes, {}, {}, events_.size(), 0};
  std::vector<Event> evs;
  if (auto bad = decode_frame(payload, end_, fi, evs)) return bad;
  fi.event_count = evs.size();
  for (Event& e : evs) {
    ++counts_[static_cast<size_t>(e.source)];
    events_.push_back(std::move(e));
  }
  frames_.push_back(fi);
  end_ = fi.end;
  return std::nullopt;
}

size_t JournalReader::cursor_at(Position p) const {
  const auto it = std::lower_bound(events_.begin(), events_.end(), p,
                                   [](const Event& e, Position q) { return e.pos < q; });
  return static_cast<size_t>(it - events_.begin());
}

std::optional<Position> JournalReader::stop_position() const {
  if (count(InputSource::kStop) == 0) return std::nullopt;
  const auto it = std::find_if(events_.begin(), events_.end(),
                               [](const Event& e) { return e.source == InputSource::kStop; });
  return it->pos;
}

// --- End record ----------------------------------------------------------------

void write_end(const std::string& dir, const RecordingEnd& end) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<sc::End>();
  b.setPosition(end.position.v);
  b.setReason(static_cast<sc::EndReason>(end.reason));
  b.setExitCode(end.exit_code);
  b.setStateHash(capnp_io::data_of(end.state_hash.canonical()));
  b.setInstructions(end.instructions);
  b.setIdlePositions(end.idle_positions);
  b.setEvents(end.events);
  b.setFrames(end.frames);
  b.setJournalBytes(end.journal_bytes);
  write_file_atomic(file_in(dir, rec_file::kEnd),
                    encode_record(kEndMagic, kRecordingFormatVersion, capnp_io::to_bytes(msg)));
}

std::optional<RecordingEnd> read_end(const std::string& dir) {
  const std::string file = file_in(dir, rec_file::kEnd);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::nullopt;
  const std::vector<uint8_t> payload = capnp_io::read_single_record(file, kEndMagic, "");
  RecordingEnd end;
  std::optional<std::string> bad;
  const auto err = capnp_io::parse<sc::End>(payload, [&](sc::End::Reader r) {
    end.position = Position{r.getPosition()};
    end.reason = static_cast<EndReason>(r.getReason());
    end.exit_code = r.getExitCode();
    const auto h = r.getStateHash();
    if (h.size() != 16) bad = "state hash is not 16 bytes";
    else end.state_hash = Hash128::from_canonical(std::span<const uint8_t, 16>(h.begin(), 16));
    if (end.reason > EndReason::kLimit) bad = "unknown end reason";
    end.instructions = r.getInstructions();
    end.idle_positions = r.getIdlePositions();
    end.events = r.getEvents();
    end.frames = r.getFrames();
    end.journal_bytes = r.getJournalBytes();
  });
  if (err || bad) throw FormatError(file, RecordHeader::kSize, err ? *err : *bad);
  return end;
}

}  // namespace hs
