/* Bare-metal guest runtime: CSR access, finisher exit, checks, trap hooks.
   The runtime (start.S) enters main() in M-mode with mtvec = m_trap_vector,
   FS = Off, paging off. */
#pragma once
#include <stdint.h>

#include "trap_frame.h"
#include "uart.h"

#define read_csr(csr) ({ uint64_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define write_csr(csr, val) __asm__ volatile("csrw " #csr ", %0" ::"rK"((uint64_t)(val)) : "memory")
#define set_csr(csr, bits) __asm__ volatile("csrs " #csr ", %0" ::"rK"((uint64_t)(bits)) : "memory")
#define clear_csr(csr, bits) __asm__ volatile("csrc " #csr ", %0" ::"rK"((uint64_t)(bits)) : "memory")

#define MSTATUS_SIE (1UL << 1)
#define MSTATUS_MIE (1UL << 3)
#define MSTATUS_SPIE (1UL << 5)
#define MSTATUS_MPIE (1UL << 7)
#define MSTATUS_SPP (1UL << 8)
#define MSTATUS_MPP (3UL << 11)
#define MSTATUS_MPP_S (1UL << 11)
#define MSTATUS_MPP_U (0UL << 11)
#define MSTATUS_FS (3UL << 13)
#define MSTATUS_FS_INITIAL (1UL << 13)
#define MSTATUS_FS_DIRTY (3UL << 13)
#define MSTATUS_MPRV (1UL << 17)
#define MSTATUS_SUM (1UL << 18)
#define MSTATUS_MXR (1UL << 19)
#define MSTATUS_SD (1UL << 63)

/* Hart id and DTB address handed over in a0/a1 at reset. */
extern uint64_t boot_hartid, boot_dtb;

/* Test finisher (sifive,test0 at 0x100000): 0 = pass, else fail with `code`
   (1..255: it becomes the host process's exit status). */
__attribute__((noreturn)) void finisher_exit(int code);

/* On mismatch prints "FAIL <id> <what>: got 0x.. want 0x.." and exits with
   code `id`. Counts successful checks in checks_passed. */
void check_eq(int id, const char *what, uint64_t got, uint64_t want);
__attribute__((noreturn)) void fail(int id, const char *what);
extern unsigned checks_passed;
/* Prints "PASS <name> (<n> checks)". */
void report_pass(const char *name);

/* Trap hooks called by the vectors in trap.S. The defaults (weak) report the
   trap (mcause/mepc/mtval) and exit with code 99. */
void m_trap_handler(struct trap_frame *f);
void s_trap_handler(struct trap_frame *f);
/* `mode` is "m" or "s": prints e.g. "FAIL unexpected trap: mcause=.. mepc=.. mtval=..". */
__attribute__((noreturn)) void unexpected_trap(const char *mode, const struct trap_frame *f);
extern void m_trap_vector(void);
extern void s_trap_vector(void);
extern char __s_trap_stack_top[], __u_stack_top[], __image_end[];

/* Length in bytes (2 or 4) of the instruction at `pc` (must be readable). */
static inline uint64_t insn_len(uint64_t pc) {
  return ((*(volatile uint16_t *)pc) & 3) == 3 ? 4 : 2;
}

/* PMP entry 0 = whole address space RWX, so S/U-mode can access memory. */
static inline void pmp_allow_all(void) {
  write_csr(pmpaddr0, ~0UL >> 10);
  write_csr(pmpcfg0, 0x1f); /* NAPOT | X | W | R */
}

/* Running code in S- or U-mode (lower.S). */
#define SYS_EXIT 93
uint64_t run_lower(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t mpp, void *stack_top);
extern void lower_resume(void);
/* For the M-mode handler on an ecall with a7 == SYS_EXIT: makes the trap
   return to run_lower's caller in M-mode with the ecall's a0. */
static inline void lower_return(struct trap_frame *f) {
  f->epc = (uint64_t)lower_resume;
  f->status = (f->status & ~MSTATUS_MPP) | (3UL << 11);
}
/* Plain ecall with up to 6 arguments, number in a7; returns a0. */
static inline uint64_t ecall6(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                              uint64_t a4, uint64_t a5) {
  register uint64_t r0 __asm__("a0") = a0, r1 __asm__("a1") = a1, r2 __asm__("a2") = a2,
                    r3 __asm__("a3") = a3, r4 __asm__("a4") = a4, r5 __asm__("a5") = a5,
                    r7 __asm__("a7") = nr;
  __asm__ volatile("ecall"
                   : "+r"(r0), "+r"(r1)
                   : "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r7)
                   : "memory");
  return r0;
}
