// A guest disk: a raw base image that is never written, plus a copy-on-write
// overlay that receives every guest write, and the parser for the --drive
// option that describes one.
//
// The base image is opened read-only and stays byte-for-byte unchanged, so
// a recording can name it by content hash and replay it later. Guest writes
// go to the overlay, in clusters: the first write to a cluster copies the
// base cluster into the overlay, merges the new bytes and marks the cluster
// allocated; reads take allocated clusters from the overlay and the rest
// from the base (zeros past the base file's end, which is rounded up to a
// whole 512-byte sector).
//
// Overlay file format, version 1 (little-endian; an anonymous overlay uses
// the same layout in an unlinked temporary file):
//   0x00  char[8] magic "HSOVL001"
//   0x08  u32     format version (1)
//   0x0c  u32     cluster size in bytes: 4096 or 65536
//   0x10  u64     base image size in bytes (must match the base on reopen)
//   0x18  u64     bitmap offset (4096)
//   0x20  u64     bitmap size in bytes: ceil(clusters / 8)
//   0x28  u64     data offset: after the bitmap, cluster-aligned
//   0x30  u64     FNV-1a 64 of bytes 0x00..0x2f
//   bitmap        bit i (byte i/8, bit i%8) set = cluster i lives in the overlay
//   data          cluster i at data offset + i * cluster size (sparse file)
// Data clusters are direct-mapped, so the file needs no allocation table
// and unwritten clusters cost no space on filesystems with holes. A
// cluster's data is written before its bitmap bit, so a process killed
// mid-write leaves at worst a written-but-unmarked cluster (the old contents
// stay visible). Only a flush (the guest's FLUSH request) makes writes
// durable against host power loss, as with any write-back disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

// One --drive option: "file=IMG[,format=raw][,readonly=on|off][,overlay=FILE]".
struct DriveSpec {
  std::string file;      // base image (raw)
  bool readonly = false;  // guest writes fail; the overlay, if any, is only read
  std::string overlay;   // persistent overlay file; empty = anonymous temporary overlay
};

// Parses a --drive value (QEMU option syntax: comma-separated key=value,
// ",," escapes a literal comma in a value, a bare "readonly" means on).
// Throws std::invalid_argument with a one-line message naming the problem:
// unknown or repeated key, format other than raw, missing or empty file=,
// bad readonly value.
DriveSpec parse_drive_spec(std::string_view spec);

// A host-side failure to open or use a disk or overlay file (missing or
// unreadable image, corrupt or mismatched overlay). The message names the
// file and is meant for the user as is.
class DiskError : public std::runtime_error {
 public:
  explicit DiskError(const std::string& what) : std::runtime_error(what) {}
};

class Disk {
 public:
  static constexpr uint64_t kSectorSize = 512;
  static constexpr uint32_t kDefaultClusterSize = 64 * 1024;
  static constexpr char kOverlayMagic[9] = "HSOVL001";
  static constexpr uint32_t kOverlayVersion = 1;

  // Opens the base image read-only and the overlay: `spec.overlay` when set
  // (created if missing or empty, otherwise validated against the base and
  // locked against a second user), else an anonymous overlay in $TMPDIR or
  // /var/tmp (disk-backed, like QEMU's snapshot=on) that vanishes with the
  // process. A readonly drive without overlay= has no overlay at all.
  // `cluster_size` (4096 or 65536) applies to newly created overlays only.
  // Throws DiskError naming the file on any failure.
  explicit Disk(const DriveSpec& spec, uint32_t cluster_size = kDefaultClusterSize);
  ~Disk();
  Disk(const Disk&) = delete;
  Disk& operator=(const Disk&) = delete;

  // Size the guest sees: the base size rounded up to a whole sector.
  uint64_t size() const { return capacity_; }
  uint64_t sectors() const { return capacity_ / kSectorSize; }
  bool readonly() const { return readonly_; }
  const std::string& path() const { return base_path_; }
  uint32_t cluster_size() const { return cluster_size_; }
  // Clusters currently held by the overlay (for tests and statistics).
  uint64_t allocated_clusters() const;

  // Guest-visible bytes at [offset, offset + out.size()). False if the
  // range is outside size() or the host read fails. Cost: one pread per run
  // of clusters from the same file.
  bool read(uint64_t offset, std::span<uint8_t> out);
  // Writes to the overlay. False on a readonly disk, outside size(), or a
  // host write failure. The first write to a cluster also copies the rest
  // of the cluster from the base (up to one cluster read + write extra).
  bool write(uint64_t offset, std::span<const uint8_t> data);
  // Makes the overlay durable (fdatasync) when it is a persistent file;
  // a no-op otherwise. False on a host failure.
  bool flush();

  // ---- snapshot support (whole clusters, host side) ----
  // Change tracking works like the bus's dirty pages: every cluster whose
  // overlay state changes (guest write, load_cluster, drop_cluster) is marked
  // with the current write generation; clusters already in an overlay file
  // when it is opened count as written in generation 1. A consumer that took
  // checkpoint g finds what changed since with clusters_changed_since(g);
  // g = 0 means "since the overlay was empty". uid() names this disk among
  // all disks of the process (generations only mean something for it).
  uint64_t uid() const { return uid_; }
  uint32_t write_generation() const { return write_gen_; }
  // Ends the current generation and returns it.
  uint32_t write_checkpoint() { return write_gen_++; }
  // Clusters marked after generation g, ascending. Cost: O(clusters).
  std::vector<uint64_t> clusters_changed_since(uint32_t g) const;
  // Clusters the overlay holds, ascending. Cost: O(clusters / 8).
  std::vector<uint64_t> overlay_clusters() const;
  uint64_t clusters() const { return clusters_; }
  bool in_overlay(uint64_t cluster) const { return overlay_fd_ >= 0 && allocated(cluster); }
  // Bytes of cluster `cluster` inside the disk: cluster_size(), less for a
  // last cluster that the capacity cuts short.
  uint64_t cluster_length(uint64_t cluster) const;
  // Guest-visible bytes of a cluster; out.size() must be cluster_length().
  // False on a bad cluster/size or a host read failure.
  bool read_cluster(uint64_t cluster, std::span<uint8_t> out);
  // Makes the overlay hold `data` (cluster_length() bytes) for the cluster,
  // as if the guest had written all of it. False on a readonly disk, a bad
  // cluster/size or a host write failure. Cost: one pwrite of the cluster
  // plus one bitmap byte.
  bool load_cluster(uint64_t cluster, std::span<const uint8_t> data);
  // Removes a cluster from the overlay: the guest sees the base image there
  // again. False on a readonly disk or a host write failure.
  bool drop_cluster(uint64_t cluster);

 private:
  void open_base(const DriveSpec& spec);
  void create_overlay(int fd, const std::string& name, uint32_t cluster_size);
  void load_overlay(int fd, const std::string& name);
  void open_temp_overlay(uint32_t cluster_size);

  bool allocated(uint64_t cluster) const { return bitmap_[cluster / 8] >> (cluster % 8) & 1; }
  // Reads [offset, offset+len) of the base, zero-filling past its end.
  bool read_base(uint64_t offset, uint8_t* out, uint64_t len);
  // Writes one whole or partial cluster piece, copying the cluster on first write.
  bool write_piece(uint64_t offset, const uint8_t* data, uint64_t len);
  bool persist_bitmap(uint64_t first_byte, uint64_t last_byte);

  std::string base_path_;
  std::string overlay_path_;  // "" for the anonymous overlay
  int base_fd_ = -1;
  int overlay_fd_ = -1;  // -1: readonly without overlay
  uint64_t base_size_ = 0;
  uint64_t capacity_ = 0;
  bool readonly_ = false;
  uint32_t cluster_size_ = kDefaultClusterSize;
  uint64_t clusters_ = 0;
  uint64_t bitmap_offset_ = 0;
  uint64_t data_offset_ = 0;
  std::vector<uint8_t> bitmap_;
  std::vector<uint8_t> cluster_buf_;  // scratch for copy-on-write
  // Snapshot change tracking (see write_generation()).
  void mark_written(uint64_t cluster) { written_[cluster] = write_gen_; }
  uint64_t uid_;
  uint32_t write_gen_ = 2;  // 1 = clusters found in an opened overlay
  std::vector<uint32_t> written_;  // per cluster: generation of the last change
};

}  // namespace hs
