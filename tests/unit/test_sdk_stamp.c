/*
 * test_sdk_stamp.c: event timestamps. Converted stamps agree with
 * CLOCK_MONOTONIC read around them (within the calibration error), never
 * go backwards, and a stamp converts to the same time before and after
 * the map is re-anchored.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cw_internal.h"

#define TOLERANCE_NS 1000000 /* calibration error bound, generous */

static uint64_t raw_stamp(const cw_stampmap *m) {
  return m->use_tsc ? cw__tsc() : cw__mono_ns();
}

static void spin_ns(uint64_t ns) {
  uint64_t t0 = cw__mono_ns();
  while (cw__mono_ns() - t0 < ns) {
  }
}

static void test_conversion(void **state) {
  (void)state;
  cw_stampmap m;
  uint64_t base = 0;
  cw__stamp_init(&m, &base);
  assert_true(base > 0);
  uint64_t prev = 0;
  for (int i = 0; i < 40; i++) {
    uint64_t before = cw__mono_ns();
    uint64_t st = raw_stamp(&m);
    uint64_t after = cw__mono_ns();
    uint64_t conv = cw__stamp_to_mono(&m, st);
    assert_true(conv + TOLERANCE_NS >= before);
    assert_true(conv <= after + TOLERANCE_NS);
    assert_true(conv >= prev);
    prev = conv;
    if (i % 8 == 7) {
      /* A stamp converts the same way across a re-anchoring. */
      uint64_t old = cw__stamp_to_mono(&m, st);
      spin_ns(2000000);
      cw__stamp_reanchor(&m);
      assert_int_equal(cw__stamp_to_mono(&m, st), old);
    }
  }
  /* Consecutive stamps across the segment boundaries never go back. */
  prev = 0;
  for (int i = 0; i < 2000; i++) {
    uint64_t conv = cw__stamp_to_mono(&m, raw_stamp(&m));
    assert_true(conv >= prev);
    prev = conv;
    if (i % 500 == 499)
      cw__stamp_reanchor(&m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conversion),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
