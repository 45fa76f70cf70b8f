/*
 * test_sdk_vclock.c: sparse vector clock operations: merge with the raised
 * entries (the delta an event carries), skipping the own slot, stale
 * generations (retired actors) dropped, insert/update, copy, order.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cw_vclock.h"

/* Slot s is at generation 1, except slot 11 at generation 100: entries
 * with gen 99 are stale (retired). */
static cw_au32 gens_arr[16];
static cw_gens gens_view = {gens_arr, 16};
static const cw_gens *valid = &gens_view;

static int setup(void **state) {
  (void)state;
  for (int i = 0; i < 16; i++)
    atomic_init(&gens_arr[i], 1);
  atomic_init(&gens_arr[11], 100);
  return 0;
}

static void test_merge_delta(void **state) {
  (void)state;
  cw_ent a[] = {{1, 1, 5}, {3, 1, 2}, {7, 1, 9}};
  cw_ent b[] = {{1, 1, 3}, {3, 1, 4}, {5, 1, 1}, {9, 1, 2}};
  cw_ent out[8], delta[8];
  uint32_t nd = 0;
  uint32_t n = cw__vc_merge(a, 3, b, 4, UINT32_MAX, valid, out, delta, &nd);
  assert_int_equal(n, 5);
  uint32_t slots[] = {1, 3, 5, 7, 9};
  uint64_t ctrs[] = {5, 4, 1, 9, 2};
  for (uint32_t i = 0; i < n; i++) {
    assert_int_equal(out[i].slot, slots[i]);
    assert_int_equal(out[i].ctr, ctrs[i]);
  }
  /* Only the entries b raised. */
  assert_int_equal(nd, 3);
  assert_int_equal(delta[0].slot, 3);
  assert_int_equal(delta[0].ctr, 4);
  assert_int_equal(delta[1].slot, 5);
  assert_int_equal(delta[2].slot, 9);
  /* Merging a clock into itself raises nothing. */
  n = cw__vc_merge(a, 3, a, 3, UINT32_MAX, valid, out, delta, &nd);
  assert_int_equal(n, 3);
  assert_int_equal(nd, 0);
}

static void test_merge_skip_and_stale(void **state) {
  (void)state;
  cw_ent a[] = {{1, 1, 5}, {2, 99, 7}, {4, 1, 1}};
  cw_ent b[] = {{2, 99, 8}, {4, 1, 6}, {6, 99, 3}, {8, 1, 2}};
  cw_ent out[8], delta[8];
  uint32_t nd;
  /* Slot 4 is the merging actor itself: skipped. Gen 99 is retired. */
  uint32_t n = cw__vc_merge(a, 3, b, 4, 4, valid, out, delta, &nd);
  assert_int_equal(n, 2);
  assert_int_equal(out[0].slot, 1);
  assert_int_equal(out[1].slot, 8);
  assert_int_equal(nd, 1);
  assert_int_equal(delta[0].slot, 8);
  /* Same slot, two generations: the live one wins. */
  cw_ent c[] = {{11, 99, 50}};
  cw_ent d[] = {{11, 100, 2}};
  n = cw__vc_merge(c, 1, d, 1, UINT32_MAX, valid, out, delta, &nd);
  assert_int_equal(n, 1);
  assert_int_equal(out[0].gen, 100);
  assert_int_equal(out[0].ctr, 2);
  assert_int_equal(nd, 1);
  /* Without a validity callback the newer generation wins. */
  n = cw__vc_merge(d, 1, c, 1, UINT32_MAX, NULL, out, delta, &nd);
  assert_int_equal(n, 1);
  assert_int_equal(out[0].gen, 100);
  assert_int_equal(nd, 0);
}

static void test_set_copy_get(void **state) {
  (void)state;
  cw_vc v = {0};
  assert_int_equal(cw__vc_set(&v, 5, 1, 10), 0);
  assert_int_equal(cw__vc_set(&v, 2, 1, 20), 0);
  assert_int_equal(cw__vc_set(&v, 9, 1, 30), 0);
  assert_int_equal(cw__vc_set(&v, 5, 1, 11), 0);
  assert_int_equal(v.n, 3);
  assert_int_equal(v.e[0].slot, 2);
  assert_int_equal(v.e[1].slot, 5);
  assert_int_equal(v.e[2].slot, 9);
  assert_int_equal(cw__vc_get(v.e, v.n, 5, 1), 11);
  assert_int_equal(cw__vc_get(v.e, v.n, 5, 2), 0);
  assert_int_equal(cw__vc_get(v.e, v.n, 4, 1), 0);
  /* A new generation of a slot replaces the old one. */
  assert_int_equal(cw__vc_set(&v, 5, 2, 1), 0);
  assert_int_equal(v.n, 3);
  assert_int_equal(cw__vc_get(v.e, v.n, 5, 2), 1);
  cw_vc w = {0};
  cw_ent src[] = {{1, 1, 1}, {2, 99, 2}, {3, 1, 3}};
  assert_int_equal(cw__vc_copy(&w, src, 3, 3, valid), 0);
  assert_int_equal(w.n, 1);
  assert_int_equal(w.e[0].slot, 1);
  cw_ent x[] = {{1, 1, 1}, {3, 1, 3}};
  cw_ent y[] = {{1, 1, 2}, {2, 1, 1}, {3, 1, 3}};
  assert_true(cw__vc_leq(x, 2, y, 3));
  assert_false(cw__vc_leq(y, 3, x, 2));
  cw_ent u[] = {{9, 1, 1}, {2, 3, 1}, {2, 1, 1}};
  cw__vc_sort(u, 3);
  assert_int_equal(u[0].slot, 2);
  assert_int_equal(u[0].gen, 1);
  assert_int_equal(u[2].slot, 9);
  cw__vc_free(&v);
  cw__vc_free(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_merge_delta),
      cmocka_unit_test(test_merge_skip_and_stale),
      cmocka_unit_test(test_set_copy_get),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
