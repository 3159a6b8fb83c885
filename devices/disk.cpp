#include "devices/disk.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace hs {

namespace {

// Overlay header layout (see disk.hpp).
constexpr uint64_t kHdrMagic = 0x00;
constexpr uint64_t kHdrVersion = 0x08;
constexpr uint64_t kHdrClusterSize = 0x0c;
constexpr uint64_t kHdrBaseSize = 0x10;
constexpr uint64_t kHdrBitmapOffset = 0x18;
constexpr uint64_t kHdrBitmapBytes = 0x20;
constexpr uint64_t kHdrDataOffset = 0x28;
constexpr uint64_t kHdrChecksum = 0x30;
constexpr uint64_t kHdrSize = 0x38;
constexpr uint64_t kBitmapOffset = 4096;

std::string errno_text() { return std::strerror(errno); }

std::atomic<uint64_t> next_disk_uid{1};

uint64_t round_up(uint64_t v, uint64_t align) { return (v + align - 1) / align * align; }

// FNV-1a: the header is tiny and a dependency-free hash is enough to tell
// a damaged header from a valid one.
uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

template <typename T>
T get(const uint8_t* hdr, uint64_t off) {
  T v;
  std::memcpy(&v, hdr + off, sizeof v);
  return v;
}
template <typename T>
void put(uint8_t* hdr, uint64_t off, T v) {
  std::memcpy(hdr + off, &v, sizeof v);
}

// pread/pwrite until done: short transfers and EINTR are retried. pread_full
// returns the bytes read (less than len only at end of file), or -1.
int64_t pread_full(int fd, uint8_t* buf, uint64_t len, uint64_t off) {
  uint64_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  return static_cast<int64_t>(done);
}

bool pwrite_full(int fd, const uint8_t* buf, uint64_t len, uint64_t off) {
  uint64_t done = 0;
  while (done < len) {
    const ssize_t n = ::pwrite(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<uint64_t>(n);
  }
  return true;
}

// Splits a QEMU-style option string at commas; ",," is a literal comma.
std::vector<std::string> split_options(std::string_view spec) {
  std::vector<std::string> items(1);
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] != ',') {
      items.back().push_back(spec[i]);
    } else if (i + 1 < spec.size() && spec[i + 1] == ',') {
      items.back().push_back(',');
      ++i;
    } else {
      items.emplace_back();
    }
  }
  return items;
}

}  // namespace

DriveSpec parse_drive_spec(std::string_view spec) {
  DriveSpec d;
  bool seen_file = false, seen_format = false, seen_readonly = false, seen_overlay = false;
  auto once = [](bool& seen, const std::string& key) {
    if (seen) throw std::invalid_argument(fmt::format("--drive: '{}' given twice", key));
    seen = true;
  };
  for (const std::string& item : split_options(spec)) {
    if (item.empty()) throw std::invalid_argument(fmt::format("--drive '{}': empty option", spec));
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "file") {
      once(seen_file, key);
      if (value.empty()) throw std::invalid_argument("--drive: file= needs an image path");
      d.file = value;
    } else if (key == "format") {
      once(seen_format, key);
      if (value != "raw")
        throw std::invalid_argument(
            fmt::format("--drive: format '{}' is not supported (only raw)", value));
    } else if (key == "readonly") {
      once(seen_readonly, key);
      if (eq == std::string::npos || value == "on")
        d.readonly = true;
      else if (value == "off")
        d.readonly = false;
      else
        throw std::invalid_argument(
            fmt::format("--drive: readonly='{}' (expected on or off)", value));
    } else if (key == "overlay") {
      once(seen_overlay, key);
      if (value.empty()) throw std::invalid_argument("--drive: overlay= needs a file path");
      d.overlay = value;
    } else {
      throw std::invalid_argument(fmt::format(
          "--drive: unknown option '{}' (known: file, format, readonly, overlay)", key));
    }
  }
  if (!seen_file) throw std::invalid_argument(fmt::format("--drive '{}': missing file=IMAGE", spec));
  return d;
}

Disk::Disk(const DriveSpec& spec, uint32_t cluster_size)
    : readonly_(spec.readonly), uid_(next_disk_uid++) {
  if (cluster_size != 4096 && cluster_size != 65536)
    throw std::invalid_argument(fmt::format("disk overlay cluster size {} (4096 or 65536)", cluster_size));
  try {
    open_base(spec);
    if (!spec.overlay.empty()) {
      overlay_path_ = spec.overlay;
      const int flags = readonly_ ? O_RDONLY : O_RDWR | O_CREAT;
      overlay_fd_ = ::open(spec.overlay.c_str(), flags | O_CLOEXEC, 0644);
      if (overlay_fd_ < 0)
        throw DiskError(fmt::format("{}: cannot open disk overlay: {}", spec.overlay, errno_text()));
      // Two writers of one overlay would corrupt it; readers may share.
      if (::flock(overlay_fd_, (readonly_ ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0)
        throw DiskError(fmt::format("{}: disk overlay is in use by another process", spec.overlay));
      struct stat st {};
      if (::fstat(overlay_fd_, &st) != 0)
        throw DiskError(fmt::format("{}: cannot stat disk overlay: {}", spec.overlay, errno_text()));
      if (st.st_size == 0 && !readonly_)
        create_overlay(overlay_fd_, spec.overlay, cluster_size);
      else
        load_overlay(overlay_fd_, spec.overlay);
    } else if (!readonly_) {
      open_temp_overlay(cluster_size);
    }
    written_.assign(clusters_, 0);
    for (uint64_t c = 0; c < clusters_; ++c)
      if (allocated(c)) written_[c] = 1;
  } catch (...) {
    if (base_fd_ >= 0) ::close(base_fd_);
    if (overlay_fd_ >= 0) ::close(overlay_fd_);
    throw;
  }
}

Disk::~Disk() {
  if (base_fd_ >= 0) ::close(base_fd_);
  if (overlay_fd_ >= 0) ::close(overlay_fd_);
}

void Disk::open_base(const DriveSpec& spec) {
  base_path_ = spec.file;
  // O_RDONLY is what guarantees the base is never modified (replay needs it
  // unchanged); every guest write goes to the overlay.
  base_fd_ = ::open(spec.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (base_fd_ < 0) throw DiskError(fmt::format("{}: cannot open disk image: {}", spec.file, errno_text()));
  struct stat st {};
  if (::fstat(base_fd_, &st) != 0)
    throw DiskError(fmt::format("{}: cannot stat disk image: {}", spec.file, errno_text()));
  if (S_ISDIR(st.st_mode)) throw DiskError(fmt::format("{}: disk image is a directory", spec.file));
  // lseek also sizes block devices, where st_size is 0.
  const off_t end = ::lseek(base_fd_, 0, SEEK_END);
  if (end < 0) throw DiskError(fmt::format("{}: cannot size disk image: {}", spec.file, errno_text()));
  if (end == 0) throw DiskError(fmt::format("{}: disk image is empty", spec.file));
  uint8_t probe;
  if (pread_full(base_fd_, &probe, 1, 0) != 1)
    throw DiskError(fmt::format("{}: cannot read disk image: {}", spec.file, errno_text()));
  base_size_ = static_cast<uint64_t>(end);
  capacity_ = round_up(base_size_, kSectorSize);
}

void Disk::create_overlay(int fd, const std::string& name, uint32_t cluster_size) {
  cluster_size_ = cluster_size;
  clusters_ = (capacity_ + cluster_size_ - 1) / cluster_size_;
  bitmap_.assign((clusters_ + 7) / 8, 0);
  bitmap_offset_ = kBitmapOffset;
  data_offset_ = round_up(bitmap_offset_ + bitmap_.size(), cluster_size_);

  uint8_t hdr[kHdrSize] = {};
  std::memcpy(hdr + kHdrMagic, kOverlayMagic, 8);
  put<uint32_t>(hdr, kHdrVersion, kOverlayVersion);
  put<uint32_t>(hdr, kHdrClusterSize, cluster_size_);
  put<uint64_t>(hdr, kHdrBaseSize, base_size_);
  put<uint64_t>(hdr, kHdrBitmapOffset, bitmap_offset_);
  put<uint64_t>(hdr, kHdrBitmapBytes, bitmap_.size());
  put<uint64_t>(hdr, kHdrDataOffset, data_offset_);
  put<uint64_t>(hdr, kHdrChecksum, fnv1a(hdr, kHdrChecksum));
  // ftruncate zero-fills the bitmap without writing it.
  if (!pwrite_full(fd, hdr, kHdrSize, 0) || ::ftruncate(fd, static_cast<off_t>(data_offset_)) != 0)
    throw DiskError(fmt::format("{}: cannot write disk overlay: {}", name, errno_text()));
}

void Disk::load_overlay(int fd, const std::string& name) {
  auto bad = [&](const std::string& why) { return DiskError(fmt::format("{}: {}", name, why)); };
  uint8_t hdr[kHdrSize];
  const int64_t got = pread_full(fd, hdr, kHdrSize, 0);
  if (got < 0) throw bad("cannot read disk overlay: " + errno_text());
  if (got < static_cast<int64_t>(kHdrSize) || std::memcmp(hdr + kHdrMagic, kOverlayMagic, 8) != 0)
    throw bad("not a Hindsight disk overlay (no HSOVL001 header)");
  if (const uint32_t v = get<uint32_t>(hdr, kHdrVersion); v != kOverlayVersion)
    throw bad(fmt::format("disk overlay format version {} is not supported (expected {})", v,
                          kOverlayVersion));
  if (get<uint64_t>(hdr, kHdrChecksum) != fnv1a(hdr, kHdrChecksum))
    throw bad("corrupt disk overlay header (checksum mismatch at offset 0)");
  if (const uint64_t b = get<uint64_t>(hdr, kHdrBaseSize); b != base_size_)
    throw bad(fmt::format("disk overlay was made for a base image of {} bytes, but {} has {} bytes", b,
                          base_path_, base_size_));
  cluster_size_ = get<uint32_t>(hdr, kHdrClusterSize);
  if (cluster_size_ != 4096 && cluster_size_ != 65536)
    throw bad(fmt::format("corrupt disk overlay header: cluster size {}", cluster_size_));
  clusters_ = (capacity_ + cluster_size_ - 1) / cluster_size_;
  bitmap_offset_ = get<uint64_t>(hdr, kHdrBitmapOffset);
  data_offset_ = get<uint64_t>(hdr, kHdrDataOffset);
  const uint64_t bitmap_bytes = get<uint64_t>(hdr, kHdrBitmapBytes);
  if (bitmap_bytes != (clusters_ + 7) / 8 || bitmap_offset_ < kHdrSize ||
      data_offset_ < bitmap_offset_ + bitmap_bytes || data_offset_ % cluster_size_ != 0)
    throw bad("corrupt disk overlay header: inconsistent bitmap/data layout");

  bitmap_.assign(bitmap_bytes, 0);
  if (pread_full(fd, bitmap_.data(), bitmap_bytes, bitmap_offset_) != static_cast<int64_t>(bitmap_bytes))
    throw bad(fmt::format("truncated disk overlay: bitmap at offset {} is incomplete", bitmap_offset_));
  if (clusters_ % 8) bitmap_.back() &= static_cast<uint8_t>((1u << (clusters_ % 8)) - 1);

  // Every allocated cluster must be backed by the file.
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw bad("cannot stat disk overlay: " + errno_text());
  for (uint64_t c = clusters_; c-- > 0;) {
    if (!allocated(c)) continue;
    const uint64_t start = c * cluster_size_;
    const uint64_t need = data_offset_ + start + std::min<uint64_t>(cluster_size_, capacity_ - start);
    if (static_cast<uint64_t>(st.st_size) < need)
      throw bad(fmt::format("truncated disk overlay: cluster {} at offset {} is past the end of the file",
                            c, data_offset_ + start));
    break;  // the highest allocated cluster decides
  }
}

void Disk::open_temp_overlay(uint32_t cluster_size) {
  // /var/tmp rather than /tmp: /tmp is often RAM-backed, and a busy guest can
  // write gigabytes. QEMU's snapshot=on makes the same choice.
  const char* env = std::getenv("TMPDIR");
  const std::string dir = env && *env ? env : "/var/tmp";
  overlay_fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (overlay_fd_ < 0) {
    // Filesystems without O_TMPFILE: create and unlink at once.
    std::string tmpl = dir + "/hindsight-overlay-XXXXXX";
    overlay_fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (overlay_fd_ >= 0) ::unlink(tmpl.c_str());
  }
  if (overlay_fd_ < 0)
    throw DiskError(fmt::format("cannot create a temporary disk overlay for {} in {}: {}", base_path_, dir,
                                errno_text()));
  create_overlay(overlay_fd_, dir + "/(temporary overlay)", cluster_size);
}

uint64_t Disk::allocated_clusters() const {
  uint64_t n = 0;
  for (uint8_t b : bitmap_) n += static_cast<uint64_t>(__builtin_popcount(b));
  return n;
}

bool Disk::read_base(uint64_t offset, uint8_t* out, uint64_t len) {
  const uint64_t avail = offset < base_size_ ? std::min(len, base_size_ - offset) : 0;
  if (avail && pread_full(base_fd_, out, avail, offset) != static_cast<int64_t>(avail)) return false;
  std::memset(out + avail, 0, len - avail);  // the partial last sector reads as zeros
  return true;
}

bool Disk::read(uint64_t offset, std::span<uint8_t> out) {
  if (offset > capacity_ || out.size() > capacity_ - offset) return false;
  const uint64_t end = offset + out.size();
  uint64_t pos = offset;
  while (pos < end) {
    // Gather a run of clusters that all come from the same file.
    const bool from_overlay = overlay_fd_ >= 0 && allocated(pos / cluster_size_);
    uint64_t run_end = std::min(end, (pos / cluster_size_ + 1) * cluster_size_);
    while (run_end < end && (overlay_fd_ >= 0 && allocated(run_end / cluster_size_)) == from_overlay)
      run_end = std::min(end, run_end + cluster_size_);
    uint8_t* dst = out.data() + (pos - offset);
    const uint64_t len = run_end - pos;
    if (from_overlay) {
      if (pread_full(overlay_fd_, dst, len, data_offset_ + pos) != static_cast<int64_t>(len)) return false;
    } else if (!read_base(pos, dst, len)) {
      return false;
    }
    pos = run_end;
  }
  return true;
}

bool Disk::write_piece(uint64_t offset, const uint8_t* data, uint64_t len) {
  const uint64_t c = offset / cluster_size_;
  if (allocated(c)) {
    mark_written(c);
    return pwrite_full(overlay_fd_, data, len, data_offset_ + offset);
  }
  const uint64_t start = c * cluster_size_;
  const uint64_t clen = std::min<uint64_t>(cluster_size_, capacity_ - start);
  const uint8_t* src = data;
  if (len != clen) {
    // Copy-on-write: the overlay cluster must hold the base's bytes around
    // the new ones, since reads of an allocated cluster never consult the base.
    cluster_buf_.resize(cluster_size_);
    if (!read_base(start, cluster_buf_.data(), clen)) return false;
    std::memcpy(cluster_buf_.data() + (offset - start), data, len);
    src = cluster_buf_.data();
  }
  if (!pwrite_full(overlay_fd_, src, clen, data_offset_ + start)) return false;
  bitmap_[c / 8] |= static_cast<uint8_t>(1u << (c % 8));
  mark_written(c);
  return true;
}

bool Disk::persist_bitmap(uint64_t first_byte, uint64_t last_byte) {
  return pwrite_full(overlay_fd_, bitmap_.data() + first_byte, last_byte - first_byte + 1,
                     bitmap_offset_ + first_byte);
}

bool Disk::write(uint64_t offset, std::span<const uint8_t> data) {
  if (readonly_ || overlay_fd_ < 0) return false;
  if (offset > capacity_ || data.size() > capacity_ - offset) return false;
  const uint64_t end = offset + data.size();
  uint64_t first_dirty = UINT64_MAX, last_dirty = 0;
  bool ok = true;
  for (uint64_t pos = offset; pos < end && ok;) {
    const uint64_t c = pos / cluster_size_;
    const uint64_t piece_end = std::min(end, (c + 1) * cluster_size_);
    const bool was_allocated = allocated(c);
    ok = write_piece(pos, data.data() + (pos - offset), piece_end - pos);
    if (!was_allocated && allocated(c)) {
      first_dirty = std::min(first_dirty, c / 8);
      last_dirty = std::max(last_dirty, c / 8);
    }
    pos = piece_end;
  }
  // Data first, then the bits that make it visible (see disk.hpp).
  if (first_dirty != UINT64_MAX) ok = persist_bitmap(first_dirty, last_dirty) && ok;
  return ok;
}

std::vector<uint64_t> Disk::clusters_changed_since(uint32_t g) const {
  std::vector<uint64_t> out;
  for (uint64_t c = 0; c < written_.size(); ++c)
    if (written_[c] > g) out.push_back(c);
  return out;
}

std::vector<uint64_t> Disk::overlay_clusters() const {
  std::vector<uint64_t> out;
  if (overlay_fd_ < 0) return out;
  for (uint64_t byte = 0; byte < bitmap_.size(); ++byte)
    for (unsigned b = 0; bitmap_[byte] >> b; ++b)
      if (bitmap_[byte] >> b & 1) out.push_back(byte * 8 + b);
  return out;
}

uint64_t Disk::cluster_length(uint64_t cluster) const {
  const uint64_t start = cluster * cluster_size_;
  return start < capacity_ ? std::min<uint64_t>(cluster_size_, capacity_ - start) : 0;
}

bool Disk::read_cluster(uint64_t cluster, std::span<uint8_t> out) {
  if (cluster >= clusters_ || out.size() != cluster_length(cluster)) return false;
  return read(cluster * cluster_size_, out);
}

bool Disk::load_cluster(uint64_t cluster, std::span<const uint8_t> data) {
  if (readonly_ || overlay_fd_ < 0 || cluster >= clusters_) return false;
  if (data.size() != cluster_length(cluster)) return false;
  // Data first, then the bitmap bit that makes it visible (see the header).
  if (!pwrite_full(overlay_fd_, data.data(), data.size(), data_offset_ + cluster * cluster_size_))
    return false;
  mark_written(cluster);
  if (allocated(cluster)) return true;
  bitmap_[cluster / 8] |= static_cast<uint8_t>(1u << (cluster % 8));
  return persist_bitmap(cluster / 8, cluster / 8);
}

bool Disk::drop_cluster(uint64_t cluster) {
  if (readonly_ || overlay_fd_ < 0 || cluster >= clusters_) return false;
  if (!allocated(cluster)) return true;
  bitmap_[cluster / 8] &= static_cast<uint8_t>(~(1u << (cluster % 8)));
  mark_written(cluster);
  return persist_bitmap(cluster / 8, cluster / 8);
}

bool Disk::flush() {
  if (overlay_fd_ < 0 || overlay_path_.empty() || readonly_) return true;
  return ::fdatasync(overlay_fd_) == 0;
}

}  // namespace hs
