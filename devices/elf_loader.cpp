#include "devices/elf_loader.hpp"

#include <fmt/format.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/MemoryBuffer.h>

#include <algorithm>

#include "core/user_error.hpp"

namespace hs {

uint64_t GuestImage::low() const {
  uint64_t lo = UINT64_MAX;
  for (auto& s : segments) lo = std::min(lo, s.paddr);
  return segments.empty() ? 0 : lo;
}

uint64_t GuestImage::high() const {
  uint64_t hi = 0;
  for (auto& s : segments) hi = std::max(hi, s.paddr + s.bytes.size());
  return hi;
}

namespace {

GuestImage read_elf(const std::string& path, const llvm::object::ObjectFile& obj) {
  const auto* elf = llvm::dyn_cast<llvm::object::ELF64LEObjectFile>(&obj);
  if (!elf || obj.getArch() != llvm::Triple::riscv64)
    throw UserError(fmt::format("{}: not a RISC-V 64-bit ELF (architecture: {})", path,
                                llvm::Triple::getArchTypeName(obj.getArch()).str()));
  const auto& file = elf->getELFFile();
  GuestImage img;
  img.path = path;
  img.is_elf = true;
  img.entry = file.getHeader().e_entry;
  auto phdrs = file.program_headers();
  if (!phdrs) throw UserError(fmt::format("{}: {}", path, llvm::toString(phdrs.takeError())));
  const llvm::StringRef data = obj.getData();
  for (const auto& ph : *phdrs) {
    if (ph.p_type != llvm::ELF::PT_LOAD || ph.p_memsz == 0) continue;
    if (ph.p_filesz > ph.p_memsz || ph.p_offset > data.size() ||
        ph.p_filesz > data.size() - ph.p_offset)
      throw UserError(fmt::format("{}: corrupt program header (segment at offset {:#x})", path,
                                  uint64_t{ph.p_offset}));
    if (ph.p_memsz > (1ull << 36))
      throw UserError(fmt::format("{}: segment of {} bytes is too large", path, uint64_t{ph.p_memsz}));
    ImageSegment seg;
    seg.paddr = ph.p_paddr;
    seg.bytes.assign(data.begin() + ph.p_offset, data.begin() + ph.p_offset + ph.p_filesz);
    seg.bytes.resize(ph.p_memsz, 0);
    img.segments.push_back(std::move(seg));
  }
  if (img.segments.empty()) throw UserError(fmt::format("{}: ELF has no loadable segments", path));
  return img;
}

}  // namespace

GuestImage read_guest_image(const std::string& path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf) throw UserError(fmt::format("{}: {}", path, buf.getError().message()));
  const llvm::MemoryBufferRef ref = (*buf)->getMemBufferRef();
  if (llvm::identify_magic(ref.getBuffer()) == llvm::file_magic::elf_executable ||
      llvm::identify_magic(ref.getBuffer()) == llvm::file_magic::elf_relocatable ||
      llvm::identify_magic(ref.getBuffer()) == llvm::file_magic::elf_shared_object ||
      llvm::identify_magic(ref.getBuffer()) == llvm::file_magic::elf) {
    auto obj = llvm::object::ObjectFile::createObjectFile(ref);
    if (!obj) throw UserError(fmt::format("{}: {}", path, llvm::toString(obj.takeError())));
    return read_elf(path, **obj);
  }
  GuestImage img;
  img.path = path;
  ImageSegment seg;
  const llvm::StringRef data = ref.getBuffer();
  if (data.empty()) throw UserError(fmt::format("{}: file is empty", path));
  seg.bytes.assign(data.begin(), data.end());
  img.segments.push_back(std::move(seg));
  return img;
}

}  // namespace hs
