/*
 * test_sdk_ring.c: the per-thread record ring: FIFO order, padding at the
 * wrap, the reserve kept for critical records, refusal when full, and
 * space coming back after the consumer releases it.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "cw_ring.h"

typedef struct rec {
  cw_rhdr h;
  uint32_t id;
  uint32_t pad;
} rec;

static rec *put(cw_ring *r, uint32_t size, uint32_t id, int critical) {
  rec *x = cw__ring_alloc(r, size, critical);
  if (x) {
    x->h.size = size;
    x->h.type = CW_R_EVENT;
    x->id = id;
    cw__ring_commit(r);
  }
  return x;
}

/* Consumes everything; checks ids follow `next`. @return the count. */
static uint32_t take(cw_ring *r, uint32_t *next) {
  uint64_t head = cw_load_acquire(&r->head);
  uint64_t pos = cw_load_relaxed(&r->tail);
  uint32_t n = 0;
  const cw_rhdr *h;
  while ((h = cw__ring_peek(r, &pos, head)) != NULL) {
    if (h->type == CW_R_EVENT) {
      assert_int_equal(((const rec *)h)->id, *next);
      (*next)++;
      n++;
    } else {
      assert_int_equal(h->type, CW_R_PAD);
    }
    pos += h->size;
  }
  cw__ring_release(r, pos);
  return n;
}

static void test_fifo_wrap_reserve(void **state) {
  (void)state;
  cw_ring r;
  assert_int_equal(cw__ring_init(&r, 16384), 0);
  assert_int_equal(r.reserve, 1024);
  uint32_t id = 0, next = 0;
  /* Fill: normal records stop at the reserve, critical ones use it. */
  while (put(&r, 104, id, 0))
    id++;
  uint32_t normal = id;
  assert_true(normal > 100);
  assert_true((uint64_t)normal * 104 <= 16384 - 1024);
  while (put(&r, 104, id, 1))
    id++;
  assert_true(id > normal);
  assert_true((uint64_t)id * 104 > 16384 - 104); /* the ring is full */
  assert_int_equal(take(&r, &next), id);
  /* Many rounds with sizes that do not divide the capacity: records wrap
   * with padding and stay in order. */
  for (int round = 0; round < 200; round++) {
    uint32_t size = 16 + 8 * (uint32_t)(round % 37);
    for (int k = 0; k < 20; k++)
      assert_non_null(put(&r, size, id++, 0));
    assert_int_equal(take(&r, &next), 20);
  }
  assert_int_equal(next, id);
  /* Records over half the ring are refused. */
  assert_null(put(&r, 8200, 0, 1));
  cw__ring_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fifo_wrap_reserve),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
