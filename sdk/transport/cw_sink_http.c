/*
 * cw_sink_http: the SDK transport. Sends compressed batches to a collector's
 * POST /v1/events with libcurl.
 *
 * DESIGN. The drain thread calls write() with one LZ4 frame; write() only
 * copies the frame into a bounded queue and returns, so neither application
 * threads nor the drain thread ever wait on the network. A sender thread owns
 * one CURL handle (keep-alive) and sends the oldest frame. Connection errors,
 * 5xx, 408 and 429 are retried with exponential backoff and jitter,
 * honouring Retry-After; other 4xx answers mean the collector will never take
 * the batch, which is dropped and counted.
 *
 * When the queue is full, the incoming batch is not simply lost: it is
 * decoded and replaced by a *gap batch* with the same (stream_id, batch_no)
 * that holds one GAP record per actor (how many events, which sequence
 * numbers). Gap batches are a few dozen bytes, so memory stays bounded while
 * the collector still learns exactly what it missed, and batch numbers stay
 * contiguous. If the original was in fact stored earlier, the collector's
 * deduplication keeps the original.
 *
 * At flush and close the sender gets a deadline (CAUSEWAY_FLUSH_TIMEOUT_MS,
 * default 5000 ms); what is still queued then is dropped and counted. One
 * deadline serves a shutdown: the SDK flushes, then closes; a close right
 * after a flush that ran out of time (nothing written since) does not wait
 * again, and a transfer still in flight at the deadline is aborted (libcurl
 * checks its progress callback at least once a second). close() reports
 * whether every batch was delivered, or reported as a delivered gap.
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_sink_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw_format.h"
#include "cw_format_alloc.h"

#define MAX_QUEUE_BYTES_DEFAULT ((size_t)16 << 20)
#define MAX_QUEUE_FRAMES 4096
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

typedef struct frame {
  struct frame *next;
  size_t len;
  int is_gap;
  uint8_t data[];
} frame;

typedef struct http_sink {
  cw_sink base;
  char url[1024];
  char auth[600];
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* queue changed, or stop requested */
  frame *head, *tail;
  size_t qbytes, qframes, max_bytes;
  int stopping;    /* close(): finish what fits in the deadline */
  int in_flight;   /* the sender holds a frame */
  int flush_spent; /* the last flush ran out of time, nothing since */
  _Atomic uint64_t deadline_ms; /* 0: none; read by the progress callback */
  uint32_t flush_timeout_ms;
  unsigned rng;
  cw_http_sink_stats st;
} http_sink;

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void lock(http_sink *h) {
  if (pthread_mutex_lock(&h->mu))
    abort();
}

static void unlock(http_sink *h) {
  if (pthread_mutex_unlock(&h->mu))
    abort();
}

/* Waits on the condition until abs_ms (monotonic) or a signal. */
static void wait_until(http_sink *h, uint64_t abs_ms) {
  struct timespec ts;
  ts.tv_sec = (time_t)(abs_ms / 1000);
  ts.tv_nsec = (long)(abs_ms % 1000) * 1000000L;
  int rc = pthread_cond_timedwait(&h->cv, &h->mu, &ts);
  if (rc && rc != ETIMEDOUT)
    abort();
}

/* ---- Gap batches ----------------------------------------------------------
 */

#define GAP_ACTORS 256

typedef struct gap_acc {
  cw_batch_writer *bw;
  int failed;
  struct {
    uint32_t victim_id; /* actor id in the dropped batch */
    uint32_t gap_id;    /* actor id in the gap batch */
    uint64_t n, first, last;
  } a[GAP_ACTORS];
  uint32_t na;
  uint64_t events;
} gap_acc;

static int gap_on_batch(void *ud, const cw_batch_ctx *ctx) {
  gap_acc *g = ud;
  if (cw__bw_begin(g->bw, cw__ctx_header(ctx)))
    g->failed = 1;
  return g->failed;
}

static int gap_add(gap_acc *g, const cw_batch_ctx *ctx, uint32_t actor,
                   uint64_t n, uint64_t first, uint64_t last) {
  uint32_t i;
  g->events += n;
  for (i = 0; i < g->na && g->a[i].victim_id != actor; i++)
    ;
  if (i == g->na) {
    if (g->na == GAP_ACTORS) {
      i = GAP_ACTORS - 1; /* fold the rest into the last actor */
    } else {
      size_t len = 0;
      uint32_t kind = CW_ACTOR_THREAD;
      const char *name = cw__ctx_actor(ctx, actor, &len, &kind);
      uint32_t id = name ? cw__bw_actor(g->bw, name, len, kind) : 0;
      if (!id) {
        g->failed = 1;
        return 1;
      }
      g->a[i].victim_id = actor;
      g->a[i].gap_id = id;
      g->a[i].n = 0;
      g->a[i].first = first;
      g->a[i].last = last;
      g->na++;
    }
  }
  g->a[i].n += n;
  if (first < g->a[i].first)
    g->a[i].first = first;
  if (last > g->a[i].last)
    g->a[i].last = last;
  return 0;
}

static int gap_on_event(void *ud, const cw_batch_ctx *ctx,
                        const cw_event_rec *ev) {
  return gap_add(ud, ctx, ev->actor, 1, ev->seq, ev->seq);
}

static int gap_on_gap(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                      uint64_t dropped, uint64_t first, uint64_t last) {
  return gap_add(ud, ctx, actor, dropped, first, last);
}

static frame *frame_new(const uint8_t *data, size_t len, int is_gap) {
  frame *f = fmt_malloc(sizeof *f + len);
  if (!f)
    return NULL;
  f->next = NULL;
  f->len = len;
  f->is_gap = is_gap;
  memcpy(f->data, data, len);
  return f;
}

/* Builds the gap batch that stands for a dropped frame: same stream id and
 * batch number, one GAP record per actor.
 * @return a new frame, or NULL when the victim cannot be decoded. */
static frame *make_gap_frame(const uint8_t *data, size_t len,
                             uint64_t *events) {
  size_t raw_len = 0, used = 0;
  cw_decode_error err;
  *events = 0;
  uint8_t *raw = cw__lz4_frame_decompress(data, len, CW_MAX_BATCH_BYTES,
                                          &raw_len, &used, &err);
  if (!raw)
    return NULL;
  frame *f = NULL;
  gap_acc *g = fmt_calloc(1, sizeof *g);
  if (g)
    g->bw = cw__bw_new(64 * 1024);
  if (g && g->bw) {
    cw_decode_cb cb = {gap_on_batch, gap_on_event, gap_on_gap, NULL};
    int rc = cw__decode_batch(raw, raw_len, &cb, g, &err);
    if (rc == CW_DECODE_OK && !g->failed) {
      for (uint32_t i = 0; i < g->na; i++)
        if (cw__bw_gap(g->bw, g->a[i].gap_id, g->a[i].n, g->a[i].first,
                       g->a[i].last))
          g->failed = 1;
      size_t clen = 0;
      uint8_t *c = g->failed ? NULL : cw__bw_compress(g->bw, &clen);
      if (c) {
        f = frame_new(c, clen, 1);
        fmt_free(c);
      }
      *events = g->events;
    }
  }
  if (g)
    cw__bw_free(g->bw);
  fmt_free(g);
  fmt_free(raw);
  return f;
}

/* ---- Queue ----------------------------------------------------------------
 */

static void push(http_sink *h, frame *f) {
  if (h->tail)
    h->tail->next = f;
  else
    h->head = f;
  h->tail = f;
  h->qbytes += f->len;
  h->qframes++;
}

static frame *pop(http_sink *h) {
  frame *f = h->head;
  if (!f)
    return NULL;
  h->head = f->next;
  if (!h->head)
    h->tail = NULL;
  h->qbytes -= f->len;
  h->qframes--;
  return f;
}

static int sink_write(cw_sink *s, const uint8_t *data, size_t len) {
  http_sink *h = (http_sink *)s;
  lock(h);
  int fits = h->qbytes + len <= h->max_bytes && h->qframes < MAX_QUEUE_FRAMES;
  unlock(h);
  frame *f = NULL;
  uint64_t lost = 0;
  if (fits) {
    f = frame_new(data, len, 0);
  } else {
    /* Decoding happens outside the lock: the sender keeps sending. */
    f = make_gap_frame(data, len, &lost);
  }
  lock(h);
  if (f && f->is_gap && h->qframes >= MAX_QUEUE_FRAMES) {
    fmt_free(f); /* even the gap report does not fit: count it */
    f = NULL;
  }
  /* 0 queued, 1 a gap report queued in its place, -1 lost. */
  int rc = !f ? -1 : f->is_gap ? 1 : 0; /* f is the sender's once queued */
  h->flush_spent = 0;
  if (f) {
    push(h, f);
    if (f->is_gap) {
      h->st.batches_dropped++;
      h->st.events_dropped += lost;
      h->st.gaps_queued++;
    }
  } else {
    h->st.batches_dropped++;
    h->st.gaps_lost++;
  }
  pthread_cond_broadcast(&h->cv);
  unlock(h);
  return rc;
}

/* ---- Sending --------------------------------------------------------------
 */

typedef struct resp {
  long retry_after_s; /* -1: none */
} resp;

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
  resp *r = ud;
  size_t len = size * n;
  static const char name[] = "retry-after:";
  if (len > sizeof name - 1) {
    int match = 1;
    for (size_t i = 0; i < sizeof name - 1; i++) {
      char c = buf[i];
      if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
      if (c != name[i]) {
        match = 0;
        break;
      }
    }
    if (match) {
      char tmp[32];
      size_t k = len - (sizeof name - 1);
      if (k >= sizeof tmp)
        k = sizeof tmp - 1;
      memcpy(tmp, buf + sizeof name - 1, k);
      tmp[k] = 0;
      char *end;
      long v = strtol(tmp, &end, 10);
      if (end != tmp && v >= 0)
        r->retry_after_s = v > 3600 ? 3600 : v;
    }
  }
  return len;
}

static size_t discard_body(char *p, size_t size, size_t n, void *ud) {
  return size * n;
}

/* Aborts a transfer once the close deadline has passed. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un) {
  (void)dt, (void)dn, (void)ut, (void)un;
  http_sink *h = ud;
  uint64_t d = atomic_load(&h->deadline_ms);
  return d && now_ms() >= d;
}

/* Sends one frame. @return 0 sent, 1 retry later (with *retry_ms set or 0),
 * -1 rejected for good. */
static int send_frame(http_sink *h, CURL *curl, const frame *f, long *status,
                      uint64_t *retry_ms) {
  struct curl_slist *hdrs = NULL;
  hdrs = curl_slist_append(hdrs, "Content-Type: application/x-causeway-batch");
  hdrs = curl_slist_append(hdrs, "Content-Encoding: lz4");
  hdrs = curl_slist_append(hdrs, "Expect:");
  if (h->auth[0])
    hdrs = curl_slist_append(hdrs, h->auth);
  resp r = {-1};
  curl_easy_setopt(curl, CURLOPT_URL, h->url);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)f->data);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->len);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, h);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  CURLcode cc = curl_easy_perform(curl);
  curl_slist_free_all(hdrs);
  *status = 0;
  *retry_ms = 0;
  if (cc != CURLE_OK)
    return 1;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
  if (*status >= 200 && *status < 300)
    return 0;
  if (*status >= 500 || *status == 429 || *status == 408) {
    if (r.retry_after_s >= 0)
      *retry_ms = (uint64_t)r.retry_after_s * 1000u;
    return 1;
  }
  return -1;
}

static uint64_t backoff_ms(http_sink *h, unsigned attempt) {
  uint64_t cap = BACKOFF_MIN_MS;
  for (unsigned i = 0; i < attempt && cap < BACKOFF_MAX_MS; i++)
    cap *= 2;
  if (cap > BACKOFF_MAX_MS)
    cap = BACKOFF_MAX_MS;
  /* "Equal jitter": uniform in [cap/2, cap], so retries of many senders
   * spread out while each still backs off. */
  h->rng = h->rng * 1103515245u + 12345u;
  return cap / 2 + (h->rng >> 8) % (cap / 2 + 1);
}

#ifdef CW_FORMAT_SDK_ALLOC
void cw__thread_untraced(void);
#endif

static void *sender_main(void *arg) {
  http_sink *h = arg;
#ifdef CW_FORMAT_SDK_ALLOC
  cw__thread_untraced(); /* the SDK's own thread: never traced */
#endif
  CURL *curl = curl_easy_init();
  unsigned attempt = 0;
  lock(h);
  for (;;) {
    while (!h->head && !h->stopping)
      wait_until(h, now_ms() + 1000);
    if (!h->head && h->stopping)
      break;
    if (h->deadline_ms && now_ms() >= h->deadline_ms)
      break;
    frame *f = h->head; /* stays queued until sent: flush() sees it */
    h->in_flight = 1;
    unlock(h);

    long status = 0;
    uint64_t retry_ms = 0;
    int rc = curl ? send_frame(h, curl, f, &status, &retry_ms) : -1;

    lock(h);
    h->in_flight = 0;
    if (rc == 0 || rc < 0) {
      frame *done = pop(h);
      if (rc == 0) {
        h->st.batches_sent++;
        if (done->is_gap)
          h->st.gaps_sent++;
      } else {
        h->st.batches_rejected++;
        if (!h->st.last_status)
          fprintf(stderr,
                  "causeway: collector %s rejected a batch (HTTP %ld); it "
                  "is dropped\n",
                  h->url, status);
      }
      h->st.last_status = status;
      fmt_free(done);
      attempt = 0;
      pthread_cond_broadcast(&h->cv);
      continue;
    }
    h->st.retries++;
    h->st.last_status = status;
    uint64_t wait = retry_ms ? retry_ms : backoff_ms(h, attempt);
    if (attempt < 16)
      attempt++;
    uint64_t until = now_ms() + wait;
    if (h->deadline_ms && until > h->deadline_ms)
      until = h->deadline_ms;
    while (now_ms() < until && !(h->deadline_ms && now_ms() >= h->deadline_ms))
      wait_until(h, until);
  }
  pthread_cond_broadcast(&h->cv);
  unlock(h);
  if (curl)
    curl_easy_cleanup(curl);
  return NULL;
}

static int sink_flush(cw_sink *s) {
  http_sink *h = (http_sink *)s;
  uint64_t deadline = now_ms() + h->flush_timeout_ms;
  lock(h);
  while (h->head && now_ms() < deadline)
    wait_until(h, deadline);
  int rc = h->head ? -1 : 0;
  h->flush_spent = rc != 0;
  unlock(h);
  return rc;
}

static int sink_close(cw_sink *s) {
  http_sink *h = (http_sink *)s;
  lock(h);
  h->stopping = 1;
  /* After a flush that used the whole timeout, the deadline is now. */
  atomic_store(&h->deadline_ms,
               now_ms() + (h->flush_spent ? 0 : h->flush_timeout_ms));
  pthread_cond_broadcast(&h->cv);
  unlock(h);
  if (pthread_join(h->thread, NULL))
    abort();
  uint64_t left = 0;
  while (h->head) {
    frame *f = pop(h);
    left++;
    fmt_free(f);
  }
  h->st.batches_dropped += left;
  if (h->st.batches_dropped || left)
    fprintf(stderr,
            "causeway: transport to %s: %llu batches sent, %llu dropped "
            "(%llu events; %llu reported to the collector as gaps), %llu "
            "unsent at exit\n",
            h->url, (unsigned long long)h->st.batches_sent,
            (unsigned long long)h->st.batches_dropped,
            (unsigned long long)h->st.events_dropped,
            (unsigned long long)h->st.gaps_sent, (unsigned long long)left);
  cw__http_sink_last_stats = h->st;
  /* Gap reports that arrived account for their batches; anything else
   * not delivered is lost. */
  int rc = left || h->st.gaps_lost || h->st.batches_rejected ||
                   h->st.gaps_queued > h->st.gaps_sent
               ? -1
               : 0;
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
  fmt_free(h);
  return rc;
}

cw_http_sink_stats cw__http_sink_last_stats;

void cw__http_sink_stats(cw_sink *s, cw_http_sink_stats *out) {
  http_sink *h = (http_sink *)s;
  lock(h);
  *out = h->st;
  out->queued_batches = h->qframes;
  out->queued_bytes = h->qbytes;
  unlock(h);
}

static void curl_init_once(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

cw_sink *cw__sink_http_open(const char *url, const char *service,
                            const char *instance) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, curl_init_once);
  http_sink *h = fmt_calloc(1, sizeof *h);
  if (!h)
    return NULL;
  size_t ul = strlen(url);
  while (ul && url[ul - 1] == '/')
    ul--;
  const char *path = "/v1/events";
  /* A URL that already names the ingest route is used as is. */
  if (ul >= strlen(path) &&
      memcmp(url + ul - strlen(path), path, strlen(path)) == 0)
    path = "";
  int n = snprintf(h->url, sizeof h->url, "%.*s%s", (int)ul, url, path);
  if (n < 0 || (size_t)n >= sizeof h->url) {
    fmt_free(h);
    return NULL;
  }
  const char *key = getenv("CAUSEWAY_API_KEY");
  if (key && *key)
    snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %.500s", key);
  h->max_bytes = MAX_QUEUE_BYTES_DEFAULT;
  const char *qb = getenv("CAUSEWAY_QUEUE_BYTES");
  if (qb && *qb) {
    char *end;
    unsigned long long v = strtoull(qb, &end, 10);
    if (*end == 0 && v >= 4096)
      h->max_bytes = (size_t)v;
  }
  h->flush_timeout_ms = 5000;
  const char *ft = getenv("CAUSEWAY_FLUSH_TIMEOUT_MS");
  if (ft && *ft) {
    char *end;
    unsigned long v = strtoul(ft, &end, 10);
    if (*end == 0 && v <= 600000)
      h->flush_timeout_ms = (uint32_t)v;
  }
  h->rng = (unsigned)now_ms() ^ (unsigned)(uintptr_t)h;
  h->base.write = sink_write;
  h->base.flush = sink_flush;
  h->base.close = sink_close;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (pthread_mutex_init(&h->mu, NULL) || pthread_cond_init(&h->cv, &ca)) {
    pthread_condattr_destroy(&ca);
    fmt_free(h);
    return NULL;
  }
  pthread_condattr_destroy(&ca);
  if (pthread_create(&h->thread, NULL, sender_main, h)) {
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    fmt_free(h);
    return NULL;
  }
  (void)service;
  (void)instance;
  return &h->base;
}
