// A tiny bare-metal guest with recorded inputs, hand-assembled with the
// encoders of core/isa/isa_util.hpp: used by the record/replay tests
// (tests/replay/*.sh through `hs_replay_check make-guest`, and
// tests/unit/test_timeline.cpp). Load it raw at 0x80000000 with --bios none.
//
// It reads the goldfish RTC (one wall-clock event in the journal) and stores
// the time in RAM; then `loops` times: a busy loop of `work` iterations
// (about 4 positions each) whose result goes to RAM, a poll of the UART that
// echoes one received byte (console events when input is given) and keeps it
// in RAM, and a '.' every 64 loops. Finally it prints "\nrtc-guest done\n"
// and powers off through the test finisher (exit code 0).
//
// Positions: about loops * (4 * work + 16); e.g. 2000 loops of 1000 work
// make about 8e6 positions, well under a second of replay.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/isa/isa_util.hpp"

namespace hs::test {

// Where the guest keeps what it read: the RTC's TIME_LOW/TIME_HIGH at
// +0/+4, the busy loop's result at +8, received bytes from +64 on.
constexpr uint64_t kRtcGuestData = 0x80010000;

inline std::vector<uint32_t> rtc_guest_program(uint32_t loops, uint32_t work) {
  using namespace isa;
  enum : unsigned {
    T0 = 5, T1 = 6, T2 = 7, S0 = 8, S1 = 9, A0 = 10, A1 = 11, A2 = 12, A3 = 13,
    A4 = 14, A5 = 15, A6 = 16, A7 = 17, S2 = 18, T3 = 28
  };
  std::vector<uint32_t> p;
  auto emit = [&p](uint32_t w) { p.push_back(w); };
  // li rd, v for 0 <= v < 2^31
  auto li = [&emit](unsigned rd, uint32_t v) {
    const uint32_t hi = (v + 0x800) & 0xfffff000u;
    const int32_t lo = static_cast<int32_t>(v - hi);
    if (hi) {
      emit(encode_u(op::kLui, rd, static_cast<int32_t>(hi)));
      emit(encode_i(op::kOpImm, rd, 0, rd, lo));
    } else {
      emit(encode_i(op::kOpImm, rd, 0, 0, lo));
    }
  };
  auto here = [&p] { return static_cast<int32_t>(p.size()); };
  auto print = [&](std::string_view s) {
    for (char c : s) {
      li(A5, static_cast<uint8_t>(c));
      emit(encode_s(op::kStore, 0, T0, A5, 0));  // sb a5, 0(t0): UART THR
    }
  };

  emit(encode_u(op::kAuipc, S0, 0x10000));  // s0 = 0x80010000 (first instruction)
  emit(encode_u(op::kLui, T0, 0x10000000));  // t0 = UART
  emit(encode_u(op::kLui, T1, 0x101000));    // t1 = goldfish RTC
  emit(encode_i(op::kLoad, A0, 2, T1, 0));   // lw a0, TIME_LOW: the wall-clock input
  emit(encode_i(op::kLoad, A1, 2, T1, 4));   // lw a1, TIME_HIGH
  emit(encode_s(op::kStore, 2, S0, A0, 0));
  emit(encode_s(op::kStore, 2, S0, A1, 4));
  print("rtc-guest start\n");
  li(S1, loops);
  li(S2, 0);
  const int32_t outer = here();
  li(T2, work);
  const int32_t inner = here();
  emit(encode_r(op::kOp, A2, 0, A2, T2, 0));  // add a2, a2, t2
  emit(encode_r(op::kOp, A3, 4, A3, A2, 0));  // xor a3, a3, a2
  emit(encode_i(op::kOpImm, T2, 0, T2, -1));
  emit(encode_b(op::kBranch, 1, T2, 0, (inner - here()) * 4));  // bnez t2, inner
  emit(encode_s(op::kStore, 3, S0, A3, 8));   // sd a3, 8(s0)
  emit(encode_i(op::kLoad, A4, 4, T0, 5));    // lbu a4, LSR
  emit(encode_i(op::kOpImm, A4, 7, A4, 1));   // andi a4, a4, 1 (data ready)
  const int32_t skip_branch = here();
  emit(0);                                    // beqz a4, skip (patched)
  emit(encode_i(op::kLoad, A5, 4, T0, 0));    // lbu a5, RBR
  emit(encode_s(op::kStore, 0, T0, A5, 0));   // echo it
  emit(encode_r(op::kOp, A6, 0, S0, S2, 0));  // a6 = s0 + s2
  emit(encode_s(op::kStore, 0, A6, A5, 64));  // keep it
  emit(encode_i(op::kOpImm, S2, 0, S2, 1));
  emit(encode_i(op::kOpImm, S2, 7, S2, 1023));
  const int32_t skip = here();
  p[static_cast<size_t>(skip_branch)] = encode_b(op::kBranch, 0, A4, 0, (skip - skip_branch) * 4);
  emit(encode_i(op::kOpImm, A7, 7, S1, 63));  // andi a7, s1, 63
  const int32_t dot_branch = here();
  emit(0);                                    // bnez a7, no_dot (patched)
  print(".");
  const int32_t no_dot = here();
  p[static_cast<size_t>(dot_branch)] = encode_b(op::kBranch, 1, A7, 0, (no_dot - dot_branch) * 4);
  emit(encode_i(op::kOpImm, S1, 0, S1, -1));
  emit(encode_b(op::kBranch, 1, S1, 0, (outer - here()) * 4));  // bnez s1, outer
  print("\nrtc-guest done\n");
  emit(encode_u(op::kLui, T3, 0x100000));  // test finisher
  li(A6, 0x5555);
  emit(encode_s(op::kStore, 2, T3, A6, 0));  // sw: power off, exit code 0
  emit(encode_j(op::kJal, 0, 0));            // (not reached)
  return p;
}

inline std::vector<uint8_t> rtc_guest_image(uint32_t loops, uint32_t work) {
  const std::vector<uint32_t> words = rtc_guest_program(loops, work);
  std::vector<uint8_t> bytes;
  for (uint32_t w : words)
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(w >> (8 * i)));
  return bytes;
}

}  // namespace hs::test
