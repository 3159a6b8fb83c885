// What every part of a recording shares: the directory layout and the
// format version. Image contents and machine states are hashed as Hash128
// (snapshot/hash128.hpp), stored in its canonical 16-byte form. The schema
// itself (schemas/recording.capnp) stays private to replay/*.cpp; this
// header is cheap to include.
//
// REC/
//   manifest        one HSMF record (replay/manifest.hpp)
//   images/<hex>    content-addressed copies of the guest's images
//   journal         append-only HSJF frame records (replay/journal.hpp)
//   end             one HSEN record, only after a clean end (replay/journal.hpp)
//   pages.pack, snapshots/   snapshot/ (not described here)
//
// There is no journal index file: the reader validates every frame's
// checksum anyway (that is how it finds where a killed recording stops), so
// it rebuilds the index in memory while reading. An index file would be a
// second truth that can lag the journal after a crash and would need its own
// validation, for no saving.
#pragma once

#include <cstdint>

namespace hs {

// Version of the manifest, journal frame and end records. Mirrors
// `formatVersion` in schemas/recording.capnp (checked by a static_assert in
// replay/journal.cpp); bump both on any format change.
constexpr uint16_t kRecordingFormatVersion = 2;

namespace rec_file {
constexpr const char* kManifest = "manifest";
constexpr const char* kImagesDir = "images";
constexpr const char* kJournal = "journal";
constexpr const char* kEnd = "end";
}  // namespace rec_file

}  // namespace hs
