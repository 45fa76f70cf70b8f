/*
 * Slow and refused clients against causeway-server (issue 12, point 2).
 * Three attacker addresses open, all at once, 90 connections, five times
 * the server's 18 workers: from 127.0.0.2 slow request heads (a byte per
 * 300 ms), from 127.0.0.3 slow bodies (valid head and key, Content-Length
 * 100000, then a byte per 300 ms, well inside the per-read timeout) and
 * from 127.0.0.4 unauthenticated posts that announce a body and never send
 * it. Meanwhile a well-behaved client on 127.0.0.1 asks /healthz and
 * ingests batches.
 *
 * Shown: every /healthz and every ingest of the good client is answered
 * (200) within 3 s; connections over the per-address cap get 503 at once;
 * a slow head is cut by the head deadline and a slow body by the whole-body
 * deadline (408) even though bytes keep arriving; the unauthenticated posts
 * get 401 at once without the server waiting for their bodies.
 * Loopback only; bounded: 90 connections, about 12 s.
 * Usage: slow_clients (CW_SERVER_BIN names causeway-server)
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define PER_KIND 30
#define HEAD_MS 1500
#define BODY_MS 2500
#define CAP 4
#define RUN_S 9

enum { SLOW_HEAD, SLOW_BODY, NO_AUTH, KINDS };
static const char *kind_name[KINDS] = {"slow head", "slow body", "no key"};

typedef struct att {
  int fd, kind, closed;
  size_t sent;
  double opened, closed_at;
  char resp[256];
  size_t rlen;
} att;

static tl_server srv;
static atomic_int stop_probe;
static int failures;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "FAIL: " __VA_ARGS__);                                   \
      fputc('\n', stderr);                                                     \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static int connect_from(const char *src) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  inet_pton(AF_INET, src, &a.sin_addr);
  if (bind(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return -1;
  }
  a.sin_port = htons((uint16_t)srv.port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

/* The good client: /healthz and small ingests, each timed. */
static double worst_health, worst_ingest;
static int probes, probe_failures;
static _Atomic double in_flight_since; /* 0 when no request is out */

static void *probe_main(void *arg) {
  (void)arg;
  char hurl[128], iurl[128];
  snprintf(hurl, sizeof hurl, "%s/healthz", srv.url);
  snprintf(iurl, sizeof iurl, "%s/v1/events", srv.url);
  const char *h[] = {"Content-Encoding: lz4", "Authorization: Bearer k", NULL};
  for (int b = 0; !atomic_load(&stop_probe); b++) {
    double t0 = now_s();
    atomic_store(&in_flight_since, t0);
    int st = tl_http("GET", hurl, NULL, NULL, 0, NULL);
    double t1 = now_s();
    atomic_store(&in_flight_since, t1);
    tl_batch_spec spec;
    memset(&spec, 0, sizeof spec);
    tl_stream_id(spec.stream_id, 77);
    spec.batch_no = (uint64_t)b;
    spec.nevents = 10;
    spec.first_counter = (uint64_t)b * 10 + 1;
    spec.first_seq = (uint64_t)b * 10;
    size_t len;
    uint8_t *body = tl_native_batch(&spec, 1, &len);
    int ist = tl_http("POST", iurl, h, body, len, NULL);
    free(body);
    double t2 = now_s();
    atomic_store(&in_flight_since, 0.0);
    if (t1 - t0 > worst_health)
      worst_health = t1 - t0;
    if (t2 - t1 > worst_ingest)
      worst_ingest = t2 - t1;
    probes++;
    if (st != 200 || ist != 200) {
      fprintf(stderr, "probe %d: healthz %d, ingest %d\n", b, st, ist);
      probe_failures++;
    }
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static void send_some(att *a, const char *msg, size_t n) {
  if (a->closed || a->sent >= strlen(msg))
    return;
  if (n > strlen(msg) - a->sent)
    n = strlen(msg) - a->sent;
  ssize_t w = send(a->fd, msg + a->sent, n, MSG_NOSIGNAL);
  if (w > 0)
    a->sent += (size_t)w;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  char cap[16], hms[16], bms[16];
  snprintf(cap, sizeof cap, "%d", CAP);
  snprintf(hms, sizeof hms, "%d", HEAD_MS);
  snprintf(bms, sizeof bms, "%d", BODY_MS);
  const char *extra[] = {"--threads",
                         "16",
                         "--max-subscribers",
                         "2",
                         "--max-client-connections",
                         cap,
                         "--header-timeout-ms",
                         hms,
                         "--body-timeout-ms",
                         bms,
                         "--api-key",
                         "k",
                         "--viewer-dir",
                         "",
                         NULL};
  if (tl_server_start(&srv, NULL, extra)) {
    fprintf(stderr, "FAIL: server did not start\n");
    return 1;
  }
  int probe_src = connect_from("127.0.0.4");
  if (probe_src < 0) {
    fprintf(stderr, "SKIP: cannot bind 127.0.0.4\n");
    tl_server_stop(&srv, SIGKILL);
    tl_rmdir(srv.data_dir);
    return 77;
  }
  close(probe_src);
  /* The slow head never ends; the slow body never completes. */
  static char head_slow[4096];
  size_t hl = (size_t)snprintf(head_slow, sizeof head_slow,
                               "POST /v1/events HTTP/1.1\r\nHost: x\r\n");
  while (hl + 2 < sizeof head_slow)
    head_slow[hl++] = 'a';
  head_slow[hl] = '\0';
  static char body_slow[200000];
  size_t bl = (size_t)snprintf(body_slow, sizeof body_slow,
                               "POST /v1/events HTTP/1.1\r\nHost: x\r\n"
                               "Authorization: Bearer k\r\n"
                               "Content-Length: 100000\r\n\r\n");
  memset(body_slow + bl, 'x', 100000);
  body_slow[bl + 100000] = '\0';
  const char *noauth = "POST /v1/events HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 100000\r\n\r\n";
  att a[KINDS * PER_KIND];
  size_t na = 0;
  for (int k = 0; k < KINDS; k++)
    for (int i = 0; i < PER_KIND; i++) {
      memset(&a[na], 0, sizeof a[na]);
      a[na].kind = k;
      a[na].fd = connect_from(k == SLOW_HEAD   ? "127.0.0.2"
                              : k == SLOW_BODY ? "127.0.0.3"
                                               : "127.0.0.4");
      a[na].opened = now_s();
      if (a[na].fd < 0) {
        fprintf(stderr, "FAIL: connect %zu: %s\n", na, strerror(errno));
        return 1;
      }
      na++;
    }
  pthread_t probe;
  pthread_create(&probe, NULL, probe_main, NULL);
  /* First bytes: the slow body sends its head whole, no-key everything. */
  for (size_t i = 0; i < na; i++) {
    if (a[i].kind == SLOW_HEAD)
      send_some(&a[i], head_slow, 20);
    else if (a[i].kind == SLOW_BODY)
      send_some(&a[i], body_slow, bl + 1);
    else
      send_some(&a[i], noauth, strlen(noauth));
  }
  double start = now_s(), last_tick = start;
  while (now_s() - start < RUN_S) {
    struct pollfd p[KINDS * PER_KIND];
    for (size_t i = 0; i < na; i++) {
      p[i].fd = a[i].closed ? -1 : a[i].fd;
      p[i].events = POLLIN;
      p[i].revents = 0;
    }
    poll(p, na, 50);
    double t = now_s();
    for (size_t i = 0; i < na; i++) {
      if (a[i].closed || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[512];
      ssize_t r = recv(a[i].fd, buf, sizeof buf, 0);
      if (r > 0) {
        size_t room = sizeof a[i].resp - 1 - a[i].rlen;
        size_t n = (size_t)r < room ? (size_t)r : room;
        memcpy(a[i].resp + a[i].rlen, buf, n);
        a[i].rlen += n;
        a[i].resp[a[i].rlen] = '\0';
      } else if (r == 0 || errno != EAGAIN) {
        a[i].closed = 1;
        a[i].closed_at = t;
      }
    }
    if (t - last_tick >= 0.3) { /* one more byte each */
      last_tick = t;
      for (size_t i = 0; i < na; i++)
        if (a[i].kind == SLOW_HEAD)
          send_some(&a[i], head_slow, 1);
        else if (a[i].kind == SLOW_BODY)
          send_some(&a[i], body_slow, 1);
    }
  }
  atomic_store(&stop_probe, 1);
  double since = atomic_load(&in_flight_since);
  if (since > 0 && now_s() - since > 3.0) {
    /* A request of the good client hangs: fail now, do not wait for it. */
    fprintf(stderr, "FAIL: a /healthz or ingest request hangs for %.1f s\n",
            now_s() - since);
    tl_server_stop(&srv, SIGKILL);
    pthread_join(probe, NULL);
    tl_rmdir(srv.data_dir);
    return 1;
  }
  pthread_join(probe, NULL);
  /* Verdicts. */
  int by_status[KINDS][5] = {{0}}; /* 503, 408, 401, closed silently, open */
  double worst_close[KINDS] = {0};
  for (size_t i = 0; i < na; i++) {
    int k = a[i].kind, slot;
    if (!strncmp(a[i].resp, "HTTP/1.1 503", 12))
      slot = 0;
    else if (!strncmp(a[i].resp, "HTTP/1.1 408", 12))
      slot = 1;
    else if (!strncmp(a[i].resp, "HTTP/1.1 401", 12))
      slot = 2;
    else
      slot = a[i].closed ? 3 : 4;
    by_status[k][slot]++;
    double life = a[i].closed ? a[i].closed_at - a[i].opened : RUN_S;
    if (life > worst_close[k])
      worst_close[k] = life;
    close(a[i].fd);
  }
  for (int k = 0; k < KINDS; k++)
    printf("%-9s: 503 %d, 408 %d, 401 %d, closed %d, still open %d; "
           "longest held %.1f s\n",
           kind_name[k], by_status[k][0], by_status[k][1], by_status[k][2],
           by_status[k][3], by_status[k][4], worst_close[k]);
  printf("good client: %d rounds, worst /healthz %.2f s, worst ingest "
         "%.2f s, failures %d\n",
         probes, worst_health, worst_ingest, probe_failures);
  CHECK(probes >= 10, "only %d probe rounds in %d s", probes, RUN_S);
  CHECK(probe_failures == 0, "%d probe requests failed", probe_failures);
  CHECK(worst_health < 3.0, "/healthz took %.2f s", worst_health);
  CHECK(worst_ingest < 3.0, "ingest took %.2f s", worst_ingest);
  for (int k = 0; k < KINDS; k++)
    CHECK(by_status[k][4] == 0, "%s: %d connections still open after %d s",
          kind_name[k], by_status[k][4], RUN_S);
  CHECK(by_status[SLOW_HEAD][0] + by_status[SLOW_BODY][0] +
                by_status[NO_AUTH][0] >=
            KINDS * PER_KIND / 2,
        "too few connections refused by the per-address cap");
  /* Slow heads: cut by the head deadline (plus a poll tick), not later. */
  CHECK(worst_close[SLOW_HEAD] < HEAD_MS / 1000.0 + 2.0,
        "a slow head held its connection %.1f s", worst_close[SLOW_HEAD]);
  /* Slow bodies: bytes kept coming, yet the whole-body deadline cut them. */
  CHECK(by_status[SLOW_BODY][1] >= 1, "no slow body got 408");
  CHECK(worst_close[SLOW_BODY] < (HEAD_MS + BODY_MS) / 1000.0 + 2.0,
        "a slow body held its connection %.1f s", worst_close[SLOW_BODY]);
  /* No key: 401 at once, the announced body never awaited. */
  CHECK(by_status[NO_AUTH][2] >= 1, "no 401 for the posts without a key");
  CHECK(worst_close[NO_AUTH] < 2.0, "a post without a key held %.1f s",
        worst_close[NO_AUTH]);
  tl_server_stop(&srv, SIGTERM);
  tl_rmdir(srv.data_dir);
  if (failures)
    return 1;
  printf("PASS\n");
  return 0;
}
