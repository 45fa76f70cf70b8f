/*
 * cw_replay.c: trace replay with full clock reconstruction (see
 * cw_replay.h). Each actor's clock is the maximum of the joins its events
 * carried so far, reset by FULL_CLOCK, in stream order (batches are written
 * in order by one drain thread, so stream order is each actor's program
 * order).
 */
#define _POSIX_C_SOURCE 200809L

#include "cw_replay.h"

#include <stdlib.h>
#include <string.h>

typedef struct aclock {
  cw_rp_ent *e;
  uint32_t n, cap;
} aclock;

typedef struct rctx {
  cw_replay *r;
  aclock *clocks; /* per replay actor */
  uint32_t capclocks;
  uint32_t *map; /* batch-local actor id -> replay actor + 1 */
  uint32_t capmap;
  int oom;
} rctx;

static char *dupn(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

static char *ctx_str(const cw_batch_ctx *ctx, uint32_t id) {
  size_t len;
  const char *s = id ? cw__ctx_string(ctx, id, &len) : NULL;
  return s ? dupn(s, len) : NULL;
}

/* Maps a batch-local actor id to a replay actor, by name. */
static int actor_of(rctx *c, const cw_batch_ctx *ctx, uint32_t id,
                    uint32_t *out) {
  size_t len;
  uint32_t kind = 0;
  const char *local = cw__ctx_actor(ctx, id, &len, &kind);
  if (!local)
    return -1;
  /* The readers' one naming rule (cw__actor_qualify), so replay names are
   * the names the analysis reports. */
  char qbuf[CW_ACTOR_NAME_MAX];
  const char *name =
      cw__actor_qualify(cw__ctx_header(ctx), local, len, qbuf, &len);
  cw_replay *r = c->r;
  for (uint32_t i = 0; i < r->nactors; i++) {
    if (strlen(r->actors[i]) == len && memcmp(r->actors[i], name, len) == 0) {
      *out = i;
      return 0;
    }
  }
  if (r->nactors == r->capactors) {
    uint32_t cap = r->capactors ? r->capactors * 2 : 16;
    char **a = realloc(r->actors, cap * sizeof(*a));
    if (a)
      r->actors = a;
    uint32_t *k = a ? realloc(r->actor_kind, cap * sizeof(*k)) : NULL;
    if (k)
      r->actor_kind = k;
    uint64_t *ra = k ? realloc(r->retired_at, cap * sizeof(*ra)) : NULL;
    if (!ra)
      return -1;
    r->retired_at = ra;
    r->capactors = cap;
  }
  if (r->nactors >= c->capclocks) {
    uint32_t cap = c->capclocks ? c->capclocks * 2 : 16;
    aclock *cl = realloc(c->clocks, cap * sizeof(*cl));
    if (!cl)
      return -1;
    memset(cl + c->capclocks, 0, (cap - c->capclocks) * sizeof(*cl));
    c->clocks = cl;
    c->capclocks = cap;
  }
  if (!(r->actors[r->nactors] = dupn(name, len)))
    return -1;
  r->actor_kind[r->nactors] = kind;
  r->retired_at[r->nactors] = 0;
  *out = r->nactors++;
  return 0;
}

static void clock_set_max(aclock *a, uint32_t actor, uint64_t ctr) {
  uint32_t i = 0;
  while (i < a->n && a->e[i].actor < actor)
    i++;
  if (i < a->n && a->e[i].actor == actor) {
    if (ctr > a->e[i].counter)
      a->e[i].counter = ctr;
    return;
  }
  if (a->n == a->cap) {
    uint32_t cap = a->cap ? a->cap * 2 : 8;
    cw_rp_ent *e = realloc(a->e, cap * sizeof(*e));
    if (!e)
      return;
    a->e = e;
    a->cap = cap;
  }
  memmove(&a->e[i + 1], &a->e[i], (a->n - i) * sizeof(*a->e));
  a->e[i] = (cw_rp_ent){actor, ctr};
  a->n++;
}

static int on_event(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *ev) {
  rctx *c = ud;
  cw_replay *r = c->r;
  uint32_t actor;
  if (actor_of(c, ctx, ev->actor, &actor) != 0) {
    c->oom = 1;
    return 1;
  }
  aclock *cl = &c->clocks[actor];
  if (ev->flags & CW_EVF_FULL_CLOCK)
    cl->n = 0;
  for (uint32_t i = 0; i < ev->njoins; i++) {
    uint32_t a;
    if (actor_of(c, ctx, ev->joins[i].actor, &a) != 0) {
      c->oom = 1;
      return 1;
    }
    cl = &c->clocks[actor]; /* actor_of may move the array */
    if (a != actor)
      clock_set_max(cl, a, ev->joins[i].counter);
  }
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 256;
    cw_rp_event *e = realloc(r->ev, cap * sizeof(*e));
    if (!e) {
      c->oom = 1;
      return 1;
    }
    r->ev = e;
    r->cap = cap;
  }
  cw_rp_event *e = &r->ev[r->n++];
  memset(e, 0, sizeof(*e));
  e->kind = ev->kind;
  e->flags = ev->flags;
  e->seq = ev->seq;
  e->counter = ev->counter;
  e->actor = actor;
  e->wall_ns = ev->wall_ns;
  e->mono_ns = ev->mono_ns;
  e->object = ctx_str(ctx, ev->object);
  e->file = ctx_str(ctx, ev->file);
  e->func = ctx_str(ctx, ev->func);
  e->line = ev->line;
  if (ev->flags & CW_EVF_VAL_STR)
    e->val_str = ctx_str(ctx, ev->val_str);
  if (ev->flags & CW_EVF_DETAIL)
    e->detail = ctx_str(ctx, ev->detail);
  e->val_int = ev->val_int;
  e->aux = ev->aux;
  e->duration_ns = ev->duration_ns;
  memcpy(e->trace_id, ev->trace_id, 16);
  memcpy(e->span_id, ev->span_id, 8);
  e->njoins = ev->njoins;
  e->batch_no = cw__ctx_header(ctx)->batch_no;
  e->nclock = cl->n;
  e->clock = malloc((cl->n ? cl->n : 1) * sizeof(*e->clock));
  if (e->clock && cl->n)
    memcpy(e->clock, cl->e, cl->n * sizeof(*e->clock));
  return 0;
}

static int on_gap(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                  uint64_t dropped, uint64_t first, uint64_t last) {
  (void)ctx;
  (void)actor;
  (void)first;
  (void)last;
  rctx *c = ud;
  c->r->gaps++;
  c->r->lost += dropped;
  return 0;
}

static int on_retire(void *ud, const cw_batch_ctx *ctx, uint64_t seq,
                     const uint32_t *actors, uint32_t n) {
  rctx *c = ud;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t a;
    if (actor_of(c, ctx, actors[i], &a) == 0)
      c->r->retired_at[a] = seq;
  }
  c->r->retired += n;
  c->r->retire_records++;
  return 0;
}

static int on_batch(void *ud, const cw_batch_ctx *ctx) {
  (void)ctx;
  ((rctx *)ud)->r->batches++;
  return 0;
}

static int cmp_seq(const void *pa, const void *pb) {
  const cw_rp_event *a = pa, *b = pb;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int cw__replay_file(const char *path, cw_replay *out, cw_decode_error *err) {
  memset(out, 0, sizeof(*out));
  rctx c = {.r = out};
  cw_decode_cb cb = {.on_batch = on_batch,
                     .on_event = on_event,
                     .on_gap = on_gap,
                     .on_retire = on_retire};
  int rc = cw__decode_file(path, &cb, &c, &out->truncated, err);
  for (uint32_t i = 0; i < c.capclocks; i++)
    free(c.clocks[i].e);
  free(c.clocks);
  free(c.map);
  if (c.oom)
    rc = CW_DECODE_ERROR;
  if (out->n > 1)
    qsort(out->ev, out->n, sizeof(*out->ev), cmp_seq);
  return rc == CW_DECODE_STOPPED ? CW_DECODE_ERROR : rc;
}

void cw__replay_free(cw_replay *r) {
  for (size_t i = 0; i < r->n; i++) {
    cw_rp_event *e = &r->ev[i];
    free(e->object);
    free(e->file);
    free(e->func);
    free(e->val_str);
    free(e->detail);
    free(e->clock);
  }
  free(r->ev);
  for (uint32_t i = 0; i < r->nactors; i++)
    free(r->actors[i]);
  free(r->actors);
  free(r->actor_kind);
  free(r->retired_at);
  memset(r, 0, sizeof(*r));
}

uint64_t cw__replay_component(const cw_rp_event *e, uint32_t actor) {
  if (e->actor == actor)
    return e->counter;
  for (uint32_t i = 0; i < e->nclock; i++)
    if (e->clock[i].actor == actor)
      return e->clock[i].counter;
  return 0;
}

int cw__replay_hb(const cw_rp_event *a, const cw_rp_event *b) {
  if (a == b)
    return 0;
  return cw__replay_component(b, a->actor) >= a->counter;
}

int cw__replay_actor(const cw_replay *r, const char *suffix) {
  size_t sl = strlen(suffix);
  for (uint32_t i = 0; i < r->nactors; i++) {
    size_t n = strlen(r->actors[i]);
    if (n >= sl && strcmp(r->actors[i] + n - sl, suffix) == 0)
      return (int)i;
  }
  return -1;
}

static int match(const cw_rp_event *e, uint32_t kind, const char *object,
                 int actor) {
  return (!kind || e->kind == kind) &&
         (!object || (e->object && strcmp(e->object, object) == 0)) &&
         (actor < 0 || e->actor == (uint32_t)actor);
}

const cw_rp_event *cw__replay_find(const cw_replay *r, uint32_t kind,
                                   const char *object, int actor, size_t nth) {
  for (size_t i = 0; i < r->n; i++)
    if (match(&r->ev[i], kind, object, actor) && nth-- == 0)
      return &r->ev[i];
  return NULL;
}

size_t cw__replay_count(const cw_replay *r, uint32_t kind, const char *object,
                        int actor) {
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++)
    n += (size_t)match(&r->ev[i], kind, object, actor);
  return n;
}
