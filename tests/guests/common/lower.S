/* uint64_t run_lower(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t mpp, void *stack_top)
   Called in M-mode: runs fn(arg) in the privilege mode given by `mpp`
   (mstatus.MPP bits: 0 = U, 1<<11 = S) on `stack_top`, via mret. The lower
   code comes back with an ecall with a7 = SYS_EXIT (or by returning from fn,
   which does that ecall with the return value); the M-mode handler then calls lower_return(frame),
   and run_lower returns the ecall's a0. */
#define SYS_EXIT 93
  .text
  .globl run_lower
run_lower:
  addi sp, sp, -112
  sd ra, 0(sp)
  sd s0, 8(sp)
  sd s1, 16(sp)
  sd s2, 24(sp)
  sd s3, 32(sp)
  sd s4, 40(sp)
  sd s5, 48(sp)
  sd s6, 56(sp)
  sd s7, 64(sp)
  sd s8, 72(sp)
  sd s9, 80(sp)
  sd s10, 88(sp)
  sd s11, 96(sp)
  la t0, lower_saved_sp
  sd sp, 0(t0)
  csrw mepc, a0
  li t0, 3 << 11
  csrc mstatus, t0
  csrs mstatus, a2
  mv a0, a1
  mv sp, a3
  la ra, lower_exit_stub
  mret

  .globl lower_resume
lower_resume:                /* M-mode again, a0 = result */
  la t0, lower_saved_sp
  ld sp, 0(t0)
  ld ra, 0(sp)
  ld s0, 8(sp)
  ld s1, 16(sp)
  ld s2, 24(sp)
  ld s3, 32(sp)
  ld s4, 40(sp)
  ld s5, 48(sp)
  ld s6, 56(sp)
  ld s7, 64(sp)
  ld s8, 72(sp)
  ld s9, 80(sp)
  ld s10, 88(sp)
  ld s11, 96(sp)
  addi sp, sp, 112
  ret

  .globl lower_exit_stub
lower_exit_stub:             /* runs in the lower mode when fn returns */
  li a7, SYS_EXIT
  ecall
1:
  j 1b

  .bss
  .align 3
lower_saved_sp:
  .dword 0
