/*
 * cw_core.c: status strings, version, allocator hook, configuration and the
 * session life cycle (init, shutdown, the atexit flush, fork handling).
 *
 * DESIGN. cw_init() builds a session object and publishes it in cw__cur
 * with a release store; every wrapper starts with one acquire load of it.
 * cw_shutdown() unpublishes it, stops the drain thread after a final pass,
 * and frees it. The atexit handler only flushes: other threads may still
 * run at exit, so it frees nothing. After fork() the child abandons the
 * parent's session (its threads do not exist there); when tracing into a
 * directory, the child starts its own session writing its own file.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cw_format.h"
#include "cw_internal.h"
#include "cw_sink.h"
#ifdef CW_HAVE_HTTP_SINK
#include "cw_sink_http.h"
#endif

_Atomic(cw_sess *) cw__cur;

/* ---- Status and version -----------------------------------------------------
 */

const char *cw_strerror(cw_status status) {
  switch (status) {
#define CW_STATUS_CASE_(name, value, msg)                                      \
  case CW_##name:                                                              \
    return msg;
    CW_STATUS_MAP(CW_STATUS_CASE_)
#undef CW_STATUS_CASE_
  default:
    return "unknown status";
  }
}

unsigned int cw_version(void) {
  return CW_VERSION_HEX;
}

const char *cw_version_string(void) {
  return CW_VERSION_STRING;
}

/* ---- Allocator
 * ---------------------------------------------------------------- */

/* Each block carries its size in a 16-byte prefix, so the SDK can report
 * how much memory it holds (cw_stats.memory). */
#define HDR 16

static cw_malloc_fn a_malloc = malloc;
static cw_realloc_fn a_realloc = realloc;
static cw_free_fn a_free = free;
static cw_au64 g_memory;

cw_status cw_set_allocator(cw_malloc_fn m, cw_realloc_fn r, cw_free_fn f) {
  if (!m || !r || !f)
    return CW_EINVAL;
  if (atomic_load(&cw__cur))
    return CW_ESTATE;
  a_malloc = m;
  a_realloc = r;
  a_free = f;
  return CW_OK;
}

/* A user's allocator hook runs "inside the SDK": whatever instrumented call
 * it makes (a pool allocator's own cw_mutex_lock, say) passes straight
 * through, on registered threads through their reentrancy flag, on others
 * through cw__in_alloc, which cw__enter_slow() checks. */
_Thread_local int cw__in_alloc;

typedef struct hook_guard {
  cw_tstate *ts;
  int busy;
} hook_guard;

static hook_guard hook_enter(void) {
  hook_guard g = {cw__tls, 0};
  if (g.ts) {
    g.busy = g.ts->busy;
    g.ts->busy = 1;
  }
  cw__in_alloc++;
  return g;
}

static void hook_leave(hook_guard g) {
  cw__in_alloc--;
  if (g.ts)
    g.ts->busy = g.busy;
}

void *cw__malloc(size_t n) {
  if (n > SIZE_MAX - HDR)
    return NULL;
  hook_guard g = hook_enter();
  unsigned char *p = a_malloc(n + HDR);
  hook_leave(g);
  if (!p)
    return NULL;
  memcpy(p, &n, sizeof(n));
  cw_fetch_add_relaxed(&g_memory, n);
  return p + HDR;
}

void *cw__calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size)
    return NULL;
  void *p = cw__malloc(n * size);
  if (p)
    memset(p, 0, n * size);
  return p;
}

void *cw__realloc(void *p, size_t n) {
  if (!p)
    return cw__malloc(n);
  if (n > SIZE_MAX - HDR)
    return NULL;
  unsigned char *base = (unsigned char *)p - HDR;
  size_t old;
  memcpy(&old, base, sizeof(old));
  hook_guard g = hook_enter();
  unsigned char *q = a_realloc(base, n + HDR);
  hook_leave(g);
  if (!q)
    return NULL;
  memcpy(q, &n, sizeof(n));
  cw_fetch_add_relaxed(&g_memory, n);
  atomic_fetch_sub_explicit(&g_memory, old, memory_order_relaxed);
  return q + HDR;
}

void cw__free(void *p) {
  if (!p)
    return;
  unsigned char *base = (unsigned char *)p - HDR;
  size_t old;
  memcpy(&old, base, sizeof(old));
  atomic_fetch_sub_explicit(&g_memory, old, memory_order_relaxed);
  hook_guard g = hook_enter();
  a_free(base);
  hook_leave(g);
}

char *cw__strndup(const char *s, size_t max) {
  size_t n = strnlen(s, max);
  char *d = cw__malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

void cw__fatal(const char *what, int err) {
  fprintf(stderr, "causeway: fatal: %s failed (%d: %s)\n", what, err,
          strerror(err));
  abort();
}

/* ---- Time
 * --------------------------------------------------------------------- */

uint64_t cw__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t cw__wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t cw_now_ns(void) {
  return cw__mono_ns();
}

/* ---- Configuration
 * -------------------------------------------------------------- */

void cw_config_init(cw_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof(*cfg));
  cfg->size = sizeof(*cfg);
  cfg->buffer_bytes = 256u << 10;
  cfg->batch_bytes = 1u << 20;
  cfg->flush_interval_ms = 200;
  cfg->retire_window = 256;
  cfg->max_actors = 4096;
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static int env_true(const char *name) {
  const char *v = env(name);
  return v && strcmp(v, "0") != 0 && strcmp(v, "false") != 0 &&
         strcmp(v, "no") != 0;
}

/* Copies a name part, replacing the separators '#' and '/' and anything
 * that is not printable ASCII with '_'. */
static void copy_part(char *dst, size_t cap, const char *src) {
  size_t i = 0;
  for (; src && src[i] && i + 1 < cap; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[i] = (c == '#' || c == '/' || c <= 0x20 || c >= 0x7f) ? '_' : src[i];
  }
  dst[i] = 0;
}

static void default_service(char *dst, size_t cap) {
  char comm[64] = "";
  FILE *f = fopen("/proc/self/comm", "r");
  if (f) {
    if (!fgets(comm, sizeof(comm), f))
      comm[0] = 0;
    fclose(f);
    comm[strcspn(comm, "\n")] = 0;
  }
  copy_part(dst, cap, comm[0] ? comm : "app");
}

static void random_bytes(uint8_t *out, size_t n) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  size_t got = 0;
  if (fd >= 0) {
    while (got < n) {
      ssize_t r = read(fd, out + got, n - got);
      if (r <= 0)
        break;
      got += (size_t)r;
    }
    close(fd);
  }
  uint64_t x = (uint64_t)cw__wall_ns() ^ ((uint64_t)getpid() << 32);
  for (; got < n; got++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[got] = (uint8_t)x;
  }
}

/* ---- Session life cycle
 * ------------------------------------------------------------ */

static pthread_mutex_t g_life = PTHREAD_MUTEX_INITIALIZER;
static cw_sess *g_flushed; /* stopped by the atexit handler, not freed */
static int g_hooks_done;

/* Sessions abandoned in a forked child, kept reachable on purpose. */
static cw_sess *g_abandoned[8];
static unsigned g_nabandoned;

static void at_exit(void);
static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

static void free_session(cw_sess *s) {
  cw__drain_free(s);
  cw__locktab_free(&s->locks);
  cw__locktab_free(&s->keys);
  cw__actab_free(&s->actors);
  pthread_mutex_destroy(&s->reg_mu);
  pthread_mutex_destroy(&s->dmu);
  pthread_mutex_destroy(&s->work_mu);
  pthread_cond_destroy(&s->fcv);
  cw__free(s->trace_path);
  cw__free(s);
}

/* Opens the trace file (or <dir>/<service>-<pid>.cwt) when configured.
 * @return CW_OK with *out set (NULL when neither is configured). */
static cw_status open_file_sink(cw_sess *s, cw_sink **out) {
  const cw_config *c = &s->cfg;
  *out = NULL;
  if (c->trace_file) {
    s->trace_path = cw__strndup(c->trace_file, 4096);
  } else if (c->trace_dir) {
    char buf[4096];
    int n = snprintf(buf, sizeof(buf), "%s/%s-%ld.cwt", c->trace_dir,
                     s->service, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(buf))
      return CW_EINVAL;
    (void)mkdir(c->trace_dir, 0755);
    s->trace_path = cw__strndup(buf, sizeof(buf));
  }
  if ((c->trace_file || c->trace_dir) && !s->trace_path)
    return CW_ENOMEM;
  if (s->trace_path) {
    *out = cw__sink_file_open(s->trace_path, c->fsync);
    if (!*out)
      return errno == ENOMEM ? CW_ENOMEM : CW_EIO;
  }
  return CW_OK;
}

/* The endpoint (collector) and the trace file or directory are
 * independent: with both, every batch goes to both (a tee sink). */
static cw_status open_sink(cw_sess *s) {
  const cw_config *c = &s->cfg;
  cw_sink *net = NULL, *file = NULL;
  if (c->endpoint) {
    cw_sink_factory f = cw__sink_endpoint_factory();
    if (f)
      net = f(c->endpoint, s->service, s->instance);
#ifdef CW_HAVE_HTTP_SINK
    if (!net)
      net = cw__sink_http_open(c->endpoint, s->service, s->instance);
#endif
    if (!net)
      fprintf(stderr,
              "causeway: endpoint %s: no HTTP transport in this build; %s\n",
              c->endpoint,
              c->trace_file || c->trace_dir ? "using the trace file only"
                                            : "events are discarded");
  }
  cw_status st = open_file_sink(s, &file);
  if (st != CW_OK) {
    if (net)
      net->close(net);
    return st;
  }
  if (net && file) {
    s->sink = cw__sink_tee(net, file);
    if (!s->sink) {
      net->close(net);
      file->close(file);
      return CW_ENOMEM;
    }
    return CW_OK;
  }
  s->sink = net ? net : file ? file : cw__sink_null_open();
  return s->sink ? CW_OK : CW_ENOMEM;
}

static cw_status start_session(const cw_config *cfg) {
  cw_sess *s = cw__calloc(1, sizeof(*s));
  if (!s)
    return CW_ENOMEM;
  static uint64_t serials; /* under g_life */
  s->serial = ++serials;
  s->cfg = *cfg;
  if (cfg->service)
    copy_part(s->service, sizeof(s->service), cfg->service);
  else
    default_service(s->service, sizeof(s->service));
  if (!s->service[0])
    copy_part(s->service, sizeof(s->service), "app");
  if (cfg->instance) {
    copy_part(s->instance, sizeof(s->instance), cfg->instance);
  } else {
    char host[48] = "host", inst[64];
    if (gethostname(host, sizeof(host) - 1) != 0)
      snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = 0;
    snprintf(inst, sizeof(inst), "%s-%ld", host, (long)getpid());
    copy_part(s->instance, sizeof(s->instance), inst);
  }
  s->prefix_len = (size_t)snprintf(s->prefix, sizeof(s->prefix), "%s#%s/",
                                   s->service, s->instance);
  /* Strings of the copy must not dangle: keep only what open_sink needs
   * during this call, then clear them. */
  s->cfg.service = s->service;
  s->cfg.instance = s->instance;
  random_bytes(s->stream_id, sizeof(s->stream_id));
  /* CAUSEWAY_CLOCK=monotonic|tsc overrides the stamp source (cw_stamp.h). */
  const char *clk = env("CAUSEWAY_CLOCK");
  int mode = !clk                            ? CW_STAMP_AUTO
             : strcmp(clk, "tsc") == 0       ? CW_STAMP_TSC
             : strcmp(clk, "monotonic") == 0 ? CW_STAMP_MONO
                                             : CW_STAMP_AUTO;
  cw__stamp_init(&s->stamps, &s->base_mono, mode);
  s->use_tsc = s->stamps.use_tsc;
  s->base_wall = cw__wall_ns() - (int64_t)(cw__mono_ns() - s->base_mono);
  s->init_thread = pthread_self();
  atomic_init(&s->seq_floor, 1);
  s->seq_base = cw__raw_stamp(s);
  CW_CHECK(pthread_mutex_init(&s->reg_mu, NULL));
  CW_CHECK(pthread_mutex_init(&s->dmu, NULL));
  CW_CHECK(pthread_mutex_init(&s->work_mu, NULL));
  CW_CHECK(pthread_cond_init(&s->fcv, NULL));
  cw_status st = CW_ENOMEM;
  if (cw__actab_init(&s->actors, cfg->max_actors) != 0 ||
      cw__locktab_init(&s->locks) != 0 || cw__locktab_init(&s->keys) != 0)
    goto fail;
  st = open_sink(s);
  s->cfg.trace_file = s->cfg.endpoint = NULL;
  s->cfg.trace_dir = cfg->trace_dir && !cfg->trace_file ? "" : NULL;
  if (st != CW_OK)
    goto fail;
  if (cw__drain_start(s) != 0) {
    st = CW_ENOMEM;
    goto fail;
  }
  atomic_store_explicit(&cw__cur, s, memory_order_release);
  return CW_OK;
fail:
  if (s->sink)
    s->sink->close(s->sink);
  s->sink = NULL;
  free_session(s);
  return st;
}

/* Trace directory of the current session, kept for forked children. */
static char g_dir[4096];
static cw_sess *g_fork_parent; /* the session a forked child left */
cw_aint cw__fork_pending;      /* a forked child still has to start */

cw_status cw_init(const cw_config *user) {
  cw_config cfg;
  cw_config_init(&cfg);
  if (user) {
    if (user->size < offsetof(cw_config, buffer_bytes) ||
        user->size > sizeof(cw_config))
      return CW_EINVAL;
    memcpy(&cfg, user, user->size);
    cfg.size = sizeof(cfg);
    cw_config def;
    cw_config_init(&def);
    if (!cfg.buffer_bytes)
      cfg.buffer_bytes = def.buffer_bytes;
    if (!cfg.batch_bytes)
      cfg.batch_bytes = def.batch_bytes;
    if (!cfg.flush_interval_ms)
      cfg.flush_interval_ms = def.flush_interval_ms;
    if (!cfg.retire_window)
      cfg.retire_window = def.retire_window;
    if (!cfg.max_actors)
      cfg.max_actors = def.max_actors;
  }
  if (env("CAUSEWAY_SERVICE"))
    cfg.service = env("CAUSEWAY_SERVICE");
  /* Precedence: env file, env directory, config file, config directory.
   * The endpoint is independent of them: with both, batches go to both. */
  if (env("CAUSEWAY_TRACE_FILE")) {
    cfg.trace_file = env("CAUSEWAY_TRACE_FILE");
  } else if (env("CAUSEWAY_TRACE_DIR")) {
    cfg.trace_file = NULL;
    cfg.trace_dir = env("CAUSEWAY_TRACE_DIR");
  }
  if (env("CAUSEWAY_ENDPOINT"))
    cfg.endpoint = env("CAUSEWAY_ENDPOINT");
  if (env_true("CAUSEWAY_DISABLED"))
    cfg.disabled = 1;
  if (cfg.buffer_bytes < (16u << 10))
    cfg.buffer_bytes = 16u << 10;
  if (cfg.batch_bytes < (64u << 10))
    cfg.batch_bytes = 64u << 10;
  if (cfg.max_actors < cfg.retire_window + 64)
    cfg.max_actors = cfg.retire_window + 64;
  if (cfg.max_actors > (1u << 22))
    return CW_EINVAL;
  /* A record carrying a whole clock must fit in half a ring, and an event
   * with every actor's definition in one batch. */
  uint64_t min_ring = 2 * ((uint64_t)cfg.max_actors * 16 + 1024);
  uint64_t min_batch = (uint64_t)cfg.max_actors * 200 + (64u << 10);
  if (cfg.buffer_bytes < min_ring)
    cfg.buffer_bytes = (uint32_t)min_ring;
  if (cfg.batch_bytes < min_batch)
    cfg.batch_bytes = (uint32_t)min_batch;

  CW_CHECK(pthread_mutex_lock(&g_life));
  cw_status st = CW_OK;
  if (atomic_load(&cw__cur)) {
    st = CW_ESTATE;
  } else {
    if (g_flushed) {
      free_session(g_flushed);
      g_flushed = NULL;
    }
    atomic_store(&cw__fork_pending, 0);
    if (!g_hooks_done) {
      g_hooks_done = 1;
      atexit(at_exit);
      CW_CHECK(pthread_atfork(fork_prepare, fork_parent, fork_child));
    }
    g_dir[0] = 0;
    if (!cfg.disabled) {
      st = start_session(&cfg);
      if (st == CW_OK && cfg.trace_dir && !cfg.trace_file)
        snprintf(g_dir, sizeof(g_dir), "%s", cfg.trace_dir);
    }
  }
  CW_CHECK(pthread_mutex_unlock(&g_life));
  return st;
}

int cw_is_enabled(void) {
  return atomic_load(&cw__cur) != NULL;
}

/* Ends the calling thread's actors of session s and stops the session.
 * Called with g_life held. @return 0 or -1 when the last write failed. */
static int stop_session(cw_sess *s);

static int stop_session(cw_sess *s) {
  cw_tstate *ts = cw__tls;
  if (ts && ts->sess == s && !ts->busy) {
    ts->busy = 1;
    while (ts->ntasks > 0) {
      cw__actor_end(ts, ts->cur, CW_EV_TASK_END);
      ts->ntasks--;
      ts->cur = ts->ntasks ? &ts->tasks[ts->ntasks - 1] : &ts->thr;
    }
    if (!ts->thr.ended)
      cw__actor_end(ts, &ts->thr, CW_EV_THREAD_END);
    ts->busy = 0;
    cw__tls_clear();
    cw_store_release(&ts->exited, 1); /* the drain frees it */
  }
  atomic_store_explicit(&cw__cur, NULL, memory_order_release);
  int rc = cw__drain_stop(s);
  if (s->sink && s->sink->close(s->sink) != 0)
    rc = -1;
  s->sink = NULL;
  return rc;
}

cw_status cw_shutdown(void) {
  CW_CHECK(pthread_mutex_lock(&g_life));
  atomic_store(&cw__fork_pending, 0);
  cw_sess *s = atomic_load(&cw__cur);
  int rc = 0;
  if (s)
    rc = stop_session(s);
  else
    s = g_flushed;
  g_flushed = NULL;
  if (s)
    free_session(s);
  CW_CHECK(pthread_mutex_unlock(&g_life));
  return rc ? CW_EIO : CW_OK;
}

static void at_exit(void) {
  CW_CHECK(pthread_mutex_lock(&g_life));
  cw_sess *s = atomic_load(&cw__cur);
  if (s) {
    (void)stop_session(s);
    g_flushed = s;
  }
  CW_CHECK(pthread_mutex_unlock(&g_life));
}

cw_status cw_flush(void) {
  cw_sess *s = atomic_load_explicit(&cw__cur, memory_order_acquire);
  if (!s)
    return CW_EDISABLED;
  return cw__drain_flush(s) == 0 ? CW_OK : CW_EIO;
}

void cw_stats_get(cw_stats *out) {
  if (!out)
    return;
  memset(out, 0, sizeof(*out));
  out->memory = cw_load_relaxed(&g_memory);
  cw_sess *s = atomic_load_explicit(&cw__cur, memory_order_acquire);
  if (!s)
    return;
  out->dropped = cw_load_relaxed(&s->st_dropped);
  /* Every registered thread's count, plus the threads already freed. */
  CW_CHECK(pthread_mutex_lock(&s->reg_mu));
  uint64_t n = cw_load_relaxed(&s->st_events_gone);
  for (uint32_t i = 0; i < s->nthreads_reg; i++)
    n += cw_load_relaxed(&s->threads[i]->nrec);
  CW_CHECK(pthread_mutex_unlock(&s->reg_mu));
  out->events = n - out->dropped;
  out->written = cw_load_relaxed(&s->st_written);
  out->batches = cw_load_relaxed(&s->st_batches);
  out->bytes = cw_load_relaxed(&s->st_bytes);
  out->retired = cw_load_relaxed(&s->st_retired);
  out->max_clock = cw_load_relaxed(&s->st_max_clock);
  CW_CHECK(pthread_mutex_lock(&s->actors.mu));
  out->live_actors = s->actors.live;
  CW_CHECK(pthread_mutex_unlock(&s->actors.mu));
}

/* ---- fork()
 * ------------------------------------------------------------------------ */

static void fork_prepare(void) {
  CW_CHECK(pthread_mutex_lock(&g_life));
  cw_sess *s = atomic_load(&cw__cur);
  if (s) {
    CW_CHECK(pthread_mutex_lock(&s->work_mu));
    CW_CHECK(pthread_mutex_lock(&s->dmu));
    CW_CHECK(pthread_mutex_lock(&s->reg_mu));
    CW_CHECK(pthread_mutex_lock(&s->actors.mu));
  }
}

static void fork_parent(void) {
  cw_sess *s = atomic_load(&cw__cur);
  if (s) {
    CW_CHECK(pthread_mutex_unlock(&s->actors.mu));
    CW_CHECK(pthread_mutex_unlock(&s->reg_mu));
    CW_CHECK(pthread_mutex_unlock(&s->dmu));
    CW_CHECK(pthread_mutex_unlock(&s->work_mu));
  }
  CW_CHECK(pthread_mutex_unlock(&g_life));
}

static void fork_child(void) {
  cw_sess *s = atomic_load(&cw__cur);
  if (s) {
    CW_CHECK(pthread_mutex_unlock(&s->actors.mu));
    CW_CHECK(pthread_mutex_unlock(&s->reg_mu));
    CW_CHECK(pthread_mutex_unlock(&s->dmu));
    CW_CHECK(pthread_mutex_unlock(&s->work_mu));
    /* The drain thread does not exist here: abandon the session. */
    atomic_store(&cw__cur, NULL);
    if (g_nabandoned < sizeof(g_abandoned) / sizeof(g_abandoned[0]))
      g_abandoned[g_nabandoned++] = s;
    /* With a trace directory the child gets its own session, started by
     * its first SDK call: no thread may be started inside a fork handler
     * (the allocator of a sanitizer, for one, is not usable yet). */
    if (g_dir[0]) {
      g_fork_parent = s;
      atomic_store(&cw__fork_pending, 1);
    }
  }
  CW_CHECK(pthread_mutex_unlock(&g_life));
}

cw_sess *cw__fork_reinit(void) {
  CW_CHECK(pthread_mutex_lock(&g_life));
  cw_sess *p = g_fork_parent;
  if (atomic_exchange(&cw__fork_pending, 0) && p && !atomic_load(&cw__cur)) {
    cw_config cfg;
    cw_config_init(&cfg);
    cfg.service = p->service;
    cfg.trace_dir = g_dir;
    cfg.buffer_bytes = p->cfg.buffer_bytes;
    cfg.batch_bytes = p->cfg.batch_bytes;
    cfg.flush_interval_ms = p->cfg.flush_interval_ms;
    cfg.retire_window = p->cfg.retire_window;
    cfg.max_actors = p->cfg.max_actors;
    cfg.fsync = p->cfg.fsync;
    (void)start_session(&cfg);
  }
  g_fork_parent = NULL;
  CW_CHECK(pthread_mutex_unlock(&g_life));
  return atomic_load_explicit(&cw__cur, memory_order_acquire);
}
