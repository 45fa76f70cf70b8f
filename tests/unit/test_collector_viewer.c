/*
 * The collector routes the viewer needs, against real causeway-server
 * processes: GET /v1/timeline (events kept by default, window, actor and
 * service filters, paging, buckets for wide windows, bad parameters),
 * the --event-memory bound (oldest evicted; 0 turns the timeline off),
 * POST /v1/marks with ?since=MARK on the findings routes, stream tokens for
 * /v1/stream with API keys, and the viewer files' security headers.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cwt_spec.h"
#include "testlib.h"

static char url[512];

static const char *U(const tl_server *s, const char *path) {
  snprintf(url, sizeof url, "%s%s", s->url, path);
  return url;
}

static void stop(tl_server *s) {
  int st = tl_server_stop(s, SIGTERM);
  tl_rmdir(s->data_dir);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Posts `n` writes of variable `var` by actor `actor` of instance `inst`
 * (its own stream `seed`), starting at seq `first`. */
static void post(const tl_server *s, const char *const *hdr, uint64_t seed,
                 const char *inst, const char *actor, const char *var,
                 uint32_t n, uint64_t first) {
  tl_batch_spec b;
  memset(&b, 0, sizeof b);
  tl_stream_id(b.stream_id, seed);
  b.instance = inst;
  b.actor = actor;
  b.var = var;
  b.nevents = n;
  b.first_counter = 1;
  b.first_seq = first;
  size_t len;
  uint8_t *body = tl_native_batch(&b, 1, &len);
  assert_non_null(body);
  const char *h[4] = {"Content-Encoding: lz4", NULL, NULL, NULL};
  for (int i = 0; hdr && hdr[i] && i < 2; i++)
    h[i + 1] = hdr[i];
  assert_int_equal(tl_http("POST", U(s, "/v1/events"), h, body, len, NULL),
                   200);
  free(body);
}

static json_t *get_json(const tl_server *s, const char *path, int want) {
  char *r = NULL;
  int st = tl_http("GET", U(s, path), NULL, NULL, 0, &r);
  if (st != want)
    fprintf(stderr, "GET %s: %d %s\n", path, st, r ? r : "");
  assert_int_equal(st, want);
  json_t *v = json_loads(r, 0, NULL);
  free(r);
  assert_non_null(v);
  return v;
}

static long long jint(json_t *v, const char *k) {
  json_t *x = json_object_get(v, k);
  return json_is_integer(x) ? (long long)json_integer_value(x) : -1;
}

static void test_timeline(void **state) {
  (void)state;
  tl_server s;
  assert_int_equal(tl_server_start(&s, NULL, NULL), 0);
  post(&s, NULL, 1, "i1", "a", "x", 300, 0);
  post(&s, NULL, 2, "i2", "b", "y", 100, 1000);
  /* Everything: 400 events, more than a page of 100: buckets. */
  json_t *v = get_json(&s, "/v1/timeline?sync=1&limit=100&buckets=10", 200);
  assert_true(json_is_true(json_object_get(v, "enabled")));
  assert_int_equal(jint(v, "kept"), 400);
  assert_int_equal(jint(v, "total"), 400);
  assert_string_equal(json_string_value(json_object_get(v, "mode")), "buckets");
  json_t *lanes = json_object_get(v, "lanes");
  assert_int_equal(json_array_size(lanes), 2);
  long long sum = 0;
  for (size_t l = 0; l < 2; l++) {
    json_t *acc = json_object_get(json_array_get(lanes, l), "access");
    assert_int_equal(json_array_size(acc), 10);
    for (size_t b = 0; b < 10; b++)
      sum += (long long)json_integer_value(json_array_get(acc, b));
  }
  assert_int_equal(sum, 400); /* every write counted in one bucket */
  json_decref(v);
  /* One actor and a window: events, with paging. Event i of svc#i1/a has
   * wall time 1700000000000000000 + i * 1000. */
  v = get_json(&s,
               "/v1/timeline?actor=svc%23i1%2Fa&from=1700000000000010000"
               "&to=1700000000000019000&limit=4&offset=2&mode=events",
               200);
  assert_int_equal(jint(v, "total"), 10);
  json_t *items = json_object_get(v, "items");
  assert_int_equal(json_array_size(items), 4);
  json_t *e0 = json_array_get(items, 0);
  assert_string_equal(json_string_value(json_object_get(e0, "kind")), "write");
  assert_string_equal(json_string_value(json_object_get(e0, "actor")),
                      "svc#i1/a");
  assert_string_equal(json_string_value(json_object_get(e0, "object")), "x");
  assert_int_equal(jint(e0, "seq"), 12);
  assert_true(json_is_array(json_object_get(e0, "locks")));
  json_decref(v);
  /* A service filter, an unknown actor, highlights. */
  v = get_json(&s, "/v1/timeline?service=nope", 200);
  assert_int_equal(jint(v, "total"), 0);
  json_decref(v);
  v = get_json(&s, "/v1/timeline?actor=svc%23i2%2Fb&highlight=1005,7", 200);
  assert_int_equal(jint(v, "total"), 100);
  assert_string_equal(json_string_value(json_object_get(v, "mode")), "events");
  json_t *hl = json_object_get(v, "highlights");
  assert_int_equal(json_array_size(hl), 1); /* seq 7 is a's, filtered out */
  assert_int_equal(jint(json_array_get(hl, 0), "seq"), 1005);
  json_decref(v);
  /* Bad parameters get 400 with the parameter's name. */
  const char *bad[] = {
      "/v1/timeline?from=abc",      "/v1/timeline?limit=0",
      "/v1/timeline?buckets=99999", "/v1/timeline?mode=x",
      "/v1/timeline?from=10&to=5",  "/v1/timeline?highlight=1,x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = get_json(&s, bad[i], 400);
    assert_non_null(strstr(json_string_value(json_object_get(v, "error")),
                           "bad value for"));
    json_decref(v);
  }
  stop(&s);
}

static void test_event_memory(void **state) {
  (void)state;
  tl_server s;
  const char *small[] = {"--event-memory", "8K", NULL};
  assert_int_equal(tl_server_start(&s, NULL, small), 0);
  post(&s, NULL, 1, "i1", "a", "x", 1000, 0);
  json_t *v = get_json(&s, "/v1/timeline?sync=1&mode=buckets", 200);
  long long kept = jint(v, "kept"), evicted = jint(v, "evicted");
  assert_true(kept > 0 && kept < 1000);
  assert_int_equal(kept + evicted, 1000);
  assert_int_equal(jint(v, "total"), kept);
  json_decref(v);
  /* The newest are kept: the last event is there, the first is not. */
  v = get_json(&s, "/v1/timeline?highlight=999,0", 200);
  json_t *hl = json_object_get(v, "highlights");
  assert_int_equal(json_array_size(hl), 1);
  assert_int_equal(jint(json_array_get(hl, 0), "seq"), 999);
  json_decref(v);
  stop(&s);
  const char *off[] = {"--event-memory", "0", NULL};
  assert_int_equal(tl_server_start(&s, NULL, off), 0);
  post(&s, NULL, 1, "i1", "a", "x", 10, 0);
  v = get_json(&s, "/v1/timeline?sync=1", 200);
  assert_true(json_is_false(json_object_get(v, "enabled")));
  assert_int_equal(jint(v, "kept"), 0);
  json_decref(v);
  stop(&s);
}

/* One Raceway event as JSON (thread t of service rw, instance i1). */
static int rw_event(char *buf, size_t cap, int id, const char *ts,
                    const char *thread, const char *var, const char *access,
                    const char *loc) {
  return snprintf(
      buf, cap,
      "{\"id\":\"00000000-0000-4000-8000-%012d\",\"trace_id\":null,"
      "\"parent_id\":null,\"timestamp\":\"%s\",\"kind\":{\"StateChange\":"
      "{\"variable\":\"%s\",\"old_value\":null,\"new_value\":%d,"
      "\"location\":\"%s\",\"access_type\":\"%s\"}},\"metadata\":"
      "{\"thread_id\":\"%s\",\"process_id\":1,\"service_name\":\"rw\","
      "\"environment\":\"t\",\"tags\":{},\"duration_ns\":null,"
      "\"instance_id\":\"i1\"},\"causality_vector\":[],\"lock_set\":[]}",
      id, ts, var, id, loc, access, thread);
}

static void post_raceway(const tl_server *s, const char *body) {
  const char *h[] = {"Content-Type: application/json", NULL};
  assert_int_equal(
      tl_http("POST", U(s, "/events"), h, body, strlen(body), NULL), 200);
}

/* Raceway input: the seq numbers the race list reports are the timeline's
 * (events are fed in the merged order of docs/detection.md 2.3, not in
 * arrival order, and seqs go on across POSTs), so &highlight=SEQ,SEQ marks
 * exactly the racing accesses. */
static void test_raceway_highlight(void **state) {
  (void)state;
  tl_server s;
  assert_int_equal(tl_server_start(&s, NULL, NULL), 0);
  char e1[1024], e2[1024], e3[1024], body[4096];
  /* First POST: two unrelated events, newest first in the input. */
  rw_event(e1, sizeof e1, 1, "2025-11-04T10:15:30.000300+00:00", "a", "other",
           "Write", "x.py:1");
  rw_event(e2, sizeof e2, 2, "2025-11-04T10:15:30.000100+00:00", "a", "other",
           "Read", "x.py:2");
  snprintf(body, sizeof body, "{\"events\":[%s,%s]}", e1, e2);
  post_raceway(&s, body);
  /* Second POST: b's write is listed before a's read but happened after. */
  rw_event(e1, sizeof e1, 3, "2025-11-04T10:15:31.000200+00:00", "b", "bal",
           "Write", "app.py:9");
  rw_event(e2, sizeof e2, 4, "2025-11-04T10:15:31.000100+00:00", "a", "bal",
           "Read", "app.py:4");
  rw_event(e3, sizeof e3, 5, "2025-11-04T10:15:31.000050+00:00", "a", "zzz",
           "Read", "app.py:3");
  snprintf(body, sizeof body, "[%s,%s,%s]", e1, e2, e3);
  post_raceway(&s, body);
  json_t *r = get_json(&s, "/v1/races?sync=1&variable=bal", 200);
  assert_int_equal(jint(r, "total"), 1);
  json_t *race = json_array_get(json_object_get(r, "items"), 0);
  json_t *sides[2] = {json_object_get(race, "first"),
                      json_object_get(race, "second")};
  long long seqs[2] = {jint(sides[0], "seq"), jint(sides[1], "seq")};
  /* fed order: each body in the SDK's buffer order, bodies by time:
   * other@.3, other@.1, bal write, bal read, zzz */
  assert_true(seqs[0] >= 3 && seqs[1] >= 3 && seqs[0] != seqs[1]);
  char path[256];
  snprintf(path, sizeof path, "/v1/timeline?mode=events&highlight=%lld,%lld",
           seqs[0], seqs[1]);
  json_t *v = get_json(&s, path, 200);
  json_t *hl = json_object_get(v, "highlights");
  assert_int_equal(json_array_size(hl), 2);
  /* Each highlighted seq is the race side's access: same actor, and the
   * event with that seq is an access of bal at that side's location. */
  json_t *items = json_object_get(v, "items");
  for (int k = 0; k < 2; k++) {
    int found = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
      json_t *ev = json_array_get(items, i);
      if (jint(ev, "seq") != seqs[k])
        continue;
      found++;
      assert_string_equal(
          json_string_value(json_object_get(ev, "actor")),
          json_string_value(json_object_get(sides[k], "actor")));
      assert_string_equal(json_string_value(json_object_get(ev, "object")),
                          "bal");
      assert_string_equal(
          json_string_value(json_object_get(ev, "location")),
          json_string_value(json_object_get(sides[k], "location")));
      assert_true(jint(ev, "counter") > 0);
    }
    assert_int_equal(found, 1);
  }
  json_decref(v);
  json_decref(r);
  /* The audit trail from the kept events marks both racing accesses: the
   * later one is fed to the engine before it is kept (Raceway input). */
  v = get_json(&s, "/v1/audit?variable=bal", 200);
  items = json_object_get(v, "items");
  assert_int_equal(json_array_size(items), 2);
  for (size_t i = 0; i < 2; i++)
    assert_true(
        json_is_true(json_object_get(json_array_get(items, i), "racy")));
  json_decref(v);
  stop(&s);
}

/* Posts a native trace written as a cwt_spec text (tests/cli/cwt_spec.h). */
static void post_spec(const tl_server *s, const char *spec) {
  char err[256];
  size_t len;
  uint8_t *body = cwt_from_spec(spec, strlen(spec), &len, err, sizeof err);
  if (!body)
    fprintf(stderr, "spec: %s\n", err);
  assert_non_null(body);
  const char *h[] = {"Content-Encoding: lz4", NULL};
  assert_int_equal(tl_http("POST", U(s, "/v1/events"), h, body, len, NULL),
                   200);
  free(body);
}

/* x is written once at init (a), then b and c synchronise on L (both know
 * the init write), then b writes x three times at b.c:1 while c writes it
 * once at c.c:1, unordered: c's write races with b's last, and with the two
 * before it at the same site (same key, counters above what c knew of b);
 * then b writes again, racing with c's write (one location pair, two racing
 * pairs). Finally b and c synchronise again and c reads x, ordered after
 * every write. */
static const char race_spec[] =
    "batch svc i1 1\n"
    "ev 1 svc#i1/a 1 write x @init.c:1 val=0\n"
    "ev 2 svc#i1/a 2 lock_request L @a.c:2\n"
    "ev 3 svc#i1/a 3 lock_acquired L @a.c:2\n"
    "ev 4 svc#i1/a 4 lock_release L @a.c:3\n"
    "ev 5 svc#i1/b 1 lock_request L @b.c:2\n"
    "ev 6 svc#i1/b 2 lock_acquired L @b.c:2 j=svc#i1/a:4\n"
    "ev 7 svc#i1/b 3 lock_release L @b.c:3\n"
    "ev 8 svc#i1/c 1 lock_request L @c.c:2\n"
    "ev 9 svc#i1/c 2 lock_acquired L @c.c:2 j=svc#i1/b:3,svc#i1/a:4\n"
    "ev 10 svc#i1/c 3 lock_release L @c.c:3\n"
    "ev 11 svc#i1/b 4 write x @b.c:1 val=1\n"
    "ev 12 svc#i1/b 5 write x @b.c:1 val=2\n"
    "ev 13 svc#i1/b 6 write x @b.c:1 val=3\n"
    "ev 14 svc#i1/c 4 write x @c.c:1 val=4\n"
    "ev 15 svc#i1/b 7 write x @b.c:1 val=5\n"
    "ev 16 svc#i1/b 8 lock_request L @b.c:2\n"
    "ev 17 svc#i1/b 9 lock_acquired L @b.c:2 j=svc#i1/c:3\n"
    "ev 18 svc#i1/b 10 lock_release L @b.c:3\n"
    "ev 19 svc#i1/c 5 lock_request L @c.c:2\n"
    "ev 20 svc#i1/c 6 lock_acquired L @c.c:2 j=svc#i1/b:10\n"
    "ev 21 svc#i1/c 7 read x @c.c:9\n"
    "ev 22 svc#i1/c 8 lock_release L @c.c:3\n";

/* The audit trail's racy marks of x by seq (1..21), from a server. */
static void audit_marks(const tl_server *s, int racy[32], const char *source) {
  json_t *v = get_json(s, "/v1/audit?sync=1&variable=x", 200);
  json_t *src = json_object_get(v, "source");
  if (source)
    assert_string_equal(json_string_value(src), source);
  else
    assert_null(src); /* --keep-events: the engine's own trail */
  json_t *items = json_object_get(v, "items");
  assert_int_equal(json_array_size(items), 7);
  memset(racy, 0, 32 * sizeof racy[0]);
  for (size_t i = 0; i < json_array_size(items); i++) {
    json_t *a = json_array_get(items, i);
    long long seq = jint(a, "seq");
    assert_true(seq > 0 && seq < 32);
    racy[seq] = json_is_true(json_object_get(a, "racy")) ? 1 : 2;
  }
  json_decref(v);
}

/* Every access that took part in a race is marked racy in the audit trail
 * read from the kept events (not only each race group's two
 * representative sides), the ordered ones are not, and the marks equal the
 * engine's exact ones with --keep-events 1. /v1/variables counts the
 * accesses without --keep-events. */
static void test_audit_every_racy_access(void **state) {
  (void)state;
  tl_server s;
  assert_int_equal(tl_server_start(&s, NULL, NULL), 0);
  post_spec(&s, race_spec);
  json_t *r = get_json(&s, "/v1/races?sync=1&variable=x", 200);
  assert_int_equal(jint(r, "total"), 1); /* one location pair */
  json_t *g = json_array_get(json_object_get(r, "items"), 0);
  assert_int_equal(jint(g, "count"), 2); /* raced twice */
  json_decref(r);
  int ring[32];
  audit_marks(&s, ring, "events");
  static const int want_racy[] = {11, 12, 13, 14, 15};
  static const int want_ordered[] = {1, 21};
  for (size_t i = 0; i < 5; i++)
    assert_int_equal(ring[want_racy[i]], 1);
  for (size_t i = 0; i < 2; i++)
    assert_int_equal(ring[want_ordered[i]], 2);
  /* Counts without --keep-events: 6 writes, 1 read; c's write and b's
   * last write each raced with an earlier access. */
  json_t *v = get_json(&s, "/v1/variables?variable=x", 200);
  assert_true(json_is_false(json_object_get(v, "keep_events")));
  json_t *x = json_array_get(json_object_get(v, "items"), 0);
  assert_string_equal(json_string_value(json_object_get(x, "variable")), "x");
  assert_int_equal(jint(x, "accesses"), 7);
  assert_int_equal(jint(x, "writes"), 6);
  assert_int_equal(jint(x, "reads"), 1);
  assert_int_equal(jint(x, "racing_accesses"), 2);
  assert_null(json_object_get(x, "racy_accesses"));
  json_decref(v);
  stop(&s);
  /* The engine's own trail (--keep-events 1) marks the same accesses. */
  const char *keep[] = {"--keep-events", "1", NULL};
  assert_int_equal(tl_server_start(&s, NULL, keep), 0);
  post_spec(&s, race_spec);
  int eng[32];
  audit_marks(&s, eng, NULL);
  assert_memory_equal(ring, eng, sizeof ring);
  v = get_json(&s, "/v1/variables?variable=x", 200);
  x = json_array_get(json_object_get(v, "items"), 0);
  assert_int_equal(jint(x, "accesses"), 7);
  assert_int_equal(jint(x, "racing_accesses"), 2);
  assert_int_equal(jint(x, "racy_accesses"), 5);
  json_decref(v);
  stop(&s);
}

static long long post_mark(const tl_server *s, const char *const *h) {
  char *r = NULL;
  assert_int_equal(tl_http("POST", U(s, "/v1/marks"), h, NULL, 0, &r), 200);
  long long m = tl_json_int(r, "mark");
  free(r);
  return m;
}

/* Checks a since-summary's events, race groups and racy variables. */
static void check_summary(const tl_server *s, const char *path,
                          long long events, long long groups, long long vars) {
  json_t *v = get_json(s, path, 200);
  json_t *sum = json_object_get(v, "summary");
  assert_int_equal(jint(sum, "events"), events);
  assert_int_equal(jint(sum, "race_groups"), groups);
  assert_int_equal(jint(sum, "racy_variables"), vars);
  json_decref(v);
}

static void test_marks(void **state) {
  (void)state;
  tl_server s;
  assert_int_equal(tl_server_start(&s, NULL, NULL), 0);
  /* Before the mark: a race on "old". */
  post(&s, NULL, 1, "i1", "a", "old", 1, 0);
  post(&s, NULL, 2, "i2", "b", "old", 1, 0);
  long long m1 = post_mark(&s, NULL);
  assert_int_equal(m1, 1);
  /* After it: a race on "new". */
  post(&s, NULL, 3, "i3", "c", "new", 1, 0);
  post(&s, NULL, 4, "i4", "d", "new", 1, 0);
  json_t *all = get_json(&s, "/v1/races?sync=1", 200);
  long long total_all = jint(all, "total");
  assert_int_equal(total_all, 2);
  json_decref(all);
  json_t *v = get_json(&s, "/v1/races?since=1", 200);
  assert_int_equal(jint(v, "total"), 1);
  json_t *r0 = json_array_get(json_object_get(v, "items"), 0);
  assert_string_equal(json_string_value(json_object_get(r0, "variable")),
                      "new");
  assert_int_equal(jint(r0, "index"), 1); /* its place in /v1/races */
  assert_int_equal(jint(v, "since"), 1);
  json_decref(v);
  check_summary(&s, "/v1/summary?since=1", 2, 1, 1);
  v = get_json(&s, "/v1/findings?since=1", 200);
  assert_int_equal(json_array_size(json_object_get(v, "races")), 1);
  assert_true(json_is_array(json_object_get(v, "deadlocks")));
  json_decref(v);
  /* A later mark sees nothing new; the index route agrees with /v1/races */
  long long m2 = post_mark(&s, NULL);
  assert_int_equal(m2, 2);
  v = get_json(&s, "/v1/races?since=2", 200);
  assert_int_equal(jint(v, "total"), 0);
  json_decref(v);
  v = get_json(&s, "/v1/races?offset=1&limit=1", 200);
  assert_int_equal(
      jint(json_array_get(json_object_get(v, "items"), 0), "index"), 1);
  json_decref(v);
  /* Between two marks: after mark 2, "old" races again (its group grows)
   * and a third race appears; mark 3; then "new" races again. since=2 and
   * until=3 answer only what happened between the two marks. */
  post(&s, NULL, 5, "i5", "e", "old", 1, 0);
  post(&s, NULL, 6, "i6", "f", "third", 1, 0);
  post(&s, NULL, 7, "i7", "g", "third", 1, 0);
  long long m3 = post_mark(&s, NULL);
  assert_int_equal(m3, 3);
  post(&s, NULL, 8, "i8", "h", "new", 1, 0);
  json_t *now = get_json(&s, "/v1/races?since=2&sync=1", 200);
  assert_int_equal(jint(now, "total"), 3); /* old, new and third grew */
  json_decref(now);
  v = get_json(&s, "/v1/races?since=2&until=3", 200);
  assert_int_equal(jint(v, "total"), 2);
  assert_int_equal(jint(v, "until"), 3);
  json_t *items = json_object_get(v, "items");
  json_t *old = json_array_get(items, 0), *third = json_array_get(items, 1);
  assert_string_equal(json_string_value(json_object_get(old, "variable")),
                      "old");
  assert_int_equal(jint(old, "index"), 0);
  assert_int_equal(jint(old, "count_since"), 2); /* e raced with a and b */
  assert_string_equal(json_string_value(json_object_get(third, "variable")),
                      "third");
  assert_int_equal(jint(third, "index"), 2);
  assert_int_equal(jint(third, "count_since"), 1);
  json_decref(v);
  check_summary(&s, "/v1/summary?since=2&until=3", 3, 2, 2);
  v = get_json(&s, "/v1/findings?since=1&until=1", 200);
  assert_int_equal(json_array_size(json_object_get(v, "races")), 0);
  json_decref(v);
  json_decref(get_json(&s, "/v1/races?since=3&until=2", 400));
  json_decref(get_json(&s, "/v1/races?until=2", 400));
  json_decref(get_json(&s, "/v1/races?since=1&until=x", 400));
  json_decref(get_json(&s, "/v1/races?since=1&until=99", 404));
  /* Errors. */
  json_decref(get_json(&s, "/v1/races?since=99", 404));
  json_decref(get_json(&s, "/v1/races?since=abc", 400));
  json_decref(get_json(&s, "/v1/traces?since=1", 400));
  assert_int_equal(tl_http("GET", U(&s, "/v1/marks"), NULL, NULL, 0, NULL),
                   405);
  stop(&s);
}

typedef struct sse_buf {
  char data[4096];
  size_t len;
} sse_buf;

static size_t sse_data(char *p, size_t sz, size_t nm, void *ud) {
  sse_buf *b = ud;
  size_t n = sz * nm, room = sizeof b->data - 1 - b->len;
  size_t k = n < room ? n : room;
  memcpy(b->data + b->len, p, k);
  b->len += k;
  b->data[b->len] = '\0';
  return strstr(b->data, "event: findings") ? 0 : n; /* enough: stop */
}

/* GET url as a stream until its first findings frame. @return the status. */
static long sse_first(const char *u, sse_buf *b) {
  CURL *c = curl_easy_init();
  memset(b, 0, sizeof *b);
  curl_easy_setopt(c, CURLOPT_URL, u);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(c);
  return code;
}

static void test_keys_and_stream_tokens(void **state) {
  (void)state;
  tl_server s;
  const char *keys[] = {"--api-key", "k-viewer", NULL};
  assert_int_equal(tl_server_start(&s, NULL, keys), 0);
  const char *k[] = {"Authorization: Bearer k-viewer", NULL};
  /* Every viewer route needs the key like the others. */
  assert_int_equal(tl_http("GET", U(&s, "/v1/timeline"), NULL, NULL, 0, NULL),
                   401);
  assert_int_equal(tl_http("POST", U(&s, "/v1/marks"), NULL, NULL, 0, NULL),
                   401);
  assert_int_equal(
      tl_http("POST", U(&s, "/v1/stream-token"), NULL, NULL, 0, NULL), 401);
  assert_int_equal(tl_http("GET", U(&s, "/v1/timeline"), k, NULL, 0, NULL),
                   200);
  assert_true(post_mark(&s, k) >= 1);
  /* A token from an authenticated request opens the stream, no key. */
  char *r = NULL;
  assert_int_equal(tl_http("POST", U(&s, "/v1/stream-token"), k, NULL, 0, &r),
                   200);
  json_t *t = json_loads(r, 0, NULL);
  free(r);
  const char *tok = json_string_value(json_object_get(t, "token"));
  assert_non_null(tok);
  assert_int_equal(strlen(tok), 32);
  assert_true(jint(t, "expires_in") > 0);
  char u[256];
  snprintf(u, sizeof u, "%s/v1/stream?token=%s", s.url, tok);
  sse_buf b;
  assert_int_equal(sse_first(u, &b), 200);
  assert_non_null(strstr(b.data, "event: findings"));
  /* Two tokens differ; a made-up or missing one is refused. */
  r = NULL;
  assert_int_equal(tl_http("POST", U(&s, "/v1/stream-token"), k, NULL, 0, &r),
                   200);
  assert_null(strstr(r, tok));
  free(r);
  json_decref(t);
  assert_int_equal(
      tl_http("GET", U(&s, "/v1/stream?token=00000000000000000000000000000000"),
              NULL, NULL, 0, NULL),
      401);
  assert_int_equal(tl_http("GET", U(&s, "/v1/stream"), NULL, NULL, 0, NULL),
                   401);
  /* The viewer's files stay open, with a strict CSP and nosniff. */
  char csp[512], nos[64];
  assert_int_equal(tl_http_hdr("GET", U(&s, "/index.html"), NULL, NULL, 0, NULL,
                               "Content-Security-Policy", csp, sizeof csp),
                   200);
  assert_non_null(strstr(csp, "default-src 'none'"));
  assert_non_null(strstr(csp, "script-src 'self'"));
  assert_null(strstr(csp, "unsafe-inline"));
  assert_int_equal(tl_http_hdr("GET", U(&s, "/js/app.js"), NULL, NULL, 0, NULL,
                               "X-Content-Type-Options", nos, sizeof nos),
                   200);
  assert_string_equal(nos, "nosniff");
  stop(&s);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timeline),
      cmocka_unit_test(test_event_memory),
      cmocka_unit_test(test_marks),
      cmocka_unit_test(test_audit_every_racy_access),
      cmocka_unit_test(test_raceway_highlight),
      cmocka_unit_test(test_keys_and_stream_tokens),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
