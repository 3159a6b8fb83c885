/* Trap vectors for M-mode (m_trap_vector, uses mscratch) and S-mode
   (s_trap_vector, uses sscratch). {m,s}scratch holds the top of the handler's
   stack while not in a handler. The vector saves all registers into a
   struct trap_frame (trap_frame.h) and calls {m,s}_trap_handler(frame); on
   return it writes back epc and status, restores the registers and returns. */
#define FRAME_SIZE (36 * 8)

.macro TRAP_VECTOR p
  .align 2
  .globl \p\()_trap_vector
\p\()_trap_vector:
  csrrw sp, \p\()scratch, sp
  addi sp, sp, -FRAME_SIZE
  sd x1, 1*8(sp)
  sd x3, 3*8(sp)
  sd x4, 4*8(sp)
  sd x5, 5*8(sp)
  sd x6, 6*8(sp)
  sd x7, 7*8(sp)
  sd x8, 8*8(sp)
  sd x9, 9*8(sp)
  sd x10, 10*8(sp)
  sd x11, 11*8(sp)
  sd x12, 12*8(sp)
  sd x13, 13*8(sp)
  sd x14, 14*8(sp)
  sd x15, 15*8(sp)
  sd x16, 16*8(sp)
  sd x17, 17*8(sp)
  sd x18, 18*8(sp)
  sd x19, 19*8(sp)
  sd x20, 20*8(sp)
  sd x21, 21*8(sp)
  sd x22, 22*8(sp)
  sd x23, 23*8(sp)
  sd x24, 24*8(sp)
  sd x25, 25*8(sp)
  sd x26, 26*8(sp)
  sd x27, 27*8(sp)
  sd x28, 28*8(sp)
  sd x29, 29*8(sp)
  sd x30, 30*8(sp)
  sd x31, 31*8(sp)
  csrr t0, \p\()scratch
  sd t0, 2*8(sp)
  sd zero, 0(sp)
  csrr t0, \p\()epc
  sd t0, 32*8(sp)
  csrr t0, \p\()cause
  sd t0, 33*8(sp)
  csrr t0, \p\()tval
  sd t0, 34*8(sp)
  csrr t0, \p\()status
  sd t0, 35*8(sp)
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  mv a0, sp
  call \p\()_trap_handler
  ld t0, 32*8(sp)
  csrw \p\()epc, t0
  ld t0, 35*8(sp)
  csrw \p\()status, t0
  addi t0, sp, FRAME_SIZE
  csrw \p\()scratch, t0
  ld x1, 1*8(sp)
  ld x3, 3*8(sp)
  ld x4, 4*8(sp)
  ld x5, 5*8(sp)
  ld x6, 6*8(sp)
  ld x7, 7*8(sp)
  ld x8, 8*8(sp)
  ld x9, 9*8(sp)
  ld x10, 10*8(sp)
  ld x11, 11*8(sp)
  ld x12, 12*8(sp)
  ld x13, 13*8(sp)
  ld x14, 14*8(sp)
  ld x15, 15*8(sp)
  ld x16, 16*8(sp)
  ld x17, 17*8(sp)
  ld x18, 18*8(sp)
  ld x19, 19*8(sp)
  ld x20, 20*8(sp)
  ld x21, 21*8(sp)
  ld x22, 22*8(sp)
  ld x23, 23*8(sp)
  ld x24, 24*8(sp)
  ld x25, 25*8(sp)
  ld x26, 26*8(sp)
  ld x27, 27*8(sp)
  ld x28, 28*8(sp)
  ld x29, 29*8(sp)
  ld x30, 30*8(sp)
  ld x31, 31*8(sp)
  ld sp, 2*8(sp)
  \p\()ret
.endm

  .text
  TRAP_VECTOR m
  TRAP_VECTOR s
