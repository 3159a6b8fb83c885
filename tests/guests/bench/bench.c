/* CPU benchmark guest: integer and memory-heavy kernels (sieve, buffer
   fill/copy/checksum over 4 MiB, CRC32, integer matrix multiply), repeated
   ROUNDS times. Prints a checksum (fixed for a given ROUNDS: a wrong result
   fails the run with exit code 1) and the retired-instruction count (minstret)
   so MIPS = instret / wall time. Sized for a few seconds on QEMU (TCG). */
#include "common/guest.h"

#ifndef ROUNDS
#define ROUNDS 70
#endif
/* Checksum for the default size (from QEMU 7.2); other sizes are compared
   between hindsight and QEMU by scripts/bench-cpu. */
#if ROUNDS == 70 && !defined(EXPECT_CHECKSUM)
#define EXPECT_CHECKSUM 0x8e13851cf0152e65UL
#endif
#define BUF_WORDS (512 * 1024) /* 4 MiB of uint64_t */
#define SIEVE_N 2000000
#define MAT_N 48

static uint64_t src[BUF_WORDS], dst[BUF_WORDS];
static uint8_t composite[SIEVE_N + 1];
static uint32_t crc_table[256];
static int32_t ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];

static uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static uint64_t sieve(void) {
  for (uint32_t i = 0; i <= SIEVE_N; i++) composite[i] = 0;
  uint64_t count = 0;
  for (uint32_t i = 2; i <= SIEVE_N; i++) {
    if (composite[i]) continue;
    count++;
    for (uint64_t j = (uint64_t)i * i; j <= SIEVE_N; j += i) composite[j] = 1;
  }
  return count;
}

static uint64_t buffers(uint64_t seed) {
  uint64_t s = seed | 1;
  for (uint32_t i = 0; i < BUF_WORDS; i++) src[i] = xorshift(&s);
  for (uint32_t i = 0; i < BUF_WORDS; i++) dst[i] = src[BUF_WORDS - 1 - i];
  uint64_t h = 0xcbf29ce484222325UL;
  for (uint32_t i = 0; i < BUF_WORDS; i++) h = (h ^ dst[i]) * 0x100000001b3UL;
  return h;
}

static uint32_t crc32(const uint8_t *p, uint64_t n) {
  uint32_t c = 0xffffffffu;
  for (uint64_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

static uint64_t matmul(uint64_t seed) {
  uint64_t s = seed | 1;
  for (int i = 0; i < MAT_N; i++)
    for (int j = 0; j < MAT_N; j++) {
      ma[i][j] = (int32_t)(xorshift(&s) & 0xffff) - 0x8000;
      mb[i][j] = (int32_t)(xorshift(&s) & 0xffff) - 0x8000;
    }
  for (int i = 0; i < MAT_N; i++)
    for (int j = 0; j < MAT_N; j++) {
      int64_t acc = 0;
      for (int k = 0; k < MAT_N; k++) acc += (int64_t)ma[i][k] * mb[k][j];
      mc[i][j] = (int32_t)(acc >> 8);
    }
  uint64_t h = 0;
  for (int i = 0; i < MAT_N; i++)
    for (int j = 0; j < MAT_N; j++) h = h * 31 + (uint32_t)mc[i][j];
  return h;
}

int main(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
  uint64_t sum = 0;
  for (uint64_t r = 0; r < ROUNDS; r++) {
    uint64_t primes = sieve();
    uint64_t h = buffers(r * 0x9e3779b97f4a7c15UL);
    uint32_t c = crc32((const uint8_t *)dst, sizeof dst);
    uint64_t m = matmul(r + 7);
    if (r == 0 && primes != 148933) {
      uart_puts("FAIL bench: wrong prime count\n");
      return 1;
    }
    sum = (sum * 0x100000001b3UL) ^ primes ^ h ^ ((uint64_t)c << 17) ^ m;
  }
  uint64_t instret = read_csr(minstret); /* since reset: the whole run */
  uart_puts("bench: rounds ");
  uart_put_dec(ROUNDS);
  uart_puts(" checksum ");
  uart_put_hex(sum);
  uart_puts("\nbench: instret ");
  uart_put_dec(instret);
  uart_puts("\n");
#ifdef EXPECT_CHECKSUM
  if (sum != EXPECT_CHECKSUM) {
    uart_puts("FAIL bench: checksum mismatch\n");
    return 1;
  }
#endif
  uart_puts("PASS bench\n");
  return 0;
}
