#include "devices/virt.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "devices/fdt_writer.hpp"
#include "devices/virtio_blk.hpp"
#include "devices/virtio_rng.hpp"

namespace hs {

namespace {

constexpr uint64_t kMiB = 1ull << 20;

// Phandles as QEMU numbers them for one hart, so a dumped tree lines up.
constexpr uint32_t kPhandleCpu0 = 1;
constexpr uint32_t kPhandleCpuIntc = 2;
constexpr uint32_t kPhandlePlic = 3;
constexpr uint32_t kPhandleTest = 4;

// QEMU 7.2 advertises riscv,ndev = 96 although source 0 is reserved and the
// PLIC has sources 1..95; QEMU 8.0 corrected it to 95, which is what the
// binding means ("number of interrupt sources", not counting 0).
constexpr uint32_t kPlicNdev = Plic::kNumSources - 1;

// What the interpreter implements (core/isa): RV64GC with the counters.
constexpr const char* kIsaString = "rv64imafdc_zicntr_zicsr_zifencei";
constexpr const char* kIsaBase = "rv64i";

// "reg" for #address-cells = #size-cells = 2.
void reg64(FdtWriter& w, uint64_t base, uint64_t size) {
  w.prop_cells("reg", {static_cast<uint32_t>(base >> 32), static_cast<uint32_t>(base),
                       static_cast<uint32_t>(size >> 32), static_cast<uint32_t>(size)});
}

void add_chosen(FdtWriter& w, const VirtConfig& cfg) {
  w.begin_node("chosen");
  if (!cfg.bootargs.empty()) w.prop_string("bootargs", cfg.bootargs);
  if (cfg.initrd_end > cfg.initrd_start) {
    // 64-bit values (QEMU 8.0+; 7.2 wrote 32-bit cells): Linux and OpenSBI
    // read either width, and 64 bits does not truncate initrds above 4 GiB.
    w.prop_u64("linux,initrd-start", cfg.initrd_start);
    w.prop_u64("linux,initrd-end", cfg.initrd_end);
  }
  w.prop_string("stdout-path", fmt::format("/soc/serial@{:x}", VirtBoard::kUartBase));
  w.end_node();
}

void add_cpus(FdtWriter& w) {
  w.begin_node("cpus");
  w.prop_u32("#address-cells", 1);
  w.prop_u32("#size-cells", 0);
  w.prop_u32("timebase-frequency", static_cast<uint32_t>(Clock::kTimebaseHz));

  w.begin_node("cpu@0");
  w.prop_u32("phandle", kPhandleCpu0);
  w.prop_string("device_type", "cpu");
  w.prop_u32("reg", 0);
  w.prop_string("status", "okay");
  w.prop_string("compatible", "riscv");
  w.prop_string("riscv,isa", kIsaString);
  // The newer binding (Linux 6.7+ prefers it over the riscv,isa string).
  w.prop_string("riscv,isa-base", kIsaBase);
  w.prop_strings("riscv,isa-extensions",
                 {"i", "m", "a", "f", "d", "c", "zicntr", "zicsr", "zifencei"});
  w.prop_string("mmu-type", "riscv,sv48");
  w.begin_node("interrupt-controller");
  w.prop_u32("#interrupt-cells", 1);
  w.prop_empty("interrupt-controller");
  w.prop_string("compatible", "riscv,cpu-intc");
  w.prop_u32("phandle", kPhandleCpuIntc);
  w.end_node();
  w.end_node();  // cpu@0

  w.begin_node("cpu-map");
  w.begin_node("cluster0");
  w.begin_node("core0");
  w.prop_u32("cpu", kPhandleCpu0);
  w.end_node();
  w.end_node();
  w.end_node();

  w.end_node();  // cpus
}

void add_soc(FdtWriter& w) {
  w.begin_node("soc");
  w.prop_u32("#address-cells", 2);
  w.prop_u32("#size-cells", 2);
  w.prop_string("compatible", "simple-bus");
  w.prop_empty("ranges");

  // Children in the order QEMU 7.2's tree lists them (libfdt puts each new
  // node first, so QEMU's creation order comes out reversed). Linux probes
  // in this order, which decides which virtio disk becomes /dev/vda.
  w.begin_node(fmt::format("rtc@{:x}", VirtBoard::kRtcBase));
  w.prop_u32("interrupts", VirtBoard::kRtcIrq);
  w.prop_u32("interrupt-parent", kPhandlePlic);
  reg64(w, VirtBoard::kRtcBase, GoldfishRtc::kSize);
  w.prop_string("compatible", "google,goldfish-rtc");
  w.end_node();

  w.begin_node(fmt::format("serial@{:x}", VirtBoard::kUartBase));
  w.prop_u32("interrupts", VirtBoard::kUartIrq);
  w.prop_u32("interrupt-parent", kPhandlePlic);
  w.prop_u32("clock-frequency", VirtBoard::kUartClockHz);
  reg64(w, VirtBoard::kUartBase, Uart16550::kSize);
  w.prop_string("compatible", "ns16550a");
  w.end_node();

  w.begin_node(fmt::format("test@{:x}", VirtBoard::kTestBase));
  w.prop_u32("phandle", kPhandleTest);
  reg64(w, VirtBoard::kTestBase, TestFinisher::kSize);
  w.prop_strings("compatible", {"sifive,test1", "sifive,test0", "syscon"});
  w.end_node();

  // Every slot, empty ones included (an empty transport reads DeviceID 0).
  for (unsigned slot = VirtBoard::kVirtioSlots; slot-- > 0;) {
    const uint64_t base = VirtBoard::kVirtioBase + slot * VirtBoard::kVirtioStride;
    w.begin_node(fmt::format("virtio_mmio@{:x}", base));
    w.prop_u32("interrupts", VirtBoard::kVirtioIrqBase + slot);
    w.prop_u32("interrupt-parent", kPhandlePlic);
    reg64(w, base, VirtioMmio::kSize);
    w.prop_string("compatible", "virtio,mmio");
    w.end_node();
  }

  // Context order in interrupts-extended is the PLIC's context numbering.
  w.begin_node(fmt::format("plic@{:x}", VirtBoard::kPlicBase));
  w.prop_u32("phandle", kPhandlePlic);
  w.prop_u32("riscv,ndev", kPlicNdev);
  reg64(w, VirtBoard::kPlicBase, Plic::kSize);
  w.prop_cells("interrupts-extended", {kPhandleCpuIntc, irq::kMEI, kPhandleCpuIntc, irq::kSEI});
  w.prop_empty("interrupt-controller");
  w.prop_strings("compatible", {"sifive,plic-1.0.0", "riscv,plic0"});
  w.prop_u32("#address-cells", 0);
  w.prop_u32("#interrupt-cells", 1);
  w.end_node();

  w.begin_node(fmt::format("clint@{:x}", VirtBoard::kClintBase));
  w.prop_cells("interrupts-extended", {kPhandleCpuIntc, irq::kMSI, kPhandleCpuIntc, irq::kMTI});
  reg64(w, VirtBoard::kClintBase, Clint::kSize);
  w.prop_strings("compatible", {"sifive,clint0", "riscv,clint0"});
  w.end_node();

  w.end_node();  // soc
}

// syscon-poweroff / syscon-reboot: Linux powers off and reboots by writing
// `value` to the finisher's register through the syscon regmap.
void add_syscon_action(FdtWriter& w, const char* node, const char* compatible, uint32_t value) {
  w.begin_node(node);
  w.prop_u32("value", value);
  w.prop_u32("offset", static_cast<uint32_t>(TestFinisher::kRegControl));
  w.prop_u32("regmap", kPhandleTest);
  w.prop_string("compatible", compatible);
  w.end_node();
}

}  // namespace

VirtBoard::VirtBoard(Machine& m, const VirtConfig& cfg, HostInput& input)
    : m_(m),
      cfg_(cfg),
      input_(input),
      rom_(m.bus()),
      finisher_([&m](int code) { m.request_exit(code); }, [this] { request_reset(); }),
      clint_(m.hart().clock(), &m.hart()),
      plic_({IrqLine{&m.hart(), irq::kMEI}, IrqLine{&m.hart(), irq::kSEI}}),
      uart_(IrqLine{&plic_, kUartIrq}),
      rtc_(m.hart().clock(), input, IrqLine{&plic_, kRtcIrq}) {
  if (cfg_.ram_size == 0 || cfg_.ram_size > UINT64_MAX - kRamBase)
    throw std::invalid_argument(fmt::format("invalid RAM size {:#x}", cfg_.ram_size));
  // Disks first: a bad --drive fails before anything is mapped.
  add_virtio_devices();
  Bus& bus = m.bus();
  bus.add_memory("ram", PAddr{kRamBase}, cfg_.ram_size, /*writable=*/true);
  bus.add_device(PAddr{kTestBase}, TestFinisher::kSize, &finisher_);
  bus.add_device(PAddr{kRtcBase}, GoldfishRtc::kSize, &rtc_);
  bus.add_device(PAddr{kClintBase}, Clint::kSize, &clint_);
  bus.add_device(PAddr{kPlicBase}, Plic::kSize, &plic_);
  bus.add_device(PAddr{kUartBase}, Uart16550::kSize, &uart_);
  for (unsigned slot = 0; slot < kVirtioSlots; ++slot)
    bus.add_device(PAddr{kVirtioBase + slot * kVirtioStride}, VirtioMmio::kSize, virtio_[slot].get());
  m.add_timed_device(&clint_);
  m.add_timed_device(&rtc_);
  m.hart().reset(kMromBase);
}

void VirtBoard::add_virtio_devices() {
  const size_t count = cfg_.drives.size() + (cfg_.rng ? 1 : 0);
  if (count > kVirtioSlots)
    throw std::invalid_argument(fmt::format(
        "{} virtio devices ({} drives{}), but the virt board has {} virtio-mmio slots", count,
        cfg_.drives.size(), cfg_.rng ? " + rng" : "", kVirtioSlots));
  for (const DriveSpec& d : cfg_.drives)
    virtio_devices_.push_back(std::make_unique<VirtioBlk>(std::make_unique<Disk>(d)));
  if (cfg_.rng) virtio_devices_.push_back(std::make_unique<VirtioRng>(input_));

  virtio_.resize(kVirtioSlots);
  for (unsigned slot = 0; slot < kVirtioSlots; ++slot) {
    const unsigned i = virtio_slot(slot);  // the mapping is its own inverse
    VirtioDevice* dev = i < virtio_devices_.size() ? virtio_devices_[i].get() : nullptr;
    virtio_[slot] =
        std::make_unique<VirtioMmio>(m_.bus(), IrqLine{&plic_, kVirtioIrqBase + slot}, dev);
  }
}

void VirtBoard::poll_input() {
  uint8_t buf[Uart16550::kFifoSize];
  const size_t room = std::min(uart_.rx_space(), sizeof buf);
  if (room == 0) return;
  const size_t n = input_.console(std::span<uint8_t>(buf, room));
  for (size_t i = 0; i < n; ++i) uart_.push_rx(buf[i]);
}

void VirtBoard::request_reset() {
  if (on_reset)
    on_reset();
  else
    m_.request_exit(0);
}

std::vector<uint8_t> VirtBoard::build_fdt() const {
  FdtWriter w;
  w.prop_u32("#address-cells", 2);
  w.prop_u32("#size-cells", 2);
  w.prop_string("compatible", "riscv-virtio");
  w.prop_string("model", "riscv-virtio,qemu");

  // Root children in QEMU 7.2's order.
  add_chosen(w, cfg_);
  add_syscon_action(w, "poweroff", "syscon-poweroff", TestFinisher::kCmdPass);
  add_syscon_action(w, "reboot", "syscon-reboot", TestFinisher::kCmdReset);

  w.begin_node(fmt::format("memory@{:x}", kRamBase));
  w.prop_string("device_type", "memory");
  reg64(w, kRamBase, cfg_.ram_size);
  w.end_node();

  add_cpus(w);
  add_soc(w);
  return w.finish();
}

void VirtBoard::setup_reset_vector(uint64_t start_addr, uint64_t fdt_addr, uint64_t next_addr) {
  rom_.install(start_addr, fdt_addr, next_addr);
}

uint64_t VirtBoard::fdt_load_address(uint64_t ram_size, size_t fdt_size) {
  constexpr uint64_t k3GiB = 3072 * kMiB;
  const uint64_t ram_end = kRamBase + ram_size;
  const uint64_t top = kRamBase < k3GiB ? std::min(ram_end, k3GiB) : ram_end;
  return (top - fdt_size) & ~(2 * kMiB - 1);
}

}  // namespace hs
