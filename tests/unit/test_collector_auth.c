/*
 * Security and live push of causeway-server: API keys (Bearer and
 * X-Causeway-Key, 401 otherwise, open health routes), per-key rate limits
 * (429 with Retry-After, buckets independent per key), and the SSE stream
 * (bounded subscribers, new findings pushed as they appear).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"

static tl_server srv;
static char url[256];

static const char *U(const char *path) {
  snprintf(url, sizeof url, "%s%s", srv.url, path);
  return url;
}

static int setup(void **state) {
  (void)state;
  const char *extra[] = {"--api-key",
                         "k1",
                         "--api-key",
                         "secret-two",
                         "--api-key",
                         "k3",
                         "--rate-limit",
                         "0.5",
                         "--rate-burst",
                         "3",
                         "--max-subscribers",
                         "1",
                         NULL};
  return tl_server_start(&srv, NULL, extra);
}

static int teardown(void **state) {
  (void)state;
  int st = tl_server_stop(&srv, SIGTERM);
  tl_rmdir(srv.data_dir);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void test_keys(void **state) {
  (void)state;
  char val[64], *r = NULL;
  assert_int_equal(tl_http_hdr("GET", U("/v1/summary"), NULL, NULL, 0, &r,
                               "WWW-Authenticate", val, sizeof val),
                   401);
  assert_non_null(strstr(val, "Bearer"));
  assert_non_null(strstr(r, "\"error\""));
  free(r);
  const char *wrong[][2] = {{"Authorization: Bearer nope", NULL},
                            {"Authorization: Bearer secret-tw", NULL},
                            {"Authorization: Bearer secret-two2", NULL},
                            {"X-Causeway-Key: K1", NULL},
                            {"Authorization: Basic secret-two", NULL}};
  for (size_t i = 0; i < 5; i++)
    assert_int_equal(tl_http("GET", U("/v1/races"), wrong[i], NULL, 0, NULL),
                     401);
  const char *bearer[] = {"Authorization: Bearer secret-two", NULL};
  assert_int_equal(tl_http("GET", U("/v1/summary"), bearer, NULL, 0, NULL),
                   200);
  /* Ingest routes need a key too; Raceway's route answers in its shape. */
  assert_int_equal(
      tl_http("POST", U("/events"), NULL, "{\"events\":[]}", 13, &r), 401);
  assert_int_equal(tl_json_int(r, "success"), -1); /* false, not an int */
  assert_non_null(strstr(r, "\"success\":false"));
  free(r);
  assert_int_equal(tl_http("POST", U("/v1/events"), NULL, "x", 1, NULL), 401);
  /* Health and metrics stay open for probes and scrapers. */
  assert_int_equal(tl_http("GET", U("/healthz"), NULL, NULL, 0, NULL), 200);
  assert_int_equal(tl_http("GET", U("/metrics"), NULL, NULL, 0, NULL), 200);
}

static void test_rate_limit(void **state) {
  (void)state;
  const char *k1[] = {"X-Causeway-Key: k1", NULL};
  int limited = 0, ok = 0;
  char val[32] = "";
  for (int i = 0; i < 10 && !limited; i++) {
    int st = tl_http_hdr("GET", U("/v1/summary"), k1, NULL, 0, NULL,
                         "Retry-After", val, sizeof val);
    if (st == 200)
      ok++;
    else if (st == 429)
      limited = 1;
  }
  assert_true(ok >= 3); /* the burst */
  assert_int_equal(limited, 1);
  assert_true(strtol(val, NULL, 10) >= 1);
  /* Another key has its own bucket. */
  const char *k2[] = {"Authorization: Bearer secret-two", NULL};
  assert_int_equal(tl_http("GET", U("/v1/summary"), k2, NULL, 0, NULL), 200);
}

/* Requests with a wrong key are rate-limited per address (issue 12): a
 * burst, then 429 with Retry-After instead of another 401. */
static void test_wrong_keys_limited(void **state) {
  (void)state;
  const char *wrong[] = {"Authorization: Bearer guess", NULL};
  int unauthorized = 0, limited = 0;
  char val[32] = "";
  for (int i = 0; i < 60 && !limited; i++) {
    int st = tl_http_hdr("GET", U("/v1/summary"), wrong, NULL, 0, NULL,
                         "Retry-After", val, sizeof val);
    unauthorized += st == 401;
    limited += st == 429;
  }
  assert_true(unauthorized >= 10);
  assert_int_equal(limited, 1);
  assert_true(strtol(val, NULL, 10) >= 1);
  /* A right key from the same address is not affected. */
  const char *k3[] = {"X-Causeway-Key: k3", NULL};
  assert_int_equal(tl_http("GET", U("/v1/summary"), k3, NULL, 0, NULL), 200);
}

typedef struct sse_state {
  atomic_int connected, saw_findings, saw_race, done;
  char buf[1 << 16];
  size_t len;
} sse_state;

static size_t sse_data(char *p, size_t sz, size_t nm, void *ud) {
  sse_state *s = ud;
  size_t n = sz * nm;
  size_t room = sizeof s->buf - 1 - s->len;
  size_t k = n < room ? n : room;
  memcpy(s->buf + s->len, p, k);
  s->len += k;
  s->buf[s->len] = '\0';
  atomic_store(&s->connected, 1);
  if (strstr(s->buf, "event: findings"))
    atomic_store(&s->saw_findings, 1);
  if (strstr(s->buf, "\"racy_variables\":1")) {
    atomic_store(&s->saw_race, 1);
    return 0; /* abort the transfer: done */
  }
  return k == n ? n : 0;
}

static void *sse_main(void *arg) {
  sse_state *s = arg;
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "X-Causeway-Key: k3");
  char u[128];
  snprintf(u, sizeof u, "%s/v1/stream", srv.url);
  curl_easy_setopt(c, CURLOPT_URL, u);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_perform(c);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  atomic_store(&s->done, 1);
  return NULL;
}

static void test_sse_push(void **state) {
  (void)state;
  static sse_state s;
  pthread_t th;
  pthread_create(&th, NULL, sse_main, &s);
  /* The stream opens with the current summary. */
  for (int i = 0; i < 400 && !atomic_load(&s.saw_findings); i++) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(atomic_load(&s.connected), 1);
  assert_int_equal(atomic_load(&s.saw_findings), 1);
  /* One subscriber at most (--max-subscribers 1). */
  const char *k3[] = {"X-Causeway-Key: k3", NULL};
  assert_int_equal(tl_http("GET", U("/v1/stream"), k3, NULL, 0, NULL), 503);
  /* A lost update arrives: the new finding is pushed. */
  const char *src = getenv("CW_SOURCE_DIR");
  assert_non_null(src);
  char p[512];
  snprintf(p, sizeof p, "%s/tests/collector/raceway-lost-update.json", src);
  FILE *f = fopen(p, "rb");
  assert_non_null(f);
  static char body[1 << 16];
  size_t len = fread(body, 1, sizeof body, f);
  fclose(f);
  const char *k2[] = {"Authorization: Bearer secret-two", NULL};
  assert_int_equal(tl_http("POST", U("/events"), k2, body, len, NULL), 200);
  pthread_join(th, NULL);
  assert_int_equal(atomic_load(&s.saw_race), 1);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keys),
      cmocka_unit_test(test_rate_limit),
      cmocka_unit_test(test_wrong_keys_limited),
      cmocka_unit_test(test_sse_push),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  curl_global_cleanup();
  return rc;
}
