/*
 * viewer_api: timeline, marks / findings since a mark, stream tokens
 * (viewer_api.h, docs/http-api.md).
 *
 * DESIGN. A mark is a snapshot of how far each findings list had grown
 * (and each race group's and lock's counts) when it was taken, after every
 * acknowledged batch was analysed. A query with ?since=MARK answers the
 * items that are new or grew since then, each with its "index" in the full
 * list (which is stable: first occurrence), so links into the viewer stay
 * valid. With ?until=MARK2 the answer compares two marks' snapshots
 * instead of a mark and now: exact, as every list and count was recorded. The
 * newest 256 marks are kept; an older one gets 404. Stream tokens are 128-bit
 * random values from the kernel (getrandom), valid for 60 s, compared in
 * constant time with the API keys' comparison.
 */
#define _POSIX_C_SOURCE 200809L
#include "viewer_api.h"

#include "auth.h"
#include "query.h"
#include "server_int.h"
#include "timeline.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MAX_MARKS 256
#define MAX_TOKENS 64
#define TOKEN_TTL_S 60

typedef struct mark {
  uint64_t id;
  int64_t wall_ns;
  uint64_t events;
  uint64_t *race_counts; /* per race group at the mark */
  size_t nraces;
  size_t npotential, ndeadlocks;
  uint64_t *lock_contended; /* per lock at the mark */
  uint64_t *lock_acq;
  size_t nlocks;
} mark;

struct cw_viewer_state {
  pthread_mutex_t mu;
  mark marks[MAX_MARKS];
  uint64_t next_mark; /* ids from 1 */
  char tokens[MAX_TOKENS][256];
  double expires[MAX_TOKENS];
  unsigned next_token;
};

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

cw_viewer_state *cw__viewer_new(void) {
  cw_viewer_state *v = calloc(1, sizeof *v);
  if (v)
    pthread_mutex_init(&v->mu, NULL);
  return v;
}

static void mark_clear(mark *m) {
  free(m->race_counts);
  free(m->lock_contended);
  free(m->lock_acq);
  memset(m, 0, sizeof *m);
}

void cw__viewer_free(cw_viewer_state *v) {
  if (!v)
    return;
  for (int i = 0; i < MAX_MARKS; i++)
    mark_clear(&v->marks[i]);
  pthread_mutex_destroy(&v->mu);
  free(v);
}

int cw__viewer_post_route(const char *path) {
  return !strcmp(path, "/v1/marks") || !strcmp(path, "/v1/stream-token");
}

/* ---- Stream tokens ------------------------------------------------------- */

int cw__viewer_stream_token_ok(cw_server *s, const char *qs) {
  char tok[128];
  if (!qs || !s->viewer ||
      mg_get_var(qs, strlen(qs), "token", tok, sizeof tok) <= 0)
    return 0;
  cw_viewer_state *v = s->viewer;
  double now = mono_s();
  pthread_mutex_lock(&v->mu);
  char live[MAX_TOKENS][256];
  size_t n = 0;
  for (int i = 0; i < MAX_TOKENS; i++)
    if (v->expires[i] > now)
      memcpy(live[n++], v->tokens[i], 256);
  pthread_mutex_unlock(&v->mu);
  return n &&
         cw__auth_match((const char(*)[256])live, n, tok, strlen(tok)) >= 0;
}

static int h_stream_token(cw_server *s, struct mg_connection *c) {
  unsigned char raw[16];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
    cw__http_error(c, 503, "no randomness available", NULL);
    return 503;
  }
  char hex[33];
  for (int i = 0; i < 16; i++)
    snprintf(hex + 2 * i, 3, "%02x", raw[i]);
  cw_viewer_state *v = s->viewer;
  pthread_mutex_lock(&v->mu);
  unsigned slot = v->next_token++ % MAX_TOKENS;
  memset(v->tokens[slot], 0, 256);
  memcpy(v->tokens[slot], hex, 33);
  v->expires[slot] = mono_s() + TOKEN_TTL_S;
  pthread_mutex_unlock(&v->mu);
  cw__http_json(c, 200,
                json_pack("{s:s,s:i}", "token", hex, "expires_in", TOKEN_TTL_S),
                NULL);
  return 200;
}

/* ---- Marks --------------------------------------------------------------- */

static int h_mark(cw_server *s, struct mg_connection *c) {
  cw__analyzer_drain(s->an);
  mark m;
  memset(&m, 0, sizeof m);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  m.wall_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  cw_engine *e = cw__analyzer_lock(s->an);
  cw_summary sum;
  cw__engine_summary(e, &sum);
  m.events = sum.events;
  const cw_race_group *g;
  m.nraces = cw__engine_races(e, &g);
  m.race_counts = calloc(m.nraces + 1, sizeof *m.race_counts);
  for (size_t i = 0; m.race_counts && i < m.nraces; i++)
    m.race_counts[i] = g[i].count;
  const cw_deadlock *d;
  m.npotential = cw__engine_potential_deadlocks(e, &d);
  m.ndeadlocks = cw__engine_deadlocks(e, &d);
  const cw_lock_stats *l;
  m.nlocks = cw__engine_locks(e, &l);
  m.lock_contended = calloc(m.nlocks + 1, sizeof *m.lock_contended);
  m.lock_acq = calloc(m.nlocks + 1, sizeof *m.lock_acq);
  for (size_t i = 0; m.lock_contended && m.lock_acq && i < m.nlocks; i++) {
    m.lock_contended[i] = l[i].contended;
    m.lock_acq[i] = l[i].acquisitions;
  }
  cw__analyzer_unlock(s->an);
  if (!m.race_counts || !m.lock_contended || !m.lock_acq) {
    mark_clear(&m);
    cw__http_error(c, 503, "out of memory", NULL);
    return 503;
  }
  cw_viewer_state *v = s->viewer;
  pthread_mutex_lock(&v->mu);
  m.id = ++v->next_mark;
  mark *slot = &v->marks[m.id % MAX_MARKS];
  mark_clear(slot);
  *slot = m;
  pthread_mutex_unlock(&v->mu);
  cw__http_json(c, 200,
                json_pack("{s:I,s:I,s:I}", "mark", (json_int_t)m.id, "events",
                          (json_int_t)m.events, "wall_ns",
                          (json_int_t)m.wall_ns),
                NULL);
  return 200;
}

/* Copies mark `id` into out. @return 0, or -1 when unknown or evicted. */
static int mark_get(cw_viewer_state *v, uint64_t id, mark *out) {
  int rc = -1;
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&v->mu);
  const mark *m = &v->marks[id % MAX_MARKS];
  if (id && m->id == id) {
    *out = *m;
    out->race_counts = malloc((m->nraces + 1) * sizeof(uint64_t));
    out->lock_contended = malloc((m->nlocks + 1) * sizeof(uint64_t));
    out->lock_acq = malloc((m->nlocks + 1) * sizeof(uint64_t));
    if (out->race_counts && out->lock_contended && out->lock_acq) {
      memcpy(out->race_counts, m->race_counts, m->nraces * sizeof(uint64_t));
      memcpy(out->lock_contended, m->lock_contended,
             m->nlocks * sizeof(uint64_t));
      memcpy(out->lock_acq, m->lock_acq, m->nlocks * sizeof(uint64_t));
      rc = 0;
    } else {
      mark_clear(out);
    }
  }
  pthread_mutex_unlock(&v->mu);
  return rc;
}

/* Items of a list that are new or grew since the mark, with their index.
 * Each builder appends to `all` (every such item) and pages into `page`. */
static void add_item(json_t *page, uint64_t *total, const cw_query *q,
                     json_t *item, size_t index) {
  if (!item)
    return;
  json_object_set_new(item, "index", json_integer((json_int_t)index));
  if (*total >= q->offset && *total < q->offset + q->limit)
    json_array_append_new(page, item);
  else
    json_decref(item);
  (*total)++;
}

/* The lists below answer what appeared or grew after mark m and, with
 * `end` (?until=), up to mark end instead of now. */
static json_t *since_races(cw_engine *e, const mark *m, const mark *end,
                           const cw_query *q, uint64_t *nvars,
                           uint64_t *npairs) {
  const cw_race_group *g;
  size_t n = cw__engine_races(e, &g);
  if (end && end->nraces < n)
    n = end->nraces;
  json_t *page = json_array();
  uint64_t total = 0;
  cw_sym *vars = calloc(n + 1, sizeof *vars);
  size_t nv = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t before = i < m->nraces ? m->race_counts[i] : 0;
    uint64_t after = end ? end->race_counts[i] : g[i].count;
    if (after <= before)
      continue;
    if (vars) {
      size_t k = 0;
      while (k < nv && vars[k] != g[i].var)
        k++;
      if (k == nv)
        vars[nv++] = g[i].var;
    }
    if (q->variable[0] && strcmp(cw__engine_str(e, g[i].var), q->variable))
      continue;
    if (q->severity && (int)g[i].severity != q->severity)
      continue;
    json_t *o = cw__q_race_json(e, &g[i]);
    json_object_set_new(o, "count_since",
                        json_integer((json_int_t)(after - before)));
    add_item(page, &total, q, o, i);
  }
  free(vars);
  if (nvars)
    *nvars = nv;
  if (npairs)
    *npairs = total;
  return cw__q_page(page, total, q);
}

static json_t *since_deadlocks(cw_engine *e, const mark *m, const mark *end,
                               const cw_query *q, int actual) {
  const cw_deadlock *d;
  size_t n = actual ? cw__engine_deadlocks(e, &d)
                    : cw__engine_potential_deadlocks(e, &d);
  size_t first = actual ? m->ndeadlocks : m->npotential;
  size_t last = end ? (actual ? end->ndeadlocks : end->npotential) : n;
  if (last < n)
    n = last;
  json_t *page = json_array();
  uint64_t total = 0;
  for (size_t i = first; i < n; i++) {
    if (d[i].withdrawn || (actual && q->active_only && !d[i].active))
      continue;
    add_item(page, &total, q, cw__q_deadlock_json(e, &d[i]), i);
  }
  return cw__q_page(page, total, q);
}

static json_t *since_locks(cw_engine *e, const mark *m, const mark *end,
                           const cw_query *q, uint64_t *ncontended) {
  const cw_lock_stats *l;
  size_t n = cw__engine_locks(e, &l);
  if (end && end->nlocks < n)
    n = end->nlocks;
  json_t *page = json_array();
  uint64_t total = 0, nc = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t acq = i < m->nlocks ? m->lock_acq[i] : 0;
    uint64_t con = i < m->nlocks ? m->lock_contended[i] : 0;
    uint64_t acq2 = end ? end->lock_acq[i] : l[i].acquisitions;
    uint64_t con2 = end ? end->lock_contended[i] : l[i].contended;
    if (acq2 <= acq && con2 <= con)
      continue;
    nc += con2 > con;
    if (q->contended_only && con2 <= con)
      continue;
    if (q->lock[0] && strcmp(cw__engine_str(e, l[i].lock), q->lock))
      continue;
    json_t *o = cw__q_lock_json(e, &l[i]);
    json_object_set_new(o, "acquisitions_since",
                        json_integer((json_int_t)(acq2 - acq)));
    json_object_set_new(o, "contended_since",
                        json_integer((json_int_t)(con2 - con)));
    add_item(page, &total, q, o, i);
  }
  if (ncontended)
    *ncontended = nc;
  return cw__q_page(page, total, q);
}

static json_t *since_summary(cw_engine *e, const mark *m, const mark *end) {
  cw_summary s;
  cw__engine_summary(e, &s);
  cw_query all;
  memset(&all, 0, sizeof all);
  all.limit = 0;
  uint64_t nvars = 0, ngroups = 0, ncont = 0;
  json_decref(since_races(e, m, end, &all, &nvars, &ngroups));
  json_decref(since_locks(e, m, end, &all, &ncont));
  const cw_deadlock *d;
  size_t np = end ? end->npotential : cw__engine_potential_deadlocks(e, &d);
  size_t nall = cw__engine_deadlocks(e, &d);
  size_t nd = end && end->ndeadlocks < nall ? end->ndeadlocks : nall;
  /* Withdrawn deadlocks keep their slots: count the others. */
  size_t nd_new = 0;
  for (size_t i = m->ndeadlocks; i < nd; i++)
    nd_new += !d[i].withdrawn;
  uint64_t events = end ? end->events : s.events;
  return json_pack(
      "{s:I,s:I,s:I,s:I,s:I,s:I}", "events", (json_int_t)(events - m->events),
      "racy_variables", (json_int_t)nvars, "race_groups", (json_int_t)ngroups,
      "potential_deadlocks",
      (json_int_t)(np > m->npotential ? np - m->npotential : 0), "deadlocks",
      (json_int_t)nd_new, "contended_locks", (json_int_t)ncont);
}

/* GET of a findings route with ?since=MARK (and ?until=MARK2: between the
 * two marks; until 0: up to now). */
static int h_since(cw_server *s, struct mg_connection *c, const char *path,
                   uint64_t id, uint64_t until, const cw_query *q) {
  static const char *const routes[] = {
      "/v1/findings",  "/v1/summary", "/v1/races", "/v1/potential-deadlocks",
      "/v1/deadlocks", "/v1/locks"};
  size_t r = 0;
  while (r < sizeof routes / sizeof routes[0] && strcmp(path, routes[r]))
    r++;
  if (r == sizeof routes / sizeof routes[0]) {
    cw__http_error(c, 400, "'since' applies to findings routes only", NULL);
    return 400;
  }
  if (until && until < id) {
    cw__http_error(c, 400, "'until' must not be an earlier mark than 'since'",
                   NULL);
    return 400;
  }
  mark m, me;
  memset(&me, 0, sizeof me);
  if (mark_get(s->viewer, id, &m) ||
      (until && mark_get(s->viewer, until, &me))) {
    mark_clear(&m);
    cw__http_error(c, 404, "unknown or expired mark", NULL);
    return 404;
  }
  const mark *end = until ? &me : NULL;
  if (q->sync && !end)
    cw__analyzer_drain(s->an);
  cw_engine *e = cw__analyzer_lock(s->an);
  json_t *v = NULL;
  cw_query all = *q;
  all.offset = 0;
  all.limit = UINT64_MAX / 2;
  if (r == 0) {
    /* /v1/findings: the summary and every since-list, unpaged */
    v = json_pack("{s:o}", "summary", since_summary(e, &m, end));
    json_t *lists[4] = {since_races(e, &m, end, &all, NULL, NULL),
                        since_deadlocks(e, &m, end, &all, 0),
                        since_deadlocks(e, &m, end, &all, 1),
                        since_locks(e, &m, end, &all, NULL)};
    static const char *const keys[4] = {"races", "potential_deadlocks",
                                        "deadlocks", "locks"};
    for (int k = 0; k < 4; k++) {
      json_object_set(v, keys[k], json_object_get(lists[k], "items"));
      json_decref(lists[k]);
    }
  } else if (r == 1) {
    v = json_pack("{s:o}", "summary", since_summary(e, &m, end));
  } else if (r == 2) {
    v = since_races(e, &m, end, q, NULL, NULL);
  } else if (r == 3 || r == 4) {
    v = since_deadlocks(e, &m, end, q, r == 4);
  } else {
    v = since_locks(e, &m, end, q, NULL);
  }
  cw__analyzer_unlock(s->an);
  if (v) {
    json_object_set_new(v, "since", json_integer((json_int_t)id));
    json_object_set_new(v, "since_wall_ns", json_integer(m.wall_ns));
    if (end) {
      json_object_set_new(v, "until", json_integer((json_int_t)until));
      json_object_set_new(v, "until_wall_ns", json_integer(me.wall_ns));
    }
  }
  mark_clear(&m);
  mark_clear(&me);
  cw__http_json(c, 200, v, NULL);
  return 200;
}

/* ---- Timeline ------------------------------------------------------------ */

static int h_timeline(cw_server *s, struct mg_connection *c, const char *qs) {
  cw_tl_query *q = malloc(sizeof *q);
  char msg[128];
  if (!q) {
    cw__http_error(c, 503, "out of memory", NULL);
    return 503;
  }
  if (cw__tl_query_parse(qs, q, msg, sizeof msg)) {
    free(q);
    cw__http_error(c, 400, msg, NULL);
    return 400;
  }
  char sync[8];
  if (qs && mg_get_var(qs, strlen(qs), "sync", sync, sizeof sync) > 0 &&
      (!strcmp(sync, "1") || !strcmp(sync, "true")))
    cw__analyzer_drain(s->an);
  json_t *v = cw__timeline_query(cw__analyzer_timeline(s->an),
                                 cw__analyzer_tl_engine(s->an), q);
  free(q);
  if (!v) {
    cw__http_error(c, 503, "out of memory", NULL);
    return 503;
  }
  cw__http_json(c, 200, v, NULL);
  return 200;
}

/* Parses a mark id (1 or more). @return 0, or -1. */
static int mark_id(const char *v, uint64_t *out) {
  char *end;
  unsigned long long id = strtoull(v, &end, 10);
  if (!v[0] || *end || v[0] == '-' || id == 0)
    return -1;
  *out = (uint64_t)id;
  return 0;
}

int cw__viewer_handle(cw_server *s, struct mg_connection *c, const char *path) {
  const struct mg_request_info *ri = mg_get_request_info(c);
  int post = !strcmp(ri->request_method, "POST");
  if (!s->viewer)
    return 0;
  if (!strcmp(path, "/v1/marks") && post)
    return h_mark(s, c);
  if (!strcmp(path, "/v1/stream-token") && post)
    return h_stream_token(s, c);
  if (post) {
    cw__http_error(c, 405, "method not allowed", "Allow: GET\r\n");
    return 405;
  }
  if (!strcmp(path, "/v1/marks") || !strcmp(path, "/v1/stream-token")) {
    cw__http_error(c, 405, "method not allowed", "Allow: POST\r\n");
    return 405;
  }
  const char *qs = ri->query_string;
  if (!strcmp(path, "/v1/timeline"))
    return h_timeline(s, c, qs);
  char val[32];
  int has_until =
      qs && mg_get_var(qs, strlen(qs), "until", val, sizeof val) >= 0;
  uint64_t until = 0;
  if (has_until && mark_id(val, &until)) {
    cw__http_error(c, 400, "bad value for 'until'", NULL);
    return 400;
  }
  if (!qs || mg_get_var(qs, strlen(qs), "since", val, sizeof val) < 0) {
    if (!has_until)
      return 0;
    cw__http_error(c, 400, "'until' needs 'since'", NULL);
    return 400;
  }
  uint64_t id;
  cw_query q;
  char msg[128];
  if (mark_id(val, &id)) {
    cw__http_error(c, 400, "bad value for 'since'", NULL);
    return 400;
  }
  if (cw__query_parse(qs, &q, msg, sizeof msg)) {
    cw__http_error(c, 400, msg, NULL);
    return 400;
  }
  return h_since(s, c, path, id, until, &q);
}
