/*
 * cw_stamp.c: TSC calibration and conversion (see cw_stamp.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "cw_stamp.h"

#include <string.h>

#if CW_HAVE_TSC
#include <cpuid.h>
#endif

#include "cw_internal.h"

int cw__tsc_invariant(void) {
#if CW_HAVE_TSC
  unsigned a, b, c, d;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
    return 0;
  if (!__get_cpuid(0x80000007u, &a, &b, &c, &d))
    return 0;
  return (d >> 8) & 1;
#else
  return 0;
#endif
}

void cw__stamp_set_rate(cw_stampmap *m, double rate) {
  m->rate = rate;
  m->mult = (uint64_t)(rate * 4294967296.0 + 0.5);
}

void cw__stamp_init(cw_stampmap *m, uint64_t *base_mono, int mode) {
  memset(m, 0, sizeof(*m));
  m->use_tsc = CW_HAVE_TSC && mode != CW_STAMP_MONO &&
               (mode == CW_STAMP_TSC || cw__tsc_invariant());
  uint64_t mono0 = cw__mono_ns();
  *base_mono = mono0;
  if (!m->use_tsc)
    return;
  uint64_t tsc0 = cw__tsc(), mono1, tsc1;
  do {
    mono1 = cw__mono_ns();
    tsc1 = cw__tsc();
  } while (mono1 - mono0 < 1000000 || tsc1 <= tsc0);
  cw__stamp_set_rate(m, (double)(mono1 - mono0) / (double)(tsc1 - tsc0));
  m->anchor_ticks = (uint64_t)(1e6 / m->rate);
  m->ref_tsc = tsc1;
  m->ref_mono = mono1;
}

void cw__stamp_refine(cw_stampmap *m) {
  if (!m->use_tsc)
    return;
  uint64_t mono = cw__mono_ns();
  uint64_t tsc = cw__tsc();
  if (tsc <= m->ref_tsc || mono <= m->ref_mono)
    goto reset; /* the counter went back (another CPU): measure afresh */
  double measured = (double)(mono - m->ref_mono) / (double)(tsc - m->ref_tsc);
  /* A pair spoilt by preemption or migration is off by far more than any
   * drift; keep the rate then. */
  if (mono - m->ref_mono >= 100000000u && measured > m->rate * 0.99 &&
      measured < m->rate * 1.01)
    cw__stamp_set_rate(m, measured);
reset:
  m->ref_tsc = tsc;
  m->ref_mono = mono;
}
