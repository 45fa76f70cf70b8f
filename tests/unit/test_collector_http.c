/*
 * Integration tests of causeway-server over real HTTP: native and Raceway
 * ingest, deduplication, health and metrics, the query API, static files and
 * the bad-input table (every malformed body, header and encoding gets its
 * status code). One server process serves the whole program.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cw_format.h"
#include "testlib.h"

static tl_server srv;
static char viewer[256];
static char url[256];

static const char *U(const char *path) {
  snprintf(url, sizeof url, "%s%s", srv.url, path);
  return url;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  if (b)
    b[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* Waits (bounded) until the analysed event count reaches `want`. */
static long long wait_events(long long want) {
  long long v = -1;
  for (int i = 0; i < 400; i++) {
    v = tl_get_int(&srv, "/v1/summary", "summary.events", NULL);
    if (v >= want)
      break;
    struct timespec ts = {0, 25 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return v;
}

static int setup(void **state) {
  (void)state;
  snprintf(viewer, sizeof viewer, "/tmp/cw-viewer-XXXXXX");
  if (!mkdtemp(viewer))
    return -1;
  char p[300];
  snprintf(p, sizeof p, "%s/index.html", viewer);
  write_file(p, "<html>viewer</html>");
  snprintf(p, sizeof p, "%s/.secret", viewer);
  write_file(p, "hidden");
  const char *extra[] = {"--viewer-dir",       viewer, "--max-body", "1M",
                         "--max-batch-events", "5000", NULL};
  return tl_server_start(&srv, NULL, extra);
}

static int teardown(void **state) {
  (void)state;
  int st = tl_server_stop(&srv, SIGTERM);
  tl_rmdir(srv.data_dir);
  char p[300];
  snprintf(p, sizeof p, "%s/index.html", viewer);
  unlink(p);
  snprintf(p, sizeof p, "%s/.secret", viewer);
  unlink(p);
  rmdir(viewer);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static const char *LZ4H[] = {"Content-Encoding: lz4",
                             "Content-Type: application/x-causeway-batch",
                             NULL};

static void test_health_ready_metrics(void **state) {
  (void)state;
  char *r = NULL;
  assert_int_equal(tl_http("GET", U("/healthz"), NULL, NULL, 0, &r), 200);
  assert_non_null(strstr(r, "\"ok\""));
  free(r);
  assert_int_equal(tl_http("GET", U("/readyz"), NULL, NULL, 0, NULL), 200);
  assert_int_equal(tl_http("GET", U("/metrics"), NULL, NULL, 0, &r), 200);
  const char *names[] = {"causeway_events_ingested_total",
                         "causeway_events_rejected_total",
                         "causeway_events_dropped_total",
                         "causeway_batches_total",
                         "causeway_queue_batches",
                         "causeway_analysis_lag_seconds",
                         "causeway_findings{kind=\"race_groups\"}",
                         "causeway_store_bytes"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    assert_non_null(strstr(r, names[i]));
  free(r);
}

static void test_native_ingest_and_dedup(void **state) {
  (void)state;
  long long before = wait_events(0);
  tl_batch_spec b;
  memset(&b, 0, sizeof b);
  tl_stream_id(b.stream_id, 1);
  b.nevents = 100;
  b.first_counter = 1;
  b.actor = "dedup";
  size_t len;
  uint8_t *body = tl_native_batch(&b, 1, &len);
  assert_non_null(body);
  char *r = NULL;
  assert_int_equal(tl_http("POST", U("/v1/events"), LZ4H, body, len, &r), 200);
  assert_int_equal(tl_json_int(r, "accepted"), 100);
  assert_int_equal(tl_json_int(r, "rejected"), 0);
  assert_int_equal(tl_json_int(r, "duplicate_batches"), 0);
  free(r);
  /* The retry of the same batch is acknowledged but not stored again. */
  assert_int_equal(tl_http("POST", U("/v1/events"), LZ4H, body, len, &r), 200);
  assert_int_equal(tl_json_int(r, "accepted"), 0);
  assert_int_equal(tl_json_int(r, "duplicate_batches"), 1);
  assert_int_equal(tl_json_int(r, "duplicate_events"), 100);
  free(r);
  free(body);
  assert_int_equal(wait_events(before + 100), before + 100);
  /* The next batch of the stream, uncompressed (identity). */
  b.batch_no = 1;
  b.first_counter = 101;
  b.first_seq = 100;
  body = tl_native_batch(&b, 0, &len);
  const char *id[] = {"Content-Encoding: identity", NULL};
  assert_int_equal(tl_http("POST", U("/v1/events"), id, body, len, &r), 200);
  assert_int_equal(tl_json_int(r, "accepted"), 100);
  free(r);
  free(body);
  assert_int_equal(wait_events(before + 200), before + 200);
}

static void test_multi_frame_body(void **state) {
  (void)state;
  long long before = wait_events(0);
  tl_batch_spec b;
  memset(&b, 0, sizeof b);
  tl_stream_id(b.stream_id, 2);
  b.nevents = 10;
  b.first_counter = 1;
  b.actor = "multi";
  size_t l1, l2;
  uint8_t *f1 = tl_native_batch(&b, 1, &l1);
  b.batch_no = 1;
  b.first_counter = 11;
  b.first_seq = 10;
  uint8_t *f2 = tl_native_batch(&b, 1, &l2);
  uint8_t *both = malloc(l1 + l2);
  memcpy(both, f1, l1);
  memcpy(both + l1, f2, l2);
  char *r = NULL;
  assert_int_equal(tl_http("POST", U("/v1/events"), LZ4H, both, l1 + l2, &r),
                   200);
  assert_int_equal(tl_json_int(r, "batches"), 2);
  assert_int_equal(tl_json_int(r, "accepted"), 20);
  free(r);
  free(f1);
  free(f2);
  free(both);
  assert_int_equal(wait_events(before + 20), before + 20);
}

static void test_raceway_example_and_lost_update(void **state) {
  (void)state;
  const char *shared = getenv("CW_FIXTURES_DIR");
  const char *src = getenv("CW_SOURCE_DIR");
  assert_non_null(shared);
  assert_non_null(src);
  char p[512];
  size_t len;
  snprintf(p, sizeof p, "%s/raceway-batch.json", shared);
  char *body = read_file(p, &len);
  assert_non_null(body);
  const char *jh[] = {"Content-Type: application/json", NULL};
  char *r = NULL;
  assert_int_equal(tl_http("POST", U("/events"), jh, body, len, &r), 200);
  assert_string_equal(r, "{\"success\":true,\"data\":\"Ingested 2 events\","
                         "\"error\":null}");
  free(r);
  free(body);
  /* Raceway events are indexed by trace too. */
  long long tev = -1;
  for (int i = 0; i < 400 && tev != 2; i++) {
    tev = tl_get_int(&srv, "/v1/traces/7c9e6679742540de944be07fc1f90ae7",
                     "events", NULL);
    struct timespec ts = {0, 25 * 1000000L};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(tev, 2);
  /* A two-thread lost update in Raceway's format is a race. */
  assert_int_equal(
      tl_get_int(&srv, "/v1/races?variable=bob.balance", "total", NULL), 0);
  snprintf(p, sizeof p, "%s/tests/collector/raceway-lost-update.json", src);
  body = read_file(p, &len);
  assert_non_null(body);
  assert_int_equal(tl_http("POST", U("/events"), jh, body, len, &r), 200);
  assert_non_null(strstr(r, "Ingested 4 events"));
  free(r);
  free(body);
  long long races = 0;
  for (int i = 0; i < 400 && races <= 0; i++) {
    races = tl_get_int(&srv, "/v1/races?variable=bob.balance&severity=error",
                       "total", NULL);
    struct timespec ts = {0, 25 * 1000000L};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(races, 1); /* write/write at app.py:41 */
  assert_true(
      tl_get_int(&srv, "/v1/findings", "summary.racy_variables", NULL) >= 1);
}

/* One Raceway write of carol.balance by `thread`, optionally with a parent. */
static char *rw_write(const char *id, const char *thread, const char *parent,
                      int usec) {
  char *b = malloc(2048);
  char par[80];
  if (parent)
    snprintf(par, sizeof par, "\"%s\"", parent);
  else
    snprintf(par, sizeof par, "null");
  snprintf(b, 2048,
           "{\"events\":[{\"id\":\"%s\",\"trace_id\":"
           "\"11111111-2222-4333-8444-999999999999\",\"parent_id\":%s,"
           "\"timestamp\":\"2025-11-04T11:00:00.%06d+00:00\",\"kind\":"
           "{\"StateChange\":{\"variable\":\"carol.balance\","
           "\"old_value\":1,\"new_value\":2,\"location\":\"c.py:%d\","
           "\"access_type\":\"Write\"}},\"metadata\":{\"thread_id\":"
           "\"%s\",\"process_id\":1,\"service_name\":\"carol\","
           "\"environment\":\"t\",\"tags\":{},\"duration_ns\":null},"
           "\"causality_vector\":[],\"lock_set\":[]}]}",
           id, par, usec, usec, thread);
  return b;
}

static void test_raceway_state_across_posts(void **state) {
  (void)state;
  const char *jh[] = {"Content-Type: application/json", NULL};
  /* b's write names a's write (an earlier POST) as its parent: ordered. */
  char *b1 = rw_write("aaaaaaaa-0000-4000-8000-000000000001", "t-a", NULL, 1);
  char *b2 = rw_write("aaaaaaaa-0000-4000-8000-000000000002", "t-b",
                      "aaaaaaaa-0000-4000-8000-000000000001", 2);
  char *b3 = rw_write("aaaaaaaa-0000-4000-8000-000000000003", "t-c", NULL, 3);
  long long before = wait_events(0);
  assert_int_equal(tl_http("POST", U("/events"), jh, b1, strlen(b1), NULL),
                   200);
  assert_int_equal(tl_http("POST", U("/events"), jh, b2, strlen(b2), NULL),
                   200);
  assert_int_equal(wait_events(before + 2), before + 2);
  assert_int_equal(
      tl_get_int(&srv, "/v1/races?variable=carol.balance", "total", NULL), 0);
  /* c's write has no link to the others: it races. */
  assert_int_equal(tl_http("POST", U("/events"), jh, b3, strlen(b3), NULL),
                   200);
  assert_int_equal(wait_events(before + 3), before + 3);
  assert_true(
      tl_get_int(&srv, "/v1/races?variable=carol.balance", "total", NULL) >= 1);
  free(b1);
  free(b2);
  free(b3);
}

/* Names are bytes: a Latin-1 variable and service name (invalid UTF-8) are
 * listed with U+FFFD in their place, never dropped from the lists. */
static void test_non_utf8_names_listed(void **state) {
  (void)state;
  long long before = wait_events(0);
  const char *actors[] = {"nu-a", "nu-b"};
  for (int i = 0; i < 2; i++) {
    tl_batch_spec b;
    memset(&b, 0, sizeof b);
    tl_stream_id(b.stream_id, 700 + (uint64_t)i);
    b.service = "b\xe4nk";
    b.actor = actors[i];
    b.var = "caf\xe9";
    b.nevents = 1;
    b.first_counter = 1;
    size_t len;
    uint8_t *body = tl_native_batch(&b, 1, &len);
    assert_non_null(body);
    assert_int_equal(tl_http("POST", U("/v1/events"), LZ4H, body, len, NULL),
                     200);
    free(body);
  }
  assert_int_equal(wait_events(before + 2), before + 2);
  const char *routes[] = {"/v1/races?limit=1000&sync=1",
                          "/v1/variables?limit=1000", "/v1/services"};
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
    char *r = NULL;
    assert_int_equal(tl_http("GET", U(routes[i]), NULL, NULL, 0, &r), 200);
    const char *want = i < 2 ? "caf\xef\xbf\xbd" : "b\xef\xbf\xbdnk";
    if (!strstr(r, want))
      fprintf(stderr, "%s: no escaped name in %s\n", routes[i], r);
    assert_non_null(strstr(r, want));
    free(r);
  }
}

typedef struct bad_case {
  const char *name, *method, *path;
  const char *hdr;  /* one extra header or NULL */
  const char *body; /* text body or NULL */
  int kind;         /* 0: text, 1: truncated frame, 2: frame+garbage,
                       3: big body, 4: too many events, 5: empty lz4,
                       6: Raceway JSON nested 20000 levels deep */
  int status;
} bad_case;

static const bad_case bad[] = {
    {"lz4 garbage", "POST", "/v1/events", "Content-Encoding: lz4",
     "not an lz4 frame", 0, 400},
    {"identity garbage", "POST", "/v1/events", "Content-Encoding: identity",
     "\x01\xff\xff\xff\xff\xff\xff", 0, 400},
    {"gzip encoding", "POST", "/v1/events", "Content-Encoding: gzip", "x", 0,
     415},
    {"empty lz4 body", "POST", "/v1/events", "Content-Encoding: lz4", "", 5,
     400},
    {"truncated frame", "POST", "/v1/events", "Content-Encoding: lz4", NULL, 1,
     400},
    {"frame plus garbage", "POST", "/v1/events", "Content-Encoding: lz4", NULL,
     2, 400},
    {"body over --max-body", "POST", "/v1/events", "Content-Encoding: lz4",
     NULL, 3, 413},
    {"batch over --max-batch-events", "POST", "/v1/events",
     "Content-Encoding: lz4", NULL, 4, 413},
    {"raceway invalid json", "POST", "/events", NULL, "{\"events\":[", 0, 400},
    {"raceway events not array", "POST", "/events", NULL, "{\"events\":5}", 0,
     400},
    {"raceway scalar", "POST", "/events", NULL, "42", 0, 400},
    {"raceway binary", "POST", "/events", NULL, "\x80\x81\x82", 0, 400},
    {"raceway gzip", "POST", "/events", "Content-Encoding: gzip", "{}", 0, 415},
    {"raceway over --max-body", "POST", "/events", NULL, NULL, 3, 413},
    {"raceway nested too deep", "POST", "/events", NULL, NULL, 6, 400},
    {"GET on ingest", "GET", "/v1/events", NULL, NULL, 0, 405},
    {"PUT on ingest", "PUT", "/events", NULL, "{}", 0, 405},
    {"unknown route", "GET", "/v1/nope", NULL, NULL, 0, 404},
    {"bad limit", "GET", "/v1/races?limit=abc", NULL, NULL, 0, 400},
    {"zero limit", "GET", "/v1/races?limit=0", NULL, NULL, 0, 400},
    {"bad escape", "GET", "/v1/races?variable=%zz", NULL, NULL, 0, 400},
    {"bad severity", "GET", "/v1/races?severity=fatal", NULL, NULL, 0, 400},
    {"traversal", "GET", "/../../etc/passwd", NULL, NULL, 0, 404},
    {"encoded traversal", "GET", "/%2e%2e/%2e%2e/etc/passwd", NULL, NULL, 0,
     404},
    {"hidden file", "GET", "/.secret", NULL, NULL, 0, 404},
    {"backslash", "GET", "/..%5c..%5cetc%5cpasswd", NULL, NULL, 0, 404},
    {"missing file", "GET", "/nope.js", NULL, NULL, 0, 404},
};

static void test_bad_input_table(void **state) {
  (void)state;
  long long stored_before =
      tl_get_int(&srv, "/v1/summary", "summary.events", NULL);
  tl_batch_spec b;
  memset(&b, 0, sizeof b);
  tl_stream_id(b.stream_id, 99);
  b.nevents = 50;
  b.first_counter = 1;
  size_t flen;
  uint8_t *frame = tl_native_batch(&b, 1, &flen);
  assert_non_null(frame);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const bad_case *c = &bad[i];
    uint8_t *body = NULL;
    size_t len = 0;
    if (c->kind == 0 && c->body) {
      len = strlen(c->body);
      body = malloc(len + 1);
      memcpy(body, c->body, len + 1);
    } else if (c->kind == 1) {
      len = flen - 5;
      body = malloc(len);
      memcpy(body, frame, len);
    } else if (c->kind == 2) {
      len = flen + 4;
      body = malloc(len);
      memcpy(body, frame, flen);
      memcpy(body + flen, "junk", 4);
    } else if (c->kind == 3) {
      len = (1u << 20) + 10;
      body = calloc(1, len);
    } else if (c->kind == 4) {
      tl_batch_spec big = b;
      big.nevents = 6000;
      tl_stream_id(big.stream_id, 98);
      body = tl_native_batch(&big, 1, &len);
    } else if (c->kind == 5) {
      body = malloc(1);
      len = 0;
    } else if (c->kind == 6) {
      /* Deeper than a worker thread's stack allows a recursive parser. */
      const size_t depth = 20000, pre = 10;
      len = pre + 2 * depth + 1;
      body = malloc(len);
      memcpy(body, "{\"events\":", pre);
      memset(body + pre, '[', depth);
      memset(body + pre + depth, ']', depth);
      body[len - 1] = '}';
    }
    const char *hdrs[] = {c->hdr, NULL};
    char *r = NULL;
    int st =
        tl_http(c->method, U(c->path), c->hdr ? hdrs : NULL, body, len, &r);
    if (st != c->status)
      fprintf(stderr, "case '%s': got %d, want %d (%s)\n", c->name, st,
              c->status, r ? r : "");
    assert_int_equal(st, c->status);
    if (st >= 400 && st != 404 && st != 405 && !strstr(c->path, "/v1/r") &&
        strcmp(c->path, "/events"))
      assert_non_null(strstr(r, "\"error\""));
    free(r);
    free(body);
  }
  free(frame);
  /* Nothing of a refused body was stored. */
  assert_int_equal(wait_events(stored_before), stored_before);
  assert_int_equal(tl_get_int(&srv, "/v1/summary", "summary.events", NULL),
                   stored_before);
}

static void test_static_and_queries(void **state) {
  (void)state;
  char *r = NULL;
  assert_int_equal(tl_http("GET", U("/"), NULL, NULL, 0, &r), 200);
  assert_string_equal(r, "<html>viewer</html>");
  free(r);
  assert_int_equal(tl_http("GET", U("/index.html"), NULL, NULL, 0, NULL), 200);
  const char *lists[] = {"/v1/races", "/v1/deadlocks",
                         "/v1/potential-deadlocks", "/v1/locks"};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(tl_get_int(&srv, lists[i], "limit", NULL), 100);
    assert_true(tl_get_int(&srv, lists[i], "total", NULL) >= 0);
  }
  /* Paging: offset past the end gives an empty page with the same total. */
  long long total = tl_get_int(&srv, "/v1/races", "total", NULL);
  assert_int_equal(
      tl_get_int(&srv, "/v1/races?offset=100000&limit=5", "total", NULL),
      total);
  assert_int_equal(tl_http("GET", U("/v1/services"), NULL, NULL, 0, &r), 200);
  assert_non_null(strstr(r, "banking-api"));
  free(r);
}

/* One traced event of service `svc`'s actor "main". */
typedef struct tev {
  uint32_t kind;
  const char *object;
  uint64_t counter;
  uint8_t span, parent; /* last byte of span ids (0: none) */
  uint64_t duration_ns;
  const char *join; /* remote actor for the clock, or NULL */
  uint64_t join_counter;
} tev;

static const uint8_t TRACE_ID[16] = {0xab, 0xcd, 1, 2,  3,  4,  5,  6,
                                     7,    8,    9, 10, 11, 12, 13, 14};

static uint8_t *traced_batch(const char *svc, const tev *evs, size_t n,
                             size_t *len) {
  cw_batch_writer *w = cw__bw_new(1 << 16);
  cw_batch_hdr h;
  memset(&h, 0, sizeof h);
  h.version = CW_FORMAT_VERSION;
  tl_stream_id(h.stream_id, 7000 + (uint64_t)svc[0]);
  h.service = svc;
  h.service_len = strlen(svc);
  h.instance = "i1";
  h.instance_len = 2;
  h.base_wall_ns = 1700000000000000000ll;
  uint8_t *out = NULL;
  if (cw__bw_begin(w, &h) == 0) {
    uint32_t me = cw__bw_actor(w, "main", 4, CW_ACTOR_THREAD);
    uint32_t file = cw__bw_string(w, svc, strlen(svc));
    for (size_t i = 0; i < n; i++) {
      cw_event_rec ev;
      cw_clock_entry j;
      memset(&ev, 0, sizeof ev);
      ev.kind = evs[i].kind;
      ev.actor = me;
      ev.counter = evs[i].counter;
      ev.seq = evs[i].counter;
      ev.wall_ns = h.base_wall_ns + (int64_t)evs[i].counter * 1000000;
      ev.mono_ns = evs[i].counter * 1000000;
      ev.object = cw__bw_string(w, evs[i].object, strlen(evs[i].object));
      ev.file = file;
      ev.line = (uint32_t)evs[i].counter;
      ev.flags = CW_EVF_TRACE;
      memcpy(ev.trace_id, TRACE_ID, 16);
      ev.span_id[7] = evs[i].span;
      ev.parent_span_id[7] = evs[i].parent;
      if (evs[i].duration_ns) {
        ev.flags |= CW_EVF_DURATION;
        ev.duration_ns = evs[i].duration_ns;
      }
      if (evs[i].join) {
        j.actor =
            cw__bw_actor(w, evs[i].join, strlen(evs[i].join), CW_ACTOR_REMOTE);
        j.counter = evs[i].join_counter;
        ev.flags |= CW_EVF_JOINS;
        ev.joins = &j;
        ev.njoins = 1;
      }
      cw__bw_event(w, &ev);
    }
    out = cw__bw_compress(w, len);
  }
  cw__bw_free(w);
  return out;
}

static void test_traces_and_chrome_export(void **state) {
  (void)state;
  static const tev front[] = {
      {CW_EV_SPAN_BEGIN, "checkout", 1, 1, 0, 0, NULL, 0},
      {CW_EV_HTTP_SEND, "bank", 2, 2, 1, 0, NULL, 0},
      {CW_EV_SPAN_END, "checkout", 3, 1, 0, 3000000, NULL, 0}};
  static const tev bank[] = {
      {CW_EV_HTTP_RECV, "/transfer", 1, 3, 2, 0, "front#i1/main", 2},
      {CW_EV_WRITE, "acct", 2, 3, 2, 0, NULL, 0},
      {CW_EV_HTTP_RESPOND, "/transfer", 3, 3, 2, 1000000, NULL, 0}};
  size_t l1, l2;
  uint8_t *b1 = traced_batch("front", front, 3, &l1);
  uint8_t *b2 = traced_batch("bank", bank, 3, &l2);
  assert_int_equal(tl_http("POST", U("/v1/events"), LZ4H, b1, l1, NULL), 200);
  assert_int_equal(tl_http("POST", U("/v1/events"), LZ4H, b2, l2, NULL), 200);
  free(b1);
  free(b2);
  const char *hex = "abcd0102030405060708090a0b0c0d0e";
  char path[128], *r = NULL;
  snprintf(path, sizeof path, "/v1/traces/%s", hex);
  long long events = -1;
  for (int i = 0; i < 400 && events != 6; i++) {
    events = tl_get_int(&srv, path, "events", NULL);
    struct timespec ts = {0, 25 * 1000000L};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(events, 6);
  assert_int_equal(tl_http("GET", U(path), NULL, NULL, 0, &r), 200);
  assert_non_null(strstr(r, "\"services\":[\"front\",\"bank\"]"));
  assert_non_null(strstr(r, "\"kind\":\"http_recv\""));
  free(r);
  assert_true(tl_get_int(&srv, "/v1/traces?service=bank", "total", NULL) >= 1);
  assert_int_equal(tl_get_int(&srv, "/v1/traces?service=nobody", "total", NULL),
                   0);
  /* Chrome Trace Event export: metadata, slices and the request flow. */
  snprintf(path, sizeof path, "/v1/traces/%s/chrome", hex);
  assert_int_equal(tl_http("GET", U(path), NULL, NULL, 0, &r), 200);
  assert_non_null(strstr(r, "\"traceEvents\":["));
  assert_non_null(strstr(r, "\"process_name\""));
  assert_non_null(strstr(r, "\"ph\":\"X\""));
  assert_non_null(strstr(r, "\"ph\":\"s\""));
  assert_non_null(strstr(r, "\"ph\":\"f\""));
  free(r);
  /* The call carried a clock from front into bank. */
  assert_int_equal(tl_http("GET", U("/v1/services"), NULL, NULL, 0, &r), 200);
  assert_non_null(
      strstr(r, "{\"from\":\"front\",\"to\":\"bank\",\"count\":1}"));
  free(r);
  assert_int_equal(tl_http("GET", U("/v1/traces/0000"), NULL, NULL, 0, NULL),
                   404);
  assert_int_equal(tl_http("GET",
                           U("/v1/traces/ffffffffffffffffffffffffffffffff"),
                           NULL, NULL, 0, NULL),
                   404);
}

/* Anomalies through the collector: a 2 s DB call, a timeout and ten
 * retries within 10 ms give three groups in first-occurrence order, on
 * /v1/anomalies (with kind filter and thresholds), in the summary, the
 * findings and /metrics. */
static void test_anomalies(void **state) {
  (void)state;
  tev evs[13];
  memset(evs, 0, sizeof evs);
  evs[0] = (tev){CW_EV_DB_QUERY, "bank.db", 1, 0, 0, 0, NULL, 0};
  evs[1] = (tev){CW_EV_DB_RESULT, "bank.db", 2, 0, 0, 2000000000, NULL, 0};
  evs[2] = (tev){CW_EV_TIMEOUT, "acct:lock", 3, 0, 0, 1000000000, NULL, 0};
  for (int i = 0; i < 10; i++)
    evs[3 + i] =
        (tev){CW_EV_RETRY, "acct:lock", 4 + (uint64_t)i, 0, 0, 0, NULL, 0};
  size_t len;
  uint8_t *b = traced_batch("slowsvc", evs, 13, &len);
  assert_int_equal(tl_http("POST", U("/v1/events"), LZ4H, b, len, NULL), 200);
  free(b);
  long long n = -1;
  for (int i = 0; i < 400 && n < 3; i++) {
    n = tl_get_int(&srv, "/v1/summary", "summary.anomalies", NULL);
    struct timespec ts = {0, 25 * 1000000L};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(n, 3);
  assert_int_equal(tl_get_int(&srv, "/v1/anomalies", "total", NULL), 3);
  assert_int_equal(
      tl_get_int(&srv, "/v1/anomalies", "thresholds.slow_db_ns", NULL),
      500000000);
  char *r = NULL;
  assert_int_equal(tl_http("GET", U("/v1/anomalies"), NULL, NULL, 0, &r), 200);
  const char *db = strstr(r, "\"kind\":\"slow_db\"");
  const char *to = strstr(r, "\"kind\":\"timeout\"");
  const char *st = strstr(r, "\"kind\":\"retry_storm\"");
  assert_non_null(db);
  assert_non_null(to);
  assert_non_null(st);
  assert_true(db < to && to < st); /* first-occurrence order */
  assert_non_null(strstr(r, "\"site\":\"slowsvc:2\""));
  assert_non_null(strstr(r, "\"peak\":10"));
  free(r);
  /* The kind filter keeps the index of the full list. */
  assert_int_equal(
      tl_get_int(&srv, "/v1/anomalies?kind=retry_storm", "total", NULL), 1);
  assert_int_equal(
      tl_http("GET", U("/v1/anomalies?kind=retry_storm"), NULL, NULL, 0, &r),
      200);
  assert_non_null(strstr(r, "\"index\":2"));
  free(r);
  assert_int_equal(
      tl_http("GET", U("/v1/anomalies?kind=bogus"), NULL, NULL, 0, NULL), 400);
  assert_int_equal(
      tl_get_int(&srv, "/v1/anomalies?service=nobody", "total", NULL), 0);
  assert_int_equal(tl_http("GET", U("/v1/findings"), NULL, NULL, 0, &r), 200);
  assert_non_null(strstr(r, "\"anomalies\":[{"));
  free(r);
  assert_int_equal(tl_http("GET", U("/metrics"), NULL, NULL, 0, &r), 200);
  assert_non_null(strstr(r, "causeway_findings{kind=\"anomalies\"} 3\n"));
  free(r);
}

static void test_store_files(void **state) {
  (void)state;
  char p[400];
  snprintf(p, sizeof p, "%s/seg-000001.cwlog", srv.data_dir);
  struct stat sb;
  assert_int_equal(stat(p, &sb), 0);
  assert_true(sb.st_size > 8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_health_ready_metrics),
      cmocka_unit_test(test_native_ingest_and_dedup),
      cmocka_unit_test(test_multi_frame_body),
      cmocka_unit_test(test_raceway_example_and_lost_update),
      cmocka_unit_test(test_raceway_state_across_posts),
      cmocka_unit_test(test_non_utf8_names_listed),
      cmocka_unit_test(test_bad_input_table),
      cmocka_unit_test(test_static_and_queries),
      cmocka_unit_test(test_traces_and_chrome_export),
      cmocka_unit_test(test_anomalies),
      cmocka_unit_test(test_store_files),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
