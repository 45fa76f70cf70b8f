/*
 * bank_svc: options, causeway start-up, logs, counters (see bank_svc.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bank_svc.h"

#include <causeway.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *svc_name = "bank";

static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || !end || *end || end == s || v < lo || v > hi)
    return -1;
  *out = (int)v;
  return 0;
}

static void usage(const char *service) {
  fprintf(stderr,
          "usage: bank-%s [--port P] [--port-file F] [--data-dir D] "
          "[--pg CONNINFO]\n"
          "       [--accounts URL] [--transactions URL] [--notifications "
          "URL] [--auth URL]\n"
          "       [--collector URL] [--viewer URL] [--static DIR] "
          "[--threads N] [--workers N]\n"
          "       [--rate-limit N]\n",
          service);
}

void bank_opts_parse(bank_opts *o, const char *service, int argc, char **argv) {
  memset(o, 0, sizeof *o);
  o->service = service;
  o->port = -1;
  o->data_dir = "bank-data";
  o->threads = 48;
  o->workers = 2;
  o->rate_limit = 0; /* each service has its own default */
  o->pg = getenv("BANK_PG");
  if (o->pg && !*o->pg)
    o->pg = NULL;
  static const struct option longs[] = {
      {"port", required_argument, 0, 'p'},
      {"port-file", required_argument, 0, 'f'},
      {"data-dir", required_argument, 0, 'd'},
      {"pg", required_argument, 0, 'g'},
      {"accounts", required_argument, 0, 'a'},
      {"transactions", required_argument, 0, 't'},
      {"notifications", required_argument, 0, 'n'},
      {"auth", required_argument, 0, 'u'},
      {"collector", required_argument, 0, 'c'},
      {"viewer", required_argument, 0, 'v'},
      {"static", required_argument, 0, 's'},
      {"threads", required_argument, 0, 'T'},
      {"workers", required_argument, 0, 'W'},
      {"rate-limit", required_argument, 0, 'R'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'p':
      bad = parse_int(optarg, 0, 65535, &o->port);
      break;
    case 'f':
      o->port_file = optarg;
      break;
    case 'd':
      o->data_dir = optarg;
      break;
    case 'g':
      o->pg = *optarg ? optarg : NULL;
      break;
    case 'a':
      o->accounts = optarg;
      break;
    case 't':
      o->transactions = optarg;
      break;
    case 'n':
      o->notifications = optarg;
      break;
    case 'u':
      o->auth = optarg;
      break;
    case 'c':
      o->collector = optarg;
      break;
    case 'v':
      o->viewer = optarg;
      break;
    case 's':
      o->static_dir = optarg;
      break;
    case 'T':
      bad = parse_int(optarg, 2, 256, &o->threads);
      break;
    case 'W':
      bad = parse_int(optarg, 1, 64, &o->workers);
      break;
    case 'R':
      bad = parse_int(optarg, 1, 1000000, &o->rate_limit);
      break;
    case 'h':
      usage(service);
      exit(0);
    default:
      bad = 1;
    }
    if (bad) {
      if (c != '?')
        fprintf(stderr, "bank-%s: bad option value '%s'\n", service,
                optarg ? optarg : "");
      usage(service);
      exit(2);
    }
  }
  if (optind < argc) {
    fprintf(stderr, "bank-%s: unexpected argument '%s'\n", service,
            argv[optind]);
    usage(service);
    exit(2);
  }
  if (!o->viewer)
    o->viewer = o->collector;
}

void bank_svc_init(const bank_opts *o) {
  svc_name = o->service;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  signal(SIGPIPE, SIG_IGN);
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = o->service;
  cfg.flush_interval_ms = 100;
  cw_status st = cw_init(&cfg);
  if (st != CW_OK)
    bank_log("warn", "causeway not started",
             json_pack("{s:s}", "error", cw_strerror(st)));
}

void bank_svc_run(const bank_opts *o, int port) {
  if (o->port_file) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", o->port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
        rename(tmp, o->port_file) != 0) {
      bank_log("error", "cannot write port file",
               json_pack("{s:s}", "path", o->port_file));
      exit(1);
    }
  }
  bank_log("info", "listening",
           json_pack("{s:i,s:b,s:s}", "port", port, "tracing", cw_is_enabled(),
                     "storage", o->pg ? "postgresql" : "sqlite"));
  sigset_t s;
  int sig = 0;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  sigwait(&s, &sig);
  bank_log("info", "stopping", json_pack("{s:i}", "signal", sig));
}

int bank_svc_shutdown(void) {
  cw_shutdown();
  return 0;
}

void bank_log(const char *level, const char *msg, json_t *fields) {
  json_t *o = json_object();
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[64];
  size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
  json_object_set_new(o, "ts", json_string(when));
  json_object_set_new(o, "level", json_string(level));
  json_object_set_new(o, "service", json_string(svc_name));
  json_object_set_new(o, "msg", json_string(msg));
  if (fields && json_is_object(fields))
    json_object_update(o, fields);
  json_decref(fields);
  char *line = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (line) {
    fprintf(stderr, "%s\n", line);
    free(line);
  }
}

/* ---- Counters ------------------------------------------------------------ */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static bank_counter *counters;

static bank_counter req_2xx = {"bank_http_requests_total", "HTTP requests",
                               "code=\"2xx\"", 0, NULL};
static bank_counter req_4xx = {"bank_http_requests_total", "HTTP requests",
                               "code=\"4xx\"", 0, NULL};
static bank_counter req_5xx = {"bank_http_requests_total", "HTTP requests",
                               "code=\"5xx\"", 0, NULL};

void bank_counter_register(bank_counter *c) {
  /* A plain mutex: this registry is the demo's own plumbing, not state
   * the demo asks causeway to check. */
  pthread_mutex_lock(&reg_lock);
  int known = 0;
  for (bank_counter *p = counters; p; p = p->next)
    known |= p == c;
  if (!known) {
    /* Keep counters of one name together (Prometheus wants one family). */
    bank_counter **at = &counters;
    while (*at && strcmp((*at)->name, c->name) != 0)
      at = &(*at)->next;
    while (*at && strcmp((*at)->name, c->name) == 0)
      at = &(*at)->next;
    c->next = *at;
    *at = c;
  }
  pthread_mutex_unlock(&reg_lock);
}

void bank_count_request(int status) {
  static atomic_int once;
  if (!atomic_exchange(&once, 1)) {
    bank_counter_register(&req_2xx);
    bank_counter_register(&req_4xx);
    bank_counter_register(&req_5xx);
  }
  bank_counter_add(status >= 500   ? &req_5xx
                   : status >= 400 ? &req_4xx
                                   : &req_2xx,
                   1);
}

char *bank_metrics_text(void) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  if (!buf)
    return NULL;
  buf[0] = 0;
  pthread_mutex_lock(&reg_lock);
  const char *prev = NULL;
  for (bank_counter *c = counters; c; c = c->next) {
    char line[512];
    int n = 0;
    if (!prev || strcmp(prev, c->name) != 0)
      n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s counter\n",
                   c->name, c->help, c->name);
    n += snprintf(line + n, sizeof line - (size_t)n,
                  "%s{service=\"%s\"%s%s} %llu\n", c->name, svc_name,
                  c->labels ? "," : "", c->labels ? c->labels : "",
                  (unsigned long long)atomic_load(&c->value));
    prev = c->name;
    if (len + (size_t)n + 1 > cap) {
      cap = (len + (size_t)n + 1) * 2;
      char *nb = realloc(buf, cap);
      if (!nb)
        break;
      buf = nb;
    }
    memcpy(buf + len, line, (size_t)n + 1);
    len += (size_t)n;
  }
  pthread_mutex_unlock(&reg_lock);
  return buf;
}

void bank_sleep_ms(long ms) {
  if (ms <= 0)
    return;
  if (ms > 60000)
    ms = 60000;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int64_t bank_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
