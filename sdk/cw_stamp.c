/*
 * cw_stamp.c: TSC calibration and conversion (see cw_stamp.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "cw_stamp.h"

#include <stdio.h>
#include <string.h>

#include "cw_internal.h"

static int kernel_uses_tsc(void) {
  char buf[32] = "";
  FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/"
                  "current_clocksource",
                  "r");
  if (!f)
    return 0;
  if (!fgets(buf, sizeof(buf), f))
    buf[0] = 0;
  fclose(f);
  return strncmp(buf, "tsc", 3) == 0 && (buf[3] == '\n' || buf[3] == 0);
}

void cw__stamp_init(cw_stampmap *m, uint64_t *base_mono) {
  memset(m, 0, sizeof(*m));
  m->use_tsc = CW_HAVE_TSC && kernel_uses_tsc();
  uint64_t mono0 = cw__mono_ns();
  *base_mono = mono0;
  if (!m->use_tsc)
    return;
  uint64_t tsc0 = cw__tsc(), mono1, tsc1;
  do {
    mono1 = cw__mono_ns();
    tsc1 = cw__tsc();
  } while (mono1 - mono0 < 1000000 || tsc1 <= tsc0);
  double rate = (double)(mono1 - mono0) / (double)(tsc1 - tsc0);
  m->seg[0] = (cw_stamp_seg){tsc0, (double)mono0, rate};
  m->n = 1;
  m->head = 0;
  m->ref_tsc = tsc1;
  m->ref_mono = mono1;
}

uint64_t cw__stamp_to_mono(const cw_stampmap *m, uint64_t stamp) {
  if (!m->use_tsc)
    return stamp;
  /* The newest segment that starts at or before the stamp. */
  const cw_stamp_seg *s = NULL;
  for (uint32_t i = 0; i < m->n; i++) {
    s = &m->seg[(m->head + CW_STAMP_SEGMENTS - i) % CW_STAMP_SEGMENTS];
    if (s->tsc <= stamp)
      break;
  }
  double t = s->mono + ((double)stamp - (double)s->tsc) * s->rate;
  return t > 0 ? (uint64_t)t : 0;
}

void cw__stamp_reanchor(cw_stampmap *m) {
  if (!m->use_tsc)
    return;
  uint64_t mono = cw__mono_ns();
  uint64_t tsc = cw__tsc();
  if (tsc <= m->ref_tsc || mono <= m->ref_mono)
    return;
  double measured = (double)(mono - m->ref_mono) / (double)(tsc - m->ref_tsc);
  const cw_stamp_seg *cur = &m->seg[m->head];
  double at = cur->mono + ((double)tsc - (double)cur->tsc) * cur->rate;
  /* Absorb the error over about the next second of ticks. */
  double ticks = 1e9 / measured;
  double rate = measured + ((double)mono - at) / ticks;
  if (rate < measured / 2)
    rate = measured / 2;
  m->head = (m->head + 1) % CW_STAMP_SEGMENTS;
  m->seg[m->head] = (cw_stamp_seg){tsc, at, rate};
  if (m->n < CW_STAMP_SEGMENTS)
    m->n++;
  m->ref_tsc = tsc;
  m->ref_mono = mono;
}
