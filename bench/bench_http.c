/*
 * bench_http: cost of the HTTP glue, next to baselines measured in the same
 * run.
 *
 * 1. Per-request overhead: one civetweb server (loopback, keep-alive) with
 *    the same handler registered twice, plain (/plain: mg_set_request_handler,
 *    the mg_response_header_* calls cw_http_respond makes) and instrumented
 *    (/traced: cw_http_set_request_handler, cw_http_respond); one libcurl
 *    client reusing its connection calls
 *    /plain with curl_easy_perform and /traced with cw_curl_perform, in
 *    alternating rounds. Reported: median µs per request of each, and the
 *    difference (the glue's cost on both sides: headers, clock encode and
 *    decode, task begin/end, five events).
 * 2. Clock header size against the number of actors in the clock: the
 *    causeway-clock value next to Raceway's raceway-clock for the same
 *    entries.
 *
 * Usage: bench_http [REQUESTS_PER_ROUND [ROUNDS]]   (default 2000 x 7)
 * Events are recorded and discarded unless CAUSEWAY_TRACE_FILE is set.
 */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causeway.h"
#include "causeway/http.h"
#include "cw_http_int.h"

/* The same response as cw_http_respond() builds, without the glue. */
static int h_plain(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  mg_response_header_start(conn, 200);
  mg_response_header_add(conn, "Content-Type", "text/plain", -1);
  mg_response_header_add(conn, "Content-Length", "2", -1);
  mg_response_header_send(conn);
  mg_write(conn, "ok", 2);
  return 200;
}

static int h_traced(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  cw_http_respond(conn, 200, "text/plain", "ok", 2);
  return 200;
}

static size_t discard(char *p, size_t s, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return s * n;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Runs n requests; @return µs per request. */
static double round_us(CURL *h, const char *url, int traced, int n) {
  curl_easy_setopt(h, CURLOPT_URL, url);
  uint64_t t0 = cw_now_ns();
  for (int i = 0; i < n; i++) {
    CURLcode rc = traced ? cw_curl_perform(h, NULL) : curl_easy_perform(h);
    if (rc != CURLE_OK) {
      fprintf(stderr, "request failed: %s\n", curl_easy_strerror(rc));
      exit(1);
    }
  }
  return (double)(cw_now_ns() - t0) / 1e3 / n;
}

static void overhead(int n, int rounds) {
  const char *opts[] = {"listening_ports",
                        "127.0.0.1:0",
                        "num_threads",
                        "2",
                        "enable_keep_alive",
                        "yes",
                        "tcp_nodelay",
                        "1",
                        NULL};
  struct mg_callbacks cb;
  memset(&cb, 0, sizeof cb);
  struct mg_context *ctx = mg_start(&cb, NULL, opts);
  struct mg_server_port ports[2];
  memset(ports, 0, sizeof ports);
  if (!ctx || mg_get_server_ports(ctx, 2, ports) < 1) {
    fprintf(stderr, "cannot start civetweb\n");
    exit(1);
  }
  mg_set_request_handler(ctx, "/plain", h_plain, NULL);
  cw_http_set_request_handler(ctx, "/traced", h_traced, NULL);
  char plain[64], traced[64];
  snprintf(plain, sizeof plain, "http://127.0.0.1:%d/plain", ports[0].port);
  snprintf(traced, sizeof traced, "http://127.0.0.1:%d/traced", ports[0].port);
  CURL *h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  double *p = calloc((size_t)rounds, sizeof *p);
  double *t = calloc((size_t)rounds, sizeof *t);
  double *sv = calloc((size_t)rounds, sizeof *sv);
  round_us(h, plain, 0, n / 10 + 1); /* warm up the connection */
  round_us(h, traced, 1, n / 10 + 1);
  for (int r = 0; r < rounds; r++) {
    p[r] = round_us(h, plain, 0, n);
    t[r] = round_us(h, traced, 1, n);
    sv[r] = round_us(h, traced, 0, n);
  }
  qsort(sv, (size_t)rounds, sizeof *sv, cmp_double);
  qsort(p, (size_t)rounds, sizeof *p, cmp_double);
  qsort(t, (size_t)rounds, sizeof *t, cmp_double);
  double mp = p[rounds / 2], mt = t[rounds / 2];
  printf("per-request latency, loopback keep-alive, %d requests x %d "
         "rounds (median round)\n",
         n, rounds);
  printf("  %-44s %8.1f us\n", "uninstrumented (curl_easy_perform, /plain)",
         mp);
  printf("  %-44s %8.1f us\n", "instrumented (cw_curl_perform, /traced)", mt);
  printf("  %-44s %8.1f us (%+.0f%%)\n", "glue overhead per request", mt - mp,
         100.0 * (mt - mp) / mp);
  printf("  %-44s %8.1f us\n", "  of which server side (plain client, /traced)",
         sv[rounds / 2] - mp);
  cw_stats st;
  cw_stats_get(&st);
  cw_clock_snapshot *mine = cw_clock_snapshot_new();
  cw_clock_current(mine);
  printf("  events recorded: %llu (dropped %llu); the client's clock holds "
         "%zu actors\n",
         (unsigned long long)st.events, (unsigned long long)st.dropped,
         cw_clock_snapshot_len(mine));
  cw_clock_snapshot_free(mine);
  free(p);
  free(t);
  free(sv);
  curl_easy_cleanup(h);
  mg_stop(ctx);
}

static void header_sizes(void) {
  static const size_t ks[] = {1, 2, 4, 8, 16, 32, 64, 128, 1024};
  static char names[1024][64];
  static const char *ptrs[1024];
  static uint64_t ctr[1024];
  char buf[CW_CLOCK_HEADER_MAX + 1];
  static char rw[64 * 1024];
  printf("\nclock header size against actors in the clock\n");
  printf("  %8s %16s %16s %16s\n", "actors", "causeway-clock", "raceway-clock*",
         "entries sent");
  for (size_t i = 0; i < 1024; i++) {
    snprintf(names[i], sizeof names[i], "svc%zu#web%zu-4242/task-%zu", i % 4,
             i % 3, 1000 + i);
    ptrs[i] = names[i];
    ctr[i] = 100 + 7 * i;
  }
  for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
    size_t k = ks[j], n = k < CW_CLOCK_MAX_ENTRIES ? k : CW_CLOCK_MAX_ENTRIES;
    cw_clock_snapshot *s = cw_clock_snapshot_new();
    size_t len = 0;
    /* The SDK keeps at most CW_CLOCK_MAX_ENTRIES entries per snapshot. */
    if (!s || cw_clock_snapshot_set(s, ptrs, ctr, n) != CW_OK ||
        cw_clock_encode(s, buf, sizeof buf, &len) != CW_OK) {
      fprintf(stderr, "encode failed at %zu actors\n", k);
      exit(1);
    }
    cw_clock_snapshot_free(s);
    /* Raceway sends its whole vector: all k entries, JSON in base64. */
    size_t rlen = 0;
    size_t off = (size_t)snprintf(rw, sizeof rw,
                                  "{\"trace_id\":\"%032d\","
                                  "\"span_id\":\"%016d\",\"parent_span_id\":"
                                  "null,\"service\":\"svc0\",\"instance\":"
                                  "\"web0\",\"clock\":[",
                                  1, 1);
    for (size_t i = 0; i < k && off + 80 < sizeof rw; i++)
      off +=
          (size_t)snprintf(rw + off, sizeof rw - off, "%s[\"%s\",%llu]",
                           i ? "," : "", names[i], (unsigned long long)ctr[i]);
    off += (size_t)snprintf(rw + off, sizeof rw - off, "]}");
    rlen = 3 + (off * 4 + 2) / 3; /* "v1;" + base64 without padding */
    printf("  %8zu %16zu %16zu %16zu\n", k, len, rlen, n);
  }
  printf("  * Raceway's header for the same entries (it sends every entry;"
         " computed size)\n");
}

int main(int argc, char **argv) {
  int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2000;
  int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 7;
  if (n < 1 || rounds < 1)
    return 2;
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "bench-http";
  if (cw_init(&cfg) != CW_OK)
    return 1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  mg_init_library(0);
  overhead(n, rounds);
  header_sizes();
  mg_exit_library();
  curl_global_cleanup();
  cw_shutdown();
  return 0;
}
