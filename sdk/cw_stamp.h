/*
 * cw_stamp: event timestamps. The hot path stores a raw stamp; the drain
 * turns it into CLOCK_MONOTONIC nanoseconds.
 *
 * DESIGN. Reading CLOCK_MONOTONIC costs about 25 ns here (a VM), half of
 * the budget of a recorded access, while the CPU's time-stamp counter
 * costs about 10 ns. When the kernel itself uses the TSC as its clock
 * source (so it is invariant and synchronised across CPUs), events store
 * TSC ticks and the drain converts them with a piecewise-linear map:
 * cw_init calibrates the rate over 1 ms, and the drain re-anchors it
 * against CLOCK_MONOTONIC about once a second. Each new segment starts
 * where the previous one ends (so converted times never go backwards) and
 * its rate is chosen to absorb the measured error over the next second.
 * On other machines stamps are CLOCK_MONOTONIC readings already.
 */
#ifndef CW_STAMP_H
#define CW_STAMP_H

#include <stdint.h>

#define CW_STAMP_SEGMENTS 64

typedef struct cw_stamp_seg {
  uint64_t tsc; /* segment start, ticks */
  double mono;  /* converted time at the start, ns */
  double rate;  /* ns per tick */
} cw_stamp_seg;

typedef struct cw_stampmap {
  int use_tsc;
  cw_stamp_seg seg[CW_STAMP_SEGMENTS]; /* ring, newest at head */
  uint32_t head, n;
  uint64_t ref_tsc, ref_mono; /* last true measurement */
} cw_stampmap;

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

/* Decides the stamp source and calibrates it (takes about 1 ms with the
 * TSC). Fills *base_mono with the current monotonic time. */
void cw__stamp_init(cw_stampmap *m, uint64_t *base_mono);
/* Re-anchors the map against CLOCK_MONOTONIC (drain thread). */
void cw__stamp_reanchor(cw_stampmap *m);
/* @return the monotonic time, in ns, of a stamp. */
uint64_t cw__stamp_to_mono(const cw_stampmap *m, uint64_t stamp);

#endif /* CW_STAMP_H */
