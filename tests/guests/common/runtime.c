#include "guest.h"

#define FINISHER (*(volatile uint32_t *)0x100000UL)

uint64_t boot_hartid, boot_dtb;
unsigned checks_passed;

void finisher_exit(int code) {
  FINISHER = code == 0 ? 0x5555u : (0x3333u | ((uint32_t)(code & 0xffff) << 16));
  for (;;) __asm__ volatile("wfi");
}

void fail(int id, const char *what) {
  uart_puts("FAIL ");
  uart_put_dec((uint64_t)id);
  uart_puts(" ");
  uart_puts(what);
  uart_puts("\n");
  finisher_exit(id);
}

void check_eq(int id, const char *what, uint64_t got, uint64_t want) {
  if (got == want) {
    checks_passed++;
    return;
  }
  uart_puts("FAIL ");
  uart_put_dec((uint64_t)id);
  uart_puts(" ");
  uart_puts(what);
  uart_puts(": got ");
  uart_put_hex(got);
  uart_puts(" want ");
  uart_put_hex(want);
  uart_puts("\n");
  finisher_exit(id);
}

void report_pass(const char *name) {
  uart_puts("PASS ");
  uart_puts(name);
  uart_puts(" (");
  uart_put_dec(checks_passed);
  uart_puts(" checks)\n");
}

void unexpected_trap(const char *mode, const struct trap_frame *f) {
  uart_puts("FAIL unexpected trap: ");
  uart_puts(mode);
  uart_puts("cause=");
  uart_put_hex(f->cause);
  uart_puts(" ");
  uart_puts(mode);
  uart_puts("epc=");
  uart_put_hex(f->epc);
  uart_puts(" ");
  uart_puts(mode);
  uart_puts("tval=");
  uart_put_hex(f->tval);
  uart_puts("\n");
  finisher_exit(99);
}

__attribute__((weak)) void m_trap_handler(struct trap_frame *f) { unexpected_trap("m", f); }
__attribute__((weak)) void s_trap_handler(struct trap_frame *f) { unexpected_trap("s", f); }
