// The recording's manifest: how the machine was configured, and which files
// (firmware, kernel, initrd, device tree, disk base images) it booted, by
// content hash — by default with copies in REC/images/ so the recording
// replays on another host. Format: schemas/recording.capnp (Manifest).
//
// Every failure to read or verify a recording is a FormatError naming the
// file, the byte offset (0 for whole-file problems) and the reason.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "replay/recording_layout.hpp"
#include "snapshot/hash128.hpp"

namespace hs {

// A file the guest sees. Built by store_image(), resolved by resolve_image().
struct ImageRef {
  std::string path;    // absolute path when recorded
  uint64_t size = 0;   // bytes
  Hash128 hash;        // XXH3-128 of the content
  std::string stored;  // file name under images/, or empty: not copied, replay reads `path`
  bool operator==(const ImageRef&) const = default;
};

enum class BiosMode : uint8_t {
  kNone,     // --bios none; `bios` is empty
  kFile,     // --bios FILE
  kDefault,  // no --bios: the default firmware, resolved to a file
};

struct DriveRef {
  ImageRef image;  // the raw base image; overlays are not part of the manifest
  bool readonly = false;
  bool operator==(const DriveRef&) const = default;
};

struct RecordingManifest {
  std::string hindsight_version;  // e.g. "0.1.0"
  uint16_t format_version = kRecordingFormatVersion;
  std::string created;       // ISO 8601 UTC (utc_timestamp()); metadata, never fed to the guest
  std::string command_line;  // argv joined by spaces (join_command_line())
  uint64_t ram_size = 0;
  BiosMode bios_mode = BiosMode::kDefault;
  std::optional<ImageRef> bios;  // present unless bios_mode is kNone
  std::optional<ImageRef> kernel, initrd, dtb;
  std::string append;
  std::vector<DriveRef> drives;  // slot order: the first is /dev/vda
  bool rng = true;
  uint64_t snapshot_interval = 0;  // positions; 0 = no periodic snapshots
  bool pacing = false;             // live pacing was on (kWake events may occur)
  bool operator==(const RecordingManifest&) const = default;
};

// Writes REC/manifest atomically (temp file, fsync, rename). `dir` must
// exist. Throws FormatError on I/O failure.
void write_manifest(const std::string& dir, const RecordingManifest& m);

// Reads and validates REC/manifest. Throws FormatError when it is missing,
// truncated, corrupt (checksum, undecodable, trailing bytes, inconsistent
// fields) or of another format version.
RecordingManifest read_manifest(const std::string& dir);

// Hashes `path` (streamed in 1 MiB chunks: images may be GBs) and, when
// `copy`, stores it as REC/images/<hex> in the same pass (temp file, fsync,
// rename; an existing images/<hex> of the right size is kept). Creates
// images/ as needed. Cost: one read of the file, plus one write when copying.
// Throws FormatError naming the file on any I/O error.
ImageRef store_image(const std::string& dir, const std::string& path, bool copy);

// The file replay should open for `ref`: REC/images/<stored> when the image
// was copied (checks it exists and has the recorded size — cheap), else the
// original path, whose content hash is always verified (reads it all: it
// lives outside the recording and may have changed). Throws FormatError
// naming the file when it is missing, has the wrong size or content.
std::string resolve_image(const std::string& dir, const ImageRef& ref);

// Checks every image of `m` completely: exists, size, content hash. Reads
// every image once. Throws FormatError for the first bad one, e.g.
// "REC/images/ab..: offset 0: content hash mismatch (expected ab.., got cd..)".
void verify_images(const std::string& dir, const RecordingManifest& m);

// XXH3-128 of a buffer or of a whole file (streamed; FormatError if unreadable).
Hash128 hash_bytes(std::span<const uint8_t> data);
Hash128 hash_file(const std::string& path);

// argv[0..argc) joined by single spaces.
std::string join_command_line(int argc, const char* const* argv);
// The host's current UTC time as "YYYY-MM-DDTHH:MM:SSZ". Metadata only.
std::string utc_timestamp();

}  // namespace hs
