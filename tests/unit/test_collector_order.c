/*
 * Arrival order does not change causeway-server's findings: the batches of
 * two processes whose events are ordered across processes (a clock carried
 * from one to the other) are sent to one collector in program order and to
 * another shuffled across and within processes. Both report the same
 * summary, and it is the expected one (only the unordered accesses race).
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
#include <time.h>

#include "cw_format.h"
#include "testlib.h"

typedef struct ev_spec {
  uint32_t kind;
  const char *object;
  uint64_t counter;
  const char *join_actor; /* global name of a remote actor, or NULL */
  uint64_t join_counter;
} ev_spec;

static uint8_t *batch(const char *service, uint64_t no, const ev_spec *evs,
                      size_t n, size_t *len) {
  cw_batch_writer *w = cw__bw_new(1 << 20);
  cw_batch_hdr h;
  memset(&h, 0, sizeof h);
  h.version = CW_FORMAT_VERSION;
  tl_stream_id(h.stream_id, service[0]);
  h.batch_no = no;
  h.service = service;
  h.service_len = strlen(service);
  h.instance = "i1";
  h.instance_len = 2;
  h.pid = 7;
  uint8_t *out = NULL;
  if (w && cw__bw_begin(w, &h) == 0) {
    uint32_t me = cw__bw_actor(w, "main", 4, CW_ACTOR_THREAD);
    uint32_t file = cw__bw_string(w, service, strlen(service));
    int ok = me && file;
    for (size_t i = 0; ok && i < n; i++) {
      cw_event_rec ev;
      memset(&ev, 0, sizeof ev);
      cw_clock_entry join;
      ev.kind = evs[i].kind;
      ev.seq = evs[i].counter;
      ev.actor = me;
      ev.counter = evs[i].counter;
      ev.mono_ns = 1000 * evs[i].counter;
      ev.object = cw__bw_string(w, evs[i].object, strlen(evs[i].object));
      ev.file = file;
      ev.line = (uint32_t)(10 + evs[i].counter);
      /* The two services' variables are shared state (a database row):
       * keys are process-local unless marked shared. */
      if (ev.kind == CW_EV_READ || ev.kind == CW_EV_WRITE)
        ev.flags |= CW_EVF_SHARED;
      if (evs[i].join_actor) {
        join.actor = cw__bw_actor(w, evs[i].join_actor,
                                  strlen(evs[i].join_actor), CW_ACTOR_REMOTE);
        join.counter = evs[i].join_counter;
        ev.flags |= CW_EVF_JOINS;
        ev.joins = &join;
        ev.njoins = 1;
      }
      ok = cw__bw_event(w, &ev) == 0;
    }
    if (ok)
      out = cw__bw_compress(w, len);
  }
  cw__bw_free(w);
  return out;
}

/* Process a: writes x twice, releases k, writes y and z.
 * Process b: writes w, acquires k (clock of a at its release), writes x
 * (ordered after a's writes), writes y and reads z (unordered: races). */
static const ev_spec A0[] = {{CW_EV_WRITE, "x", 1, NULL, 0},
                             {CW_EV_WRITE, "x", 2, NULL, 0}};
static const ev_spec A1[] = {{CW_EV_ANN_RELEASE, "k", 3, NULL, 0}};
static const ev_spec A2[] = {{CW_EV_WRITE, "y", 4, NULL, 0},
                             {CW_EV_WRITE, "z", 5, NULL, 0}};
static const ev_spec B0[] = {{CW_EV_WRITE, "w", 1, NULL, 0}};
static const ev_spec B1[] = {{CW_EV_ANN_ACQUIRE, "k", 2, "a#i1/main", 3},
                             {CW_EV_WRITE, "x", 3, NULL, 0}};
static const ev_spec B2[] = {{CW_EV_WRITE, "y", 4, NULL, 0},
                             {CW_EV_READ, "z", 5, NULL, 0}};

typedef struct bref {
  const char *svc;
  uint64_t no;
  const ev_spec *evs;
  size_t n;
} bref;

static const bref ordered[] = {{"a", 0, A0, 2}, {"a", 1, A1, 1},
                               {"a", 2, A2, 2}, {"b", 0, B0, 1},
                               {"b", 1, B1, 2}, {"b", 2, B2, 2}};
static const bref shuffled[] = {{"b", 2, B2, 2}, {"b", 1, B1, 2},
                                {"a", 2, A2, 2}, {"b", 0, B0, 1},
                                {"a", 1, A1, 1}, {"a", 0, A0, 2}};

static void send_all(const tl_server *s, const bref *order, size_t n) {
  char url[128];
  snprintf(url, sizeof url, "%s/v1/events", s->url);
  const char *h[] = {"Content-Encoding: lz4", NULL};
  for (size_t i = 0; i < n; i++) {
    size_t len;
    uint8_t *body =
        batch(order[i].svc, order[i].no, order[i].evs, order[i].n, &len);
    assert_non_null(body);
    char *r = NULL;
    assert_int_equal(tl_http("POST", url, h, body, len, &r), 200);
    assert_int_equal(tl_json_int(r, "accepted"), (long long)order[i].n);
    free(r);
    free(body);
  }
}

static char *settled_summary(const tl_server *s) {
  char url[128];
  snprintf(url, sizeof url, "%s/v1/summary", s->url);
  for (int i = 0; i < 400; i++) {
    char *r = NULL;
    if (tl_http("GET", url, NULL, NULL, 0, &r) == 200 &&
        tl_json_int(r, "summary.events") == 10 &&
        tl_json_int(r, "summary.pending_events") == 0)
      return r;
    free(r);
    struct timespec ts = {0, 25 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static tl_server s1, s2;

static void test_shuffled_batches_same_findings(void **state) {
  (void)state;
  assert_int_equal(tl_server_start(&s1, NULL, NULL), 0);
  assert_int_equal(tl_server_start(&s2, NULL, NULL), 0);
  send_all(&s1, ordered, 6);
  send_all(&s2, shuffled, 6);
  char *a = settled_summary(&s1);
  char *b = settled_summary(&s2);
  assert_non_null(a);
  assert_non_null(b);
  assert_string_equal(a, b);
  assert_int_equal(tl_json_int(a, "summary.racy_variables"), 2); /* y, z */
  assert_int_equal(tl_get_int(&s1, "/v1/races?variable=x", "total", NULL), 0);
  assert_int_equal(tl_get_int(&s2, "/v1/races?variable=x", "total", NULL), 0);
  free(a);
  free(b);
  /* Stop both at once: each civetweb shutdown takes about 2 s. */
  kill(s1.pid, SIGTERM);
  int st1 = tl_server_stop(&s2, SIGTERM);
  int st2 = tl_server_stop(&s1, SIGTERM);
  assert_true(WIFEXITED(st1) && WEXITSTATUS(st1) == 0);
  assert_true(WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
  tl_rmdir(s1.data_dir);
  tl_rmdir(s2.data_dir);
}

/* Never leave a server behind, even when an assertion failed. */
static int cleanup(void **state) {
  (void)state;
  tl_server *all[2] = {&s1, &s2};
  for (int i = 0; i < 2; i++)
    if (all[i]->pid > 0) {
      tl_server_stop(all[i], SIGKILL);
      tl_rmdir(all[i]->data_dir);
    }
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_shuffled_batches_same_findings, cleanup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
