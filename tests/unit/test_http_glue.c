/* In-process tests of the HTTP glue: a civetweb server with instrumented
 * handlers and libcurl clients, in one program (one server for all cases,
 * as mg_stop() is slow). They check what travels in the headers and what
 * the request task sees: its clock starts from the caller's clock and
 * never from the worker thread's history, trace ids and tracestate are
 * continued, a Raceway caller's trace is continued, bad headers are
 * ignored and counted, and the caller joins the callee's clock. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <civetweb.h>

#include "causeway.h"
#include "causeway/http.h"
#include "cw_http_int.h"

static struct mg_context *ctx;
static int port;

/* ---- Server handlers ------------------------------------------------------
 */

/* Answers "clock=<entries> trace=<hex> tracestate=<value>". */
static int h_info(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  char out[256], hex[33] = "-";
  uint8_t t[16], s[8];
  cw_clock_snapshot *snap = cw_clock_snapshot_new();
  cw_clock_current(snap);
  if (cw_trace_get(t, s) == CW_OK)
    cw__http_hex(t, 16, hex);
  const char *ts = mg_get_header(conn, "tracestate");
  int n = snprintf(out, sizeof out, "clock=%zu trace=%s tracestate=%s",
                   cw_clock_snapshot_len(snap), hex, ts ? ts : "-");
  cw_clock_snapshot_free(snap);
  cw_http_respond(conn, 200, "text/plain", out, (size_t)n);
  return 200;
}

static int body_write(char *p, size_t sz, size_t n, void *ud);

/* Calls /info on this server and answers with what /info answered. */
static int h_nested(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  char url[64], body[256] = "";
  snprintf(url, sizeof url, "http://127.0.0.1:%d/info", port);
  CURL *h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
  CURLcode rc = cw_curl_perform(h, NULL);
  curl_easy_cleanup(h);
  cw_http_respond(conn, rc == CURLE_OK ? 200 : 502, "text/plain", body,
                  strlen(body));
  return 200;
}

/* Answers through civetweb directly, without cw_http_respond. */
static int h_plain(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  mg_send_http_ok(conn, "text/plain", 2);
  mg_write(conn, "ok", 2);
  return 200;
}

/* ---- Client helpers -------------------------------------------------------
 */

static int body_write(char *p, size_t sz, size_t n, void *ud) {
  char *b = ud;
  size_t have = strlen(b), k = sz * n;
  if (have + k < 255) {
    memcpy(b + have, p, k);
    b[have + k] = 0;
  }
  return (int)k;
}

typedef struct reply {
  long status;
  char body[256];
  char clock[CW_HTTP_HEADER_MAX + 1]; /* response causeway-clock or "" */
} reply;

static size_t wr(char *p, size_t sz, size_t n, void *ud) {
  return (size_t)body_write(p, sz, n, ud);
}

/* wrapped: through cw_curl_perform; else plain curl with extra headers. */
static void call(const char *path, int wrapped, struct curl_slist *extra,
                 reply *r) {
  char url[128];
  memset(r, 0, sizeof *r);
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  CURL *h = curl_easy_init();
  assert_non_null(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, wr);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r->body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  CURLcode rc;
  if (wrapped) {
    cw_curl_opts o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.headers = extra;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, extra);
    rc = cw_curl_perform(h, &o);
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, extra);
    rc = curl_easy_perform(h);
  }
  assert_int_equal(rc, CURLE_OK);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  struct curl_header *hd = NULL;
  if (curl_easy_header(h, "causeway-clock", 0, CURLH_HEADER, -1, &hd) ==
          CURLHE_OK &&
      hd)
    snprintf(r->clock, sizeof r->clock, "%s", hd->value);
  curl_easy_cleanup(h);
}

static size_t field_num(const char *body, const char *name) {
  const char *p = strstr(body, name);
  assert_non_null(p);
  return (size_t)strtoul(p + strlen(name), NULL, 10);
}

static void field_str(const char *body, const char *name, char *out,
                      size_t cap) {
  const char *p = strstr(body, name);
  assert_non_null(p);
  p += strlen(name);
  size_t n = strcspn(p, " ");
  if (n >= cap)
    n = cap - 1;
  memcpy(out, p, n);
  out[n] = 0;
}

/* ---- Tests ------------------------------------------------------------------
 */

/* A request without a clock runs in a task whose clock holds only the task
 * itself, even on a worker thread that already served requests. */
static void test_task_starts_empty(void **state) {
  (void)state;
  reply r;
  for (int i = 0; i < 3; i++) {
    call("/info", 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(field_num(r.body, "clock="), 1);
    /* The response carries the task's clock back. */
    assert_true(strlen(r.clock) > 0);
    cw_clock_snapshot *s = cw_clock_snapshot_new();
    assert_int_equal(cw_clock_decode(r.clock, strlen(r.clock), s), CW_OK);
    assert_int_equal(cw_clock_snapshot_len(s), 1);
    cw_clock_snapshot_free(s);
  }
}

/* The caller's clock reaches the task, trace ids flow, and the caller
 * joins the callee's clock. */
static void test_clock_and_trace_flow(void **state) {
  (void)state;
  uint8_t trace[16];
  char hex[33], got[40];
  cw_http_stats before, after;
  assert_int_equal(cw_http_trace_begin(trace), CW_OK);
  cw__http_hex(trace, 16, hex);
  cw_clock_snapshot *mine = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_current(mine), CW_OK);
  size_t my_len = cw_clock_snapshot_len(mine);
  cw_http_stats_get(&before);
  reply r;
  call("/info", 1, NULL, &r);
  cw_http_stats_get(&after);
  assert_int_equal(r.status, 200);
  /* The task's clock: itself plus everything the caller knew. */
  assert_int_equal(field_num(r.body, "clock="), my_len + 1);
  field_str(r.body, "trace=", got, sizeof got);
  assert_string_equal(got, hex);
  assert_int_equal(after.clocks_joined, before.clocks_joined + 1);
  assert_int_equal(after.calls, before.calls + 1);
  /* After the join, the caller's clock also holds the callee task. (In
   * one process the SDK may also list the caller's own name once more, as
   * the remote actor the header named, hence >=.) */
  assert_int_equal(cw_clock_current(mine), CW_OK);
  assert_true(cw_clock_snapshot_len(mine) >= my_len + 1);
  cw_clock_snapshot_free(mine);
}

/* tracestate and the trace id are passed on by a handler's own calls. */
static void test_nested_call_passes_trace_state(void **state) {
  (void)state;
  uint8_t trace[16];
  char hex[33], got[64];
  assert_int_equal(cw_http_trace_begin(trace), CW_OK);
  cw__http_hex(trace, 16, hex);
  struct curl_slist *l = curl_slist_append(NULL, "tracestate: vendor=abc");
  reply r;
  call("/nested", 1, l, &r);
  curl_slist_free_all(l);
  assert_int_equal(r.status, 200);
  field_str(r.body, "tracestate=", got, sizeof got);
  assert_string_equal(got, "vendor=abc");
  field_str(r.body, "trace=", got, sizeof got);
  assert_string_equal(got, hex);
  /* /info's task started from /nested's clock, which held the client. */
  assert_true(field_num(r.body, "clock=") >= 3);
}

/* Malformed, oversized and missing headers are ignored and counted. */
static void test_bad_headers_counted(void **state) {
  (void)state;
  cw_http_stats a, b;
  reply r;
  static char big[CW_HTTP_HEADER_MAX + 200];
  cw_http_stats_get(&a);
  struct curl_slist *l = curl_slist_append(NULL, "causeway-clock: !!bad!!");
  l = curl_slist_append(l, "traceparent: 00-zz-01");
  call("/info", 0, l, &r);
  curl_slist_free_all(l);
  assert_int_equal(r.status, 200);
  assert_int_equal(field_num(r.body, "clock="), 1);
  char got[40];
  field_str(r.body, "trace=", got, sizeof got);
  assert_int_equal(strlen(got), 32); /* a fresh trace */
  cw_http_stats_get(&b);
  assert_int_equal(b.clock_malformed, a.clock_malformed + 1);
  assert_int_equal(b.traceparent_bad, a.traceparent_bad + 1);

  int n = snprintf(big, sizeof big, "causeway-clock: 1.");
  memset(big + n, 'A', sizeof big - (size_t)n - 1);
  big[sizeof big - 1] = 0;
  l = curl_slist_append(NULL, big);
  call("/info", 0, l, &r);
  curl_slist_free_all(l);
  assert_int_equal(r.status, 200);
  assert_int_equal(field_num(r.body, "clock="), 1);
  cw_http_stats_get(&a);
  assert_int_equal(a.clock_oversized, b.clock_oversized + 1);

  call("/info", 0, NULL, &r);
  cw_http_stats_get(&b);
  assert_int_equal(b.clock_missing, a.clock_missing + 1);
}

/* A Raceway caller (traceparent + raceway-clock) continues its trace, and
 * its clock entries reach the task. */
static void test_raceway_caller(void **state) {
  (void)state;
  cw__rw_clock *c = calloc(1, sizeof *c);
  char value[1024], line[1100], hex[33], got[40];
  cw_http_stats a, b;
  for (int i = 0; i < 16; i++)
    c->trace_id[i] = (uint8_t)(0x10 + i);
  c->span_id[0] = 1;
  c->n = 2;
  c->actor[0] = "py-api#web1-4242";
  c->counter[0] = 5;
  c->actor[1] = "py-api#web1-4242/t2";
  c->counter[1] = 3;
  assert_int_equal(cw__rw_clock_encode(c, "py-api", value, sizeof value),
                   CW_OK);
  cw__http_hex(c->trace_id, 16, hex);
  snprintf(line, sizeof line, "raceway-clock: %s", value);
  struct curl_slist *l = curl_slist_append(NULL, line);
  snprintf(line, sizeof line, "traceparent: 00-%s-0100000000000000-01", hex);
  l = curl_slist_append(l, line);
  cw_http_stats_get(&a);
  reply r;
  call("/info", 0, l, &r);
  curl_slist_free_all(l);
  cw_http_stats_get(&b);
  assert_int_equal(r.status, 200);
  field_str(r.body, "trace=", got, sizeof got);
  assert_string_equal(got, hex);
  assert_int_equal(b.raceway_clocks, a.raceway_clocks + 1);
  assert_int_equal(field_num(r.body, "clock="), 3);
  free(c);
}

/* A handler that answers without cw_http_respond still works; no clock
 * goes back then. */
static void test_plain_handler(void **state) {
  (void)state;
  reply r;
  call("/plain", 1, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "ok");
  assert_string_equal(r.clock, "");
}

static int setup(void **state) {
  (void)state;
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "glue-test";
  if (cw_init(&cfg) != CW_OK)
    return -1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  mg_init_library(0);
  const char *opts[] = {"listening_ports", "127.0.0.1:0", "num_threads", "2",
                        NULL};
  struct mg_callbacks cb;
  memset(&cb, 0, sizeof cb);
  ctx = mg_start(&cb, NULL, opts);
  if (!ctx)
    return -1;
  struct mg_server_port ports[2];
  memset(ports, 0, sizeof ports);
  if (mg_get_server_ports(ctx, 2, ports) < 1)
    return -1;
  port = ports[0].port;
  cw_http_set_request_handler(ctx, "/info", h_info, NULL);
  cw_http_set_request_handler(ctx, "/nested", h_nested, NULL);
  cw_http_set_request_handler(ctx, "/plain", h_plain, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  mg_stop(ctx);
  mg_exit_library();
  curl_global_cleanup();
  cw_shutdown();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_task_starts_empty),
      cmocka_unit_test(test_clock_and_trace_flow),
      cmocka_unit_test(test_nested_call_passes_trace_state),
      cmocka_unit_test(test_bad_headers_counted),
      cmocka_unit_test(test_raceway_caller),
      cmocka_unit_test(test_plain_handler),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
