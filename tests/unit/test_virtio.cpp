// virtio-mmio transport, split virtqueues, virtio-blk and virtio-rng, driven
// the way a guest driver would: registers through the bus, rings and
// buffers hand-built in guest RAM.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/host_input.hpp"
#include "core/machine.hpp"
#include "devices/virt.hpp"
#include "devices/virtio_blk.hpp"
#include "devices/virtio_mmio.hpp"
#include "devices/virtio_rng.hpp"

using namespace hs;
namespace fs = std::filesystem;
using M = VirtioMmio;

namespace {

constexpr uint64_t kRam = 0x80000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kSlotBase = 0x10001000;
constexpr unsigned kIrq = 1;

// Guest RAM layout used by the tests.
constexpr uint64_t kDesc = kRam + 0x1000;
constexpr uint64_t kAvail = kRam + 0x2000;
constexpr uint64_t kUsed = kRam + 0x3000;
constexpr uint64_t kHdr = kRam + 0x4000;
constexpr uint64_t kStatus = kRam + 0x4100;
constexpr uint64_t kIndirect = kRam + 0x5000;
constexpr uint64_t kData = kRam + 0x10000;

struct RecordingSink : IrqSink {
  std::map<unsigned, bool> level;
  void set_irq(unsigned line, bool l) override { level[line] = l; }
  bool high(unsigned line) const {
    auto it = level.find(line);
    return it != level.end() && it->second;
  }
};

struct FakeHostInput : HostInput {
  std::deque<uint8_t> typed;
  uint64_t wall = 0;
  size_t entropy_calls = 0, entropy_bytes = 0;
  uint8_t next = 0;
  std::function<void(std::span<uint8_t>)> fill;  // overrides the counter pattern
  size_t console(std::span<uint8_t> out) override {
    size_t n = 0;
    for (; n < out.size() && !typed.empty(); ++n) {
      out[n] = typed.front();
      typed.pop_front();
    }
    return n;
  }
  uint64_t wall_clock_ns() override { return wall; }
  void entropy(std::span<uint8_t> out) override {
    ++entropy_calls;
    entropy_bytes += out.size();
    if (fill) return fill(out);
    for (uint8_t& b : out) b = next++;
  }
};

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "hs_test_virtio_XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 13 + seed + (i >> 9));
  return v;
}

std::string make_image(const TempDir& dir, const std::vector<uint8_t>& data) {
  const std::string path = (dir.path / "disk.img").string();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
  return path;
}

// A guest driver's view: registers, ring memory, request building.
struct Guest {
  Bus bus;
  RecordingSink plic;
  std::unique_ptr<VirtioMmio> mmio;
  uint16_t num = 16;
  uint16_t avail_idx = 0;

  Guest() { bus.add_memory("ram", PAddr{kRam}, kRamSize, true); }
  void attach(VirtioDevice* dev) {
    mmio = std::make_unique<VirtioMmio>(bus, IrqLine{&plic, kIrq}, dev);
    bus.add_device(PAddr{kSlotBase}, M::kSize, mmio.get());
  }

  uint32_t reg(uint64_t off) {
    uint64_t v = 0xdeadbeef;
    REQUIRE(bus.read(PAddr{kSlotBase + off}, 4, v));
    return static_cast<uint32_t>(v);
  }
  void set(uint64_t off, uint32_t v) { REQUIRE(bus.write(PAddr{kSlotBase + off}, 4, v)); }
  uint64_t config(uint64_t off, unsigned size) {
    uint64_t v = 0xdeadbeef;
    REQUIRE(bus.read(PAddr{kSlotBase + M::kRegConfig + off}, size, v));
    return v;
  }

  void poke(uint64_t pa, std::span<const uint8_t> b) { REQUIRE(bus.write_bytes(PAddr{pa}, b)); }
  void poke16(uint64_t pa, uint16_t v) { poke(pa, {reinterpret_cast<uint8_t*>(&v), 2}); }
  std::vector<uint8_t> peek(uint64_t pa, size_t n) {
    std::vector<uint8_t> v(n);
    REQUIRE(bus.read_bytes(PAddr{pa}, v));
    return v;
  }
  uint16_t peek16(uint64_t pa) {
    uint16_t v;
    std::memcpy(&v, peek(pa, 2).data(), 2);
    return v;
  }
  uint32_t peek32(uint64_t pa) {
    uint32_t v;
    std::memcpy(&v, peek(pa, 4).data(), 4);
    return v;
  }

  // Status handshake up to FEATURES_OK (§3.1.1); returns the status read back.
  uint32_t negotiate(uint64_t features) {
    set(M::kRegStatus, 0);
    set(M::kRegStatus, virtio::kStatusAcknowledge);
    set(M::kRegStatus, virtio::kStatusAcknowledge | virtio::kStatusDriver);
    set(M::kRegDriverFeaturesSel, 0);
    set(M::kRegDriverFeatures, static_cast<uint32_t>(features));
    set(M::kRegDriverFeaturesSel, 1);
    set(M::kRegDriverFeatures, static_cast<uint32_t>(features >> 32));
    set(M::kRegStatus,
        virtio::kStatusAcknowledge | virtio::kStatusDriver | virtio::kStatusFeaturesOk);
    return reg(M::kRegStatus);
  }
  void setup_queue(unsigned q, uint16_t n) {
    num = n;
    set(M::kRegQueueSel, q);
    set(M::kRegQueueNum, n);
    set(M::kRegQueueDescLow, static_cast<uint32_t>(kDesc));
    set(M::kRegQueueDescHigh, 0);
    set(M::kRegQueueDriverLow, static_cast<uint32_t>(kAvail));
    set(M::kRegQueueDriverHigh, 0);
    set(M::kRegQueueDeviceLow, static_cast<uint32_t>(kUsed));
    set(M::kRegQueueDeviceHigh, 0);
    set(M::kRegQueueReady, 1);
  }
  void driver_ok() { set(M::kRegStatus, reg(M::kRegStatus) | virtio::kStatusDriverOk); }
  // The whole initialisation of a well-behaved driver, queue 0 of n entries.
  void init(uint16_t n = 16, uint64_t features = virtio::kFVersion1 | virtio::kFIndirectDesc) {
    REQUIRE(negotiate(features) & virtio::kStatusFeaturesOk);
    setup_queue(0, n);
    REQUIRE(reg(M::kRegQueueReady) == 1);
    driver_ok();
  }

  void desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
            uint16_t next = 0) {
    uint8_t d[16];
    std::memcpy(d, &addr, 8);
    std::memcpy(d + 8, &len, 4);
    std::memcpy(d + 12, &flags, 2);
    std::memcpy(d + 14, &next, 2);
    poke(table + 16ull * i, d);
  }
  void submit(uint16_t head) {
    poke16(kAvail + 4 + 2ull * (avail_idx % num), head);
    poke16(kAvail + 2, ++avail_idx);
  }
  void notify(unsigned q = 0) { set(M::kRegQueueNotify, q); }
  uint16_t used_idx() { return peek16(kUsed + 2); }
  uint32_t used_id(uint16_t i) { return peek32(kUsed + 4 + 8ull * (i % num)); }
  uint32_t used_len(uint16_t i) { return peek32(kUsed + 4 + 8ull * (i % num) + 4); }
  bool irq() const { return plic.high(kIrq); }
  bool needs_reset() { return reg(M::kRegStatus) & virtio::kStatusNeedsReset; }

  // A virtio-blk request in descriptors first..: header, data buffers, status.
  uint16_t blk(uint16_t first, uint32_t type, uint64_t sector, const std::vector<VirtqBuffer>& data,
               bool data_writable, uint64_t table = kDesc) {
    uint8_t hdr[16] = {};
    std::memcpy(hdr, &type, 4);
    std::memcpy(hdr + 8, &sector, 8);
    poke(kHdr, hdr);
    const uint8_t unset = 0xee;
    poke(kStatus, {&unset, 1});
    uint16_t i = first;
    desc(table, i, kHdr, 16, virtio::kDescFNext, static_cast<uint16_t>(i + 1));
    for (const VirtqBuffer& b : data) {
      ++i;
      desc(table, i, b.addr, b.len,
           virtio::kDescFNext | (data_writable ? virtio::kDescFWrite : 0), static_cast<uint16_t>(i + 1));
    }
    ++i;
    desc(table, i, kStatus, 1, virtio::kDescFWrite);
    return first;
  }
  uint8_t status_byte() { return peek(kStatus, 1)[0]; }
};

// A guest with a virtio-blk device over a pattern-filled image.
struct BlkGuest : Guest {
  TempDir dir;
  std::vector<uint8_t> image = pattern(64 * 1024);
  std::unique_ptr<VirtioBlk> blkdev;
  explicit BlkGuest(bool readonly = false) {
    DriveSpec spec{make_image(dir, image), readonly, ""};
    blkdev = std::make_unique<VirtioBlk>(std::make_unique<Disk>(spec), "test-disk");
    attach(blkdev.get());
  }
};

}  // namespace

// ---------------------------------------------------------------- transport

TEST_CASE("virtio-mmio identifies its device, and an empty slot as DeviceID 0", "[virtio]") {
  BlkGuest g;
  CHECK(g.reg(M::kRegMagic) == 0x74726976);
  CHECK(g.reg(M::kRegVersion) == 2);
  CHECK(g.reg(M::kRegDeviceId) == 2);
  CHECK(g.reg(M::kRegVendorId) == 0x554d4551);
  CHECK(g.reg(M::kRegStatus) == 0);
  CHECK(g.reg(M::kRegConfigGeneration) == 0);
  CHECK(g.reg(M::kRegShmLenLow) == 0xffffffff);  // no shared memory regions
  CHECK(g.reg(M::kRegShmLenHigh) == 0xffffffff);

  // Non-32-bit register accesses read zero and are ignored, like QEMU.
  uint64_t v = 1;
  CHECK(g.bus.read(PAddr{kSlotBase + M::kRegMagic}, 2, v));
  CHECK(v == 0);
  CHECK(g.bus.write(PAddr{kSlotBase + M::kRegStatus}, 1, virtio::kStatusAcknowledge));
  CHECK(g.reg(M::kRegStatus) == 0);

  Guest empty;
  empty.attach(nullptr);
  CHECK(empty.reg(M::kRegMagic) == 0x74726976);
  CHECK(empty.reg(M::kRegVersion) == 2);
  CHECK(empty.reg(M::kRegVendorId) == 0x554d4551);
  CHECK(empty.reg(M::kRegDeviceId) == 0);
  CHECK(empty.reg(M::kRegQueueNumMax) == 0);
  empty.set(M::kRegStatus, virtio::kStatusAcknowledge);
  CHECK(empty.reg(M::kRegStatus) == 0);
  empty.set(M::kRegQueueNotify, 0);  // nothing to notify: ignored
  CHECK(empty.config(0, 4) == 0);
  CHECK_FALSE(empty.irq());
}

TEST_CASE("virtio-mmio feature negotiation", "[virtio]") {
  BlkGuest g;
  g.set(M::kRegDeviceFeaturesSel, 0);
  const uint32_t lo = g.reg(M::kRegDeviceFeatures);
  g.set(M::kRegDeviceFeaturesSel, 1);
  const uint32_t hi = g.reg(M::kRegDeviceFeatures);
  g.set(M::kRegDeviceFeaturesSel, 2);
  CHECK(g.reg(M::kRegDeviceFeatures) == 0);
  const uint64_t offered = uint64_t{hi} << 32 | lo;
  CHECK(offered & virtio::kFVersion1);
  CHECK(offered & virtio::kFIndirectDesc);
  CHECK_FALSE(offered & virtio::kFEventIdx);
  CHECK(offered & VirtioBlk::kFSegMax);
  CHECK(offered & VirtioBlk::kFBlkSize);
  CHECK(offered & VirtioBlk::kFFlush);
  CHECK_FALSE(offered & VirtioBlk::kFRo);
  CHECK(offered == g.mmio->device_features());

  SECTION("a subset with VERSION_1 is accepted") {
    CHECK(g.negotiate(virtio::kFVersion1 | VirtioBlk::kFFlush) & virtio::kStatusFeaturesOk);
    CHECK(g.mmio->state().driver_features == (virtio::kFVersion1 | VirtioBlk::kFFlush));
    // Frozen after FEATURES_OK.
    g.set(M::kRegDriverFeaturesSel, 0);
    g.set(M::kRegDriverFeatures, 0);
    CHECK(g.mmio->state().driver_features == (virtio::kFVersion1 | VirtioBlk::kFFlush));
  }
  SECTION("legacy drivers (no VERSION_1) are refused") {
    CHECK_FALSE(g.negotiate(VirtioBlk::kFFlush) & virtio::kStatusFeaturesOk);
  }
  SECTION("features never offered are refused") {
    CHECK_FALSE(g.negotiate(virtio::kFVersion1 | virtio::kFEventIdx) & virtio::kStatusFeaturesOk);
  }
}

TEST_CASE("virtio-mmio queue registers, and status 0 resets everything", "[virtio]") {
  BlkGuest g;
  g.set(M::kRegQueueSel, 0);
  CHECK(g.reg(M::kRegQueueNumMax) == VirtioBlk::kQueueSize);
  g.set(M::kRegQueueSel, 1);  // blk has one queue
  CHECK(g.reg(M::kRegQueueNumMax) == 0);
  g.set(M::kRegQueueReady, 1);
  CHECK(g.reg(M::kRegQueueReady) == 0);

  g.init(16);
  g.set(M::kRegQueueSel, 0);
  CHECK(g.reg(M::kRegQueueReady) == 1);
  CHECK(g.reg(M::kRegQueueDescLow) == static_cast<uint32_t>(kDesc));
  CHECK(g.reg(M::kRegQueueDriverLow) == static_cast<uint32_t>(kAvail));
  CHECK(g.reg(M::kRegQueueDeviceLow) == static_cast<uint32_t>(kUsed));
  // The layout is frozen while the queue is ready.
  g.set(M::kRegQueueDescLow, 0x1234);
  CHECK(g.reg(M::kRegQueueDescLow) == static_cast<uint32_t>(kDesc));

  g.set(M::kRegStatus, 0);
  CHECK(g.reg(M::kRegStatus) == 0);
  CHECK(g.reg(M::kRegQueueReady) == 0);
  CHECK(g.reg(M::kRegQueueDescLow) == 0);
  CHECK(g.mmio->state().driver_features == 0);
  CHECK(g.mmio->state().queues[0].num == VirtioBlk::kQueueSize);
}

// ---------------------------------------------------------------- virtio-blk

TEST_CASE("virtio-blk config space: capacity, seg_max, blk_size", "[virtio][blk]") {
  BlkGuest g;
  CHECK(g.config(VirtioBlk::kCfgCapacity, 8) == 128);  // 64 KiB in sectors
  CHECK(g.config(VirtioBlk::kCfgCapacity, 4) == 128);  // Linux reads 64-bit fields as halves
  CHECK(g.config(VirtioBlk::kCfgCapacity + 4, 4) == 0);
  CHECK(g.config(VirtioBlk::kCfgSegMax, 4) == 254);
  CHECK(g.config(VirtioBlk::kCfgBlkSize, 4) == 512);
  CHECK(g.config(VirtioBlk::kCfgBlkSize, 2) == 512);
  CHECK(g.config(VirtioBlk::kCfgBlkSize + 1, 1) == 2);
  CHECK(g.config(VirtioBlk::kCfgSize - 4, 4) == 0);
  CHECK(g.config(VirtioBlk::kCfgSize, 4) == 0);  // past the config space
  uint64_t v;
  CHECK(g.bus.write(PAddr{kSlotBase + M::kRegConfig}, 4, 0));  // read-only: ignored
  CHECK(g.bus.read(PAddr{kSlotBase + M::kRegConfig}, 8, v));
  CHECK(v == 128);
}

TEST_CASE("virtio-blk read across two buffers: used ring, status, interrupt", "[virtio][blk]") {
  BlkGuest g;
  g.init();
  const uint16_t head = g.blk(0, VirtioBlk::kTIn, 2, {{kData, 512}, {kData + 0x1000, 1024}}, true);
  g.submit(head);
  CHECK_FALSE(g.irq());
  g.notify();

  CHECK(g.used_idx() == 1);
  CHECK(g.used_id(0) == head);
  CHECK(g.used_len(0) == 512 + 1024 + 1);
  CHECK(g.status_byte() == VirtioBlk::kSOk);
  const std::vector<uint8_t> want(g.image.begin() + 1024, g.image.begin() + 1024 + 1536);
  auto got = g.peek(kData, 512);
  const auto second = g.peek(kData + 0x1000, 1024);
  got.insert(got.end(), second.begin(), second.end());
  CHECK(got == want);

  CHECK(g.reg(M::kRegInterruptStatus) == virtio::kIntUsedBuffer);
  CHECK(g.irq());
  g.set(M::kRegInterruptAck, virtio::kIntUsedBuffer);
  CHECK(g.reg(M::kRegInterruptStatus) == 0);
  CHECK_FALSE(g.irq());

  // A second request reuses descriptors; the used ring advances.
  g.blk(0, VirtioBlk::kTIn, 0, {{kData, 512}}, true);
  g.submit(0);
  g.notify();
  CHECK(g.used_idx() == 2);
  CHECK(g.used_len(1) == 513);
  CHECK(g.peek(kData, 512) == std::vector<uint8_t>(g.image.begin(), g.image.begin() + 512));
}

TEST_CASE("virtio-blk write, flush, read back; the base image is untouched", "[virtio][blk]") {
  BlkGuest g;
  g.init();
  const auto data = pattern(2048, 0x5a);
  g.poke(kData, data);
  g.submit(g.blk(0, VirtioBlk::kTOut, 5, {{kData, 1024}, {kData + 1024, 1024}}, false));
  g.notify();
  CHECK(g.status_byte() == VirtioBlk::kSOk);
  CHECK(g.used_len(0) == 1);  // only the status byte was written

  g.submit(g.blk(0, VirtioBlk::kTFlush, 0, {}, false));
  g.notify();
  CHECK(g.status_byte() == VirtioBlk::kSOk);

  g.poke(kData + 0x8000, std::vector<uint8_t>(2048, 0));
  g.submit(g.blk(0, VirtioBlk::kTIn, 5, {{kData + 0x8000, 2048}}, true));
  g.notify();
  CHECK(g.status_byte() == VirtioBlk::kSOk);
  CHECK(g.peek(kData + 0x8000, 2048) == data);
  CHECK(g.used_idx() == 3);

  std::ifstream in((g.dir.path / "disk.img").string(), std::ios::binary);
  const std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(file == g.image);
}

TEST_CASE("virtio-blk GET_ID, unsupported types and bad ranges", "[virtio][blk]") {
  BlkGuest g;
  g.init();
  SECTION("GET_ID returns the NUL-padded 20-byte ID") {
    g.poke(kData, std::vector<uint8_t>(20, 0xff));
    g.submit(g.blk(0, VirtioBlk::kTGetId, 0, {{kData, 20}}, true));
    g.notify();
    CHECK(g.status_byte() == VirtioBlk::kSOk);
    CHECK(g.used_len(0) == 21);
    std::vector<uint8_t> want(20, 0);
    std::memcpy(want.data(), "test-disk", 9);
    CHECK(g.peek(kData, 20) == want);
  }
  SECTION("unknown request types get UNSUPP") {
    g.submit(g.blk(0, 11 /* DISCARD, not offered */, 0, {{kData, 16}}, false));
    g.notify();
    CHECK(g.status_byte() == VirtioBlk::kSUnsupp);
  }
  SECTION("reads past the end, unaligned lengths get IOERR") {
    g.submit(g.blk(0, VirtioBlk::kTIn, 127, {{kData, 1024}}, true));
    g.notify();
    CHECK(g.status_byte() == VirtioBlk::kSIoErr);
    CHECK(g.used_len(0) == 1);
    g.submit(g.blk(0, VirtioBlk::kTIn, UINT64_MAX, {{kData, 512}}, true));
    g.notify();
    CHECK(g.status_byte() == VirtioBlk::kSIoErr);
    g.submit(g.blk(0, VirtioBlk::kTOut, 0, {{kData, 100}}, false));
    g.notify();
    CHECK(g.status_byte() == VirtioBlk::kSIoErr);
    CHECK(g.used_idx() == 3);
    CHECK_FALSE(g.needs_reset());
  }
}

TEST_CASE("virtio-blk on a readonly drive offers RO and fails writes", "[virtio][blk]") {
  BlkGuest g(/*readonly=*/true);
  CHECK(g.mmio->device_features() & VirtioBlk::kFRo);
  g.init();
  g.poke(kData, std::vector<uint8_t>(512, 0x11));
  g.submit(g.blk(0, VirtioBlk::kTOut, 0, {{kData, 512}}, false));
  g.notify();
  CHECK(g.status_byte() == VirtioBlk::kSIoErr);
  g.submit(g.blk(0, VirtioBlk::kTIn, 0, {{kData, 512}}, true));
  g.notify();
  CHECK(g.status_byte() == VirtioBlk::kSOk);
  CHECK(g.peek(kData, 512) == std::vector<uint8_t>(g.image.begin(), g.image.begin() + 512));
}

TEST_CASE("virtio-blk through an indirect descriptor table", "[virtio][blk]") {
  BlkGuest g;
  g.init();
  g.blk(0, VirtioBlk::kTIn, 1, {{kData, 512}, {kData + 4096, 512}}, true, kIndirect);
  g.desc(kDesc, 3, kIndirect, 4 * 16, virtio::kDescFIndirect);
  g.submit(3);
  g.notify();
  CHECK(g.used_id(0) == 3);
  CHECK(g.used_len(0) == 1025);
  CHECK(g.status_byte() == VirtioBlk::kSOk);
  CHECK(g.peek(kData + 4096, 512) ==
        std::vector<uint8_t>(g.image.begin() + 1024, g.image.begin() + 1536));

  SECTION("not negotiated: the device needs a reset") {
    g.set(M::kRegStatus, 0);
    g.avail_idx = 0;
    g.init(16, virtio::kFVersion1);
    g.poke16(kUsed + 2, 0);
    g.submit(3);
    g.notify();
    CHECK(g.needs_reset());
    CHECK(g.used_idx() == 0);
  }
}

TEST_CASE("virtio: VIRTQ_AVAIL_F_NO_INTERRUPT suppresses the interrupt", "[virtio]") {
  BlkGuest g;
  g.init();
  g.poke16(kAvail, virtio::kAvailFNoInterrupt);
  g.submit(g.blk(0, VirtioBlk::kTFlush, 0, {}, false));
  g.notify();
  CHECK(g.used_idx() == 1);
  CHECK(g.reg(M::kRegInterruptStatus) == 0);
  CHECK_FALSE(g.irq());
}

// ---------------------------------------------------------------- misprogramming

TEST_CASE("virtio: guest errors get error statuses, never host failures", "[virtio][errors]") {
  BlkGuest g;
  g.init(8);
  auto expect_needs_reset = [&] {
    CHECK(g.needs_reset());
    CHECK(g.reg(M::kRegInterruptStatus) & virtio::kIntConfigChange);
    CHECK(g.irq());
  };

  SECTION("a data buffer outside RAM gets IOERR") {
    g.submit(g.blk(0, VirtioBlk::kTIn, 0, {{0x1000'0000'0000ull, 512}}, true));
    g.notify();
    CHECK(g.status_byte() == VirtioBlk::kSIoErr);
    g.submit(g.blk(0, VirtioBlk::kTOut, 0, {{kRam + kRamSize - 256, 512}}, false));
    g.notify();
    CHECK(g.status_byte() == VirtioBlk::kSIoErr);
    g.submit(g.blk(0, VirtioBlk::kTIn, 0, {{UINT64_MAX - 255, 512}}, true));  // wraps
    g.notify();
    CHECK(g.used_idx() == 3);
    CHECK_FALSE(g.needs_reset());
  }
  SECTION("an oversized length is bounded by the disk, not trusted") {
    g.submit(g.blk(0, VirtioBlk::kTIn, 0, {{kData, 0xfffffe00}}, true));
    g.notify();
    CHECK(g.status_byte() == VirtioBlk::kSIoErr);
    CHECK(g.used_len(0) == 1);
  }
  SECTION("no status byte / no header: returned with nothing written") {
    g.desc(kDesc, 0, kHdr, 16, 0);  // header only
    g.submit(0);
    g.desc(kDesc, 1, kStatus, 1, virtio::kDescFWrite);  // status only
    g.submit(1);
    g.desc(kDesc, 2, 0x10, 16, virtio::kDescFNext, 3);  // header outside RAM
    g.desc(kDesc, 3, kStatus, 1, virtio::kDescFWrite);
    g.submit(2);
    g.notify();
    CHECK(g.used_idx() == 3);
    CHECK(g.used_len(0) == 0);
    CHECK(g.used_len(1) == 0);
    CHECK(g.used_len(2) == 0);
  }
  SECTION("a descriptor chain loop ends in DEVICE_NEEDS_RESET") {
    g.desc(kDesc, 0, kHdr, 16, virtio::kDescFNext, 1);
    g.desc(kDesc, 1, kData, 512, virtio::kDescFNext | virtio::kDescFWrite, 0);
    g.submit(0);
    g.notify();
    expect_needs_reset();
    CHECK(g.used_idx() == 0);
    // Further notifies are ignored until a reset.
    g.submit(g.blk(2, VirtioBlk::kTFlush, 0, {}, false));
    g.notify();
    CHECK(g.used_idx() == 0);
    // A reset recovers the device.
    g.avail_idx = 0;
    g.poke16(kAvail + 2, 0);
    g.init(8);
    CHECK_FALSE(g.needs_reset());
    CHECK_FALSE(g.irq());
    g.submit(g.blk(0, VirtioBlk::kTFlush, 0, {}, false));
    g.notify();
    CHECK(g.used_idx() == 1);
    CHECK(g.status_byte() == VirtioBlk::kSOk);
  }
  SECTION("a self-referencing indirect table ends in DEVICE_NEEDS_RESET") {
    g.desc(kIndirect, 0, kData, 16, virtio::kDescFNext, 1);
    g.desc(kIndirect, 1, kData, 16, virtio::kDescFNext, 0);
    g.desc(kDesc, 0, kIndirect, 32, virtio::kDescFIndirect);
    g.submit(0);
    g.notify();
    expect_needs_reset();
  }
  SECTION("nested indirect tables are refused") {
    g.desc(kIndirect, 0, kIndirect, 16, virtio::kDescFIndirect);
    g.desc(kDesc, 0, kIndirect, 16, virtio::kDescFIndirect);
    g.submit(0);
    g.notify();
    expect_needs_reset();
  }
  SECTION("a head index past the queue") {
    g.submit(8);
    g.notify();
    expect_needs_reset();
  }
  SECTION("a next index past the queue") {
    g.desc(kDesc, 0, kHdr, 16, virtio::kDescFNext, 200);
    g.submit(0);
    g.notify();
    expect_needs_reset();
  }
  SECTION("writable before readable descriptors") {
    g.desc(kDesc, 0, kStatus, 1, virtio::kDescFWrite | virtio::kDescFNext, 1);
    g.desc(kDesc, 1, kHdr, 16, 0);
    g.submit(0);
    g.notify();
    expect_needs_reset();
  }
  SECTION("an avail index more than the queue size ahead") {
    g.poke16(kAvail + 2, 100);
    g.notify();
    expect_needs_reset();
  }
  SECTION("rings outside RAM") {
    g.set(M::kRegStatus, 0);
    REQUIRE(g.negotiate(virtio::kFVersion1) & virtio::kStatusFeaturesOk);
    g.set(M::kRegQueueSel, 0);
    g.set(M::kRegQueueNum, 8);
    g.set(M::kRegQueueDriverLow, 0x40000000);  // avail ring in nothing
    g.set(M::kRegQueueReady, 1);
    g.driver_ok();
    g.notify();
    expect_needs_reset();
  }
  SECTION("bad queue sizes leave the queue unusable") {
    for (uint32_t bad : {0u, 12u, 512u, 65536u}) {
      INFO("QueueNum " << bad);
      g.set(M::kRegStatus, 0);
      REQUIRE(g.negotiate(virtio::kFVersion1) & virtio::kStatusFeaturesOk);
      g.set(M::kRegQueueSel, 0);
      g.set(M::kRegQueueNum, bad);
      g.set(M::kRegQueueReady, 1);
      CHECK(g.reg(M::kRegQueueReady) == 0);
      g.driver_ok();
      g.avail_idx = 0;
      g.submit(g.blk(0, VirtioBlk::kTFlush, 0, {}, false));
      g.notify();
      CHECK(g.status_byte() == 0xee);  // never processed
    }
  }
  SECTION("notifies of unknown queues are ignored") {
    g.submit(g.blk(0, VirtioBlk::kTFlush, 0, {}, false));
    g.notify(1);
    g.notify(0xffffffff);
    CHECK(g.used_idx() == 0);
    g.notify(0);
    CHECK(g.used_idx() == 1);
  }
}

TEST_CASE("virtio: buffers notified before DRIVER_OK wait for it", "[virtio]") {
  BlkGuest g;
  REQUIRE(g.negotiate(virtio::kFVersion1) & virtio::kStatusFeaturesOk);
  g.submit(g.blk(0, VirtioBlk::kTFlush, 0, {}, false));
  g.notify();  // queue not ready
  CHECK(g.used_idx() == 0);
  g.setup_queue(0, 16);
  g.notify();  // ready, but no DRIVER_OK yet
  CHECK(g.used_idx() == 0);
  CHECK_FALSE(g.irq());
  g.driver_ok();
  CHECK(g.used_idx() == 1);
  CHECK(g.status_byte() == VirtioBlk::kSOk);
  CHECK(g.irq());
}

// ---------------------------------------------------------------- virtio-rng

TEST_CASE("virtio-rng fills buffers from HostInput::entropy, capped per request", "[virtio][rng]") {
  FakeHostInput input;
  VirtioRng rng(input);
  Guest g;
  g.attach(&rng);
  CHECK(g.reg(M::kRegDeviceId) == 4);
  g.set(M::kRegQueueSel, 0);
  CHECK(g.reg(M::kRegQueueNumMax) == VirtioRng::kQueueSize);
  g.init(8, virtio::kFVersion1);

  g.desc(kDesc, 0, kData, 32, virtio::kDescFWrite | virtio::kDescFNext, 1);
  g.desc(kDesc, 1, kData + 0x100, 32, virtio::kDescFWrite);
  g.submit(0);
  g.notify();
  CHECK(g.used_idx() == 1);
  CHECK(g.used_len(0) == 64);
  std::vector<uint8_t> want(32);
  for (uint8_t i = 0; i < 32; ++i) want[i] = i;
  CHECK(g.peek(kData, 32) == want);
  for (uint8_t i = 0; i < 32; ++i) want[i] = static_cast<uint8_t>(32 + i);
  CHECK(g.peek(kData + 0x100, 32) == want);
  CHECK(g.irq());

  // A huge buffer gets at most kMaxPerRequest bytes.
  g.desc(kDesc, 2, kData, 0x80000, virtio::kDescFWrite);
  g.submit(2);
  g.notify();
  CHECK(g.used_len(1) == VirtioRng::kMaxPerRequest);
  CHECK(input.entropy_bytes == 64 + VirtioRng::kMaxPerRequest);

  // A buffer outside RAM: returned with nothing written.
  g.desc(kDesc, 3, 0x20000000, 64, virtio::kDescFWrite);
  g.submit(3);
  g.notify();
  CHECK(g.used_idx() == 3);
  CHECK(g.used_len(2) == 0);
  CHECK_FALSE(g.needs_reset());

  // A buffer in ROM: DMA obeys the writable flag as CPU stores do.
  g.bus.add_memory("rom", PAddr{0x10000000}, 0x1000, false);
  g.desc(kDesc, 4, 0x10000000, 64, virtio::kDescFWrite);
  g.submit(4);
  g.notify();
  CHECK(g.used_idx() == 4);
  CHECK(g.used_len(3) == 0);
  CHECK(g.peek(0x10000000, 64) == std::vector<uint8_t>(64, 0));
  CHECK_FALSE(g.needs_reset());
}

TEST_CASE("virtio: a device rewriting the avail ring cannot loop forever", "[virtio][errors]") {
  FakeHostInput input;
  // Each request writes the avail index one past what the device consumed,
  // so the ring never looks empty.
  uint16_t consumed = 0;
  input.fill = [&](std::span<uint8_t> out) {
    const uint16_t next = static_cast<uint16_t>(++consumed + 1);
    std::memcpy(out.data(), &next, std::min<size_t>(2, out.size()));
  };
  VirtioRng rng(input);
  Guest g;
  g.attach(&rng);
  g.init(8, virtio::kFVersion1);
  g.desc(kDesc, 0, kAvail + 2, 2, virtio::kDescFWrite);  // the buffer is avail->idx
  g.submit(0);
  g.notify();
  CHECK(g.used_idx() == 8);  // one queue's worth per notify
  g.notify();
  CHECK(g.used_idx() == 16);
}

namespace {
// Random descriptors, rings and indirect tables: addresses in RAM, near its
// edges or anywhere; flags and next indices mostly plausible.
void scramble(Guest& g, std::mt19937_64& rng) {
  auto pick = [&](uint64_t n) { return rng() % n; };
  auto addr = [&]() -> uint64_t {
    switch (pick(4)) {
      case 0: return kRam + pick(kRamSize);
      case 1: return kRam + kRamSize - pick(64);
      case 2: return kData + 512 * pick(16);
      default: return rng();
    }
  };
  auto len = [&]() -> uint32_t {
    static constexpr uint32_t kLens[] = {0, 1, 16, 17, 512, 1024, 4096, 0xffffffff};
    return pick(5) ? kLens[pick(8)] : static_cast<uint32_t>(rng());
  };
  for (uint64_t table : {kDesc, kIndirect}) {
    for (uint16_t i = 0; i < 32; ++i) {
      const uint64_t a = pick(3) ? addr() : (pick(2) ? kIndirect : kHdr);
      g.desc(table, i, a, len(), static_cast<uint16_t>(pick(8)), static_cast<uint16_t>(pick(40)));
    }
  }
  uint8_t hdr[16];
  for (uint8_t& b : hdr) b = static_cast<uint8_t>(pick(3) ? 0 : rng());
  hdr[0] = static_cast<uint8_t>(pick(10));
  g.poke(kHdr, hdr);
  for (uint16_t i = 0; i < 16; ++i) g.poke16(kAvail + 4 + 2 * i, static_cast<uint16_t>(pick(20)));
  g.poke16(kAvail, static_cast<uint16_t>(pick(2)));
  g.poke16(kAvail + 2, static_cast<uint16_t>(pick(4) ? pick(20) : rng()));
}
}  // namespace

TEST_CASE("virtio: random rings and descriptors never crash or hang the host", "[virtio][errors]") {
  std::mt19937_64 rng(20240601);  // fixed seed: the same cases every run
  BlkGuest blk;
  FakeHostInput input;
  VirtioRng rngdev(input);
  Guest rnd;
  rnd.attach(&rngdev);
  int resets = 0, completions = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    Guest& g = iter % 2 ? static_cast<Guest&>(blk) : rnd;
    g.avail_idx = 0;
    g.poke16(kUsed + 2, 0);
    g.init(static_cast<uint16_t>(&g == &blk && iter % 3 ? 16 : 8));
    scramble(g, rng);
    g.notify();
    g.notify();
    resets += g.needs_reset();
    completions += g.used_idx();
    // The transport's own bookkeeping stays sane whatever happened.
    const VirtqState& q = g.mmio->state().queues[0];
    CHECK(static_cast<uint16_t>(q.used_idx) <= 2 * q.num);
  }
  // Both outcomes occur, so the cases reach past the first checks.
  CHECK(resets > 100);
  CHECK(completions > 100);
}

// ---------------------------------------------------------------- board

TEST_CASE("virt board plugs virtio devices from slot 7 down, PLIC source 1 + slot", "[virtio][virt]") {
  TempDir dir;
  const std::string img = make_image(dir, pattern(8192));
  FakeHostInput input;
  Machine m;
  VirtConfig cfg;
  cfg.drives = {DriveSpec{img, false, ""}, DriveSpec{img, true, ""}};
  VirtBoard board(m, cfg, input);
  Bus& bus = m.bus();
  auto id_at = [&](unsigned slot) {
    uint64_t v = 0;
    REQUIRE(bus.read(PAddr{VirtBoard::kVirtioBase + slot * 0x1000 + M::kRegDeviceId}, 4, v));
    return v;
  };
  CHECK(id_at(7) == virtio::kIdBlock);
  CHECK(id_at(6) == virtio::kIdBlock);
  CHECK(id_at(5) == virtio::kIdEntropy);
  for (unsigned slot = 0; slot < 5; ++slot) CHECK(id_at(slot) == 0);
  CHECK_FALSE(board.virtio(7).device_features() & VirtioBlk::kFRo);
  CHECK(board.virtio(6).device_features() & VirtioBlk::kFRo);
  CHECK(VirtBoard::virtio_slot(0) == 7);

  // Slot 7's interrupt is PLIC source 8: force a config-change interrupt
  // (DEVICE_NEEDS_RESET) and look at the PLIC's pending bits.
  const uint64_t slot7 = VirtBoard::kVirtioBase + 7 * 0x1000;
  REQUIRE(bus.write(PAddr{slot7 + M::kRegStatus}, 4, 0xf));  // FEATURES_OK refused, DRIVER_OK set
  REQUIRE(bus.write(PAddr{slot7 + M::kRegQueueSel}, 4, 0));
  REQUIRE(bus.write(PAddr{slot7 + M::kRegQueueDriverLow}, 4, 0x40000000));
  REQUIRE(bus.write(PAddr{slot7 + M::kRegQueueReady}, 4, 1));
  REQUIRE(bus.write(PAddr{slot7 + M::kRegQueueNotify}, 4, 0));
  uint64_t pending = 0;
  REQUIRE(bus.read(PAddr{VirtBoard::kPlicBase + Plic::kPendingBase}, 4, pending));
  CHECK(pending == 1u << 8);
}

TEST_CASE("virt board: virtio configuration errors", "[virtio][virt]") {
  FakeHostInput input;
  SECTION("more devices than slots") {
    TempDir dir;
    const std::string img = make_image(dir, pattern(512));
    Machine m;
    VirtConfig cfg;
    cfg.drives.assign(8, DriveSpec{img, true, ""});
    CHECK_THROWS_WITH(VirtBoard(m, cfg, input), Catch::Contains("8 virtio-mmio slots"));
    cfg.rng = false;
    Machine m2;
    CHECK_NOTHROW(VirtBoard(m2, cfg, input));
  }
  SECTION("a missing image names the file") {
    Machine m;
    VirtConfig cfg;
    cfg.drives = {DriveSpec{"/nonexistent/hs.img", false, ""}};
    CHECK_THROWS_AS(VirtBoard(m, cfg, input), DiskError);
    Machine m2;
    CHECK_THROWS_WITH(VirtBoard(m2, cfg, input), Catch::Contains("/nonexistent/hs.img"));
  }
  SECTION("rng can be left out") {
    Machine m;
    VirtConfig cfg;
    cfg.rng = false;
    VirtBoard board(m, cfg, input);
    for (unsigned slot = 0; slot < 8; ++slot) CHECK(board.virtio(slot).device() == nullptr);
  }
}
