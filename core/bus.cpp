#include "core/bus.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

namespace hs {

namespace {
bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) {
  return a < b + blen && b < a + alen;
}
std::atomic<uint64_t> next_bus_uid{1};
}  // namespace

Bus::Bus() : uid_(next_bus_uid++) {}

Bus::~Bus() {
  for (auto& m : memories_) munmap(m->host, m->size);
}

Bus::Memory& Bus::add_memory(std::string name, PAddr base, uint64_t size, bool writable) {
  for (auto& m : memories_)
    if (overlaps(base.v, size, m->base.v, m->size))
      throw std::invalid_argument(fmt::format("{} overlaps {}", name, m->name));
  for (auto& d : devices_)
    if (overlaps(base.v, size, d.base.v, d.size))
      throw std::invalid_argument(fmt::format("{} overlaps {}", name, d.dev->name()));
  // Anonymous mappings are zero-filled and only backed once touched, so a
  // large -m costs nothing up front.
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  auto m = std::make_unique<Memory>();
  m->name = std::move(name);
  m->base = base;
  m->size = size;
  m->host = static_cast<uint8_t*>(p);
  m->writable = writable;
  m->code.assign((size + kPageSize - 1) >> kPageShift, 0);
  m->table.assign(m->code.size(), 0);
  m->dirty.assign(m->code.size(), 0);
  memories_.push_back(std::move(m));
  return *memories_.back();
}

void Bus::add_device(PAddr base, uint64_t size, Device* dev) {
  for (auto& m : memories_)
    if (overlaps(base.v, size, m->base.v, m->size))
      throw std::invalid_argument(fmt::format("{} overlaps {}", dev->name(), m->name));
  for (auto& d : devices_)
    if (overlaps(base.v, size, d.base.v, d.size))
      throw std::invalid_argument(fmt::format("{} overlaps {}", dev->name(), d.dev->name()));
  devices_.push_back(Mapping{base, size, dev});
}

namespace {
constexpr unsigned kGranuleShift = 6;  // 64 granules of 64 bytes per page
// Granules of one page that [offset, offset + len) touches (offsets in page, len >= 1).
uint64_t granules(uint64_t offset, uint64_t len) {
  const uint64_t first = offset >> kGranuleShift;
  const uint64_t last = (offset + len - 1) >> kGranuleShift;
  const uint64_t upto = last >= 63 ? ~uint64_t{0} : (uint64_t{2} << last) - 1;
  return upto & ~((uint64_t{1} << first) - 1);
}
}  // namespace

Bus::Memory* Bus::find_memory(PAddr pa, uint64_t len) {
  for (auto& m : memories_)
    if (m->contains(pa, len)) return m.get();
  return nullptr;
}

const Bus::Mapping* Bus::find_device(PAddr pa, uint64_t len) const {
  for (auto& d : devices_)
    if (pa.v >= d.base.v && len <= d.size && pa.v - d.base.v <= d.size - len) return &d;
  return nullptr;
}

void Bus::note_write(Memory& m, uint64_t offset, uint64_t len) {
  for (uint64_t page = offset >> kPageShift; page <= (offset + len - 1) >> kPageShift; ++page) {
    const uint64_t lo = std::max(offset, page << kPageShift);
    const uint64_t hi = std::min(offset + len, (page + 1) << kPageShift);
    m.dirty[page] = dirty_gen_;
    if (m.table[page] && notify_table_writes) {
      const uint8_t bits = m.table[page];
      m.table[page] = 0;
      if (on_table_write) on_table_write(PAddr{m.base.v + (page << kPageShift)}, bits);
    }
    if (!(m.code[page] & granules(lo & (kPageSize - 1), hi - lo))) continue;
    m.code[page] = 0;
    if (on_code_write) on_code_write(PAddr{m.base.v + (page << kPageShift)});
  }
}

bool Bus::read(PAddr pa, unsigned size, uint64_t& value) {
  if (Memory* m = find_memory(pa, size)) {
    value = 0;
    std::memcpy(&value, m->host + (pa.v - m->base.v), size);
    return true;
  }
  if (const Mapping* d = find_device(pa, size)) return d->dev->read(pa.v - d->base.v, size, value);
  return false;
}

bool Bus::write(PAddr pa, unsigned size, uint64_t value) {
  if (Memory* m = find_memory(pa, size)) {
    if (!m->writable) return false;
    const uint64_t off = pa.v - m->base.v;
    note_write(*m, off, size);
    std::memcpy(m->host + off, &value, size);
    return true;
  }
  if (const Mapping* d = find_device(pa, size)) return d->dev->write(pa.v - d->base.v, size, value);
  return false;
}

bool Bus::write_bytes(PAddr pa, std::span<const uint8_t> data) { return copy_in(pa, data, false); }

bool Bus::load_bytes(PAddr pa, std::span<const uint8_t> data) { return copy_in(pa, data, true); }

bool Bus::copy_in(PAddr pa, std::span<const uint8_t> data, bool even_readonly) {
  if (data.empty()) return true;
  Memory* m = find_memory(pa, data.size());
  if (!m || !(m->writable || even_readonly)) return false;
  const uint64_t off = pa.v - m->base.v;
  note_write(*m, off, data.size());
  std::memcpy(m->host + off, data.data(), data.size());
  return true;
}

bool Bus::read_bytes(PAddr pa, std::span<uint8_t> out) {
  if (out.empty()) return true;
  Memory* m = find_memory(pa, out.size());
  if (!m) return false;
  std::memcpy(out.data(), m->host + (pa.v - m->base.v), out.size());
  return true;
}

void Bus::zero_pages(Memory& m, uint64_t first, uint64_t count) {
  if (count == 0) return;
  uint8_t* p = m.host + (first << kPageShift);
  const uint64_t len = std::min(count << kPageShift, m.size - (first << kPageShift));
  // MADV_DONTNEED on a private anonymous mapping makes the range read as
  // zeros again; it needs host-page alignment, else (or if it fails) memset.
  const uint64_t host_page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const bool aligned = reinterpret_cast<uintptr_t>(p) % host_page == 0 && len % host_page == 0;
  if (!aligned || madvise(p, len, MADV_DONTNEED) != 0) std::memset(p, 0, len);
  std::fill(m.dirty.begin() + static_cast<ptrdiff_t>(first),
            m.dirty.begin() + static_cast<ptrdiff_t>(first + count), dirty_gen_);
}

void Bus::mark_code(PAddr pa, uint64_t len) {
  Memory* m = find_memory(pa);
  if (!m || len == 0) return;
  const uint64_t in_page = pa.v & (kPageSize - 1);
  m->code[(pa.v - m->base.v) >> kPageShift] |= granules(in_page, std::min(len, kPageSize - in_page));
}

bool Bus::mark_table_page(Memory& m, uint64_t offset, uint8_t bits) {
  uint8_t& t = m.table[offset >> kPageShift];
  const bool fresh = t == 0;
  t |= bits;
  return fresh;
}

bool Bus::is_code_page(PAddr pa) {
  Memory* m = find_memory(pa);
  return m && m->code[(pa.v - m->base.v) >> kPageShift];
}

}  // namespace hs
