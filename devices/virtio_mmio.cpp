#include "devices/virtio_mmio.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace hs {

namespace {

bool load16(Bus& bus, uint64_t pa, uint16_t& v) {
  uint8_t b[2];
  if (!bus.read_bytes(PAddr{pa}, b)) return false;
  v = static_cast<uint16_t>(b[0] | b[1] << 8);
  return true;
}

bool store16(Bus& bus, uint64_t pa, uint16_t v) {
  const uint8_t b[2] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)};
  return bus.write_bytes(PAddr{pa}, b);
}

// Calls fn(guest address, length, position in the range) for the pieces of
// [offset, offset + len) across `bufs`. False if the range does not fit or
// fn fails. A buffer whose end wraps past 2^64 is invalid.
template <typename Fn>
bool for_range(const std::vector<VirtqBuffer>& bufs, uint64_t offset, uint64_t len, Fn&& fn) {
  uint64_t done = 0;
  for (const VirtqBuffer& b : bufs) {
    if (done == len) break;
    if (b.addr + b.len < b.addr) return false;
    if (offset >= b.len) {
      offset -= b.len;
      continue;
    }
    const uint64_t n = std::min<uint64_t>(b.len - offset, len - done);
    if (!fn(b.addr + offset, n, done)) return false;
    done += n;
    offset = 0;
  }
  return done == len;
}

}  // namespace

bool gather(Bus& bus, const std::vector<VirtqBuffer>& bufs, uint64_t offset, std::span<uint8_t> out) {
  return for_range(bufs, offset, out.size(), [&](uint64_t pa, uint64_t n, uint64_t at) {
    return bus.read_bytes(PAddr{pa}, out.subspan(at, n));
  });
}

bool scatter(Bus& bus, const std::vector<VirtqBuffer>& bufs, uint64_t offset,
             std::span<const uint8_t> in) {
  return for_range(bufs, offset, in.size(), [&](uint64_t pa, uint64_t n, uint64_t at) {
    return bus.write_bytes(PAddr{pa}, in.subspan(at, n));
  });
}

// ---------------------------------------------------------------- VirtQueue

VirtQueue::VirtQueue(Bus& bus, VirtqState& q, bool indirect_ok)
    : bus_(bus), q_(q), indirect_ok_(indirect_ok), budget_(q.num) {}

bool VirtQueue::read_desc(uint64_t table, uint32_t index, uint64_t& addr, uint32_t& len,
                          uint16_t& flags, uint16_t& next) {
  const uint64_t off = uint64_t{index} * virtio::kDescSize;
  if (off > UINT64_MAX - table) return false;
  uint8_t d[virtio::kDescSize];
  if (!bus_.read_bytes(PAddr{table + off}, d)) return false;
  std::memcpy(&addr, d, 8);
  std::memcpy(&len, d + 8, 4);
  std::memcpy(&flags, d + 12, 2);
  std::memcpy(&next, d + 14, 2);
  return true;
}

bool VirtQueue::walk(uint16_t head, VirtqChain& chain) {
  chain.head = head;
  chain.readable.clear();
  chain.writable.clear();
  chain.readable_len = chain.writable_len = 0;
  if (head >= q_.num) return false;

  uint64_t table = q_.desc;
  uint32_t table_size = q_.num;
  uint32_t idx = head;
  uint32_t seen = 0;
  bool in_indirect = false;
  for (;;) {
    // A chain visits each descriptor of its table at most once; more means a
    // loop (or a chain longer than the queue, which the spec forbids too).
    if (++seen > table_size) return false;
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
    if (!read_desc(table, idx, addr, len, flags, next)) return false;
    if (flags & virtio::kDescFIndirect) {
      if (!indirect_ok_ || in_indirect || (flags & virtio::kDescFNext)) return false;
      if (len == 0 || len % virtio::kDescSize || len / virtio::kDescSize > virtio::kMaxIndirect)
        return false;
      table = addr;
      table_size = len / virtio::kDescSize;
      idx = 0;
      seen = 0;
      in_indirect = true;
      continue;
    }
    if (len) {
      if (flags & virtio::kDescFWrite) {
        chain.writable.push_back({addr, len});
        chain.writable_len += len;
      } else {
        // Readable after writable breaks §2.7.4.2; QEMU rejects it too.
        if (!chain.writable.empty()) return false;
        chain.readable.push_back({addr, len});
        chain.readable_len += len;
      }
    }
    if (!(flags & virtio::kDescFNext)) return true;
    idx = next;
    if (idx >= table_size) return false;
  }
}

VirtQueue::Pop VirtQueue::pop(VirtqChain& chain) {
  if (failed_) return Pop::kError;
  if (budget_ == 0) return Pop::kEmpty;
  auto error = [this] {
    failed_ = true;
    return Pop::kError;
  };
  uint16_t avail_idx;
  if (!load16(bus_, q_.driver + 2, avail_idx)) return error();
  const uint16_t pending = static_cast<uint16_t>(avail_idx - q_.last_avail);
  if (pending == 0) return Pop::kEmpty;
  if (pending > q_.num) return error();
  uint16_t head;
  if (!load16(bus_, q_.driver + 4 + 2 * uint64_t{static_cast<uint16_t>(q_.last_avail % q_.num)}, head))
    return error();
  if (!walk(head, chain)) return error();
  ++q_.last_avail;
  --budget_;
  return Pop::kChain;
}

bool VirtQueue::push(uint16_t head, uint32_t written) {
  const uint64_t elem = q_.device + 4 + 8 * uint64_t{static_cast<uint16_t>(q_.used_idx % q_.num)};
  uint8_t e[8];
  const uint32_t id = head;
  std::memcpy(e, &id, 4);
  std::memcpy(e + 4, &written, 4);
  // The element before the index: the driver may read it as soon as idx moves.
  if (!bus_.write_bytes(PAddr{elem}, e) || !store16(bus_, q_.device + 2, q_.used_idx + 1)) {
    failed_ = true;
    return false;
  }
  ++q_.used_idx;
  pushed_ = true;
  return true;
}

// ---------------------------------------------------------------- VirtioMmio

VirtioMmio::VirtioMmio(Bus& bus, IrqLine irq, VirtioDevice* dev) : bus_(bus), irq_(irq), dev_(dev) {
  if (dev_ && dev_->num_queues() > kMaxQueues)
    throw std::invalid_argument("virtio device has more queues than the transport supports");
  reset();
}

uint64_t VirtioMmio::device_features() const {
  if (!dev_) return 0;
  return dev_->features() | virtio::kFVersion1 | virtio::kFIndirectDesc;
}

VirtqState* VirtioMmio::selected() {
  if (!dev_ || s_.queue_sel >= dev_->num_queues()) return nullptr;
  return &s_.queues[s_.queue_sel];
}

bool VirtioMmio::read(uint64_t offset, unsigned size, uint64_t& value) {
  value = 0;
  if (offset >= kRegConfig) {
    const uint64_t off = offset - kRegConfig;
    if (dev_ && off + size <= dev_->config_size()) {
      uint8_t buf[8] = {};
      dev_->read_config(static_cast<uint32_t>(off), std::span<uint8_t>(buf, size));
      std::memcpy(&value, buf, size);  // config fields are little-endian, as is the host
    }
    return true;
  }
  if (size == 4 && offset % 4 == 0) value = read_reg(offset);
  return true;
}

bool VirtioMmio::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset >= kRegConfig) {
    const uint64_t off = offset - kRegConfig;
    if (dev_ && off + size <= dev_->config_size()) {
      uint8_t buf[8];
      std::memcpy(buf, &value, 8);
      dev_->write_config(static_cast<uint32_t>(off), std::span<const uint8_t>(buf, size));
    }
    return true;
  }
  if (size == 4 && offset % 4 == 0 && dev_) write_reg(offset, static_cast<uint32_t>(value));
  return true;
}

uint32_t VirtioMmio::read_reg(uint64_t offset) {
  // An empty slot answers only what lets Linux see "no device here".
  switch (offset) {
    case kRegMagic:
      return virtio::kMagic;
    case kRegVersion:
      return virtio::kVersion;
    case kRegVendorId:
      return virtio::kVendorQemu;
    default:
      if (!dev_) return 0;
  }
  switch (offset) {
    case kRegDeviceId:
      return dev_->device_id();
    case kRegDeviceFeatures:
      return s_.device_features_sel < 2
                 ? static_cast<uint32_t>(device_features() >> (32 * s_.device_features_sel))
                 : 0;
    case kRegQueueNumMax:
      return selected() ? dev_->queue_max_size(s_.queue_sel) : 0;
    case kRegQueueReady:
      return selected() ? selected()->ready : 0;
    case kRegInterruptStatus:
      return s_.interrupt_status;
    case kRegStatus:
      return s_.status;
    case kRegQueueDescLow:
      return selected() ? static_cast<uint32_t>(selected()->desc) : 0;
    case kRegQueueDescHigh:
      return selected() ? static_cast<uint32_t>(selected()->desc >> 32) : 0;
    case kRegQueueDriverLow:
      return selected() ? static_cast<uint32_t>(selected()->driver) : 0;
    case kRegQueueDriverHigh:
      return selected() ? static_cast<uint32_t>(selected()->driver >> 32) : 0;
    case kRegQueueDeviceLow:
      return selected() ? static_cast<uint32_t>(selected()->device) : 0;
    case kRegQueueDeviceHigh:
      return selected() ? static_cast<uint32_t>(selected()->device >> 32) : 0;
    case kRegShmLenLow:
    case kRegShmLenHigh:
    case kRegShmBaseLow:
    case kRegShmBaseHigh:
      return 0xffffffff;  // no shared memory regions (§4.2.2: all ones)
    case kRegConfigGeneration:
      return 0;
    default:
      return 0;
  }
}

void VirtioMmio::write_reg(uint64_t offset, uint32_t v) {
  // Sets the low or high half of a 64-bit ring address of the selected
  // queue; the layout is fixed while the queue is live.
  auto set_half = [this](uint64_t VirtqState::*field, bool high, uint32_t val) {
    VirtqState* q = selected();
    if (!q || q->ready) return;
    const uint64_t mask = high ? 0xffffffff00000000ull : 0xffffffffull;
    q->*field = (q->*field & ~mask) | (uint64_t{val} << (high ? 32 : 0));
  };
  switch (offset) {
    case kRegDeviceFeaturesSel:
      s_.device_features_sel = v;
      return;
    case kRegDriverFeatures:
      // Frozen once FEATURES_OK is accepted (§2.2.2).
      if (s_.status & virtio::kStatusFeaturesOk || s_.driver_features_sel >= 2) return;
      if (s_.driver_features_sel == 0)
        s_.driver_features = (s_.driver_features & 0xffffffff00000000ull) | v;
      else
        s_.driver_features = (s_.driver_features & 0xffffffffull) | uint64_t{v} << 32;
      return;
    case kRegDriverFeaturesSel:
      s_.driver_features_sel = v;
      return;
    case kRegQueueSel:
      s_.queue_sel = v;
      return;
    case kRegQueueNum:
      write_queue_num(v);
      return;
    case kRegQueueReady:
      write_queue_ready(v);
      return;
    case kRegQueueNotify:
      notify(v);
      return;
    case kRegInterruptAck:
      s_.interrupt_status &= ~v;
      update_irq();
      return;
    case kRegStatus:
      write_status(v);
      return;
    case kRegQueueDescLow:
      return set_half(&VirtqState::desc, false, v);
    case kRegQueueDescHigh:
      return set_half(&VirtqState::desc, true, v);
    case kRegQueueDriverLow:
      return set_half(&VirtqState::driver, false, v);
    case kRegQueueDriverHigh:
      return set_half(&VirtqState::driver, true, v);
    case kRegQueueDeviceLow:
      return set_half(&VirtqState::device, false, v);
    case kRegQueueDeviceHigh:
      return set_half(&VirtqState::device, true, v);
    default:
      return;  // read-only registers, SHMSel (no regions), unknown offsets
  }
}

void VirtioMmio::write_queue_num(uint32_t v) {
  VirtqState* q = selected();
  if (!q || q->ready) return;
  const bool valid = v != 0 && v <= dev_->queue_max_size(s_.queue_sel) && (v & (v - 1)) == 0;
  q->num = valid ? static_cast<uint16_t>(v) : 0;
}

void VirtioMmio::write_queue_ready(uint32_t v) {
  VirtqState* q = selected();
  if (!q) return;
  // A queue without a valid size never becomes ready: the driver reads 0 back.
  q->ready = (v & 1) && q->num != 0;
}

void VirtioMmio::write_status(uint32_t v) {
  if (v == 0) {
    reset();
    return;
  }
  if ((v & virtio::kStatusFeaturesOk) && !(s_.status & virtio::kStatusFeaturesOk)) {
    // Refuse FEATURES_OK (the driver re-reads it, §3.1.1) for features we
    // never offered, or without VERSION_1: there is no legacy interface.
    const uint64_t f = s_.driver_features;
    if ((f & ~device_features()) || !(f & virtio::kFVersion1)) v &= ~virtio::kStatusFeaturesOk;
  }
  const bool driver_ok_now = (v & virtio::kStatusDriverOk) && !(s_.status & virtio::kStatusDriverOk);
  // NEEDS_RESET is the device's to set and only a reset clears it.
  s_.status = (v & ~virtio::kStatusNeedsReset) | (s_.status & virtio::kStatusNeedsReset);
  // Buffers made available (and notified) before DRIVER_OK were held back
  // (§3.1.1: no used buffers before DRIVER_OK); serve them now.
  if (driver_ok_now)
    for (unsigned q = 0; q < dev_->num_queues(); ++q) notify(q);
}

void VirtioMmio::notify(unsigned q) {
  if (!dev_ || q >= dev_->num_queues()) return;
  VirtqState& st = s_.queues[q];
  if (!st.ready || !(s_.status & virtio::kStatusDriverOk) || (s_.status & virtio::kStatusNeedsReset))
    return;
  VirtQueue vq(bus_, st, s_.driver_features & virtio::kFIndirectDesc);
  dev_->handle(q, vq);
  if (vq.pushed()) {
    uint16_t flags = 0;
    load16(bus_, st.driver, flags);  // unreadable: interrupt anyway
    if (!(flags & virtio::kAvailFNoInterrupt)) {
      s_.interrupt_status |= virtio::kIntUsedBuffer;
      update_irq();
    }
  }
  if (vq.failed()) needs_reset();
}

void VirtioMmio::needs_reset() {
  s_.status |= virtio::kStatusNeedsReset;
  s_.interrupt_status |= virtio::kIntConfigChange;
  update_irq();
}

void VirtioMmio::reset() {
  s_ = State{};
  // QueueNum starts at the maximum (as in QEMU) for drivers that keep it.
  if (dev_) {
    for (unsigned q = 0; q < dev_->num_queues(); ++q) s_.queues[q].num = dev_->queue_max_size(q);
    dev_->reset();
  }
  update_irq();
}

void VirtioMmio::update_irq() { irq_.set(s_.interrupt_status != 0); }

void VirtioMmio::restore(const State& s) {
  s_ = s;
  update_irq();
}

}  // namespace hs
