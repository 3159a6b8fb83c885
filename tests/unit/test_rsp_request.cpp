// gdb remote protocol requests and replies (rsp/request) and the RISC-V
// target description with its register numbering (rsp/target_xml),
// including loading the description into gdb-multiarch when it is installed.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/csr.hpp"
#include "rsp/packet.hpp"
#include "rsp/request.hpp"
#include "rsp/target_xml.hpp"

using namespace hs::rsp;
using hs::HartState;
using hs::Priv;
using Action = VContAction::Kind;

namespace {

using Bytes = std::vector<uint8_t>;

VContAction action(Action kind, std::optional<ThreadId> thread = std::nullopt,
                   std::optional<uint8_t> signal = std::nullopt) {
  VContAction a;
  a.kind = kind;
  a.thread = thread;
  a.signal = signal;
  return a;
}

ThreadId tid(int64_t t) { return ThreadId{std::nullopt, t}; }

void check_parses(const std::vector<std::pair<std::string, Request>>& cases) {
  for (const auto& [payload, expected] : cases) {
    INFO("payload: " << payload);
    CHECK(parse_request(payload) == expected);
  }
}

void check_malformed(const std::vector<std::string>& payloads) {
  for (const auto& payload : payloads) {
    INFO("payload: " << payload);
    CHECK(std::holds_alternative<Malformed>(parse_request(payload)));
  }
}

}  // namespace

TEST_CASE("rsp request: registers and memory", "[rsp]") {
  check_parses({
      {"?", QueryHaltReason{}},
      {"g", ReadRegisters{}},
      {"G0011ff", WriteRegisters{Bytes{0x00, 0x11, 0xff}}},
      {"p20", ReadRegister{0x20}},
      {"p1041", ReadRegister{4161}},
      {"P20=0010000080000000", WriteRegister{32, Bytes{0, 0x10, 0, 0, 0x80, 0, 0, 0}}},
      {"m80000000,4", ReadMemory{0x80000000, 4}},
      {"m0,0", ReadMemory{0, 0}},
      {"m0,10000", ReadMemory{0, 0x10000}},
      {"mffffffffffffffff,1", ReadMemory{~0ull, 1}},
      {"M80000000,2:abCD", WriteMemory{0x80000000, Bytes{0xab, 0xcd}}},
      {"X80000000,0:", WriteMemory{0x80000000, {}}},
      {std::string("X10,4:a:#\0", 10), WriteMemory{0x10, Bytes{'a', ':', '#', 0}}},
  });
}

TEST_CASE("rsp request: malformed register and memory packets", "[rsp]") {
  check_malformed({"G", "G0", "G0g", "p", "pxyz", "p100000000", "p-1", "P20", "P20=", "P=00",
                   "P20=0", "Pzz=00", "m", "m80000000", "m80000000,", "m,4", "mzz,4",
                   "m10000000000000000,1", "m0,10001", "mffffffffffffffff,2", "m0,4,", "M0,2:ab",
                   "M0,1:zz", "M0,1", "M0,10001:00", "X0,2:a", "X0,1", "X0,10001:a"});
  CHECK(parse_request("m0,10001") == Request{Malformed{"m: memory length above 64 KiB"}});
  CHECK(parse_request("mffffffffffffffff,2") == Request{Malformed{"m: memory range wraps around"}});
  CHECK(parse_request("M0,2:ab") == Request{Malformed{"M: length mismatch"}});
}

TEST_CASE("rsp request: execution control", "[rsp]") {
  check_parses({
      {"c", Continue{}},
      {"c80000000", Continue{0x80000000}},
      {"s", Step{}},
      {"s1000", Step{0x1000}},
      {"bc", ReverseContinue{}},
      {"bs", ReverseStep{}},
      {"vCont?", VContQuery{}},
      {"vCont;c", VCont{{action(Action::kContinue)}}},
      {"vCont;s:1;c", VCont{{action(Action::kStep, tid(1)), action(Action::kContinue)}}},
      {"vCont;C05:p1.2;S0b",
       VCont{{action(Action::kContinue, ThreadId{1, 2}, 5), action(Action::kStep, {}, 0x0b)}}},
      {"vCont;c:p1", VCont{{action(Action::kContinue, ThreadId{1, ThreadId::kAll})}}},
      {"vCont;t:-1", VCont{{action(Action::kStop, tid(ThreadId::kAll))}}},
  });
  auto range = parse_request("vCont;r1000,1010:1");
  REQUIRE(std::holds_alternative<VCont>(range));
  const auto& r = std::get<VCont>(range).actions.at(0);
  CHECK(r.kind == Action::kRange);
  CHECK(r.range_start == 0x1000);
  CHECK(r.range_end == 0x1010);
  CHECK(r.thread == tid(1));
  check_malformed({"cxyz", "s-1", "c10000000000000000", "vCont;", "vCont;x", "vCont;C",
                   "vCont;Cxyz", "vCont;C100", "vCont;c5", "vCont;c:", "vCont;s:zz", "vCont;c;",
                   "vCont;r1000", "vCont;rzz,1"});
}

TEST_CASE("rsp request: breakpoints and watchpoints", "[rsp]") {
  auto z = [](BreakType t, uint64_t addr, uint64_t kind) { return Breakpoint{t, addr, kind}; };
  check_parses({
      {"Z0,80000000,4", InsertBreakpoint{z(BreakType::kSoftware, 0x80000000, 4)}},
      {"z0,80000000,2", RemoveBreakpoint{z(BreakType::kSoftware, 0x80000000, 2)}},
      {"Z1,1000,4", InsertBreakpoint{z(BreakType::kHardware, 0x1000, 4)}},
      {"Z2,80001000,8", InsertBreakpoint{z(BreakType::kWrite, 0x80001000, 8)}},
      {"Z3,80001000,4", InsertBreakpoint{z(BreakType::kRead, 0x80001000, 4)}},
      {"z4,80001000,1", RemoveBreakpoint{z(BreakType::kAccess, 0x80001000, 1)}},
  });
  check_malformed({"Z", "Z0", "Z0,0", "Z5,0,4", "Z00,1,1", "z0,1000,", "Z0,zz,4", "Z0,1,4;X"});
}

TEST_CASE("rsp request: queries, threads and session packets", "[rsp]") {
  check_parses({
      {"qSupported", QuerySupported{}},
      {"qSupported:multiprocess+;swbreak+;xmlRegisters=i386",
       QuerySupported{{"multiprocess+", "swbreak+", "xmlRegisters=i386"}}},
      {"qXfer:features:read:target.xml:0,ffb", XferRead{"features", "target.xml", 0, 0xffb}},
      {"qXfer:features:read::10,20", XferRead{"features", "", 0x10, 0x20}},
      {"qXfer:features:write:target.xml:0:abc", Unknown{"qXfer:features:write:target.xml:0:abc"}},
      {"qRcmd,696e666f207265706c6179", MonitorCommand{"info replay"}},
      {"qRcmd,", MonitorCommand{""}},
      {"qAttached", QueryAttached{}},
      {"qAttached:1", QueryAttached{1}},
      {"qC", QueryCurrentThread{}},
      {"qfThreadInfo", ThreadInfoFirst{}},
      {"qsThreadInfo", ThreadInfoNext{}},
      {"QStartNoAckMode", StartNoAckMode{}},
      {"Hg0", SetThread{'g', tid(ThreadId::kAny)}},
      {"Hc-1", SetThread{'c', tid(ThreadId::kAll)}},
      {"Hgp1.1", SetThread{'g', ThreadId{1, 1}}},
      {"T1", ThreadAlive{tid(1)}},
      {"D", Detach{}},
      {"D;1", Detach{1}},
      {"k", Kill{}},
      {"qOffsets", QueryOffsets{}},
      {"qSymbol::", QuerySymbol{}},
      {"vMustReplyEmpty", MustReplyEmpty{}},
      {"qTStatus", TraceStatus{}},
      {"vKill", VKill{}},
      {"vKill;a", VKill{10}},
  });
  check_malformed({"qXfer:features", "qXfer:features:read:target.xml",
                   "qXfer:features:read:target.xml:0", "qXfer:features:read:target.xml:x,1",
                   "qRcmd,6", "qRcmd,zz", "qAttached:", "H", "Hx0", "Hg", "Hgzz",
                   "Hg8000000000000000", "T", "Tp", "Tp1.", "D;", "D;xyz", "vKill;", "vKill;q"});
}

TEST_CASE("rsp request: unrecognised packets are Unknown", "[rsp]") {
  for (std::string p : {"", "qCRC:0,4", "vCont", "QNonStop:0", "qL1200000000000000000", "!",
                        "gX", "C05", "vFile:open:2f,0,0", "qTfV", "b", "qSupportedX"}) {
    INFO("payload: " << p);
    CHECK(parse_request(p) == Request{Unknown{p}});
  }
}

TEST_CASE("rsp request: qSupported feature lookup", "[rsp]") {
  QuerySupported q{{"swbreak+", "hwbreak-", "xmlRegisters=i386", "vContSupported+"}};
  CHECK(q.has("swbreak"));
  CHECK(q.has("vContSupported"));
  CHECK_FALSE(q.has("hwbreak"));
  CHECK_FALSE(q.has("xmlRegisters"));
  CHECK_FALSE(q.has("swbrea"));
}

TEST_CASE("rsp request: hex helpers", "[rsp]") {
  CHECK(parse_hex_u64("ffffffffffffffff") == ~0ull);
  CHECK(parse_hex_u64("00000000000000000001") == 1u);
  CHECK(parse_hex_u64("DeadBeef") == 0xdeadbeefu);
  CHECK_FALSE(parse_hex_u64("10000000000000000").has_value());
  CHECK_FALSE(parse_hex_u64("").has_value());
  CHECK_FALSE(parse_hex_u64("+1").has_value());
  CHECK(decode_hex("0aFf") == Bytes{0x0a, 0xff});
  CHECK(decode_hex("") == Bytes{});
  CHECK_FALSE(decode_hex("abc").has_value());
  CHECK_FALSE(decode_hex("0g").has_value());
  CHECK(encode_hex(Bytes{0x00, 0x7f, 0xff}) == "007fff");
  CHECK(encode_hex(std::string_view("OK\n")) == "4f4b0a");
}

TEST_CASE("rsp reply: simple replies and register values", "[rsp]") {
  CHECK(reply::ok() == "OK");
  CHECK(reply::error(1) == "E01");
  CHECK(reply::error(0x1f) == "E1f");
  CHECK(reply::reg_hex(0x0102030405060708ull, 8) == "0807060504030201");
  CHECK(reply::reg_hex(0x1f, 4) == "1f000000");
  CHECK(reply::reg_hex(0x80000000, 8) == "0000008000000000");
  CHECK(reply::reg_unavailable(4) == "xxxxxxxx");
  CHECK(reply::signal_stop(5) == "S05");
  CHECK(reply::exited(0) == "W00");
  CHECK(reply::exited(3) == "W03");
  CHECK(reply::vcont_actions() == "vCont;c;C;s;S");
  CHECK(reply::monitor_output("") == "OK");
  CHECK(reply::monitor_output("hi\n") == "68690a");
  CHECK(reply::supported(kMaxPayload) ==
        "PacketSize=10000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;"
        "ReverseStep+;ReverseContinue+;vContSupported+");
}

TEST_CASE("rsp reply: stop replies", "[rsp]") {
  using reply::Stop;
  using reply::StopReason;
  auto stop = [](StopReason r, uint64_t addr = 0) {
    Stop s;
    s.reason = r;
    s.watch_addr = addr;
    return reply::stop(s);
  };
  CHECK(stop(StopReason::kNone) == "T05thread:1;");
  CHECK(stop(StopReason::kSwBreak) == "T05thread:1;swbreak:;");
  CHECK(stop(StopReason::kHwBreak) == "T05thread:1;hwbreak:;");
  CHECK(stop(StopReason::kWatch, 0x80001000) == "T05thread:1;watch:80001000;");
  CHECK(stop(StopReason::kReadWatch, 0x10) == "T05thread:1;rwatch:10;");
  CHECK(stop(StopReason::kAccessWatch, 0) == "T05thread:1;awatch:0;");
  CHECK(stop(StopReason::kReplayBegin) == "T05thread:1;replaylog:begin;");
  CHECK(stop(StopReason::kReplayEnd) == "T05thread:1;replaylog:end;");

  Stop s;
  s.signal = kSigInt;
  s.thread.reset();
  s.registers = {{kPcRegnum, reply::reg_hex(0x80000000, 8)}, {2, reply::reg_hex(0x10, 8)}};
  CHECK(reply::stop(s) == "T0220:0000008000000000;2:1000000000000000;");
}

TEST_CASE("rsp reply: console output packets", "[rsp]") {
  CHECK(reply::console_output("hi\n") == std::vector<std::string>{"O68690a"});
  CHECK(reply::console_output("") == std::vector<std::string>{});
  // max_payload 5 leaves room for 2 bytes of text per packet.
  CHECK(reply::console_output("hello", 5) == std::vector<std::string>{"O6865", "O6c6c", "O6f"});
}

TEST_CASE("rsp reply: qXfer chunks", "[rsp]") {
  CHECK(reply::xfer_chunk("abcdef", 0, 4) == "mabcd");
  CHECK(reply::xfer_chunk("abcdef", 4, 4) == "lef");
  CHECK(reply::xfer_chunk("abcdef", 0, 6) == "labcdef");
  CHECK(reply::xfer_chunk("abcdef", 6, 4) == "l");
  CHECK(reply::xfer_chunk("abcdef", 7, 1) == "E01");
  CHECK(reply::xfer_chunk("abcdef", 2, 0) == "m");
  CHECK(reply::xfer_chunk("abcdef", 0, ~0ull) == "labcdef");

  // Reassembling target.xml from 100-byte chunks, as gdb does.
  const std::string_view doc = *target_xml_annex("target.xml");
  std::string got;
  for (uint64_t off = 0;;) {
    const std::string chunk = reply::xfer_chunk(doc, off, 100);
    REQUIRE((chunk[0] == 'm' || chunk[0] == 'l'));
    got += chunk.substr(1);
    off += chunk.size() - 1;
    if (chunk[0] == 'l') break;
    REQUIRE(chunk.size() == 101);
  }
  CHECK(got == doc);
}

// ---- target description and register numbering ----

TEST_CASE("rsp target: register numbering follows gdb's riscv conventions", "[rsp]") {
  struct Expect {
    uint32_t regnum;
    std::string_view name;
    RegKind kind;
    unsigned index, size;
  };
  const Expect expected[] = {
      {0, "zero", RegKind::kGpr, 0, 8},       {1, "ra", RegKind::kGpr, 1, 8},
      {2, "sp", RegKind::kGpr, 2, 8},         {8, "fp", RegKind::kGpr, 8, 8},
      {31, "t6", RegKind::kGpr, 31, 8},       {32, "pc", RegKind::kPc, 0, 8},
      {33, "ft0", RegKind::kFpr, 0, 8},       {42, "fs1", RegKind::kFpr, 9, 8},
      {64, "ft11", RegKind::kFpr, 31, 8},     {66, "fflags", RegKind::kFpCsr, 1, 4},
      {67, "frm", RegKind::kFpCsr, 2, 4},     {68, "fcsr", RegKind::kFpCsr, 3, 4},
      {321, "sstatus", RegKind::kCsr, 0x100, 8}, {449, "satp", RegKind::kCsr, 0x180, 8},
      {833, "mstatus", RegKind::kCsr, 0x300, 8}, {901, "mip", RegKind::kCsr, 0x344, 8},
      {1024, "pmpaddr15", RegKind::kCsr, 0x3bf, 8}, {3137, "cycle", RegKind::kCsr, 0xc00, 8},
      {3925, "mhartid", RegKind::kCsr, 0xf14, 8}, {4161, "priv", RegKind::kPriv, 0, 8},
  };
  for (const Expect& e : expected) {
    INFO("regnum " << e.regnum);
    const RegInfo* r = find_register(e.regnum);
    REQUIRE(r != nullptr);
    CHECK(r->regnum == e.regnum);
    CHECK(r->name == e.name);
    CHECK(r->kind == e.kind);
    CHECK(r->index == e.index);
    CHECK(r->size == e.size);
  }
  CHECK(find_register(65) == nullptr);
  CHECK(find_register(69) == nullptr);
  CHECK(find_register(4160) == nullptr);
  CHECK(find_register(5000) == nullptr);

  const auto regs = registers();
  CHECK(regs.size() == 33 + 32 + 3 + 57 + 1);  // x+pc, f, fp CSRs, other CSRs, priv
  for (size_t i = 1; i < regs.size(); ++i) CHECK(regs[i - 1].regnum < regs[i].regnum);
  CHECK(kGPacketBytes == 264u);
}

TEST_CASE("rsp target: reading and writing registers held in HartState", "[rsp]") {
  HartState h;
  h.x[5] = 0x1234;
  h.pc = 0x80000000;
  h.f[3] = 0xffffffff3f800000ull;  // NaN-boxed 1.0f
  h.fflags = 0x11;
  h.frm = 0x3;
  h.priv = Priv::S;
  CHECK(read_register(h, *find_register(0)) == 0u);
  CHECK(read_register(h, *find_register(5)) == 0x1234u);
  CHECK(read_register(h, *find_register(kPcRegnum)) == 0x80000000u);
  CHECK(read_register(h, *find_register(kFirstFprRegnum + 3)) == 0xffffffff3f800000ull);
  CHECK(read_register(h, *find_register(66)) == 0x11u);
  CHECK(read_register(h, *find_register(67)) == 0x3u);
  CHECK(read_register(h, *find_register(68)) == 0x71u);  // frm << 5 | fflags
  CHECK(read_register(h, *find_register(kPrivRegnum)) == 1u);
  CHECK_FALSE(read_register(h, *find_register(833)).has_value());  // mstatus: via the Hart

  CHECK(write_register(h, *find_register(0), 7));
  CHECK(h.x[0] == 0u);
  CHECK(write_register(h, *find_register(31), 0xabc));
  CHECK(h.x[31] == 0xabcu);
  CHECK(write_register(h, *find_register(kPcRegnum), 0x80000004));
  CHECK(h.pc == 0x80000004u);
  CHECK(write_register(h, *find_register(kFirstFprRegnum), 0x4000000000000000ull));
  CHECK(h.f[0] == 0x4000000000000000ull);
  CHECK(write_register(h, *find_register(68), 0xff));
  CHECK(h.fflags == 0x1f);
  CHECK(h.frm == 0x7);
  CHECK(write_register(h, *find_register(66), 0x2));
  CHECK(h.fflags == 0x2);
  CHECK(h.frm == 0x7);
  CHECK_FALSE(write_register(h, *find_register(kPrivRegnum), 3));
  CHECK_FALSE(write_register(h, *find_register(833), 0));
  CHECK(h.priv == Priv::S);
}

namespace {

// Checks that tags nest properly (ignoring <?...?> and <!...>); returns the
// outermost element names seen at depth 0.
std::vector<std::string> check_tags(std::string_view xml) {
  std::vector<std::string> stack, roots;
  for (size_t at = xml.find('<'); at != std::string_view::npos; at = xml.find('<', at + 1)) {
    const size_t end = xml.find('>', at);
    REQUIRE(end != std::string_view::npos);
    const std::string_view tag = xml.substr(at + 1, end - at - 1);
    if (tag[0] == '?' || tag[0] == '!') continue;
    const std::string name(tag.substr(tag[0] == '/', tag.find_first_of(" />", 1) - (tag[0] == '/')));
    if (tag[0] == '/') {
      REQUIRE_FALSE(stack.empty());
      CHECK(stack.back() == name);
      stack.pop_back();
    } else {
      if (stack.empty()) roots.push_back(name);
      if (tag.back() != '/') stack.push_back(name);
    }
  }
  CHECK(stack.empty());
  return roots;
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

}  // namespace

TEST_CASE("rsp target: the XML annexes are well formed", "[rsp]") {
  const auto names = target_xml_annexes();
  REQUIRE(names.size() == 5);
  CHECK(names[0] == "target.xml");
  CHECK(check_tags(*target_xml_annex("target.xml")) == std::vector<std::string>{"target"});
  for (size_t i = 1; i < names.size(); ++i) {
    INFO(names[i]);
    const std::string_view xml = *target_xml_annex(names[i]);
    CHECK(check_tags(xml) == std::vector<std::string>{"feature"});
    CHECK(std::string(*target_xml_annex("target.xml")).find("href=\"" + std::string(names[i])) !=
          std::string::npos);
  }
  CHECK(target_xml_annex("target.xml")->find("<architecture>riscv:rv64</architecture>") !=
        std::string_view::npos);
  CHECK(target_xml_annex("riscv-64bit-virtual.xml")
            ->find("<reg name=\"priv\" bitsize=\"64\" type=\"int\" regnum=\"4161\"/>") !=
        std::string_view::npos);
  CHECK(target_xml_annex("riscv-64bit-fpu.xml")
            ->find("<reg name=\"fcsr\" bitsize=\"32\" type=\"int\" regnum=\"68\"/>") !=
        std::string_view::npos);
  CHECK_FALSE(target_xml_annex("nope.xml").has_value());
  // Every described register appears in exactly one annex.
  for (const RegInfo& r : registers()) {
    int found = 0;
    for (size_t i = 1; i < names.size(); ++i)
      found += target_xml_annex(names[i])->find("name=\"" + std::string(r.name) + "\"") !=
               std::string_view::npos;
    CHECK(found == 1);
  }
}

TEST_CASE("rsp target: gdb-multiarch loads the description", "[rsp][gdb]") {
  if (std::system("command -v gdb-multiarch >/dev/null 2>&1") != 0) {
    WARN("gdb-multiarch not installed: target description load test skipped");
    return;
  }
  char tmpl[] = "/tmp/hs-tdesc-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::filesystem::path dir = tmpl;
  for (std::string_view name : target_xml_annexes())
    std::ofstream(dir / std::string(name)) << *target_xml_annex(name);
  const std::string out =
      run("gdb-multiarch -nx -batch -ex 'set architecture riscv:rv64' -ex 'set tdesc filename " +
          (dir / "target.xml").string() + "' -ex 'maint print remote-registers' 2>&1");
  std::filesystem::remove_all(dir);
  INFO(out);
  CHECK(out.find("warning") == std::string::npos);
  CHECK(out.find("rror") == std::string::npos);

  // Lines: Name Nr Rel Offset Size Type Rmt-Nr g/G-Offset. gdb's own number
  // must equal our remote number (so gdb recognised each register by name).
  std::map<std::string, std::vector<std::string>> rows;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string s; words >> s;) w.push_back(s);
    if (w.size() >= 8 && w[0] != "Name") rows[w[0]] = w;
  }
  for (const RegInfo& r : registers()) {
    INFO("register " << r.name);
    REQUIRE(rows.count(std::string(r.name)) == 1);
    const auto& w = rows[std::string(r.name)];
    CHECK(w[1] == std::to_string(r.regnum));
    CHECK(w[4] == std::to_string(r.size));
    CHECK(w[w.size() - 2] == std::to_string(r.regnum));
  }
  CHECK(rows.count("priv") == 1);
}
