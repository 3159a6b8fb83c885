#include "jit/lower.hpp"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <bitset>
#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/hart.hpp"

namespace hs::jit {

namespace {

using llvm::BasicBlock;
using llvm::Value;

// What an instruction's lowering does to control flow.
enum class Next { kContinue, kDone };

class Lowerer;
using AluFn = Value* (*)(llvm::IRBuilder<>&, Value*, Value*);
using LowerFn = std::function<Next(Lowerer&, const DecodedInsn&)>;

class Lowerer {
 public:
  Lowerer(const Region& r, std::span<const InsnSpec> specs, const LowerOptions& o, llvm::Module& m)
      : c_(m.getContext()), m_(m), b_(c_), r_(r),
        blocks_(std::span(r.blocks).first(o.optimised ? r.blocks.size() : r.tier1_blocks)),
        specs_(specs), o_(o) {}

  void lower(const std::string& name);

  // ---- instruction lowerings (table below) ----
  Next alu(const DecodedInsn& i, AluFn fn, bool imm);
  Next lui(const DecodedInsn& i);
  Next auipc(const DecodedInsn& i);
  Next jal(const DecodedInsn& i);
  Next jalr(const DecodedInsn& i);
  Next branch(const DecodedInsn& i, llvm::CmpInst::Predicate p);
  Next load(const DecodedInsn& i, unsigned size, bool sign);
  Next store(const DecodedInsn& i, unsigned size);
  Next end_block(const DecodedInsn& i);  // fence.i: retires, then the loop re-checks
  Next nop(const DecodedInsn&) { return Next::kContinue; }
  Next fallback(const DecodedInsn& i);

 private:
  llvm::Type* i64() { return b_.getInt64Ty(); }
  llvm::Type* i8() { return b_.getInt8Ty(); }
  Value* c64(uint64_t v) { return b_.getInt64(v); }
  Value* field(size_t offset) { return b_.CreateConstInBoundsGEP1_64(i8(), hart_, offset); }
  // Accesses to hart state and to guest memory carry alias scopes saying
  // they never overlap, so LLVM keeps TLB entries, the data-TLB set and
  // other hart fields in registers across guest stores (and hoists them out
  // of loops).
  template <typename I>
  I* in_scope(I* inst, bool hart) {
    inst->setMetadata(llvm::LLVMContext::MD_alias_scope, hart ? hart_scope_ : guest_scope_);
    inst->setMetadata(llvm::LLVMContext::MD_noalias, hart ? guest_scope_ : hart_scope_);
    return inst;
  }
  Value* hart_load(llvm::Type* t, size_t offset) { return in_scope(b_.CreateLoad(t, field(offset)), true); }
  Value* hart_load(llvm::Type* t, Value* ptr) { return in_scope(b_.CreateLoad(t, ptr), true); }
  void hart_store(Value* v, size_t offset) { in_scope(b_.CreateStore(v, field(offset)), true); }
  Value* x(unsigned r);
  void set_x(unsigned r, Value* v);
  void reload_x(unsigned r);
  Value* done_here(unsigned extra) { return b_.CreateAdd(done_blk_, c64(k_ + extra)); }
  // The position of the current instruction (the slow paths' argument).
  Value* position_here() { return b_.CreateAdd(pos0_, done_here(0)); }
  // Branches to the unit's exit: writes pc, position and instret back and
  // returns `flow`.
  void exit(Value* pc, Flow flow, Value* done);
  // The same for a jump to `pc` outside the unit: the exit chains to the
  // unit there when it can (hs_jit_chain), else returns kJump.
  void jump_exit(Value* pc, Value* done);
  // Writes pc, position and instret back and enters the unit the exit's
  // ChainSlot `slot` names if it holds (see ChainSlot), else asks
  // hs_jit_chain; returns kJump where neither chains.
  void chain_to(Value* pc, Value* done, Value* slot, bool check_pc);
  void tail_call(Value* entry, Value* done, Value* unit);
  // Returns `flow` (i8) unless it is kNext: the helper that returned it left
  // the hart as the loop expects it. Continues in a new block.
  void return_unless_next(Value* flow);
  // Calls a load/store slow path (JitSlowResult) and returns its value.
  Value* slow_path(JitHelper fn, std::initializer_list<Value*> args);
  void make_exits();
  // Control to guest pc `pc` with `done` instructions retired: a region
  // block if there is one, else an exit.
  void go_to(uint64_t pc, Value* done);
  // Leaving the current block (to `pc`, with `done` retired): where the
  // interpreter would return to the loop. If the block ran a fallback
  // handler that set block_exit, exit there as the loop would not chain.
  void leave_block(uint64_t pc, Value* done);
  // The same for an indirect jump to `pc` (tier 2 stays in the unit when
  // `pc` is one of its blocks).
  void leave_block_indirect(Value* pc, Value* done);
  // Where a block ran a fallback handler that set block_exit: exit to `pc`.
  void exit_if_block_exit(Value* pc, Value* done);
  BasicBlock* new_bb(const char* name) { return BasicBlock::Create(c_, name, fn_); }
  void cond_br_likely(Value* cond, BasicBlock* likely, BasicBlock* unlikely);
  // Pointer to the TLB entry for va in set dtlb, type t.
  // The TLB entries of type `t` in set `set` (an i64: a data-TLB set or a
  // privilege), and the entry of va's page among them.
  Value* tlb_row(Value* set, AccessType t);
  Value* tlb_entry_in(Value* row, Value* va);
  Value* tlb_entry(Value* va, AccessType t) { return tlb_entry_in(tlb_set_[t], va); }
  // The virtual address of load/store `i` and its TLB entry pointer.
  struct Access {
    Value* va;
    Value* entry;
  };
  Access access(const DecodedInsn& i, AccessType t);
  // The TLB hit path of load/store `i`: returns its host address, with the
  // builder in the block where that is valid; `slow` (empty) is where the
  // access misses.
  Value* hit_path(const DecodedInsn& i, AccessType t, unsigned size, BasicBlock*& slow);
  // hit_path in a loop of a tier-2 unit: a one-entry TLB in SSA per base
  // register and access type (see the definition).
  Value* loop_access(const DecodedInsn& i, AccessType t, unsigned size, BasicBlock*& slow);
  void find_loops();
  // True if entry `e` maps the `size` bytes at va (Hart::data_hit's test).
  Value* tlb_hit(Value* e, Value* va, unsigned size) {
    return b_.CreateAnd(b_.CreateICmpEQ(hart_load(i64(), e), b_.CreateLShr(va, kPageShift)),
                        b_.CreateICmpULE(b_.CreateAnd(va, kPageSize - 1), c64(kPageSize - size)));
  }
  // Host address of va through the entry `e` that maps it.
  Value* tlb_host(Value* e, Value* va) {
    Value* addend = hart_load(i64(), b_.CreateConstInBoundsGEP1_64(i8(), e, 8));
    return b_.CreateIntToPtr(b_.CreateAdd(addend, va), b_.getPtrTy());
  }
  // Calls helper `h` (C calling convention) at the address the hart holds.
  Value* call(JitHelper h, llvm::Type* ret, std::initializer_list<Value*> args) {
    std::vector<llvm::Type*> types;
    for (Value* a : args) types.push_back(a->getType());
    Value* fn = hart_load(b_.getPtrTy(), o_.layout.jit_helpers + sizeof(void*) * h);
    llvm::CallInst* c = b_.CreateCall(llvm::FunctionType::get(ret, types, false), fn, args);
    c->setDoesNotThrow();
    return c;
  }
  // The unit's data (CompiledUnit): field at `offset`, its instruction
  // number `n` and its chain slot for an exit to `pc` (Region::targets).
  Value* unit() { return unit_slot_ ? static_cast<Value*>(b_.CreateLoad(b_.getPtrTy(), unit_slot_, true)) : unit_; }
  Value* unit_field(size_t offset) { return b_.CreateConstInBoundsGEP1_64(i8(), unit(), offset); }
  Value* insn_ptr(size_t n) {
    return b_.CreateConstInBoundsGEP1_64(i8(), hart_load(b_.getPtrTy(), unit_field(kUnitInsns)),
                                         n * sizeof(DecodedInsn));
  }
  Value* insn_here() { return insn_ptr(insn_base_ + k_); }
  // nullptr if pc is not one of Region::targets.
  Value* slot_ptr(uint64_t pc) {
    auto it = std::lower_bound(r_.targets.begin(), r_.targets.end(), pc);
    if (it == r_.targets.end() || *it != pc) return nullptr;
    return unit_field(o_.slots_offset + static_cast<size_t>(it - r_.targets.begin()) * sizeof(ChainSlot));
  }
  // True while no helper has asked the unit to end (hart.block_exit clear).
  Value* block_exit_clear() { return b_.CreateICmpEQ(hart_load(i8(), o_.layout.block_exit), b_.getInt8(0)); }
  static_assert(sizeof(TlbEntry) == 16);
  void lower_block(size_t n);
  // Tier 1 counts block runs; at promote_at the unit is compiled again, optimised.
  void count_run();

  llvm::LLVMContext& c_;
  llvm::Module& m_;
  llvm::IRBuilder<> b_;
  const Region& r_;
  std::span<const RegionBlock> blocks_;  // the region's blocks this tier compiles
  std::span<const InsnSpec> specs_;
  const LowerOptions& o_;
  llvm::Function* fn_ = nullptr;
  Value* hart_ = nullptr;
  Value* budget_ = nullptr;
  Value* unit_ = nullptr;  // the CompiledUnit argument
  // Tier 2 keeps unit_ in a stack slot read with volatile loads where an
  // exit or a slow path needs it, so that it holds no register across a
  // loop (in one, bench-cpu's loops ran 2 % slower).
  llvm::AllocaInst* unit_slot_ = nullptr;
  Value* pos0_ = nullptr;
  Value* ins0_ = nullptr;
  llvm::AllocaInst* done_ = nullptr;
  // The shared exits (make_exits): every path out of the unit ends in one.
  BasicBlock* exit_bb_ = nullptr;
  llvm::PHINode* exit_pc_ = nullptr;
  llvm::PHINode* exit_done_ = nullptr;
  llvm::PHINode* exit_flow_ = nullptr;
  BasicBlock* jump_bb_ = nullptr;  // tier 1: the one jump exit
  llvm::PHINode* jump_pc_ = nullptr;
  llvm::PHINode* jump_done_ = nullptr;
  llvm::PHINode* jump_slot_ = nullptr;
  BasicBlock* no_chain_bb_ = nullptr;      // returns kJump
  BasicBlock* chain_lookup_bb_ = nullptr;  // calls hs_jit_chain
  llvm::PHINode* lookup_done_ = nullptr;
  llvm::PHINode* lookup_slot_ = nullptr;
  BasicBlock* return_bb_ = nullptr;
  llvm::PHINode* return_flow_ = nullptr;
  llvm::AllocaInst* regs_[32] = {};  // tier 2
  // Tier 1: the value of each guest register in the basic block it was read
  // or written in (see x()).
  Value* t1_value_[32] = {};
  BasicBlock* t1_block_[32] = {};
  // The data-TLB sets of loads and stores, fixed for the unit's life: the
  // set (dtlb) changes only with privilege or mstatus, which end the unit.
  Value* tlb_set_[2] = {};
  std::unordered_map<uint64_t, BasicBlock*> block_at_;
  // Current instruction: block entry count and index within the block.
  Value* done_blk_ = nullptr;
  size_t insn_base_ = 0;  // the number of the block's first instruction in the region
  unsigned k_ = 0;
  bool block_has_fallback_ = false;
  // The compiled blocks on a cycle of direct jumps (loops), and whether the
  // block being lowered is one (tier 2 caches translations there, see
  // loop_access; tier 1 counts runs there).
  std::unordered_set<uint64_t> in_loop_;
  bool block_in_loop_ = false;
  // loop_access's last page and addend, by access type and base register.
  llvm::AllocaInst* site_page_[2][32] = {};
  llvm::AllocaInst* site_addend_[2][32] = {};
  llvm::MDNode* hart_scope_ = nullptr;
  llvm::MDNode* guest_scope_ = nullptr;
};

// ---- ALU operations (b: rs2 or the immediate), as core/isa/rv_i.cpp/rv_m.cpp ----
using B = llvm::IRBuilder<>;
Value* sext32(B& b, Value* v32) { return b.CreateSExt(v32, b.getInt64Ty()); }
Value* lo32(B& b, Value* v) { return b.CreateTrunc(v, b.getInt32Ty()); }
Value* add(B& b, Value* x, Value* y) { return b.CreateAdd(x, y); }
Value* sub(B& b, Value* x, Value* y) { return b.CreateSub(x, y); }
Value* sll(B& b, Value* x, Value* y) { return b.CreateShl(x, b.CreateAnd(y, 63)); }
Value* srl(B& b, Value* x, Value* y) { return b.CreateLShr(x, b.CreateAnd(y, 63)); }
Value* sra(B& b, Value* x, Value* y) { return b.CreateAShr(x, b.CreateAnd(y, 63)); }
Value* slt(B& b, Value* x, Value* y) { return b.CreateZExt(b.CreateICmpSLT(x, y), b.getInt64Ty()); }
Value* sltu(B& b, Value* x, Value* y) { return b.CreateZExt(b.CreateICmpULT(x, y), b.getInt64Ty()); }
Value* xor_(B& b, Value* x, Value* y) { return b.CreateXor(x, y); }
Value* or_(B& b, Value* x, Value* y) { return b.CreateOr(x, y); }
Value* and_(B& b, Value* x, Value* y) { return b.CreateAnd(x, y); }
Value* addw(B& b, Value* x, Value* y) { return sext32(b, lo32(b, b.CreateAdd(x, y))); }
Value* subw(B& b, Value* x, Value* y) { return sext32(b, lo32(b, b.CreateSub(x, y))); }
Value* sllw(B& b, Value* x, Value* y) {
  return sext32(b, b.CreateShl(lo32(b, x), lo32(b, b.CreateAnd(y, 31))));
}
Value* srlw(B& b, Value* x, Value* y) {
  return sext32(b, b.CreateLShr(lo32(b, x), lo32(b, b.CreateAnd(y, 31))));
}
Value* sraw(B& b, Value* x, Value* y) {
  return sext32(b, b.CreateAShr(lo32(b, x), lo32(b, b.CreateAnd(y, 31))));
}

Value* mul(B& b, Value* x, Value* y) { return b.CreateMul(x, y); }
Value* mulw(B& b, Value* x, Value* y) { return sext32(b, lo32(b, b.CreateMul(x, y))); }
// High half of a 128-bit product, operands extended as the instruction says.
template <bool SignA, bool SignB>
Value* mul_high(B& b, Value* x, Value* y) {
  llvm::Type* t = b.getInt128Ty();
  Value* a = SignA ? b.CreateSExt(x, t) : b.CreateZExt(x, t);
  Value* c = SignB ? b.CreateSExt(y, t) : b.CreateZExt(y, t);
  return b.CreateTrunc(b.CreateLShr(b.CreateMul(a, c), 64), b.getInt64Ty());
}
// Division with RISC-V's rules: by zero gives all ones (quotient) or the
// dividend (remainder); signed overflow gives the dividend (quotient) or 0.
// The host division only ever sees a safe divisor.
template <bool Signed, bool Rem>
Value* divide(B& b, Value* x, Value* y) {
  llvm::Type* t = x->getType();
  Value* zero = llvm::ConstantInt::get(t, 0);
  Value* by_zero = b.CreateICmpEQ(y, zero);
  Value* overflow = b.getFalse();
  if (Signed) {
    const unsigned w = t->getIntegerBitWidth();
    overflow = b.CreateAnd(b.CreateICmpEQ(x, llvm::ConstantInt::get(t, llvm::APInt::getSignedMinValue(w))),
                           b.CreateICmpEQ(y, llvm::ConstantInt::getSigned(t, -1)));
  }
  Value* safe = b.CreateSelect(b.CreateOr(by_zero, overflow), llvm::ConstantInt::get(t, 1), y);
  Value* q = Signed ? (Rem ? b.CreateSRem(x, safe) : b.CreateSDiv(x, safe))
                    : (Rem ? b.CreateURem(x, safe) : b.CreateUDiv(x, safe));
  Value* on_zero = Rem ? x : llvm::ConstantInt::getAllOnesValue(t);
  Value* on_overflow = Rem ? zero : x;
  return b.CreateSelect(by_zero, on_zero, b.CreateSelect(overflow, on_overflow, q));
}
template <bool Signed, bool Rem>
Value* divide64(B& b, Value* x, Value* y) {
  return divide<Signed, Rem>(b, x, y);
}
template <bool Signed, bool Rem>
Value* divide32(B& b, Value* x, Value* y) {
  return sext32(b, divide<Signed, Rem>(b, lo32(b, x), lo32(b, y)));
}

// The lowering of each instruction the tier compiles inline, by table name.
const std::unordered_map<std::string_view, LowerFn>& lowerings() {
  using P = llvm::CmpInst::Predicate;
  static const auto* table = [] {
    auto* t = new std::unordered_map<std::string_view, LowerFn>;
    auto alu = [t](std::string_view rr, std::string_view ri, AluFn fn) {
      if (!rr.empty()) (*t)[rr] = [fn](Lowerer& l, const DecodedInsn& i) { return l.alu(i, fn, false); };
      if (!ri.empty()) (*t)[ri] = [fn](Lowerer& l, const DecodedInsn& i) { return l.alu(i, fn, true); };
    };
    alu("add", "addi", add);
    alu("sub", "", sub);
    alu("sll", "slli", sll);
    alu("srl", "srli", srl);
    alu("sra", "srai", sra);
    alu("slt", "slti", slt);
    alu("sltu", "sltiu", sltu);
    alu("xor", "xori", xor_);
    alu("or", "ori", or_);
    alu("and", "andi", and_);
    alu("addw", "addiw", addw);
    alu("subw", "", subw);
    alu("sllw", "slliw", sllw);
    alu("srlw", "srliw", srlw);
    alu("sraw", "sraiw", sraw);
    alu("mul", "", mul);
    alu("mulh", "", mul_high<true, true>);
    alu("mulhsu", "", mul_high<true, false>);
    alu("mulhu", "", mul_high<false, false>);
    alu("div", "", divide64<true, false>);
    alu("divu", "", divide64<false, false>);
    alu("rem", "", divide64<true, true>);
    alu("remu", "", divide64<false, true>);
    alu("mulw", "", mulw);
    alu("divw", "", divide32<true, false>);
    alu("divuw", "", divide32<false, false>);
    alu("remw", "", divide32<true, true>);
    alu("remuw", "", divide32<false, true>);
    (*t)["lui"] = [](Lowerer& l, const DecodedInsn& i) { return l.lui(i); };
    (*t)["auipc"] = [](Lowerer& l, const DecodedInsn& i) { return l.auipc(i); };
    (*t)["jal"] = [](Lowerer& l, const DecodedInsn& i) { return l.jal(i); };
    (*t)["jalr"] = [](Lowerer& l, const DecodedInsn& i) { return l.jalr(i); };
    for (auto [name, p] : {std::pair{"beq", P::ICMP_EQ}, {"bne", P::ICMP_NE}, {"blt", P::ICMP_SLT},
                           {"bge", P::ICMP_SGE}, {"bltu", P::ICMP_ULT}, {"bgeu", P::ICMP_UGE}})
      (*t)[name] = [p](Lowerer& l, const DecodedInsn& i) { return l.branch(i, p); };
    for (auto [name, size, sign] : {std::tuple{"lb", 1u, true}, {"lh", 2u, true}, {"lw", 4u, true},
                                    {"ld", 8u, false}, {"lbu", 1u, false}, {"lhu", 2u, false},
                                    {"lwu", 4u, false}})
      (*t)[name] = [size, sign](Lowerer& l, const DecodedInsn& i) { return l.load(i, size, sign); };
    for (auto [name, size] : {std::pair{"sb", 1u}, {"sh", 2u}, {"sw", 4u}, {"sd", 8u}})
      (*t)[name] = [size](Lowerer& l, const DecodedInsn& i) { return l.store(i, size); };
    (*t)["fence"] = [](Lowerer& l, const DecodedInsn& i) { return l.nop(i); };
    (*t)["fence.i"] = [](Lowerer& l, const DecodedInsn& i) { return l.end_block(i); };
    return t;
  }();
  return *table;
}

// Tier 1 reads a guest register from the hart at its first use in each
// basic block and reuses the value within the block: values never live
// across basic blocks, which fast register allocation would spill and
// reload around every block (every load/store has three).
Value* Lowerer::x(unsigned r) {
  if (r == 0 || r >= 32) return c64(0);
  if (o_.optimised) return b_.CreateLoad(i64(), regs_[r]);
  if (t1_block_[r] != b_.GetInsertBlock()) {
    t1_value_[r] = hart_load(i64(), o_.layout.x + 8 * r);
    t1_block_[r] = b_.GetInsertBlock();
  }
  return t1_value_[r];
}

void Lowerer::set_x(unsigned r, Value* v) {
  if (r == 0 || r >= 32) return;  // x0 and the sink register
  if (o_.optimised) {
    b_.CreateStore(v, regs_[r]);
  } else {
    t1_value_[r] = v;
    t1_block_[r] = b_.GetInsertBlock();
  }
  hart_store(v, o_.layout.x + 8 * r);
}

void Lowerer::reload_x(unsigned r) {
  if (r == 0 || r >= 32) return;
  if (o_.optimised)
    b_.CreateStore(hart_load(i64(), o_.layout.x + 8 * r), regs_[r]);
  else
    t1_block_[r] = nullptr;
}

void Lowerer::make_exits() {
  llvm::IRBuilderBase::InsertPointGuard guard(b_);
  exit_bb_ = new_bb("exit");
  b_.SetInsertPoint(exit_bb_);
  exit_pc_ = b_.CreatePHI(i64(), 8, "exit_pc");
  exit_done_ = b_.CreatePHI(i64(), 8, "exit_done");
  exit_flow_ = b_.CreatePHI(i8(), 8, "exit_flow");
  hart_store(exit_pc_, o_.layout.pc);
  hart_store(b_.CreateAdd(pos0_, exit_done_), o_.layout.position);
  hart_store(b_.CreateAdd(ins0_, exit_done_), o_.layout.instret);
  b_.CreateRet(exit_flow_);

  no_chain_bb_ = new_bb("no_chain");
  b_.SetInsertPoint(no_chain_bb_);
  b_.CreateRet(b_.getInt8(static_cast<uint8_t>(Flow::kJump)));
  // The slot did not hold: hs_jit_chain looks the target up (and refills it).
  chain_lookup_bb_ = new_bb("chain_lookup");
  b_.SetInsertPoint(chain_lookup_bb_);
  lookup_done_ = b_.CreatePHI(i64(), 8, "lookup_done");
  lookup_slot_ = b_.CreatePHI(b_.getPtrTy(), 8, "lookup_slot");
  Value* next = call(kHelperChain, llvm::StructType::get(c_, {b_.getPtrTy(), b_.getPtrTy()}), {hart_, lookup_slot_});
  Value* entry = b_.CreateExtractValue(next, 0);
  BasicBlock* chain = new_bb("chain");
  b_.CreateCondBr(b_.CreateIsNotNull(entry), chain, no_chain_bb_);
  b_.SetInsertPoint(chain);
  tail_call(entry, lookup_done_, b_.CreateExtractValue(next, 1));
  if (!o_.optimised) {
    // Tier 1: one shared jump exit (less IR to compile).
    jump_bb_ = new_bb("jump_exit");
    b_.SetInsertPoint(jump_bb_);
    jump_pc_ = b_.CreatePHI(i64(), 8, "jump_pc");
    jump_done_ = b_.CreatePHI(i64(), 8, "jump_done");
    jump_slot_ = b_.CreatePHI(b_.getPtrTy(), 8, "jump_slot");
    chain_to(jump_pc_, jump_done_, jump_slot_, true);
  }
  return_bb_ = new_bb("return");
  b_.SetInsertPoint(return_bb_);
  return_flow_ = b_.CreatePHI(i8(), 8, "return_flow");
  b_.CreateRet(return_flow_);
}

void Lowerer::exit(Value* pc, Flow flow, Value* done) {
  BasicBlock* here = b_.GetInsertBlock();
  exit_pc_->addIncoming(pc, here);
  exit_done_->addIncoming(done, here);
  exit_flow_->addIncoming(b_.getInt8(static_cast<uint8_t>(flow)), here);
  b_.CreateBr(exit_bb_);
}

void Lowerer::jump_exit(Value* pc, Value* done) {
  // A jump to a direct successor of a region block has a slot of its own
  // (Region::targets); any other uses the hart's jump cache entry for its
  // target: an indirect jump (a return, mostly: many targets), or one whose
  // target tier 1 folded to a constant (auipc and jalr: a far call).
  Value* slot = nullptr;
  if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(pc)) slot = slot_ptr(c->getZExtValue());
  const bool own = slot != nullptr;
  if (!own) {
    Value* index = b_.CreateAnd(b_.CreateLShr(pc, 1), c64(Hart::kJumpCacheSize - 1));
    slot = b_.CreateInBoundsGEP(i8(), field(o_.layout.jump_cache), b_.CreateMul(index, c64(sizeof(ChainSlot))));
  }
  if (o_.optimised) {
    // Tier 2: each exit its own copy, so each has its own indirect jump for
    // the host's branch predictor.
    chain_to(pc, done, slot, !own);
    return;
  }
  BasicBlock* here = b_.GetInsertBlock();
  jump_pc_->addIncoming(pc, here);
  jump_done_->addIncoming(done, here);
  jump_slot_->addIncoming(slot, here);
  b_.CreateBr(jump_bb_);
}

void Lowerer::tail_call(Value* entry, Value* done, Value* unit) {
  // A tail call: chains of any length run in constant stack.
  llvm::CallInst* rest =
      b_.CreateCall(fn_->getFunctionType(), entry, {hart_, b_.CreateSub(budget_, done), unit});
  rest->setTailCallKind(llvm::CallInst::TCK_MustTail);
  b_.CreateRet(rest);
}

void Lowerer::chain_to(Value* pc, Value* done, Value* slot, bool check_pc) {
  hart_store(pc, o_.layout.pc);
  Value* position = b_.CreateAdd(pos0_, done);
  hart_store(position, o_.layout.position);
  hart_store(b_.CreateAdd(ins0_, done), o_.layout.instret);
  BasicBlock* check = new_bb("chain_check");
  b_.CreateCondBr(b_.CreateICmpULT(position, hart_load(i64(), o_.layout.chain_until)), check, no_chain_bb_);
  b_.SetInsertPoint(check);
  // The slot holds while its gen is the hart's and the exec TLB of the
  // hart's privilege maps pc's page with the slot's addend (and its pc is
  // the target: an exit to a constant pc only ever fills its slot with that
  // pc); core/compiled.cpp chain_slot_holds is the reference.
  auto slot_field = [&](llvm::Type* t, size_t offset) {
    return hart_load(t, b_.CreateConstInBoundsGEP1_64(i8(), slot, offset));
  };
  Value* e = tlb_entry_in(tlb_row(b_.CreateZExt(hart_load(i8(), o_.layout.priv), i64()), kExec), pc);
  Value* ok = b_.CreateAnd(
      b_.CreateICmpEQ(slot_field(i64(), offsetof(ChainSlot, gen)), hart_load(i64(), o_.layout.chain_gen)),
      b_.CreateAnd(b_.CreateICmpEQ(hart_load(i64(), e), b_.CreateLShr(pc, kPageShift)),
                   b_.CreateICmpEQ(hart_load(i64(), b_.CreateConstInBoundsGEP1_64(i8(), e, 8)),
                                   slot_field(i64(), offsetof(ChainSlot, addend)))));
  if (check_pc) ok = b_.CreateAnd(ok, b_.CreateICmpEQ(slot_field(i64(), offsetof(ChainSlot, pc)), pc));
  BasicBlock* hit = new_bb("chain_hit");
  BasicBlock* here = b_.GetInsertBlock();
  lookup_done_->addIncoming(done, here);
  lookup_slot_->addIncoming(slot, here);
  cond_br_likely(ok, hit, chain_lookup_bb_);
  b_.SetInsertPoint(hit);
  Value* unit = slot_field(b_.getPtrTy(), offsetof(ChainSlot, unit));
  static_assert(offsetof(CompiledUnit, entry) == 0);
  auto* entry = llvm::cast<llvm::LoadInst>(hart_load(b_.getPtrTy(), unit));  // CompiledUnit::entry
  entry->setAtomic(llvm::AtomicOrdering::Acquire);
  entry->setAlignment(llvm::Align(8));
  BasicBlock* go = new_bb("chain");
  b_.CreateCondBr(b_.CreateIsNotNull(entry), go, no_chain_bb_);
  b_.SetInsertPoint(go);
  tail_call(entry, done, unit);
}

void Lowerer::return_unless_next(Value* flow) {
  BasicBlock* next = new_bb("next");
  return_flow_->addIncoming(flow, b_.GetInsertBlock());
  cond_br_likely(b_.CreateICmpEQ(flow, b_.getInt8(static_cast<uint8_t>(Flow::kNext))), next, return_bb_);
  b_.SetInsertPoint(next);
}

Value* Lowerer::slow_path(JitHelper fn, std::initializer_list<Value*> args) {
  Value* r = call(fn, llvm::StructType::get(c_, {i64(), i64()}), args);
  return_unless_next(b_.CreateTrunc(b_.CreateExtractValue(r, 1), i8()));
  return b_.CreateExtractValue(r, 0);
}

void Lowerer::cond_br_likely(Value* cond, BasicBlock* likely, BasicBlock* unlikely) {
  llvm::MDBuilder md(c_);
  b_.CreateCondBr(cond, likely, unlikely, md.createBranchWeights(1000, 1));
}

void Lowerer::go_to(uint64_t pc, Value* done) {
  auto it = block_at_.find(pc);
  if (it == block_at_.end()) {
    jump_exit(c64(pc), done);
    return;
  }
  if (pc == r_.entry) {
    // Back to the entry, which may be a debugger breakpoint (no other block
    // of a region is): that is entering the unit again, which the machine
    // loop allows only where it would chain and no breakpoint is armed
    // (reenter_until is 0 then); elsewhere the loop checks the breakpoint.
    BasicBlock* again = new_bb("reenter");
    BasicBlock* out = new_bb("reenter_exit");
    Value* position = b_.CreateAdd(pos0_, done);
    cond_br_likely(b_.CreateICmpULT(position, hart_load(i64(), o_.layout.reenter_until)), again, out);
    b_.SetInsertPoint(out);
    exit(c64(pc), Flow::kJump, done);
    b_.SetInsertPoint(again);
  }
  b_.CreateStore(done, done_);
  b_.CreateBr(it->second);
}

void Lowerer::exit_if_block_exit(Value* pc, Value* done) {
  if (!block_has_fallback_) return;
  BasicBlock* stay = new_bb("chain");
  BasicBlock* out = new_bb("block_exit");
  cond_br_likely(block_exit_clear(), stay, out);
  b_.SetInsertPoint(out);
  exit(pc, Flow::kJump, done);
  b_.SetInsertPoint(stay);
}

void Lowerer::leave_block(uint64_t pc, Value* done) {
  exit_if_block_exit(c64(pc), done);
  go_to(pc, done);
}

void Lowerer::leave_block_indirect(Value* pc, Value* done) {
  exit_if_block_exit(pc, done);
  if (!o_.optimised) {
    jump_exit(pc, done);
    return;
  }
  // An indirect jump to a block of this region stays inside the unit.
  BasicBlock* out = new_bb("indirect_exit");
  b_.CreateStore(done, done_);
  llvm::SwitchInst* sw = b_.CreateSwitch(pc, out, static_cast<unsigned>(block_at_.size()));
  // Not to the entry: that leaves by the jump exit, which chains back only
  // where the machine loop would (see go_to).
  for (auto [vpc, bb] : block_at_)
    if (vpc != r_.entry) sw->addCase(b_.getInt64(vpc), bb);
  b_.SetInsertPoint(out);
  jump_exit(pc, done);
}

Value* Lowerer::tlb_row(Value* set, AccessType t) {
  Value* row = b_.CreateAdd(b_.CreateMul(set, c64(3)), c64(t));
  return b_.CreateInBoundsGEP(i8(), field(o_.layout.tlb), b_.CreateMul(row, c64(Hart::kTlbSize * sizeof(TlbEntry))));
}

Value* Lowerer::tlb_entry_in(Value* row, Value* va) {
  static_assert(sizeof(TlbEntry) == 16 && offsetof(TlbEntry, addend) == 8);
  Value* index = b_.CreateAnd(b_.CreateLShr(va, kPageShift), Hart::kTlbSize - 1);
  return b_.CreateInBoundsGEP(i8(), row, b_.CreateShl(index, 4));
}

// The blocks of the region that can reach themselves by direct jumps,
// branches and fall-through inside the region.
void Lowerer::find_loops() {
  std::unordered_map<uint64_t, std::vector<uint64_t>> succ;
  for (const RegionBlock& rb : blocks_) direct_successors(specs_, rb.insns, succ[rb.vpc]);
  for (const RegionBlock& rb : blocks_) {
    std::vector<uint64_t> work = succ[rb.vpc];
    std::unordered_set<uint64_t> seen;
    while (!work.empty()) {
      const uint64_t pc = work.back();
      work.pop_back();
      if (pc == rb.vpc) {
        in_loop_.insert(pc);
        break;
      }
      if (!succ.count(pc) || !seen.insert(pc).second) continue;
      for (uint64_t n : succ[pc]) work.push_back(n);
    }
  }
}

// Loads and stores in loops of a tier-2 unit keep the page they last hit
// and that page's TLB addend in SSA values (allocas promoted by SROA,
// carried around the loop), so the next access to the same page needs no
// TLB load: a table lookup whose index depends on the loop's data (CRC32)
// has only the add on its dependency chain. Exact: within one run of a
// unit no translation changes (a page-table store, sfence.vma, a CSR write
// that flushes the TLB or changes the data-TLB set, a device or a trap all
// end the unit, and so does a walk that makes a page a page table, which
// drops the TLB's write entries), and the pair is taken only
// from a TLB hit, so it maps exactly as the TLB does; it starts empty at
// every unit entry.
Value* Lowerer::loop_access(const DecodedInsn& i, AccessType t, unsigned size, BasicBlock*& slow) {
  // One pair per base register and access type, shared by the unit's sites
  // (an unrolled copy loop has dozens of accesses off one or two bases: a
  // pair each would carry dozens of values around the loop, and register
  // allocation time grows with them).
  llvm::AllocaInst*& page = site_page_[t][i.rs1];
  llvm::AllocaInst*& addend = site_addend_[t][i.rs1];
  if (!page) {
    llvm::IRBuilderBase::InsertPointGuard guard(b_);
    b_.SetInsertPoint(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
    page = b_.CreateAlloca(i64(), nullptr, "site_page");
    addend = b_.CreateAlloca(i64(), nullptr, "site_addend");
    b_.SetInsertPoint(fn_->getEntryBlock().getTerminator());
    b_.CreateStore(c64(~0ull), page);  // no virtual page number
    b_.CreateStore(c64(0), addend);
  }
  Value* va = b_.CreateAdd(x(i.rs1), c64(static_cast<uint64_t>(static_cast<int64_t>(i.imm))));
  Value* in_page = b_.CreateICmpULE(b_.CreateAnd(va, kPageSize - 1), c64(kPageSize - size));
  Value* same = b_.CreateAnd(b_.CreateICmpEQ(b_.CreateLShr(va, kPageShift), b_.CreateLoad(i64(), page)), in_page);
  BasicBlock* fast = new_bb("site_hit");
  BasicBlock* lookup = new_bb("site_miss");
  BasicBlock* fill = new_bb("site_fill");
  slow = new_bb(t == kRead ? "load_miss" : "store_miss");
  cond_br_likely(same, fast, lookup);
  b_.SetInsertPoint(lookup);
  Value* e = tlb_entry(va, t);
  cond_br_likely(tlb_hit(e, va, size), fill, slow);
  b_.SetInsertPoint(fill);
  b_.CreateStore(b_.CreateLShr(va, kPageShift), page);
  b_.CreateStore(hart_load(i64(), b_.CreateConstInBoundsGEP1_64(i8(), e, 8)), addend);
  b_.CreateBr(fast);
  b_.SetInsertPoint(fast);
  return b_.CreateIntToPtr(b_.CreateAdd(b_.CreateLoad(i64(), addend), va), b_.getPtrTy());
}

// ---- instructions ----

Next Lowerer::alu(const DecodedInsn& i, AluFn fn, bool imm) {
  Value* y = imm ? c64(static_cast<uint64_t>(static_cast<int64_t>(i.imm))) : x(i.rs2);
  set_x(i.rd, fn(b_, x(i.rs1), y));
  return Next::kContinue;
}

Next Lowerer::lui(const DecodedInsn& i) {
  set_x(i.rd, c64(static_cast<uint64_t>(static_cast<int64_t>(i.imm))));
  return Next::kContinue;
}

Next Lowerer::auipc(const DecodedInsn& i) {
  set_x(i.rd, c64(i.pc + static_cast<uint64_t>(static_cast<int64_t>(i.imm))));
  return Next::kContinue;
}

Next Lowerer::jal(const DecodedInsn& i) {
  set_x(i.rd, c64(i.pc + i.len));
  leave_block(i.pc + static_cast<uint64_t>(static_cast<int64_t>(i.imm)), done_here(1));
  return Next::kDone;
}

Next Lowerer::jalr(const DecodedInsn& i) {
  Value* target =
      b_.CreateAnd(b_.CreateAdd(x(i.rs1), c64(static_cast<uint64_t>(static_cast<int64_t>(i.imm)))),
                   c64(~uint64_t{1}));
  set_x(i.rd, c64(i.pc + i.len));  // after reading rs1: rd may equal rs1
  leave_block_indirect(target, done_here(1));
  return Next::kDone;
}

Next Lowerer::branch(const DecodedInsn& i, llvm::CmpInst::Predicate p) {
  Value* taken = b_.CreateICmp(p, x(i.rs1), x(i.rs2));
  BasicBlock* yes = new_bb("taken");
  BasicBlock* no = new_bb("not_taken");
  b_.CreateCondBr(taken, yes, no);
  b_.SetInsertPoint(yes);
  leave_block(i.pc + static_cast<uint64_t>(static_cast<int64_t>(i.imm)), done_here(1));
  b_.SetInsertPoint(no);
  return Next::kContinue;
}

Lowerer::Access Lowerer::access(const DecodedInsn& i, AccessType t) {
  Value* va = b_.CreateAdd(x(i.rs1), c64(static_cast<uint64_t>(static_cast<int64_t>(i.imm))));
  return {va, tlb_entry(va, t)};
}

// Tier 1 computes the address again in each block of an access (and writes
// rd on each path) so that no value crosses a block boundary; tier 2's CSE
// merges the copies.
Value* Lowerer::hit_path(const DecodedInsn& i, AccessType t, unsigned size, BasicBlock*& slow) {
  if (block_in_loop_) return loop_access(i, t, size, slow);
  const Access a = access(i, t);
  BasicBlock* fast = new_bb(t == kRead ? "load_hit" : "store_hit");
  slow = new_bb(t == kRead ? "load_miss" : "store_miss");
  cond_br_likely(tlb_hit(a.entry, a.va, size), fast, slow);
  b_.SetInsertPoint(fast);
  const Access f = access(i, t);
  return tlb_host(f.entry, f.va);
}

Next Lowerer::load(const DecodedInsn& i, unsigned size, bool sign) {
  llvm::Type* t = b_.getIntNTy(8 * size);
  BasicBlock* join = new_bb("load_done");
  BasicBlock* slow;
  Value* host = hit_path(i, kRead, size, slow);
  Value* raw = in_scope(b_.CreateAlignedLoad(t, host, llvm::Align(1)), false);
  set_x(i.rd, sign ? b_.CreateSExt(raw, i64()) : b_.CreateZExt(raw, i64()));
  b_.CreateBr(join);

  // A miss: hs_jit_load ends the unit itself on a trap or a device read.
  b_.SetInsertPoint(slow);
  const Access m = access(i, kRead);
  set_x(i.rd, slow_path(kHelperLoad, {hart_, insn_here(), m.va, c64(size | (sign ? 0x10 : 0)), position_here()}));
  b_.CreateBr(join);

  b_.SetInsertPoint(join);
  return Next::kContinue;
}

Next Lowerer::store(const DecodedInsn& i, unsigned size) {
  llvm::Type* t = b_.getIntNTy(8 * size);
  BasicBlock* join = new_bb("store_done");
  BasicBlock* slow;
  Value* host = hit_path(i, kWrite, size, slow);
  in_scope(b_.CreateAlignedStore(b_.CreateTrunc(x(i.rs2), t), host, llvm::Align(1)), false);
  b_.CreateBr(join);

  // A miss: hs_jit_store ends the unit itself on a trap, MMIO or a write to
  // a page holding code (maybe this unit's).
  b_.SetInsertPoint(slow);
  const Access m = access(i, kWrite);
  slow_path(kHelperStore, {hart_, insn_here(), m.va, x(i.rs2), c64(size), position_here()});
  b_.CreateBr(join);

  b_.SetInsertPoint(join);
  return Next::kContinue;
}

Next Lowerer::end_block(const DecodedInsn& i) {
  exit(c64(i.pc + i.len), Flow::kEndBlock, done_here(1));
  return Next::kDone;
}

Next Lowerer::fallback(const DecodedInsn& i) {
  block_has_fallback_ = true;
  // Handlers read x[rs1]/x[rs2] from the hart (registers are stored as
  // they are written) and write x[rd] at most.
  Value* flow = call(kHelperExec, i8(), {hart_, insn_here(), position_here()});
  reload_x(i.rd);
  // Any other flow than kNext ends the unit where hs_jit_exec left the hart.
  return_unless_next(flow);
  return Next::kContinue;
}

// ---- the unit ----

void Lowerer::count_run() {
  Value* runs_ptr = unit_field(kUnitRuns);
  Value* runs = b_.CreateAdd(b_.CreateLoad(i64(), runs_ptr), c64(1));
  b_.CreateStore(runs, runs_ptr);
  BasicBlock* promote = new_bb("promote");
  BasicBlock* go = new_bb("counted");
  cond_br_likely(b_.CreateICmpNE(runs, c64(o_.promote_at)), go, promote);
  b_.SetInsertPoint(promote);
  call(kHelperPromote, b_.getVoidTy(), {unit()});
  b_.CreateBr(go);
  b_.SetInsertPoint(go);
}

void Lowerer::lower_block(size_t n) {
  const RegionBlock& rb = blocks_[n];
  b_.SetInsertPoint(block_at_.at(rb.vpc));
  block_has_fallback_ = false;
  block_in_loop_ = o_.optimised && in_loop_.count(rb.vpc) != 0;
  done_blk_ = b_.CreateLoad(i64(), done_);
  k_ = 0;
  // Budget: the whole block must fit, or the interpreter runs it.
  BasicBlock* body = new_bb("body");
  BasicBlock* out = new_bb("budget_exit");
  Value* need = b_.CreateAdd(done_blk_, c64(rb.insns.size()));
  cond_br_likely(b_.CreateICmpULE(need, budget_), body, out);
  b_.SetInsertPoint(out);
  exit(c64(rb.vpc), Flow::kJump, done_blk_);
  b_.SetInsertPoint(body);
  // Runs are counted where they measure how hot the unit is: at its entry
  // and in its loops (a block elsewhere runs at most once per entry). Half
  // the tier-1 blocks are spared two basic blocks and a call.
  if (o_.promote_at && (n == 0 || in_loop_.count(rb.vpc))) count_run();

  const auto& table = lowerings();
  for (const DecodedInsn& i : rb.insns) {
    Next next;
    if (i.spec >= specs_.size()) {
      // Not an instruction: the interpreter raises its trap.
      exit(c64(i.pc), Flow::kJump, done_here(0));
      next = Next::kDone;
    } else if (auto it = table.find(specs_[i.spec].name); it != table.end()) {
      next = it->second(*this, i);
    } else {
      next = fallback(i);
    }
    if (next == Next::kDone) return;
    ++k_;
  }
  const DecodedInsn& last = rb.insns.back();
  leave_block(last.pc + last.len, done_here(0));
}

void Lowerer::lower(const std::string& name) {
  llvm::FunctionType* ft = llvm::FunctionType::get(i8(), {b_.getPtrTy(), i64(), b_.getPtrTy()}, false);
  fn_ = llvm::Function::Create(ft, llvm::Function::ExternalLinkage, name, m_);
  fn_->addFnAttr(llvm::Attribute::NoUnwind);  // never a C++ exception through here
  hart_ = fn_->getArg(0);
  budget_ = fn_->getArg(1);
  unit_ = fn_->getArg(2);
  fn_->addParamAttr(0, llvm::Attribute::NoAlias);

  llvm::MDBuilder md(c_);
  llvm::MDNode* domain = md.createAnonymousAliasScopeDomain("hs");
  hart_scope_ = llvm::MDNode::get(c_, md.createAnonymousAliasScope(domain, "hart"));
  guest_scope_ = llvm::MDNode::get(c_, md.createAnonymousAliasScope(domain, "guest"));

  BasicBlock* entry = new_bb("entry");
  b_.SetInsertPoint(entry);
  std::bitset<32> used;
  for (const RegionBlock& rb : blocks_)
    for (const DecodedInsn& i : rb.insns)
      for (unsigned r : {i.rs1, i.rs2, i.rd})
        if (r > 0 && r < 32 && o_.optimised) used[r] = true;
  for (unsigned r = 1; r < 32; ++r) {
    if (!used[r]) continue;
    regs_[r] = b_.CreateAlloca(i64(), nullptr, "x" + std::to_string(r));
  }
  done_ = b_.CreateAlloca(i64(), nullptr, "done");
  if (o_.optimised) {
    unit_slot_ = b_.CreateAlloca(b_.getPtrTy(), nullptr, "unit");
    b_.CreateStore(unit_, unit_slot_, true);
  }
  for (unsigned r = 1; r < 32; ++r)
    if (used[r]) b_.CreateStore(hart_load(i64(), o_.layout.x + 8 * r), regs_[r]);
  pos0_ = hart_load(i64(), o_.layout.position);
  Value* set = b_.CreateZExt(hart_load(i8(), o_.layout.dtlb), i64());
  for (AccessType t : {kRead, kWrite}) tlb_set_[t] = tlb_row(set, t);
  ins0_ = hart_load(i64(), o_.layout.instret);
  make_exits();
  b_.CreateStore(c64(0), done_);
  for (const RegionBlock& rb : blocks_) block_at_.emplace(rb.vpc, new_bb("block"));
  find_loops();
  b_.CreateBr(block_at_.at(r_.entry));
  for (size_t n = 0; n < blocks_.size(); ++n) {
    lower_block(n);
    insn_base_ += blocks_[n].insns.size();
  }
}

}  // namespace

void lower_region(const Region& r, std::span<const InsnSpec> specs, const LowerOptions& opts,
                  llvm::Module& m, const std::string& name) {
  Lowerer(r, specs, opts, m).lower(name);
}

}  // namespace hs::jit
