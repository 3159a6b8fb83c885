// Private to snapshot/: the hart's and every device's state <-> the
// snapshot.capnp MachineState struct, and how to find the board's drives.
// Includes a generated capnp header, so only snapshot/*.cpp include it.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "schemas/snapshot.capnp.h"

namespace hs {

class Disk;
class Machine;
class VirtBoard;

namespace snapshot_detail {

// A MachineState that does not fit the board (wrong list lengths, another
// device in a virtio slot). The caller adds the file name.
class StateMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes the hart's and every device's state. Cost: a few KiB of fields.
void save_machine_state(Machine& m, VirtBoard& board, snapshot_schema::MachineState::Builder out);

// Throws StateMismatch unless `in` can be loaded into this board. Does not
// change anything.
void check_machine_state(snapshot_schema::MachineState::Reader in, VirtBoard& board);

// Loads a checked MachineState: devices first (their restore() re-drives
// interrupt lines into the PLIC and the hart), then the PLIC, then the hart,
// so the stored values are what remains.
void load_machine_state(snapshot_schema::MachineState::Reader in, Machine& m, VirtBoard& board);

// The Disk behind drive i (VirtConfig::drives order).
Disk& drive(VirtBoard& board, size_t i);

}  // namespace snapshot_detail
}  // namespace hs
