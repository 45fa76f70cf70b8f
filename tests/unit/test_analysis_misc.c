/*
 * test_analysis_misc.c: contention statistics, held-back (out-of-order)
 * events, retirement, gaps, invalid events, producer clocks, audit trails
 * and the critical path.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "test_analysis_util.h"

static cw_aevent mk(cw_ae_kind k, cw_actor_id a, cw_sym obj) {
  cw_aevent ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = k;
  ev.actor = a;
  ev.object = obj;
  return ev;
}

static const cw_lock_stats *find_lock(cw_engine *e, const char *name) {
  const cw_lock_stats *ls;
  size_t n = cw__engine_locks(e, &ls);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(cw__engine_str(e, ls[i].lock), name))
      return &ls[i];
  return NULL;
}

static void test_contention_event_index(void **st) {
  (void)st;
  cw_engine *e = cw__engine_new(NULL);
  /* Event indexes 1..8 are the timestamps. */
  assert_int_equal(tstd_feed(e, "T0|fork(T1)|1\nT0|fork(T2)|2\n"
                                "T1|acq(L)|a\nT2|req(L)|b\nT1|r(x)|c\n"
                                "T1|rel(L)|d\nT2|acq(L)|b\nT2|rel(L)|e\n"),
                   0);
  const cw_lock_stats *l = find_lock(e, "L");
  assert_non_null(l);
  assert_int_equal(l->acquisitions, 2);
  assert_int_equal(l->contended, 1);
  assert_int_equal(l->wait_total_ns, 3); /* 7 - 4 */
  assert_int_equal(l->wait_max_ns, 3);
  assert_int_equal(l->wait_p50_ns, 0);
  assert_int_equal(l->wait_p99_ns, 3);
  assert_int_equal(l->hold_total_ns, 4); /* (6 - 3) + (8 - 7) */
  assert_int_equal(l->hold_max_ns, 3);
  assert_int_equal(l->hold_p50_ns, 1);
  assert_int_equal(l->hold_p99_ns, 3);
  assert_int_equal(l->ntop, 1);
  assert_string_equal(cw__engine_str(e, l->top[0].loc), "b");
  assert_int_equal(l->top[0].contended, 1);
  assert_int_equal(l->top[0].wait_ns, 3);
  cw_summary s;
  cw__engine_summary(e, &s);
  assert_int_equal(s.contended_locks, 1);
  cw__engine_free(e);
}

static void test_contention_histogram(void **st) {
  (void)st;
  cw_engine *e = cw__engine_new(NULL);
  cw_actor_id a = tstd_actor(e, "A");
  cw_sym l = tstd_sym(e, "L");
  int64_t ts = 1000;
  for (int i = 1; i <= 1000; i++) {
    cw_aevent ev = mk(CW_AE_LOCK_ACQUIRE, a, l);
    ev.ts_ns = ts;
    assert_int_equal(cw__engine_feed(e, &ev), 0);
    ev = mk(CW_AE_LOCK_RELEASE, a, l);
    ev.ts_ns = ts + i;
    assert_int_equal(cw__engine_feed(e, &ev), 0);
    ts += 2000;
  }
  const cw_lock_stats *s = find_lock(e, "L");
  assert_non_null(s);
  assert_int_equal(s->acquisitions, 1000);
  assert_int_equal(s->contended, 0);
  assert_int_equal(s->hold_total_ns, 500500);
  assert_int_equal(s->hold_max_ns, 1000);
  /* Within the histogram's 12.5% resolution. */
  assert_true(s->hold_p50_ns >= 500 && s->hold_p50_ns <= 563);
  assert_true(s->hold_p99_ns >= 990 && s->hold_p99_ns <= 1000);
  cw__engine_free(e);
}

/* An event naming a counter not processed yet waits for it. */
static void test_out_of_order(void **st) {
  (void)st;
  cw_engine *e = cw__engine_new(NULL);
  cw_actor_id a = tstd_actor(e, "svcA/t"), b = tstd_actor(e, "svcB/t");
  cw_sym x = tstd_sym(e, "x");
  cw_ae_join j = {a, 2};
  cw_aevent eb = mk(CW_AE_WRITE, b, x);
  eb.joins = &j;
  eb.njoins = 1;
  assert_int_equal(cw__engine_feed(e, &eb), 0);
  cw_aevent eb2 = mk(CW_AE_READ, b, x); /* program order: queued behind */
  assert_int_equal(cw__engine_feed(e, &eb2), 0);
  cw_summary s;
  cw__engine_summary(e, &s);
  assert_int_equal(s.pending_events, 2);
  assert_int_equal(s.events, 0);
  cw_aevent ea = mk(CW_AE_WRITE, a, x);
  assert_int_equal(cw__engine_feed(e, &ea), 0);
  ea = mk(CW_AE_OTHER, a, 0);
  assert_int_equal(cw__engine_feed(e, &ea), 0);
  cw__engine_summary(e, &s);
  assert_int_equal(s.pending_events, 0);
  assert_int_equal(s.events, 4);
  assert_int_equal(s.racy_variables, 0);
  assert_int_equal(s.forced_events, 0);
  cw__engine_free(e);
}

static void test_max_pending_and_flush(void **st) {
  (void)st;
  cw_engine_config cfg = {
      .size = sizeof(cfg), .keep_events = 0, .max_pending = 2};
  cw_engine *e = cw__engine_new(&cfg);
  cw_actor_id a = tstd_actor(e, "a"), b = tstd_actor(e, "b");
  cw_sym x = tstd_sym(e, "x");
  cw_ae_join j = {a, 100};
  for (int i = 0; i < 3; i++) {
    cw_aevent ev = mk(CW_AE_READ, b, x);
    ev.joins = &j;
    ev.njoins = 1;
    assert_int_equal(cw__engine_feed(e, &ev), 0);
  }
  cw_summary s;
  cw__engine_summary(e, &s);
  assert_int_equal(s.pending_events, 2);
  assert_int_equal(s.forced_events, 1);
  cw__engine_flush(e);
  cw__engine_summary(e, &s);
  assert_int_equal(s.pending_events, 0);
  assert_int_equal(s.forced_events, 3);
  assert_int_equal(s.events, 3);
  cw__engine_free(e);
}

static void test_producer_clocks(void **st) {
  (void)st;
  cw_engine *e = cw__engine_new(NULL);
  cw_actor_id a = tstd_actor(e, "a"), b = tstd_actor(e, "b");
  cw_sym x = tstd_sym(e, "x"), l = tstd_sym(e, "L");
  /* SDK events: own counters 10 and 11, lock edges in the clocks only. */
  cw_aevent ev = mk(CW_AE_WRITE, a, x);
  ev.counter = 10;
  ev.flags = CW_AEF_CLOCK_ONLY;
  assert_int_equal(cw__engine_feed(e, &ev), 0);
  ev = mk(CW_AE_LOCK_ACQUIRE, a, l);
  ev.counter = 11;
  ev.flags = CW_AEF_CLOCK_ONLY;
  assert_int_equal(cw__engine_feed(e, &ev), 0);
  ev = mk(CW_AE_LOCK_RELEASE, a, l);
  ev.counter = 12;
  ev.flags = CW_AEF_CLOCK_ONLY;
  assert_int_equal(cw__engine_feed(e, &ev), 0);
  /* b's acquire carries no join: the engine must not derive one. */
  ev = mk(CW_AE_LOCK_ACQUIRE, b, l);
  ev.counter = 1;
  ev.flags = CW_AEF_CLOCK_ONLY;
  assert_int_equal(cw__engine_feed(e, &ev), 0);
  ev = mk(CW_AE_READ, b, x);
  ev.counter = 2;
  ev.flags = CW_AEF_CLOCK_ONLY;
  assert_int_equal(cw__engine_feed(e, &ev), 0);
  cw_summary s;
  cw__engine_summary(e, &s);
  assert_int_equal(s.racy_variables, 1);
  /* With the join (a, 12) carried by the read, it is ordered. */
  cw_ae_join j = {a, 12};
  ev = mk(CW_AE_READ, b, tstd_sym(e, "y"));
  ev.counter = 3;
  ev.flags = CW_AEF_CLOCK_ONLY;
  assert_int_equal(cw__engine_feed(e, &ev), 0);
  cw_aevent w = mk(CW_AE_WRITE, a, tstd_sym(e, "z"));
  w.counter = 13;
  assert_int_equal(cw__engine_feed(e, &w), 0);
  ev = mk(CW_AE_READ, b, x);
  ev.counter = 4;
  ev.joins = &j;
  ev.njoins = 1;
  assert_int_equal(cw__engine_feed(e, &ev), 0);
  const cw_race_group *g;
  size_t ng = cw__engine_races(e, &g);
  assert_int_equal(ng, 1);
  assert_int_equal(g[0].count, 1); /* the joined read is ordered */
  cw__engine_free(e);
}

/* Two processes' single-statement UPDATEs of one database row: each
 * locks, reads, writes and unlocks the row inside the database, and each
 * process records its block when the statement returns, so the merged
 * order can interleave the blocks (B's acquire before A's release). The
 * row admits one holder (CW_AEF_SERIAL): B's acquire waits for A's
 * release and is ordered after it. Without the flag the blocks race. */
static void serial_blocks(int flags, size_t want_racy) {
  cw_engine *e = cw__engine_new(NULL);
  cw_actor_id a = tstd_actor(e, "p1/t"), b = tstd_actor(e, "p2/t");
  cw_sym row = tstd_sym(e, "db:pg:accounts:7"), x = tstd_sym(e, "bal");
  cw_aevent seq[6] = {
      mk(CW_AE_LOCK_ACQUIRE, a, row), mk(CW_AE_WRITE, a, x),
      mk(CW_AE_LOCK_ACQUIRE, b, row), mk(CW_AE_WRITE, b, x),
      mk(CW_AE_LOCK_RELEASE, a, row), mk(CW_AE_LOCK_RELEASE, b, row)};
  for (int i = 0; i < 6; i++) {
    if (seq[i].kind != CW_AE_WRITE)
      seq[i].flags = (uint32_t)flags;
    assert_int_equal(cw__engine_feed(e, &seq[i]), 0);
  }
  cw__engine_flush(e);
  cw_summary s;
  cw__engine_summary(e, &s);
  assert_int_equal(s.racy_variables, want_racy);
  assert_int_equal(s.invalid_events, 0);
  assert_int_equal(s.forced_events, 0);
  const cw_lock_stats *ls = find_lock(e, "db:pg:accounts:7");
  assert_non_null(ls);
  assert_int_equal(ls->acquisitions, 2);
  cw__engine_free(e);
}

static void test_serial_lock_waits_for_release(void **st) {
  (void)st;
  serial_blocks(CW_AEF_SERIAL, 0);
  serial_blocks(0, 1);
}

/* A join naming the source's latest event inherits what the source knew
 * (transitivity): B wrote x, released L; A took L, then C joined A. */
static void test_join_transitive(void **st) {
  (void)st;
  cw_engine *e = cw__engine_new(NULL);
  assert_int_equal(tstd_feed(e, "B|begin()|0\nA|begin()|0\nC|begin()|0\n"
                                "B|acq(L)|1\nB|w(x)|b\nB|rel(L)|2\n"
                                "A|acq(L)|3\nA|rel(L)|4\n"),
                   0);
  cw_actor_id a = tstd_actor(e, "A"), c = tstd_actor(e, "C");
  cw_ae_join j = {a, 3}; /* A's events: begin, acq, rel */
  cw_aevent ev = mk(CW_AE_READ, c, tstd_sym(e, "x"));
  ev.joins = &j;
  ev.njoins = 1;
  assert_int_equal(cw__engine_feed(e, &ev), 0);
  cw_summary s;
  cw__engine_summary(e, &s);
  assert_int_equal(s.racy_variables, 0);
  /* An older event of A gives only A's component: B's write races. */
  j.counter = 1;
  ev = mk(CW_AE_WRITE, tstd_actor(e, "D"), tstd_sym(e, "x"));
  ev.joins = &j;
  ev.njoins = 1;
  assert_int_equal(cw__engine_feed(e, &ev), 0);
  cw__engine_summary(e, &s);
  assert_int_equal(s.racy_variables, 1);
  cw__engine_free(e);
}

static void test_retire_gap_invalid(void **st) {
  (void)st;
  cw_engine *e = cw__engine_new(NULL);
  assert_int_equal(tstd_feed(e, "T1|begin()|0\nT1|w(x)|a\nT1|retire()|0\n"
                                "T2|begin()|0\nT2|w(x)|b\nT2|gap(7)|0\n"),
                   0);
  cw_summary s;
  cw__engine_summary(e, &s);
  assert_int_equal(s.racy_variables, 0); /* T1's history was dropped */
  assert_int_equal(s.retired_actors, 1);
  assert_int_equal(s.lost_events, 7);
  /* Events of a retired actor, unknown actors and releases of locks not
   * held are rejected and counted. */
  assert_int_equal(tstd_feed(e, "T1|w(x)|c\nT2|rel(L)|d\n"), 2);
  cw_aevent ev = mk(CW_AE_READ, 99, tstd_sym(e, "x"));
  assert_true(cw__engine_feed(e, &ev) < 0);
  cw__engine_summary(e, &s);
  assert_int_equal(s.invalid_events, 3);
  assert_int_equal(s.racy_variables, 0);
  cw__engine_free(e);
}

static void test_audit_trail(void **st) {
  (void)st;
  cw_engine_config cfg = {
      .size = sizeof(cfg), .keep_events = 1, .max_pending = 0};
  cw_engine *e = cw__engine_new(&cfg);
  assert_int_equal(tstd_feed(e, "T0|fork(T1)|1\nT0|fork(T2)|2\n"
                                "T1|acq(L)|3\nT1|w(x)|a\nT1|rel(L)|4\n"
                                "T2|acq(L)|5\nT2|r(x)|b\nT2|rel(L)|6\n"
                                "T2|w(x)|c\nT1|r(x)|d\n"),
                   0);
  const cw_audit_entry *au;
  size_t n = cw__engine_audit(e, tstd_sym(e, "x"), &au);
  assert_int_equal(n, 4);
  const char *locs[] = {"a", "b", "c", "d"};
  const int racy[] = {0, 0, 1, 1}; /* c (T2, no lock) vs d (T1) */
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(cw__engine_str(e, au[i].loc), locs[i]);
    assert_int_equal(au[i].racy, racy[i]);
  }
  assert_int_equal(au[0].nlocks, 1);
  assert_string_equal(cw__engine_str(e, au[0].locks[0]), "L");
  assert_int_equal(au[2].nlocks, 0);
  const cw_sym *vars;
  assert_int_equal(cw__engine_variables(e, &vars), 1);
  assert_string_equal(cw__engine_str(e, vars[0]), "x");
  cw__engine_free(e);
  /* Without keep_events there is no trail. */
  e = cw__engine_new(NULL);
  assert_int_equal(tstd_feed(e, "T1|w(x)|a\n"), 0);
  assert_int_equal(cw__engine_audit(e, tstd_sym(e, "x"), &au), 0);
  cw__engine_free(e);
}

static void test_critical_path(void **st) {
  (void)st;
  cw_engine_config cfg = {
      .size = sizeof(cfg), .keep_events = 1, .max_pending = 0};
  cw_engine *e = cw__engine_new(&cfg);
  /* Durations come from event indexes: a=3, b=1, c=4, d=1. b and c are
   * concurrent, so the longest chain is a -> c -> d = 8. */
  assert_int_equal(tstd_feed(e, "T0|sbeg(a)|1\nT0|r(x)|2\nT0|r(x)|3\n"
                                "T0|send(a)|4\nT0|fork(T1)|5\n"
                                "T0|fork(T2)|6\nT1|sbeg(b)|7\nT1|send(b)|8\n"
                                "T2|sbeg(c)|9\nT2|r(x)|10\nT2|r(x)|11\n"
                                "T2|r(x)|12\nT2|send(c)|13\n"
                                "T0|join(T1)|14\nT0|join(T2)|15\n"
                                "T0|sbeg(d)|16\nT0|send(d)|17\n"),
                   0);
  const cw_span_info *sp;
  uint64_t total = 0;
  size_t n = cw__engine_critical_path(e, &sp, &total);
  assert_int_equal(n, 3);
  assert_int_equal(total, 8);
  assert_string_equal(cw__engine_str(e, sp[0].name), "a");
  assert_string_equal(cw__engine_str(e, sp[1].name), "c");
  assert_string_equal(cw__engine_str(e, sp[2].name), "d");
  assert_int_equal(sp[1].duration_ns, 4);
  assert_int_equal(sp[1].begin_seq, 9);
  assert_int_equal(sp[1].end_seq, 13);
  cw__engine_free(e);
}

static void test_symbols_and_actors(void **st) {
  (void)st;
  cw_engine *e = cw__engine_new(NULL);
  cw_sym s1 = cw__engine_intern(e, "abc", 3);
  assert_int_not_equal(s1, 0);
  assert_int_equal(cw__engine_intern(e, "abcdef", 3), s1);
  assert_string_equal(cw__engine_str(e, s1), "abc");
  assert_string_equal(cw__engine_str(e, 0), "");
  char name[32];
  for (int i = 0; i < 5000; i++) {
    int n = snprintf(name, sizeof(name), "sym%d", i);
    cw__engine_intern(e, name, (size_t)n);
  }
  assert_string_equal(cw__engine_str(e, cw__engine_intern(e, "sym4321", 7)),
                      "sym4321");
  cw_sym svc = tstd_sym(e, "bank");
  cw_actor_id a = cw__engine_actor(e, tstd_sym(e, "bank#1/w"), svc);
  assert_int_equal(cw__engine_actor(e, tstd_sym(e, "bank#1/w"), 0), a);
  assert_int_equal(cw__engine_actor_service(e, a), svc);
  assert_string_equal(cw__engine_str(e, cw__engine_actor_name(e, a)),
                      "bank#1/w");
  assert_int_equal(cw__engine_actor(e, 0, 0), 0);
  cw__engine_free(e);
  cw__engine_free(NULL);
}

/* Thousands of variables, locks and keys: the entity tables grow while
 * references into them are live. */
static void test_many_entities(void **st) {
  (void)st;
  cw_engine *e = cw__engine_new(NULL);
  cw_actor_id a = tstd_actor(e, "a"), b = tstd_actor(e, "b");
  char name[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof(name), "L%d", i);
    cw_sym l = tstd_sym(e, name);
    snprintf(name, sizeof(name), "k%d", i);
    cw_sym k = tstd_sym(e, name);
    snprintf(name, sizeof(name), "v%d", i);
    cw_sym v = tstd_sym(e, name);
    cw_aevent ev = mk(CW_AE_LOCK_ACQUIRE, a, l);
    assert_int_equal(cw__engine_feed(e, &ev), 0);
    ev = mk(CW_AE_WRITE, a, v);
    assert_int_equal(cw__engine_feed(e, &ev), 0);
    ev = mk(CW_AE_LOCK_RELEASE, a, l);
    assert_int_equal(cw__engine_feed(e, &ev), 0);
    ev = mk(CW_AE_ANN_RELEASE, a, k);
    assert_int_equal(cw__engine_feed(e, &ev), 0);
    ev = mk(CW_AE_ANN_ACQUIRE, b, k);
    assert_int_equal(cw__engine_feed(e, &ev), 0);
    ev = mk(CW_AE_READ, b, v);
    assert_int_equal(cw__engine_feed(e, &ev), 0);
  }
  cw_summary s;
  cw__engine_summary(e, &s);
  assert_int_equal(s.events, 18000);
  assert_int_equal(s.racy_variables, 0);
  const cw_sym *vars;
  assert_int_equal(cw__engine_variables(e, &vars), 3000);
  const cw_lock_stats *ls;
  assert_int_equal(cw__engine_locks(e, &ls), 3000);
  cw__engine_free(e);
}

/* ---- Differential: wait-for cycles and contention ------------------------
 * A small scheduler simulates actors taking locks (both modes) with real
 * blocking: a request of an unavailable lock leaves the actor waiting until
 * the lock frees, and sometimes it gives up. The reference recomputes the
 * wait-for graph from the simulation's state at every blocked request and
 * counts the requests that close a cycle; it also sums acquisitions,
 * contended acquisitions, wait and hold times (event indexes) per lock. */

#define WNT 4
#define WNL 3

static uint64_t wrng;
static uint32_t wrnd(uint32_t n) {
  wrng ^= wrng << 13;
  wrng ^= wrng >> 7;
  wrng ^= wrng << 17;
  return (uint32_t)(wrng % n);
}

typedef struct wsim {
  int owner[WNL];       /* exclusive owner or -1 */
  int shared[WNL][WNT]; /* shared holders */
  int held[WNT][WNL];   /* 0 none, 1 exclusive, 2 shared */
  int want[WNT], want_sh[WNT], waiting[WNT];
  int64_t req_at[WNT], acq_at[WNT][WNL];
  int req_contended[WNT];
} wsim;

static int w_blocks(const wsim *s, int l, int t, int sh) {
  if (s->owner[l] >= 0 && s->owner[l] != t)
    return 1;
  if (!sh)
    for (int u = 0; u < WNT; u++)
      if (u != t && s->shared[l][u])
        return 1;
  return 0;
}

static int w_cycle(const wsim *s, int start, int cur, int *seen) {
  int l = s->want[cur];
  for (int u = 0; u < WNT; u++) {
    int holds = s->owner[l] == u || (!s->want_sh[cur] && s->shared[l][u]);
    if (u == cur || !holds)
      continue;
    if (u == start)
      return 1;
    if (!s->waiting[u] || seen[u])
      continue;
    seen[u] = 1;
    if (w_cycle(s, start, u, seen))
      return 1;
  }
  return 0;
}

static void test_differential_waitfor(void **st) {
  (void)st;
  wrng = 0x7A3C5F1D2B4E6A89ull;
  int traces = 1500, with_deadlock = 0, with_contention = 0;
  for (int it = 0; it < traces; it++) {
    cw_engine *e = cw__engine_new(NULL);
    cw_actor_id act[WNT];
    cw_sym lk[WNL];
    char name[16];
    for (int t = 0; t < WNT; t++) {
      snprintf(name, sizeof(name), "T%d", t);
      act[t] = tstd_actor(e, name);
    }
    for (int l = 0; l < WNL; l++) {
      snprintf(name, sizeof(name), "L%d", l);
      lk[l] = tstd_sym(e, name);
    }
    wsim s;
    memset(&s, 0, sizeof(s));
    memset(s.owner, -1, sizeof(s.owner));
    for (int t = 0; t < WNT; t++)
      s.want[t] = -1;
    uint64_t acqs[WNL] = {0}, cont[WNL] = {0}, wait[WNL] = {0};
    uint64_t hold[WNL] = {0}, deadlocks = 0;
    int64_t index = 0;
    int len = 10 + (int)wrnd(50);
    for (int guard = 0; index < len && guard < 400; guard++) {
      int t = (int)wrnd(WNT), c = (int)wrnd(100);
      cw_aevent x;
      memset(&x, 0, sizeof(x));
      x.actor = act[t];
      if (s.want[t] >= 0) {
        int l = s.want[t], sh = s.want_sh[t];
        if (w_blocks(&s, l, t, sh)) {
          if (c >= 5)
            continue;
          x.kind = CW_AE_OTHER; /* gives up waiting */
          s.want[t] = -1;
          s.waiting[t] = 0;
        } else {
          x.kind = CW_AE_LOCK_ACQUIRE;
          x.object = lk[l];
          x.flags = sh ? CW_AEF_SHARED : 0;
          index++;
          acqs[l]++;
          cont[l] += (uint64_t)s.req_contended[t];
          wait[l] += (uint64_t)(index - s.req_at[t]);
          s.acq_at[t][l] = index;
          s.held[t][l] = sh ? 2 : 1;
          if (sh)
            s.shared[l][t] = 1;
          else
            s.owner[l] = t;
          s.want[t] = -1;
          s.waiting[t] = 0;
          /* An outstanding request this acquire blocks now waits for t
           * (docs/detection.md 5), and its acquisition will count as
           * contended (6). */
          for (int w = 0; w < WNT; w++) {
            if (w == t || s.want[w] != l || s.waiting[w] ||
                !w_blocks(&s, l, w, s.want_sh[w]))
              continue;
            s.waiting[w] = 1;
            s.req_contended[w] = 1;
            int seen[WNT] = {0};
            seen[w] = 1;
            deadlocks += (uint64_t)w_cycle(&s, w, w, seen);
          }
          assert_int_equal(cw__engine_feed(e, &x), 0);
          continue;
        }
      } else if (c < 45) {
        int l = (int)wrnd(WNL), sh = wrnd(3) == 0;
        if (s.held[t][l])
          continue;
        x.kind = CW_AE_LOCK_REQUEST;
        x.object = lk[l];
        x.flags = sh ? CW_AEF_SHARED : 0;
        s.want[t] = l;
        s.want_sh[t] = sh;
        s.req_at[t] = index + 1;
        s.req_contended[t] = w_blocks(&s, l, t, sh);
        if (s.req_contended[t]) {
          s.waiting[t] = 1;
          int seen[WNT] = {0};
          seen[t] = 1;
          deadlocks += (uint64_t)w_cycle(&s, t, t, seen);
        }
      } else if (c < 90) {
        int l = (int)wrnd(WNL);
        if (!s.held[t][l])
          continue;
        x.kind = CW_AE_LOCK_RELEASE;
        x.object = lk[l];
        hold[l] += (uint64_t)(index + 1 - s.acq_at[t][l]);
        if (s.held[t][l] == 2)
          s.shared[l][t] = 0;
        else
          s.owner[l] = -1;
        s.held[t][l] = 0;
      } else {
        x.kind = CW_AE_WRITE;
        x.object = tstd_sym(e, "x");
      }
      index++;
      assert_int_equal(cw__engine_feed(e, &x), 0);
    }
    cw_summary sum;
    cw__engine_summary(e, &sum);
    if (sum.deadlocks != deadlocks)
      fail_msg("trace %d: engine %llu deadlocks, reference %llu", it,
               (unsigned long long)sum.deadlocks,
               (unsigned long long)deadlocks);
    with_deadlock += deadlocks > 0;
    const cw_lock_stats *ls;
    size_t nl = cw__engine_locks(e, &ls);
    for (int l = 0; l < WNL; l++) {
      const cw_lock_stats *q = NULL;
      for (size_t k = 0; k < nl; k++)
        if (ls[k].lock == lk[l])
          q = &ls[k];
      if (!q) {
        assert_int_equal(acqs[l], 0);
        continue;
      }
      assert_int_equal(q->acquisitions, acqs[l]);
      assert_int_equal(q->contended, cont[l]);
      assert_int_equal(q->wait_total_ns, wait[l]);
      assert_int_equal(q->hold_total_ns, hold[l]);
      with_contention += cont[l] > 0;
    }
    cw__engine_free(e);
  }
  assert_true(with_deadlock > traces / 50);
  assert_true(with_contention > traces / 10);
}

/* Garbage in (as a decoder of untrusted input might pass on): random kinds,
 * actors, symbols, flags, counters and joins. The engine must reject or
 * absorb all of it, and account for every event. */
static void test_garbage_events(void **st) {
  (void)st;
  wrng = 0x1234567887654321ull;
  cw_engine_config cfg = {
      .size = sizeof(cfg), .keep_events = 1, .max_pending = 64};
  cw_engine *e = cw__engine_new(&cfg);
  cw_sym syms[8];
  char name[16];
  for (int i = 0; i < 8; i++) {
    snprintf(name, sizeof(name), "s%d", i);
    syms[i] = tstd_sym(e, name);
    cw__engine_actor(e, syms[i], syms[(i + 1) % 8]);
  }
  uint64_t fed = 0;
  for (int i = 0; i < 20000; i++) {
    cw_aevent x;
    cw_ae_join j[3];
    memset(&x, 0, sizeof(x));
    x.kind = (cw_ae_kind)wrnd(20);
    x.flags = wrnd(64);
    x.actor = wrnd(11);
    x.object = wrnd(3) ? syms[wrnd(8)] : wrnd(40);
    x.child = wrnd(11);
    x.loc = syms[wrnd(8)];
    x.counter = wrnd(4) ? 0 : wrnd(50);
    x.ts_ns = (int64_t)wrnd(1000) - 100;
    x.aux = (int64_t)wrnd(10) - 3;
    x.njoins = wrnd(4) ? 0 : 1 + wrnd(3);
    for (uint32_t k = 0; k < x.njoins; k++) {
      j[k].actor = wrnd(12);
      j[k].counter = wrnd(60);
    }
    x.joins = x.njoins ? j : NULL;
    (void)cw__engine_feed(e, &x);
    fed++;
    if (i % 5000 == 4999) {
      const cw_race_group *g;
      const cw_deadlock *d;
      const cw_lock_stats *ls;
      const cw_span_info *sp;
      const cw_audit_entry *au;
      (void)cw__engine_races(e, &g);
      (void)cw__engine_potential_deadlocks(e, &d);
      (void)cw__engine_deadlocks(e, &d);
      (void)cw__engine_locks(e, &ls);
      (void)cw__engine_critical_path(e, &sp, NULL);
      (void)cw__engine_audit(e, syms[0], &au);
    }
  }
  cw__engine_flush(e);
  cw_summary s;
  cw__engine_summary(e, &s);
  assert_int_equal(s.pending_events, 0);
  assert_int_equal(s.events, fed);
  assert_true(s.invalid_events > 0);
  assert_true(s.invalid_events < fed);
  cw__engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_contention_event_index),
      cmocka_unit_test(test_contention_histogram),
      cmocka_unit_test(test_out_of_order),
      cmocka_unit_test(test_max_pending_and_flush),
      cmocka_unit_test(test_producer_clocks),
      cmocka_unit_test(test_serial_lock_waits_for_release),
      cmocka_unit_test(test_join_transitive),
      cmocka_unit_test(test_retire_gap_invalid),
      cmocka_unit_test(test_audit_trail),
      cmocka_unit_test(test_critical_path),
      cmocka_unit_test(test_symbols_and_actors),
      cmocka_unit_test(test_many_entities),
      cmocka_unit_test(test_differential_waitfor),
      cmocka_unit_test(test_garbage_events),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
