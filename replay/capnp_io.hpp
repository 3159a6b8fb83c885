// Internal to replay/*.cpp (includes Cap'n Proto and generated headers; never
// include it from a public header): Cap'n Proto message <-> record payload,
// and the single-record files (manifest, end).
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "replay/recording_layout.hpp"
#include "schemas/framing.hpp"
#include "schemas/recording.capnp.h"

namespace hs::capnp_io {

// The flat (unpacked) Cap'n Proto encoding of `message`: the record payload.
inline std::vector<uint8_t> to_bytes(capnp::MessageBuilder& message) {
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  const kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

inline kj::ArrayPtr<const kj::byte> data_of(std::span<const uint8_t> v) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(v.data()), v.size());
}

// Parses `payload` as a message with root `Root` and calls fn(root).
// Returns the reason when the payload is not a valid message or reading it
// fails (capnp validates lazily, so failures inside fn count too); other
// exceptions from fn propagate. `payload` must be 8-byte aligned (vector
// storage is).
template <typename Root, typename Fn>
std::optional<std::string> parse(std::span<const uint8_t> payload, Fn&& fn) {
  if (payload.size() % sizeof(capnp::word) != 0 ||
      reinterpret_cast<uintptr_t>(payload.data()) % alignof(capnp::word) != 0)
    return std::string("payload is not a Cap'n Proto message (size not a multiple of 8)");
  try {
    const kj::ArrayPtr<const capnp::word> words(
        reinterpret_cast<const capnp::word*>(payload.data()), payload.size() / sizeof(capnp::word));
    // The default traversal limit (64 MiB) could refuse a big but valid frame;
    // the payload is checksummed, so allow a generous multiple of its size.
    capnp::ReaderOptions options;
    options.traversalLimitInWords = std::max<uint64_t>(options.traversalLimitInWords, words.size() * 4);
    capnp::FlatArrayMessageReader reader(words, options);
    fn(reader.getRoot<Root>());
  } catch (const kj::Exception& e) {
    return std::string("undecodable Cap'n Proto payload: ") + e.getDescription().cStr();
  }
  return std::nullopt;
}

// Reads a file that holds exactly one record of kind `magic` and returns its
// payload. Throws FormatError: missing ("missing" + `missing_hint`),
// unreadable, truncated, corrupt, trailing bytes, unsupported version.
inline std::vector<uint8_t> read_single_record(const std::string& path, const char (&magic)[5],
                                               const char* missing_hint) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw FormatError(path, 0, std::string("missing") + missing_hint);
  const std::vector<uint8_t> data = read_whole_file(path);
  DecodedRecord r = decode_record(data, 0, magic);
  if (r.status != RecordStatus::kOk) throw FormatError(path, 0, r.problem);
  check_version(path, 0, r.version, kRecordingFormatVersion);
  if (r.next_offset != data.size())
    throw FormatError(path, r.next_offset, "unexpected bytes after the record");
  return std::move(r.payload);
}

}  // namespace hs::capnp_io
