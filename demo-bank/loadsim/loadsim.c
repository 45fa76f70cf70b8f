/*
 * bank-loadsim: a load simulator for the demo bank.
 *
 *   bank-loadsim --transactions URL --accounts URL [options]
 *   bank-loadsim --compare [options]   start the bank twice (tracing off,
 *                                      then on) and print both side by side
 *
 * N client threads send random transfers between fresh accounts, each with
 * its own idempotency key. On 429, 5xx or a transport error a polite
 * client backs off exponentially with full jitter (10 ms doubling, capped
 * at 1 s, at least Retry-After) and retries with the same key; an impolite
 * one retries at once. A 409 (insufficient funds) is a refusal, not
 * retried. Afterwards the ledger is checked: the accounts' total is what
 * it was (money is conserved) and, in safe mode, no account is negative.
 *
 * Options: --clients N (8), --seconds S (5), --accounts-n K (20),
 * --impolite PCT (25), --unsafe (unsafe debits), --no-progress,
 * --bin DIR (for --compare: where bank-* and ../server/collector are;
 * default: this program's directory). Exit 0 when the ledger holds.
 *
 * The simulator is an outside client: it is not traced.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "loadsim.h"

static ls_opts opt = {8, 5, 20, 25, 0, 1, NULL, NULL, NULL};

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- One HTTP request ------------------------------------------------------
 */

typedef struct reply {
  char body[4096];
  size_t n;
  long retry_after;
} reply;

static size_t on_body(char *p, size_t s, size_t n, void *ud) {
  reply *r = ud;
  size_t k = s * n;
  size_t c = k < sizeof r->body - 1 - r->n ? k : sizeof r->body - 1 - r->n;
  memcpy(r->body + r->n, p, c);
  r->n += c;
  r->body[r->n] = 0;
  return k;
}

static size_t on_header(char *p, size_t s, size_t n, void *ud) {
  reply *r = ud;
  if (s * n > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
    r->retry_after = strtol(p + 12, NULL, 10);
  return s * n;
}

/* @return the HTTP status, or -1 on a transport error. */
static long request(CURL *e, const char *method, const char *url,
                    const char *body, const char *client, reply *r) {
  memset(r, 0, sizeof *r);
  struct curl_slist *h =
      curl_slist_append(NULL, "Content-Type: application/json");
  h = curl_slist_append(h, "Expect:");
  char cid[96];
  if (client) {
    snprintf(cid, sizeof cid, "X-Client-Id: %s", client);
    h = curl_slist_append(h, cid);
  }
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  if (body)
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  long st = -1;
  if (curl_easy_perform(e) == CURLE_OK)
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
  curl_slist_free_all(h);
  return st;
}

/* ---- Clients ----------------------------------------------------------------
 */

typedef struct client {
  int id, polite;
  const char *txn;
  const int64_t *accts;
  char run[32];
  int64_t *lat; /* microseconds per logical request */
  size_t nlat, caplat;
  uint64_t ok, refused, failed, retries, limited;
  unsigned seed;
} client;

static _Atomic int stop;
static atomic_ulong done_requests;

static void record(client *c, int64_t us) {
  if (c->nlat == c->caplat) {
    size_t cap = c->caplat ? c->caplat * 2 : 1024;
    int64_t *n = realloc(c->lat, cap * sizeof *n);
    if (!n)
      return;
    c->lat = n;
    c->caplat = cap;
  }
  c->lat[c->nlat++] = us;
}

static void *client_main(void *arg) {
  client *c = arg;
  CURL *e = curl_easy_init();
  char url[512], name[64], body[256];
  snprintf(url, sizeof url, "%s/transactions/transfer", c->txn);
  snprintf(name, sizeof name, "%s-c%d", c->run, c->id);
  for (uint64_t n = 0; e && !atomic_load(&stop); n++) {
    int a = rand_r(&c->seed) % opt.naccounts;
    int b = (a + 1 + rand_r(&c->seed) % (opt.naccounts - 1)) % opt.naccounts;
    int amount = 1 + rand_r(&c->seed) % 5000;
    snprintf(body, sizeof body,
             "{\"from\":%lld,\"to\":%lld,\"amount\":%d,\"idempotency_key\":"
             "\"%s-%llu\",\"mode\":\"%s\"}",
             (long long)c->accts[a], (long long)c->accts[b], amount, name,
             (unsigned long long)n, opt.unsafe ? "unsafe" : "safe");
    int64_t t0 = now_us();
    long backoff = 10000;
    for (int attempt = 0;; attempt++) {
      reply r;
      long st = request(e, "POST", url, body, name, &r);
      if (st == 429)
        c->limited++;
      if (st == 200 || st == 409 || (st >= 400 && st < 500 && st != 429)) {
        if (st == 200)
          c->ok++;
        else if (st == 409)
          c->refused++;
        else
          c->failed++;
        break;
      }
      if (attempt >= 8 || atomic_load(&stop)) {
        c->failed++;
        break;
      }
      c->retries++;
      if (c->polite) { /* exponential backoff, full jitter */
        long wait = 1 + (long)(rand_r(&c->seed) % (unsigned)backoff);
        if (r.retry_after > 0 && wait < r.retry_after * 1000000L)
          wait = r.retry_after * 1000000L;
        sleep_us(wait);
        backoff = backoff * 2 > 1000000 ? 1000000 : backoff * 2;
      }
    }
    record(c, now_us() - t0);
    atomic_fetch_add(&done_requests, 1);
  }
  if (e)
    curl_easy_cleanup(e);
  return NULL;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(const int64_t *v, size_t n, double p) {
  if (!n)
    return 0;
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return (double)v[i] / 1000.0;
}

/* ---- One load run
 * ------------------------------------------------------------ */

static int64_t balance_of(CURL *e, const char *accounts, int64_t id) {
  char url[512];
  reply r;
  snprintf(url, sizeof url, "%s/accounts/%lld", accounts, (long long)id);
  if (request(e, "GET", url, NULL, NULL, &r) != 200)
    return INT64_MIN;
  json_t *j = json_loads(r.body, 0, NULL);
  int64_t b = json_integer_value(json_object_get(j, "balance"));
  json_decref(j);
  return b;
}

int ls_run(const char *accounts, const char *txn, ls_result *out) {
  memset(out, 0, sizeof *out);
  CURL *e = curl_easy_init();
  int64_t *ids = calloc((size_t)opt.naccounts, sizeof *ids);
  if (!e || !ids)
    return -1;
  char url[512], run[32];
  snprintf(run, sizeof run, "ls%ld-%d", (long)time(NULL), (int)getpid());
  snprintf(url, sizeof url, "%s/accounts", accounts);
  const int64_t start = 100000;
  for (int i = 0; i < opt.naccounts; i++) {
    reply r;
    char body[128];
    snprintf(body, sizeof body,
             "{\"user_id\":%d,\"balance\":%lld,\"name\":\"%s\"}", 800000 + i,
             (long long)start, run);
    if (request(e, "POST", url, body, NULL, &r) != 201) {
      fprintf(stderr, "bank-loadsim: cannot create accounts at %s\n", url);
      return -1;
    }
    json_t *j = json_loads(r.body, 0, NULL);
    ids[i] = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
  }
  client *cl = calloc((size_t)opt.clients, sizeof *cl);
  pthread_t *th = calloc((size_t)opt.clients, sizeof *th);
  atomic_store(&stop, 0);
  atomic_store(&done_requests, 0);
  int impolite = opt.clients * opt.impolite_pct / 100;
  int64_t t0 = now_us();
  for (int i = 0; i < opt.clients; i++) {
    cl[i] = (client){.id = i,
                     .polite = i >= impolite,
                     .txn = txn,
                     .accts = ids,
                     .seed = (unsigned)(t0 + i * 7919)};
    snprintf(cl[i].run, sizeof cl[i].run, "%s", run);
    pthread_create(&th[i], NULL, client_main, &cl[i]);
  }
  int tty = opt.progress && isatty(2);
  while (now_us() - t0 < (int64_t)opt.seconds * 1000000) {
    sleep_us(200000);
    if (tty) {
      double f = (double)(now_us() - t0) / (opt.seconds * 1e6);
      int w = (int)(f * 30 > 30 ? 30 : f * 30);
      fprintf(stderr, "\r[%.*s%*s] %3d%%  %lu requests", w,
              "##############################", 30 - w, "",
              (int)(f * 100 > 100 ? 100 : f * 100),
              (unsigned long)atomic_load(&done_requests));
    }
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < opt.clients; i++)
    pthread_join(th[i], NULL);
  double secs = (double)(now_us() - t0) / 1e6;
  if (tty)
    fprintf(stderr, "\r%*s\r", 60, "");
  size_t n = 0;
  for (int i = 0; i < opt.clients; i++)
    n += cl[i].nlat;
  int64_t *all = malloc((n ? n : 1) * sizeof *all);
  size_t k = 0;
  for (int i = 0; i < opt.clients; i++) {
    memcpy(all + k, cl[i].lat, cl[i].nlat * sizeof *all);
    k += cl[i].nlat;
    out->ok += cl[i].ok;
    out->refused += cl[i].refused;
    out->failed += cl[i].failed;
    out->retries += cl[i].retries;
    out->limited += cl[i].limited;
    free(cl[i].lat);
  }
  qsort(all, n, sizeof *all, cmp64);
  out->requests = n;
  out->seconds = secs;
  out->throughput = (double)n / secs;
  out->p50_ms = pct(all, n, 0.50);
  out->p90_ms = pct(all, n, 0.90);
  out->p99_ms = pct(all, n, 0.99);
  free(all);
  /* The ledger. */
  int64_t total = 0;
  out->negative = 0;
  out->ledger_ok = 1;
  for (int i = 0; i < opt.naccounts; i++) {
    int64_t b = balance_of(e, accounts, ids[i]);
    if (b == INT64_MIN)
      out->ledger_ok = 0;
    total += b;
    out->negative += b < 0;
  }
  out->expected_total = start * opt.naccounts;
  out->total = total;
  if (total != out->expected_total || (!opt.unsafe && out->negative))
    out->ledger_ok = 0;
  free(cl);
  free(th);
  free(ids);
  curl_easy_cleanup(e);
  return 0;
}

void ls_print(const char *title, const ls_result *r) {
  printf("%s\n", title);
  printf("  requests        %llu in %.1f s (%.0f/s)\n",
         (unsigned long long)r->requests, r->seconds, r->throughput);
  printf("  succeeded       %llu (%.1f%%), refused (409) %llu, failed %llu\n",
         (unsigned long long)r->ok,
         r->requests ? 100.0 * (double)r->ok / (double)r->requests : 0.0,
         (unsigned long long)r->refused, (unsigned long long)r->failed);
  printf("  latency         p50 %.1f ms, p90 %.1f ms, p99 %.1f ms\n", r->p50_ms,
         r->p90_ms, r->p99_ms);
  printf("  retries         %llu, rate limited (429) %llu\n",
         (unsigned long long)r->retries, (unsigned long long)r->limited);
  printf("  ledger          %s: total %lld of %lld, %d negative accounts\n",
         r->ledger_ok ? "ok" : "BROKEN", (long long)r->total,
         (long long)r->expected_total, r->negative);
}

ls_opts *ls_options(void) {
  return &opt;
}
