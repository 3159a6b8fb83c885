/* Register frame saved by the trap vectors in trap.S. Offsets are used by the
   assembly: keep the layout in sync. */
#pragma once
#include <stdint.h>

struct trap_frame {
  uint64_t x[32];   /* x[0] unused, x[2] = sp at the time of the trap */
  uint64_t epc;     /* mepc / sepc: the handler may change it */
  uint64_t cause;   /* mcause / scause */
  uint64_t tval;    /* mtval / stval */
  uint64_t status;  /* mstatus / sstatus: written back on return */
};

#define TF_EPC 32
#define TF_A0 10
#define TF_A1 11
#define TF_A7 17
