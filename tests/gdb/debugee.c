/* The guest of the gdb end-to-end tests (tests/gdb): small functions, a
   global counter updated in a loop, a recursive function, a struct and a
   few FPU operations, so that break/step/finish/watch and their reverse
   versions have something to show. Built with -O0 -g (see CMakeLists.txt)
   so every source line and variable is where gdb expects it.

   The scripts rely on the values below (the loop adds 1..10 to `counter`,
   factorial(5) = 120, ...): change them together. */
#include "common/guest.h"

struct point {
  long x;
  long y;
};

struct shape {
  const char *name;
  struct point corner;
  long area;
};

unsigned long counter;                /* 0, 1, 3, 6, 10, ..., 55 */
unsigned long rounds;                 /* loop iterations done */
unsigned long spins;                  /* 0 + 1 + 2 + 3 + 4 = 10 */
struct shape box = {"box", {0, 0}, 0};
long fact_result;
double fp_result;

long square(long v) {
  long r = v * v;
  return r;
}

void bump(unsigned long by) {
  counter += by;
}

/* A loop without calls: its head is the target of its own back edge (a
   compiled unit entered again from inside itself). */
void spin(void) {
  for (unsigned long k = 0; k < 5; k++)
    spins += k;
}

long factorial(long n) {
  if (n <= 1) return 1;
  return n * factorial(n - 1);
}

void move_box(struct shape *s, long dx, long dy) {
  s->corner.x += dx;
  s->corner.y += dy;
  s->area = square(s->corner.x) + s->corner.y;
}

/* f0 = 2.5 and f1 = -0.75 stay set for the rest of the run (nothing else
   uses the FPU); fp_result = 2.5 * -0.75. */
double fpu_work(void) {
  set_csr(mstatus, MSTATUS_FS_INITIAL);
  __asm__ volatile(
      "li t0, 0x4004000000000000\n\t"
      "fmv.d.x f0, t0\n\t"
      "li t0, 0xbfe8000000000000\n\t"
      "fmv.d.x f1, t0\n\t"
      "fmul.d f2, f0, f1\n\t"
      "fsd f2, %0"
      : "=m"(fp_result)
      :
      : "t0", "f0", "f1", "f2");
  return fp_result;
}

int main(void) {
  uart_puts("debugee: start\n");
  for (long i = 1; i <= 10; i++) {
    bump((unsigned long)i);
    move_box(&box, i, 2 * i);
    rounds++;
  }
  fact_result = factorial(5);
  spin();
  fpu_work();
  check_eq(1, "counter", counter, 55);
  check_eq(2, "box.corner.x", (uint64_t)box.corner.x, 55);
  check_eq(3, "box.area", (uint64_t)box.area, 55 * 55 + 110);
  check_eq(4, "factorial(5)", (uint64_t)fact_result, 120);
  check_eq(5, "spins", spins, 10);
  uart_puts("debugee: done\n");
  report_pass("debugee");
  return 0;
}
