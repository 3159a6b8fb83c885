/* M-mode entry of the bare-metal guests. a0 = hart id, a1 = DTB address. */
  .section .text.init,"ax",@progbits
  .globl _start
_start:
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  mv s0, a0
  mv s1, a1
  csrr t0, mhartid
  bnez t0, park            /* single-hart guests: park any other hart */
  la sp, __stack_top
  la t0, __trap_stack_top
  csrw mscratch, t0
  la t0, m_trap_vector
  csrw mtvec, t0
  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  la t0, boot_hartid
  sd s0, 0(t0)
  la t0, boot_dtb
  sd s1, 0(t0)
  call main
  call finisher_exit       /* exit code = main's return value */
park:
  wfi
  j park
