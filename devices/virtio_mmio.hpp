// virtio-mmio transport, version 2 (virtio 1.2 §4.2.2), with split
// virtqueues (§2.7), and the small interface device backends implement.
//
// One VirtioMmio is one 0x1000-byte slot of QEMU virt's virtio-mmio window;
// it may be empty (no backend: DeviceID 0, which Linux skips, as QEMU does
// for unused slots). A backend (VirtioDevice) provides its ID, feature bits,
// config space and queue count, and handles a queue when the driver
// notifies it.
//
// Register map (32-bit accesses; config space at 0x100 takes 1/2/4/8 bytes):
//   0x000 MagicValue "virt"     0x004 Version (2)     0x008 DeviceID
//   0x00c VendorID "QEMU"       0x010 DeviceFeatures  0x014 DeviceFeaturesSel
//   0x020 DriverFeatures        0x024 DriverFeaturesSel
//   0x030 QueueSel  0x034 QueueNumMax  0x038 QueueNum  0x044 QueueReady
//   0x050 QueueNotify  0x060 InterruptStatus  0x064 InterruptACK
//   0x070 Status (writing 0 resets the device)
//   0x080/0x084 QueueDesc  0x090/0x094 QueueDriver  0x0a0/0x0a4 QueueDevice
//   0x0ac SHMSel  0x0b0/0x0b4 SHMLen  0x0b8/0x0bc SHMBase (no regions: all ones)
//   0x0fc ConfigGeneration (config never changes: 0)
// Like QEMU, other access sizes and unknown offsets read as zero and ignore
// stores rather than faulting.
//
// Features offered on top of the backend's: VIRTIO_F_VERSION_1 (bit 32,
// required: no legacy interface) and VIRTIO_F_INDIRECT_DESC (bit 28).
// EVENT_IDX is not offered, so every used buffer interrupts unless the
// driver sets VIRTQ_AVAIL_F_NO_INTERRUPT.
//
// Timing: everything is synchronous. A QueueNotify store runs the backend on
// that queue before the store completes, and the used-buffer interrupt is
// raised at once (level = InterruptStatus != 0, PLIC source 1 + slot). A
// notify before DRIVER_OK is remembered by the ring itself: pending buffers
// are processed when the driver sets DRIVER_OK.
//
// Guest errors never crash the host. Structural queue violations (a
// descriptor index past the table, a chain longer than the queue - which is
// also how a loop ends -, a nested or malformed indirect table, writable
// before readable descriptors, an avail index running ahead by more than the
// queue size, ring memory outside RAM) put the device in DEVICE_NEEDS_RESET
// (Status bit 6, config-change interrupt) and stop all its queues until the
// driver resets it. Bad data buffer addresses are the backend's business
// (virtio-blk answers IOERR). QueueNum values that are 0, not a power of
// two, or above QueueNumMax make the queue unusable: QueueReady stays 0.
// A notify handles at most QueueNum chains, so a guest that makes the device
// rewrite the avail ring cannot keep it busy forever.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/bus.hpp"
#include "core/device.hpp"

namespace hs {

namespace virtio {
constexpr uint32_t kMagic = 0x74726976;  // "virt"
constexpr uint32_t kVersion = 2;
constexpr uint32_t kVendorQemu = 0x554d4551;  // "QEMU", as QEMU reports

// Device IDs (§5).
constexpr uint32_t kIdNone = 0;
constexpr uint32_t kIdBlock = 2;
constexpr uint32_t kIdEntropy = 4;

// Device status bits (§2.1).
constexpr uint32_t kStatusAcknowledge = 1;
constexpr uint32_t kStatusDriver = 2;
constexpr uint32_t kStatusDriverOk = 4;
constexpr uint32_t kStatusFeaturesOk = 8;
constexpr uint32_t kStatusNeedsReset = 0x40;
constexpr uint32_t kStatusFailed = 0x80;

// Transport feature bits (§6).
constexpr uint64_t kFIndirectDesc = 1ull << 28;
constexpr uint64_t kFEventIdx = 1ull << 29;
constexpr uint64_t kFVersion1 = 1ull << 32;

// Split virtqueue layout (§2.7).
constexpr uint16_t kDescFNext = 1;
constexpr uint16_t kDescFWrite = 2;
constexpr uint16_t kDescFIndirect = 4;
constexpr uint16_t kAvailFNoInterrupt = 1;
constexpr uint64_t kDescSize = 16;  // le64 addr, le32 len, le16 flags, le16 next
constexpr uint16_t kMaxQueueSize = 32768;
// Longest indirect table accepted (QEMU's VIRTQUEUE_MAX_SIZE).
constexpr uint32_t kMaxIndirect = 1024;

// InterruptStatus bits.
constexpr uint32_t kIntUsedBuffer = 1;
constexpr uint32_t kIntConfigChange = 2;
}  // namespace virtio

// One guest buffer of a descriptor chain.
struct VirtqBuffer {
  uint64_t addr = 0;
  uint32_t len = 0;
};

// A descriptor chain taken from the avail ring: the device-readable buffers
// followed by the device-writable ones (zero-length descriptors dropped).
struct VirtqChain {
  uint16_t head = 0;
  std::vector<VirtqBuffer> readable;
  std::vector<VirtqBuffer> writable;
  uint64_t readable_len = 0;
  uint64_t writable_len = 0;
};

// Copies between guest buffers and host memory through the bus, as if the
// buffers were one contiguous byte range starting at `offset`. False if the
// range runs past the buffers or a buffer is not inside RAM (nothing is
// copied past the first failing buffer).
bool gather(Bus& bus, const std::vector<VirtqBuffer>& bufs, uint64_t offset, std::span<uint8_t> out);
bool scatter(Bus& bus, const std::vector<VirtqBuffer>& bufs, uint64_t offset,
             std::span<const uint8_t> in);

// Per-queue transport state.
struct VirtqState {
  uint16_t num = 0;  // QueueNum (0 = no valid size)
  bool ready = false;
  uint64_t desc = 0, driver = 0, device = 0;  // ring addresses
  uint16_t last_avail = 0;  // next avail ring entry the device takes
  uint16_t used_idx = 0;    // the device's used->idx (the guest's copy is not trusted)
};

// What a backend sees of one queue while it handles a notify.
class VirtQueue {
 public:
  enum class Pop { kChain, kEmpty, kError };

  VirtQueue(Bus& bus, VirtqState& q, bool indirect_ok);

  Bus& bus() { return bus_; }
  // Takes the next available chain. kEmpty when none is left (or this
  // notify's budget of QueueNum chains is spent); kError when the driver
  // broke the queue rules - the transport then flags DEVICE_NEEDS_RESET,
  // and the backend must stop popping.
  Pop pop(VirtqChain& chain);
  // Returns chain `head` to the driver with `written` bytes written into its
  // writable buffers. False (and failed()) if the used ring is not in RAM.
  bool push(uint16_t head, uint32_t written);
  // The backend saw a request it cannot process at all: same as a kError.
  void fail() { failed_ = true; }

  bool failed() const { return failed_; }
  bool pushed() const { return pushed_; }

 private:
  bool walk(uint16_t head, VirtqChain& chain);
  bool read_desc(uint64_t table, uint32_t index, uint64_t& addr, uint32_t& len, uint16_t& flags,
                 uint16_t& next);

  Bus& bus_;
  VirtqState& q_;
  bool indirect_ok_;
  uint32_t budget_;
  bool failed_ = false;
  bool pushed_ = false;
};

// A virtio device backend plugged into a transport.
class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  virtual uint32_t device_id() const = 0;
  // Device-type feature bits (the transport adds VERSION_1/INDIRECT_DESC).
  virtual uint64_t features() const = 0;
  virtual unsigned num_queues() const = 0;
  // QueueNumMax of queue q (a power of two, <= virtio::kMaxQueueSize).
  virtual uint16_t queue_max_size(unsigned q) const = 0;
  // Config space: size in bytes, and byte reads/writes inside it (the
  // transport range-checks and assembles little-endian values).
  virtual uint32_t config_size() const { return 0; }
  virtual void read_config(uint32_t offset, std::span<uint8_t> out) const {}
  virtual void write_config(uint32_t offset, std::span<const uint8_t> in) {}
  // Processes available chains of queue q (pop until kEmpty or kError).
  // Called from a QueueNotify store, at an exact position.
  virtual void handle(unsigned q, VirtQueue& vq) = 0;
  // Device reset (Status = 0): drop any device-side state.
  virtual void reset() {}
};

class VirtioMmio : public Device {
 public:
  static constexpr uint64_t kSize = 0x1000;
  static constexpr unsigned kMaxQueues = 4;

  // Register offsets.
  static constexpr uint64_t kRegMagic = 0x000;
  static constexpr uint64_t kRegVersion = 0x004;
  static constexpr uint64_t kRegDeviceId = 0x008;
  static constexpr uint64_t kRegVendorId = 0x00c;
  static constexpr uint64_t kRegDeviceFeatures = 0x010;
  static constexpr uint64_t kRegDeviceFeaturesSel = 0x014;
  static constexpr uint64_t kRegDriverFeatures = 0x020;
  static constexpr uint64_t kRegDriverFeaturesSel = 0x024;
  static constexpr uint64_t kRegQueueSel = 0x030;
  static constexpr uint64_t kRegQueueNumMax = 0x034;
  static constexpr uint64_t kRegQueueNum = 0x038;
  static constexpr uint64_t kRegQueueReady = 0x044;
  static constexpr uint64_t kRegQueueNotify = 0x050;
  static constexpr uint64_t kRegInterruptStatus = 0x060;
  static constexpr uint64_t kRegInterruptAck = 0x064;
  static constexpr uint64_t kRegStatus = 0x070;
  static constexpr uint64_t kRegQueueDescLow = 0x080;
  static constexpr uint64_t kRegQueueDescHigh = 0x084;
  static constexpr uint64_t kRegQueueDriverLow = 0x090;
  static constexpr uint64_t kRegQueueDriverHigh = 0x094;
  static constexpr uint64_t kRegQueueDeviceLow = 0x0a0;
  static constexpr uint64_t kRegQueueDeviceHigh = 0x0a4;
  static constexpr uint64_t kRegShmSel = 0x0ac;
  static constexpr uint64_t kRegShmLenLow = 0x0b0;
  static constexpr uint64_t kRegShmLenHigh = 0x0b4;
  static constexpr uint64_t kRegShmBaseLow = 0x0b8;
  static constexpr uint64_t kRegShmBaseHigh = 0x0bc;
  static constexpr uint64_t kRegConfigGeneration = 0x0fc;
  static constexpr uint64_t kRegConfig = 0x100;

  // Everything a snapshot needs (the backend's own state is separate).
  struct State {
    uint32_t status = 0;
    uint32_t device_features_sel = 0;
    uint32_t driver_features_sel = 0;
    uint64_t driver_features = 0;
    uint32_t queue_sel = 0;
    uint32_t interrupt_status = 0;
    std::array<VirtqState, kMaxQueues> queues{};
  };

  // `dev` may be null (empty slot); it must outlive the transport and have
  // at most kMaxQueues queues. `irq` is the slot's PLIC line.
  VirtioMmio(Bus& bus, IrqLine irq, VirtioDevice* dev);

  const char* name() const override { return "virtio-mmio"; }
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;

  VirtioDevice* device() const { return dev_; }
  // Features offered to the driver: the backend's plus the transport's.
  uint64_t device_features() const;
  const State& state() const { return s_; }
  // Restores a snapshot and re-drives the interrupt line from it.
  void restore(const State& s);

 private:
  uint32_t read_reg(uint64_t offset);
  void write_reg(uint64_t offset, uint32_t v);
  void write_status(uint32_t v);
  void write_queue_num(uint32_t v);
  void write_queue_ready(uint32_t v);
  // Selected queue's state, or null if QueueSel names no queue.
  VirtqState* selected();
  void notify(unsigned q);
  // DEVICE_NEEDS_RESET: the driver broke the virtqueue rules.
  void needs_reset();
  void reset();
  void update_irq();

  Bus& bus_;
  IrqLine irq_;
  VirtioDevice* dev_;
  State s_;
};

}  // namespace hs
