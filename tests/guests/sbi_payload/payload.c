/* S-mode payload: prints one line through the SBI console and powers off
   through SBI. Console: DBCN (SBI 2.0) when the firmware has it, else the
   legacy console_putchar (EID 0x01). Power-off: SRST (EID "SRST") shutdown,
   else the legacy shutdown (EID 0x08). A failure writes the test finisher
   directly so the run still ends with a non-zero exit code. */
#include <stdint.h>

#define SBI_EXT_LEGACY_PUTCHAR 0x01
#define SBI_EXT_LEGACY_SHUTDOWN 0x08
#define SBI_EXT_BASE 0x10
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_DBCN 0x4442434E

struct sbiret {
  long error;
  long value;
};

static struct sbiret sbi_call(long eid, long fid, long a0, long a1, long a2) {
  register long r0 __asm__("a0") = a0, r1 __asm__("a1") = a1, r2 __asm__("a2") = a2;
  register long r6 __asm__("a6") = fid, r7 __asm__("a7") = eid;
  __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
  return (struct sbiret){r0, r1};
}

static int have_dbcn;

static void put(const char *s) {
  if (have_dbcn) {
    long n = 0;
    while (s[n]) n++;
    sbi_call(SBI_EXT_DBCN, 0, n, (long)(uintptr_t)s, 0); /* console_write */
    return;
  }
  for (; *s; s++) sbi_call(SBI_EXT_LEGACY_PUTCHAR, 0, *s, 0, 0);
}

static void put_hex(unsigned long v) {
  char buf[19] = "0x";
  for (int i = 0; i < 16; i++) buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
  buf[18] = 0;
  put(buf);
}

static void die(int code, const char *why) {
  put("FAIL ");
  put(why);
  put("\n");
  *(volatile uint32_t *)0x100000UL = 0x3333u | ((uint32_t)code << 16);
  for (;;) __asm__ volatile("wfi");
}

static long probe(long eid) { return sbi_call(SBI_EXT_BASE, 3, eid, 0, 0).value; }

void payload_main(unsigned long hartid, unsigned long dtb) {
  struct sbiret ver = sbi_call(SBI_EXT_BASE, 0, 0, 0, 0); /* get_spec_version */
  if (ver.error != 0) {
    /* No base extension (SBI 0.1 firmware): legacy calls only. */
    put("hindsight S-mode payload: hello via SBI\n");
    sbi_call(SBI_EXT_LEGACY_SHUTDOWN, 0, 0, 0, 0);
    die(3, "legacy shutdown returned");
  }
  have_dbcn = probe(SBI_EXT_DBCN) != 0;
  put("hindsight S-mode payload: hello via SBI\n");
  put("payload: SBI spec ");
  put_hex((unsigned long)ver.value);
  put(", impl ");
  put_hex((unsigned long)sbi_call(SBI_EXT_BASE, 1, 0, 0, 0).value);
  put(have_dbcn ? ", console DBCN\n" : ", console legacy putchar\n");
  if (hartid != 0) die(1, "payload: a0 (hart id) is not 0");
  if (*(volatile uint32_t *)dtb != 0xedfe0dd0u) die(2, "payload: a1 does not point to a DTB");

  if (probe(SBI_EXT_SRST)) {
    put("payload: shutdown via SRST\n");
    sbi_call(SBI_EXT_SRST, 0, 0 /* shutdown */, 0 /* no reason */, 0);
  }
  put("payload: shutdown via legacy SBI\n");
  sbi_call(SBI_EXT_LEGACY_SHUTDOWN, 0, 0, 0, 0);
  die(3, "payload: SBI shutdown returned");
}
