// A scratch directory for a test, removed with its contents at the end.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

namespace hs::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const char* prefix = "hs_test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / prefix).string() + "_XXXXXX";
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string str() const { return path.string(); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

}  // namespace hs::test
