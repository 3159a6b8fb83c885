// Snapshot capture/restore (snapshot/snapshot) and the state hash
// (snapshot/state_hash) on a real virt board running a small guest loop.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/isa/isa_util.hpp"
#include "core/machine.hpp"
#include "devices/virt.hpp"
#include "devices/virtio_blk.hpp"
#include "schemas/framing.hpp"
#include "snapshot/snapshot.hpp"
#include "snapshot/state_hash.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace hs;
using hs::test::TempDir;
using hs::test::read_file;
using hs::test::write_file;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kRamBase = VirtBoard::kRamBase;
constexpr uint64_t kDataBase = kRamBase + 0x10000;  // where the guest loop stores

// Register numbers.
enum : unsigned {
  T0 = 5,
  T1 = 6,
  T2 = 7,
  S1 = 9,
  A0 = 10,
  A1 = 11,
  A2 = 12,
  S2 = 18,
  S3 = 19,
  S4 = 20,
  T3 = 28,
  T4 = 29,
  T5 = 30,
  T6 = 31
};


struct FakeInput : HostInput {
  size_t console(std::span<uint8_t>) override { return 0; }
  uint64_t wall_clock_ns() override { return 1'700'000'000'000'000'000ull; }
  void entropy(std::span<uint8_t> out) override { std::fill(out.begin(), out.end(), 0x5a); }
};

// M-mode guest: arms the CLINT timer, then loops reading mtime and storing
// it into a 32 KiB ring at kDataBase, and adding the loop count to a
// counter at kDataBase + 0x9000 with an AMO (the AMO slow path must mark its
// page dirty); each timer interrupt re-arms the timer 37 ticks later, counts
// itself in s1 and prints a byte on the UART.
std::vector<uint32_t> guest_program() {
  using namespace isa;
  std::vector<uint32_t> p;
  auto emit = [&p](uint32_t w) { p.push_back(w); };
  emit(encode_u(op::kAuipc, S2, 0x10000));  // s2 = kDataBase (first instruction)
  emit(encode_u(op::kLui, S3, 0x8000));
  emit(encode_i(op::kOpImm, S3, 0, S3, -8));  // s3 = 0x7ff8 (ring mask)
  emit(encode_u(op::kLui, S4, 0x9000));
  emit(encode_r(op::kOp, S4, 0, S2, S4, 0));  // s4 = kDataBase + 0x9000 (AMO counter)
  emit(encode_u(op::kLui, T1, 0x200c000));
  emit(encode_i(op::kOpImm, T1, 0, T1, -8));  // t1 = &mtime
  emit(encode_u(op::kLui, T3, 0x2004000));    // t3 = &mtimecmp
  emit(encode_i(op::kLoad, A2, 3, T1, 0));
  emit(encode_i(op::kOpImm, A2, 0, A2, 50));
  emit(encode_s(op::kStore, 3, T3, A2, 0));  // mtimecmp = mtime + 50
  const size_t mtvec_at = p.size();
  emit(0);                                       // auipc t6, 0           (patched below)
  emit(0);                                       // addi t6, t6, handler
  emit(encode_i(op::kSystem, 0, 1, T6, 0x305));  // csrw mtvec, t6
  emit(encode_i(op::kOpImm, T6, 0, 0, 0x80));
  emit(encode_i(op::kSystem, 0, 1, T6, 0x304));  // csrw mie, t6 (MTIE)
  emit(encode_i(op::kSystem, 0, 6, 8, 0x300));   // csrsi mstatus, 8 (MIE)
  const size_t loop = p.size();
  emit(encode_i(op::kLoad, A0, 3, T1, 0));    // a0 = mtime
  emit(encode_r(op::kOp, T5, 0, S2, T4, 0));  // t5 = s2 + t4
  emit(encode_s(op::kStore, 3, T5, A0, 0));   // *t5 = a0
  emit(encode_i(op::kOpImm, T4, 0, T4, 8));
  emit(encode_r(op::kOp, T4, 7, T4, S3, 0));  // t4 &= 0x7ff8
  emit(encode_i(op::kOpImm, T2, 0, T2, 1));
  emit(encode_r(op::kAmo, 0, 3, S4, T2, 0));  // amoadd.d x0, t2, (s4)
  emit(encode_j(op::kJal, 0, static_cast<int32_t>(loop - p.size()) * 4));
  const size_t handler = p.size();
  emit(encode_i(op::kOpImm, S1, 0, S1, 1));
  emit(encode_i(op::kLoad, A2, 3, T3, 0));
  emit(encode_i(op::kOpImm, A2, 0, A2, 37));
  emit(encode_s(op::kStore, 3, T3, A2, 0));  // mtimecmp += 37
  emit(encode_u(op::kLui, T0, 0x10000000));
  emit(encode_i(op::kOpImm, A1, 0, S1, 'a'));
  emit(encode_s(op::kStore, 0, T0, A1, 0));  // UART THR = 'a' + s1
  emit(0x30200073);                          // mret
  p[mtvec_at] = encode_u(op::kAuipc, T6, 0);
  p[mtvec_at + 1] = encode_i(op::kOpImm, T6, 0, T6, static_cast<int32_t>(handler - mtvec_at) * 4);
  return p;
}

VirtConfig small_config(uint64_t ram = 16ull << 20) {
  VirtConfig cfg;
  cfg.ram_size = ram;
  return cfg;
}

// A machine and board; the guest is loaded only by load_guest(), so a rig
// that will receive a restore starts as empty as a fresh process.
struct Rig {
  FakeInput input;
  Machine m;
  VirtBoard board;
  std::string tx;  // UART output

  explicit Rig(const VirtConfig& cfg = small_config()) : board(m, cfg, input) {
    board.uart().on_tx = [this](uint8_t b) { tx.push_back(static_cast<char>(b)); };
  }
  void load_guest() {
    const std::vector<uint32_t> prog = guest_program();
    REQUIRE(m.bus().write_bytes(PAddr{kRamBase},
                                {reinterpret_cast<const uint8_t*>(prog.data()), prog.size() * 4}));
    board.setup_reset_vector(kRamBase, 0, 0);
  }
  void run(uint64_t n) { REQUIRE(m.run(m.position() + n) == StopReason::kTarget); }
  Hash128 hash() { return full_state_hash(m, board); }
  uint64_t read64(uint64_t pa) {
    uint64_t v = 0;
    REQUIRE(m.bus().read(PAddr{pa}, 8, v));
    return v;
  }
  Disk& disk(unsigned i = 0) {
    return dynamic_cast<VirtioBlk&>(*board.virtio(VirtBoard::virtio_slot(i)).device()).disk();
  }
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 13 + seed + (i >> 10));
  return v;
}

void flip_byte(const std::string& path, uint64_t offset) {
  const int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  uint8_t b;
  REQUIRE(::pread(fd, &b, 1, static_cast<off_t>(offset)) == 1);
  b ^= 0x10;
  REQUIRE(::pwrite(fd, &b, 1, static_cast<off_t>(offset)) == 1);
  ::close(fd);
}

bool mentions(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("a restored snapshot runs on bit for bit") {
  TempDir dir;
  SnapshotStore store = SnapshotStore::create(dir.path.string());
  Rig a;
  a.load_guest();
  a.run(10'000);
  const SnapshotInfo info = store.capture(a.m, a.board, 42);
  CHECK(info.position == Position{10'000});
  CHECK(info.instret == a.m.hart().instret);
  CHECK(info.journal_cursor == 42);
  CHECK(info.file == (dir.path / "snapshots" / "00000000000000010000.snap").string());
  CHECK(fs::exists(info.file));
  CHECK(info.state_hash == a.hash());
  const size_t tx_at_snapshot = a.tx.size();
  a.run(20'000);
  const Hash128 h1 = a.hash();
  CHECK(h1 != info.state_hash);
  CHECK(a.m.hart().x[S1] > 10);  // timer interrupts happened after the snapshot too

  Rig b;  // fresh: no guest loaded, hart at the reset vector
  CHECK(b.hash() != info.state_hash);
  CHECK(store.restore(info, b.m, b.board) == 42);
  CHECK(b.m.position() == Position{10'000});
  CHECK(b.hash() == info.state_hash);
  b.run(20'000);
  CHECK(b.hash() == h1);
  CHECK(b.m.hart().x[S1] == a.m.hart().x[S1]);
  CHECK(b.m.hart().x[T2] == a.m.hart().x[T2]);
  CHECK(b.tx == a.tx.substr(tx_at_snapshot));
  CHECK(b.read64(kDataBase + 8) == a.read64(kDataBase + 8));
  CHECK(b.read64(kDataBase + 0x9000) == a.read64(kDataBase + 0x9000));
  CHECK(a.read64(kDataBase + 0x9000) > 1000);
}

TEST_CASE("a restore into the machine that ran on rewinds it") {
  SnapshotStore store = SnapshotStore::in_memory();
  Rig a;
  a.load_guest();
  a.run(7'000);
  const SnapshotInfo info = store.capture(a.m, a.board, 0);
  CHECK(info.file == "(memory)");
  a.run(15'000);
  const Hash128 h1 = a.hash();
  const std::string tx1 = a.tx;
  // Pages that were zero at the snapshot must be zero again.
  REQUIRE(a.m.bus().write(PAddr{kRamBase + (8u << 20)}, 8, 0x1122334455667788ull));

  store.restore(info, a.m, a.board);
  CHECK(a.m.position() == Position{7'000});
  CHECK(a.hash() == info.state_hash);
  CHECK(a.read64(kRamBase + (8u << 20)) == 0);
  a.tx.clear();
  a.run(15'000);
  CHECK(a.hash() == h1);
  CHECK(tx1.ends_with(a.tx));
  CHECK(!a.tx.empty());
  // And once more, now that the store's baseline is the restored state.
  store.restore(info, a.m, a.board);
  CHECK(a.hash() == info.state_hash);
}

TEST_CASE("the incremental state hash equals the full one") {
  SnapshotStore store = SnapshotStore::in_memory();
  Rig a;
  a.load_guest();
  for (int i = 0; i < 5; ++i) {
    a.run(3'000 + 1'000 * i);
    const Hash128 full = a.hash();
    const SnapshotInfo info = store.capture(a.m, a.board, static_cast<uint64_t>(i));
    CHECK(info.state_hash == full);
    CHECK(info.state_hash == a.hash());  // capturing changes nothing
  }
  // Also right after a restore, and after running on from it.
  store.restore(store.snapshots()[1], a.m, a.board);
  CHECK(store.capture(a.m, a.board, 9).state_hash == a.hash());
  a.run(2'500);
  CHECK(store.capture(a.m, a.board, 10).state_hash == a.hash());
}

TEST_CASE("the state hash covers hart, devices, memory and disks") {
  Rig a;
  a.load_guest();
  a.run(1'000);
  const Hash128 h = a.hash();
  CHECK(h.to_string().size() == 32);
  CHECK(a.hash() == h);
  a.m.hart().x[20] ^= 1;
  CHECK(a.hash() != h);
  a.m.hart().x[20] ^= 1;
  a.m.hart().trap_tval ^= 1;  // dead scratch: not part of the state
  CHECK(a.hash() == h);
  auto uart = a.board.uart().state();
  uart.scr ^= 1;
  a.board.uart().restore(uart);
  CHECK(a.hash() != h);
  uart.scr ^= 1;
  a.board.uart().restore(uart);
  CHECK(a.hash() == h);
  REQUIRE(a.m.bus().write(PAddr{kRamBase + (4u << 20)}, 1, 1));
  CHECK(a.hash() != h);
  REQUIRE(a.m.bus().write(PAddr{kRamBase + (4u << 20)}, 1, 0));
  CHECK(a.hash() == h);  // an all-zero page again
}

TEST_CASE("a capture with nothing written since writes no pages") {
  TempDir dir;
  SnapshotStore store = SnapshotStore::create(dir.path.string());
  Rig a;
  a.load_guest();
  a.run(5'000);
  const SnapshotInfo first = store.capture(a.m, a.board, 0);
  CHECK(first.pages_hashed >= 3);  // ROM page, code page, data ring pages
  CHECK(first.pages_written >= 3);
  CHECK(first.pages_written <= first.pages_hashed);
  CHECK(first.bytes_written == fs::file_size(dir / "pages.pack") + fs::file_size(first.file));
  const SnapshotInfo second = store.capture(a.m, a.board, 0);
  CHECK(second.pages_hashed == 0);
  CHECK(second.pages_written == 0);
  CHECK(second.bytes_written == fs::file_size(second.file));
  CHECK(second.state_hash == first.state_hash);
  CHECK(store.snapshots().size() == 1);  // same position: replaced
  // Running on dirties only the data ring.
  a.run(2'000);
  const SnapshotInfo third = store.capture(a.m, a.board, 0);
  CHECK(third.pages_hashed >= 1);
  CHECK(third.pages_hashed <= 9);  // the 32 KiB ring, the AMO counter
}

TEST_CASE("identical pages are stored once and zero pages not at all") {
  SnapshotStore store = SnapshotStore::in_memory();
  Rig a;
  a.load_guest();
  store.capture(a.m, a.board, 0);
  const std::vector<uint8_t> page = pattern(kPageSize, 7);
  for (uint64_t k = 0; k < 3; ++k)
    REQUIRE(a.m.bus().write_bytes(PAddr{kRamBase + ((k + 100) << 12)}, page));
  const SnapshotInfo dup = store.capture(a.m, a.board, 0);
  CHECK(dup.pages_hashed == 3);
  CHECK(dup.pages_written == 1);
  const std::vector<uint8_t> zeros(kPageSize, 0);
  REQUIRE(a.m.bus().write_bytes(PAddr{kRamBase + (101 << 12)}, zeros));
  const SnapshotInfo zero = store.capture(a.m, a.board, 0);
  CHECK(zero.pages_hashed == 1);
  CHECK(zero.pages_written == 0);
  Rig b;
  store.restore(store.snapshots().back(), b.m, b.board);
  std::vector<uint8_t> got(kPageSize);
  REQUIRE(b.m.bus().read_bytes(PAddr{kRamBase + (100 << 12)}, got));
  CHECK(got == page);
  REQUIRE(b.m.bus().read_bytes(PAddr{kRamBase + (101 << 12)}, got));
  CHECK(got == zeros);
  REQUIRE(b.m.bus().read_bytes(PAddr{kRamBase + (102 << 12)}, got));
  CHECK(got == page);
}

TEST_CASE("open() finds the snapshots with their positions, cursors and hashes") {
  TempDir dir;
  std::vector<SnapshotInfo> taken;
  {
    SnapshotStore store = SnapshotStore::create(dir.path.string());
    Rig a;
    a.load_guest();
    for (uint64_t i = 1; i <= 3; ++i) {
      a.run(4'000);
      taken.push_back(store.capture(a.m, a.board, i * 10));
    }
  }
  SnapshotStore store = SnapshotStore::open(dir.path.string());
  CHECK(store.unusable().empty());
  REQUIRE(store.snapshots().size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    const SnapshotInfo& s = store.snapshots()[i];
    CHECK(s.position == taken[i].position);
    CHECK(s.journal_cursor == (i + 1) * 10);
    CHECK(s.state_hash == taken[i].state_hash);
    CHECK(s.file == taken[i].file);
    CHECK(s.pages_written == 0);
  }
  CHECK(store.nearest_at_or_before(Position{3'999}) == nullptr);
  CHECK(store.nearest_at_or_before(Position{4'000})->position == Position{4'000});
  CHECK(store.nearest_at_or_before(Position{11'999})->position == Position{8'000});
  CHECK(store.nearest_at_or_before(Position::max())->position == Position{12'000});
  Rig b;
  CHECK(store.restore(store.snapshots()[1], b.m, b.board) == 20);
  CHECK(b.hash() == taken[1].state_hash);
  // A store opened on existing pages continues without rewriting them.
  b.run(1'000);
  const SnapshotInfo more = store.capture(b.m, b.board, 99);
  CHECK(more.pages_written <= 8);
  CHECK(SnapshotStore::open(dir.path.string()).snapshots().size() == 4);
}

TEST_CASE("create() refuses a directory that already holds pages") {
  TempDir dir;
  {
    SnapshotStore store = SnapshotStore::create(dir.path.string());
    Rig a;
    a.load_guest();
    store.capture(a.m, a.board, 0);
  }
  try {
    SnapshotStore::create(dir.path.string());
    FAIL("no exception");
  } catch (const FormatError& e) {
    CHECK(e.file() == dir / "pages.pack");
  }
}

TEST_CASE("a corrupt snapshot file is reported unusable and refused by restore") {
  TempDir dir;
  SnapshotStore store = SnapshotStore::create(dir.path.string());
  Rig a;
  a.load_guest();
  a.run(3'000);
  const SnapshotInfo good = store.capture(a.m, a.board, 1);
  a.run(3'000);
  const SnapshotInfo bad = store.capture(a.m, a.board, 2);
  flip_byte(bad.file, fs::file_size(bad.file) / 2);

  SnapshotStore reopened = SnapshotStore::open(dir.path.string());
  REQUIRE(reopened.snapshots().size() == 1);
  CHECK(reopened.snapshots()[0].position == good.position);
  REQUIRE(reopened.unusable().size() == 1);
  CHECK(reopened.unusable()[0].file == bad.file);
  CHECK(mentions(reopened.unusable()[0].reason, bad.file));
  CHECK(mentions(reopened.unusable()[0].reason, "checksum mismatch"));

  Rig b;
  try {
    store.restore(bad, b.m, b.board);
    FAIL("no exception");
  } catch (const FormatError& e) {
    CHECK(e.file() == bad.file);
    CHECK(e.offset() == 0);
    CHECK(mentions(e.what(), "checksum mismatch"));
  }
  store.restore(good, b.m, b.board);
  CHECK(b.hash() == good.state_hash);
}

TEST_CASE("a truncated pages.pack makes only the snapshots that lost pages unusable") {
  TempDir dir;
  SnapshotInfo first, second;
  {
    SnapshotStore store = SnapshotStore::create(dir.path.string());
    Rig a;
    a.load_guest();
    a.run(3'000);
    first = store.capture(a.m, a.board, 1);
    a.run(3'000);
    second = store.capture(a.m, a.board, 2);
    REQUIRE(second.pages_written > 0);
  }
  const std::string pack = dir / "pages.pack";
  fs::resize_file(pack, fs::file_size(pack) - 10);  // killed while appending the last page

  SnapshotStore store = SnapshotStore::open(dir.path.string());
  REQUIRE(store.snapshots().size() == 1);
  CHECK(store.snapshots()[0].position == first.position);
  REQUIRE(store.unusable().size() == 1);
  CHECK(store.unusable()[0].file == second.file);
  CHECK(mentions(store.unusable()[0].reason, "pages.pack"));
  CHECK(mentions(store.unusable()[0].reason, "needs page"));
  Rig b;
  store.restore(store.snapshots()[0], b.m, b.board);
  CHECK(b.hash() == first.state_hash);
}

TEST_CASE("a snapshot of another format version is refused with a clear error") {
  TempDir dir;
  SnapshotInfo info;
  {
    SnapshotStore store = SnapshotStore::create(dir.path.string());
    Rig a;
    a.load_guest();
    a.run(2'000);
    info = store.capture(a.m, a.board, 0);
  }
  const std::vector<uint8_t> bytes = read_whole_file(info.file);
  const DecodedRecord d = decode_record(bytes, 0, "HSSN");
  REQUIRE(d.status == RecordStatus::kOk);
  CHECK(d.version == 1);
  write_file_atomic(info.file, encode_record("HSSN", 99, d.payload));

  SnapshotStore store = SnapshotStore::open(dir.path.string());
  CHECK(store.snapshots().empty());
  REQUIRE(store.unusable().size() == 1);
  CHECK(mentions(store.unusable()[0].reason, "version 99"));
  CHECK(mentions(store.unusable()[0].reason, info.file));
  Rig b;
  try {
    store.restore(info, b.m, b.board);
    FAIL("no exception");
  } catch (const FormatError& e) {
    CHECK(e.file() == info.file);
    CHECK(mentions(e.what(), "format version 99 is not supported"));
  }
}

TEST_CASE("a snapshot does not restore into a machine of another shape") {
  SnapshotStore store = SnapshotStore::in_memory();
  Rig a;
  a.load_guest();
  a.run(1'000);
  const SnapshotInfo info = store.capture(a.m, a.board, 0);
  Rig bigger(small_config(32ull << 20));
  try {
    store.restore(info, bigger.m, bigger.board);
    FAIL("no exception");
  } catch (const FormatError& e) {
    CHECK(mentions(e.what(), "does not fit this machine"));
    CHECK(mentions(e.what(), "ram"));
  }
  VirtConfig no_rng = small_config();
  no_rng.rng = false;
  Rig other(no_rng);
  try {
    store.restore(info, other.m, other.board);
    FAIL("no exception");
  } catch (const FormatError& e) {
    CHECK(mentions(e.what(), "virtio slot 7 held device ID 4, this board has 0 there"));
  }
}

TEST_CASE("disk overlay contents are captured and restored") {
  TempDir dir;
  const std::string image = dir / "disk.img";
  write_file(image, pattern(1 << 20, 1));
  VirtConfig cfg = small_config();
  cfg.drives.push_back(DriveSpec{image, false, ""});
  SnapshotStore store = SnapshotStore::in_memory();

  Rig a(cfg);
  a.load_guest();
  const std::vector<uint8_t> first = pattern(8192, 50), second = pattern(8192, 90);
  REQUIRE(a.disk().write(0x10000, first));
  REQUIRE(a.disk().allocated_clusters() == 1);
  const SnapshotInfo info = store.capture(a.m, a.board, 0);
  CHECK(info.pages_written >= 16 + 2);  // the 64 KiB cluster in 4 KiB chunks, ROM, code
  a.run(100);
  REQUIRE(a.disk().write(0x10000, second));
  REQUIRE(a.disk().write(0x50000, second));
  CHECK(a.hash() != info.state_hash);
  const SnapshotInfo later = store.capture(a.m, a.board, 0);
  CHECK(later.pages_hashed == 32 + 2);  // clusters 1 and 5, a ring page, the AMO counter

  auto check_first = [&](Rig& r) {
    std::vector<uint8_t> got(8192);
    REQUIRE(r.disk().read(0x10000, got));
    CHECK(got == first);
    REQUIRE(r.disk().read(0x50000, got));
    const std::vector<uint8_t> base = pattern(1 << 20, 1);
    CHECK(got ==
          std::vector<uint8_t>(base.begin() + 0x50000, base.begin() + 0x52000));  // base again
    CHECK(r.disk().allocated_clusters() == 1);
    CHECK(r.hash() == info.state_hash);
  };
  Rig b(cfg);  // fresh anonymous overlay
  store.restore(info, b.m, b.board);
  check_first(b);
  store.restore(info, a.m, a.board);  // in place: cluster 5 dropped, cluster 1 rewritten
  check_first(a);
  // Forward again to the later state, in place.
  store.restore(later, a.m, a.board);
  std::vector<uint8_t> got(8192);
  REQUIRE(a.disk().read(0x50000, got));
  CHECK(got == second);
  CHECK(a.hash() == later.state_hash);
  CHECK(store.capture(a.m, a.board, 0).pages_hashed == 0);
}

TEST_CASE("every device's state survives a round trip") {
  SnapshotStore store = SnapshotStore::in_memory();
  Rig a;
  // Non-default values in every field.
  Uart16550::State u;
  for (unsigned i = 0; i < Uart16550::kFifoSize; ++i) u.rx[i] = static_cast<uint8_t>(0xa0 + i);
  u.rx_head = 3;
  u.rx_count = 5;
  u.ier = 0x0f;
  u.fcr = 0xc1;
  u.lcr = 0x1b;
  u.mcr = 0x0b;
  u.lsr_errors = 0x02;
  u.msr = 0xb1;
  u.scr = 0x5a;
  u.divisor = 12;
  u.thr_pending = true;
  u.irq = true;
  a.board.uart().restore(u);
  GoldfishRtc::State r;
  r.started = true;
  r.epoch_ns = 1'650'000'000'123'456'789ull;
  r.time_high = 0x180d;
  r.alarm_ns = 1'650'000'001'000'000'000ull;
  r.alarm_tick = 9'876'543;
  r.alarm_running = true;
  r.irq_enabled = true;
  r.irq_pending = true;
  a.board.rtc().restore(r);
  for (unsigned slot = 0; slot < VirtBoard::kVirtioSlots; ++slot) {
    VirtioMmio::State v;
    v.status = 0x0f;
    v.device_features_sel = 1;
    v.driver_features_sel = 1;
    v.driver_features = 0x1'0000'0200ull + slot;
    v.queue_sel = 2;
    v.interrupt_status = 1;
    for (unsigned q = 0; q < VirtioMmio::kMaxQueues; ++q)
      v.queues[q] = VirtqState{static_cast<uint16_t>(8u << q),
                               q % 2 == 0,
                               0x80100000ull + q * 0x1000,
                               0x80200000ull + q,
                               0x80300000ull + q,
                               static_cast<uint16_t>(q + 3),
                               static_cast<uint16_t>(q + 7)};
    a.board.virtio(slot).restore(v);
  }
  Clint::State c;
  c.msip = 1;
  c.mtimecmp = 0x123456789ull;
  c.mtip = true;
  a.board.clint().restore(c);
  Plic::State p;
  for (unsigned i = 0; i < Plic::kNumSources; ++i) p.priority[i] = i % 8;
  for (unsigned w = 0; w < Plic::kWords; ++w) {
    p.level[w] = 0x11111111u << w;
    p.pending[w] = 0x22222222u >> w;
    p.claimed[w] = 0x40000000u >> w;
    for (unsigned ctx = 0; ctx < Plic::kNumContexts; ++ctx)
      p.enable[ctx][w] = 0x0f0f0f0fu << (ctx + w);
  }
  p.threshold = {3, 5};
  p.output = {true, false};
  a.board.plic().restore(p);
  HartState& h = a.m.hart();
  for (unsigned i = 1; i < 32; ++i) h.x[i] = 0x1000 * i + 1;
  for (unsigned i = 0; i < 32; ++i) h.f[i] = 0xffffffff00000000ull | i;
  h.pc = 0x80001234;
  h.priv = Priv::S;
  h.dmode = Priv::U;
  h.frm = 3;
  h.fflags = 0x15;
  h.mstatus = 0xa00000000ull | 0x1888;
  h.medeleg = 0xb109;
  h.mideleg = 0x222;
  h.mie = 0xaaa;
  h.mip = 0x80;
  h.seip_ext = 1;
  h.mtvec = 0x80000100;
  h.mscratch = 0x1111;
  h.mepc = 0x80000200;
  h.mcause = 0x8000000000000007ull;
  h.mtval = 0xdead;
  h.mcounteren = 7;
  h.mcountinhibit = 4;
  h.menvcfg = 1;
  h.mhartid = 0;
  h.mcycle_offset = 1234;
  h.minstret_offset = 5678;
  h.stvec = 0xffffffff80000000ull;
  h.sscratch = 0x2222;
  h.sepc = 0x3333;
  h.scause = 13;
  h.stval = 0x4444;
  h.satp = 0x8000000000080042ull;
  h.scounteren = 2;
  h.senvcfg = 1;
  for (unsigned i = 0; i < 16; ++i) {
    h.pmpcfg[i] = static_cast<uint8_t>(0x18 | (i & 7));
    h.pmpaddr[i] = 0x20000000ull + i;
  }
  h.reservation = 0x80004000;
  h.reservation_valid = true;
  h.trap_cause = 5;
  h.trap_tval = 0x5555;
  h.wfi = true;
  const SnapshotInfo info = store.capture(a.m, a.board, 0);
  CHECK(info.position == Position{0});

  Rig b;
  store.restore(info, b.m, b.board);
  CHECK(b.hash() == a.hash());
  const Uart16550::State& bu = b.board.uart().state();
  CHECK(bu.rx == u.rx);
  CHECK(bu.rx_head == 3);
  CHECK(bu.rx_count == 5);
  CHECK(bu.ier == 0x0f);
  CHECK(bu.fcr == 0xc1);
  CHECK(bu.lcr == 0x1b);
  CHECK(bu.mcr == 0x0b);
  CHECK(bu.lsr_errors == 0x02);
  CHECK(bu.msr == 0xb1);
  CHECK(bu.scr == 0x5a);
  CHECK(bu.divisor == 12);
  CHECK(bu.thr_pending);
  CHECK(bu.irq);
  const GoldfishRtc::State& br = b.board.rtc().state();
  CHECK(br.started);
  CHECK(br.epoch_ns == r.epoch_ns);
  CHECK(br.time_high == 0x180d);
  CHECK(br.alarm_ns == r.alarm_ns);
  CHECK(br.alarm_tick == 9'876'543);
  CHECK(br.alarm_running);
  CHECK(br.irq_enabled);
  CHECK(br.irq_pending);
  for (unsigned slot = 0; slot < VirtBoard::kVirtioSlots; ++slot) {
    const VirtioMmio::State& va = a.board.virtio(slot).state();
    const VirtioMmio::State& vb = b.board.virtio(slot).state();
    CHECK(vb.status == 0x0f);
    CHECK(vb.device_features_sel == 1);
    CHECK(vb.driver_features_sel == 1);
    CHECK(vb.driver_features == 0x1'0000'0200ull + slot);
    CHECK(vb.queue_sel == 2);
    CHECK(vb.interrupt_status == va.interrupt_status);
    for (unsigned q = 0; q < VirtioMmio::kMaxQueues; ++q) {
      CHECK(vb.queues[q].num == (8u << q));
      CHECK(vb.queues[q].ready == (q % 2 == 0));
      CHECK(vb.queues[q].desc == 0x80100000ull + q * 0x1000);
      CHECK(vb.queues[q].driver == 0x80200000ull + q);
      CHECK(vb.queues[q].device == 0x80300000ull + q);
      CHECK(vb.queues[q].last_avail == q + 3);
      CHECK(vb.queues[q].used_idx == q + 7);
    }
  }
  const Clint::State& bc = b.board.clint().state();
  CHECK(bc.msip == 1);
  CHECK(bc.mtimecmp == 0x123456789ull);
  CHECK(bc.mtip);
  const Plic::State& bp = b.board.plic().state();
  const Plic::State& ap = a.board.plic().state();
  CHECK(bp.priority == p.priority);
  CHECK(ap.level == p.level);  // nothing touched the PLIC after its restore()
  CHECK(bp.level == p.level);  // the PLIC is restored after the devices that drive it
  CHECK(bp.pending == p.pending);
  CHECK(bp.claimed == p.claimed);
  CHECK(bp.enable == p.enable);
  CHECK(bp.threshold == p.threshold);
  CHECK(bp.output == p.output);
  const HartState& hb = b.m.hart();
  for (unsigned i = 0; i < 32; ++i) CHECK(hb.x[i] == h.x[i]);
  for (unsigned i = 0; i < 32; ++i) CHECK(hb.f[i] == h.f[i]);
  CHECK(hb.pc == 0x80001234);
  CHECK(hb.position == 0);
  CHECK(hb.instret == 0);
  CHECK(hb.priv == Priv::S);
  CHECK(hb.dmode == Priv::U);
  CHECK(hb.frm == 3);
  CHECK(hb.fflags == 0x15);
  CHECK(hb.mstatus == h.mstatus);
  CHECK(hb.misa == h.misa);
  CHECK(hb.medeleg == 0xb109);
  CHECK(hb.mideleg == 0x222);
  CHECK(hb.mie == 0xaaa);
  CHECK(hb.mip == h.mip);
  CHECK(hb.seip_ext == h.seip_ext);
  CHECK(hb.mtvec == 0x80000100);
  CHECK(hb.mscratch == 0x1111);
  CHECK(hb.mepc == 0x80000200);
  CHECK(hb.mcause == 0x8000000000000007ull);
  CHECK(hb.mtval == 0xdead);
  CHECK(hb.mcounteren == 7);
  CHECK(hb.mcountinhibit == 4);
  CHECK(hb.menvcfg == 1);
  CHECK(hb.mhartid == 0);
  CHECK(hb.mcycle_offset == 1234);
  CHECK(hb.minstret_offset == 5678);
  CHECK(hb.stvec == 0xffffffff80000000ull);
  CHECK(hb.sscratch == 0x2222);
  CHECK(hb.sepc == 0x3333);
  CHECK(hb.scause == 13);
  CHECK(hb.stval == 0x4444);
  CHECK(hb.satp == 0x8000000000080042ull);
  CHECK(hb.scounteren == 2);
  CHECK(hb.senvcfg == 1);
  for (unsigned i = 0; i < 16; ++i) {
    CHECK(hb.pmpcfg[i] == h.pmpcfg[i]);
    CHECK(hb.pmpaddr[i] == 0x20000000ull + i);
  }
  CHECK(hb.reservation == 0x80004000);
  CHECK(hb.reservation_valid);
  CHECK(hb.trap_cause == 5);
  CHECK(hb.trap_tval == 0x5555);
  CHECK(hb.wfi);
  CHECK(hb.cur_idx == 0);
  CHECK_FALSE(hb.block_exit);
  CHECK(hb.x[32] == 0);
}

// ---- background writes (SnapshotStore::Writes::kBackground) ----

namespace {

constexpr auto kBackground = SnapshotStore::Writes::kBackground;

// Writes `count` distinct, poorly compressible pages from RAM page `first`.
void fill_pages(Rig& r, uint64_t first, uint64_t count, uint64_t salt) {
  std::vector<uint8_t> page(kPageSize);
  for (uint64_t p = first; p < first + count; ++p) {
    uint64_t x = (p + 1) * 0x9e3779b97f4a7c15ull ^ (salt + 1) * 0xbf58476d1ce4e5b9ull;
    for (size_t i = 0; i < kPageSize; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(&page[i], &x, 8);
    }
    REQUIRE(r.m.bus().write_bytes(PAddr{kRamBase + p * kPageSize}, page));
  }
}

// The files of a store directory: relative path -> contents.
std::map<std::string, std::vector<uint8_t>> files_of(const fs::path& dir) {
  std::map<std::string, std::vector<uint8_t>> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      files[fs::relative(e.path(), dir).string()] = read_whole_file(e.path().string());
  return files;
}

// Simulates a full disk: writes past `limit` bytes of a file fail with EFBIG
// (and SIGXFSZ is ignored) until destroyed.
struct FileSizeLimit {
  rlimit old{};
  void (*old_handler)(int) = nullptr;
  explicit FileSizeLimit(uint64_t limit) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
    const rlimit lim{limit, old.rlim_max};
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
};

}  // namespace

TEST_CASE("background writes produce the files inline writes do") {
  TempDir inline_dir("hs_inline"), background_dir("hs_background");
  const std::string image = inline_dir / "disk.img";
  write_file(image, pattern(1 << 20, 1));
  VirtConfig cfg = small_config(96ull << 20);
  cfg.drives.push_back(DriveSpec{image, false, ""});
  SnapshotStore in = SnapshotStore::create(inline_dir.str());
  SnapshotStore bg = SnapshotStore::create(background_dir.str(), kBackground);
  Rig a(cfg);
  a.load_guest();
  std::vector<SnapshotInfo> taken;
  for (uint64_t i = 0; i < 12; ++i) {
    a.run(2'000 + 100 * i);
    if (i == 1)  // 68 MiB of new pages: more than the queue holds
      fill_pages(a, 1024, 17'000, i);
    else if (i % 4 == 1)  // more than a writer batch
      fill_pages(a, 1024 + 3'000 * (i / 4), 5'000, i);
    if (i % 3 == 0) REQUIRE(a.disk().write(0x10000 * i, pattern(8192, static_cast<uint8_t>(i))));
    const SnapshotInfo want = in.capture(a.m, a.board, i);
    const SnapshotInfo got = bg.capture(a.m, a.board, i);
    CHECK(got.position == want.position);
    CHECK(got.state_hash == want.state_hash);
    CHECK(got.pages_hashed == want.pages_hashed);
    CHECK(got.pages_written == want.pages_written);
    CHECK(got.bytes_written == 0);  // not written yet
    taken.push_back(got);
  }
  // A second capture at the same position replaces the first, in order.
  const SnapshotInfo again = bg.capture(a.m, a.board, 99);
  in.capture(a.m, a.board, 99);
  REQUIRE(bg.snapshots().size() == taken.size());
  CHECK(bg.snapshots().back().journal_cursor == 99);

  bg.flush();
  CHECK(bg.bytes_written() == in.bytes_written());
  const auto want = files_of(inline_dir.path / "snapshots");
  CHECK(files_of(background_dir.path / "snapshots") == want);
  CHECK(read_whole_file(background_dir / "pages.pack") ==
        read_whole_file(inline_dir / "pages.pack"));
  bg.flush();  // nothing more to do

  SnapshotStore reopened = SnapshotStore::open(background_dir.str());
  CHECK(reopened.unusable().empty());
  REQUIRE(reopened.snapshots().size() == taken.size());
  Rig b(cfg);
  CHECK(reopened.restore(reopened.snapshots()[5], b.m, b.board) == 5);
  CHECK(b.hash() == taken[5].state_hash);
  CHECK(reopened.restore(reopened.snapshots().back(), b.m, b.board) == 99);
  CHECK(b.hash() == again.state_hash);
}

TEST_CASE("a background snapshot restores before it is written and is seen by open() after flush") {
  TempDir dir;
  SnapshotStore store = SnapshotStore::create(dir.str(), kBackground);
  Rig a(small_config(32ull << 20));
  a.load_guest();
  a.run(5'000);
  fill_pages(a, 1024, 5000, 1);  // a write that takes a while
  const SnapshotInfo first = store.capture(a.m, a.board, 7);
  REQUIRE(store.snapshots().size() == 1);
  Rig b(small_config(32ull << 20));
  CHECK(store.restore(store.snapshots()[0], b.m, b.board) == 7);  // waits for the writer
  CHECK(b.hash() == first.state_hash);
  CHECK(fs::exists(first.file));

  // Many captures in a row, each restored at once into a fresh machine.
  for (uint64_t i = 0; i < 6; ++i) {
    a.run(1'000);
    fill_pages(a, 100 + 200 * i, 200, 10 + i);
    const SnapshotInfo info = store.capture(a.m, a.board, 10 + i);
    Rig c(small_config(32ull << 20));
    CHECK(store.restore(info, c.m, c.board) == 10 + i);
    CHECK(c.hash() == info.state_hash);
    c.run(3'000);
    a.run(3'000);
    CHECK(c.hash() == a.hash());
  }

  a.run(2'000);
  const SnapshotInfo last = store.capture(a.m, a.board, 20);
  store.flush();
  CHECK(fs::exists(last.file));
  uint64_t file_bytes = fs::file_size(dir / "pages.pack");
  for (const SnapshotInfo& s : store.snapshots()) file_bytes += fs::file_size(s.file);
  CHECK(store.bytes_written() == file_bytes);
  SnapshotStore other = SnapshotStore::open(dir.str());
  REQUIRE(other.snapshots().size() == store.snapshots().size());
  CHECK(other.snapshots().back().position == last.position);
  Rig d(small_config(32ull << 20));
  CHECK(other.restore(other.snapshots().back(), d.m, d.board) == 20);
  CHECK(d.hash() == last.state_hash);
}

TEST_CASE("a background store writes what is queued when destroyed") {
  TempDir dir;
  SnapshotInfo info;
  {
    SnapshotStore store = SnapshotStore::create(dir.str(), kBackground);
    Rig a;
    a.load_guest();
    a.run(3'000);
    fill_pages(a, 512, 1000, 3);
    info = store.capture(a.m, a.board, 1);
  }
  SnapshotInfo more;
  {
    SnapshotStore store = SnapshotStore::open(dir.str(), kBackground);  // and continue it
    REQUIRE(store.snapshots().size() == 1);
    Rig b;
    store.restore(store.snapshots()[0], b.m, b.board);
    CHECK(b.hash() == info.state_hash);
    b.run(2'000);
    more = store.capture(b.m, b.board, 2);
    CHECK(more.pages_written <= 8);  // the pages already in the pack are not queued again
  }
  SnapshotStore store = SnapshotStore::open(dir.str());
  REQUIRE(store.snapshots().size() == 2);
  Rig c;
  store.restore(store.snapshots()[1], c.m, c.board);
  CHECK(c.hash() == more.state_hash);
}

TEST_CASE("a background write error surfaces on the next flush or capture") {
  TempDir dir;
  const std::string pack = dir / "pages.pack";
  SnapshotStore store = SnapshotStore::create(dir.str(), kBackground);
  Rig a;
  a.load_guest();
  a.run(3'000);
  const SnapshotInfo good = store.capture(a.m, a.board, 1);
  store.flush();
  const uint64_t pack_size = fs::file_size(pack);

  SECTION("on flush") {
    {
      FileSizeLimit full(pack_size + 4096);  // the disk fills up
      a.run(1'000);
      fill_pages(a, 512, 100, 1);
      const SnapshotInfo lost = store.capture(a.m, a.board, 2);  // queued: no error yet
      CHECK(store.snapshots().size() == 2);
      try {
        store.flush();
        FAIL("no exception");
      } catch (const FormatError& e) {
        CHECK(e.file() == pack);
        CHECK(mentions(e.what(), std::strerror(EFBIG)));
      }
      CHECK(!fs::exists(lost.file));
    }
    store.flush();  // reported once
  }
  SECTION("on capture") {
    {
      FileSizeLimit full(pack_size + 4096);
      a.run(1'000);
      fill_pages(a, 512, 100, 1);
      store.capture(a.m, a.board, 2);
      bool thrown = false;
      for (int i = 0; i < 500 && !thrown; ++i) {  // until the writer has met the error
        try {
          a.run(10);
          store.capture(a.m, a.board, 3);
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        } catch (const FormatError& e) {
          CHECK(e.file() == pack);
          thrown = true;
        }
      }
      CHECK(thrown);
    }
  }
  // Only the snapshot written before the error remains; the store goes on
  // (the next capture rehashes everything) once there is room again.
  REQUIRE(store.snapshots().size() == 1);
  CHECK(store.snapshots()[0].position == good.position);
  a.run(1'000);
  const SnapshotInfo later = store.capture(a.m, a.board, 4);
  CHECK(later.state_hash == a.hash());
  store.flush();
  SnapshotStore other = SnapshotStore::open(dir.str());
  CHECK(other.unusable().empty());
  REQUIRE(other.snapshots().size() == 2);
  Rig b;
  other.restore(other.snapshots()[1], b.m, b.board);
  CHECK(b.hash() == later.state_hash);
  other.restore(other.snapshots()[0], b.m, b.board);
  CHECK(b.hash() == good.state_hash);
}

TEST_CASE("dirty generations mark exactly the pages written since a checkpoint") {
  Rig a;
  a.load_guest();
  a.run(2'000);
  Bus::Memory& ram = *a.m.bus().find_memory(PAddr{kRamBase});
  const uint64_t code = 0, ring = (kDataBase - kRamBase) >> kPageShift, amo = ring + 9;
  CHECK(ram.dirty[code] == 1);  // loaded before any checkpoint
  CHECK(ram.dirty[code + 1] == 0);
  const uint32_t g = a.m.dirty_checkpoint();
  CHECK(g == 1);
  CHECK(a.m.bus().dirty_generation() == 2);
  a.run(500);  // stores hit write-TLB entries filled after the checkpoint
  CHECK(ram.dirty[code] == 1);
  CHECK(ram.dirty[ring] == 2);
  CHECK(ram.dirty[amo] == 2);
  CHECK(ram.dirty[ring + 8] == 0);  // between the ring and the counter: never written
  a.m.bus().zero_pages(ram, ring, 1);
  CHECK(a.read64(kDataBase) == 0);
  CHECK(ram.dirty[ring] == 2);
}

TEST_CASE("disk change tracking lists clusters changed since a checkpoint") {
  TempDir dir;
  const std::string image = dir / "disk.img", overlay = dir / "disk.ovl";
  write_file(image, pattern(1 << 20, 3));
  {
    Disk d(DriveSpec{image, false, overlay});
    REQUIRE(d.write(0x20000, pattern(512, 1)));
    CHECK(d.clusters_changed_since(0) == std::vector<uint64_t>{2});
  }
  {
    Disk d(DriveSpec{image, false, overlay});  // reopened: old clusters count as generation 1
    CHECK(d.clusters_changed_since(0) == std::vector<uint64_t>{2});
    CHECK(d.clusters_changed_since(1).empty());
    const uint32_t g = d.write_checkpoint();
    REQUIRE(d.write(0x70000 + 100, pattern(10, 2)));
    CHECK(d.clusters_changed_since(g) == std::vector<uint64_t>{7});
    CHECK(d.overlay_clusters() == (std::vector<uint64_t>{2, 7}));
    CHECK(d.cluster_length(15) == 0x10000);
    CHECK(d.cluster_length(16) == 0);
    std::vector<uint8_t> got(0x10000);
    REQUIRE(d.read_cluster(7, got));
    CHECK(got[100] == pattern(10, 2)[0]);
    CHECK(got[99] == pattern(1 << 20, 3)[0x70000 + 99]);  // copied from the base
    REQUIRE(d.drop_cluster(2));
    REQUIRE(d.load_cluster(9, std::vector<uint8_t>(0x10000, 0xab)));
    CHECK(d.overlay_clusters() == (std::vector<uint64_t>{7, 9}));
    CHECK(d.clusters_changed_since(g) == (std::vector<uint64_t>{2, 7, 9}));
    CHECK_FALSE(d.load_cluster(9, std::vector<uint8_t>(100, 0)));  // wrong size
  }
  Disk again(DriveSpec{image, true, overlay});  // persisted: bitmap and data
  CHECK(again.overlay_clusters() == (std::vector<uint64_t>{7, 9}));
  std::vector<uint8_t> b(4);
  REQUIRE(again.read(0x90000, b));
  CHECK(b == std::vector<uint8_t>(4, 0xab));
  REQUIRE(again.read(0x20000, b));
  const std::vector<uint8_t> base = pattern(1 << 20, 3);
  CHECK(b == std::vector<uint8_t>(base.begin() + 0x20000, base.begin() + 0x20004));  // dropped
}

TEST_CASE("performance: 512 MiB capture and restore", "[.perf]") {
  SnapshotStore store = SnapshotStore::in_memory();
  TempDir dir, bg_dir("hs_background");
  SnapshotStore files = SnapshotStore::create(dir.path.string());
  SnapshotStore background = SnapshotStore::create(bg_dir.str(), kBackground);
  auto name = [&](const SnapshotStore* s) {
    return s == &store ? "memory" : s == &files ? "files" : "files, background (capture only)";
  };
  auto flush_ms = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    background.flush();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  Rig a(small_config(512ull << 20));
  const uint64_t pages = (512ull << 20) / kPageSize;
  // Half of RAM in use. Each page: 40% random bytes, the rest small
  // integers, so zstd stores it in ~50% like the guest kernel's pages.
  std::vector<uint8_t> page(kPageSize);
  auto fill = [&](uint64_t p, uint64_t salt) {
    uint64_t x = p * 0x9e3779b97f4a7c15ull + salt + 1;
    for (size_t i = 0; i < kPageSize; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      const uint64_t v = i < kPageSize * 2 / 5 ? x : (x & 0x0f0f) + i;
      std::memcpy(&page[i], &v, 8);
    }
    REQUIRE(a.m.bus().write_bytes(PAddr{kRamBase + p * kPageSize}, page));
  };
  for (uint64_t p = 0; p < pages; p += 2) fill(p, 0);
  for (SnapshotStore* s : {&store, &files, &background}) {
    const SnapshotInfo base = s->capture(a.m, a.board, 0);
    WARN(fmt::format("{}: initial capture of {} pages: {:.1f} ms, {} bytes", name(s),
                     base.pages_written, base.seconds * 1e3, base.bytes_written));
  }
  WARN(fmt::format("background: writing it took another {:.1f} ms", flush_ms()));
  for (uint64_t p = 0; p < pages; p += 20) fill(p, 1);  // 5% dirty
  a.m.hart().position += 1;
  for (SnapshotStore* s : {&store, &files, &background}) {
    const SnapshotInfo inc = s->capture(a.m, a.board, 0);
    WARN(fmt::format("{}: 5% dirty capture: {} pages hashed, {} written, {:.1f} ms, {} bytes",
                     name(s), inc.pages_hashed, inc.pages_written, inc.seconds * 1e3,
                     inc.bytes_written));
    CHECK(inc.pages_hashed == (pages + 19) / 20);
    if (s == &background)
      WARN(fmt::format("background: writing it took another {:.1f} ms", flush_ms()));
    const SnapshotInfo none = s->capture(a.m, a.board, 0);
    WARN(fmt::format("{}: unchanged capture: {:.1f} ms", name(s), none.seconds * 1e3));
  }
  CHECK(background.snapshots().back().state_hash == files.snapshots().back().state_hash);
  flush_ms();
  const SnapshotInfo& target = files.snapshots().back();
  // The seek case: the same machine ran on and changed 5% of its pages.
  for (uint64_t p = 0; p < pages; p += 20) fill(p, 2);
  auto t0 = std::chrono::steady_clock::now();
  files.restore(target, a.m, a.board);
  auto t1 = std::chrono::steady_clock::now();
  WARN(fmt::format("restore in place after 5% of the pages changed: {:.1f} ms",
                   std::chrono::duration<double, std::milli>(t1 - t0).count()));
  Rig b(small_config(512ull << 20));
  t0 = std::chrono::steady_clock::now();
  files.restore(target, b.m, b.board);
  t1 = std::chrono::steady_clock::now();
  WARN(fmt::format("restore into a fresh machine ({} non-zero pages): {:.1f} ms", pages / 2,
                   std::chrono::duration<double, std::milli>(t1 - t0).count()));
  t0 = std::chrono::steady_clock::now();
  const Hash128 full = a.hash();
  t1 = std::chrono::steady_clock::now();
  WARN(fmt::format("full_state_hash: {:.1f} ms",
                   std::chrono::duration<double, std::milli>(t1 - t0).count()));
  CHECK(full == target.state_hash);
  CHECK(b.hash() == target.state_hash);
}
