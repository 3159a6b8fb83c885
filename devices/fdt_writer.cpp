#include "devices/fdt_writer.hpp"

#include <libfdt.h>

#include <stdexcept>

namespace hs {

namespace {

constexpr size_t kInitialSize = 16 * 1024;

void check(const char* what, int err) {
  if (err < 0) throw std::runtime_error(std::string("libfdt ") + what + ": " + fdt_strerror(err));
}

}  // namespace

template <typename F>
void FdtWriter::call(const char* what, F&& f) {
  for (;;) {
    const int err = f(buf_.data());
    if (err != -FDT_ERR_NOSPACE) return check(what, err);
    // Sequential-write trees can move to a bigger buffer mid-construction.
    std::vector<uint8_t> bigger(buf_.size() * 2);
    check("fdt_resize", fdt_resize(buf_.data(), bigger.data(), static_cast<int>(bigger.size())));
    buf_ = std::move(bigger);
  }
}

FdtWriter::FdtWriter() : buf_(kInitialSize) {
  check("fdt_create", fdt_create(buf_.data(), static_cast<int>(buf_.size())));
  call("fdt_finish_reservemap", [](void* f) { return fdt_finish_reservemap(f); });
  begin_node("");
}

void FdtWriter::begin_node(const std::string& name) {
  call("fdt_begin_node", [&](void* f) { return fdt_begin_node(f, name.c_str()); });
}

void FdtWriter::end_node() {
  call("fdt_end_node", [](void* f) { return fdt_end_node(f); });
}

void FdtWriter::prop_bytes(const char* name, const void* data, size_t len) {
  call("fdt_property", [&](void* f) { return fdt_property(f, name, data, static_cast<int>(len)); });
}

void FdtWriter::prop_empty(const char* name) {
  static const char kNothing = 0;  // libfdt memcpy()s from it: never pass nullptr
  prop_bytes(name, &kNothing, 0);
}

void FdtWriter::prop_u32(const char* name, uint32_t v) { prop_cells(name, {v}); }

void FdtWriter::prop_u64(const char* name, uint64_t v) {
  prop_cells(name, {static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v)});
}

void FdtWriter::prop_cells(const char* name, std::initializer_list<uint32_t> cells) {
  std::vector<fdt32_t> be;
  be.reserve(cells.size());
  for (uint32_t c : cells) be.push_back(cpu_to_fdt32(c));
  prop_bytes(name, be.data(), be.size() * sizeof(fdt32_t));
}

void FdtWriter::prop_string(const char* name, std::string_view s) { prop_strings(name, {s}); }

void FdtWriter::prop_strings(const char* name, std::initializer_list<std::string_view> list) {
  std::string joined;
  for (std::string_view s : list) {
    joined.append(s);
    joined.push_back('\0');
  }
  prop_bytes(name, joined.data(), joined.size());
}

std::vector<uint8_t> FdtWriter::finish() {
  end_node();  // root
  call("fdt_finish", [](void* f) { return fdt_finish(f); });
  buf_.resize(fdt_totalsize(buf_.data()));
  return std::move(buf_);
}

}  // namespace hs
