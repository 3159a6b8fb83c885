// The LLVM tier: one process-wide engine (ORC LLJIT, a compile thread, the
// code cache) and one JitTier per machine (core/compiled.hpp).
//
// Units are shared by every machine in the process and found again by
// content: a unit is the code of a region, valid wherever the same bytes sit
// at the same virtual address. So a snapshot restore, which drops every
// decoded block, finds its compiled code again at once (reverse execution
// restores often), and so does a second machine (the timeline's scratch
// sessions).
//
// Installation needs no safe point: a unit's `entry` is published with a
// release store once its code is finalised, and replaced the same way when
// the unit is compiled again at tier 2 (the old code stays until eviction).
// Freeing does: when the code cache outgrows its bound, the next safe point
// of the guest thread empties it (all units and their code), and every
// machine detaches its blocks from them at its own next safe point.
//
// Compiled objects also go to the persistent cache (disk_cache.hpp), from
// which a later process loads them instead of compiling: the code holds no
// host address (lower.hpp), and a unit is used wherever the page holds its
// region's code, as in-process reuse does.
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/JITLink/JITLink.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Scalar/DeadStoreElimination.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/GVN.h>
#include <llvm/Transforms/Scalar/LICM.h>
#include <llvm/Transforms/Scalar/LoopPassManager.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <span>
#include <sstream>
#include <unistd.h>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <xxhash.h>

#include <fmt/format.h>

#include "core/block_cache.hpp"
#include "core/decoder.hpp"
#include "core/machine.hpp"
#include "core/user_error.hpp"
#include "jit/disk_cache.hpp"
#include "jit/jit.hpp"
#include "jit/lower.hpp"
#include "jit/region.hpp"

namespace hs::jit {

namespace {

namespace orc = llvm::orc;

// The key a unit's code is found by in later runs (the persistent cache's
// file name): its entry pc and entry block (decoded, as the lowering sees
// it), tier and tier 1's promotion threshold. Regions entered at one pc
// differ from run to run (which successor blocks the block cache holds when
// the entry gets hot depends on the path so far), so any unit entered the
// same way serves, if the page holds its code (Region::matches).
CodeKey entry_key(uint64_t vpc, std::span<const DecodedInsn> block, bool tier2, uint64_t promote_at) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  const uint64_t head[4] = {vpc, block.size(), static_cast<uint64_t>(tier2), tier2 ? 0 : promote_at};
  XXH3_128bits_update(st, head, sizeof head);
  static_assert(offsetof(DecodedInsn, pc) == 8 && offsetof(DecodedInsn, idx) == 29);
  for (const DecodedInsn& i : block) {  // all but the handler and the index
    XXH3_128bits_update(st, reinterpret_cast<const char*>(&i) + 8, 21);
    XXH3_128bits_update(st, &i.spec, sizeof i.spec);
  }
  const XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  return {h.low64, h.high64};
}

// Exactly what a unit's code of a tier is: its region, tier and tier 1's
// promotion threshold.
CodeKey code_key(const Region& r, bool tier2, uint64_t promote_at) {
  const Hash128 k = r.key();
  const uint64_t words[4] = {k.lo, k.hi, static_cast<uint64_t>(tier2), tier2 ? 0 : promote_at};
  const XXH128_hash_t h = XXH3_128bits(words, sizeof words);
  return {h.low64, h.high64};
}

struct Unit;
struct UnitDelete {
  void operator()(Unit* u) const;
};
using UnitPtr = std::unique_ptr<Unit, UnitDelete>;

// Its chain slots (one per Region::targets) follow a unit in memory, at
// kSlotsOffset (LowerOptions::slots_offset): the code finds them with no
// load.
struct Unit : CompiledUnit {
  static UnitPtr make(std::shared_ptr<const Region> r, uint64_t promote_at);
  Unit(std::shared_ptr<const Region> r, uint64_t promote_at) : region(std::move(r)) {
    for (const RegionBlock& b : region->blocks) insn_data.insert(insn_data.end(), b.insns.begin(), b.insns.end());
    insns = insn_data.data();
    for (bool tier2 : {false, true}) {
      code[tier2] = code_key(*region, tier2, promote_at);
      key[tier2] = entry_key(region->entry, region->blocks[0].insns, tier2, promote_at);
    }
  }
  std::shared_ptr<const Region> region;
  CodeKey code[2];  // exactly what its tier-1 and tier-2 code is (region, tier, threshold)
  CodeKey key[2];   // what that code is found by (entry_key)
  std::vector<DecodedInsn> insn_data;  // CompiledUnit::insns: the region's, in block order
  uint64_t runs_queued = 0;  // `runs` when queued for tier 2 (counted by tier-1 code; racy reads elsewhere)
  bool optimised = false;  // the entry is tier-2 code
};

constexpr size_t kSlotsOffset = (sizeof(Unit) + alignof(ChainSlot) - 1) & ~(alignof(ChainSlot) - 1);

UnitPtr Unit::make(std::shared_ptr<const Region> r, uint64_t promote_at) {
  const size_t slots = r->targets.size();
  void* p = ::operator new(kSlotsOffset + slots * sizeof(ChainSlot));
  UnitPtr u(new (p) Unit(std::move(r), promote_at));
  std::uninitialized_default_construct_n(reinterpret_cast<ChainSlot*>(static_cast<char*>(p) + kSlotsOffset), slots);
  return u;
}

void UnitDelete::operator()(Unit* u) const {
  static_assert(std::is_trivially_destructible_v<ChainSlot>);
  u->~Unit();
  ::operator delete(u);
}

// A unit queued for a compile: tier 2 if set; `cached` if the persistent
// cache has its code (the worker loads those first: a load costs a few
// hundredths of a compile).
struct Job {
  Unit* unit;
  bool tier2;
  bool cached;
  std::shared_ptr<const DiskCache::Object> object;  // holding its code, if hot() read it already
};

// Measures the code each unit links to, and with HINDSIGHT_JIT_PERFMAP=1
// writes /tmp/perf-PID.map so that `perf report` names units.
class CodeMapPlugin : public orc::ObjectLinkingLayer::Plugin {
 public:
  explicit CodeMapPlugin(std::atomic<uint64_t>& bytes) : bytes_(bytes) {
    if (const char* v = std::getenv("HINDSIGHT_JIT_PERFMAP"); v && *v == '1')
      map_ = std::fopen(("/tmp/perf-" + std::to_string(getpid()) + ".map").c_str(), "w");
  }
  ~CodeMapPlugin() override {
    if (map_) std::fclose(map_);
  }
  void modifyPassConfig(orc::MaterializationResponsibility&, llvm::jitlink::LinkGraph&,
                        llvm::jitlink::PassConfiguration& config) override {
    config.PostFixupPasses.push_back([this](llvm::jitlink::LinkGraph& g) {
      for (auto& section : g.sections())
        for (auto* block : section.blocks()) bytes_ += block->getSize();
      if (map_) {
        for (auto* sym : g.defined_symbols())
          if (sym->isCallable() && sym->hasName())
            std::fprintf(map_, "%llx %llx %s\n",
                         static_cast<unsigned long long>(sym->getAddress().getValue()),
                         static_cast<unsigned long long>(sym->getSize()), sym->getName().str().c_str());
        std::fflush(map_);
      }
      return llvm::Error::success();
    });
  }
  llvm::Error notifyFailed(orc::MaterializationResponsibility&) override { return llvm::Error::success(); }
  llvm::Error notifyRemovingResources(orc::JITDylib&, orc::ResourceKey) override {
    return llvm::Error::success();
  }
  void notifyTransferringResources(orc::JITDylib&, orc::ResourceKey, orc::ResourceKey) override {}

 private:
  std::atomic<uint64_t>& bytes_;
  std::FILE* map_ = nullptr;
};

class Engine {
 public:
  explicit Engine(const Options& o);
  ~Engine();

  const Options& options() const { return options_; }
  CompiledUnit* hot(Hart& hart, BlockCache& cache, Block& b);
  // kHelperPromote: tier-1 code asks for its unit's tier-2 code.
  static void promote(CompiledUnit* unit);
  // Empties the code cache if it outgrew its bound. Returns the epoch, which
  // changes with every eviction.
  uint64_t maybe_evict();
  Stats stats();
  bool shutdown();
  void set_options(const Options& o) { options_ = o; }

 private:
  static uint64_t pending(const Job& job);
  // Compiles the units into one LLVM module (their code is published once
  // all of it is linked); if that fails, each on its own.
  static constexpr size_t kBatch = 8;  // tier-1 units per module at most
  // A tier-1 compile makes the unit's runs about 5 times faster than the
  // interpreter; a tier-2 compile makes tier-1 code 2-3 times faster but
  // costs about 20 times as much per instruction (Linux boot: 24 vs 470 us
  // per guest instruction). Per second of compile thread, a pending tier-1
  // run is worth about a hundred pending tier-2 runs; ranking them 1:1 let
  // tier 2 take 80% of the thread during a boot while warm code waited.
  static constexpr uint64_t kTier2Weight = 100;
  // Gives each unit its code of that tier: from this process, the
  // persistent cache, or compiled (in one module, else each on its own).
  void compile(std::span<Unit* const> units, bool tier2, const DiskCache::Object* object = nullptr);
  void compile(Unit& u, bool tier2) {
    Unit* one[] = {&u};
    compile(one, tier2);
  }
  // Compiles a batch; false with the error if it fails as a whole.
  bool compile_module(std::span<Unit* const> units, bool tier2, std::string& error);
  // Links an object's units (code_mu_ held; `regions` parallel to its
  // members, null: read from the object); false with the error if that
  // fails. Its units' entries go to loaded_.
  bool link(const DiskCache::Object& o, std::vector<std::shared_ptr<const Region>> regions, std::string& error);
  // The unit's exact code of that tier from loaded_, else from `object` or
  // the persistent cache.
  bool load(Unit& u, bool tier2, const DiskCache::Object* object = nullptr);
  // Code for a new unit entered at block `b` from loaded_ or the persistent
  // cache, of either tier, if the page holds the code of its region.
  Unit* from_cache(BlockCache& cache, Block& b, const uint8_t* page_host);
  Unit* add_unit(std::shared_ptr<const Region> r);
  // The region a cache file keeps for member `m`; null if it does not read.
  std::shared_ptr<const Region> member_region(const DiskCache::Member& m) const;
  // Publishes the linked code exactly of the unit's region, if any.
  bool publish_linked(Unit& u, bool tier2);
  // Sets the unit's entry (cache_mu_ held).
  void publish(Unit& u, UnitEntry entry, bool tier2, bool from_disk);
  uint64_t promote_at() const { return options_.mode == Mode::kAsync ? options_.promote_at : 0; }
  void optimise(llvm::Module& m, bool tier2);
  // Tier 2's IR passes, built once (used under code_mu_): building O2's
  // pipeline and analysis managers for every unit cost 2 ms a unit.
  struct Optimiser {
    Optimiser();
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb;
    llvm::FunctionPassManager fpm;
  };
  std::unique_ptr<Optimiser> optimiser_;
  static void dump(const llvm::Module& m, const std::string& name, bool tier2);
  void worker();
  void enqueue(Unit& u, bool tier2, std::shared_ptr<const DiskCache::Object> object = nullptr);

  Options options_;
  std::unique_ptr<DiskCache> disk_;
  Decoder decoder_;  // the instruction table the regions' spec ids index
  HartLayout layout_{};
  bool have_layout_ = false;
  std::unique_ptr<orc::LLJIT> jit_;
  orc::ResourceTrackerSP tracker_;
  // Tier 1: no codegen optimisation; tier 2: the default level.
  std::unique_ptr<llvm::TargetMachine> fast_, optimised_;

  std::mutex cache_mu_;  // units_, stats_ (short holds only)
  std::unordered_map<uint64_t, std::vector<UnitPtr>> units_;
  // Every linked unit's code by entry key (a batch's other members come
  // with the one asked for), with the region it was compiled from.
  struct Loaded {
    UnitEntry entry;
    CodeKey code;
    std::shared_ptr<const Region> region;
    bool from_disk;  // the persistent cache's code (Stats::loaded)
  };
  std::unordered_map<CodeKey, std::vector<Loaded>, Hash128Hasher> loaded_;  // by entry key
  Stats stats_;
  std::atomic<uint64_t> code_bytes_{0};
  std::atomic<uint64_t> epoch_{0};

  std::mutex code_mu_;  // LLJIT additions and removals, the target machines, linked_
  std::unordered_set<CodeKey, Hash128Hasher> linked_;  // objects linked (DiskCache::object_id)
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  // Units waiting for a compile (tier 2 if the flag is set); the worker
  // takes the one with the most runs since it was queued (pending()).
  std::vector<Job> queue_;
  bool stop_ = false;
  bool busy_ = false;  // the worker is compiling (queue_mu_)
  std::thread thread_;
};

// The host CPU and LLVM: what the code depends on besides this executable.
std::string code_version(const orc::JITTargetMachineBuilder& jtmb) {
  return fmt::format("llvm {} {} {} {}", LLVM_VERSION_STRING, jtmb.getTargetTriple().str(), jtmb.getCPU(),
                     jtmb.getFeatures().getString());
}

Engine* g_engine = nullptr;

Engine::Engine(const Options& o) : options_(o) {
  // HINDSIGHT_LLVM_ARGS passes options to LLVM (debugging), e.g.
  // "-fast-isel-report-on-fallback" (warnings are printed with it set).
  if (const char* args = std::getenv("HINDSIGHT_LLVM_ARGS")) {
    std::vector<std::string> words{"hindsight"};
    std::istringstream in(args);
    for (std::string w; in >> w;) words.push_back(w);
    std::vector<const char*> argv;
    for (auto& w : words) argv.push_back(w.c_str());
    llvm::cl::ParseCommandLineOptions(static_cast<int>(argv.size()), argv.data());
  }
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto jtmb = llvm::cantFail(orc::JITTargetMachineBuilder::detectHost());
  disk_ = std::make_unique<DiskCache>(o.disk_cache, code_version(jtmb), o.disk_cache_bytes);
  jit_ = llvm::cantFail(
      orc::LLJITBuilder()
          .setJITTargetMachineBuilder(jtmb)
          .setObjectLinkingLayerCreator(
              [this](orc::ExecutionSession& es, const llvm::Triple&)
                  -> llvm::Expected<std::unique_ptr<orc::ObjectLayer>> {
                auto layer = std::make_unique<orc::ObjectLinkingLayer>(es);
                layer->addPlugin(std::make_unique<CodeMapPlugin>(code_bytes_));
                return layer;
              })
          .create());
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::None);
  fast_ = llvm::cantFail(jtmb.createTargetMachine());
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Default);
  optimised_ = llvm::cantFail(jtmb.createTargetMachine());
  tracker_ = jit_->getMainJITDylib().createResourceTracker();
  // Listing the cache takes milliseconds: off the guest thread, unless
  // every unit is to be compiled (or loaded) before it runs.
  if (options_.mode == Mode::kSync) disk_->open();
  thread_ = std::thread([this] {
    disk_->open();
    worker();
  });
}

Engine::~Engine() {
  {
    std::lock_guard lock(queue_mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Engine::shutdown() {
  bool idle;
  {
    std::lock_guard lock(queue_mu_);
    stop_ = true;
    queue_.clear();
    idle = !busy_;
  }
  queue_cv_.notify_all();
  if (!idle) return false;
  thread_.join();
  return true;
}

CompiledUnit* Engine::hot(Hart& hart, BlockCache& cache, Block& b) {
  if (!have_layout_) {
    layout_ = hart.layout();
    have_layout_ = true;
  }
  const auto* page_host = reinterpret_cast<const uint8_t*>(b.host - (b.vpc & (kPageSize - 1)));
  {
    std::unique_lock lock(cache_mu_);
    if (auto it = units_.find(b.vpc); it != units_.end()) {
      for (auto& u : it->second) {
        if (u->region->matches(cache, page_host)) {
          ++stats_.reused;
          if (options_.mode == Mode::kSync && options_.sync_optimised && !u->optimised) {
            lock.unlock();
            compile(*u, true);
          }
          return u.get();
        }
      }
    }
  }
  if (!can_start_region(hart, cache, decoder_, b)) return nullptr;
  if (Unit* u = from_cache(cache, b, page_host)) return u;
  Region r = form_region(hart, cache, decoder_, b);
  Unit* u = add_unit(std::make_shared<const Region>(std::move(r)));
  if (options_.mode == Mode::kSync)
    compile(*u, options_.sync_optimised);
  else
    enqueue(*u, false);
  return u;
}

Unit* Engine::add_unit(std::shared_ptr<const Region> r) {
  UnitPtr owned = Unit::make(std::move(r), promote_at());
  Unit* u = owned.get();
  std::lock_guard lock(cache_mu_);
  units_[u->region->entry].push_back(std::move(owned));
  return u;
}

std::shared_ptr<const Region> Engine::member_region(const DiskCache::Member& m) const {
  size_t at = 0;
  auto r = Region::load(m.region, at, decoder_.specs());
  if (!r || at != m.region.size()) return nullptr;
  return std::make_shared<const Region>(std::move(*r));
}

void Engine::publish(Unit& u, UnitEntry entry, bool tier2, bool from_disk) {
  u.entry.store(entry, std::memory_order_release);
  u.optimised = tier2;
  stats_.loaded += from_disk;
}

Unit* Engine::from_cache(BlockCache& cache, Block& b, const uint8_t* page_host) {
  // Tier 2 first: a warm start runs optimised code from the beginning.
  // Synchronous mode compiles one tier only (the tests choose which).
  std::vector<bool> tiers{true, false};
  if (options_.mode == Mode::kSync) tiers = {options_.sync_optimised};
  const std::span<const DecodedInsn> block(b.insns, b.count);
  const CodeKey keys[2] = {entry_key(b.vpc, block, false, promote_at()), entry_key(b.vpc, block, true, promote_at())};
  for (bool tier2 : tiers) {
    std::unique_lock lock(cache_mu_);
    auto it = loaded_.find(keys[tier2]);
    if (it == loaded_.end()) continue;
    for (const Loaded& l : it->second) {
      if (!l.region->matches(cache, page_host)) continue;
      lock.unlock();
      Unit* u = add_unit(l.region);
      lock.lock();
      publish(*u, l.entry, tier2, l.from_disk);
      lock.unlock();
      if (!tier2 && options_.mode == Mode::kAsync && disk_->has(u->key[1])) enqueue(*u, true);
      return u;
    }
  }
  for (bool tier2 : tiers) {
    const CodeKey& key = keys[tier2];
    if (!disk_->has(key)) continue;
    auto o = disk_->load(key);
    if (!o) continue;
    auto object = std::make_shared<const DiskCache::Object>(std::move(*o));
    for (const DiskCache::Member& m : object->members) {
      if (m.key != key) continue;
      auto r = member_region(m);
      // Not this page's code, or not the code of this region (a damaged
      // file): compiled afresh.
      if (!r || r->entry != b.vpc || !r->matches(cache, page_host) || code_key(*r, tier2, promote_at()) != m.code)
        break;
      Unit* u = add_unit(std::move(r));
      if (options_.mode == Mode::kSync)
        compile(*u, tier2);
      else
        enqueue(*u, tier2, std::move(object));
      return u;
    }
  }
  return nullptr;
}

void Engine::enqueue(Unit& u, bool tier2, std::shared_ptr<const DiskCache::Object> object) {
  const bool cached = object || disk_->has(u.key[tier2]);
  {
    std::lock_guard lock(queue_mu_);
    if (tier2) u.runs_queued = u.runs;
    queue_.push_back({&u, tier2, cached, std::move(object)});
  }
  queue_cv_.notify_one();
}

// What compiling the job is worth: the runs the unit made since it was
// queued (interpreted while waiting for tier 1, tier-1 code waiting for tier
// 2), tier-2 runs divided by kTier2Weight. The guest thread updates both
// counters without locks: these reads only steer the order of compiles.
uint64_t Engine::pending(const Job& job) {
  Unit& u = *job.unit;
  if (!job.tier2) return u.waiting.load(std::memory_order_relaxed);
  return (std::atomic_ref<uint64_t>(u.runs).load(std::memory_order_relaxed) - u.runs_queued) /
         kTier2Weight;
}

void Engine::promote(CompiledUnit* unit) {
  // Called from tier-1 code on the guest thread: only queue the work.
  g_engine->enqueue(*static_cast<Unit*>(unit), true);
}

void Engine::worker() {
  std::vector<Unit*> batch;
  std::shared_ptr<const DiskCache::Object> object;
  std::vector<std::pair<uint64_t, size_t>> ranked;  // (pending, queue index)
  for (;;) {
    bool tier2;
    {
      std::unique_lock lock(queue_mu_);
      object.reset();
      queue_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      // The job waited for most, and with a tier-1 job the next kBatch - 1
      // tier-1 jobs (each module has a fixed cost of about half a
      // millisecond, a quarter of an average tier-1 unit's). The counts
      // move under us: rank a snapshot of them.
      ranked.clear();
      // Loads from the persistent cache first, in the order asked for.
      auto cached = std::find_if(queue_.begin(), queue_.end(), [](const Job& j) { return j.cached; });
      if (cached != queue_.end()) {
        tier2 = cached->tier2;
        batch.assign(1, cached->unit);
        object = std::move(cached->object);
        queue_.erase(cached);
      } else {
        for (size_t k = 0; k < queue_.size(); ++k) ranked.emplace_back(pending(queue_[k]), k);
        const size_t best = std::max_element(ranked.begin(), ranked.end())->second;
        tier2 = queue_[best].tier2;
        batch.assign(1, queue_[best].unit);
        queue_[best].unit = nullptr;
        if (!tier2) {
          std::erase_if(ranked, [&](const auto& r) { return queue_[r.second].tier2 || r.second == best; });
          const size_t more = std::min(ranked.size(), kBatch - 1);
          std::partial_sort(ranked.begin(), ranked.begin() + more, ranked.end(), std::greater<>());
          for (size_t k = 0; k < more; ++k) {
            batch.push_back(queue_[ranked[k].second].unit);
            queue_[ranked[k].second].unit = nullptr;
          }
        }
        std::erase_if(queue_, [](const Job& job) { return job.unit == nullptr; });
      }
      busy_ = true;
    }
    compile(batch, tier2, object.get());
    std::lock_guard lock(queue_mu_);
    busy_ = false;
  }
}

Engine::Optimiser::Optimiser() {
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  // A short pipeline instead of O2's function simplification (which took
  // 16 ms per Linux unit against 10 here, for no speed on the Linux
  // workload and 1% on bench-cpu): registers to SSA, redundant hart and TLB
  // loads removed (EarlyCSE, GVN), loop-invariant TLB lookups hoisted
  // (LICM), overwritten register write-throughs dropped (DSE).
  fpm.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
  fpm.addPass(llvm::EarlyCSEPass(/*UseMemorySSA=*/true));
  fpm.addPass(llvm::InstCombinePass());
  fpm.addPass(llvm::SimplifyCFGPass());
  llvm::LoopPassManager lpm;
  lpm.addPass(llvm::LICMPass(llvm::LICMOptions()));
  fpm.addPass(llvm::createFunctionToLoopPassAdaptor(std::move(lpm), /*UseMemorySSA=*/true));
  fpm.addPass(llvm::GVNPass());
  fpm.addPass(llvm::DSEPass());
  fpm.addPass(llvm::InstCombinePass());
  fpm.addPass(llvm::SimplifyCFGPass());
}

void Engine::optimise(llvm::Module& m, bool tier2) {
  // Tier 1 runs no IR passes: the lowering already keeps every value inside
  // its basic block (guest registers are read from the hart), which is what
  // fast instruction selection and register allocation handle well. CSE
  // would hoist hart field addresses into the entry block, to be spilled.
  if (!tier2) return;
  if (!optimiser_) optimiser_ = std::make_unique<Optimiser>();
  for (llvm::Function& f : m)
    if (!f.isDeclaration()) optimiser_->fpm.run(f, optimiser_->fam);
  optimiser_->fam.clear();
  optimiser_->mam.clear();
}

// HINDSIGHT_JIT_DUMP=DIR writes every unit's optimised IR to DIR (debugging).
void Engine::dump(const llvm::Module& m, const std::string& name, bool tier2) {
  static const char* dir = std::getenv("HINDSIGHT_JIT_DUMP");
  if (!dir) return;
  std::error_code ec;
  llvm::raw_fd_ostream out(std::string(dir) + "/" + name + (tier2 ? ".o2.ll" : ".ll"), ec);
  if (!ec) m.print(out, nullptr);
}

bool Engine::publish_linked(Unit& u, bool tier2) {
  std::lock_guard lock(cache_mu_);
  if (auto it = loaded_.find(u.key[tier2]); it != loaded_.end())
    for (const Loaded& l : it->second)
      if (l.code == u.code[tier2]) {
        publish(u, l.entry, tier2, l.from_disk);
        return true;
      }
  return false;
}

bool Engine::load(Unit& u, bool tier2, const DiskCache::Object* object) {
  if (publish_linked(u, tier2)) return true;
  std::optional<DiskCache::Object> read;
  if (!object) {
    read = disk_->load(u.key[tier2]);
    if (!read) return false;
    object = &*read;
  }
  std::string error;
  {
    std::lock_guard code_lock(code_mu_);
    if (linked_.count(object->id)) return publish_linked(u, tier2);
    if (!link(*object, {}, error)) {
      std::fprintf(stderr, "hindsight: jit: code cache object for 0x%llx not linked, compiling instead: %s\n",
                   static_cast<unsigned long long>(u.region->entry), error.c_str());
      return false;
    }
  }
  return publish_linked(u, tier2);
}

bool Engine::link(const DiskCache::Object& o, std::vector<std::shared_ptr<const Region>> regions,
                  std::string& error) {
  linked_.insert(o.id);  // once: a second copy's symbols would clash
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(o.bytes.data(), o.bytes.size()),
                                                     o.id.to_string());
  if (llvm::Error err = jit_->addObjectFile(tracker_, std::move(buffer))) {
    error = llvm::toString(std::move(err));
    return false;
  }
  const bool from_disk = regions.empty();
  regions.resize(o.members.size());
  std::vector<UnitEntry> entries;
  for (size_t k = 0; k < o.members.size(); ++k) {
    const DiskCache::Member& m = o.members[k];
    auto sym = jit_->lookup(m.symbol);
    if (!sym) {
      error = llvm::toString(sym.takeError());
      return false;
    }
    entries.push_back(sym->toPtr<UnitEntry>());
    if (!regions[k]) regions[k] = member_region(m);
  }
  std::lock_guard lock(cache_mu_);
  for (size_t k = 0; k < entries.size(); ++k)
    if (regions[k])  // (a member whose region does not read is never used)
      loaded_[o.members[k].key].push_back({entries[k], o.members[k].code, regions[k], from_disk});
  return true;
}

void Engine::compile(std::span<Unit* const> all, bool tier2, const DiskCache::Object* object) {
  std::vector<Unit*> units;
  for (Unit* u : all)
    if (!load(*u, tier2, object)) units.push_back(u);
  if (units.empty()) return;
  const auto started = std::chrono::steady_clock::now();
  std::string error;
  bool ok = compile_module(units, tier2, error);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!ok && units.size() > 1) {
    {
      std::lock_guard lock(cache_mu_);
      stats_.compile_seconds += seconds;  // the failed batch's time counts too
    }
    for (Unit* u : units) compile(*u, tier2);
    return;
  }
  static const bool log = std::getenv("HINDSIGHT_JIT_LOG") != nullptr;
  if (log) {
    size_t blocks = 0, insns = 0;
    for (Unit* u : units) {
      blocks += u->region->blocks.size();
      insns += u->region->instructions();
    }
    std::fprintf(stderr, "hindsight: jit: %zu unit(s) tier %d 0x%llx %zu blocks %zu insns %.1f ms\n", units.size(),
                 tier2 ? 2 : 1, static_cast<unsigned long long>(units[0]->region->entry), blocks, insns,
                 seconds * 1e3);
  }
  std::lock_guard lock(cache_mu_);
  stats_.compile_seconds += seconds;
  if (!ok) {
    ++stats_.failed;
    std::fprintf(stderr, "hindsight: jit: unit at 0x%llx not compiled, interpreted instead: %s\n",
                 static_cast<unsigned long long>(units[0]->region->entry), error.c_str());
  } else if (tier2) {
    stats_.promoted += units.size();
  } else {
    stats_.units += units.size();
  }
}

bool Engine::compile_module(std::span<Unit* const> units, bool tier2, std::string& error) {
  std::lock_guard code_lock(code_mu_);
  auto ctx = std::make_unique<llvm::LLVMContext>();
  // LLVM reports some code generation failures as diagnostics and carries
  // on: such a unit is never published.
  std::string diagnostics;
  ctx->setDiagnosticHandlerCallBack(
      [](const llvm::DiagnosticInfo* d, void* out) {
        static const bool verbose = std::getenv("HINDSIGHT_LLVM_ARGS") != nullptr;
        if (d->getSeverity() != llvm::DS_Error) {
          if (verbose) {
            llvm::DiagnosticPrinterRawOStream p(llvm::errs());
            d->print(p);
            llvm::errs() << "\n";
          }
          return;
        }
        llvm::raw_string_ostream os(*static_cast<std::string*>(out));
        llvm::DiagnosticPrinterRawOStream printer(os);
        d->print(printer);
      },
      &diagnostics);
  auto m = std::make_unique<llvm::Module>("hs_unit", *ctx);
  m->setDataLayout(jit_->getDataLayout());
  m->setTargetTriple(jit_->getTargetTriple().str());
  DiskCache::Object o;
  std::vector<std::shared_ptr<const Region>> regions;
  for (Unit* u : units) {
    o.members.push_back({u->key[tier2], u->code[tier2], {}, {}});
    u->region->save(o.members.back().region);
    regions.push_back(u->region);
  }
  o.id = DiskCache::object_id(o.members);
  for (size_t k = 0; k < units.size(); ++k) {
    Unit* u = units[k];
    // Tier and guest entry pc (perf's map, HINDSIGHT_JIT_PERFMAP, names
    // units by them), then what makes the name unique in any process that
    // links the object: its id and the unit's place in it.
    o.members[k].symbol = fmt::format("hs_t{}_{:x}_{}_{}", tier2 ? 2 : 1, u->region->entry, o.id.to_string().substr(0, 16), k);
    LowerOptions lo;
    lo.layout = layout_;
    lo.optimised = tier2;
    lo.slots_offset = kSlotsOffset;
    if (!tier2 && options_.mode == Mode::kAsync) lo.promote_at = options_.promote_at;
    lower_region(*u->region, decoder_.specs(), lo, *m, o.members[k].symbol);
  }
  // The IR verifier runs in synchronous mode, which the tests and the
  // differential fuzzer use: it took 8 % of the compile thread, and the
  // lowering builds the same IR shapes whichever guest code it is given.
  llvm::raw_string_ostream os(error);
  if (options_.mode == Mode::kSync && llvm::verifyModule(*m, &os)) return false;
  optimise(*m, tier2);
  dump(*m, o.members.front().symbol, tier2);
  auto object = orc::SimpleCompiler(tier2 ? *optimised_ : *fast_)(*m);
  if (!object) {
    error = llvm::toString(object.takeError());
    return false;
  }
  if (!diagnostics.empty()) {
    error = diagnostics;
    return false;
  }
  o.bytes.assign((*object)->getBufferStart(), (*object)->getBufferEnd());
  if (!link(o, regions, error)) return false;
  for (Unit* u : units)
    if (!publish_linked(*u, tier2)) return false;
  disk_->store(o);
  return true;
}

uint64_t Engine::maybe_evict() {
  if (code_bytes_.load(std::memory_order_relaxed) <= options_.cache_bytes) return epoch_;
  // The compile thread may be mid-unit: evict at a later safe point then.
  std::unique_lock code_lock(code_mu_, std::try_to_lock);
  if (!code_lock.owns_lock()) return epoch_;
  {
    std::lock_guard lock(queue_mu_);
    queue_.clear();
  }
  llvm::cantFail(tracker_->remove());
  tracker_ = jit_->getMainJITDylib().createResourceTracker();
  linked_.clear();
  {
    std::lock_guard lock(cache_mu_);
    units_.clear();
    loaded_.clear();
    ++stats_.evictions;
  }
  code_bytes_ = 0;
  return ++epoch_;
}

Stats Engine::stats() {
  std::lock_guard lock(cache_mu_);
  Stats s = stats_;
  s.code_bytes = code_bytes_;
  return s;
}

// One machine's view of the engine.
class JitTier : public CompiledTier {
 public:
  JitTier(Engine& e, Machine& m) : e_(e), epoch_(e.maybe_evict()) {
    m.hart().jit_helpers[kHelperPromote] = reinterpret_cast<const void*>(&Engine::promote);
  }
  uint32_t threshold() const override {
    return e_.options().mode == Mode::kSync ? 0 : e_.options().threshold;
  }
  CompiledUnit* hot(Hart& hart, BlockCache& cache, Block& b) override { return e_.hot(hart, cache, b); }
  bool safe_point() override {
    const uint64_t now = e_.maybe_evict();
    if (now == epoch_) return false;
    epoch_ = now;
    return true;
  }

 private:
  Engine& e_;
  uint64_t epoch_;
};

}  // namespace

Mode parse_mode(const std::string& s) {
  if (s == "on") return Mode::kAsync;
  if (s == "off") return Mode::kOff;
  if (s == "sync") return Mode::kSync;
  throw UserError("--jit " + s + ": expected on, off or sync");
}

Mode mode_from_env(Mode fallback) {
  const char* v = std::getenv("HINDSIGHT_JIT");
  return v && *v ? parse_mode(v) : fallback;
}

std::string default_disk_cache() {
  if (const char* v = std::getenv("HINDSIGHT_JIT_CACHE")) return std::string(v) == "off" ? "" : v;
  if (const char* v = std::getenv("XDG_CACHE_HOME"); v && *v) return std::string(v) + "/hindsight/jit";
  if (const char* v = std::getenv("HOME"); v && *v) return std::string(v) + "/.cache/hindsight/jit";
  return "";
}

void tune_from_env(Options& o) {
  if (const char* v = std::getenv("HINDSIGHT_JIT_THRESHOLD")) o.threshold = static_cast<uint32_t>(std::strtoul(v, nullptr, 0));
  if (const char* v = std::getenv("HINDSIGHT_JIT_PROMOTE")) o.promote_at = std::strtoull(v, nullptr, 0);
}

void enable(const Options& options) {
  if (options.mode == Mode::kOff) {
    set_tier_factory(nullptr);
    return;
  }
  static std::unique_ptr<Engine> engine;
  if (!engine) {
    engine = std::make_unique<Engine>(options);
    g_engine = engine.get();
  } else {
    engine->set_options(options);
  }
  set_tier_factory([e = engine.get()](Machine& m) { return std::make_unique<JitTier>(*e, m); });
}

Stats stats() { return g_engine ? g_engine->stats() : Stats{}; }

bool shutdown() { return !g_engine || g_engine->shutdown(); }

}  // namespace hs::jit
