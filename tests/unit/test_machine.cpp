#include <catch2/catch.hpp>

#include "tests/unit/test_harness.hpp"

using namespace hs;

TEST_CASE("bus rejects overlapping regions", "[bus]") {
  Bus bus;
  bus.add_memory("ram", PAddr{0x80000000}, 0x1000, true);
  REQUIRE_THROWS_AS(bus.add_memory("rom", PAddr{0x80000800}, 0x1000, false), std::invalid_argument);
}

TEST_CASE("bus reads and writes memory, faults elsewhere", "[bus]") {
  Bus bus;
  bus.add_memory("ram", PAddr{0x80000000}, 0x2000, true);
  bus.add_memory("rom", PAddr{0x1000}, 0x1000, false);
  uint64_t v = 0;
  REQUIRE(bus.write(PAddr{0x80001ff8}, 8, 0x1122334455667788ull));
  REQUIRE(bus.read(PAddr{0x80001ff8}, 4, v));
  CHECK(v == 0x55667788u);
  CHECK_FALSE(bus.write(PAddr{0x80001ffc}, 8, 0));  // crosses the end of RAM
  CHECK_FALSE(bus.write(PAddr{0x1000}, 4, 1));      // ROM
  CHECK_FALSE(bus.read(PAddr{0x4000}, 4, v));       // unmapped
}
