#include "core/machine.hpp"

#include <algorithm>

#include "core/csr.hpp"

namespace hs {

Machine::Machine() : hart_(bus_), blocks_(decoder_) {
  bus_.on_code_write = [this](PAddr page) {
    blocks_.invalidate_page(page.v);
    hart_.chain_gen = new_chain_generation();
    hart_.block_exit = true;  // the executing block may be one of them
  };
  hart_.chain_blocks = &blocks_;
  hart_.chain_gen = new_chain_generation();
  if (tier_factory()) tier_ = tier_factory()(*this);
}

Machine::~Machine() = default;

void Machine::safe_point() {
  blocks_.collect();
  if (tier_ && tier_->safe_point()) {
    blocks_.drop_units();
    hart_.chain_gen = new_chain_generation();
  }
}

Position Machine::next_deadline() const {
  Position d = Position::max();
  for (const Device* dev : timed_) d = std::min(d, dev->next_deadline());
  return d;
}

void Machine::advance_devices() {
  const Position now = position();
  for (Device* dev : timed_) dev->advance(now);
}

[[gnu::always_inline]] inline bool Machine::run_block(Block& b, uint64_t budget) {
  Hart& h = hart_;
  const DecodedInsn* insns = b.insns;
  uint32_t n = b.count;
  if (budget < n) [[unlikely]] {
    // A stop point falls inside the block: run a copy of its first `budget`
    // instructions, ended by the sentinel.
    n = static_cast<uint32_t>(budget);
    std::copy_n(b.insns, n, partial_);
    partial_[n] = kEndOfBlock;
    insns = partial_;
  }
  const Flow f = insns[0].fn(h, insns[0]);
  uint32_t retired = n;
  if (f == Flow::kNext) [[likely]] {
    const DecodedInsn& last = insns[n - 1];
    h.pc = last.pc + last.len;
  } else {
    const DecodedInsn& i = insns[h.exit_idx];
    retired = i.idx + (f != Flow::kTrap);
    if (f == Flow::kTrap)
      h.pc = i.pc;
    else if (f != Flow::kJump)
      h.pc = i.pc + i.len;
  }
  h.position += retired;
  h.instret += retired;
  return end_run(f);
}

// UBSan's -fsanitize=function (the fuzzers) checks an indirect call by
// reading the 8 bytes before the callee: for generated code that may be an
// unmapped page.
#if defined(__clang__)
__attribute__((no_sanitize("function")))
#endif
bool Machine::run_unit(CompiledUnit* unit, UnitEntry entry, uint64_t budget) {
  const uint64_t before = hart_.instret;
  const Flow f = entry(hart_, budget, unit);
  compiled_instructions_ += hart_.instret - before;
  return end_run(f);
}

[[gnu::always_inline]] inline bool Machine::end_run(Flow f) {
  Hart& h = hart_;
  // xRET and similar set block_exit: they may have enabled an interrupt.
  const bool chain = !h.block_exit;
  h.block_exit = false;
  h.cur_idx = 0;
  switch (f) {
    case Flow::kNext:
    case Flow::kJump:
      return chain;
    case Flow::kEndBlock:
      return false;
    case Flow::kWfi:
      h.wfi = true;
      return false;
    case Flow::kTrap:
      // A watchpoint stop leaves the instruction unexecuted, with no trap.
      if (h.trap_cause != cause::kWatchStop) {
        ++h.position;  // the trap entry
        h.take_trap(h.trap_cause, h.trap_tval, h.pc);
      }
      return false;
  }
  return false;
}

bool Machine::execute(Block& b, uint64_t budget) {
  if (CompiledUnit* u = b.unit) {
    const UnitEntry e = u->entry.load(std::memory_order_acquire);
    if (e && budget >= b.count) return run_unit(u, e, budget);
    if (!e) {
      u->waiting.store(u->waiting.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      const uint64_t before = hart_.instret;
      const bool chain = run_block(b, budget);
      waited_instructions_ += hart_.instret - before;
      return chain;
    }
  } else if (tier_ && b.heat++ == tier_->threshold()) [[unlikely]] {
    b.unit = tier_->hot(hart_, blocks_, b);
    return execute(b, budget);
  }
  return run_block(b, budget);
}

void Machine::set_breakpoints(std::unordered_set<uint64_t> pcs) {
  breakpoints_ = std::move(pcs);
  blocks_.set_breakpoints(breakpoints_.empty() ? nullptr : &breakpoints_);
  blocks_.invalidate_all();
  // Chain slots may name a unit at a new breakpoint, or one with a new
  // breakpoint inside (units attached to blocks never have one: Region::matches).
  hart_.chain_gen = new_chain_generation();
}

StopReason Machine::run(Position until, bool step_over_breakpoint) {
  stop_ = false;
  hart_.watch_hit = WatchHit{};
  const Position started = position();
  auto at_breakpoint = [&] {
    return !breakpoints_.empty() && breakpoints_armed_ && breakpoints_.count(hart_.pc) &&
           !(step_over_breakpoint && hart_.position == started.v);
  };
  for (;;) {
    safe_point();
    if (stop_) return exit_code_ ? StopReason::kExit : StopReason::kRequest;
    const Position now = position();
    if (now >= until) return StopReason::kTarget;
    Position input_at = next_input ? next_input() : Position::max();
    if (now.v >= next_poll_ || now >= input_at) {
      if (on_poll) on_poll();
      next_poll_ = (now.v / kPollInterval + 1) * kPollInterval;
      if (next_input) input_at = next_input();
      if (stop_) continue;
    }
    Position deadline = next_deadline();
    if (now >= deadline) {
      advance_devices();
      deadline = next_deadline();
    }
    if ((hart_.effective_mip() & hart_.mie) && hart_.take_pending_interrupt()) {
      hart_.wfi = false;
      ++hart_.position;  // a trap entry is a position step
      continue;
    }
    if (hart_.wfi && !hart_.wfi_wakeup()) {
      // Asleep: time jumps to the next stop point. With no deadline at all only
      // host input can wake the hart, so wait for it without moving time.
      if (deadline == Position::max()) {
        if (!idle_wait || !idle_wait()) return StopReason::kIdle;
        next_poll_ = now.v;  // deliver the input at this position
      } else {
        const uint64_t target = std::min({until, deadline, Position{next_poll_}, input_at}).v;
        uint64_t step = target - now.v;
        if (pace_idle && (step = std::min(step, pace_idle(now, step))) < target - now.v)
          next_poll_ = now.v + step;  // input arrived: deliver it right there
        idle_positions_ += step;
        hart_.position += step;
      }
      continue;
    }
    hart_.wfi = false;
    // Exact stop points (the target, device deadlines, journaled input) may
    // fall inside a block. The poll point only has to come round often: it
    // ends the chain at the first block boundary past it, so a block never
    // starts mid-way because of it (such entries would decode and compile
    // regions again at every phase of a loop the poll interval divides).
    const uint64_t stop_at = std::min({until, deadline, input_at}).v;
    const uint64_t poll_at = std::min(stop_at, next_poll_);
    // Fast path: chain blocks while only plain control flow happens. Whatever
    // can change interrupt state or deadlines (CSR writes, MMIO, traps, WFI)
    // ends its block with another flow and brings us back to the checks above.
    if (at_breakpoint()) return StopReason::kBreakpoint;
    // Left set by device work above (DMA into a page table): it would end
    // the first block early in one tier and not the other.
    hart_.block_exit = false;
    // Compiled units chain on to the next one (hs_jit_chain) under the
    // conditions this loop chains blocks: up to the poll point, and never
    // into a breakpoint (at_breakpoint() checks every block): hs_jit_chain
    // refuses breakpoint targets, and a unit's entry may be one.
    hart_.chain_until = poll_at;
    hart_.reenter_until = breakpoints_.empty() || !breakpoints_armed_ ? poll_at : 0;
    Block* b = blocks_.lookup(hart_);
    for (;;) {
      if (!b) {
        hart_.take_trap(hart_.trap_cause, hart_.trap_tval, hart_.pc);
        ++hart_.position;
        break;
      }
      const uint64_t pos = hart_.position;
      if (!execute(*b, std::min(stop_at - pos, std::max<uint64_t>(poll_at - pos, b->count)))) {
        if (hart_.watch_hit.hit) return StopReason::kWatchpoint;
        break;
      }
      if (hart_.position >= poll_at || at_breakpoint()) break;
      b = blocks_.next(hart_, *b);
    }
  }
}

void Machine::state_replaced() {
  blocks_.invalidate_all();
  hart_.chain_gen = new_chain_generation();
  safe_point();
  for (auto& m : bus_.memories()) {
    std::fill(m->code.begin(), m->code.end(), 0);
    std::fill(m->table.begin(), m->table.end(), 0);
  }
  update_dtlb(hart_);  // derived, not part of a snapshot
  hart_.tlb_flush();
  hart_.cur_idx = 0;
  hart_.block_exit = false;
  next_poll_ = 0;
}

uint32_t Machine::dirty_checkpoint() {
  hart_.tlb_flush_writes();
  return bus_.advance_dirty_generation();
}

}  // namespace hs
