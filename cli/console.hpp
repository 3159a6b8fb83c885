// The host side of the guest console: UART output to stdout, stdin to the
// UART. When stdin is a terminal it is put in raw mode (restored on exit) and
// QEMU's escape keys work: Ctrl-A x quits, Ctrl-A h prints help, Ctrl-A Ctrl-A
// sends Ctrl-A. The console is the host side of HostInput::console(): the
// guest pulls bytes from it at the machine's poll points, so a recording
// layer can log them at exact positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>

namespace hs {

class Console {
 public:
  Console();
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // Guest output byte (buffered; flushed at every poll and on exit).
  void output(uint8_t byte);
  void flush();

  // Non-blocking: reads what stdin has (handling escapes) and returns up to
  // out.size() bytes for the guest; the rest stays queued.
  size_t read(std::span<uint8_t> out);
  // Blocks until stdin has input or is closed. False if no input can ever
  // arrive (stdin closed/EOF and nothing pending).
  bool wait();
  // Blocks up to `ns` nanoseconds or until stdin has input; true if input is
  // (or may be) available.
  bool wait_for(uint64_t ns);

  bool quit_requested() const { return quit_; }
  bool interactive() const { return raw_; }

 private:
  void drain_stdin();
  void handle_input(const uint8_t* data, size_t n);
  void print_help();

  std::deque<uint8_t> pending_;
  std::string out_;
  bool raw_ = false;
  bool eof_ = false;
  bool escape_ = false;
  bool quit_ = false;
};

}  // namespace hs
