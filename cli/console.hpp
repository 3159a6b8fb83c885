// The host side of the guest console: UART output to stdout, stdin to the
// UART. When stdin is a terminal it is put in raw mode (restored on exit) and
// QEMU's escape keys work: Ctrl-A x quits, Ctrl-A h prints help, Ctrl-A Ctrl-A
// sends Ctrl-A. Host input is only ever pulled from the machine's poll hook,
// so a later recording layer can log it at exact positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

namespace hs {

class Console {
 public:
  // `rx_space` says how many bytes the guest device accepts now, `push`
  // delivers one byte to it.
  Console(std::function<size_t()> rx_space, std::function<void(uint8_t)> push);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // Guest output byte (buffered; flushed at every poll and on exit).
  void output(uint8_t byte);
  void flush();

  // Non-blocking: reads what stdin has, handles escapes, feeds the guest.
  void poll();
  // Blocks until stdin has input or is closed. False if no input can ever
  // arrive (stdin closed/EOF and nothing pending).
  bool wait();

  bool quit_requested() const { return quit_; }
  bool interactive() const { return raw_; }

 private:
  void handle_input(const uint8_t* data, size_t n);
  void deliver();
  void print_help();

  std::function<size_t()> rx_space_;
  std::function<void(uint8_t)> push_;
  std::deque<uint8_t> pending_;
  std::string out_;
  bool raw_ = false;
  bool eof_ = false;
  bool escape_ = false;
  bool quit_ = false;
};

}  // namespace hs
