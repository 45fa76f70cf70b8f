/*
 * cw_native_map: native record -> engine event (see cw_native_map.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_native_map.h"
#include "cw_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOC_CACHE 1024
#define MAX_IDS ((size_t)1 << 24)

typedef struct slot {
  uint32_t epoch;
  uint32_t val;
} slot;

/* A batch-local string scoped to the process of an actor. */
typedef struct scope_slot {
  uint32_t epoch;
  cw_actor_id actor;
  cw_sym sym;
} scope_slot;

typedef struct loc_slot {
  uint32_t epoch;
  uint32_t file, line;
  cw_sym sym;
} loc_slot;

struct cw_nmap {
  uint32_t epoch;
  slot *strs, *actors;
  size_t nstrs, nactors;
  scope_slot *scoped;
  size_t nscoped;
  loc_slot locs[LOC_CACHE];
  cw_ae_join *joins;
  size_t capjoins;
  cw_engine *e;
  cw_batch_hdr hdr; /* the current batch's (borrowed strings) */
  cw_sym service;
  char name[CW_ACTOR_NAME_MAX];
};

const char *cw__reject_reason_name(cw_reject_reason r) {
  switch (r) {
  case CW_REJ_UNKNOWN_KIND:
    return "unknown_kind";
  case CW_REJ_UNKNOWN_ACTOR:
    return "unknown_actor";
  case CW_REJ_COUNT_:
    break;
  }
  return "unknown";
}

int cw__lock_is_shared_resource(const char *name, size_t len) {
  return (len > 3 && memcmp(name, "db:", 3) == 0) ||
         (len > 4 && memcmp(name, "ext:", 4) == 0);
}

int cw__lock_is_global(const char *name, size_t len) {
  return cw__lock_is_shared_resource(name, len) ||
         (len > 10 && memcmp(name, "http-call:", 10) == 0);
}

static const cw_ae_kind kind_map[CW_EV_KIND_MAX_] = {
    [CW_EV_THREAD_START] = CW_AE_BEGIN,
    [CW_EV_THREAD_END] = CW_AE_END,
    [CW_EV_FORK] = CW_AE_FORK,
    [CW_EV_JOIN] = CW_AE_JOIN,
    [CW_EV_TASK_BEGIN] = CW_AE_BEGIN,
    [CW_EV_TASK_END] = CW_AE_END,
    [CW_EV_LOCK_REQUEST] = CW_AE_LOCK_REQUEST,
    [CW_EV_LOCK_ACQUIRED] = CW_AE_LOCK_ACQUIRE,
    [CW_EV_LOCK_RELEASE] = CW_AE_LOCK_RELEASE,
    [CW_EV_READ] = CW_AE_READ,
    [CW_EV_WRITE] = CW_AE_WRITE,
    [CW_EV_RMW] = CW_AE_WRITE,
    [CW_EV_ANN_RELEASE] = CW_AE_ANN_RELEASE,
    [CW_EV_ANN_ACQUIRE] = CW_AE_ANN_ACQUIRE,
    [CW_EV_SPAN_BEGIN] = CW_AE_SPAN_BEGIN,
    [CW_EV_SPAN_END] = CW_AE_SPAN_END,
    [CW_EV_HTTP_SEND] = CW_AE_HTTP_SEND,
    [CW_EV_HTTP_RECV] = CW_AE_HTTP_RECV,
    [CW_EV_HTTP_RESPOND] = CW_AE_HTTP_RESPOND,
    [CW_EV_HTTP_RESPONSE] = CW_AE_HTTP_RESPONSE,
    [CW_EV_DB_QUERY] = CW_AE_DB_QUERY,
    [CW_EV_DB_RESULT] = CW_AE_DB_RESULT,
    [CW_EV_MESSAGE] = CW_AE_OTHER,
    [CW_EV_LOCK_TIMEOUT] = CW_AE_LOCK_TIMEOUT,
    [CW_EV_RETRY] = CW_AE_RETRY,
    [CW_EV_TIMEOUT] = CW_AE_TIMEOUT,
};

int cw__nmap_verdict(const cw_batch_ctx *ctx, const cw_event_rec *ev) {
  if (ev->kind == 0 || ev->kind >= CW_EV_KIND_MAX_ || !kind_map[ev->kind])
    return CW_REJ_UNKNOWN_KIND;
  size_t l;
  if (!cw__ctx_actor(ctx, ev->actor, &l, NULL))
    return CW_REJ_UNKNOWN_ACTOR;
  for (uint32_t i = 0; i < ev->njoins; i++)
    if (!cw__ctx_actor(ctx, ev->joins[i].actor, &l, NULL))
      return CW_REJ_UNKNOWN_ACTOR;
  return -1;
}

cw_nmap *cw__nmap_new(void) {
  return calloc(1, sizeof(cw_nmap));
}

void cw__nmap_free(cw_nmap *m) {
  if (!m)
    return;
  free(m->strs);
  free(m->actors);
  free(m->scoped);
  free(m->joins);
  free(m);
}

void cw__nmap_batch(cw_nmap *m, cw_engine *e, const cw_batch_ctx *ctx) {
  m->epoch++;
  if (m->epoch == 0) { /* wrapped: clear stamps once every 4G batches */
    if (m->strs)
      memset(m->strs, 0, m->nstrs * sizeof *m->strs);
    if (m->actors)
      memset(m->actors, 0, m->nactors * sizeof *m->actors);
    if (m->scoped)
      memset(m->scoped, 0, m->nscoped * sizeof *m->scoped);
    memset(m->locs, 0, sizeof m->locs);
    m->epoch = 1;
  }
  m->e = e;
  m->hdr = *cw__ctx_header(ctx);
  m->service = cw__engine_intern(e, m->hdr.service, m->hdr.service_len);
}

cw_sym cw__nmap_batch_service(const cw_nmap *m) {
  return m->service;
}

/* @return the slot for id, growing the array; NULL past MAX_IDS or out of
 * memory (the caller then works without the cache). */
static slot *slot_at(slot **arr, size_t *n, uint32_t id) {
  if (id >= *n) {
    if (id >= MAX_IDS)
      return NULL;
    size_t nn = *n ? *n : 256;
    while (nn <= id)
      nn *= 2;
    slot *na = realloc(*arr, nn * sizeof *na);
    if (!na)
      return NULL;
    memset(na + *n, 0, (nn - *n) * sizeof *na);
    *arr = na;
    *n = nn;
  }
  return &(*arr)[id];
}

cw_sym cw__nmap_str(cw_nmap *m, const cw_batch_ctx *ctx, uint32_t id) {
  if (id == 0)
    return 0;
  slot *s = slot_at(&m->strs, &m->nstrs, id);
  if (s && s->epoch == m->epoch)
    return s->val;
  size_t len;
  const char *str = cw__ctx_string(ctx, id, &len);
  if (!str)
    return 0;
  cw_sym sym = cw__engine_intern(m->e, str, len);
  if (s) {
    s->epoch = m->epoch;
    s->val = sym;
  }
  return sym;
}

/* The engine actor of a (local or global) actor name; its service comes
 * from its own global name. */
static cw_actor_id actor_by_name(cw_nmap *m, const char *name, size_t len) {
  size_t fl, sl;
  const char *full = cw__actor_qualify(&m->hdr, name, len, m->name, &fl);
  cw_sym sym = cw__engine_intern(m->e, full, fl);
  cw_sym svc = cw__actor_service(full, fl, &sl) == 0
                   ? cw__engine_intern(m->e, full, sl)
                   : m->service;
  return cw__engine_actor(m->e, sym, svc);
}

cw_actor_id cw__nmap_actor(cw_nmap *m, const cw_batch_ctx *ctx, uint32_t id) {
  slot *s = slot_at(&m->actors, &m->nactors, id);
  if (s && s->epoch == m->epoch)
    return s->val;
  size_t len;
  const char *name = cw__ctx_actor(ctx, id, &len, NULL);
  if (!name)
    return 0;
  cw_actor_id a = actor_by_name(m, name, len);
  if (s) {
    s->epoch = m->epoch;
    s->val = a;
  }
  return a;
}

static cw_sym loc_sym(cw_nmap *m, const cw_batch_ctx *ctx, uint32_t file,
                      uint32_t line) {
  if (file == 0)
    return 0;
  loc_slot *ls = &m->locs[(file * 2654435761u ^ line) % LOC_CACHE];
  if (ls->epoch == m->epoch && ls->file == file && ls->line == line)
    return ls->sym;
  size_t len;
  const char *s = cw__ctx_string(ctx, file, &len);
  if (!s)
    return 0;
  cw_sym sym;
  if (line == 0) {
    sym = cw__engine_intern(m->e, s, len);
  } else {
    char buf[1100];
    int n = snprintf(buf, sizeof buf, "%.*s:%u", (int)(len > 1024 ? 1024 : len),
                     s, line);
    sym = n > 0 ? cw__engine_intern(m->e, buf, (size_t)n) : 0;
  }
  *ls = (loc_slot){m->epoch, file, line, sym};
  return sym;
}

/* "kind object detail" for informational events, e.g. "http_send GET /x". */
static cw_sym other_detail(cw_nmap *m, const cw_batch_ctx *ctx,
                           const cw_event_rec *r) {
  char buf[600];
  size_t dl = 0, ol = 0;
  const char *d = (r->flags & CW_EVF_DETAIL) && r->detail
                      ? cw__ctx_string(ctx, r->detail, &dl)
                      : NULL;
  const char *o = r->object ? cw__ctx_string(ctx, r->object, &ol) : NULL;
  int n = snprintf(buf, sizeof buf, "%s%s%.*s%s%.*s", cw__ev_kind_name(r->kind),
                   o ? " " : "", (int)(ol > 128 ? 128 : ol), o ? o : "",
                   d ? " " : "", (int)(dl > 400 ? 400 : dl), d ? d : "");
  if (n < 0)
    return 0;
  return cw__engine_intern(m->e, buf,
                           (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* The engine symbol of string `id` scoped to the process of `actor` (the
 * actor's global name up to its '/': service#instance). */
static cw_sym scoped_str(cw_nmap *m, const cw_batch_ctx *ctx, uint32_t id,
                         cw_actor_id actor) {
  if (id == 0)
    return 0;
  scope_slot *ss = NULL;
  if (id < MAX_IDS) {
    if (id >= m->nscoped) {
      size_t nn = m->nscoped ? m->nscoped : 256;
      while (nn <= id)
        nn *= 2;
      scope_slot *na = realloc(m->scoped, nn * sizeof *na);
      if (na) {
        memset(na + m->nscoped, 0, (nn - m->nscoped) * sizeof *na);
        m->scoped = na;
        m->nscoped = nn;
      }
    }
    if (id < m->nscoped)
      ss = &m->scoped[id];
  }
  if (ss && ss->epoch == m->epoch && ss->actor == actor)
    return ss->sym;
  size_t len;
  const char *str = cw__ctx_string(ctx, id, &len);
  if (!str)
    return 0;
  const char *an = cw__engine_str(m->e, cw__engine_actor_name(m->e, actor));
  size_t pl = strcspn(an, "/");
  /* "name" NUL "service#instance": a symbol of its own whose string (up to
   * the NUL) is the plain name, so reports show the name as recorded while
   * the engine keeps each process's variable and lock apart. */
  char buf[CW_ACTOR_NAME_MAX + 640];
  size_t nl = len > 512 ? 512 : len;
  if (pl > CW_ACTOR_NAME_MAX)
    pl = CW_ACTOR_NAME_MAX;
  memcpy(buf, str, nl);
  buf[nl] = '\0';
  memcpy(buf + nl + 1, an, pl);
  cw_sym sym = cw__engine_intern(m->e, buf, nl + 1 + pl);
  if (ss)
    *ss = (scope_slot){m->epoch, actor, sym};
  return sym;
}

int cw__nmap_event(cw_nmap *m, const cw_batch_ctx *ctx, const cw_event_rec *r,
                   cw_aevent *ev) {
  memset(ev, 0, sizeof *ev);
  ev->kind = kind_map[r->kind];
  ev->flags = CW_AEF_CLOCK_ONLY;
  if (r->flags & CW_EVF_ATOMIC || r->kind == CW_EV_RMW)
    ev->flags |= CW_AEF_ATOMIC;
  int access = ev->kind == CW_AE_READ || ev->kind == CW_AE_WRITE;
  int lock = ev->kind == CW_AE_LOCK_REQUEST || ev->kind == CW_AE_LOCK_ACQUIRE ||
             ev->kind == CW_AE_LOCK_RELEASE || ev->kind == CW_AE_LOCK_TIMEOUT;
  /* SHARED: read mode on lock events, a key shared by processes on
   * accesses (scope, below). */
  if ((r->flags & CW_EVF_SHARED) && lock)
    ev->flags |= CW_AEF_SHARED;
  if (r->flags & CW_EVF_TRY)
    ev->flags |= CW_AEF_TRY;
  ev->actor = cw__nmap_actor(m, ctx, r->actor);
  if (r->kind == CW_EV_FORK || r->kind == CW_EV_JOIN) {
    size_t len;
    const char *c = r->object ? cw__ctx_string(ctx, r->object, &len) : NULL;
    if (c)
      ev->child = actor_by_name(m, c, len);
  } else if (ev->kind == CW_AE_OTHER) {
    ev->detail = other_detail(m, ctx, r);
  } else {
    size_t len = 0;
    const char *name = r->object && (access || lock)
                           ? cw__ctx_string(ctx, r->object, &len)
                           : NULL;
    /* Scope: keys and locks belong to their process unless shared (keys:
     * recorded with CW_ACCESS_SHARED; locks: db:, ext:, http-call:). */
    if (name && ((access && !(r->flags & CW_EVF_SHARED)) ||
                 (lock && !cw__lock_is_global(name, len))))
      ev->object = scoped_str(m, ctx, r->object, ev->actor);
    else
      ev->object = cw__nmap_str(m, ctx, r->object);
    if (r->flags & CW_EVF_DETAIL)
      ev->detail = cw__nmap_str(m, ctx, r->detail);
    /* Resources shared by processes carry no clock: their release ->
     * acquire edges come from the merged event order, where an acquire
     * never passes the holder's release (CW_AEF_SERIAL). */
    if ((ev->kind == CW_AE_LOCK_ACQUIRE || ev->kind == CW_AE_LOCK_RELEASE) &&
        name && cw__lock_is_shared_resource(name, len)) {
      ev->flags &= ~(uint32_t)CW_AEF_CLOCK_ONLY;
      ev->flags |= CW_AEF_SERIAL;
    }
  }
  ev->loc = loc_sym(m, ctx, r->file, r->line);
  if (r->flags & CW_EVF_VAL_INT) {
    ev->flags |= CW_AEF_VAL_INT;
    ev->val_int = r->val_int;
  }
  if (r->flags & CW_EVF_VAL_STR) {
    ev->flags |= CW_AEF_VAL_STR;
    ev->val_str = cw__nmap_str(m, ctx, r->val_str);
  }
  ev->counter = r->counter;
  ev->ts_ns = (int64_t)r->mono_ns;
  ev->wall_ns = r->wall_ns;
  ev->duration_ns = r->duration_ns;
  ev->aux = r->aux;
  ev->seq = r->seq;
  if (r->njoins) {
    if (r->njoins > m->capjoins) {
      cw_ae_join *nj = realloc(m->joins, r->njoins * sizeof *nj);
      if (!nj)
        return -1;
      m->joins = nj;
      m->capjoins = r->njoins;
    }
    for (uint32_t i = 0; i < r->njoins; i++) {
      m->joins[i].actor = cw__nmap_actor(m, ctx, r->joins[i].actor);
      m->joins[i].counter = r->joins[i].counter;
    }
    ev->joins = m->joins;
    ev->njoins = r->njoins;
  }
  return 0;
}

void cw__nmap_gap(cw_nmap *m, const cw_batch_ctx *ctx, uint32_t actor,
                  uint64_t dropped, uint64_t first_seq, cw_aevent *out) {
  memset(out, 0, sizeof *out);
  out->kind = CW_AE_GAP;
  out->actor = cw__nmap_actor(m, ctx, actor);
  out->aux = dropped > INT64_MAX ? INT64_MAX : (int64_t)dropped;
  out->seq = first_seq;
}

void cw__nmap_retire(cw_nmap *m, const cw_batch_ctx *ctx, uint32_t actor,
                     uint64_t seq, cw_aevent *out) {
  memset(out, 0, sizeof *out);
  out->kind = CW_AE_RETIRE;
  out->seq = seq;
  /* A process retires a remote actor (one named in a clock it received)
   * only to bound its own clocks: the actor lives on in its own process,
   * which retires it when it ends. Ending it here would make every later
   * event of the actor invalid. */
  uint32_t kind = 0;
  size_t len;
  if (cw__ctx_actor(ctx, actor, &len, &kind) && kind == CW_ACTOR_REMOTE)
    return;
  out->actor = cw__nmap_actor(m, ctx, actor);
}
