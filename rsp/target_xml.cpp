#include "rsp/target_xml.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "core/csr.hpp"

namespace hs::rsp {

namespace {

constexpr std::array<std::string_view, 32> kGprNames = {
    "zero", "ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "fp", "s1", "a0",
    "a1",   "a2", "a3", "a4", "a5",  "a6",  "a7", "s2", "s3", "s4", "s5",
    "s6",   "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"};

constexpr std::array<std::string_view, 32> kFprNames = {
    "ft0", "ft1", "ft2",  "ft3",  "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0",
    "fa1", "fa2", "fa3",  "fa4",  "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5",
    "fs6", "fs7", "fs8",  "fs9",  "fs10", "fs11", "ft8", "ft9", "ft10", "ft11"};

struct CsrName {
  std::string_view name;
  unsigned csr;
};

// The CSRs core/csr.cpp implements that a debugger cares about, under the
// names gdb knows them by. The hpm counters/events (always zero) are left out.
constexpr CsrName kCsrNames[] = {
    {"sstatus", csr::kSstatus}, {"sie", csr::kSie}, {"stvec", csr::kStvec},
    {"scounteren", csr::kScounteren}, {"senvcfg", csr::kSenvcfg}, {"sscratch", csr::kSscratch},
    {"sepc", csr::kSepc}, {"scause", csr::kScause}, {"stval", csr::kStval}, {"sip", csr::kSip},
    {"satp", csr::kSatp},
    {"mstatus", csr::kMstatus}, {"misa", csr::kMisa}, {"medeleg", csr::kMedeleg},
    {"mideleg", csr::kMideleg}, {"mie", csr::kMie}, {"mtvec", csr::kMtvec},
    {"mcounteren", csr::kMcounteren}, {"menvcfg", csr::kMenvcfg},
    {"mcountinhibit", csr::kMcountinhibit}, {"mscratch", csr::kMscratch}, {"mepc", csr::kMepc},
    {"mcause", csr::kMcause}, {"mtval", csr::kMtval}, {"mip", csr::kMip},
    {"pmpcfg0", csr::kPmpcfg0}, {"pmpcfg2", csr::kPmpcfg0 + 2},
    {"pmpaddr0", csr::kPmpaddr0 + 0}, {"pmpaddr1", csr::kPmpaddr0 + 1},
    {"pmpaddr2", csr::kPmpaddr0 + 2}, {"pmpaddr3", csr::kPmpaddr0 + 3},
    {"pmpaddr4", csr::kPmpaddr0 + 4}, {"pmpaddr5", csr::kPmpaddr0 + 5},
    {"pmpaddr6", csr::kPmpaddr0 + 6}, {"pmpaddr7", csr::kPmpaddr0 + 7},
    {"pmpaddr8", csr::kPmpaddr0 + 8}, {"pmpaddr9", csr::kPmpaddr0 + 9},
    {"pmpaddr10", csr::kPmpaddr0 + 10}, {"pmpaddr11", csr::kPmpaddr0 + 11},
    {"pmpaddr12", csr::kPmpaddr0 + 12}, {"pmpaddr13", csr::kPmpaddr0 + 13},
    {"pmpaddr14", csr::kPmpaddr0 + 14}, {"pmpaddr15", csr::kPmpaddr0 + 15},
    {"tselect", csr::kTselect}, {"tdata1", csr::kTdata1}, {"tdata2", csr::kTdata2},
    {"tdata3", csr::kTdata3},
    {"mcycle", csr::kMcycle}, {"minstret", csr::kMinstret},
    {"cycle", csr::kCycle}, {"time", csr::kTime}, {"instret", csr::kInstret},
    {"mvendorid", csr::kMvendorid}, {"marchid", csr::kMarchid}, {"mimpid", csr::kMimpid},
    {"mhartid", csr::kMhartid}, {"mconfigptr", csr::kMconfigptr},
};

constexpr CsrName kFpCsrNames[] = {
    {"fflags", csr::kFflags}, {"frm", csr::kFrm}, {"fcsr", csr::kFcsr}};

constexpr uint64_t kFflagsMask = 0x1f, kFrmMask = 0x7;
constexpr unsigned kFrmShift = 5;

std::vector<RegInfo> build_registers() {
  std::vector<RegInfo> regs;
  for (unsigned i = 0; i < 32; ++i) regs.push_back({i, kGprNames[i], RegKind::kGpr, i, 8});
  regs.push_back({kPcRegnum, "pc", RegKind::kPc, 0, 8});
  for (unsigned i = 0; i < 32; ++i)
    regs.push_back({kFirstFprRegnum + i, kFprNames[i], RegKind::kFpr, i, 8});
  for (const CsrName& c : kFpCsrNames)
    regs.push_back({kFirstCsrRegnum + c.csr, c.name, RegKind::kFpCsr, c.csr, 4});
  for (const CsrName& c : kCsrNames)
    regs.push_back({kFirstCsrRegnum + c.csr, c.name, RegKind::kCsr, c.csr, 8});
  regs.push_back({kPrivRegnum, "priv", RegKind::kPriv, 0, 8});
  std::sort(regs.begin(), regs.end(),
            [](const RegInfo& a, const RegInfo& b) { return a.regnum < b.regnum; });
  return regs;
}

const std::vector<RegInfo>& all_registers() {
  static const std::vector<RegInfo> regs = build_registers();
  return regs;
}

// gdb's own riscv-64bit-cpu.xml types: code pointers for ra/pc, data
// pointers for sp/gp/tp/fp, plain ints otherwise.
std::string_view gpr_type(unsigned i) {
  if (i == 1) return "code_ptr";
  if (i == 2 || i == 3 || i == 4 || i == 8) return "data_ptr";
  return "int";
}

std::string reg_xml(std::string_view name, unsigned bits, std::string_view type, uint32_t regnum,
                    std::string_view group = {}) {
  std::string s = "  <reg name=\"" + std::string(name) + "\" bitsize=\"" + std::to_string(bits) +
                  "\" type=\"" + std::string(type) + "\" regnum=\"" + std::to_string(regnum) + "\"";
  if (!group.empty()) s += " group=\"" + std::string(group) + "\"";
  return s + "/>\n";
}

std::string feature_xml(std::string_view name, const std::string& body) {
  return "<?xml version=\"1.0\"?>\n<!DOCTYPE feature SYSTEM \"gdb-target.dtd\">\n<feature name=\"" +
         std::string(name) + "\">\n" + body + "</feature>\n";
}

std::string cpu_xml() {
  std::string body;
  for (unsigned i = 0; i < 32; ++i) body += reg_xml(kGprNames[i], 64, gpr_type(i), i);
  body += reg_xml("pc", 64, "code_ptr", kPcRegnum);
  return feature_xml("org.gnu.gdb.riscv.cpu", body);
}

std::string fpu_xml() {
  std::string body =
      "  <union id=\"riscv_double\">\n"
      "    <field name=\"float\" type=\"ieee_single\"/>\n"
      "    <field name=\"double\" type=\"ieee_double\"/>\n"
      "  </union>\n";
  for (unsigned i = 0; i < 32; ++i)
    body += reg_xml(kFprNames[i], 64, "riscv_double", kFirstFprRegnum + i);
  for (const CsrName& c : kFpCsrNames) body += reg_xml(c.name, 32, "int", kFirstCsrRegnum + c.csr);
  return feature_xml("org.gnu.gdb.riscv.fpu", body);
}

std::string csr_xml() {
  std::string body;
  for (const CsrName& c : kCsrNames) body += reg_xml(c.name, 64, "int", kFirstCsrRegnum + c.csr);
  return feature_xml("org.gnu.gdb.riscv.csr", body);
}

std::string virtual_xml() {
  return feature_xml("org.gnu.gdb.riscv.virtual", reg_xml("priv", 64, "int", kPrivRegnum));
}

constexpr std::array<std::string_view, 5> kAnnexNames = {
    "target.xml", "riscv-64bit-cpu.xml", "riscv-64bit-fpu.xml", "riscv-64bit-csr.xml",
    "riscv-64bit-virtual.xml"};

std::string main_xml() {
  std::string s =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
      "<target version=\"1.0\">\n  <architecture>riscv:rv64</architecture>\n";
  for (size_t i = 1; i < kAnnexNames.size(); ++i)
    s += "  <xi:include href=\"" + std::string(kAnnexNames[i]) + "\"/>\n";
  return s + "</target>\n";
}

const std::array<std::string, 5>& annex_texts() {
  static const std::array<std::string, 5> texts = {main_xml(), cpu_xml(), fpu_xml(), csr_xml(),
                                                   virtual_xml()};
  return texts;
}

}  // namespace

std::span<const RegInfo> registers() { return all_registers(); }

const RegInfo* find_register(uint32_t regnum) {
  const auto& regs = all_registers();
  auto it = std::lower_bound(regs.begin(), regs.end(), regnum,
                             [](const RegInfo& r, uint32_t n) { return r.regnum < n; });
  return it != regs.end() && it->regnum == regnum ? &*it : nullptr;
}

std::optional<uint64_t> read_register(const HartState& h, const RegInfo& r) {
  switch (r.kind) {
    case RegKind::kGpr: return r.index == 0 ? 0 : h.x[r.index];
    case RegKind::kPc: return h.pc;
    case RegKind::kFpr: return h.f[r.index];
    case RegKind::kPriv: return static_cast<uint64_t>(h.priv);
    case RegKind::kCsr: return std::nullopt;
    case RegKind::kFpCsr: break;
  }
  if (r.index == csr::kFflags) return h.fflags;
  if (r.index == csr::kFrm) return h.frm;
  return uint64_t{h.fflags} | uint64_t{h.frm} << kFrmShift;
}

bool write_register(HartState& h, const RegInfo& r, uint64_t value) {
  switch (r.kind) {
    case RegKind::kGpr:
      if (r.index != 0) h.x[r.index] = value;
      return true;
    case RegKind::kPc: h.pc = value; return true;
    case RegKind::kFpr: h.f[r.index] = value; return true;
    case RegKind::kCsr:
    case RegKind::kPriv: return false;
    case RegKind::kFpCsr: break;
  }
  if (r.index == csr::kFflags || r.index == csr::kFcsr) h.fflags = value & kFflagsMask;
  if (r.index == csr::kFrm) h.frm = value & kFrmMask;
  if (r.index == csr::kFcsr) h.frm = (value >> kFrmShift) & kFrmMask;
  return true;
}

std::optional<std::string_view> target_xml_annex(std::string_view annex) {
  for (size_t i = 0; i < kAnnexNames.size(); ++i)
    if (annex == kAnnexNames[i]) return annex_texts()[i];
  return std::nullopt;
}

std::span<const std::string_view> target_xml_annexes() { return kAnnexNames; }

}  // namespace hs::rsp
