/*
 * Load on causeway-server: 32 concurrent senders, each its own process
 * stream, post LZ4 native batches. Acknowledged counts reconcile exactly
 * with what the analysis saw and with the metrics, and the collector's peak
 * memory stays bounded (well under the raw event volume it handled).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"

#define SENDERS 32
#define BATCHES 12
#define EVENTS 1000

static tl_server srv;

typedef struct sender {
  int id;
  uint64_t accepted, failures;
} sender;

static void *send_main(void *arg) {
  sender *sd = arg;
  char url[128];
  snprintf(url, sizeof url, "%s/v1/events", srv.url);
  const char *h[] = {"Content-Encoding: lz4", NULL};
  char inst[16], var[16];
  snprintf(inst, sizeof inst, "p%d", sd->id);
  snprintf(var, sizeof var, "v%d", sd->id % 4);
  for (int b = 0; b < BATCHES; b++) {
    tl_batch_spec spec;
    memset(&spec, 0, sizeof spec);
    tl_stream_id(spec.stream_id, 5000 + (uint64_t)sd->id);
    spec.batch_no = (uint64_t)b;
    spec.instance = inst;
    spec.var = var;
    spec.nevents = EVENTS;
    spec.first_counter = (uint64_t)b * EVENTS + 1;
    spec.first_seq = (uint64_t)b * EVENTS;
    size_t len;
    uint8_t *body = tl_native_batch(&spec, 1, &len);
    char *r = NULL;
    int st = body ? tl_http("POST", url, h, body, len, &r) : -1;
    if (st == 200)
      sd->accepted += (uint64_t)tl_json_int(r, "accepted");
    else
      sd->failures++;
    free(r);
    free(body);
  }
  return NULL;
}

/* Peak resident memory of the server process, in KiB (-1 if unknown). */
static long long vm_hwm_kib(void) {
  char p[64], line[256];
  snprintf(p, sizeof p, "/proc/%d/status", (int)srv.pid);
  FILE *f = fopen(p, "r");
  long long v = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6))
      v = strtoll(line + 6, NULL, 10);
  if (f)
    fclose(f);
  return v;
}

static void test_32_senders(void **state) {
  (void)state;
  /* 32 senders share one address here; the per-address connection cap
   * (test_security_slow_clients) is not what this test measures. */
  const char *extra[] = {"--max-client-connections", "0", NULL};
  assert_int_equal(tl_server_start(&srv, NULL, extra), 0);
  pthread_t th[SENDERS];
  sender sd[SENDERS];
  for (int i = 0; i < SENDERS; i++) {
    memset(&sd[i], 0, sizeof sd[i]);
    sd[i].id = i;
    pthread_create(&th[i], NULL, send_main, &sd[i]);
  }
  uint64_t accepted = 0, failures = 0;
  for (int i = 0; i < SENDERS; i++) {
    pthread_join(th[i], NULL);
    accepted += sd[i].accepted;
    failures += sd[i].failures;
  }
  const long long total = (long long)SENDERS * BATCHES * EVENTS;
  assert_int_equal(failures, 0);
  assert_int_equal((long long)accepted, total);
  long long seen = -1;
  for (int i = 0; i < 2000 && seen < total; i++) {
    seen = tl_get_int(&srv, "/v1/summary", "summary.events", NULL);
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(seen, total);
  char u[128], *r = NULL;
  snprintf(u, sizeof u, "%s/metrics", srv.url);
  assert_int_equal(tl_http("GET", u, NULL, NULL, 0, &r), 200);
  char want[128];
  snprintf(want, sizeof want,
           "causeway_events_ingested_total{format=\"native\"} %lld\n", total);
  assert_non_null(strstr(r, want));
  snprintf(want, sizeof want, "causeway_batches_total{result=\"stored\"} %d\n",
           SENDERS * BATCHES);
  assert_non_null(strstr(r, want));
  free(r);
  /* Bounded memory: the server holds shadow state, not the events. The
   * bound is loose enough for sanitizer builds (about 3x RSS). */
  long long hwm = vm_hwm_kib();
  assert_true(hwm > 0);
  assert_true(hwm < 768 * 1024);
  int st = tl_server_stop(&srv, SIGTERM);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  tl_rmdir(srv.data_dir);
}

/* Never leave a server behind, even when an assertion failed. */
static int cleanup(void **state) {
  (void)state;
  if (srv.pid > 0) {
    tl_server_stop(&srv, SIGKILL);
    tl_rmdir(srv.data_dir);
  }
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_32_senders, cleanup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
