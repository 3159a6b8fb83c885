// The RISC-V target description served to gdb (qXfer:features:read) and the
// remote register numbering that the g/G/p/P packets use.
//
// Numbering follows gdb's riscv conventions (gdb/features/riscv/*.xml and
// riscv-tdep.h), so gdb's internal numbers equal the remote ones:
//   0..31   x0..x31 ("zero", "ra", "sp", ...)      8 bytes
//   32      pc                                     8 bytes
//   33..64  f0..f31 ("ft0", ...; raw NaN-boxed)    8 bytes
//   65+csr  CSRs: fflags=66, frm=67, fcsr=68 are   4 bytes (in the fpu feature)
//           the others (sstatus=321, mstatus=833)  8 bytes (in the csr feature)
//   4161    priv (virtual: current privilege 0/1/3) 8 bytes
// The g/G packets carry x0..x31 and pc only (as QEMU's do); gdb fetches the
// rest with p/P.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/hart.hpp"

namespace hs::rsp {

enum class RegKind : uint8_t {
  kGpr,    // x[index]
  kPc,     // pc
  kFpr,    // f[index], raw bits
  kFpCsr,  // fflags/frm/fcsr (index = CSR number), stored in HartState directly
  kCsr,    // any other CSR (index = CSR number): read/write through Hart::csr_read/csr_write
  kPriv,   // the current privilege level
};

struct RegInfo {
  uint32_t regnum;
  std::string_view name;
  RegKind kind;
  unsigned index;
  unsigned size;  // bytes on the wire
};

constexpr uint32_t kPcRegnum = 32;
constexpr uint32_t kFirstFprRegnum = 33;
constexpr uint32_t kFirstCsrRegnum = 65;
constexpr uint32_t kPrivRegnum = 4161;
// Registers in the g/G packets: x0..x31, pc.
constexpr uint32_t kGPacketRegs = 33;
constexpr unsigned kGPacketBytes = kGPacketRegs * 8;

// Every register we describe, sorted by regnum. Built once (static storage).
std::span<const RegInfo> registers();
// The register with remote number `regnum`, or nullptr. O(log n).
const RegInfo* find_register(uint32_t regnum);

// Value of a register held directly in HartState (every kind except kCsr,
// for which it returns nullopt: CSR reads need Hart::csr_read).
std::optional<uint64_t> read_register(const HartState& h, const RegInfo& r);
// Writes a register held directly in HartState: x1..x31 (x0 writes are
// accepted and ignored), pc, f, fflags/frm/fcsr (masked to their fields).
// Returns false for kCsr and kPriv: those need the Hart (TLB flush, dmode).
bool write_register(HartState& h, const RegInfo& r, uint64_t value);

// The XML annex named `annex` ("target.xml" and the feature files it
// includes), or nullopt for an unknown annex. Built once, static storage.
std::optional<std::string_view> target_xml_annex(std::string_view annex);
// Names of every annex, target.xml first.
std::span<const std::string_view> target_xml_annexes();

}  // namespace hs::rsp
