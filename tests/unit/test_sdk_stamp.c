/*
 * test_sdk_stamp.c: event timestamps (cw_stamp.h). With either source
 * (TSC ticks with per-thread anchors, or CLOCK_MONOTONIC), a converted
 * stamp lies between CLOCK_MONOTONIC readings taken around it (within the
 * calibration error), never goes backwards, and never lies after the
 * drain's reading. A counter that jumps (another CPU's TSC, behind or
 * ahead) still converts into that window.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cw_internal.h"

#define TOLERANCE_NS                                                           \
  200000 /* rate error over one anchor interval, generous                      \
          */

static void spin_ns(uint64_t ns) {
  uint64_t t0 = cw__mono_ns();
  while (cw__mono_ns() - t0 < ns) {
  }
}

/* What cw__stamp() does, with the anchor going to `c` directly. */
static uint64_t stamp(const cw_stampmap *m, cw_stampconv *c, uint64_t *atsc) {
  if (!m->use_tsc)
    return cw__mono_ns();
  uint64_t t = cw__tsc();
  if (t - *atsc > m->anchor_ticks) {
    cw__stamp_anchor_seen(c, t, cw__mono_ns());
    *atsc = t;
  }
  return t;
}

static void check_source(int mode) {
  cw_stampmap m;
  uint64_t base = 0;
  cw__stamp_init(&m, &base, mode);
  assert_true(base > 0);
  if (mode == CW_STAMP_MONO)
    assert_false(m.use_tsc);
  if (mode == CW_STAMP_TSC && !CW_HAVE_TSC)
    assert_false(m.use_tsc);
  if (m.use_tsc) {
    assert_true(m.rate > 0);
    assert_true(m.anchor_ticks > 0);
  }
  cw_stampconv c = {0};
  uint64_t atsc = 0, prev = 0;
  for (int i = 0; i < 400; i++) {
    uint64_t before = cw__mono_ns();
    uint64_t st = stamp(&m, &c, &atsc);
    uint64_t after = cw__mono_ns();
    uint64_t conv = cw__stamp_convert(&m, &c, st, after);
    assert_true(conv + TOLERANCE_NS >= before);
    assert_true(conv <= after);
    assert_true(conv >= prev);
    prev = conv;
    if (i % 50 == 49) {
      spin_ns(1500000); /* past the anchor interval */
      cw__stamp_refine(&m);
    }
  }
}

static void test_monotonic_source(void **state) {
  (void)state;
  check_source(CW_STAMP_MONO);
}

static void test_tsc_source(void **state) {
  (void)state;
  check_source(CW_STAMP_TSC);
}

static void test_auto_source(void **state) {
  (void)state;
  check_source(CW_STAMP_AUTO);
}

/* A counter that is not synchronised: stamps from "another CPU" that run
 * ahead or behind the anchor still convert into [previous, now]. */
static void test_broken_counter_is_clamped(void **state) {
  (void)state;
  cw_stampmap m;
  uint64_t base = 0;
  cw__stamp_init(&m, &base, CW_STAMP_TSC);
  if (!m.use_tsc)
    skip();
  cw_stampconv c = {0};
  uint64_t t0 = cw__tsc(), m0 = cw__mono_ns();
  cw__stamp_anchor_seen(&c, t0, m0);
  uint64_t now = cw__mono_ns();
  uint64_t a = cw__stamp_convert(&m, &c, t0 + m.anchor_ticks / 10, now);
  assert_true(a >= m0 && a <= now);
  /* Behind the anchor: no earlier than the previous time. */
  uint64_t b = cw__stamp_convert(&m, &c, t0 - m.anchor_ticks * 5, now);
  assert_true(b >= a && b <= now);
  /* Far ahead (a second of ticks): no later than the drain's reading. */
  uint64_t later = cw__mono_ns();
  uint64_t x = cw__stamp_convert(&m, &c, t0 + m.anchor_ticks * 1000, later);
  assert_true(x >= b);
  assert_int_equal(x, later);
  /* A lost anchor (never seen): the previous time, not garbage. */
  cw_stampconv fresh = {0};
  uint64_t y = cw__stamp_convert(&m, &fresh, cw__tsc(), later);
  assert_int_equal(y, later);
  assert_int_equal(cw__stamp_convert(&m, &fresh, 1, later + 5), later);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_monotonic_source),
      cmocka_unit_test(test_tsc_source),
      cmocka_unit_test(test_auto_source),
      cmocka_unit_test(test_broken_counter_is_clamped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
