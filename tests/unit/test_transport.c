/* Tests for the SDK's HTTP transport sink against a real civetweb server on
 * loopback: delivery, retries on 503 and on a refused connection, and the
 * bounded queue that turns overflow into gap reports the collector sees. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <civetweb.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cw_format.h"
#include "cw_sink_http.h"

/* ---- A fake collector -----------------------------------------------------
 */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int fail_next;     /* answer 503 to this many requests */
static int down;          /* answer 503 to everything */
static int reject_all;    /* answer 400 */
static int throttle_next; /* answer 429 with Retry-After: 1 this often */
static struct timespec req_times[8]; /* arrival of the first requests */
static uint64_t got_batches, got_events, got_gap_events, got_requests;
static uint64_t seen_batch_no[4096];
static char last_content_encoding[64];

static int count_batch(void *ud, const cw_batch_ctx *ctx) {
  const cw_batch_hdr *h = cw__ctx_header(ctx);
  got_batches++;
  if (h->batch_no < 4096)
    seen_batch_no[h->batch_no]++;
  return 0;
}

static int count_event(void *ud, const cw_batch_ctx *ctx,
                       const cw_event_rec *ev) {
  got_events++;
  return 0;
}

static int count_gap(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                     uint64_t dropped, uint64_t first, uint64_t last) {
  got_gap_events += dropped;
  return 0;
}

static int on_events(struct mg_connection *conn, void *cbdata) {
  const struct mg_request_info *ri = mg_get_request_info(conn);
  long long len = ri->content_length;
  char *body = len > 0 && len < (64 << 20) ? malloc((size_t)len) : NULL;
  long long got = 0;
  while (body && got < len) {
    int r = mg_read(conn, body + got, (size_t)(len - got));
    if (r <= 0)
      break;
    got += r;
  }
  pthread_mutex_lock(&mu);
  if (got_requests < 8)
    clock_gettime(CLOCK_MONOTONIC, &req_times[got_requests]);
  got_requests++;
  const char *ce = mg_get_header(conn, "Content-Encoding");
  snprintf(last_content_encoding, sizeof last_content_encoding, "%s",
           ce ? ce : "");
  int status = 200;
  if (throttle_next > 0) {
    throttle_next--;
    status = 429;
  } else if (reject_all) {
    status = 400;
  } else if (down || fail_next > 0) {
    if (fail_next > 0)
      fail_next--;
    status = 503;
  } else if (body && got == len) {
    cw_decode_cb cb = {count_batch, count_event, count_gap, NULL};
    cw_decode_error err;
    if (cw__decode_frames((const uint8_t *)body, (size_t)len, &cb, NULL, NULL,
                          &err) != CW_DECODE_OK)
      status = 400;
  } else {
    status = 400;
  }
  pthread_mutex_unlock(&mu);
  free(body);
  if (status == 503)
    mg_printf(conn, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\n"
                    "Content-Length: 0\r\n\r\n");
  else if (status == 429)
    mg_printf(conn, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n"
                    "Content-Length: 0\r\n\r\n");
  else
    mg_printf(conn, "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\n{}", status);
  return status;
}

static struct mg_context *ctx;
static char base_url[64];

static int setup_server(void **state) {
  mg_init_library(0);
  const char *opts[] = {"listening_ports",   "127.0.0.1:0", "num_threads", "4",
                        "enable_keep_alive", "yes",         NULL};
  ctx = mg_start(NULL, NULL, opts);
  if (!ctx)
    return -1;
  mg_set_request_handler(ctx, "/v1/events", on_events, NULL);
  struct mg_server_port ports[2];
  memset(ports, 0, sizeof ports);
  if (mg_get_server_ports(ctx, 2, ports) < 1)
    return -1;
  snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", ports[0].port);
  return 0;
}

static int teardown_server(void **state) {
  mg_stop(ctx);
  mg_exit_library();
  return 0;
}

static void reset_counts(void) {
  pthread_mutex_lock(&mu);
  got_batches = got_events = got_gap_events = got_requests = 0;
  memset(seen_batch_no, 0, sizeof seen_batch_no);
  fail_next = down = reject_all = throttle_next = 0;
  pthread_mutex_unlock(&mu);
}

/* ---- Building batches -----------------------------------------------------
 */

/* One compressed batch with `events` writes by two actors. The payload is
 * made incompressible-ish so that frame sizes are predictable. */
static uint8_t *make_frame(uint64_t batch_no, int events, size_t *len) {
  cw_batch_writer *bw = cw__bw_new(1 << 20);
  cw_batch_hdr h;
  memset(&h, 0, sizeof h);
  h.version = CW_FORMAT_VERSION;
  memset(h.stream_id, 7, 16);
  h.batch_no = batch_no;
  h.service = "svc";
  h.service_len = 3;
  h.instance = "i";
  h.instance_len = 1;
  assert_int_equal(cw__bw_begin(bw, &h), 0);
  uint32_t a[2] = {cw__bw_actor(bw, "svc#i/t1", 8, CW_ACTOR_THREAD),
                   cw__bw_actor(bw, "svc#i/t2", 8, CW_ACTOR_THREAD)};
  unsigned rng = (unsigned)batch_no * 2654435761u + 1;
  for (int i = 0; i < events; i++) {
    char key[32];
    rng = rng * 1103515245u + 12345u;
    int n = snprintf(key, sizeof key, "k%08x", rng);
    cw_event_rec ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = CW_EV_WRITE;
    ev.seq = batch_no * 100000 + (uint64_t)i;
    ev.actor = a[i & 1];
    ev.counter = (uint64_t)i + 1;
    ev.object = cw__bw_string(bw, key, (size_t)n);
    assert_int_equal(cw__bw_event(bw, &ev), 0);
  }
  uint8_t *c = cw__bw_compress(bw, len);
  assert_non_null(c);
  cw__bw_free(bw);
  return c;
}

static void send_frames(cw_sink *s, uint64_t first, int n, int events,
                        int *accepted) {
  *accepted = 0;
  for (int i = 0; i < n; i++) {
    size_t len;
    uint8_t *f = make_frame(first + (uint64_t)i, events, &len);
    if (s->write(s, f, len) == 0)
      (*accepted)++;
    free(f);
  }
}

/* ---- Tests ----------------------------------------------------------------
 */

static void test_delivers_every_batch(void **state) {
  reset_counts();
  cw_sink *s = cw__sink_http_open(base_url, "svc", "i");
  assert_non_null(s);
  int accepted;
  send_frames(s, 0, 20, 50, &accepted);
  assert_int_equal(accepted, 20);
  assert_int_equal(s->flush(s), 0);
  s->close(s);
  assert_int_equal(got_batches, 20);
  assert_int_equal(got_events, 20 * 50);
  for (int i = 0; i < 20; i++)
    assert_int_equal(seen_batch_no[i], 1);
  assert_string_equal(last_content_encoding, "lz4");
  assert_int_equal(cw__http_sink_last_stats.batches_sent, 20);
  assert_int_equal(cw__http_sink_last_stats.batches_dropped, 0);
}

static void test_retries_503_with_retry_after(void **state) {
  reset_counts();
  pthread_mutex_lock(&mu);
  fail_next = 3;
  pthread_mutex_unlock(&mu);
  cw_sink *s = cw__sink_http_open(base_url, "svc", "i");
  int accepted;
  send_frames(s, 0, 1, 10, &accepted);
  assert_int_equal(s->flush(s), 0);
  s->close(s);
  assert_int_equal(got_requests, 4); /* three 503s, then the success */
  assert_int_equal(got_batches, 1);
  assert_int_equal(got_events, 10);
  assert_true(cw__http_sink_last_stats.retries >= 3);
}

static double seconds_between(const struct timespec *a,
                              const struct timespec *b) {
  return (double)(b->tv_sec - a->tv_sec) +
         (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void test_429_waits_for_retry_after(void **state) {
  reset_counts();
  pthread_mutex_lock(&mu);
  throttle_next = 1;
  pthread_mutex_unlock(&mu);
  cw_sink *s = cw__sink_http_open(base_url, "svc", "i");
  int accepted;
  send_frames(s, 0, 1, 10, &accepted);
  assert_int_equal(s->flush(s), 0);
  s->close(s);
  assert_int_equal(got_requests, 2); /* the 429, then the success */
  assert_int_equal(got_batches, 1);
  assert_int_equal(cw__http_sink_last_stats.retries, 1);
  /* The retry honoured "Retry-After: 1" rather than the 100 ms backoff: a
   * lower bound on behaviour, not a speed measurement. */
  assert_true(seconds_between(&req_times[0], &req_times[1]) >= 0.95);
}

static void test_rejected_batch_is_not_retried(void **state) {
  reset_counts();
  pthread_mutex_lock(&mu);
  reject_all = 1;
  pthread_mutex_unlock(&mu);
  cw_sink *s = cw__sink_http_open(base_url, "svc", "i");
  int accepted;
  send_frames(s, 0, 2, 5, &accepted);
  assert_int_equal(s->flush(s), 0);
  s->close(s);
  assert_int_equal(got_requests, 2);
  assert_int_equal(cw__http_sink_last_stats.batches_rejected, 2);
}

static void test_down_then_back_bounded_and_gaps_reported(void **state) {
  reset_counts();
  pthread_mutex_lock(&mu);
  down = 1;
  pthread_mutex_unlock(&mu);
  setenv("CAUSEWAY_QUEUE_BYTES", "65536", 1);
  cw_sink *s = cw__sink_http_open(base_url, "svc", "i");
  unsetenv("CAUSEWAY_QUEUE_BYTES");
  int accepted;
  /* About 200 batches of ~2 KiB compressed against a 64 KiB queue. */
  send_frames(s, 0, 200, 200, &accepted);
  cw_http_sink_stats st;
  cw__http_sink_stats(s, &st);
  assert_true(accepted < 200);
  assert_true(st.batches_dropped == (uint64_t)(200 - accepted));
  assert_int_equal(st.events_dropped, (uint64_t)(200 - accepted) * 200);
  /* Memory stays bounded: full batches fill at most the cap, gap reports
   * are tiny. */
  assert_true(st.queued_bytes <= 65536 + st.gaps_queued * 256);

  pthread_mutex_lock(&mu);
  down = 0;
  pthread_mutex_unlock(&mu);
  assert_int_equal(s->flush(s), 0);
  s->close(s);
  /* Every batch number arrived exactly once, either whole or as a gap. */
  for (int i = 0; i < 200; i++)
    assert_int_equal(seen_batch_no[i], 1);
  assert_int_equal(got_batches, 200);
  assert_int_equal(got_events + got_gap_events, 200 * 200);
  assert_int_equal(got_gap_events, (uint64_t)(200 - accepted) * 200);
}

static void test_refused_connection_retries_until_deadline(void **state) {
  /* A port nobody listens on: bind, read it, close. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  socklen_t sl = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  close(fd);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(sa.sin_port));
  setenv("CAUSEWAY_FLUSH_TIMEOUT_MS", "700", 1);
  cw_sink *s = cw__sink_http_open(url, "svc", "i");
  unsetenv("CAUSEWAY_FLUSH_TIMEOUT_MS");
  int accepted;
  send_frames(s, 0, 3, 5, &accepted);
  assert_int_equal(s->flush(s), -1); /* the deadline passes, nothing sent */
  s->close(s);
  assert_int_equal(cw__http_sink_last_stats.batches_sent, 0);
  assert_true(cw__http_sink_last_stats.retries >= 1);
  assert_int_equal(cw__http_sink_last_stats.batches_dropped, 3);
  assert_int_equal(cw__http_sink_last_stats.last_status, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_delivers_every_batch),
      cmocka_unit_test(test_retries_503_with_retry_after),
      cmocka_unit_test(test_429_waits_for_retry_after),
      cmocka_unit_test(test_rejected_batch_is_not_retried),
      cmocka_unit_test(test_down_then_back_bounded_and_gaps_reported),
      cmocka_unit_test(test_refused_connection_retries_until_deadline),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
