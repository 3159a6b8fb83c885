#include "cli/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <cstdlib>
#include <cstring>

namespace hs {

namespace {

constexpr uint8_t kCtrlA = 0x01;

// Terminal state to restore, shared with the signal handler.
struct termios g_saved;
volatile sig_atomic_t g_raw_active = 0;

void restore_terminal() {
  if (g_raw_active) {
    tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
    g_raw_active = 0;
  }
}

void on_fatal_signal(int sig) {
  restore_terminal();
  signal(sig, SIG_DFL);
  raise(sig);
}

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return;  // stdout gone (closed pipe): drop output, keep the guest running
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

Console::Console() {
  if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &g_saved) == 0) {
    struct termios raw = g_saved;
    // Like QEMU's -nographic: no line discipline, no signals from keys (Ctrl-C
    // goes to the guest), no output post-processing.
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
      raw_ = true;
      g_raw_active = 1;
      std::atexit(restore_terminal);
      for (int sig : {SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV})
        std::signal(sig, on_fatal_signal);
    }
  }
}

Console::~Console() {
  flush();
  restore_terminal();
}

void Console::output(uint8_t byte) {
  out_.push_back(static_cast<char>(byte));
  if (out_.size() >= 4096) flush();
}

void Console::flush() {
  if (out_.empty()) return;
  write_all(STDOUT_FILENO, out_.data(), out_.size());
  out_.clear();
}

size_t Console::read(std::span<uint8_t> out) {
  flush();
  drain_stdin();
  size_t n = 0;
  while (n < out.size() && !pending_.empty()) {
    out[n++] = pending_.front();
    pending_.pop_front();
  }
  return n;
}

void Console::drain_stdin() {
  while (!eof_) {
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP))) break;
    uint8_t buf[256];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) break;
      eof_ = true;
      break;
    }
    handle_input(buf, static_cast<size_t>(n));
  }
}

bool Console::wait() {
  flush();
  if (!pending_.empty()) return true;
  if (eof_ || quit_) return false;
  struct pollfd p = {STDIN_FILENO, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

bool Console::wait_for(uint64_t ns) {
  flush();
  if (!pending_.empty()) return true;
  if (eof_ || quit_) {
    const timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    nanosleep(&ts, nullptr);
    return false;
  }
  struct pollfd p = {STDIN_FILENO, POLLIN, 0};
  const timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  return ::ppoll(&p, 1, &ts, nullptr) > 0;
}

void Console::handle_input(const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = data[i];
    if (!raw_) {
      pending_.push_back(c);
      continue;
    }
    if (escape_) {
      escape_ = false;
      switch (c) {
        case 'x':
        case 'X':
          quit_ = true;
          write_all(STDOUT_FILENO, "\r\nhindsight: terminated (Ctrl-A x)\r\n", 36);
          return;
        case 'h':
        case 'H':
        case '?':
          print_help();
          break;
        case kCtrlA:
          pending_.push_back(kCtrlA);
          break;
        default:
          break;  // unknown escape: ignored, as QEMU does
      }
      continue;
    }
    if (c == kCtrlA) {
      escape_ = true;
      continue;
    }
    pending_.push_back(c);
  }
}

void Console::print_help() {
  static const char kHelp[] =
      "\r\n"
      "C-a h    print this help\r\n"
      "C-a x    exit hindsight\r\n"
      "C-a C-a  sends C-a\r\n";
  flush();
  write_all(STDOUT_FILENO, kHelp, sizeof kHelp - 1);
}

}  // namespace hs
