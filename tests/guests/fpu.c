/* F/D extensions with exact bit patterns: mstatus.FS, fcsr, rounding modes,
   fflags, canonical NaNs, NaN boxing, fmin/fmax signed zeros, conversions
   with saturation, FMA, compares, fclass, and a small computation. Every
   operation is a single inline-asm instruction on operands built with
   fmv.d.x/fmv.w.x, so the compiler cannot fold or reorder it. */
#include "common/guest.h"

#define NX 0x01
#define UF 0x02
#define OF 0x04
#define DZ 0x08
#define NV 0x10

#define CAUSE_ILLEGAL 2

/* doubles */
#define D_ONE 0x3ff0000000000000UL
#define D_TWO 0x4000000000000000UL
#define D_THREE 0x4008000000000000UL
#define D_FOUR 0x4010000000000000UL
#define D_TEN 0x4024000000000000UL
#define D_HALF 0x3fe0000000000000UL
#define D_2_5 0x4004000000000000UL
#define D_M2_5 0xc004000000000000UL
#define D_3_5 0x400c000000000000UL
#define D_M1 0xbff0000000000000UL
#define D_PZERO 0x0000000000000000UL
#define D_NZERO 0x8000000000000000UL
#define D_PINF 0x7ff0000000000000UL
#define D_NINF 0xfff0000000000000UL
#define D_QNAN 0x7ff8000000000000UL /* canonical */
#define D_QNAN_PAYLOAD 0x7ff8000000001234UL
#define D_SNAN 0x7ff0000000000001UL
#define D_1E20 0x444b1ae4d6e2ef50UL
#define D_M1E20 0xc44b1ae4d6e2ef50UL
#define D_1E308 0x7fe1ccf385ebc8a0UL
#define D_1E300 0x7e37e43c8800759cUL
#define D_MAXFIN 0x7fefffffffffffffUL
#define D_MINSUB 0x0000000000000001UL
#define D_MINNORM 0x0010000000000000UL
#define D_2P_53 0x3ca0000000000000UL /* 2^-53 */
#define D_U32MAX 0x41efffffffe00000UL /* 4294967295.0 */
#define D_M2P63 0xc3e0000000000000UL /* -2^63 */
/* floats */
#define F_ONE 0x3f800000U
#define F_M1 0xbf800000U
#define F_PZERO 0x00000000U
#define F_NZERO 0x80000000U
#define F_QNAN 0x7fc00000U
#define F_SNAN 0x7f800001U
#define BOX(f) (0xffffffff00000000UL | (f))

static inline double D(uint64_t b) {
  double d;
  __asm__ volatile("fmv.d.x %0, %1" : "=f"(d) : "r"(b));
  return d;
}
static inline uint64_t B(double d) {
  uint64_t b;
  __asm__ volatile("fmv.x.d %0, %1" : "=r"(b) : "f"(d));
  return b;
}
static inline float F(uint32_t b) {
  float f;
  __asm__ volatile("fmv.w.x %0, %1" : "=f"(f) : "r"(b));
  return f;
}
/* Raw 64-bit register contents of a single (NaN-boxed if valid). */
static inline uint64_t BF(float f) {
  uint64_t b;
  __asm__ volatile("fmv.x.d %0, %1" : "=r"(b) : "f"(f));
  return b;
}
static inline void clear_flags(void) { __asm__ volatile("fsflags zero"); }
static inline uint64_t get_flags(void) {
  uint64_t v;
  __asm__ volatile("frflags %0" : "=r"(v));
  return v;
}

/* Binary/ternary/unary ops and conversions, one instruction each. */
#define OP2(insn, a, b)                                                 \
  ({                                                                    \
    double r_;                                                          \
    __asm__ volatile(insn " %0, %1, %2" : "=f"(r_) : "f"(a), "f"(b));   \
    B(r_);                                                              \
  })
#define OP2S(insn, a, b)                                                \
  ({                                                                    \
    float r_;                                                           \
    __asm__ volatile(insn " %0, %1, %2" : "=f"(r_) : "f"(a), "f"(b));   \
    BF(r_);                                                             \
  })
#define OP3(insn, a, b, c)                                                           \
  ({                                                                                 \
    double r_;                                                                       \
    __asm__ volatile(insn " %0, %1, %2, %3" : "=f"(r_) : "f"(a), "f"(b), "f"(c));    \
    B(r_);                                                                           \
  })
#define OP1(insn, a)                                            \
  ({                                                            \
    double r_;                                                  \
    __asm__ volatile(insn " %0, %1" : "=f"(r_) : "f"(a));       \
    B(r_);                                                      \
  })
#define OP1S(insn, a)                                           \
  ({                                                            \
    float r_;                                                   \
    __asm__ volatile(insn " %0, %1" : "=f"(r_) : "f"(a));       \
    BF(r_);                                                     \
  })
#define TOINT(insn, a)                                          \
  ({                                                            \
    uint64_t r_;                                                \
    __asm__ volatile(insn " %0, %1" : "=r"(r_) : "f"(a));       \
    r_;                                                         \
  })
#define FROMINT(insn, x)                                        \
  ({                                                            \
    double r_;                                                  \
    __asm__ volatile(insn " %0, %1" : "=f"(r_) : "r"(x));       \
    B(r_);                                                      \
  })
#define CMP(insn, a, b)                                                 \
  ({                                                                    \
    uint64_t r_;                                                        \
    __asm__ volatile(insn " %0, %1, %2" : "=r"(r_) : "f"(a), "f"(b));   \
    r_;                                                                 \
  })

/* Checks result bits and the exact fflags the operation raised. */
#define T(id, what, expr, want, wflags)          \
  do {                                           \
    clear_flags();                               \
    uint64_t r__ = (expr);                       \
    uint64_t f__ = get_flags();                  \
    check_eq(id, what, r__, want);               \
    check_eq(id, what " (fflags)", f__, wflags); \
  } while (0)

static volatile uint64_t trap_cause, trap_tval, trap_count;

void m_trap_handler(struct trap_frame *f) {
  if (f->cause != CAUSE_ILLEGAL) unexpected_trap("m", f);
  trap_cause = f->cause;
  trap_tval = f->tval;
  trap_count++;
  f->epc += insn_len(f->epc);
}

static void fs_and_fcsr(void) {
  /* FS = Off: FP instructions and fcsr are illegal */
  check_eq(1, "mstatus.FS is Off at reset", read_csr(mstatus) & MSTATUS_FS, 0);
  uint64_t n = trap_count;
  __asm__ volatile(".word 0x02b57553"); /* fadd.d fa0, fa0, fa1 */
  check_eq(2, "fadd.d with FS = Off traps", trap_count, n + 1);
  check_eq(2, "fadd.d with FS = Off: mtval", trap_tval, 0x02b57553);
  __asm__ volatile(".word 0x00302573"); /* frcsr a0 */
  check_eq(3, "frcsr with FS = Off traps", trap_count, n + 2);

  set_csr(mstatus, MSTATUS_FS_INITIAL);
  check_eq(4, "mstatus.FS = Initial", read_csr(mstatus) & MSTATUS_FS, MSTATUS_FS_INITIAL);
  check_eq(4, "mstatus.SD clear while FS = Initial", read_csr(mstatus) >> 63, 0);
  (void)D(D_ONE);
  check_eq(5, "FP register write makes FS Dirty", read_csr(mstatus) & MSTATUS_FS, MSTATUS_FS_DIRTY);
  check_eq(5, "mstatus.SD set while FS = Dirty", read_csr(mstatus) >> 63, 1);

  write_csr(fcsr, 0x1ff);
  check_eq(6, "fcsr keeps 8 bits", read_csr(fcsr), 0xff);
  check_eq(6, "frm view of fcsr", read_csr(frm), 7);
  check_eq(6, "fflags view of fcsr", read_csr(fflags), 0x1f);
  write_csr(frm, 2);
  check_eq(6, "frm write", read_csr(fcsr), 0x5f);
  write_csr(fcsr, 0);

  /* dynamic rounding with an invalid frm is an illegal instruction */
  write_csr(frm, 5);
  n = trap_count;
  __asm__ volatile(".word 0x02b57553"); /* fadd.d fa0, fa0, fa1 (rm = dyn) */
  check_eq(7, "dynamic rm with frm = 5 traps", trap_count, n + 1);
  write_csr(frm, 0);
}

static void rounding(void) {
  double p = D(D_2_5), m = D(D_M2_5);
  T(10, "fcvt.w.d 2.5 dyn (frm = rne)", TOINT("fcvt.w.d", p), 2, NX);
  T(10, "fcvt.w.d 2.5 rtz", ({ uint64_t r; __asm__ volatile("fcvt.w.d %0, %1, rtz" : "=r"(r) : "f"(p)); r; }), 2, NX);
#define CVT_RM(x, rm) ({ uint64_t r; __asm__ volatile("fcvt.w.d %0, %1, " rm : "=r"(r) : "f"(x)); r; })
  T(11, "fcvt.w.d 2.5 rne", CVT_RM(p, "rne"), 2, NX);
  T(11, "fcvt.w.d 2.5 rdn", CVT_RM(p, "rdn"), 2, NX);
  T(11, "fcvt.w.d 2.5 rup", CVT_RM(p, "rup"), 3, NX);
  T(11, "fcvt.w.d 2.5 rmm", CVT_RM(p, "rmm"), 3, NX);
  T(12, "fcvt.w.d -2.5 rtz", CVT_RM(m, "rtz"), (uint64_t)-2, NX);
  T(12, "fcvt.w.d -2.5 rne", CVT_RM(m, "rne"), (uint64_t)-2, NX);
  T(12, "fcvt.w.d -2.5 rdn", CVT_RM(m, "rdn"), (uint64_t)-3, NX);
  T(12, "fcvt.w.d -2.5 rup", CVT_RM(m, "rup"), (uint64_t)-2, NX);
  T(12, "fcvt.w.d -2.5 rmm", CVT_RM(m, "rmm"), (uint64_t)-3, NX);
  T(13, "fcvt.w.d 3.5 rne (ties to even)", CVT_RM(D(D_3_5), "rne"), 4, NX);
  T(13, "fcvt.w.d 2.0 exact", CVT_RM(D(D_TWO), "rup"), 2, 0);

  /* dynamic rounding mode from frm (fsrm) */
  __asm__ volatile("fsrmi 2"); /* rdn */
  check_eq(14, "frrm after fsrmi", ({ uint64_t r; __asm__ volatile("frrm %0" : "=r"(r)); r; }), 2);
  T(14, "fcvt.w.d 2.5 dyn=rdn", CVT_RM(p, "dyn"), 2, NX);
  T(14, "fcvt.w.d -2.5 dyn=rdn", CVT_RM(m, "dyn"), (uint64_t)-3, NX);
  __asm__ volatile("fsrmi 3"); /* rup */
  T(14, "fcvt.w.d 2.5 dyn=rup", CVT_RM(p, "dyn"), 3, NX);
  T(14, "fcvt.w.d -2.5 dyn=rup", CVT_RM(m, "dyn"), (uint64_t)-2, NX);
  T(15, "1 + 2^-53 dyn=rup", OP2("fadd.d", D(D_ONE), D(D_2P_53)), D_ONE + 1, NX);
  __asm__ volatile("fsrmi 0"); /* rne */
  T(15, "1 + 2^-53 dyn=rne", OP2("fadd.d", D(D_ONE), D(D_2P_53)), D_ONE, NX);
  T(15, "1 + 2^-53 static rup",
    ({ double r; __asm__ volatile("fadd.d %0, %1, %2, rup" : "=f"(r) : "f"(D(D_ONE)), "f"(D(D_2P_53))); B(r); }),
    D_ONE + 1, NX);
  T(15, "overflow rtz gives max finite",
    ({ double r; __asm__ volatile("fmul.d %0, %1, %2, rtz" : "=f"(r) : "f"(D(D_1E308)), "f"(D(D_TEN))); B(r); }),
    D_MAXFIN, OF | NX);
}

static void flags_and_nans(void) {
  T(20, "1/3", OP2("fdiv.d", D(D_ONE), D(D_THREE)), 0x3fd5555555555555UL, NX);
  T(20, "2*3 exact", OP2("fmul.d", D(D_TWO), D(D_THREE)), 0x4018000000000000UL, 0);
  T(21, "1/0 = +inf, DZ", OP2("fdiv.d", D(D_ONE), D(D_PZERO)), D_PINF, DZ);
  T(21, "-1/0 = -inf, DZ", OP2("fdiv.d", D(D_M1), D(D_PZERO)), D_NINF, DZ);
  T(22, "0/0 = canonical NaN, NV", OP2("fdiv.d", D(D_PZERO), D(D_PZERO)), D_QNAN, NV);
  T(22, "inf - inf = canonical NaN, NV", OP2("fsub.d", D(D_PINF), D(D_PINF)), D_QNAN, NV);
  T(22, "0 * inf = canonical NaN, NV", OP2("fmul.d", D(D_PZERO), D(D_PINF)), D_QNAN, NV);
  T(23, "1e308 * 10 = inf, OF|NX", OP2("fmul.d", D(D_1E308), D(D_TEN)), D_PINF, OF | NX);
  T(24, "min subnormal / 2 = 0, UF|NX", OP2("fmul.d", D(D_MINSUB), D(D_HALF)), 0, UF | NX);
  T(24, "min normal / 2 exact subnormal", OP2("fmul.d", D(D_MINNORM), D(D_HALF)), 0x0008000000000000UL, 0);
  T(25, "sNaN + 1 = canonical NaN, NV", OP2("fadd.d", D(D_SNAN), D(D_ONE)), D_QNAN, NV);
  T(25, "qNaN payload not propagated", OP2("fadd.d", D(D_QNAN_PAYLOAD), D(D_ONE)), D_QNAN, 0);
  T(25, "single 0/0 = canonical NaN", OP2S("fdiv.s", F(F_PZERO), F(F_PZERO)), BOX(F_QNAN), NV);
  /* flags accumulate */
  clear_flags();
  (void)OP2("fdiv.d", D(D_ONE), D(D_PZERO));
  (void)OP2("fdiv.d", D(D_ONE), D(D_THREE));
  check_eq(26, "fflags are sticky", get_flags(), DZ | NX);
  clear_flags();

  T(27, "sqrt(2)", OP1("fsqrt.d", D(D_TWO)), 0x3ff6a09e667f3bcdUL, NX);
  T(27, "sqrt(4)", OP1("fsqrt.d", D(D_FOUR)), D_TWO, 0);
  T(27, "sqrt(-1) = canonical NaN", OP1("fsqrt.d", D(D_M1)), D_QNAN, NV);
  T(27, "sqrt(-0) = -0", OP1("fsqrt.d", D(D_NZERO)), D_NZERO, 0);
  T(27, "sqrtf(2)", OP1S("fsqrt.s", F(0x40000000)), BOX(0x3fb504f3), NX);

  /* FMA: a*a - round(a*a) is exact only when fused */
  double a = D(0x3ff0000000000001UL), c = D(0xbff0000000000002UL);
  T(28, "fmadd.d single rounding", OP3("fmadd.d", a, a, c), 0x3970000000000000UL, 0);
  double two = D(D_TWO), three = D(D_THREE), one = D(D_ONE);
  T(28, "fmadd 2*3+1", OP3("fmadd.d", two, three, one), 0x401c000000000000UL, 0);
  T(28, "fmsub 2*3-1", OP3("fmsub.d", two, three, one), 0x4014000000000000UL, 0);
  T(28, "fnmsub -(2*3)+1", OP3("fnmsub.d", two, three, one), 0xc014000000000000UL, 0);
  T(28, "fnmadd -(2*3)-1", OP3("fnmadd.d", two, three, one), 0xc01c000000000000UL, 0);
  T(29, "fmadd inf*0+qNaN is NV", OP3("fmadd.d", D(D_PINF), D(D_PZERO), D(D_QNAN)), D_QNAN, NV);
}

static void boxing(void) {
  T(30, "fmv.w.x boxes", BF(F(F_ONE)), BOX(F_ONE), 0);
  T(30, "fmv.x.w sign-extends", TOINT("fmv.x.w", F(F_M1)), 0xffffffffbf800000UL, 0);
  T(30, "fmv.x.w positive", TOINT("fmv.x.w", F(F_ONE)), F_ONE, 0);
  /* single-precision op on a register that is not NaN-boxed sees a canonical NaN */
  float unboxed;
  __asm__ volatile("fmv.d.x %0, %1" : "=f"(unboxed) : "r"(0x000000003f800000UL));
  T(31, "fadd.s of an unboxed value", OP2S("fadd.s", unboxed, F(F_ONE)), BOX(F_QNAN), 0);
  T(31, "fsgnj.s of an unboxed value", OP2S("fsgnj.s", unboxed, F(F_M1)), BOX(0xffc00000U), 0);
  T(31, "fmv.x.w ignores boxing", TOINT("fmv.x.w", unboxed), F_ONE, 0);
  volatile uint32_t mem = 0x40490fdb;
  float loaded;
  __asm__ volatile("flw %0, 0(%1)" : "=f"(loaded) : "r"(&mem) : "memory");
  T(32, "flw boxes", BF(loaded), BOX(0x40490fdb), 0);
  volatile uint64_t mem64 = 0x1111111122222222UL;
  __asm__ volatile("fsw %0, 0(%1)" ::"f"(F(0x3f800000)), "r"(&mem64) : "memory");
  T(32, "fsw stores 32 bits", mem64, 0x111111113f800000UL, 0);
}

static void minmax_cvt_cmp(void) {
  double pz = D(D_PZERO), nz = D(D_NZERO), one = D(D_ONE);
  T(40, "fmin(-0,+0) = -0", OP2("fmin.d", nz, pz), D_NZERO, 0);
  T(40, "fmin(+0,-0) = -0", OP2("fmin.d", pz, nz), D_NZERO, 0);
  T(40, "fmax(-0,+0) = +0", OP2("fmax.d", nz, pz), D_PZERO, 0);
  T(40, "fmax(+0,-0) = +0", OP2("fmax.d", pz, nz), D_PZERO, 0);
  T(40, "fmin.s(-0,+0) = -0", OP2S("fmin.s", F(F_NZERO), F(F_PZERO)), BOX(F_NZERO), 0);
  T(41, "fmin(qNaN,1) = 1", OP2("fmin.d", D(D_QNAN), one), D_ONE, 0);
  T(41, "fmax(1,sNaN) = 1, NV", OP2("fmax.d", one, D(D_SNAN)), D_ONE, NV);
  T(41, "fmin(qNaN,qNaN) = canonical", OP2("fmin.d", D(D_QNAN_PAYLOAD), D(D_QNAN_PAYLOAD)), D_QNAN, 0);

  T(42, "fcvt.w.d 1e20 saturates", TOINT("fcvt.w.d", D(D_1E20)), 0x7fffffffUL, NV);
  T(42, "fcvt.w.d -1e20 saturates", TOINT("fcvt.w.d", D(D_M1E20)), 0xffffffff80000000UL, NV);
  T(42, "fcvt.w.d NaN", TOINT("fcvt.w.d", D(D_QNAN)), 0x7fffffffUL, NV);
  T(42, "fcvt.w.d -inf", TOINT("fcvt.w.d", D(D_NINF)), 0xffffffff80000000UL, NV);
  T(43, "fcvt.wu.d -1", TOINT("fcvt.wu.d", D(D_M1)), 0, NV);
  T(43, "fcvt.wu.d -0.5 rtz", ({ uint64_t r; __asm__ volatile("fcvt.wu.d %0, %1, rtz" : "=r"(r) : "f"(D(0xbfe0000000000000UL))); r; }), 0, NX);
  T(43, "fcvt.wu.d 2^32-1 sign-extends", TOINT("fcvt.wu.d", D(D_U32MAX)), ~0UL, 0);
  T(43, "fcvt.wu.d 1e20 saturates", TOINT("fcvt.wu.d", D(D_1E20)), ~0UL, NV);
  T(44, "fcvt.l.d 1e20 saturates", TOINT("fcvt.l.d", D(D_1E20)), 0x7fffffffffffffffUL, NV);
  T(44, "fcvt.l.d -2^63 exact", TOINT("fcvt.l.d", D(D_M2P63)), 0x8000000000000000UL, 0);
  T(44, "fcvt.lu.d -1", TOINT("fcvt.lu.d", D(D_M1)), 0, NV);
  T(45, "fcvt.d.l 2^53+1 rounds", FROMINT("fcvt.d.l", (1UL << 53) + 1), 0x4340000000000000UL, NX);
  T(45, "fcvt.d.w -1", FROMINT("fcvt.d.w", (uint64_t)-1), D_M1, 0);
  T(45, "fcvt.d.wu 0xffffffff", FROMINT("fcvt.d.wu", ~0UL), D_U32MAX, 0);
  T(46, "fcvt.s.d 1/3", OP1S("fcvt.s.d", D(0x3fd5555555555555UL)), BOX(0x3eaaaaab), NX);
  T(46, "fcvt.s.d 1e300 overflows", OP1S("fcvt.s.d", D(D_1E300)), BOX(0x7f800000), OF | NX);
  T(46, "fcvt.d.s 0.1f exact", OP1("fcvt.d.s", F(0x3dcccccd)), 0x3fb99999a0000000UL, 0);
  T(46, "fcvt.d.s sNaN", OP1("fcvt.d.s", F(F_SNAN)), D_QNAN, NV);

  T(47, "feq qNaN: 0, quiet", CMP("feq.d", D(D_QNAN), one), 0, 0);
  T(47, "feq sNaN: 0, NV", CMP("feq.d", D(D_SNAN), one), 0, NV);
  T(47, "flt qNaN: 0, NV", CMP("flt.d", D(D_QNAN), one), 0, NV);
  T(47, "fle 1,1", CMP("fle.d", one, one), 1, 0);
  T(47, "feq -0,+0", CMP("feq.d", nz, pz), 1, 0);
  T(47, "flt -0,+0", CMP("flt.d", nz, pz), 0, 0);

  static const uint64_t cls_in[10] = {D_NINF, D_M1, 0x800fffffffffffffUL, D_NZERO, D_PZERO,
                                      D_MINSUB, D_ONE, D_PINF, D_SNAN, D_QNAN};
  for (int i = 0; i < 10; i++) T(48, "fclass.d", TOINT("fclass.d", D(cls_in[i])), 1UL << i, 0);
  T(48, "fclass.s of unboxed = qNaN", TOINT("fclass.s", D(0x3f800000UL)), 1UL << 9, 0);

  T(49, "fsgnjn.d (fneg)", OP2("fsgnjn.d", one, one), D_M1, 0);
  T(49, "fsgnjx.d(-2,-3) = 2", OP2("fsgnjx.d", D(0xc000000000000000UL), D(0xc008000000000000UL)), D_TWO, 0);
  T(49, "fsgnj.d keeps NaN payload", OP2("fsgnj.d", D(D_SNAN), D(D_NINF)), 0xfff0000000000001UL, 0);
}

/* A small computation: partial sums of zeta(2) in double and the harmonic
   series in single precision; the bit patterns come from QEMU and agree with an x86-64 host. */
static volatile int n_terms = 1000;

static void series(void) {
  double s = 0.0;
  for (int k = 1; k <= n_terms; k++) s += 1.0 / ((double)k * (double)k);
  float h = 0.0f;
  for (int k = 1; k <= n_terms; k++) h += 1.0f / (float)k;
  uart_puts("fpu: sum 1/k^2 = ");
  uart_put_hex(B(s));
  uart_puts(", sum 1/k (single) = ");
  uart_put_hex(BF(h));
  uart_puts("\n");
  check_eq(50, "sum 1/k^2, k = 1..1000", B(s), 0x3ffa4d8e550a946eUL);
  check_eq(51, "sum 1/k (single), k = 1..1000", BF(h), BOX(0x40ef890a));
}

int main(void) {
  fs_and_fcsr();
  rounding();
  flags_and_nans();
  boxing();
  minmax_cvt_cmp();
  series();
  report_pass("fpu");
  return 0;
}
