/*
 * Memory amplification against causeway-server (issue 12, point 4), the
 * issue's attack shapes scaled to a test, on a real server over HTTP:
 *   - 24 concurrent clients post small LZ4 bodies (about 240 KB) that
 *     decompress to 60 MiB each, with and without a declared content size;
 *   - 8 concurrent clients post Raceway bodies of 200,000 `{}` events and
 *     of a million `{}` events (the 3 MiB body);
 *   - then one 200,000-event body alone, which fits and is analysed;
 *   - meanwhile a probe asks /healthz and ingests a small valid batch.
 * The server runs with --ingest-memory 96M --max-decoded 64M --queue-bytes
 * 16M --event-memory 0 (no timeline of kept events: what the analysis
 * keeps by design would blur what requests give back). Shown: peak RSS (VmHWM)
 * stays under the documented bound (baseline
 * + ingest memory + queue + one analysis decode) plus a 48 MiB margin; RSS
 * after the burst returns to within 32 MiB of the baseline; over-limit
 * bodies get 413, bodies refused for a momentarily full budget get 503 with
 * Retry-After; the body alone gets 200; every /healthz answers 200 and the
 * probe's batch is stored (after retrying on 503). Bounded: about 10 s,
 * loopback only. Usage: mem_amplification (CW_SERVER_BIN names causeway-server)
 */
#define _POSIX_C_SOURCE 200809L
#include <lz4frame.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define MIB (1024.0 * 1024.0)
#define BUDGET_MB 96
#define MAX_DECODED_MB 64
#define QUEUE_MB 16
#define MARGIN_MB 48
#define SETTLE_MB 32
#define LZ4_CLIENTS 24
#define RW_CLIENTS 8
#define ROUNDS 3

static tl_server srv;
static int failures;
static atomic_int stop_probe;
static atomic_int st_count[600];
static atomic_int retry_after_missing;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "FAIL: " __VA_ARGS__);                                   \
      fputc('\n', stderr);                                                     \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A field of /proc/PID/status in KiB (VmRSS, VmHWM), or -1. */
static long status_kb(const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)srv.pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  long v = -1;
  size_t fl = strlen(field);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, field, fl) && line[fl] == ':')
      v = strtol(line + fl + 1, NULL, 10);
  fclose(f);
  return v;
}

/* An LZ4 frame of `raw` zero bytes, declaring its size or not. */
static uint8_t *zero_bomb(size_t raw, int declare, size_t *out_len) {
  uint8_t *src = calloc(1, raw);
  LZ4F_preferences_t p;
  memset(&p, 0, sizeof p);
  p.frameInfo.blockSizeID = LZ4F_max4MB;
  if (declare)
    p.frameInfo.contentSize = raw;
  size_t cap = LZ4F_compressFrameBound(raw, &p);
  uint8_t *dst = malloc(cap);
  size_t n = src && dst ? LZ4F_compressFrame(dst, cap, src, raw, &p) : 0;
  free(src);
  if (!dst || LZ4F_isError(n)) {
    free(dst);
    return NULL;
  }
  *out_len = n;
  return dst;
}

/* {"events":[{},{},...]} with n events. */
static char *empty_events(size_t n, size_t *out_len) {
  char *b = malloc(n * 3 + 32);
  if (!b)
    return NULL;
  size_t p = (size_t)snprintf(b, 32, "{\"events\":[");
  for (size_t i = 0; i < n; i++) {
    if (i)
      b[p++] = ',';
    b[p++] = '{';
    b[p++] = '}';
  }
  b[p++] = ']';
  b[p++] = '}';
  *out_len = p;
  return b;
}

typedef struct job {
  const char *path;
  const char *enc; /* Content-Encoding header or NULL */
  const void *body;
  size_t len;
  int n200, n413; /* answers it got */
} job;

static void *attack_main(void *arg) {
  job *j = arg;
  char url[128];
  snprintf(url, sizeof url, "%s%s", srv.url, j->path);
  const char *h[] = {j->enc, NULL};
  for (int r = 0; r < ROUNDS; r++) {
    char ra[16];
    int st = tl_http_hdr("POST", url, j->enc ? h : NULL, j->body, j->len, NULL,
                         "Retry-After", ra, sizeof ra);
    if (st >= 0 && st < 600)
      atomic_fetch_add(&st_count[st], 1);
    j->n200 += st == 200;
    j->n413 += st == 413;
    if (st == 503 && !ra[0])
      atomic_fetch_add(&retry_after_missing, 1);
  }
  return NULL;
}

static int health_fail, health_n, probe_stored;
static double health_worst;

static void *probe_main(void *arg) {
  (void)arg;
  char hurl[128], iurl[128];
  snprintf(hurl, sizeof hurl, "%s/healthz", srv.url);
  snprintf(iurl, sizeof iurl, "%s/v1/events", srv.url);
  const char *h[] = {"Content-Encoding: lz4", NULL};
  tl_batch_spec spec;
  memset(&spec, 0, sizeof spec);
  tl_stream_id(spec.stream_id, 4242);
  spec.nevents = 50;
  spec.first_counter = 1;
  size_t blen;
  uint8_t *batch = tl_native_batch(&spec, 1, &blen);
  while (!atomic_load(&stop_probe)) {
    double t0 = now_s();
    int st = tl_http("GET", hurl, NULL, NULL, 0, NULL);
    double dt = now_s() - t0;
    health_n++;
    if (dt > health_worst)
      health_worst = dt;
    if (st != 200) {
      fprintf(stderr, "/healthz answered %d\n", st);
      health_fail++;
    }
    if (!probe_stored && batch &&
        tl_http("POST", iurl, h, batch, blen, NULL) == 200)
      probe_stored = 1;
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
  }
  free(batch);
  return NULL;
}

int main(void) {
  char budget[16], decoded[16], queue[16];
  snprintf(budget, sizeof budget, "%dM", BUDGET_MB);
  snprintf(decoded, sizeof decoded, "%dM", MAX_DECODED_MB);
  snprintf(queue, sizeof queue, "%dM", QUEUE_MB);
  const char *extra[] = {"--threads",
                         "40",
                         "--max-client-connections",
                         "0",
                         "--ingest-memory",
                         budget,
                         "--max-decoded",
                         decoded,
                         "--queue-bytes",
                         queue,
                         "--fsync",
                         "0",
                         "--event-memory",
                         "0",
                         NULL};
  if (tl_server_start(&srv, NULL, extra)) {
    fprintf(stderr, "cannot start causeway-server\n");
    return 1;
  }
  /* Warm up: a few valid batches and a small Raceway body, so that the
   * baseline holds what any running server holds. */
  char url[128];
  snprintf(url, sizeof url, "%s/v1/events", srv.url);
  const char *lz[] = {"Content-Encoding: lz4", NULL};
  for (int b = 0; b < 5; b++) {
    tl_batch_spec spec;
    memset(&spec, 0, sizeof spec);
    tl_stream_id(spec.stream_id, 1);
    spec.batch_no = (uint64_t)b;
    spec.nevents = 1000;
    spec.first_counter = (uint64_t)b * 1000 + 1;
    spec.first_seq = (uint64_t)b * 1000;
    size_t len;
    uint8_t *body = tl_native_batch(&spec, 1, &len);
    CHECK(tl_http("POST", url, lz, body, len, NULL) == 200, "warm-up batch");
    free(body);
  }
  tl_get_int(&srv, "/v1/summary?sync=1", "summary.events", NULL);
  sleep_ms(300);
  long base = status_kb("VmRSS");
  CHECK(base > 0, "cannot read /proc/%d/status", (int)srv.pid);

  size_t bomb_len = 0, bomb_d_len = 0, rw_len = 0, rw_big_len = 0;
  uint8_t *bomb = zero_bomb((size_t)60 << 20, 0, &bomb_len);
  uint8_t *bomb_d = zero_bomb((size_t)60 << 20, 1, &bomb_d_len);
  char *rw = empty_events(200000, &rw_len);
  char *rw_big = empty_events(1000000, &rw_big_len);
  if (!bomb || !bomb_d || !rw || !rw_big) {
    fprintf(stderr, "cannot build the bodies\n");
    return 1;
  }
  printf("bodies: LZ4 %zu B and %zu B -> 60 MiB each; Raceway %zu B "
         "(200,000 events) and %zu B (1,000,000 events)\n",
         bomb_len, bomb_d_len, rw_len, rw_big_len);
  job jobs[LZ4_CLIENTS + RW_CLIENTS];
  for (int i = 0; i < LZ4_CLIENTS; i++)
    jobs[i] = (job){"/v1/events",
                    "Content-Encoding: lz4",
                    i % 2 ? bomb_d : bomb,
                    i % 2 ? bomb_d_len : bomb_len,
                    0,
                    0};
  for (int i = 0; i < RW_CLIENTS; i++)
    jobs[LZ4_CLIENTS + i] =
        (job){"/events", NULL, i % 2 ? rw_big : rw, i % 2 ? rw_big_len : rw_len,
              0,         0};

  pthread_t probe, th[LZ4_CLIENTS + RW_CLIENTS];
  pthread_create(&probe, NULL, probe_main, NULL);
  double t0 = now_s();
  for (int i = 0; i < LZ4_CLIENTS + RW_CLIENTS; i++)
    pthread_create(&th[i], NULL, attack_main, &jobs[i]);
  for (int i = 0; i < LZ4_CLIENTS + RW_CLIENTS; i++)
    pthread_join(th[i], NULL);
  double burst = now_s() - t0;
  /* Let the probe store its batch if the burst kept refusing it. */
  for (int i = 0; i < 50 && !probe_stored; i++)
    sleep_ms(100);
  atomic_store(&stop_probe, 1);
  pthread_join(probe, NULL);

  /* Alone, a 200,000-event body fits the budget: it is stored and the
   * analysis decodes it (inside the bound too). */
  char rurl[128];
  snprintf(rurl, sizeof rurl, "%s/events", srv.url);
  int alone = tl_http("POST", rurl, NULL, rw, rw_len, NULL);
  CHECK(alone == 200, "a 200,000-event body alone answered %d, not 200", alone);
  /* Wait until the analysis fed what was accepted, then measure. */
  tl_get_int(&srv, "/v1/summary?sync=1", "summary.events", NULL);
  sleep_ms(500);
  long hwm = status_kb("VmHWM"), after = status_kb("VmRSS");
  long bound_kb = (long)(BUDGET_MB + QUEUE_MB + MAX_DECODED_MB) * 1024;
  printf("burst %.1f s; RSS baseline %.1f MiB, peak (VmHWM) %.1f MiB, "
         "after %.1f MiB; bound baseline + %d MiB, margin %d MiB\n",
         burst, base / 1024.0, hwm / 1024.0, after / 1024.0,
         BUDGET_MB + QUEUE_MB + MAX_DECODED_MB, MARGIN_MB);
  printf("answers: 200 %d, 400 %d, 413 %d, 503 %d; /healthz %d times, worst "
         "%.3f s\n",
         atomic_load(&st_count[200]), atomic_load(&st_count[400]),
         atomic_load(&st_count[413]), atomic_load(&st_count[503]), health_n,
         health_worst);
  (void)MIB;
  CHECK(hwm > 0 && hwm <= base + bound_kb + MARGIN_MB * 1024,
        "peak RSS %.1f MiB above baseline %.1f + bound %d + margin %d MiB",
        hwm / 1024.0, base / 1024.0, BUDGET_MB + QUEUE_MB + MAX_DECODED_MB,
        MARGIN_MB);
  CHECK(after > 0 && after <= base + SETTLE_MB * 1024,
        "RSS after the burst %.1f MiB, more than %d MiB above the baseline "
        "%.1f MiB",
        after / 1024.0, SETTLE_MB, base / 1024.0);
  int bomb_ok = 0, big_ok = 0, big_413 = 0;
  for (int i = 0; i < LZ4_CLIENTS; i++)
    bomb_ok += jobs[i].n200;
  for (int i = LZ4_CLIENTS + 1; i < LZ4_CLIENTS + RW_CLIENTS; i += 2) {
    big_ok += jobs[i].n200;
    big_413 += jobs[i].n413;
  }
  CHECK(bomb_ok == 0, "%d LZ4 bombs were accepted", bomb_ok);
  CHECK(big_ok == 0 && big_413 > 0,
        "million-event bodies: %d accepted, %d refused with 413 (want 0 and "
        "some)",
        big_ok, big_413);
  CHECK(atomic_load(&st_count[503]) > 0,
        "no request was refused for a full budget (503)");
  CHECK(atomic_load(&retry_after_missing) == 0, "%d 503s without Retry-After",
        atomic_load(&retry_after_missing));
  int answered = 0;
  for (int s = 100; s < 600; s++)
    answered += atomic_load(&st_count[s]);
  CHECK(answered == ROUNDS * (LZ4_CLIENTS + RW_CLIENTS),
        "%d of %d attack requests got no HTTP answer",
        ROUNDS * (LZ4_CLIENTS + RW_CLIENTS) - answered,
        ROUNDS * (LZ4_CLIENTS + RW_CLIENTS));
  CHECK(health_n > 0 && health_fail == 0, "/healthz failed %d of %d times",
        health_fail, health_n);
  CHECK(probe_stored, "the probe's valid batch was never stored");
  free(bomb);
  free(bomb_d);
  free(rw);
  free(rw_big);
  int rc = tl_server_stop(&srv, SIGTERM);
  CHECK(rc == 0, "server exit status %d", rc);
  tl_rmdir(srv.data_dir);
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
