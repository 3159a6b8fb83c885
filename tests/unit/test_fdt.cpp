// The virt board's device tree: parsed back with libfdt, and compared with
// the tree QEMU 7.2's virt machine dumps when qemu-system-riscv64 is
// installed.
#include <libfdt.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "core/host_input.hpp"
#include "core/machine.hpp"
#include "devices/virt.hpp"

using namespace hs;

namespace {

struct Tree {
  std::vector<uint8_t> blob;
  const void* fdt() const { return blob.data(); }

  int node(const char* path) const {
    const int off = fdt_path_offset(fdt(), path);
    INFO(path);
    REQUIRE(off >= 0);
    return off;
  }
  bool has_node(const char* path) const { return fdt_path_offset(fdt(), path) >= 0; }
  bool has_prop(const char* path, const char* name) const {
    return fdt_getprop(fdt(), node(path), name, nullptr) != nullptr;
  }
  std::string str(const char* path, const char* name) const {
    int len = 0;
    const void* p = fdt_getprop(fdt(), node(path), name, &len);
    INFO(path << " " << name);
    REQUIRE(p != nullptr);
    REQUIRE(len > 0);
    return std::string(static_cast<const char*>(p), static_cast<size_t>(len - 1));
  }
  std::vector<std::string> strings(const char* path, const char* name) const {
    const int off = node(path);
    const int n = fdt_stringlist_count(fdt(), off, name);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.emplace_back(fdt_stringlist_get(fdt(), off, name, i, nullptr));
    return out;
  }
  std::vector<uint32_t> cells(const char* path, const char* name) const {
    int len = 0;
    const auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt(), node(path), name, &len));
    INFO(path << " " << name);
    REQUIRE(p != nullptr);
    REQUIRE(len % 4 == 0);
    std::vector<uint32_t> out;
    for (int i = 0; i < len / 4; ++i) out.push_back(fdt32_to_cpu(p[i]));
    return out;
  }
  uint32_t u32(const char* path, const char* name) const {
    const auto c = cells(path, name);
    REQUIRE(c.size() == 1);
    return c[0];
  }
  uint64_t u64(const char* path, const char* name) const {
    const auto c = cells(path, name);
    REQUIRE(c.size() == 2);
    return (uint64_t{c[0]} << 32) | c[1];
  }
  // Path of the node with phandle `ph`, or "" if none.
  std::string by_phandle(uint32_t ph) const {
    const int off = fdt_node_offset_by_phandle(fdt(), ph);
    if (off < 0) return "";
    char buf[256];
    REQUIRE(fdt_get_path(fdt(), off, buf, sizeof buf) == 0);
    return buf;
  }
  bool compatible(const char* path, const char* compat) const {
    return fdt_node_check_compatible(fdt(), node(path), compat) == 0;
  }
};

// The tree never depends on host input; the board just needs one.
struct NoHostInput : HostInput {
  size_t console(std::span<uint8_t>) override { return 0; }
  uint64_t wall_clock_ns() override { return 0; }
  void entropy(std::span<uint8_t> out) override { std::fill(out.begin(), out.end(), 0); }
};
NoHostInput no_input;

Tree board_tree(const VirtConfig& cfg = VirtConfig{}) {
  Machine m;
  VirtBoard board(m, cfg, no_input);
  return Tree{board.build_fdt()};
}

std::vector<uint32_t> reg(uint64_t base, uint64_t size) {
  return {uint32_t(base >> 32), uint32_t(base), uint32_t(size >> 32), uint32_t(size)};
}

}  // namespace

TEST_CASE("device tree parses and has QEMU virt's root", "[fdt]") {
  const Tree t = board_tree();
  REQUIRE(t.blob.size() >= sizeof(fdt_header));
  REQUIRE(fdt_check_header(t.fdt()) == 0);
  CHECK(fdt_totalsize(t.fdt()) == t.blob.size());
  CHECK(t.u32("/", "#address-cells") == 2);
  CHECK(t.u32("/", "#size-cells") == 2);
  CHECK(t.str("/", "compatible") == "riscv-virtio");
  CHECK(t.str("/", "model") == "riscv-virtio,qemu");
  CHECK(t.cells("/memory@80000000", "reg") == reg(0x80000000, 128ull << 20));
  CHECK(t.str("/memory@80000000", "device_type") == "memory");
  // Built the same way twice: byte-identical (the tree is part of the record).
  CHECK(board_tree().blob == t.blob);
}

TEST_CASE("device tree /chosen: bootargs and initrd only when configured", "[fdt]") {
  SECTION("default") {
    const Tree t = board_tree();
    CHECK(t.str("/chosen", "stdout-path") == "/soc/serial@10000000");
    CHECK_FALSE(t.has_prop("/chosen", "bootargs"));
    CHECK_FALSE(t.has_prop("/chosen", "linux,initrd-start"));
    CHECK_FALSE(t.has_prop("/chosen", "linux,initrd-end"));
  }
  SECTION("configured") {
    VirtConfig cfg;
    cfg.ram_size = 256ull << 20;
    cfg.bootargs = "console=ttyS0 earlycon";
    cfg.initrd_start = 0x88200000;
    cfg.initrd_end = 0x88a00123;
    const Tree t = board_tree(cfg);
    CHECK(t.str("/chosen", "bootargs") == "console=ttyS0 earlycon");
    CHECK(t.u64("/chosen", "linux,initrd-start") == 0x88200000);
    CHECK(t.u64("/chosen", "linux,initrd-end") == 0x88a00123);
    CHECK(t.cells("/memory@80000000", "reg") == reg(0x80000000, 256ull << 20));
  }
  SECTION("bootargs set after construction through config()") {
    Machine m;
    VirtBoard board(m, VirtConfig{}, no_input);
    board.config().bootargs = "quiet";
    const Tree t{board.build_fdt()};
    CHECK(t.str("/chosen", "bootargs") == "quiet");
  }
}

TEST_CASE("device tree /cpus describes the hart we implement", "[fdt]") {
  const Tree t = board_tree();
  CHECK(t.u32("/cpus", "#address-cells") == 1);
  CHECK(t.u32("/cpus", "#size-cells") == 0);
  CHECK(t.u32("/cpus", "timebase-frequency") == Clock::kTimebaseHz);
  const char* cpu = "/cpus/cpu@0";
  CHECK(t.str(cpu, "device_type") == "cpu");
  CHECK(t.u32(cpu, "reg") == 0);
  CHECK(t.str(cpu, "status") == "okay");
  CHECK(t.str(cpu, "compatible") == "riscv");
  CHECK(t.str(cpu, "riscv,isa") == "rv64imafdc_zicntr_zicsr_zifencei");
  CHECK(t.str(cpu, "riscv,isa-base") == "rv64i");
  CHECK(t.strings(cpu, "riscv,isa-extensions") ==
        std::vector<std::string>{"i", "m", "a", "f", "d", "c", "zicntr", "zicsr", "zifencei"});
  CHECK(t.str(cpu, "mmu-type") == "riscv,sv48");

  const char* intc = "/cpus/cpu@0/interrupt-controller";
  CHECK(t.u32(intc, "#interrupt-cells") == 1);
  CHECK(t.has_prop(intc, "interrupt-controller"));
  CHECK(t.compatible(intc, "riscv,cpu-intc"));
  CHECK(t.by_phandle(t.u32(intc, "phandle")) == intc);
  CHECK(t.by_phandle(t.u32("/cpus/cpu-map/cluster0/core0", "cpu")) == cpu);
}

TEST_CASE("device tree /soc devices and interrupt wiring", "[fdt]") {
  const Tree t = board_tree();
  CHECK(t.compatible("/soc", "simple-bus"));
  CHECK(t.has_prop("/soc", "ranges"));
  CHECK(t.u32("/soc", "#address-cells") == 2);
  CHECK(t.u32("/soc", "#size-cells") == 2);
  const uint32_t intc = t.u32("/cpus/cpu@0/interrupt-controller", "phandle");

  const char* clint = "/soc/clint@2000000";
  CHECK(t.strings(clint, "compatible") ==
        std::vector<std::string>{"sifive,clint0", "riscv,clint0"});
  CHECK(t.cells(clint, "reg") == reg(0x2000000, 0x10000));
  CHECK(t.cells(clint, "interrupts-extended") ==
        std::vector<uint32_t>{intc, irq::kMSI, intc, irq::kMTI});

  const char* plic = "/soc/plic@c000000";
  CHECK(t.strings(plic, "compatible") ==
        std::vector<std::string>{"sifive,plic-1.0.0", "riscv,plic0"});
  CHECK(t.cells(plic, "reg") == reg(0xc000000, 0x600000));
  CHECK(t.u32(plic, "riscv,ndev") == Plic::kNumSources - 1);
  // Context 0 = M external, context 1 = S external.
  CHECK(t.cells(plic, "interrupts-extended") ==
        std::vector<uint32_t>{intc, irq::kMEI, intc, irq::kSEI});
  CHECK(t.has_prop(plic, "interrupt-controller"));
  CHECK(t.u32(plic, "#interrupt-cells") == 1);
  CHECK(t.u32(plic, "#address-cells") == 0);

  const char* serial = "/soc/serial@10000000";
  CHECK(t.compatible(serial, "ns16550a"));
  CHECK(t.cells(serial, "reg") == reg(0x10000000, 0x100));
  CHECK(t.u32(serial, "clock-frequency") == 0x384000);
  CHECK(t.u32(serial, "interrupts") == 10);
  CHECK(t.by_phandle(t.u32(serial, "interrupt-parent")) == plic);

  const char* test = "/soc/test@100000";
  CHECK(t.strings(test, "compatible") ==
        std::vector<std::string>{"sifive,test1", "sifive,test0", "syscon"});
  CHECK(t.cells(test, "reg") == reg(0x100000, 0x1000));

  CHECK(t.compatible("/poweroff", "syscon-poweroff"));
  CHECK(t.by_phandle(t.u32("/poweroff", "regmap")) == test);
  CHECK(t.u32("/poweroff", "value") == 0x5555);
  CHECK(t.u32("/poweroff", "offset") == 0);
  CHECK(t.compatible("/reboot", "syscon-reboot"));
  CHECK(t.by_phandle(t.u32("/reboot", "regmap")) == test);
  CHECK(t.u32("/reboot", "value") == 0x7777);

  const char* rtc = "/soc/rtc@101000";
  CHECK(t.compatible(rtc, "google,goldfish-rtc"));
  CHECK(t.cells(rtc, "reg") == reg(0x101000, 0x1000));
  CHECK(t.u32(rtc, "interrupts") == 11);
  CHECK(t.by_phandle(t.u32(rtc, "interrupt-parent")) == plic);

  // All 8 virtio-mmio slots, whatever is plugged in.
  for (unsigned n = 0; n < 8; ++n) {
    const std::string path = "/soc/virtio_mmio@" + std::to_string(10001 + n) + "000";
    INFO(path);
    CHECK(t.compatible(path.c_str(), "virtio,mmio"));
    CHECK(t.cells(path.c_str(), "reg") == reg(0x10001000 + n * 0x1000, 0x1000));
    CHECK(t.u32(path.c_str(), "interrupts") == 1 + n);
    CHECK(t.by_phandle(t.u32(path.c_str(), "interrupt-parent")) == plic);
  }
  CHECK_FALSE(t.has_node("/soc/virtio_mmio@10009000"));
}

TEST_CASE("device tree lists virtio slots highest first, as QEMU does", "[fdt]") {
  // Linux probes in tree order: the first drive (slot 7) becomes /dev/vda.
  const Tree t = board_tree();
  std::vector<std::string> order;
  int child;
  fdt_for_each_subnode(child, t.fdt(), t.node("/soc")) {
    order.emplace_back(fdt_get_name(t.fdt(), child, nullptr));
  }
  const std::vector<std::string> want = {
      "rtc@101000",           "serial@10000000",      "test@100000",
      "virtio_mmio@10008000", "virtio_mmio@10007000", "virtio_mmio@10006000",
      "virtio_mmio@10005000", "virtio_mmio@10004000", "virtio_mmio@10003000",
      "virtio_mmio@10002000", "virtio_mmio@10001000", "plic@c000000",
      "clint@2000000"};
  CHECK(order == want);
}

// ---------------------------------------------------------------- vs QEMU

namespace {

// Every node path and its properties (name -> raw value).
using Props = std::map<std::string, std::string>;
std::map<std::string, Props> flatten(const void* fdt) {
  std::map<std::string, Props> out;
  for (int node = 0; node >= 0; node = fdt_next_node(fdt, node, nullptr)) {
    char path[256];
    REQUIRE(fdt_get_path(fdt, node, path, sizeof path) == 0);
    Props& props = out[path];
    int prop;
    fdt_for_each_property_offset(prop, fdt, node) {
      const char* name;
      int len;
      const void* val = fdt_getprop_by_offset(fdt, prop, &name, &len);
      props[name] = std::string(static_cast<const char*>(val), static_cast<size_t>(len));
    }
  }
  return out;
}

// QEMU 7.2's dtb for -m 128M, or empty if QEMU is not installed.
std::vector<uint8_t> qemu_dtb() {
  const std::string path = "/tmp/hs_test_fdt_qemu_" + std::to_string(getpid()) + ".dtb";
  const std::string cmd = "qemu-system-riscv64 -M virt,dumpdtb=" + path +
                          " -m 128M -nographic -bios none >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return {};
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  return blob;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("device tree matches QEMU 7.2 virt's, minus what we do not model", "[fdt][qemu]") {
  const std::vector<uint8_t> qemu_blob = qemu_dtb();
  if (qemu_blob.empty()) {
    WARN("qemu-system-riscv64 not available: comparison skipped");
    return;
  }
  REQUIRE(fdt_check_header(qemu_blob.data()) == 0);
  const auto qemu = flatten(qemu_blob.data());
  const auto ours = flatten(board_tree().blob.data());

  // Devices not modelled.
  const char* kNotModelled[] = {"/pmu", "/fw-cfg@", "/flash@", "/platform-bus@", "/soc/pci@"};
  for (const auto& [path, props] : qemu) {
    bool skipped = false;
    for (const char* p : kNotModelled) skipped |= starts_with(path, p);
    if (skipped) continue;
    INFO("node " << path);
    REQUIRE(ours.count(path) == 1);
    const Props& mine = ours.at(path);
    for (const auto& [name, value] : props) {
      INFO("property " << name);
      if (path == "/chosen" && name == "rng-seed") continue;  // host randomness
      REQUIRE(mine.count(name) == 1);
      // Deliberate differences: our ISA string names what we implement, and
      // riscv,ndev excludes the reserved source 0 (QEMU 8.0's fix).
      if (path == "/cpus/cpu@0" && name == "riscv,isa") continue;
      if (path == "/soc/plic@c000000" && name == "riscv,ndev") continue;
      CHECK(mine.at(name) == value);
    }
  }
  // And we add no node QEMU does not have.
  for (const auto& [path, props] : ours) {
    INFO("node " << path);
    CHECK(qemu.count(path) == 1);
  }
  // Same node order (Linux probes in it), minus the nodes we skip.
  std::vector<std::string> qemu_order, our_order;
  for (int n = 0; n >= 0; n = fdt_next_node(qemu_blob.data(), n, nullptr)) {
    char path[256];
    REQUIRE(fdt_get_path(qemu_blob.data(), n, path, sizeof path) == 0);
    bool skipped = false;
    for (const char* p : kNotModelled) skipped |= starts_with(path, p);
    if (!skipped) qemu_order.emplace_back(path);
  }
  const std::vector<uint8_t> blob = board_tree().blob;
  for (int n = 0; n >= 0; n = fdt_next_node(blob.data(), n, nullptr)) {
    char path[256];
    REQUIRE(fdt_get_path(blob.data(), n, path, sizeof path) == 0);
    our_order.emplace_back(path);
  }
  CHECK(our_order == qemu_order);
}
