#include "jit/disk_cache.hpp"
#include "jit/wire.hpp"
#include "schemas/framing.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <xxhash.h>

namespace hs::jit {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'H', 'S', 'J', 'I', 'T', 'O', 'B', '1'};
// Versions (executables) whose caches are kept besides the current one.
constexpr size_t kKeepVersions = 2;

// The whole file, or nullopt if it cannot be read.
std::optional<std::vector<char>> read_file(const fs::path& p) {
  try {
    const std::vector<uint8_t> bytes = read_whole_file(p);
    return std::vector<char>(bytes.begin(), bytes.end());
  } catch (const FormatError&) {
    return std::nullopt;
  }
}

}  // namespace

CodeKey DiskCache::object_id(const std::vector<Member>& members) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  for (const Member& m : members) XXH3_128bits_update(st, &m.code, sizeof m.code);
  const XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  return {h.low64, h.high64};
}

DiskCache::DiskCache(fs::path root, const std::string& version, uint64_t max_bytes)
    : root_(std::move(root)), max_bytes_(max_bytes) {
  if (root_.empty()) return;
  // The code calls this executable's helpers and reads its structures:
  // any other build gets a cache of its own.
  const auto exe = read_file("/proc/self/exe");
  if (!exe) return;
  const uint64_t h = XXH3_64bits_withSeed(exe->data(), exe->size(), XXH3_64bits(version.data(), version.size()));
  dir_ = root_ / fmt::format("{:016x}", h);
}

void DiskCache::open() {
  if (dir_.empty() || opened_) return;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (!ec) fs::last_write_time(dir_, fs::file_time_type::clock::now(), ec);
  if (ec) {
    std::fprintf(stderr, "hindsight: jit: code cache %s not usable (%s): compiling without it\n",
                 dir_.c_str(), ec.message().c_str());
    std::lock_guard lock(mu_);
    dir_.clear();
    return;
  }
  // Other versions: keep the most recently used few.
  std::vector<std::pair<fs::file_time_type, fs::path>> versions;
  for (const auto& e : fs::directory_iterator(root_, ec))
    if (e.is_directory(ec) && e.path() != dir_) versions.emplace_back(e.last_write_time(ec), e.path());
  std::sort(versions.begin(), versions.end(), std::greater<>());
  for (size_t k = kKeepVersions; k < versions.size(); ++k) fs::remove_all(versions[k].second, ec);

  // This version: list it, and drop the least recently used files (loads
  // touch them) while it is over its bound.
  struct File {
    fs::file_time_type used;
    uint64_t bytes;
    fs::path path;
    CodeKey key;
  };
  std::vector<File> files;
  uint64_t total = 0;
  const auto stale = fs::file_time_type::clock::now() - std::chrono::minutes(10);
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    struct stat st;
    if (::stat(e.path().c_str(), &st) != 0) continue;
    const auto key = name.ends_with(".o") ? Hash128::from_hex(std::string_view(name).substr(0, name.size() - 2))
                                          : std::nullopt;
    if (!key) {
      // A temporary file some writer left behind (killed mid-write).
      if (e.last_write_time(ec) < stale) fs::remove(e.path(), ec);
      continue;
    }
    const uint64_t share = static_cast<uint64_t>(st.st_size) / std::max<uint64_t>(st.st_nlink, 1);
    files.push_back({e.last_write_time(ec), share, e.path(), *key});
    total += share;
  }
  std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.used < b.used; });
  size_t first = 0;
  if (total > max_bytes_)
    for (; first < files.size() && total > max_bytes_ / 4 * 3; ++first) {
      fs::remove(files[first].path, ec);
      total -= files[first].bytes;
    }
  std::lock_guard lock(mu_);
  for (size_t k = first; k < files.size(); ++k) present_.insert(files[k].key);
  opened_ = true;
}

bool DiskCache::has(const CodeKey& k) {
  std::lock_guard lock(mu_);
  return opened_ && present_.count(k) != 0;
}

std::optional<DiskCache::Object> DiskCache::load(const CodeKey& k) {
  if (!has(k)) return std::nullopt;
  const fs::path p = path(k);
  auto bytes = read_file(p);
  Object o;
  size_t at = sizeof kMagic;
  uint64_t sum = 0;
  uint32_t count = 0, size = 0;
  bool ok = bytes && bytes->size() > at && std::memcmp(bytes->data(), kMagic, sizeof kMagic) == 0 &&
            get(*bytes, at, sum) && sum == XXH3_64bits(bytes->data() + at, bytes->size() - at) &&
            get(*bytes, at, count) && get(*bytes, at, size) && count > 0 && count <= 64;
  bool found = false;
  for (uint32_t n = 0; ok && n < count; ++n) {
    Member m;
    uint32_t len = 0, region = 0;
    ok = get(*bytes, at, m.key) && get(*bytes, at, m.code) && get(*bytes, at, len) && get(*bytes, at, region) &&
         len <= 256 && region <= (1u << 20) && bytes->size() - at >= uint64_t{len} + region;
    if (!ok) break;
    m.symbol.assign(bytes->data() + at, len);
    at += len;
    m.region.assign(bytes->data() + at, bytes->data() + at + region);
    at += region;
    found |= m.key == k;
    o.members.push_back(std::move(m));
  }
  ok = ok && found && bytes->size() - at == size;
  if (!ok) {
    std::error_code ec;
    if (bytes) {
      std::fprintf(stderr, "hindsight: jit: damaged code cache file %s removed\n", p.c_str());
      fs::remove(p, ec);
    }
    std::lock_guard lock(mu_);
    present_.erase(k);
    return std::nullopt;
  }
  o.bytes.assign(bytes->begin() + static_cast<ptrdiff_t>(at), bytes->end());
  o.id = object_id(o.members);
  // Least recently used goes first when the cache is trimmed.
  ::utimensat(AT_FDCWD, p.c_str(), nullptr, 0);
  return o;
}

void DiskCache::store(const Object& o) {
  if (!enabled()) return;
  std::vector<char> body;
  put(body, static_cast<uint32_t>(o.members.size()));
  put(body, static_cast<uint32_t>(o.bytes.size()));
  for (const Member& m : o.members) {
    put(body, m.key);
    put(body, m.code);
    put(body, static_cast<uint32_t>(m.symbol.size()));
    put(body, static_cast<uint32_t>(m.region.size()));
    body.insert(body.end(), m.symbol.begin(), m.symbol.end());
    body.insert(body.end(), m.region.begin(), m.region.end());
  }
  body.insert(body.end(), o.bytes.begin(), o.bytes.end());
  std::vector<char> file(kMagic, kMagic + sizeof kMagic);
  put(file, XXH3_64bits(body.data(), body.size()));
  file.insert(file.end(), body.begin(), body.end());

  static std::atomic<uint64_t> serial{0};
  const fs::path tmp = dir_ / fmt::format("{}.{}.{}.tmp", o.id.to_string(), getpid(), serial++);
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
    if (!out.flush()) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return;
    }
  }
  std::lock_guard lock(mu_);
  for (const Member& m : o.members)
    if (::link(tmp.c_str(), path(m.key).c_str()) == 0 || errno == EEXIST) present_.insert(m.key);
  ::unlink(tmp.c_str());
}

}  // namespace hs::jit
