/* A guest with a 2 MiB initialised data segment (bigimage.S): every word must
   be loaded at its place. */
#include "common/guest.h"

extern const volatile uint64_t blob[], blob_end[];

int main(void) {
  uint64_t n = (uint64_t)(blob_end - blob);
  check_eq(1, "blob size in words", n, 262144);
  for (uint64_t i = 0; i < n; i++)
    if (blob[i] != i) check_eq(2, "blob[i] == i", blob[i], i);
  checks_passed++;
  report_pass("bigimage");
  return 0;
}
