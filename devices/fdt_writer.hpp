// A thin RAII wrapper over libfdt's sequential-write API, so the board can
// describe its device tree as a straight list of nodes and properties.
// Any libfdt error is a host bug (a malformed tree we built ourselves): it
// throws std::runtime_error naming the call and libfdt's message.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

class FdtWriter {
 public:
  // Starts a tree with an empty reserve map and opens the root node.
  FdtWriter();

  void begin_node(const std::string& name);
  void end_node();

  void prop_empty(const char* name);  // boolean property ("ranges", "interrupt-controller")
  void prop_u32(const char* name, uint32_t v);
  void prop_u64(const char* name, uint64_t v);
  void prop_cells(const char* name, std::initializer_list<uint32_t> cells);
  void prop_string(const char* name, std::string_view s);
  // A string list: each entry NUL-terminated ("compatible").
  void prop_strings(const char* name, std::initializer_list<std::string_view> list);
  void prop_bytes(const char* name, const void* data, size_t len);

  // Closes the root node and returns the finished blob, trimmed to its
  // totalsize. The writer is unusable afterwards.
  std::vector<uint8_t> finish();

 private:
  // Runs a libfdt call, growing the buffer and retrying on FDT_ERR_NOSPACE.
  template <typename F>
  void call(const char* what, F&& f);

  std::vector<uint8_t> buf_;
};

}  // namespace hs
