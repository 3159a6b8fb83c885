#include "replay/recording_input.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/hart.hpp"  // Clock::now()

namespace hs {

namespace {

// Inputs the loop must stop for (polled), as opposed to those a device asks
// for in the middle of an instruction.
bool is_poll_event(InputSource s) {
  return s == InputSource::kConsole || s == InputSource::kWake || s == InputSource::kStop ||
         s == InputSource::kCheck;
}

std::string describe(const Event& e) {
  switch (e.source) {
    case InputSource::kConsole:
      return fmt::format("console input ({} bytes) at position {}", e.payload.size(), e.pos.v);
    case InputSource::kWallClock:
      return fmt::format("a wall-clock read at position {}", e.pos.v);
    case InputSource::kEntropy:
      return fmt::format("an entropy fill of {} bytes at position {}", e.payload.size(), e.pos.v);
    case InputSource::kWake:
      return fmt::format("a wake at position {}", e.pos.v);
    case InputSource::kStop:
      return fmt::format("the end of the run at position {}", e.pos.v);
    case InputSource::kCheck:
      return fmt::format("a state check at position {}", e.pos.v);
  }
  return "an unknown input";
}

std::string missed(Position now, const Event& e) {
  return fmt::format("replay diverged at position {}: the journal's next input, {}, was never consumed",
                     now.v, describe(e));
}

}  // namespace

// --- RecordingHostInput ----------------------------------------------------------

size_t RecordingHostInput::console(std::span<uint8_t> out) {
  const size_t n = live_.console(out);
  if (n) log(InputSource::kConsole, out.first(n));
  return n;
}

uint64_t RecordingHostInput::wall_clock_ns() {
  const uint64_t t = live_.wall_clock_ns();
  uint8_t le[8];
  for (unsigned i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(t >> (8 * i));
  log(InputSource::kWallClock, le);
  return t;
}

void RecordingHostInput::entropy(std::span<uint8_t> out) {
  live_.entropy(out);
  log(InputSource::kEntropy, out);
}

void RecordingHostInput::log_wake(Position p) { journal_.append(Event{p, InputSource::kWake, {}}); }

void RecordingHostInput::log_stop(Position p) { journal_.append(Event{p, InputSource::kStop, {}}); }

void RecordingHostInput::log_check(Position p, std::span<const uint8_t> hash) {
  journal_.append(Event{p, InputSource::kCheck, {hash.begin(), hash.end()}});
}

void RecordingHostInput::log(InputSource s, std::span<const uint8_t> payload) {
  journal_.append(Event{clock_.now(), s, std::vector<uint8_t>(payload.begin(), payload.end())});
}

// --- ReplayHostInput -------------------------------------------------------------

size_t ReplayHostInput::console(std::span<uint8_t> out) {
  if (divergence_) return 0;
  const Position now = clock_.now();
  skip_wakes(now);
  const Event* e = peek();
  if (!e || e->pos > now) return 0;
  if (e->pos < now) {
    diverge(e->pos, now, missed(now, *e));
    return 0;
  }
  if (e->source != InputSource::kConsole) return 0;  // e.g. the instruction at `now` draws entropy
  if (e->payload.size() > out.size()) {
    diverge(e->pos, now, fmt::format("replay diverged at position {}: the console poll has room for {} "
                                "bytes, but the journal delivers {} there",
                                now.v, out.size(), e->payload.size()));
    return 0;
  }
  std::copy(e->payload.begin(), e->payload.end(), out.begin());
  const size_t n = e->payload.size();
  ++cursor_;
  skip_wakes(now);
  return n;
}

uint64_t ReplayHostInput::wall_clock_ns() {
  const Event* e = take(InputSource::kWallClock, 8, "read the wall clock");
  if (!e) return 0;
  uint64_t t = 0;
  for (unsigned i = 0; i < 8; ++i) t |= static_cast<uint64_t>(e->payload[i]) << (8 * i);
  return t;
}

void ReplayHostInput::entropy(std::span<uint8_t> out) {
  const Event* e = take(InputSource::kEntropy, out.size(),
                        fmt::format("drew {} entropy bytes", out.size()));
  if (e)
    std::copy(e->payload.begin(), e->payload.end(), out.begin());
  else
    std::fill(out.begin(), out.end(), 0);
}

Position ReplayHostInput::next_input() const {
  const std::vector<Event>& ev = journal_.events();
  poll_idx_ = std::max(poll_idx_, cursor_);
  while (poll_idx_ < ev.size() && !is_poll_event(ev[poll_idx_].source)) ++poll_idx_;
  return poll_idx_ < ev.size() ? ev[poll_idx_].pos : Position::max();
}

void ReplayHostInput::poll_point(Position now) {
  if (divergence_) return;
  skip_wakes(now);
  const Event* e = peek();
  if (e && e->pos < now) diverge(e->pos, now, missed(now, *e));
}

void ReplayHostInput::set_cursor(size_t cursor) {
  if (cursor > journal_.events().size()) {
    std::fprintf(stderr, "hindsight: host bug: replay cursor %zu beyond the journal's %zu events\n",
                 cursor, journal_.events().size());
    std::abort();
  }
  cursor_ = cursor;
  poll_idx_ = cursor;
  divergence_.reset();
}

bool ReplayHostInput::at_end() const {
  const Event* e = peek();
  return !e || e->source == InputSource::kStop;
}

const Event* ReplayHostInput::peek() const {
  const std::vector<Event>& ev = journal_.events();
  return cursor_ < ev.size() ? &ev[cursor_] : nullptr;
}

void ReplayHostInput::skip_wakes(Position now) {
  for (const Event* e = peek(); e && e->pos == now; e = peek()) {
    if (e->source == InputSource::kCheck) {
      ++cursor_;
      if (on_check) on_check(*e);
    } else if (e->source == InputSource::kWake) {
      ++cursor_;
    } else {
      break;
    }
  }
}

const Event* ReplayHostInput::take(InputSource source, size_t size, const std::string& action) {
  if (divergence_) return nullptr;
  const Position now = clock_.now();
  skip_wakes(now);
  const Event* e = peek();
  if (!e) {
    diverge(Position::max(), now, fmt::format("replay diverged at position {}: the guest {}, but the "
                                         "journal has no more inputs",
                                         now.v, action));
    return nullptr;
  }
  if (e->source != source || e->pos != now) {
    diverge(e->pos, now, fmt::format("replay diverged at position {}: the guest {}, but the journal's "
                                "next input is {}",
                                now.v, action, describe(*e)));
    return nullptr;
  }
  if (e->payload.size() != size) {
    diverge(e->pos, now, fmt::format("replay diverged at position {}: the guest {}, but the journal "
                                "recorded {} bytes there",
                                now.v, action, e->payload.size()));
    return nullptr;
  }
  ++cursor_;
  return e;
}

void ReplayHostInput::diverge(Position expected, Position actual, const std::string& what) {
  if (divergence_) return;
  divergence_ = Divergence{expected, actual, what};
  if (on_divergence) on_divergence(*divergence_);
}

}  // namespace hs
