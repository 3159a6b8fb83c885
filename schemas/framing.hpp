// The container every persisted Hindsight file uses for its records.
//
// A record is a 32-byte header followed by a payload:
//
//   offset size field
//   0      4    magic        4 ASCII bytes naming the record kind ("HSMF", "HSJF", ...)
//   4      2    version      format version of the payload (bumped on every change)
//   6      2    flags        bit 0: payload is zstd-compressed
//   8      8    payload_len  bytes of payload that follow the header
//   16     8    raw_len      payload size after decompression (= payload_len if raw)
//   24     8    checksum     XXH3-64 of the header's first 24 bytes and the payload
//
// The payload is normally a Cap'n Proto message (schemas/*.capnp). Records can
// be concatenated in one file (journal frames, page packs): a reader walks
// them and stops at the first incomplete or corrupt one, which is how a
// recording cut short by a kill is read up to its last complete record.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace hs {

// A file that is not what it should be: names the file, the byte offset and
// the reason. Users see what() as a one-line error (exit 2).
class FormatError : public std::runtime_error {
 public:
  FormatError(const std::string& file, uint64_t offset, const std::string& reason);
  const std::string& file() const { return file_; }
  uint64_t offset() const { return offset_; }

 private:
  std::string file_;
  uint64_t offset_;
};

struct RecordHeader {
  static constexpr size_t kSize = 32;
  static constexpr uint16_t kCompressed = 1;
  char magic[4];
  uint16_t version;
  uint16_t flags;
  uint64_t payload_len;
  uint64_t raw_len;
  uint64_t checksum;
};
static_assert(sizeof(RecordHeader) == RecordHeader::kSize);

// Builds header + payload. Compresses with zstd at `level` when that makes the
// payload smaller (level 0 = store raw).
std::vector<uint8_t> encode_record(const char (&magic)[5], uint16_t version,
                                   std::span<const uint8_t> payload, int level = 3);

enum class RecordStatus { kOk, kTruncated, kCorrupt };

// Result of reading one record at `offset` of `data`.
struct DecodedRecord {
  RecordStatus status = RecordStatus::kOk;
  std::string problem;           // why, when not kOk
  uint16_t version = 0;
  std::vector<uint8_t> payload;  // decompressed
  uint64_t next_offset = 0;      // offset after this record
};

// Reads the record at `offset`. Wrong magic, bad checksum or an undecodable
// payload is kCorrupt; fewer bytes than the header promises is kTruncated.
// The caller decides what an unsupported version means (see check_version).
DecodedRecord decode_record(std::span<const uint8_t> data, uint64_t offset,
                            const char (&magic)[5]);

// Throws FormatError unless `version` is one this build reads.
void check_version(const std::string& file, uint64_t offset, uint16_t version,
                   uint16_t supported);

// Whole-file helpers. read_file throws FormatError (offset 0) if unreadable.
std::vector<uint8_t> read_whole_file(const std::string& path);
// Writes atomically: to path.tmp, fsync, rename.
void write_file_atomic(const std::string& path, std::span<const uint8_t> data);

}  // namespace hs
