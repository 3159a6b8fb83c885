/* Sv39 paging in S-mode: gigapage/megapage/4 KiB translations, permissions,
   page faults delegated to S-mode (medeleg), hardware A/D updates,
   sfence.vma after a remap, SUM, MXR, MPRV, and the misaligned-superpage and
   W-without-R reserved encodings. */
#include "common/guest.h"

#define PTE_V 0x01UL
#define PTE_R 0x02UL
#define PTE_W 0x04UL
#define PTE_X 0x08UL
#define PTE_U 0x10UL
#define PTE_A 0x40UL
#define PTE_D 0x80UL
#define PTE(pa, flags) ((((uint64_t)(pa)) >> 12) << 10 | (flags))

#define CAUSE_FETCH_PF 12
#define CAUSE_LOAD_PF 13
#define CAUSE_STORE_PF 15
#define CAUSE_ECALL_S 9
#define SATP_SV39 (8UL << 60)

#define V_BASE 0xC0000000UL
#define V_RW (V_BASE + 0x0000)       /* -> page_a, RW, A = D = 0 */
#define V_RO (V_BASE + 0x1000)       /* -> page_b, R */
#define V_UNMAPPED (V_BASE + 0x2000) /* invalid PTE */
#define V_REMAP (V_BASE + 0x3000)    /* -> page_a, then page_b */
#define V_XONLY (V_BASE + 0x4000)    /* -> page_b, X only */
#define V_USER (V_BASE + 0x5000)     /* -> page_b, U page */
#define V_CODE (V_BASE + 0x6000)     /* -> code_page, X */
#define V_WONLY (V_BASE + 0x7000)    /* -> page_b, W without R: reserved */
#define V_MEGA 0xC0200000UL          /* 2 MiB page -> 0x80000000 */
#define V_MISALIGNED 0xC0400000UL    /* 2 MiB page with a misaligned PPN */

static uint64_t root[512] __attribute__((aligned(4096)));
static uint64_t l1[512] __attribute__((aligned(4096)));
static uint64_t l0[512] __attribute__((aligned(4096)));
static uint64_t page_a[512] __attribute__((aligned(4096)));
static uint64_t page_b[512] __attribute__((aligned(4096)));
static volatile uint64_t mega_probe = 0x6d656761; /* read through V_MEGA */

/* A page of position-independent code, called through V_CODE. */
extern uint64_t code_page(void);
__asm__(".pushsection .text.codepage,\"ax\",@progbits\n"
        ".balign 4096\n"
        ".globl code_page\n"
        "code_page:\n"
        "  li a0, 0x5a5\n"
        "  ret\n"
        ".balign 4096\n"
        ".popsection\n");

/* Last page fault seen by the S-mode handler. */
static volatile uint64_t s_cause, s_tval, s_epc, s_status, s_count;

void s_trap_handler(struct trap_frame *f) {
  if (f->cause != CAUSE_LOAD_PF && f->cause != CAUSE_STORE_PF && f->cause != CAUSE_FETCH_PF)
    unexpected_trap("s", f);
  s_cause = f->cause;
  s_tval = f->tval;
  s_epc = f->epc;
  s_status = f->status;
  s_count++;
  if (f->cause == CAUSE_FETCH_PF)
    f->epc = f->x[1]; /* the fault was a call: return to the caller */
  else
    f->epc += insn_len(f->epc);
}

void m_trap_handler(struct trap_frame *f) {
  if (f->cause == CAUSE_ECALL_S && f->x[TF_A7] == SYS_EXIT) {
    lower_return(f);
    return;
  }
  unexpected_trap("m", f);
}

static inline uint64_t ld(uint64_t va) { return *(volatile uint64_t *)va; }
static inline void sd(uint64_t va, uint64_t v) { *(volatile uint64_t *)va = v; }

static void expect_fault(int id, const char *what, uint64_t count_before, uint64_t cause,
                         uint64_t tval) {
  check_eq(id, what, s_count, count_before + 1);
  check_eq(id, what, s_cause, cause);
  check_eq(id, what, s_tval, tval);
}

/* ---- S-mode, paging on ---- */
static uint64_t s_main(uint64_t arg) {
  check_eq(1, "satp visible in S-mode", read_csr(satp), arg);

  /* identity gigapage: our own data */
  check_eq(2, "identity-mapped read", page_b[0], 0xb0b0b0b0);

  /* 4 KiB page V_RW -> page_a: read what M-mode wrote at the physical page */
  check_eq(3, "A bit clear before the access", l0[0] & (PTE_A | PTE_D), 0);
  check_eq(4, "read through V_RW", ld(V_RW), 0x1122334455667788UL);
  check_eq(5, "load sets A, not D", l0[0] & (PTE_A | PTE_D), PTE_A);
  sd(V_RW + 8, 0xcafef00d);
  check_eq(6, "store sets D", l0[0] & (PTE_A | PTE_D), PTE_A | PTE_D);
  check_eq(7, "store through V_RW lands in page_a", page_a[1], 0xcafef00d);

  /* 2 MiB page */
  check_eq(8, "read through the megapage",
           ld(V_MEGA + ((uint64_t)&mega_probe - 0x80000000UL)), 0x6d656761);

  /* store to a read-only page: store page fault, stval = address */
  uint64_t n = s_count;
  sd(V_RO + 16, 1);
  expect_fault(9, "store to read-only page", n, CAUSE_STORE_PF, V_RO + 16);
  check_eq(10, "page fault from S: sstatus.SPP = 1", s_status & MSTATUS_SPP, MSTATUS_SPP);
  check_eq(11, "read-only page unchanged", page_b[2], 0);
  check_eq(12, "read-only page is readable", ld(V_RO), 0xb0b0b0b0);

  /* unmapped address: load page fault */
  n = s_count;
  (void)ld(V_UNMAPPED + 0x28);
  expect_fault(13, "load from unmapped page", n, CAUSE_LOAD_PF, V_UNMAPPED + 0x28);
  n = s_count;
  sd(V_UNMAPPED, 1);
  expect_fault(14, "store to unmapped page", n, CAUSE_STORE_PF, V_UNMAPPED);

  /* fetch from a page without X: instruction page fault, stval = target */
  n = s_count;
  __asm__ volatile("jalr ra, 0(%0)" ::"r"(V_RO + 0x40) : "ra", "memory");
  expect_fault(15, "fetch from non-executable page", n, CAUSE_FETCH_PF, V_RO + 0x40);
  check_eq(16, "fetch fault: sepc = target", s_epc, V_RO + 0x40);

  /* fetch through a 4 KiB executable page */
  check_eq(17, "call through V_CODE", ((uint64_t(*)(void))V_CODE)(), 0x5a5);

  /* sfence.vma makes a changed mapping visible */
  check_eq(18, "V_REMAP -> page_a", ld(V_REMAP), 0x1122334455667788UL);
  l0[3] = PTE(page_b, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  __asm__ volatile("sfence.vma %0, zero" ::"r"(V_REMAP) : "memory");
  check_eq(19, "V_REMAP -> page_b after sfence.vma addr", ld(V_REMAP), 0xb0b0b0b0);
  l0[3] = PTE(page_a, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  __asm__ volatile("sfence.vma zero, zero" ::: "memory");
  check_eq(20, "V_REMAP -> page_a after sfence.vma", ld(V_REMAP), 0x1122334455667788UL);
  l0[3] = 0;
  __asm__ volatile("sfence.vma" ::: "memory");
  n = s_count;
  (void)ld(V_REMAP);
  expect_fault(21, "V_REMAP unmapped after sfence.vma", n, CAUSE_LOAD_PF, V_REMAP);

  /* execute-only page: loads fault unless sstatus.MXR */
  n = s_count;
  (void)ld(V_XONLY);
  expect_fault(22, "load from execute-only page", n, CAUSE_LOAD_PF, V_XONLY);
  set_csr(sstatus, MSTATUS_MXR);
  check_eq(23, "load from execute-only page with MXR", ld(V_XONLY), 0xb0b0b0b0);
  clear_csr(sstatus, MSTATUS_MXR);

  /* U page: S-mode access faults unless sstatus.SUM */
  n = s_count;
  (void)ld(V_USER);
  expect_fault(24, "S-mode load from U page", n, CAUSE_LOAD_PF, V_USER);
  set_csr(sstatus, MSTATUS_SUM);
  check_eq(25, "S-mode load from U page with SUM", ld(V_USER), 0xb0b0b0b0);
  clear_csr(sstatus, MSTATUS_SUM);

  /* reserved encodings */
  n = s_count;
  (void)ld(V_WONLY);
  expect_fault(26, "W without R is reserved", n, CAUSE_LOAD_PF, V_WONLY);
  n = s_count;
  (void)ld(V_MISALIGNED + 8);
  expect_fault(27, "misaligned megapage", n, CAUSE_LOAD_PF, V_MISALIGNED + 8);
  return 0x600d;
}

int main(void) {
  for (int i = 0; i < 512; i++) {
    page_a[i] = 0;
    page_b[i] = 0;
  }
  page_a[0] = 0x1122334455667788UL;
  page_b[0] = 0xb0b0b0b0;

  root[0] = PTE(0x00000000UL, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);         /* MMIO */
  root[2] = PTE(0x80000000UL, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D); /* RAM */
  root[3] = PTE(l1, PTE_V);
  l1[0] = PTE(l0, PTE_V);
  l1[1] = PTE(0x80000000UL, PTE_V | PTE_R | PTE_A);
  l1[2] = PTE(0x80001000UL, PTE_V | PTE_R | PTE_A);
  l0[0] = PTE(page_a, PTE_V | PTE_R | PTE_W);
  l0[1] = PTE(page_b, PTE_V | PTE_R | PTE_A);
  l0[2] = 0;
  l0[3] = PTE(page_a, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  l0[4] = PTE(page_b, PTE_V | PTE_X | PTE_A);
  l0[5] = PTE(page_b, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
  l0[6] = PTE(code_page, PTE_V | PTE_X | PTE_A);
  l0[7] = PTE(page_b, PTE_V | PTE_W | PTE_A | PTE_D);

  pmp_allow_all();
  write_csr(medeleg, (1UL << CAUSE_FETCH_PF) | (1UL << CAUSE_LOAD_PF) | (1UL << CAUSE_STORE_PF));
  write_csr(stvec, (uint64_t)s_trap_vector);
  write_csr(sscratch, (uint64_t)__s_trap_stack_top);
  uint64_t satp = SATP_SV39 | ((uint64_t)root >> 12);
  write_csr(satp, satp);
  check_eq(30, "satp reads back", read_csr(satp), satp);
  __asm__ volatile("sfence.vma" ::: "memory");

  uint64_t r = run_lower(s_main, satp, MSTATUS_MPP_S, __u_stack_top);
  check_eq(31, "S-mode part finished", r, 0x600d);
  check_eq(32, "page faults went to S-mode", s_count, 9);

  /* MPRV: M-mode loads translated as S-mode (MPP = S) */
  l0[3] = PTE(page_b, PTE_V | PTE_R | PTE_A);
  __asm__ volatile("sfence.vma" ::: "memory");
  clear_csr(mstatus, MSTATUS_MPP);
  set_csr(mstatus, MSTATUS_MPP_S | MSTATUS_MPRV);
  uint64_t v = ld(V_REMAP);
  clear_csr(mstatus, MSTATUS_MPRV);
  check_eq(33, "M-mode load with MPRV = 1, MPP = S is translated", v, 0xb0b0b0b0);

  write_csr(satp, 0);
  report_pass("paging");
  return 0;
}
