/* Smallest guest: UART output, the boot hand-over (a0 = hart id, a1 = DTB),
   and exit through the test finisher. */
#include "common/guest.h"

int main(void) {
  uart_puts("Hello from hindsight guest\n");
  check_eq(1, "boot a0 (hart id)", boot_hartid, 0);
  check_eq(2, "mhartid", read_csr(mhartid), 0);
  /* FDT header magic 0xd00dfeed, stored big-endian. */
  check_eq(3, "a1 points to a DTB", *(volatile uint32_t *)boot_dtb, 0xedfe0dd0);
  check_eq(4, "DTB inside RAM", boot_dtb >= 0x80000000UL, 1);
  check_eq(5, "misa: RV64 with I,M,A,F,D,C,S,U",
           read_csr(misa) & ((3UL << 62) | 0x14112d), (2UL << 62) | 0x14112d);
  report_pass("hello");
  return 0;
}
