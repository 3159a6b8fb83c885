/* U-mode: entry via mret, ecall with arguments (cause 8), illegal
   instructions (cause 2, mtval = instruction bits), ebreak (cause 3),
   counter access through mcounteren/scounteren, PMP access faults. */
#include "common/guest.h"

#define SYS_SUM 1
#define CAUSE_ILLEGAL 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U 8

/* Last trap the M-mode handler skipped over (not ecalls). */
static volatile uint64_t trap_cause, trap_tval, trap_epc, trap_count;
static volatile uint64_t ecall_status;
static volatile uint64_t ecall_args[7];

/* A page U-mode may not touch (PMP entry 0 denies it). */
static volatile uint64_t forbidden[512] __attribute__((aligned(4096)));

void m_trap_handler(struct trap_frame *f) {
  if (f->cause == CAUSE_ECALL_U) {
    check_eq(40, "ecall: instruction at mepc is ecall", *(volatile uint32_t *)f->epc, 0x00000073);
    check_eq(41, "ecall: mtval", f->tval, 0);
    ecall_status = f->status;
    uint64_t nr = f->x[TF_A7];
    if (nr == SYS_EXIT) {
      lower_return(f);
      return;
    }
    if (nr != SYS_SUM) fail(42, "unknown ecall number");
    uint64_t sum = 0;
    for (int i = 0; i < 6; i++) {
      ecall_args[i] = f->x[TF_A0 + i];
      sum += f->x[TF_A0 + i] * (uint64_t)(i + 1);
    }
    f->x[TF_A0] = sum;
    f->epc += 4;
    return;
  }
  if (f->cause & (1UL << 63)) unexpected_trap("m", f);
  check_eq(43, "trap from U-mode: mstatus.MPP = U", f->status & MSTATUS_MPP, MSTATUS_MPP_U);
  trap_cause = f->cause;
  trap_tval = f->tval;
  trap_epc = f->epc;
  trap_count++;
  f->epc += insn_len(f->epc);
}

static void expect_trap(int id, const char *what, uint64_t count_before, uint64_t cause) {
  check_eq(id, what, trap_count, count_before + 1);
  check_eq(id, what, trap_cause, cause);
}

/* ---- code that runs in U-mode ---- */

static uint64_t user_main(uint64_t arg) {
  check_eq(1, "argument passed to U-mode", arg, 0x1234);

  /* ecall with arguments, result in a0 */
  uint64_t r = ecall6(SYS_SUM, 10, 20, 30, 40, 50, 60);
  check_eq(2, "ecall result", r, 10 * 1 + 20 * 2 + 30 * 3 + 40 * 4 + 50 * 5 + 60 * 6);
  for (int i = 0; i < 6; i++) check_eq(3, "ecall arguments seen by M-mode", ecall_args[i], 10 * (uint64_t)(i + 1));
  check_eq(4, "ecall from U: MPP = U", ecall_status & MSTATUS_MPP, MSTATUS_MPP_U);

  /* csrr t0, mstatus: illegal in U-mode, mtval = the instruction bits */
  uint64_t n = trap_count, pc;
  __asm__ volatile(".option push\n.option norvc\n"
                   "la %0, 1f\n"
                   "1: csrr t0, mstatus\n"
                   ".option pop\n"
                   : "=&r"(pc)::"t0");
  expect_trap(5, "csrr mstatus in U-mode: cause 2", n, CAUSE_ILLEGAL);
  check_eq(6, "csrr mstatus in U-mode: mtval", trap_tval, 0x300022f3);
  check_eq(7, "csrr mstatus in U-mode: mepc", trap_epc, pc);

  /* writing an S-mode CSR is illegal too */
  n = trap_count;
  __asm__ volatile(".word 0x14029073" ::: "memory"); /* csrw sscratch, t0 */
  expect_trap(8, "csrw sscratch in U-mode: cause 2", n, CAUSE_ILLEGAL);
  check_eq(9, "csrw sscratch in U-mode: mtval", trap_tval, 0x14029073);

  /* mret is illegal in U-mode */
  n = trap_count;
  __asm__ volatile(".word 0x30200073" ::: "memory"); /* mret */
  expect_trap(10, "mret in U-mode: cause 2", n, CAUSE_ILLEGAL);
  check_eq(11, "mret in U-mode: mtval", trap_tval, 0x30200073);

  /* ebreak: cause 3, mepc = the ebreak */
  n = trap_count;
  __asm__ volatile(".option push\n.option norvc\n"
                   "la %0, 1f\n"
                   "1: ebreak\n"
                   ".option pop\n"
                   : "=&r"(pc));
  expect_trap(12, "ebreak in U-mode: cause 3", n, CAUSE_BREAKPOINT);
  check_eq(13, "ebreak in U-mode: mepc", trap_epc, pc);

  /* counters enabled through mcounteren/scounteren: readable */
  n = trap_count;
  uint64_t c0, c1, i0, i1, t0;
  __asm__ volatile("rdcycle %0" : "=r"(c0));
  __asm__ volatile("rdinstret %0" : "=r"(i0));
  __asm__ volatile("rdtime %0" : "=r"(t0));
  for (volatile int i = 0; i < 100; i++) {
  }
  __asm__ volatile("rdcycle %0" : "=r"(c1));
  __asm__ volatile("rdinstret %0" : "=r"(i1));
  check_eq(14, "enabled counters do not trap", trap_count, n);
  check_eq(15, "instret advances in U-mode", i1 > i0 + 100, 1);
  check_eq(16, "cycle advances in U-mode", c1 > c0, 1);
  (void)t0;

  /* U-mode may use the memory PMP entry 1 grants ... */
  static volatile uint64_t allowed = 5;
  allowed += 1;
  check_eq(17, "U-mode memory access", allowed, 6);
  /* ... but not the page PMP entry 0 denies */
  n = trap_count;
  (void)forbidden[3];
  expect_trap(18, "load from PMP-denied page: cause 5", n, CAUSE_LOAD_ACCESS);
  check_eq(19, "load from PMP-denied page: mtval", trap_tval, (uint64_t)&forbidden[3]);
  n = trap_count;
  forbidden[5] = 1;
  expect_trap(20, "store to PMP-denied page: cause 7", n, CAUSE_STORE_ACCESS);
  check_eq(21, "store to PMP-denied page: mtval", trap_tval, (uint64_t)&forbidden[5]);
  /* returning ends up in lower_exit_stub: ecall SYS_EXIT with a0 */
  return arg;
}

static uint64_t user_counters_disabled(uint64_t arg) {
  uint64_t n = trap_count, v;
  __asm__ volatile(".word 0xc0002573\n mv %0, a0" : "=r"(v)::"a0"); /* rdcycle a0 */
  expect_trap(30, "rdcycle with mcounteren.CY = 0: cause 2", n, CAUSE_ILLEGAL);
  check_eq(31, "rdcycle with mcounteren.CY = 0: mtval", trap_tval, 0xc0002573);
  n = trap_count;
  __asm__ volatile(".word 0xc0202573\n mv %0, a0" : "=r"(v)::"a0"); /* rdinstret a0 */
  expect_trap(32, "rdinstret with mcounteren.IR = 0: cause 2", n, CAUSE_ILLEGAL);
  ecall6(SYS_EXIT, arg + 1, 0, 0, 0, 0, 0);
  fail(33, "still running after SYS_EXIT");
}

int main(void) {
  /* PMP: entry 0 = the `forbidden` page, no permissions (NAPOT, 4 KiB);
     entry 1 = everything, RWX. M-mode ignores unlocked entries. */
  write_csr(pmpaddr0, ((uint64_t)forbidden >> 2) | 0x1ff);
  write_csr(pmpaddr1, ~0UL >> 10);
  write_csr(pmpcfg0, (0x1fUL << 8) | 0x18);
  forbidden[3] = 7; /* M-mode still can */

  write_csr(mcounteren, 7);
  write_csr(scounteren, 7);
  uint64_t r = run_lower(user_main, 0x1234, MSTATUS_MPP_U, __u_stack_top);
  check_eq(50, "U-mode returned its value", r, 0x1234);
  check_eq(51, "back in M-mode: U-mode store was blocked", forbidden[5], 0);

  write_csr(mcounteren, 0);
  r = run_lower(user_counters_disabled, 41, MSTATUS_MPP_U, __u_stack_top);
  check_eq(52, "second U-mode run returned", r, 42);
  check_eq(53, "mret sets MPP to U", read_csr(mstatus) & MSTATUS_MPP, MSTATUS_MPP_U);
  report_pass("umode");
  return 0;
}
