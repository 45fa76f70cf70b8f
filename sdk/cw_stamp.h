/*
 * cw_stamp: event timestamps. The hot path stores a raw stamp; the drain
 * turns it into CLOCK_MONOTONIC nanoseconds.
 *
 * DESIGN. The cheapest clock that is correct on every clock source.
 * CLOCK_MONOTONIC through the vDSO costs about 27 ns of CPU on kvm-clock
 * here (more when the kernel falls back to a system call), the CPU's
 * time-stamp counter about 11 ns. Where the CPU declares an invariant TSC
 * (constant rate, runs in every C-state) events store TSC ticks, whatever
 * the kernel's clock source is, and correctness never rests on the TSC:
 *  - each thread takes an ANCHOR, a (ticks, CLOCK_MONOTONIC) pair written
 *    into its own ring before the event that needs it, on its first event,
 *    whenever about a millisecond of ticks has passed since the last one,
 *    and whenever the counter reads below the anchor (a migration to a CPU
 *    whose counter is behind);
 *  - the drain converts a stamp as anchor + (ticks - anchor ticks) * rate,
 *    and clamps the result between the thread's previous converted time
 *    and a CLOCK_MONOTONIC reading the drain takes after it saw the
 *    record. So a converted time never goes backwards within a thread and
 *    never lies after the moment the event was known to be recorded; with a
 *    synchronised TSC (kvm-clock's stable mode, the tsc clock source) it is
 *    exact to the rate error over at most 1 ms (tens of ns), and with a
 *    broken one it is still within the 1 ms anchor interval.
 * The rate is calibrated over 1 ms at init and refined by the drain about
 * once a second. Without an invariant TSC (or with CAUSEWAY_CLOCK=monotonic)
 * stamps are CLOCK_MONOTONIC readings and need no anchors.
 */
#ifndef CW_STAMP_H
#define CW_STAMP_H

#include <stdint.h>

/* Clock modes for cw__stamp_init. */
enum { CW_STAMP_AUTO = 0, CW_STAMP_TSC = 1, CW_STAMP_MONO = 2 };

typedef struct cw_stampmap {
  int use_tsc;
  uint64_t anchor_ticks;      /* re-anchor after this many ticks (~1 ms) */
  double rate;                /* ns per tick; drain thread only after init */
  uint64_t mult;              /* rate * 2^32 (cw__stamp_convert's product) */
  uint64_t ref_tsc, ref_mono; /* drain: the pair the rate is measured from */
} cw_stampmap;

/* The drain's per-thread conversion state. */
typedef struct cw_stampconv {
  uint64_t atsc, amono; /* the thread's last anchor */
  uint64_t last;        /* last converted time: never goes back */
  int have;             /* an anchor was seen */
} cw_stampconv;

#if defined(__x86_64__) || defined(__i386__)
#define CW_HAVE_TSC 1
static inline uint64_t cw__tsc(void) {
  return __builtin_ia32_rdtsc();
}
#else
#define CW_HAVE_TSC 0
static inline uint64_t cw__tsc(void) {
  return 0;
}
#endif

/* 1 when the CPU declares an invariant TSC (CPUID 0x80000007 EDX bit 8). */
int cw__tsc_invariant(void);

/* Decides the stamp source (`mode`: CW_STAMP_*) and calibrates the TSC
 * (about 1 ms). Fills *base_mono with the current monotonic time. */
void cw__stamp_init(cw_stampmap *m, uint64_t *base_mono, int mode);
/* Refines the rate against CLOCK_MONOTONIC (drain thread, ~once a second). */
void cw__stamp_refine(cw_stampmap *m);
/* Sets the rate (ns per tick) and its fixed-point form. */
void cw__stamp_set_rate(cw_stampmap *m, double rate);

/* (d * mult) >> 32: ticks to ns with the 32.32 fixed-point rate. One
 * multiply where 128-bit products exist (the drain converts every event's
 * stamp: the double conversion and its range checks cost about 15
 * instructions more), else in double. */
static inline uint64_t cw__ticks_ns(const cw_stampmap *m, uint64_t d) {
#if defined(__SIZEOF_INT128__)
  __extension__ typedef unsigned __int128 cw_u128;
  return (uint64_t)(((cw_u128)d * m->mult) >> 32);
#else
  return (uint64_t)((double)d * m->rate);
#endif
}

/* @return the monotonic time, in ns, of a thread's stamp; `now` is a
 * CLOCK_MONOTONIC reading taken after the record was published. */
static inline uint64_t cw__stamp_convert(const cw_stampmap *m, cw_stampconv *c,
                                         uint64_t stamp, uint64_t now) {
  uint64_t t;
  if (!m->use_tsc) {
    t = stamp;
  } else if (!c->have) {
    t = c->last ? c->last : now; /* its anchor was lost (a full ring) */
  } else {
    int64_t d = (int64_t)(stamp - c->atsc);
    t = c->amono + (d > 0 ? cw__ticks_ns(m, (uint64_t)d) : 0);
  }
  if (t < c->last)
    t = c->last;
  if (t > now)
    t = now;
  c->last = t;
  return t;
}
/* The drain met a thread's ANCHOR record. */
static inline void cw__stamp_anchor_seen(cw_stampconv *c, uint64_t tsc,
                                         uint64_t mono) {
  c->atsc = tsc;
  c->amono = mono;
  c->have = 1;
}

#endif /* CW_STAMP_H */
