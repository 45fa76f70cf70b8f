/*
 * cw_config: parses the collector's flags and environment variables.
 *
 * DESIGN. One table lists every option with its flag, its environment
 * variable and its type, so --help, the environment and argv can never
 * disagree. Sizes accept K, M and G suffixes (powers of 1024).
 */
#define _DEFAULT_SOURCE /* realpath */
#define _POSIX_C_SOURCE 200809L
#include "cw_config.h"

#include "cw_analysis.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum opt_type {
  T_ADDR,
  T_STR,
  T_KEY,
  T_KEYFILE,
  T_SIZE,
  T_NUM,
  T_INT,
  T_MS,   /* milliseconds, stored as uint64_t ns */
  T_STORM /* N/MS: retry_storm and retry_window_ns */
};

typedef struct opt {
  const char *flag;
  const char *env;
  enum opt_type type;
  size_t off; /* offset in cw_config, or size of the string */
  size_t cap;
} opt;

#define OFF(f) offsetof(cw_config, f)
#define CAP(f) sizeof(((cw_config *)0)->f)

static const opt opts[] = {
    {"--listen", "CAUSEWAY_LISTEN", T_ADDR, 0, 0},
    {"--data-dir", "CAUSEWAY_DATA_DIR", T_STR, OFF(data_dir), CAP(data_dir)},
    {"--postgres", "CAUSEWAY_POSTGRES", T_STR, OFF(postgres), CAP(postgres)},
    {"--viewer-dir", "CAUSEWAY_VIEWER_DIR", T_STR, OFF(viewer_dir),
     CAP(viewer_dir)},
    {"--api-key", "CAUSEWAY_API_KEY", T_KEY, 0, 0},
    {"--api-keys-file", "CAUSEWAY_API_KEYS_FILE", T_KEYFILE, 0, 0},
    {"--max-body", "CAUSEWAY_MAX_BODY", T_SIZE, OFF(max_body), 0},
    {"--max-batch-events", "CAUSEWAY_MAX_BATCH_EVENTS", T_SIZE,
     OFF(max_batch_events), 0},
    {"--max-decoded", "CAUSEWAY_MAX_DECODED", T_SIZE, OFF(max_decoded), 0},
    {"--ingest-memory", "CAUSEWAY_INGEST_MEMORY", T_SIZE, OFF(ingest_memory),
     0},
    {"--rate-limit", "CAUSEWAY_RATE_LIMIT", T_NUM, OFF(rate_limit), 0},
    {"--rate-burst", "CAUSEWAY_RATE_BURST", T_NUM, OFF(rate_burst), 0},
    {"--retention-bytes", "CAUSEWAY_RETENTION_BYTES", T_SIZE,
     OFF(retention_bytes), 0},
    {"--retention-events", "CAUSEWAY_RETENTION_EVENTS", T_SIZE,
     OFF(retention_events), 0},
    {"--segment-bytes", "CAUSEWAY_SEGMENT_BYTES", T_SIZE, OFF(segment_bytes),
     0},
    {"--queue-bytes", "CAUSEWAY_SERVER_QUEUE_BYTES", T_SIZE, OFF(queue_bytes),
     0},
    {"--threads", "CAUSEWAY_THREADS", T_INT, OFF(threads), 0},
    {"--max-subscribers", "CAUSEWAY_MAX_SUBSCRIBERS", T_INT,
     OFF(max_subscribers), 0},
    {"--fsync", "CAUSEWAY_FSYNC", T_INT, OFF(fsync), 0},
    {"--keep-events", "CAUSEWAY_KEEP_EVENTS", T_INT, OFF(keep_events), 0},
    {"--event-memory", "CAUSEWAY_EVENT_MEMORY", T_SIZE, OFF(event_memory), 0},
    {"--header-timeout-ms", "CAUSEWAY_HEADER_TIMEOUT_MS", T_INT,
     OFF(header_timeout_ms), 0},
    {"--body-timeout-ms", "CAUSEWAY_BODY_TIMEOUT_MS", T_INT,
     OFF(body_timeout_ms), 0},
    {"--max-client-connections", "CAUSEWAY_MAX_CLIENT_CONNECTIONS", T_INT,
     OFF(max_client_conns), 0},
    {"--slow-db-ms", "CAUSEWAY_SLOW_DB_MS", T_MS, OFF(slow_db_ns), 0},
    {"--slow-http-ms", "CAUSEWAY_SLOW_HTTP_MS", T_MS, OFF(slow_http_ns), 0},
    {"--slow-span-ms", "CAUSEWAY_SLOW_SPAN_MS", T_MS, OFF(slow_span_ns), 0},
    {"--lock-wait-ms", "CAUSEWAY_LOCK_WAIT_MS", T_MS, OFF(lock_wait_ns), 0},
    {"--retry-storm", "CAUSEWAY_RETRY_STORM", T_STORM, 0, 0},
};

static const char usage[] =
    "Usage: causeway-server [OPTIONS]\n"
    "\n"
    "The causeway collector: ingests event batches over HTTP, stores them,\n"
    "analyses them online and serves findings and the viewer.\n"
    "Every option can also be set by the environment variable in brackets;\n"
    "a flag wins over its variable.\n"
    "\n"
    "  --listen HOST:PORT     address to listen on [CAUSEWAY_LISTEN]\n"
    "                         (default 127.0.0.1:7070; port 0 picks a free\n"
    "                         port, printed as 'listening on HOST:PORT').\n"
    "                         Plain HTTP only: put a TLS proxy in front.\n"
    "  --data-dir DIR         embedded store directory [CAUSEWAY_DATA_DIR]\n"
    "                         (default ./causeway-data)\n"
    "  --postgres CONNINFO    also store in PostgreSQL [CAUSEWAY_POSTGRES]\n"
    "  --viewer-dir DIR       static viewer files served at /\n"
    "                         [CAUSEWAY_VIEWER_DIR] (default: the installed\n"
    "                         share/causeway/viewer beside this binary's\n"
    "                         bin/, else the source tree's viewer/; ''\n"
    "                         serves none)\n"
    "  --api-key KEY          accept this API key; repeatable\n"
    "                         [CAUSEWAY_API_KEY, comma-separated]\n"
    "  --api-keys-file FILE   one API key per line ('#' comments)\n"
    "                         [CAUSEWAY_API_KEYS_FILE]\n"
    "                         With keys, ingest and query routes need\n"
    "                         'Authorization: Bearer KEY' or\n"
    "                         'X-Causeway-Key: KEY'.\n"
    "  --max-body BYTES       largest request body, K/M/G suffixes\n"
    "                         [CAUSEWAY_MAX_BODY] (default 16M)\n"
    "  --max-batch-events N   most events in one batch\n"
    "                         [CAUSEWAY_MAX_BATCH_EVENTS] (default 1M)\n"
    "  --max-decoded BYTES    most memory one request's decoding may take:\n"
    "                         its LZ4-decompressed batches, or the parsed\n"
    "                         tree of a Raceway body (estimated); more\n"
    "                         gets 413 [CAUSEWAY_MAX_DECODED] (default 128M)\n"
    "  --ingest-memory BYTES  memory budget of all ingest requests at once\n"
    "                         (bodies, decompressed batches, parsed trees);\n"
    "                         when taken, 503 + Retry-After\n"
    "                         [CAUSEWAY_INGEST_MEMORY] (default 256M)\n"
    "  --rate-limit R         requests per second per API key (or per\n"
    "                         client address without keys), 0 = off\n"
    "                         [CAUSEWAY_RATE_LIMIT] (default 0)\n"
    "  --rate-burst N         rate-limit bucket size [CAUSEWAY_RATE_BURST]\n"
    "                         (default 2 x rate)\n"
    "  --retention-bytes N    delete the oldest segments beyond this store\n"
    "                         size, 0 = keep all [CAUSEWAY_RETENTION_BYTES]\n"
    "  --retention-events N   delete the oldest segments beyond this many\n"
    "                         stored events [CAUSEWAY_RETENTION_EVENTS]\n"
    "  --segment-bytes N      segment size before rotation\n"
    "                         [CAUSEWAY_SEGMENT_BYTES] (default 64M)\n"
    "  --queue-bytes N        analysis queue cap; ingest waits (then 503)\n"
    "                         when full [CAUSEWAY_SERVER_QUEUE_BYTES]\n"
    "                         (default 256M; CAUSEWAY_QUEUE_BYTES is the\n"
    "                         SDK's send queue and is ignored here)\n"
    "  --threads N            HTTP worker threads [CAUSEWAY_THREADS]\n"
    "                         (default 48)\n"
    "  --max-subscribers N    live-push connections at once\n"
    "                         [CAUSEWAY_MAX_SUBSCRIBERS] (default 8)\n"
    "  --fsync 0|1            fdatasync before acknowledging [CAUSEWAY_FSYNC]\n"
    "                         (default 1; 0 only for throwaway benchmarks)\n"
    "  --keep-events 0|1      keep every access's audit trail and every\n"
    "                         span [CAUSEWAY_KEEP_EVENTS] (default 0: audit\n"
    "                         trails come from --event-memory's events;\n"
    "                         1 costs about 90 bytes per access event)\n"
    "  --event-memory BYTES   keep the newest events for the viewer's\n"
    "                         timelines within this much memory, 0 = off\n"
    "                         [CAUSEWAY_EVENT_MEMORY] (default 128M, about\n"
    "                         1.6 million events)\n"
    "  --header-timeout-ms N  whole time a request head may take to arrive,\n"
    "                         and a kept-alive connection may stay idle\n"
    "                         [CAUSEWAY_HEADER_TIMEOUT_MS] (default 10000)\n"
    "  --body-timeout-ms N    whole time a request body may take to arrive\n"
    "                         (then 408), 0 = none [CAUSEWAY_BODY_TIMEOUT_MS]\n"
    "                         (default 60000)\n"
    "  --max-client-connections N  connections one client address may\n"
    "                         hold (more get 503 before their head is read),\n"
    "                         0 = no cap; behind a proxy, cap there instead\n"
    "                         [CAUSEWAY_MAX_CLIENT_CONNECTIONS] (default 32)\n"
    "  --slow-db-ms N         a DB call this slow is an anomaly\n"
    "                         [CAUSEWAY_SLOW_DB_MS] (default 500)\n"
    "  --slow-http-ms N       the same for HTTP calls and served requests\n"
    "                         [CAUSEWAY_SLOW_HTTP_MS] (default 1000)\n"
    "  --slow-span-ms N       the same for spans [CAUSEWAY_SLOW_SPAN_MS]\n"
    "                         (default 1000)\n"
    "  --lock-wait-ms N       a lock wait this long is an anomaly\n"
    "                         [CAUSEWAY_LOCK_WAIT_MS] (default 500)\n"
    "  --retry-storm N/MS     N retries of one site within MS ms are a\n"
    "                         retry storm [CAUSEWAY_RETRY_STORM]\n"
    "                         (default 10/1000)\n"
    "  --help                 print this help\n"
    "  --version              print the version\n";

const char *cw__config_usage(void) {
  return usage;
}

static int fail(char *err, size_t errsz, const char *what, const char *val,
                const char *why) {
  snprintf(err, errsz, "%s '%s': %s", what, val, why);
  return -1;
}

static int parse_size(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || s[0] == '-')
    return -1;
  uint64_t mul = 1;
  if (*end == 'K' || *end == 'k')
    mul = 1024;
  else if (*end == 'M' || *end == 'm')
    mul = 1024 * 1024;
  else if (*end == 'G' || *end == 'g')
    mul = 1024ull * 1024 * 1024;
  if (mul != 1)
    end++;
  if (*end != '\0' || v > UINT64_MAX / mul)
    return -1;
  *out = (uint64_t)v * mul;
  return 0;
}

static int parse_addr(cw_config *c, const char *s) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s)
    return -1;
  size_t hl = (size_t)(colon - s);
  if (hl >= sizeof c->listen_host)
    return -1;
  char *end;
  errno = 0;
  long p = strtol(colon + 1, &end, 10);
  if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
    return -1;
  memcpy(c->listen_host, s, hl);
  c->listen_host[hl] = '\0';
  c->listen_port = (int)p;
  return 0;
}

static int add_key(cw_config *c, const char *k, size_t len, char *err,
                   size_t errsz) {
  while (len && (k[len - 1] == ' ' || k[len - 1] == '\r' || k[len - 1] == '\t'))
    len--;
  while (len && (*k == ' ' || *k == '\t')) {
    k++;
    len--;
  }
  if (len == 0 || *k == '#')
    return 0;
  if (len >= CW_CONFIG_MAX_KEY_LEN)
    return fail(err, errsz, "api key", "...", "longer than 255 bytes");
  if (c->nkeys >= CW_CONFIG_MAX_KEYS)
    return fail(err, errsz, "api key", "...", "more than 64 keys");
  memcpy(c->keys[c->nkeys], k, len);
  c->keys[c->nkeys][len] = '\0';
  c->nkeys++;
  return 0;
}

static int load_keyfile(cw_config *c, const char *path, char *err,
                        size_t errsz) {
  FILE *f = fopen(path, "r");
  if (!f)
    return fail(err, errsz, "--api-keys-file", path, strerror(errno));
  char line[1024];
  int rc = 0;
  while (rc == 0 && fgets(line, sizeof line, f)) {
    size_t n = strcspn(line, "\n");
    rc = add_key(c, line, n, err, errsz);
  }
  fclose(f);
  return rc;
}

static int apply(cw_config *c, const opt *o, const char *v, char *err,
                 size_t errsz) {
  char *base = (char *)c;
  switch (o->type) {
  case T_ADDR:
    if (parse_addr(c, v))
      return fail(err, errsz, o->flag, v, "expected HOST:PORT");
    return 0;
  case T_STR:
    if (strlen(v) >= o->cap)
      return fail(err, errsz, o->flag, v, "too long");
    memcpy(base + o->off, v, strlen(v) + 1);
    return 0;
  case T_KEY: {
    /* The environment form may list several keys separated by commas. */
    const char *p = v;
    for (;;) {
      size_t n = strcspn(p, ",");
      if (add_key(c, p, n, err, errsz))
        return -1;
      if (!p[n])
        return 0;
      p += n + 1;
    }
  }
  case T_KEYFILE:
    return load_keyfile(c, v, err, errsz);
  case T_SIZE: {
    uint64_t x;
    if (parse_size(v, &x))
      return fail(err, errsz, o->flag, v, "expected a size like 16M");
    memcpy(base + o->off, &x, sizeof x);
    return 0;
  }
  case T_NUM: {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= 0) || x > 1e12)
      return fail(err, errsz, o->flag, v, "expected a number >= 0");
    memcpy(base + o->off, &x, sizeof x);
    return 0;
  }
  case T_INT: {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < 0 || x > 100000)
      return fail(err, errsz, o->flag, v, "expected an integer >= 0");
    int xi = (int)x;
    memcpy(base + o->off, &xi, sizeof xi);
    return 0;
  }
  case T_MS: {
    uint64_t ns;
    if (cw__anomaly_parse_ms(v, &ns))
      return fail(err, errsz, o->flag, v,
                  "expected milliseconds, 1 to 1000000000");
    memcpy(base + o->off, &ns, sizeof ns);
    return 0;
  }
  case T_STORM:
    if (cw__anomaly_parse_storm(v, &c->retry_storm, &c->retry_window_ns))
      return fail(err, errsz, o->flag, v,
                  "expected N/MS, e.g. 10/1000 (10 retries within 1000 ms)");
    return 0;
  }
  return -1;
}

/* The default viewer directory: an installed collector
 * (PREFIX/bin/causeway-server) serves PREFIX/share/causeway/viewer, found
 * relative to its own executable so that the install prefix can move; a
 * collector run from its build tree serves the source tree's viewer/. */
static void default_viewer(char *out, size_t cap) {
  char exe[PATH_MAX], path[PATH_MAX + 64];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) {
      *slash = '\0';
      struct stat sb;
      snprintf(path, sizeof path, "%s/%s", exe, CW_INSTALLED_VIEWER_REL);
      if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) &&
          realpath(path, out) != NULL && strlen(out) < cap)
        return;
    }
  }
  snprintf(out, cap, "%s", CW_DEFAULT_VIEWER_DIR);
}

static void defaults(cw_config *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
  c->listen_port = 7070;
  snprintf(c->data_dir, sizeof c->data_dir, "causeway-data");
  default_viewer(c->viewer_dir, sizeof c->viewer_dir);
  c->max_body = 16u << 20;
  c->max_batch_events = 1u << 20;
  c->max_decoded = (uint64_t)128 << 20;
  c->ingest_memory = (uint64_t)256 << 20;
  c->segment_bytes = 64u << 20;
  c->queue_bytes = 256u << 20;
  c->threads = 48;
  c->max_subscribers = 8;
  c->fsync = 1;
  c->keep_events = 0;
  c->event_memory = (uint64_t)128 << 20;
  c->header_timeout_ms = 10000;
  c->body_timeout_ms = 60000;
  c->max_client_conns = 32;
}

int cw__config_is_loopback(const char *host) {
  return !strncmp(host, "127.", 4) || !strcmp(host, "localhost") ||
         !strcmp(host, "::1") || !strcmp(host, "[::1]");
}

int cw__config_load(cw_config *c, int argc, char **argv, char *err,
                    size_t errsz) {
  defaults(c);
  size_t nopts = sizeof opts / sizeof opts[0];
  /* Keys that were asked for (a key flag or variable, even an empty one)
   * must yield at least one key: an empty "$CAUSEWAY_KEY" must never turn
   * authentication off. */
  int keys_asked = 0;
  for (size_t i = 0; i < nopts; i++) {
    const char *v = getenv(opts[i].env);
    int is_key = opts[i].type == T_KEY || opts[i].type == T_KEYFILE;
    if (v && is_key)
      keys_asked = 1;
    if (v && (*v || is_key) && apply(c, &opts[i], v, err, errsz))
      return -1;
  }
  int env_keys = c->nkeys > 0, cli_keys = 0;
  for (int a = 1; a < argc; a++) {
    const char *arg = argv[a];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      fputs(usage, stdout);
      return 1;
    }
    if (!strcmp(arg, "--version")) {
      puts("causeway-server 0.1.0");
      return 1;
    }
    const opt *o = NULL;
    const char *val = NULL;
    for (size_t i = 0; i < nopts && !o; i++) {
      size_t fl = strlen(opts[i].flag);
      if (!strncmp(arg, opts[i].flag, fl)) {
        if (arg[fl] == '=') {
          o = &opts[i];
          val = arg + fl + 1;
        } else if (arg[fl] == '\0') {
          o = &opts[i];
          if (a + 1 >= argc)
            return fail(err, errsz, "option", arg, "needs a value");
          val = argv[++a];
        }
      }
    }
    if (!o)
      return fail(err, errsz, "option", arg, "unknown (see --help)");
    if ((o->type == T_KEY || o->type == T_KEYFILE) && !cli_keys) {
      if (env_keys)
        c->nkeys = 0; /* flags replace keys from the environment */
      cli_keys = 1;
      keys_asked = 1;
    }
    if (apply(c, o, val, err, errsz))
      return -1;
  }
  if (keys_asked && c->nkeys == 0)
    return fail(err, errsz, "API keys", "",
                "--api-key, --api-keys-file or their variable was given but "
                "holds no key; refusing to start without authentication "
                "(leave them out entirely to run without keys)");
  if (c->rate_burst <= 0)
    c->rate_burst = c->rate_limit * 2 > 1 ? c->rate_limit * 2 : 1;
  if (c->threads < 4)
    c->threads = 4;
  if (c->header_timeout_ms < 100)
    c->header_timeout_ms = 100;
  if (c->max_body < 64)
    return fail(err, errsz, "--max-body", "", "must be at least 64 bytes");
  if (c->ingest_memory < (1u << 20))
    return fail(err, errsz, "--ingest-memory", "", "must be at least 1M");
  if (c->max_body > c->ingest_memory)
    return fail(err, errsz, "--max-body", "",
                "must not exceed --ingest-memory (a body is part of it)");
  if (c->max_decoded < 65536)
    c->max_decoded = 65536;
  if (c->max_decoded > c->ingest_memory)
    c->max_decoded = c->ingest_memory; /* one request fits the budget */
  if (c->segment_bytes < 4096)
    c->segment_bytes = 4096;
  const char *old_q = getenv("CAUSEWAY_QUEUE_BYTES");
  if (old_q && *old_q && !getenv("CAUSEWAY_SERVER_QUEUE_BYTES"))
    fprintf(stderr, "causeway-server: CAUSEWAY_QUEUE_BYTES is the SDK's send "
                    "queue and is ignored here; the analysis queue is "
                    "--queue-bytes or CAUSEWAY_SERVER_QUEUE_BYTES\n");
  if (c->queue_bytes < (1u << 20))
    c->queue_bytes = 1u << 20;
  return 0;
}
