#include "devices/boot_rom.hpp"

#include <stdexcept>

namespace hs {

namespace {

// Just enough of an RV64 assembler for the reset vector.
namespace rv {

constexpr uint32_t kT0 = 5, kA0 = 10, kA1 = 11, kA2 = 12, kZero = 0;
constexpr uint32_t kCsrMhartid = 0xf14;

constexpr uint32_t kOpLoad = 0x03, kOpImm = 0x13, kOpAuipc = 0x17, kOpJalr = 0x67, kOpSystem = 0x73;
constexpr uint32_t kF3Addi = 0, kF3Ld = 3, kF3Jalr = 0, kF3Csrrs = 2;

constexpr uint32_t u_type(uint32_t opcode, uint32_t rd, uint32_t imm20) {
  return (imm20 << 12) | (rd << 7) | opcode;
}
constexpr uint32_t i_type(uint32_t opcode, uint32_t f3, uint32_t rd, uint32_t rs1, int32_t imm) {
  return (static_cast<uint32_t>(imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode;
}

constexpr uint32_t auipc(uint32_t rd, uint32_t imm20) { return u_type(kOpAuipc, rd, imm20); }
constexpr uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) {
  return i_type(kOpImm, kF3Addi, rd, rs1, imm);
}
constexpr uint32_t ld(uint32_t rd, uint32_t rs1, int32_t off) {
  return i_type(kOpLoad, kF3Ld, rd, rs1, off);
}
// csrr rd, csr = csrrs rd, csr, x0 (the CSR number sits in the immediate field).
constexpr uint32_t csrr(uint32_t rd, uint32_t csr) {
  return i_type(kOpSystem, kF3Csrrs, rd, kZero, static_cast<int32_t>(csr));
}
constexpr uint32_t jr(uint32_t rs1) { return i_type(kOpJalr, kF3Jalr, kZero, rs1, 0); }

}  // namespace rv

void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

BootRom::BootRom(Bus& bus)
    : bus_(bus), mem_(bus.add_memory("mrom", PAddr{kBase}, kSize, /*writable=*/false)) {}

std::vector<uint8_t> BootRom::reset_vector(uint64_t start_addr, uint64_t fdt_addr,
                                           uint64_t next_addr) {
  using namespace rv;
  // Six instructions, then the two addresses, then the info struct.
  static_assert(kStartAddrOffset == 6 * 4 && kFdtAddrOffset == kStartAddrOffset + 8 &&
                kFwDynamicOffset == kFdtAddrOffset + 8);
  std::vector<uint8_t> out;
  // t0 holds the ROM base, so every operand is addressed relative to it.
  put32(out, auipc(kT0, 0));
  put32(out, addi(kA2, kT0, static_cast<int32_t>(kFwDynamicOffset)));
  put32(out, csrr(kA0, kCsrMhartid));
  put32(out, ld(kA1, kT0, static_cast<int32_t>(kFdtAddrOffset)));
  put32(out, ld(kT0, kT0, static_cast<int32_t>(kStartAddrOffset)));
  put32(out, jr(kT0));
  put64(out, start_addr);
  put64(out, fdt_addr);
  const FwDynamicInfo info{kFwDynamicMagic, kFwDynamicVersion, next_addr, kNextModeS,
                           /*options=*/0,   /*boot_hart=*/0};
  for (uint64_t field :
       {info.magic, info.version, info.next_addr, info.next_mode, info.options, info.boot_hart})
    put64(out, field);
  return out;
}

void BootRom::install(uint64_t start_addr, uint64_t fdt_addr, uint64_t next_addr) {
  const std::vector<uint8_t> blob = reset_vector(start_addr, fdt_addr, next_addr);
  if (!bus_.load_bytes(PAddr{kBase}, blob)) throw std::logic_error("boot ROM region missing");
}

}  // namespace hs
