// Guest image files: RISC-V ELF executables (read with LLVM's object library)
// and raw binaries. This is the only place that includes LLVM headers for the
// CLI; nothing here exposes them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hs {

struct ImageSegment {
  uint64_t paddr = 0;
  std::vector<uint8_t> bytes;  // file bytes followed by zero fill up to memsz
};

struct GuestImage {
  std::string path;
  bool is_elf = false;
  uint64_t entry = 0;                 // ELF entry point (ELF only)
  std::vector<ImageSegment> segments;  // ELF: PT_LOAD segments; raw: one at offset 0
  uint64_t low() const;
  uint64_t high() const;  // one past the last byte
};

// Reads `path`. An ELF must be a 64-bit little-endian RISC-V executable; any
// other file is a raw image (its segment's paddr is 0, to be placed by the
// caller). Throws UserError naming the file on any problem.
GuestImage read_guest_image(const std::string& path);

}  // namespace hs
