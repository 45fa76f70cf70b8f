/*
 * test_analysis_anomaly.c: anomalies (docs/detection.md section 10): slow
 * calls against their thresholds and their site's p99, lock waits (ended
 * by the lock or by giving up), timeouts, retry storms, HTTP site
 * normalisation, the summary count, and the same groups and order for any
 * arrival order of the same events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "test_analysis_util.h"

#define MS 1000000ll

typedef struct tev {
  const char *actor;
  cw_ae_kind kind;
  const char *object, *loc, *detail;
  int64_t ts;
  uint64_t dur;
} tev;

static cw_engine *mk(const cw_engine_config *cfg) {
  cw_engine *e = cw__engine_new(cfg);
  assert_non_null(e);
  return e;
}

/* Feeds one event; seq is the event's position in its actor's list. */
static void feed(cw_engine *e, const tev *t, uint64_t seq) {
  cw_aevent ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = t->kind;
  ev.actor = cw__engine_actor(e, tstd_sym(e, t->actor), tstd_sym(e, "svc"));
  ev.object = t->object ? tstd_sym(e, t->object) : 0;
  ev.loc = t->loc ? tstd_sym(e, t->loc) : 0;
  ev.detail = t->detail ? tstd_sym(e, t->detail) : 0;
  ev.ts_ns = t->ts;
  ev.duration_ns = t->dur;
  ev.seq = seq;
  assert_int_equal(cw__engine_feed(e, &ev), 0);
}

static void feed_all(cw_engine *e, const tev *t, size_t n) {
  for (size_t i = 0; i < n; i++)
    feed(e, &t[i], i + 1);
}

static const char *S(const cw_engine *e, cw_sym s) {
  return cw__engine_str(e, s);
}

static size_t anomalies(cw_engine *e, const cw_anomaly **out) {
  size_t n = cw__engine_anomalies(e, out);
  cw_summary sum;
  cw__engine_summary(e, &sum);
  assert_int_equal(sum.anomalies, n);
  assert_int_equal(sum.invalid_events, 0);
  return n;
}

static void test_slow_db(void **state) {
  (void)state;
  cw_engine *e = mk(NULL);
  const tev t[] = {
      {"a", CW_AE_DB_QUERY, "bank.db", "acc.c:10", "SELECT 1", 1 * MS, 0},
      {"a", CW_AE_DB_RESULT, "bank.db", "acc.c:10", NULL, 11 * MS, 10 * MS},
      {"a", CW_AE_DB_QUERY, "bank.db", "acc.c:20", "UPDATE x", 20 * MS, 0},
      {"a", CW_AE_DB_RESULT, "bank.db", "acc.c:20", NULL, 620 * MS, 600 * MS},
      {"a", CW_AE_DB_QUERY, "bank.db", "acc.c:20", "UPDATE y", 700 * MS, 0},
      {"a", CW_AE_DB_RESULT, "bank.db", "acc.c:20", NULL, 720 * MS, 20 * MS},
      /* Exactly the threshold counts. */
      {"a", CW_AE_DB_QUERY, "bank.db", "acc.c:20", "UPDATE z", 800 * MS, 0},
      {"a", CW_AE_DB_RESULT, "bank.db", "acc.c:20", NULL, 1300 * MS, 500 * MS},
  };
  feed_all(e, t, sizeof(t) / sizeof(t[0]));
  const cw_anomaly *a;
  assert_int_equal(anomalies(e, &a), 1);
  assert_int_equal(a[0].kind, CW_ANOM_SLOW_DB);
  assert_string_equal(cw__anomaly_kind_name(a[0].kind), "slow_db");
  assert_string_equal(S(e, a[0].site), "acc.c:20");
  assert_string_equal(S(e, a[0].object), "bank.db");
  assert_string_equal(S(e, a[0].what), "UPDATE x");
  assert_string_equal(S(e, a[0].service), "svc");
  assert_int_equal(a[0].count, 2);
  assert_int_equal(a[0].calls, 3);
  assert_int_equal(a[0].threshold_ns, 500 * MS);
  assert_int_equal(a[0].max_ns, 600 * MS);
  assert_int_equal(a[0].p50_ns, 500 * MS);
  assert_int_equal(a[0].total_ns, 1120 * MS);
  assert_int_equal(a[0].first_duration_ns, 600 * MS);
  assert_int_equal(a[0].first_ts_ns, 620 * MS);
  assert_int_equal(a[0].first_seq, 4);
  assert_true(a[0].systematic); /* 3 calls: p99 is the max */
  cw__engine_free(e);

  /* A higher threshold: nothing; the site's p99 does not count alone. */
  cw_engine_config cfg = {.size = sizeof(cfg), .slow_db_ns = 601 * MS};
  e = mk(&cfg);
  feed_all(e, t, sizeof(t) / sizeof(t[0]));
  assert_int_equal(anomalies(e, &a), 0);
  cw_engine_config got;
  cw__engine_anomaly_config(e, &got);
  assert_int_equal(got.slow_db_ns, 601 * MS);
  assert_int_equal(got.lock_wait_ns, CW_ANOM_DEFAULT_LOCK_WAIT_NS);
  cw__engine_free(e);
}

/* One slow call among 200 fast ones: reported, but not systematic. */
static void test_outlier_not_systematic(void **state) {
  (void)state;
  cw_engine *e = mk(NULL);
  for (int i = 0; i < 200; i++) {
    tev r = {"a", CW_AE_DB_RESULT, "db", "q.c:1", NULL, (i + 1) * MS, MS};
    if (i == 100)
      r.dur = 900 * MS;
    feed(e, &r, (uint64_t)i + 1);
  }
  const cw_anomaly *a;
  assert_int_equal(anomalies(e, &a), 1);
  assert_int_equal(a[0].count, 1);
  assert_int_equal(a[0].calls, 200);
  assert_false(a[0].systematic);
  assert_true(a[0].p99_ns < 2 * MS);
  assert_int_equal(a[0].max_ns, 900 * MS);
  cw__engine_free(e);
}

static void test_lock_waits(void **state) {
  (void)state;
  cw_engine *e = mk(NULL);
  const tev h[] = {{"h", CW_AE_LOCK_ACQUIRE, "acct:1", "h.c:1", NULL, 1, 0}};
  feed_all(e, h, 1);
  const tev w[] = {
      /* Waits 700 ms, then gets the lock. */
      {"w1", CW_AE_LOCK_REQUEST, "acct:1", "w.c:5", NULL, 10 * MS, 0},
      {"w1", CW_AE_LOCK_ACQUIRE, "acct:1", "w.c:5", NULL, 710 * MS, 0},
      {"w1", CW_AE_LOCK_RELEASE, "acct:1", "w.c:6", NULL, 711 * MS, 0},
  };
  const tev t[] = {
      /* Gives up after 600 ms (a timed lock). */
      {"w2", CW_AE_LOCK_REQUEST, "acct:1", "w.c:5", NULL, 20 * MS, 0},
      {"w2", CW_AE_LOCK_TIMEOUT, "acct:1", "w.c:5", NULL, 620 * MS, 0},
      /* A short wait at another site. */
      {"w2", CW_AE_LOCK_REQUEST, "acct:1", "w.c:9", NULL, 900 * MS, 0},
      {"w2", CW_AE_LOCK_ACQUIRE, "acct:1", "w.c:9", NULL, 901 * MS, 0},
  };
  feed(e, &t[0], 1);
  const tev rel = {"h",  CW_AE_LOCK_RELEASE, "acct:1", "h.c:2",
                   NULL, 700 * MS,           0};
  feed_all(e, w, 1);
  feed(e, &t[1], 2);
  feed(e, &rel, 2);
  feed(e, &w[1], 2);
  feed(e, &w[2], 3);
  feed(e, &t[2], 3);
  feed(e, &t[3], 4);
  const cw_anomaly *a;
  assert_int_equal(anomalies(e, &a), 1);
  assert_int_equal(a[0].kind, CW_ANOM_LOCK_WAIT);
  assert_string_equal(S(e, a[0].site), "w.c:5");
  assert_string_equal(S(e, a[0].object), "acct:1");
  assert_int_equal(a[0].count, 2);
  assert_int_equal(a[0].calls, 2);
  assert_int_equal(a[0].max_ns, 700 * MS);
  /* First occurrence: the earliest request (w1 at 10 ms). */
  assert_int_equal(a[0].first_ts_ns, 10 * MS);
  assert_int_equal(a[0].first_duration_ns, 700 * MS);
  assert_string_equal(S(e, cw__engine_actor_name(e, a[0].first_actor)), "w1");
  cw__engine_free(e);
}

static void test_timeouts_and_spans(void **state) {
  (void)state;
  cw_engine *e = mk(NULL);
  const tev t[] = {
      {"a", CW_AE_TIMEOUT, "accounts:lock", "t.c:3", NULL, 5 * MS, 1000 * MS},
      {"a", CW_AE_TIMEOUT, "accounts:lock", "t.c:3", NULL, 9 * MS, 1 * MS},
      {"a", CW_AE_SPAN_BEGIN, "transfer", "t.c:4", NULL, 1 * MS, 0},
      {"a", CW_AE_SPAN_END, "transfer", "t.c:8", NULL, 3 * MS, 2000 * MS},
      {"a", CW_AE_SPAN_BEGIN, "fast", "t.c:4", NULL, 3 * MS, 0},
      {"a", CW_AE_SPAN_END, "fast", "t.c:8", NULL, 4 * MS, 1 * MS},
  };
  feed_all(e, t, sizeof(t) / sizeof(t[0]));
  const cw_anomaly *a;
  assert_int_equal(anomalies(e, &a), 2);
  /* Ordered by first occurrence: the span (3 ms) before the timeout. */
  assert_int_equal(a[0].kind, CW_ANOM_SLOW_SPAN);
  assert_string_equal(S(e, a[0].site), "transfer");
  assert_string_equal(S(e, a[0].first_loc), "t.c:8");
  assert_int_equal(a[1].kind, CW_ANOM_TIMEOUT);
  assert_string_equal(S(e, a[1].site), "accounts:lock");
  assert_int_equal(a[1].count, 2);
  assert_int_equal(a[1].threshold_ns, 0);
  assert_int_equal(a[1].max_ns, 1000 * MS);
  cw__engine_free(e);
}

static void test_retry_storm(void **state) {
  (void)state;
  cw_engine *e = mk(NULL);
  /* Backoff: 20 retries 200 ms apart: at most 6 in any 1 s window. */
  for (int i = 0; i < 20; i++) {
    tev r = {"a", CW_AE_RETRY, "slow-site", "r.c:1", NULL, i * 200 * MS, 0};
    feed(e, &r, (uint64_t)i + 1);
  }
  const cw_anomaly *a;
  assert_int_equal(anomalies(e, &a), 0);
  /* Nine quick ones: still no storm; the tenth within 1 s makes one. */
  for (int i = 0; i < 9; i++) {
    tev r = {"b", CW_AE_RETRY, "hot", "r.c:2", NULL, 10000 * MS + i * MS, 0};
    feed(e, &r, (uint64_t)i + 1);
  }
  assert_int_equal(anomalies(e, &a), 0);
  tev last = {"c", CW_AE_RETRY, "hot", "r.c:3", NULL, 10999 * MS, 0};
  feed(e, &last, 1);
  assert_int_equal(anomalies(e, &a), 1);
  assert_int_equal(a[0].kind, CW_ANOM_RETRY_STORM);
  assert_string_equal(S(e, a[0].site), "hot");
  assert_int_equal(a[0].peak, 10);
  assert_int_equal(a[0].count, 10);
  assert_int_equal(a[0].window_ns, 1000 * MS);
  assert_int_equal(a[0].first_ts_ns, 10000 * MS);
  /* A retry that arrives late but is older lands in the same window. */
  tev early = {"d", CW_AE_RETRY, "hot", "r.c:4", NULL, 9999 * MS, 0};
  feed(e, &early, 1);
  assert_int_equal(anomalies(e, &a), 1);
  assert_int_equal(a[0].peak, 11);
  assert_int_equal(a[0].first_ts_ns, 9999 * MS);
  cw__engine_free(e);
}

static void test_http_sites(void **state) {
  (void)state;
  cw_engine *e = mk(NULL);
  const tev t[] = {
      {"c", CW_AE_HTTP_SEND, NULL, NULL,
       "POST http://127.0.0.1:7001/accounts/17/lock?x=1", 1 * MS, 0},
      {"c", CW_AE_HTTP_RESPONSE, NULL, NULL, "POST http://127.0.0.1:7001/x",
       1500 * MS, 1499 * MS},
      {"c", CW_AE_HTTP_SEND, NULL, NULL,
       "POST http://127.0.0.1:7001/accounts/18/lock", 1600 * MS, 0},
      {"c", CW_AE_HTTP_RESPONSE, NULL, NULL, NULL, 2700 * MS, 1100 * MS},
      {"s", CW_AE_HTTP_RECV, NULL, NULL,
       "GET /tx/0123456789abcdef0123456789abcdef", 2 * MS, 0},
      {"s", CW_AE_HTTP_RESPOND, NULL, NULL, NULL, 1300 * MS, 1298 * MS},
  };
  feed_all(e, t, sizeof(t) / sizeof(t[0]));
  const cw_anomaly *a;
  assert_int_equal(anomalies(e, &a), 2);
  assert_int_equal(a[0].kind, CW_ANOM_SLOW_HTTP_SERVER);
  assert_string_equal(S(e, a[0].site), "GET /tx/:id");
  assert_int_equal(a[1].kind, CW_ANOM_SLOW_HTTP);
  assert_string_equal(S(e, a[1].site),
                      "POST http://127.0.0.1:7001/accounts/:id/lock");
  assert_string_equal(S(e, a[1].what),
                      "POST http://127.0.0.1:7001/accounts/17/lock?x=1");
  assert_int_equal(a[1].count, 2);
  cw__engine_free(e);
}

/* The same events in different arrival orders give the same groups in the
 * same order with the same examples. */
static void test_arrival_order(void **state) {
  (void)state;
  const tev per[3][4] = {
      {{"x", CW_AE_DB_RESULT, "db", "a.c:1", NULL, 100 * MS, 700 * MS},
       {"x", CW_AE_TIMEOUT, "site-t", "a.c:2", NULL, 300 * MS, 5 * MS},
       {"x", CW_AE_RETRY, "site-r", "a.c:3", NULL, 400 * MS, 0},
       {"x", CW_AE_RETRY, "site-r", "a.c:3", NULL, 401 * MS, 0}},
      {{"y", CW_AE_DB_RESULT, "db", "a.c:1", NULL, 100 * MS, 800 * MS},
       {"y", CW_AE_TIMEOUT, "site-t", "a.c:2", NULL, 250 * MS, 5 * MS},
       {"y", CW_AE_RETRY, "site-r", "a.c:3", NULL, 400 * MS, 0},
       {"y", CW_AE_SPAN_END, "sp", "a.c:4", NULL, 50 * MS, 3000 * MS}},
      {{"z", CW_AE_RETRY, "site-r", "a.c:3", NULL, 399 * MS, 0},
       {"z", CW_AE_DB_RESULT, "db", "a.c:1", NULL, 90 * MS, 1 * MS},
       {"z", CW_AE_TIMEOUT, "site-t", "a.c:2", NULL, 250 * MS, 5 * MS},
       {"z", CW_AE_RETRY, "site-r", "a.c:3", NULL, 402 * MS, 0}}};
  const int orders[3][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}};
  char first[3][512];
  cw_engine_config cfg = {.size = sizeof(cfg), .retry_storm = 5};
  for (int o = 0; o < 3; o++) {
    cw_engine *e = mk(&cfg);
    /* Interleave: round-robin over actors in this order, or all of one
     * actor first. */
    if (o == 2) {
      for (int k = 0; k < 3; k++)
        feed_all(e, per[orders[o][k]], 4);
    } else {
      for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++)
          feed(e, &per[orders[o][k]][i], (uint64_t)i + 1);
    }
    const cw_anomaly *a;
    size_t n = anomalies(e, &a);
    assert_int_equal(n, 4);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
      int w = snprintf(
          first[o] + len, sizeof(first[o]) - len, "%s %s %s %llu %llu %lld|",
          cw__anomaly_kind_name(a[i].kind), S(e, a[i].site),
          S(e, cw__engine_actor_name(e, a[i].first_actor)),
          (unsigned long long)a[i].count, (unsigned long long)a[i].peak,
          (long long)a[i].first_ts_ns);
      assert_true(w > 0);
      len += (size_t)w;
    }
    cw__engine_free(e);
  }
  /* Span (50 ms), DB (x and y at 100 ms: actor name x first), timeout
   * (y and z at 250 ms: y first), retry storm (5 retries from 399 ms). */
  assert_string_equal(first[0], "slow_span sp y 1 0 50000000|"
                                "slow_db a.c:1 x 2 0 100000000|"
                                "timeout site-t y 3 0 250000000|"
                                "retry_storm site-r z 5 5 399000000|");
  assert_string_equal(first[1], first[0]);
  assert_string_equal(first[2], first[0]);
}

static void test_kind_names(void **state) {
  (void)state;
  for (unsigned k = 1; k < CW_ANOM_KIND_MAX_; k++)
    assert_int_equal(
        cw__anomaly_kind_parse(cw__anomaly_kind_name((cw_anomaly_kind)k)), k);
  assert_int_equal(cw__anomaly_kind_parse("nope"), 0);
  assert_string_equal(cw__anomaly_kind_name((cw_anomaly_kind)99), "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slow_db),
      cmocka_unit_test(test_outlier_not_systematic),
      cmocka_unit_test(test_lock_waits),
      cmocka_unit_test(test_timeouts_and_spans),
      cmocka_unit_test(test_retry_storm),
      cmocka_unit_test(test_http_sites),
      cmocka_unit_test(test_arrival_order),
      cmocka_unit_test(test_kind_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
