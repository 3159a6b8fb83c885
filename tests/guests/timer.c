/* M-mode timer: CLINT mtime/mtimecmp, rdtime, WFI wake-up, interrupt entry. */
#include "common/guest.h"

#define MTIME (*(volatile uint64_t *)0x200bff8UL)
#define MTIMECMP (*(volatile uint64_t *)0x2004000UL)
#define MIP_MTIP (1UL << 7)
#define MIE_MTIE (1UL << 7)
#define CAUSE_MTI ((1UL << 63) | 7)
#define TICKS 10000 /* 1 ms at the 10 MHz timebase */
#define N_IRQ 5

static volatile unsigned irq_count;
static volatile uint64_t deadline;
static volatile uint64_t last_epc;
static volatile int rearm = 1;

void m_trap_handler(struct trap_frame *f) {
  check_eq(20, "mcause of the timer interrupt", f->cause, CAUSE_MTI);
  check_eq(21, "mstatus.MPIE set on interrupt entry", f->status & MSTATUS_MPIE, MSTATUS_MPIE);
  check_eq(22, "mstatus.MIE cleared on interrupt entry", f->status & MSTATUS_MIE, 0);
  uint64_t now = MTIME;
  if (now < deadline) fail(23, "timer interrupt taken before mtimecmp");
  last_epc = f->epc;
  irq_count++;
  if (rearm && irq_count < N_IRQ) {
    deadline = now + TICKS;
    MTIMECMP = deadline;
  } else {
    MTIMECMP = ~0UL;
  }
}

int main(void) {
  MTIMECMP = ~0UL;

  /* mtime advances. */
  uint64_t t0 = MTIME, spins = 0;
  while (MTIME == t0)
    if (++spins > 10000000) fail(1, "mtime does not advance");

  /* rdtime reads the same clock as the CLINT's mtime. */
  uint64_t a = MTIME;
  uint64_t t;
  __asm__ volatile("rdtime %0" : "=r"(t));
  uint64_t b = MTIME;
  check_eq(2, "mtime <= rdtime", a <= t, 1);
  check_eq(3, "rdtime <= later mtime", t <= b, 1);
  check_eq(4, "later csrr time >= rdtime", read_csr(time) >= t, 1);

  /* WFI wakes up on a pending, enabled interrupt even with mstatus.MIE = 0,
     and no trap is taken. */
  deadline = MTIME + TICKS;
  MTIMECMP = deadline;
  check_eq(5, "mip.MTIP clear before the deadline", read_csr(mip) & MIP_MTIP, 0);
  set_csr(mie, MIE_MTIE);
  while (!(read_csr(mip) & MIP_MTIP)) __asm__ volatile("wfi");
  check_eq(6, "mtime >= mtimecmp after WFI", MTIME >= deadline, 1);
  check_eq(7, "no trap with mstatus.MIE = 0", irq_count, 0);
  MTIMECMP = ~0UL;
  check_eq(8, "mip.MTIP clears when mtimecmp moves", read_csr(mip) & MIP_MTIP, 0);

  /* An interrupt pending when mstatus.MIE is set is taken right after the
     csrs: mepc = the next instruction. */
  rearm = 0;
  deadline = 0;
  MTIMECMP = 0;
  uint64_t next_pc;
  __asm__ volatile(
      ".option push\n.option norvc\n"
      "la %0, 1f\n"
      "csrsi mstatus, 8\n"
      "1: nop\n"
      "csrci mstatus, 8\n"
      ".option pop\n"
      : "=&r"(next_pc)::"memory");
  check_eq(9, "pending interrupt taken once", irq_count, 1);
  check_eq(10, "mepc = instruction after csrsi mstatus", last_epc, next_pc);

  /* N interrupts, re-armed from the handler, waiting with WFI. */
  irq_count = 0;
  rearm = 1;
  uint64_t start = MTIME;
  deadline = start + TICKS;
  MTIMECMP = deadline;
  set_csr(mstatus, MSTATUS_MIE);
  while (irq_count < N_IRQ) __asm__ volatile("wfi");
  clear_csr(mstatus, MSTATUS_MIE);
  uint64_t elapsed = MTIME - start;
  check_eq(11, "interrupt count", irq_count, N_IRQ);
  check_eq(12, "mtime advanced by at least N_IRQ * TICKS", elapsed >= (uint64_t)N_IRQ * TICKS, 1);
  check_eq(13, "mtimecmp disarmed", MTIMECMP, ~0UL);
  check_eq(14, "mip.MTIP clear at the end", read_csr(mip) & MIP_MTIP, 0);
  clear_csr(mie, MIE_MTIE);

  uart_puts("timer: ");
  uart_put_dec(N_IRQ);
  uart_puts(" interrupts in ");
  uart_put_dec(elapsed);
  uart_puts(" ticks\n");
  report_pass("timer");
  return 0;
}
