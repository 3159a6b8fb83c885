// Rewriting a recording's journal after editing its events, for the tests
// that tamper with recordings on purpose (tests/replay/replay_check.cpp's
// `tamper`, tests/unit/test_timeline.cpp).
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "replay/journal.hpp"
#include "replay/recording_layout.hpp"

namespace hs::test {

// Replaces REC/journal with `events` cut into the same frames as `frames`
// (a frame's end moves up to its last event if an edit moved one past it).
inline void rewrite_journal(const std::string& dir, const std::vector<FrameInfo>& frames,
                            const std::vector<Event>& events) {
  std::filesystem::remove(std::filesystem::path(dir) / rec_file::kJournal);
  JournalWriter w = JournalWriter::create(dir);
  for (const FrameInfo& f : frames) {
    Position until = f.end;
    for (size_t i = f.first_event; i < f.first_event + f.event_count; ++i) {
      until = std::max(until, events[i].pos);
      w.append(events[i]);
    }
    w.flush(until);
  }
  w.close(w.covered_until());
}

}  // namespace hs::test
