#include "schemas/framing.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace hs {

FormatError::FormatError(const std::string& file, uint64_t offset, const std::string& reason)
    : std::runtime_error(fmt::format("{}: offset {}: {}", file, offset, reason)),
      file_(file),
      offset_(offset) {}

namespace {

uint64_t checksum(const RecordHeader& h, std::span<const uint8_t> payload) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, &h, offsetof(RecordHeader, checksum));
  XXH3_64bits_update(st, payload.data(), payload.size());
  const uint64_t sum = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return sum;
}

}  // namespace

std::vector<uint8_t> encode_record(const char (&magic)[5], uint16_t version,
                                   std::span<const uint8_t> payload, int level) {
  std::vector<uint8_t> out(RecordHeader::kSize);
  RecordHeader h{};
  std::memcpy(h.magic, magic, 4);
  h.version = version;
  h.raw_len = payload.size();
  std::span<const uint8_t> body = payload;
  std::vector<uint8_t> packed;
  if (level > 0 && !payload.empty()) {
    packed.resize(ZSTD_compressBound(payload.size()));
    const size_t n = ZSTD_compress(packed.data(), packed.size(), payload.data(), payload.size(), level);
    if (!ZSTD_isError(n) && n < payload.size()) {
      packed.resize(n);
      body = packed;
      h.flags |= RecordHeader::kCompressed;
    }
  }
  h.payload_len = body.size();
  h.checksum = checksum(h, body);
  std::memcpy(out.data(), &h, sizeof h);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

DecodedRecord decode_record(std::span<const uint8_t> data, uint64_t offset,
                            const char (&magic)[5]) {
  DecodedRecord r;
  auto fail = [&r](RecordStatus s, std::string why) {
    r.status = s;
    r.problem = std::move(why);
    return r;
  };
  if (offset > data.size() || data.size() - offset < RecordHeader::kSize)
    return fail(RecordStatus::kTruncated, "incomplete record header");
  RecordHeader h;
  std::memcpy(&h, data.data() + offset, sizeof h);
  if (std::memcmp(h.magic, magic, 4) != 0)
    return fail(RecordStatus::kCorrupt, fmt::format("bad magic (expected {})", magic));
  if (h.payload_len > data.size() - offset - RecordHeader::kSize)
    return fail(RecordStatus::kTruncated,
                fmt::format("record needs {} payload bytes, file has {}", h.payload_len,
                            data.size() - offset - RecordHeader::kSize));
  const std::span<const uint8_t> body = data.subspan(offset + RecordHeader::kSize, h.payload_len);
  if (checksum(h, body) != h.checksum) return fail(RecordStatus::kCorrupt, "checksum mismatch");
  if (h.raw_len > (1ull << 34)) return fail(RecordStatus::kCorrupt, "implausible record size");
  r.version = h.version;
  if (h.flags & RecordHeader::kCompressed) {
    r.payload.resize(h.raw_len);
    const size_t n = ZSTD_decompress(r.payload.data(), r.payload.size(), body.data(), body.size());
    if (ZSTD_isError(n) || n != h.raw_len)
      return fail(RecordStatus::kCorrupt, "zstd payload does not decompress");
  } else {
    if (h.raw_len != h.payload_len) return fail(RecordStatus::kCorrupt, "bad raw length");
    r.payload.assign(body.begin(), body.end());
  }
  r.next_offset = offset + RecordHeader::kSize + h.payload_len;
  return r;
}

void check_version(const std::string& file, uint64_t offset, uint16_t version,
                   uint16_t supported) {
  if (version != supported)
    throw FormatError(file, offset,
                      fmt::format("format version {} is not supported (this hindsight reads "
                                  "version {})",
                                  version, supported));
}

std::vector<uint8_t> read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw FormatError(path, 0, std::strerror(errno));
  std::vector<uint8_t> data;
  uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw FormatError(path, data.size(), std::strerror(err));
    }
    if (n == 0) break;
    data.insert(data.end(), buf, buf + n);
  }
  ::close(fd);
  return data;
}

void write_file_atomic(const std::string& path, std::span<const uint8_t> data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw FormatError(tmp, 0, std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw FormatError(tmp, done, std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw FormatError(tmp, done, std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw FormatError(path, 0, std::strerror(errno));
}

}  // namespace hs
