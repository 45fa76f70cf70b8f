/*
 * bench_collector: sustained ingest of causeway-server with online analysis.
 *
 * Starts the collector in-process (real HTTP on 127.0.0.1, real store with
 * fdatasync group commit in a temporary data dir), then S sender threads
 * post prebuilt LZ4 native batches over keep-alive connections as fast as
 * the collector acknowledges them. Reported:
 *   - events/s from the first request until every event was acknowledged
 *     AND analysed (the queue drained);
 *   - p50/p99 ingest latency (request sent -> durable acknowledgement);
 *   - bytes of resident memory per stored event (RSS growth / events).
 * Baseline measured in the same run: the same batches decoded and fed to a
 * fresh engine directly (no HTTP, no store): the analysis-only ceiling.
 *
 * Usage: bench_collector [--events N] [--batch E] [--senders S] [--fsync 0|1]
 *                        [--keep-events 0|1]
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyzer.h"
#include "cw_format.h"
#include "native_feed.h"
#include "server.h"

typedef struct blob {
  uint8_t *z; /* LZ4 frame */
  size_t zlen;
  uint8_t *raw; /* uncompressed (baseline) */
  size_t rawlen;
} blob;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &res) != 2)
      res = 0;
    fclose(f);
  }
  return res * sysconf(_SC_PAGESIZE);
}

/* One batch of process `p`: 4 threads, each writing and reading its own
 * variables under a per-thread lock now and then; counters continue
 * across batches. */
static int make_batch(blob *b, int p, uint64_t no, uint32_t events,
                      uint64_t *counters) {
  cw_batch_writer *w = cw__bw_new((size_t)64 << 20);
  cw_batch_hdr h;
  memset(&h, 0, sizeof h);
  h.version = CW_FORMAT_VERSION;
  for (int i = 0; i < 16; i++)
    h.stream_id[i] = (uint8_t)(p * 31 + i + 1);
  h.batch_no = no;
  h.service = "bench";
  h.service_len = 5;
  char inst[16];
  snprintf(inst, sizeof inst, "p%d", p);
  h.instance = inst;
  h.instance_len = strlen(inst);
  if (!w || cw__bw_begin(w, &h))
    return -1;
  uint32_t actors[4], locks[4], vars[4][64];
  uint32_t file = cw__bw_string(w, "bench.c", 7);
  for (int t = 0; t < 4; t++) {
    char n[32];
    snprintf(n, sizeof n, "worker-%d", t);
    actors[t] = cw__bw_actor(w, n, strlen(n), CW_ACTOR_THREAD);
    snprintf(n, sizeof n, "lock-%d-%d", p, t);
    locks[t] = cw__bw_string(w, n, strlen(n));
    for (int v = 0; v < 64; v++) {
      snprintf(n, sizeof n, "p%d.t%d.var%d", p, t, v);
      vars[t][v] = cw__bw_string(w, n, strlen(n));
    }
  }
  for (uint32_t i = 0; i < events; i++) {
    int t = (int)(i % 4);
    uint64_t c = ++counters[t];
    cw_event_rec ev;
    memset(&ev, 0, sizeof ev);
    uint32_t phase = (uint32_t)(c % 16);
    ev.kind = phase == 0   ? CW_EV_LOCK_ACQUIRED
              : phase == 1 ? CW_EV_LOCK_RELEASE
              : (c & 1)    ? CW_EV_WRITE
                           : CW_EV_READ;
    ev.object = phase <= 1 ? locks[t] : vars[t][c % 64];
    ev.actor = actors[t];
    ev.counter = c;
    ev.seq = no * events + i;
    ev.mono_ns = 1000000000ull + ev.seq * 100;
    ev.wall_ns = 1700000000000000000ll + (int64_t)ev.seq * 100;
    ev.file = file;
    ev.line = 100 + (uint32_t)(c % 50);
    if (cw__bw_event(w, &ev))
      return -1;
  }
  b->z = cw__bw_compress(w, &b->zlen);
  const uint8_t *raw = cw__bw_data(w, &b->rawlen);
  b->raw = malloc(b->rawlen);
  memcpy(b->raw, raw, b->rawlen);
  cw__bw_free(w);
  return b->z ? 0 : -1;
}

typedef struct sender {
  blob *blobs;
  size_t n;
  int port;
  double *lat;
  size_t failures;
} sender;

static size_t sink(char *p, size_t s, size_t n, void *u) {
  (void)p;
  (void)u;
  return s * n;
}

static void *send_main(void *arg) {
  sender *s = arg;
  CURL *c = curl_easy_init();
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/events", s->port);
  struct curl_slist *h = curl_slist_append(NULL, "Content-Encoding: lz4");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  for (size_t i = 0; i < s->n; i++) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->blobs[i].z);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)s->blobs[i].zlen);
    double t0 = now();
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    s->lat[i] = now() - t0;
    if (code != 200)
      s->failures++;
  }
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return NULL;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  uint64_t total = 10000000;
  uint32_t per = 20000;
  int senders = 2, fsync_on = 1, keep = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--events"))
      total = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--batch"))
      per = (uint32_t)strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--senders"))
      senders = (int)strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--fsync"))
      fsync_on = (int)strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--keep-events"))
      keep = (int)strtol(argv[i + 1], NULL, 10) != 0;
  }
  if (senders < 1 || senders > 64 || per == 0)
    return 2;
  size_t nb = (size_t)((total + per - 1) / per);
  size_t per_sender = (nb + (size_t)senders - 1) / (size_t)senders;
  nb = per_sender * (size_t)senders;
  total = (uint64_t)nb * per;
  blob *blobs = calloc(nb, sizeof *blobs);
  size_t zbytes = 0;
  for (int s = 0; s < senders; s++) {
    uint64_t counters[4] = {0};
    for (size_t k = 0; k < per_sender; k++) {
      blob *b = &blobs[(size_t)s * per_sender + k];
      if (make_batch(b, s, k, per, counters))
        return 1;
      zbytes += b->zlen;
    }
  }
  /* The collector. */
  char dir[] = "/tmp/cw-bench-XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  static cw_config cfg;
  char err[256];
  char fs[8];
  snprintf(fs, sizeof fs, "%d", fsync_on);
  const char *args[] = {"bench",   "--listen", "127.0.0.1:0", "--data-dir", dir,
                        "--fsync", fs};
  if (cw__config_load(&cfg, 7, (char **)args, err, sizeof err))
    return 1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  cw_server *srv;
  if (cw__server_start(&cfg, &srv, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  long rss0 = rss_bytes();
  pthread_t th[64];
  sender sd[64];
  double *lat = calloc(nb, sizeof *lat);
  double t0 = now();
  for (int s = 0; s < senders; s++) {
    sd[s] = (sender){blobs + (size_t)s * per_sender, per_sender,
                     cw__server_port(srv), lat + (size_t)s * per_sender, 0};
    pthread_create(&th[s], NULL, send_main, &sd[s]);
  }
  size_t failures = 0;
  for (int s = 0; s < senders; s++) {
    pthread_join(th[s], NULL);
    failures += sd[s].failures;
  }
  double acked_s = now() - t0;
  cw__server_drain(srv);
  double done_s = now() - t0;
  long rss1 = rss_bytes();
  qsort(lat, nb, sizeof *lat, cmp_d);
  printf("collector ingest bench: %llu events in %zu LZ4 batches of %u "
         "(%.1f B/event compressed), %d senders, fsync=%d, keep-events=%d\n",
         (unsigned long long)total, nb, per, (double)zbytes / (double)total,
         senders, fsync_on, keep);
  printf("  collector, acknowledged (durable):               %10.0f "
         "events/s\n",
         (double)total / acked_s);
  printf("  collector, acknowledged and analysed:            %10.0f "
         "events/s   (target >= 1,000,000)\n",
         (double)total / done_s);
  printf("  ingest latency per batch: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
         lat[nb / 2] * 1e3, lat[(size_t)((double)nb * 0.99)] * 1e3,
         lat[nb - 1] * 1e3);
  printf("  memory: RSS growth %.1f MiB = %.1f bytes per stored event "
         "(target <= 128)\n",
         (double)(rss1 - rss0) / 1048576.0,
         (double)(rss1 - rss0) / (double)total);
  printf("  failed requests: %zu\n", failures);
  cw__server_stop(srv);
  curl_global_cleanup();
  /* Baseline: decode + analysis only, same batches, one thread. */
  cw_engine_config ec;
  memset(&ec, 0, sizeof ec);
  ec.size = sizeof ec;
  ec.keep_events = keep;
  cw_engine *e = cw__engine_new(&ec);
  cw_feed *f = cw__feed_new();
  t0 = now();
  uint64_t fed = 0;
  for (size_t i = 0; i < nb; i++) {
    uint64_t n = 0;
    cw__feed_native(f, e, blobs[i].raw, blobs[i].rawlen, &n);
    fed += n;
  }
  double base_s = now() - t0;
  cw__feed_free(f);
  cw__engine_free(e);
  for (size_t i = 0; i < nb; i++) {
    free(blobs[i].raw);
    blobs[i].raw = NULL;
  }
  printf("  baseline (decode + analysis only, no HTTP/store): %10.0f "
         "events/s (measured after the collector)\n",
         (double)fed / base_s);
  for (size_t i = 0; i < nb; i++)
    free(blobs[i].z);
  free(blobs);
  free(lat);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    return 1;
  return failures ? 1 : 0;
}
