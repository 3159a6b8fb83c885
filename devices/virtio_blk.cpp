#include "devices/virtio_blk.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace hs {

VirtioBlk::VirtioBlk(std::unique_ptr<Disk> disk, std::string id)
    : disk_(std::move(disk)), id_(std::move(id)) {}

uint64_t VirtioBlk::features() const {
  return kFSegMax | kFBlkSize | kFFlush | (disk_->readonly() ? kFRo : 0);
}

void VirtioBlk::read_config(uint32_t offset, std::span<uint8_t> out) const {
  std::array<uint8_t, kCfgSize> cfg{};
  const uint64_t capacity = disk_->sectors();
  const uint32_t seg_max = kSegMax, blk_size = kBlkSize;
  std::memcpy(&cfg[kCfgCapacity], &capacity, 8);
  std::memcpy(&cfg[kCfgSegMax], &seg_max, 4);
  std::memcpy(&cfg[kCfgBlkSize], &blk_size, 4);
  std::memcpy(out.data(), cfg.data() + offset, out.size());  // the transport range-checked
}

void VirtioBlk::handle(unsigned, VirtQueue& vq) {
  Bus& bus = vq.bus();
  VirtqChain c;
  while (vq.pop(c) == VirtQueue::Pop::kChain) {
    uint8_t hdr[kHeaderSize];
    if (c.readable_len < kHeaderSize || c.writable_len < 1 || !gather(bus, c.readable, 0, hdr)) {
      vq.push(c.head, 0);  // nowhere to report a status: return it untouched
      continue;
    }
    uint32_t type;
    uint64_t sector;
    std::memcpy(&type, hdr, 4);
    std::memcpy(&sector, hdr + 8, 8);
    uint64_t written = 0;
    const uint8_t status = serve(bus, c, type, sector, written);
    if (!scatter(bus, c.writable, c.writable_len - 1, std::span<const uint8_t>(&status, 1))) {
      vq.push(c.head, 0);
      continue;
    }
    vq.push(c.head, static_cast<uint32_t>(std::min<uint64_t>(written + 1, UINT32_MAX)));
  }
}

uint8_t VirtioBlk::serve(Bus& bus, const VirtqChain& c, uint32_t type, uint64_t sector,
                         uint64_t& written) {
  switch (type) {
    case kTIn: {
      const uint64_t len = c.writable_len - 1;
      const uint8_t st = transfer(bus, c, /*to_guest=*/true, sector, len);
      if (st == kSOk) written = len;
      return st;
    }
    case kTOut:
      if (disk_->readonly()) return kSIoErr;
      return transfer(bus, c, /*to_guest=*/false, sector, c.readable_len - kHeaderSize);
    case kTFlush:
      return disk_->flush() ? kSOk : kSIoErr;
    case kTGetId: {
      uint8_t id[kIdBytes] = {};
      std::memcpy(id, id_.data(), std::min(id_.size(), kIdBytes));
      const uint64_t n = std::min<uint64_t>(kIdBytes, c.writable_len - 1);
      if (!scatter(bus, c.writable, 0, std::span<const uint8_t>(id, n))) return kSIoErr;
      written = n;
      return kSOk;
    }
    default:
      return kSUnsupp;
  }
}

uint8_t VirtioBlk::transfer(Bus& bus, const VirtqChain& c, bool to_guest, uint64_t sector,
                            uint64_t len) {
  const uint64_t sectors = disk_->sectors();
  if (len % Disk::kSectorSize || sector > sectors || len / Disk::kSectorSize > sectors - sector)
    return kSIoErr;
  bounce_.resize(kChunk);
  const uint64_t base = sector * Disk::kSectorSize;
  for (uint64_t pos = 0; pos < len; pos += kChunk) {
    const std::span<uint8_t> buf(bounce_.data(), std::min(kChunk, len - pos));
    if (to_guest) {
      if (!disk_->read(base + pos, buf) || !scatter(bus, c.writable, pos, buf)) return kSIoErr;
    } else {
      if (!gather(bus, c.readable, kHeaderSize + pos, buf) || !disk_->write(base + pos, buf))
        return kSIoErr;
    }
  }
  return kSOk;
}

}  // namespace hs
