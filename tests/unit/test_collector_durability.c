/*
 * Durability of causeway-server: several senders ingest concurrently, the
 * collector is killed with SIGKILL mid-ingest and a torn record is appended
 * to its last segment. After restart every acknowledged event is there, the
 * torn tail was repaired, re-sending every batch (as SDKs retry) stores each
 * missing one exactly once (exact count reconciliation), and a second crash
 * and restart gives the same findings.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define SENDERS 4
#define BATCHES 120
#define EVENTS 300

static tl_server srv;
static atomic_int acked_batches, killed, finished;
static int acked[SENDERS][BATCHES];

typedef struct sender {
  int id;
  int phase; /* 1: until the crash; 2: re-send everything */
  uint64_t accepted, duplicates, failures;
} sender;

static uint8_t *make_batch(int s, int b, size_t *len) {
  tl_batch_spec spec;
  memset(&spec, 0, sizeof spec);
  tl_stream_id(spec.stream_id, 1000 + (uint64_t)s);
  spec.batch_no = (uint64_t)b;
  char inst[16];
  snprintf(inst, sizeof inst, "p%d", s);
  spec.instance = inst;
  spec.var = "shared";
  spec.nevents = EVENTS;
  spec.first_counter = (uint64_t)b * EVENTS + 1;
  spec.first_seq = (uint64_t)b * EVENTS;
  return tl_native_batch(&spec, 1, len);
}

static void *send_main(void *arg) {
  sender *sd = arg;
  char url[128];
  snprintf(url, sizeof url, "%s/v1/events", srv.url);
  const char *h[] = {"Content-Encoding: lz4", NULL};
  for (int b = 0; b < BATCHES; b++) {
    size_t len;
    uint8_t *body = make_batch(sd->id, b, &len);
    char *r = NULL;
    int st = tl_http("POST", url, h, body, len, &r);
    for (int retry = 0; st != 200 && retry < 50 && !atomic_load(&killed);
         retry++) {
      fprintf(stderr, "sender %d batch %d: status %d (%s), retrying\n", sd->id,
              b, st, r ? r : "");
      free(r);
      r = NULL;
      struct timespec ts = {0, 20 * 1000000L};
      nanosleep(&ts, NULL);
      st = tl_http("POST", url, h, body, len, &r);
    }
    free(body);
    if (st == 200) {
      sd->accepted += (uint64_t)tl_json_int(r, "accepted");
      sd->duplicates += (uint64_t)tl_json_int(r, "duplicate_batches");
      if (sd->phase == 1) {
        acked[sd->id][b] = 1;
        atomic_fetch_add(&acked_batches, 1);
      }
    } else {
      sd->failures++;
    }
    free(r);
    if (st != 200 && sd->phase == 1)
      break; /* the collector is gone */
  }
  atomic_fetch_add(&finished, 1);
  return NULL;
}

static void run_senders(sender *sd, int phase, int kill_after) {
  pthread_t th[SENDERS];
  atomic_store(&finished, 0);
  atomic_store(&killed, 0);
  for (int i = 0; i < SENDERS; i++) {
    memset(&sd[i], 0, sizeof sd[i]);
    sd[i].id = i;
    sd[i].phase = phase;
    pthread_create(&th[i], NULL, send_main, &sd[i]);
  }
  if (kill_after) {
    while (atomic_load(&acked_batches) < kill_after &&
           atomic_load(&finished) < SENDERS) {
      struct timespec ts = {0, 2 * 1000000L};
      nanosleep(&ts, NULL);
    }
    atomic_store(&killed, 1);
    tl_server_stop(&srv, SIGKILL);
  }
  for (int i = 0; i < SENDERS; i++)
    pthread_join(th[i], NULL);
}

static long long wait_ready_events(long long want) {
  long long v = -1;
  for (int i = 0; i < 800; i++) {
    char u[128];
    snprintf(u, sizeof u, "%s/readyz", srv.url);
    if (tl_http("GET", u, NULL, NULL, 0, NULL) == 200) {
      v = tl_get_int(&srv, "/v1/summary", "summary.events", NULL);
      if (v >= want)
        break;
    }
    struct timespec ts = {0, 25 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return v;
}

static long long metric(const char *name) {
  char u[128], *r = NULL;
  snprintf(u, sizeof u, "%s/metrics", srv.url);
  long long v = -1;
  if (tl_http("GET", u, NULL, NULL, 0, &r) == 200) {
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(r, key);
    if (p)
      v = strtoll(p + strlen(key), NULL, 10);
  }
  free(r);
  return v;
}

static char *findings_summary(void) {
  char u[128], *r = NULL;
  snprintf(u, sizeof u, "%s/v1/summary", srv.url);
  if (tl_http("GET", u, NULL, NULL, 0, &r) != 200) {
    free(r);
    return NULL;
  }
  return r;
}

static void test_kill9_reconcile(void **state) {
  (void)state;
  assert_int_equal(tl_server_start(&srv, NULL, NULL), 0);
  char dir[256];
  snprintf(dir, sizeof dir, "%s", srv.data_dir);
  sender sd[SENDERS];
  /* Phase 1: crash once a third of the batches are acknowledged. */
  run_senders(sd, 1, SENDERS * BATCHES / 3);
  long long acked_events = 0;
  for (int s = 0; s < SENDERS; s++)
    for (int b = 0; b < BATCHES; b++)
      acked_events += acked[s][b] * EVENTS;
  assert_true(acked_events >= (long long)SENDERS * BATCHES / 3 * EVENTS);
  /* A torn write: half a record header at the end of the last segment. */
  char seg[400];
  for (int no = 1; no < 1000; no++) {
    char p[400];
    snprintf(p, sizeof p, "%s/seg-%06d.cwlog", dir, no);
    if (access(p, F_OK))
      break;
    snprintf(seg, sizeof seg, "%s", p);
  }
  FILE *f = fopen(seg, "ab");
  assert_non_null(f);
  fwrite("\x10\x00\x00\x00\xde\xad", 1, 6, f);
  fclose(f);
  /* Restart: every acknowledged event is back, the tail was repaired. */
  assert_int_equal(tl_server_start(&srv, dir, NULL), 0);
  long long after = wait_ready_events(acked_events);
  assert_true(after >= acked_events);
  /* At least the 6 bytes appended; more when the kill cut a record. */
  assert_true(metric("causeway_store_repaired_bytes") >= 6);
  assert_int_equal(metric("causeway_store_events"), after);
  /* Phase 2: SDKs retry everything; only missing batches are stored. */
  run_senders(sd, 2, 0);
  uint64_t accepted = 0, dups = 0, fails = 0;
  for (int s = 0; s < SENDERS; s++) {
    accepted += sd[s].accepted;
    dups += sd[s].duplicates;
    fails += sd[s].failures;
  }
  assert_int_equal(fails, 0);
  const long long total = (long long)SENDERS * BATCHES * EVENTS;
  assert_int_equal((long long)accepted + after, total);
  assert_int_equal((long long)dups * EVENTS, after);
  assert_int_equal(wait_ready_events(total), total);
  char *before = findings_summary();
  assert_non_null(before);
  /* Crash again: the same findings after replay. */
  tl_server_stop(&srv, SIGKILL);
  assert_int_equal(tl_server_start(&srv, dir, NULL), 0);
  assert_int_equal(wait_ready_events(total), total);
  char *again = findings_summary();
  assert_non_null(again);
  assert_string_equal(before, again);
  assert_true(tl_json_int(again, "summary.racy_variables") == 1);
  free(before);
  free(again);
  int st = tl_server_stop(&srv, SIGTERM);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  tl_rmdir(dir);
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
      cmocka_unit_test_teardown(test_kill9_reconcile, cleanup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
