#include "replay/manifest.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <utility>

#include "replay/capnp_io.hpp"

namespace hs {

namespace fs = std::filesystem;
namespace sc = recording_schema;

namespace {

constexpr char kManifestMagic[5] = "HSMF";
constexpr size_t kChunk = 1 << 20;

std::string path_in(const std::string& dir, const std::string& a, const std::string& b = {}) {
  fs::path p = fs::path(dir) / a;
  if (!b.empty()) p /= b;
  return p.string();
}

// An open file descriptor, closed on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void throw_errno(const std::string& file, uint64_t offset) {
  throw FormatError(file, offset, std::strerror(errno));
}

void write_all(int fd, const uint8_t* p, size_t n, const std::string& file, uint64_t offset) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw_errno(file, offset);
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
}

// Reads `path` to its end in kChunk pieces, hashing each and, if out_fd >= 0,
// writing it there. Returns the hash; sets `size`.
Hash128 stream_file(const std::string& path, int out_fd, const std::string& out_path,
                    uint64_t& size) {
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) throw_errno(path, 0);
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> st(XXH3_createState(), XXH3_freeState);
  XXH3_128bits_reset(st.get());
  std::vector<uint8_t> buf(kChunk);
  size = 0;
  for (;;) {
    const ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(path, size);
    if (n == 0) break;
    XXH3_128bits_update(st.get(), buf.data(), static_cast<size_t>(n));
    if (out_fd >= 0) write_all(out_fd, buf.data(), static_cast<size_t>(n), out_path, size);
    size += static_cast<uint64_t>(n);
  }
  const XXH128_hash_t h = XXH3_128bits_digest(st.get());
  return Hash128{h.low64, h.high64};
}

// A temporary file in `dir`, unlinked unless commit() renamed it.
class TempFile {
 public:
  explicit TempFile(const fs::path& dir) {
    static std::atomic<uint64_t> counter{0};
    path_ = (dir / fmt::format(".tmp-{}-{}", ::getpid(), counter++)).string();
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) throw_errno(path_, 0);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // fsyncs and closes; then renames over `target` (or just drops the temp
  // file when `keep_existing` and target exists).
  void commit(const std::string& target, bool keep_existing) {
    if (::fsync(fd_) != 0) throw_errno(path_, 0);
    ::close(std::exchange(fd_, -1));
    if (keep_existing) return;  // destructor unlinks
    if (::rename(path_.c_str(), target.c_str()) != 0) throw_errno(target, 0);
    path_.clear();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

void sync_dir(const std::string& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd >= 0) ::fsync(d.fd);  // best effort: durability of the rename
}

bool has_file_of_size(const std::string& path, uint64_t size) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && fs::file_size(path, ec) == size && !ec;
}

// Checks one image; returns the file to open. `hash_copies`: also hash images
// stored in the recording (references to outside files are always hashed).
std::string check_image(const std::string& dir, const ImageRef& ref, bool hash_copies) {
  const bool copied = !ref.stored.empty();
  const std::string file = copied ? path_in(dir, rec_file::kImagesDir, ref.stored) : ref.path;
  const char* outside = copied ? "" : " (the recording references this file instead of a copy)";
  std::error_code ec;
  if (!fs::exists(file, ec)) throw FormatError(file, 0, fmt::format("image missing{}", outside));
  const uint64_t size = fs::file_size(file, ec);
  if (ec) throw FormatError(file, 0, ec.message());
  if (size != ref.size)
    throw FormatError(file, 0,
                      fmt::format("size {} bytes, the manifest records {}{}", size, ref.size,
                                  copied ? "" : ": the file changed since it was recorded"));
  if (copied && !hash_copies) return file;
  const Hash128 got = hash_file(file);
  if (got != ref.hash)
    throw FormatError(file, 0,
                      fmt::format("content hash mismatch (expected {}, got {}){}",
                                  ref.hash.to_string(), got.to_string(),
                                  copied ? "" : ": the file changed since it was recorded"));
  return file;
}

// --- Cap'n Proto mapping -----------------------------------------------------

static_assert(static_cast<int>(sc::BiosMode::NONE) == static_cast<int>(BiosMode::kNone));
static_assert(static_cast<int>(sc::BiosMode::FILE) == static_cast<int>(BiosMode::kFile));
static_assert(static_cast<int>(sc::BiosMode::DEFAULT_FIRMWARE) ==
              static_cast<int>(BiosMode::kDefault));

void set_image(sc::ImageRef::Builder b, const ImageRef& r) {
  b.setPath(r.path);
  b.setSize(r.size);
  b.setHash(capnp_io::data_of(r.hash.canonical()));
  b.setStored(r.stored);
}

// Throws FormatError(file, 0, ...) for a ref that cannot be valid.
ImageRef get_image(sc::ImageRef::Reader r, const std::string& file) {
  ImageRef ref;
  ref.path = r.getPath();
  ref.size = r.getSize();
  const auto hash = r.getHash();
  if (hash.size() != 16)
    throw FormatError(file, 0, fmt::format("image {}: hash has {} bytes, not 16", ref.path, hash.size()));
  ref.hash = Hash128::from_canonical(std::span<const uint8_t, 16>(hash.begin(), 16));
  ref.stored = r.getStored();
  if (!ref.stored.empty() && ref.stored != ref.hash.to_string())
    throw FormatError(file, 0, fmt::format("image {}: stored name {} is not its hash {}", ref.path,
                                           ref.stored, ref.hash.to_string()));
  return ref;
}

std::vector<uint8_t> encode_manifest(const RecordingManifest& m) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<sc::Manifest>();
  b.setFormatVersion(m.format_version);
  b.setHindsightVersion(m.hindsight_version);
  b.setCreated(m.created);
  b.setCommandLine(m.command_line);
  b.setRamSize(m.ram_size);
  b.setBiosMode(static_cast<sc::BiosMode>(m.bios_mode));
  if (m.bios) set_image(b.initBios(), *m.bios);
  if (m.kernel) set_image(b.initKernel(), *m.kernel);
  if (m.initrd) set_image(b.initInitrd(), *m.initrd);
  if (m.dtb) set_image(b.initDtb(), *m.dtb);
  b.setAppend(m.append);
  auto drives = b.initDrives(static_cast<unsigned>(m.drives.size()));
  for (unsigned i = 0; i < m.drives.size(); ++i) {
    set_image(drives[i].initImage(), m.drives[i].image);
    drives[i].setReadonly(m.drives[i].readonly);
  }
  b.setRng(m.rng);
  b.setSnapshotInterval(m.snapshot_interval);
  b.setPacing(m.pacing);
  return capnp_io::to_bytes(msg);
}

RecordingManifest decode_manifest(sc::Manifest::Reader r, const std::string& file) {
  RecordingManifest m;
  m.format_version = r.getFormatVersion();
  m.hindsight_version = r.getHindsightVersion();
  m.created = r.getCreated();
  m.command_line = r.getCommandLine();
  m.ram_size = r.getRamSize();
  m.bios_mode = static_cast<BiosMode>(r.getBiosMode());
  if (r.hasBios()) m.bios = get_image(r.getBios(), file);
  if (r.hasKernel()) m.kernel = get_image(r.getKernel(), file);
  if (r.hasInitrd()) m.initrd = get_image(r.getInitrd(), file);
  if (r.hasDtb()) m.dtb = get_image(r.getDtb(), file);
  m.append = r.getAppend();
  for (const auto d : r.getDrives())
    m.drives.push_back(DriveRef{get_image(d.getImage(), file), d.getReadonly()});
  m.rng = r.getRng();
  m.snapshot_interval = r.getSnapshotInterval();
  m.pacing = r.getPacing();
  return m;
}

void check_manifest(const RecordingManifest& m, const std::string& file) {
  auto bad = [&file](const std::string& why) { throw FormatError(file, 0, "inconsistent manifest: " + why); };
  if (m.format_version != kRecordingFormatVersion)
    bad(fmt::format("formatVersion field {} differs from the record version {}", m.format_version,
                    kRecordingFormatVersion));
  if (m.bios_mode > BiosMode::kDefault) bad("unknown bios mode");
  if (m.bios.has_value() != (m.bios_mode != BiosMode::kNone))
    bad("firmware image present iff bios mode is not none");
  if (m.ram_size == 0 || m.ram_size % 4096 != 0) bad(fmt::format("RAM size {}", m.ram_size));
}

}  // namespace

void write_manifest(const std::string& dir, const RecordingManifest& m) {
  write_file_atomic(path_in(dir, rec_file::kManifest),
                    encode_record(kManifestMagic, kRecordingFormatVersion, encode_manifest(m)));
}

RecordingManifest read_manifest(const std::string& dir) {
  const std::string file = path_in(dir, rec_file::kManifest);
  const std::vector<uint8_t> payload =
      capnp_io::read_single_record(file, kManifestMagic, " (not a hindsight recording?)");
  RecordingManifest m;
  const auto err = capnp_io::parse<sc::Manifest>(
      payload, [&](sc::Manifest::Reader r) { m = decode_manifest(r, file); });
  if (err) throw FormatError(file, RecordHeader::kSize, *err);
  check_manifest(m, file);
  return m;
}

ImageRef store_image(const std::string& dir, const std::string& path, bool copy) {
  ImageRef ref;
  std::error_code ec;
  ref.path = fs::absolute(path, ec).string();
  if (ec) ref.path = path;
  if (!copy) {
    ref.hash = stream_file(path, -1, {}, ref.size);
    return ref;
  }
  const std::string images = path_in(dir, rec_file::kImagesDir);
  fs::create_directories(images, ec);
  if (ec) throw FormatError(images, 0, ec.message());
  TempFile tmp(images);
  ref.hash = stream_file(path, tmp.fd(), tmp.path(), ref.size);
  ref.stored = ref.hash.to_string();
  const std::string target = path_in(images, ref.stored);
  tmp.commit(target, has_file_of_size(target, ref.size));
  sync_dir(images);
  return ref;
}

std::string resolve_image(const std::string& dir, const ImageRef& ref) {
  return check_image(dir, ref, false);
}

void verify_images(const std::string& dir, const RecordingManifest& m) {
  for (const auto* ref : {&m.bios, &m.kernel, &m.initrd, &m.dtb})
    if (ref->has_value()) check_image(dir, **ref, true);
  for (const DriveRef& d : m.drives) check_image(dir, d.image, true);
}

Hash128 hash_bytes(std::span<const uint8_t> data) {
  const XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  return Hash128{h.low64, h.high64};
}

Hash128 hash_file(const std::string& path) {
  uint64_t size = 0;
  return stream_file(path, -1, {}, size);
}

std::string join_command_line(int argc, const char* const* argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    if (i) s += ' ';
    s += argv[i];
  }
  return s;
}

std::string utc_timestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace hs
