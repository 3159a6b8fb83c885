// virtio-blk (device ID 2, virtio 1.2 §5.2) over a Disk: one request queue
// of 256 entries, requests served synchronously when the driver notifies.
//
// Features: SEG_MAX (254 = queue size - 2, like QEMU), BLK_SIZE (512),
// FLUSH, and RO when the disk is readonly. Not offered: SIZE_MAX (segments
// may be any size), GEOMETRY, TOPOLOGY, CONFIG_WCE, MQ, DISCARD,
// WRITE_ZEROES, SECURE_ERASE, LIFETIME.
//
// Config space (only the fields up to blk_size are backed; the rest reads 0):
//   0x00 le64 capacity (512-byte sectors)   0x08 le32 size_max (0)
//   0x0c le32 seg_max   0x10 geometry (0)   0x14 le32 blk_size
//
// Requests: a 16-byte header (le32 type, le32 reserved, le64 sector) in the
// readable buffers, data, and a status byte as the last writable byte.
//   T_IN (0)      read: data length a multiple of 512, inside the disk
//   T_OUT (1)     write: same rules; IOERR on a readonly disk (§5.2.6.1)
//   T_FLUSH (4)   flush the overlay (fdatasync for a persistent one)
//   T_GET_ID (8)  up to 20 bytes of the ID string, NUL-padded
//   other types   UNSUPP
// A request with a bad range, unaligned length, or data buffers outside RAM
// gets IOERR. A request without a readable 16-byte header or without a
// writable status byte cannot be answered: it is returned with 0 bytes
// written and otherwise ignored. Host memory per request is bounded by one
// bounce buffer (data moves in kChunk pieces), and the total transfer by the
// disk size, so a hostile length cannot exhaust memory or stall the host.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "devices/disk.hpp"
#include "devices/virtio_mmio.hpp"

namespace hs {

class VirtioBlk : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint32_t kSegMax = kQueueSize - 2;  // header and status take two
  static constexpr uint32_t kBlkSize = 512;
  static constexpr uint64_t kChunk = 256 * 1024;  // bounce buffer size
  static constexpr size_t kIdBytes = 20;

  // Feature bits (§5.2.3).
  static constexpr uint64_t kFSizeMax = 1ull << 1;
  static constexpr uint64_t kFSegMax = 1ull << 2;
  static constexpr uint64_t kFRo = 1ull << 5;
  static constexpr uint64_t kFBlkSize = 1ull << 6;
  static constexpr uint64_t kFFlush = 1ull << 9;

  // Request types and status values (§5.2.6).
  static constexpr uint32_t kTIn = 0;
  static constexpr uint32_t kTOut = 1;
  static constexpr uint32_t kTFlush = 4;
  static constexpr uint32_t kTGetId = 8;
  static constexpr uint8_t kSOk = 0;
  static constexpr uint8_t kSIoErr = 1;
  static constexpr uint8_t kSUnsupp = 2;

  // Config space offsets.
  static constexpr uint32_t kCfgCapacity = 0x00;
  static constexpr uint32_t kCfgSizeMax = 0x08;
  static constexpr uint32_t kCfgSegMax = 0x0c;
  static constexpr uint32_t kCfgBlkSize = 0x14;
  static constexpr uint32_t kCfgSize = 0x3c;  // through write_zeroes_may_unmap (virtio 1.1)

  static constexpr uint64_t kHeaderSize = 16;

  // `id` is what GET_ID returns (QEMU's default serial is empty).
  explicit VirtioBlk(std::unique_ptr<Disk> disk, std::string id = "");

  uint32_t device_id() const override { return virtio::kIdBlock; }
  uint64_t features() const override;
  unsigned num_queues() const override { return 1; }
  uint16_t queue_max_size(unsigned) const override { return kQueueSize; }
  uint32_t config_size() const override { return kCfgSize; }
  void read_config(uint32_t offset, std::span<uint8_t> out) const override;
  void handle(unsigned q, VirtQueue& vq) override;

  Disk& disk() { return *disk_; }

 private:
  // Serves one request; returns the status and sets `written` to the data
  // bytes written to the guest (not counting the status byte).
  uint8_t serve(Bus& bus, const VirtqChain& c, uint32_t type, uint64_t sector, uint64_t& written);
  uint8_t transfer(Bus& bus, const VirtqChain& c, bool to_guest, uint64_t sector, uint64_t len);

  std::unique_ptr<Disk> disk_;
  std::string id_;
  std::vector<uint8_t> bounce_;
};

}  // namespace hs
