#include "devices/boot.hpp"

#include <fmt/format.h>
#include <libfdt.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "devices/elf_loader.hpp"
#include "core/user_error.hpp"
#include "core/machine.hpp"
#include "devices/virt.hpp"

namespace hs {

namespace {

constexpr uint64_t kMiB = 1ull << 20;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

class Layout {
 public:
  Layout(uint64_t ram_lo, uint64_t ram_hi) : ram_lo_(ram_lo), ram_hi_(ram_hi) {}

  // Checks that [lo, hi) is inside RAM and overlaps nothing placed before.
  void place(const std::string& what, uint64_t lo, uint64_t hi) {
    if (lo < ram_lo_ || hi > ram_hi_ || hi < lo)
      throw UserError(fmt::format(
          "{} does not fit in RAM: it needs [{:#x}, {:#x}), RAM is [{:#x}, {:#x}) (use -m)", what,
          lo, hi, ram_lo_, ram_hi_));
    for (const Placement& p : placed_)
      if (lo < p.hi && p.lo < hi)
        throw UserError(fmt::format("{} [{:#x}, {:#x}) overlaps {} [{:#x}, {:#x})", what, lo, hi,
                                    p.what, p.lo, p.hi));
    placed_.push_back({what, lo, hi});
  }
  const std::vector<Placement>& placed() const { return placed_; }

 private:
  uint64_t ram_lo_, ram_hi_;
  std::vector<Placement> placed_;
};

// Loads `img` (raw images at `raw_base`) and returns its entry point.
uint64_t load_image(Machine& m, Layout& layout, const std::string& what, GuestImage& img,
                    uint64_t raw_base) {
  if (!img.is_elf) img.segments[0].paddr = raw_base;
  for (const ImageSegment& s : img.segments) {
    layout.place(fmt::format("{} ({})", what, img.path), s.paddr, s.paddr + s.bytes.size());
    m.bus().load_bytes(PAddr{s.paddr}, s.bytes);
  }
  return img.is_elf ? img.entry : raw_base;
}

std::vector<uint8_t> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UserError(fmt::format("{}: {}", path, std::strerror(errno)));
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw UserError(fmt::format("{}: not a regular file", path));
  }
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw UserError(fmt::format("{}: read error", path));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return data;
}

void check_fdt(int err, const std::string& what) {
  if (err < 0) throw UserError(fmt::format("{}: {}", what, fdt_strerror(err)));
}

// --dtb: the user's tree with /chosen updated like QEMU does.
std::vector<uint8_t> patch_fdt(const BootOptions& opt, uint64_t initrd_lo, uint64_t initrd_hi) {
  std::vector<uint8_t> in = read_file(opt.dtb);
  if (in.size() < sizeof(fdt_header) || fdt_check_header(in.data()) != 0)
    throw UserError(fmt::format("{}: not a valid device tree blob", opt.dtb));
  std::vector<uint8_t> out(in.size() + opt.append.size() + 4096);
  check_fdt(fdt_open_into(in.data(), out.data(), static_cast<int>(out.size())), opt.dtb);
  int chosen = fdt_path_offset(out.data(), "/chosen");
  if (chosen < 0) chosen = fdt_add_subnode(out.data(), 0, "chosen");
  check_fdt(chosen, opt.dtb);
  if (!opt.append.empty())
    check_fdt(fdt_setprop_string(out.data(), chosen, "bootargs", opt.append.c_str()), opt.dtb);
  if (initrd_hi > initrd_lo) {
    check_fdt(fdt_setprop_u64(out.data(), chosen, "linux,initrd-start", initrd_lo), opt.dtb);
    check_fdt(fdt_setprop_u64(out.data(), chosen, "linux,initrd-end", initrd_hi), opt.dtb);
  }
  check_fdt(fdt_pack(out.data()), opt.dtb);
  out.resize(fdt_totalsize(out.data()));
  return out;
}

}  // namespace

std::string default_firmware() {
  for (const char* p : {"/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin",
                        "/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin"})
    if (access(p, R_OK) == 0) return p;
  return {};
}

uint64_t parse_size(const std::string& text) {
  size_t pos = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  if (pos == 0 || pos > 12) throw UserError(fmt::format("invalid size '{}' (expected e.g. 512M or 2G)", text));
  uint64_t value = std::stoull(text.substr(0, pos));
  std::string suffix = text.substr(pos);
  if (!suffix.empty() && (suffix.back() == 'B' || suffix.back() == 'b') && suffix.size() == 2)
    suffix.pop_back();
  unsigned shift;
  if (suffix.empty()) {
    shift = 20;  // QEMU: a bare number is MiB
  } else if (suffix.size() == 1) {
    switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: throw UserError(fmt::format("invalid size '{}' (expected e.g. 512M or 2G)", text));
    }
  } else {
    throw UserError(fmt::format("invalid size '{}' (expected e.g. 512M or 2G)", text));
  }
  if (value > (UINT64_MAX >> shift)) throw UserError(fmt::format("invalid size '{}' (expected e.g. 512M or 2G)", text));
  return value << shift;
}

std::vector<uint8_t> guest_fdt(VirtBoard& board, const BootOptions& opt, uint64_t initrd_lo,
                               uint64_t initrd_hi) {
  if (!opt.dtb.empty()) return patch_fdt(opt, initrd_lo, initrd_hi);
  board.config().bootargs = opt.append;
  board.config().initrd_start = initrd_lo;
  board.config().initrd_end = initrd_hi;
  return board.build_fdt();
}

BootInfo load_boot_images(Machine& m, VirtBoard& board, const BootOptions& opt) {
  const uint64_t ram_lo = VirtBoard::kRamBase;
  Layout layout(ram_lo, ram_lo + opt.ram_size);
  BootInfo info;

  // Firmware at the base of RAM; the kernel goes at the next 2 MiB boundary
  // after it (riscv_calc_kernel_start_addr).
  uint64_t kernel_base = ram_lo;
  const bool have_firmware = opt.bios != "none";
  if (have_firmware) {
    std::string path = opt.bios.empty() ? default_firmware() : opt.bios;
    if (path.empty())
      throw UserError(
          "no default firmware: install Debian's opensbi package or pass --bios FILE|none");
    GuestImage fw = read_guest_image(path);
    info.start = load_image(m, layout, "firmware", fw, ram_lo);
    kernel_base = align_up(fw.high(), 2 * kMiB);
  }

  if (!opt.kernel.empty()) {
    GuestImage k = read_guest_image(opt.kernel);
    info.kernel_entry = load_image(m, layout, "kernel", k, kernel_base);
    if (!have_firmware) info.start = info.kernel_entry;
  } else if (!have_firmware) {
    throw UserError("nothing to run: give --kernel FILE (or a firmware with --bios FILE)");
  }

  uint64_t initrd_lo = 0, initrd_hi = 0;
  if (!opt.initrd.empty()) {
    if (opt.kernel.empty()) throw UserError("--initrd needs --kernel");
    std::vector<uint8_t> data = read_file(opt.initrd);
    // Far enough above the kernel that decompression cannot clobber it, low
    // enough to stay in lowmem (riscv_load_initrd).
    initrd_lo = info.kernel_entry + std::min(opt.ram_size / 2, 128 * kMiB);
    initrd_hi = initrd_lo + data.size();
    layout.place(fmt::format("initrd ({})", opt.initrd), initrd_lo, initrd_hi);
    m.bus().load_bytes(PAddr{initrd_lo}, data);
  }

  std::vector<uint8_t> fdt = guest_fdt(board, opt, initrd_lo, initrd_hi);
  info.fdt_addr = VirtBoard::fdt_load_address(opt.ram_size, fdt.size());
  layout.place("device tree", info.fdt_addr, info.fdt_addr + fdt.size());
  m.bus().load_bytes(PAddr{info.fdt_addr}, fdt);

  board.setup_reset_vector(info.start, info.fdt_addr, have_firmware ? info.kernel_entry : 0);
  info.placed = layout.placed();
  info.fdt = std::move(fdt);
  return info;
}

}  // namespace hs
