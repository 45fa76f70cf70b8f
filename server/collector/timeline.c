/*
 * timeline: bounded in-memory events and the timeline query (timeline.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "timeline.h"

#include "cw_format.h"
#include "query.h"

#include <civetweb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TL_DEFAULT_LIMIT 2000
#define TL_MAX_LIMIT 10000
#define TL_DEFAULT_BUCKETS 200
#define TL_MAX_BUCKETS 2000
#define TL_MAX_LOCKS 32 /* locks tracked per actor */

struct cw_timeline {
  cw_tl_event *ev;
  uint64_t cap, max; /* allocated, bound */
  uint64_t n;        /* kept */
  uint64_t head;     /* index of the oldest once the ring is full */
  uint64_t added;    /* ever added */
  cw_actor_id max_actor;
};

cw_timeline *cw__timeline_new(uint64_t max_bytes) {
  uint64_t max = max_bytes / sizeof(cw_tl_event);
  if (max == 0)
    return NULL;
  cw_timeline *t = calloc(1, sizeof *t);
  if (t)
    t->max = max;
  return t;
}

void cw__timeline_free(cw_timeline *t) {
  if (!t)
    return;
  free(t->ev);
  free(t);
}

void cw__timeline_add(cw_timeline *t, const cw_tl_event *ev) {
  if (!t)
    return;
  if (ev->actor > t->max_actor)
    t->max_actor = ev->actor;
  if (ev->from_actor > t->max_actor)
    t->max_actor = ev->from_actor;
  t->added++;
  if (t->n < t->max) {
    if (t->n == t->cap) {
      uint64_t nc = t->cap ? t->cap * 2 : 4096;
      if (nc > t->max)
        nc = t->max;
      cw_tl_event *ne = realloc(t->ev, nc * sizeof *ne);
      if (!ne) { /* keep what fits: the ring is full from here on */
        t->max = t->n;
        if (!t->n)
          return;
        t->ev[t->head] = *ev;
        t->head = (t->head + 1) % t->n;
        return;
      }
      t->ev = ne;
      t->cap = nc;
    }
    t->ev[t->n++] = *ev;
    return;
  }
  t->ev[t->head] = *ev;
  t->head = (t->head + 1) % t->n;
}

void cw__timeline_counts(const cw_timeline *t, uint64_t *kept,
                         uint64_t *evicted) {
  *kept = t ? t->n : 0;
  *evicted = t ? t->added - t->n : 0;
}

/* ---- Query parsing ------------------------------------------------------- */

static int parse_i64(const char *v, int64_t *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end)
    return -1;
  *out = x;
  return 0;
}

static int parse_u64(const char *v, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || end == v || *end || v[0] == '-')
    return -1;
  *out = x;
  return 0;
}

/* Gets parameter `name` (occurrence occ) into buf. @return its length,
 * -1 when absent, -2 when too long or badly encoded. */
static int qvar(const char *qs, const char *name, int occ, char *buf,
                size_t cap) {
  if (!qs)
    return -1;
  int r = mg_get_var2(qs, strlen(qs), name, buf, cap, (size_t)occ);
  return r < -1 ? -2 : r;
}

int cw__tl_query_parse(const char *qs, cw_tl_query *q, char *msg,
                       size_t msgsz) {
  memset(q, 0, sizeof *q);
  q->limit = TL_DEFAULT_LIMIT;
  q->buckets = TL_DEFAULT_BUCKETS;
  char v[512];
  int r;
  const char *bad = NULL;
  if ((r = qvar(qs, "from", 0, v, sizeof v)) >= 0) {
    q->has_from = 1;
    if (parse_i64(v, &q->from))
      bad = "from";
  }
  if ((r = qvar(qs, "to", 0, v, sizeof v)) >= 0) {
    q->has_to = 1;
    if (parse_i64(v, &q->to))
      bad = "to";
  }
  for (int i = 0; !bad; i++) {
    r = qvar(qs, "actor", i, v, sizeof v);
    if (r == -1)
      break;
    if (r < 0 || (size_t)r >= sizeof q->actors[0] || q->nactors >= 16)
      bad = "actor";
    else
      memcpy(q->actors[q->nactors++], v, (size_t)r + 1);
  }
  r = qvar(qs, "service", 0, v, sizeof v);
  if (r >= 0 && (size_t)r < sizeof q->service)
    memcpy(q->service, v, (size_t)r + 1);
  else if (r != -1)
    bad = "service";
  if (qvar(qs, "offset", 0, v, sizeof v) >= 0 && parse_u64(v, &q->offset))
    bad = "offset";
  if (qvar(qs, "limit", 0, v, sizeof v) >= 0 &&
      (parse_u64(v, &q->limit) || q->limit == 0 || q->limit > TL_MAX_LIMIT))
    bad = "limit";
  uint64_t b;
  if (qvar(qs, "buckets", 0, v, sizeof v) >= 0) {
    if (parse_u64(v, &b) || b == 0 || b > TL_MAX_BUCKETS)
      bad = "buckets";
    else
      q->buckets = (uint32_t)b;
  }
  if (qvar(qs, "mode", 0, v, sizeof v) >= 0) {
    if (!strcmp(v, "events"))
      q->mode = 1;
    else if (!strcmp(v, "buckets"))
      q->mode = 2;
    else if (strcmp(v, "auto"))
      bad = "mode";
  }
  if (qvar(qs, "highlight", 0, v, sizeof v) >= 0) {
    char *p = v;
    while (*p && !bad) {
      char *end;
      errno = 0;
      unsigned long long s = strtoull(p, &end, 10);
      if (errno || end == p || q->nhighlight >= 16 || (*end && *end != ','))
        bad = "highlight";
      else
        q->highlight[q->nhighlight++] = s;
      p = *end ? end + 1 : end;
    }
  }
  if (q->has_from && q->has_to && q->to < q->from)
    bad = "to";
  if (bad) {
    snprintf(msg, msgsz, "bad value for '%s'", bad);
    return -1;
  }
  return 0;
}

/* ---- Query --------------------------------------------------------------- */

typedef struct held {
  cw_sym locks[TL_MAX_LOCKS];
  uint32_t n;
} held;

static const cw_tl_event *at(const cw_timeline *t, uint64_t i) {
  return &t->ev[(t->head + i) % t->n];
}

/* The time of the i-th kept event: its wall clock, else its position. */
static int64_t ev_time(const cw_timeline *t, const cw_tl_event *ev,
                       uint64_t i) {
  return ev->wall_ns ? ev->wall_ns : (int64_t)(t->added - t->n + i + 1);
}

static void track_lock(held *h, const cw_tl_event *ev) {
  if (ev->kind == CW_EV_LOCK_ACQUIRED) {
    if (h->n < TL_MAX_LOCKS)
      h->locks[h->n++] = ev->object;
  } else if (ev->kind == CW_EV_LOCK_RELEASE) {
    for (uint32_t k = h->n; k-- > 0;)
      if (h->locks[k] == ev->object) {
        memmove(&h->locks[k], &h->locks[k + 1],
                (h->n - k - 1) * sizeof h->locks[0]);
        h->n--;
        break;
      }
  }
}

static void set_str(cw_engine *e, json_t *o, const char *k, cw_sym s) {
  if (s)
    json_object_set_new(o, k, cw__q_str(e, s));
}

static json_t *event_json(cw_engine *e, const cw_tl_event *ev, int64_t t,
                          const held *h) {
  json_t *o = cw__q_actor_obj(e, ev->actor);
  json_object_set_new(o, "kind", json_string(cw__ev_kind_name(ev->kind)));
  json_object_set_new(o, "t", json_integer(t));
  json_object_set_new(o, "wall_ns", json_integer(ev->wall_ns));
  json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
  json_object_set_new(o, "counter", json_integer((json_int_t)ev->counter));
  set_str(e, o, "object", ev->object);
  set_str(e, o, "location", ev->loc);
  set_str(e, o, "detail", ev->detail);
  if (ev->val_str)
    set_str(e, o, "value", ev->val_str);
  else if (ev->has_val)
    json_object_set_new(o, "value", json_integer(ev->val));
  if (ev->duration_ns)
    json_object_set_new(o, "duration_ns",
                        json_integer((json_int_t)ev->duration_ns));
  if (ev->flags & CW_EVF_ATOMIC)
    json_object_set_new(o, "atomic", json_true());
  if (ev->flags & CW_EVF_SHARED)
    json_object_set_new(o, "shared", json_true());
  if (ev->from_actor) {
    json_object_set_new(o, "from_actor",
                        cw__q_str(e, cw__engine_actor_name(e, ev->from_actor)));
    json_object_set_new(o, "from_counter",
                        json_integer((json_int_t)ev->from_counter));
  }
  json_t *locks = json_array();
  for (uint32_t k = 0; h && k < h->n; k++)
    json_array_append_new(locks, cw__q_str(e, h->locks[k]));
  json_object_set_new(o, "locks", locks);
  return o;
}

/* Which actors the query selects: sel[a] for a in 1..max_actor. */
static unsigned char *select_actors(const cw_timeline *t, cw_engine *e,
                                    const cw_tl_query *q) {
  unsigned char *sel = calloc((size_t)t->max_actor + 1, 1);
  if (!sel)
    return NULL;
  for (cw_actor_id a = 1; a <= t->max_actor; a++) {
    int ok = 1;
    if (q->nactors) {
      const char *name = cw__engine_str(e, cw__engine_actor_name(e, a));
      ok = 0;
      for (int k = 0; k < q->nactors && !ok; k++)
        ok = !strcmp(name, q->actors[k]);
    }
    if (ok && q->service[0])
      ok = !strcmp(cw__engine_str(e, cw__engine_actor_service(e, a)),
                   q->service);
    sel[a] = (unsigned char)ok;
  }
  return sel;
}

static int category(uint8_t kind) {
  switch (kind) {
  case CW_EV_READ:
  case CW_EV_WRITE:
  case CW_EV_RMW:
    return 1;
  case CW_EV_LOCK_REQUEST:
  case CW_EV_LOCK_ACQUIRED:
  case CW_EV_LOCK_RELEASE:
    return 2;
  default:
    return 0;
  }
}

json_t *cw__timeline_query(const cw_timeline *t, cw_engine *e,
                           const cw_tl_query *q) {
  json_t *r = json_object();
  json_object_set_new(r, "enabled", json_boolean(t != NULL));
  uint64_t kept, evicted;
  cw__timeline_counts(t, &kept, &evicted);
  json_object_set_new(r, "kept", json_integer((json_int_t)kept));
  json_object_set_new(r, "evicted", json_integer((json_int_t)evicted));
  json_t *lanes = json_array(), *items = json_array(), *hl = json_array();
  json_object_set_new(r, "lanes", lanes);
  json_object_set_new(r, "highlights", hl);
  if (!t || !t->n) {
    json_object_set_new(r, "mode", json_string("events"));
    json_object_set_new(r, "total", json_integer(0));
    json_object_set_new(r, "items", items);
    return r;
  }
  unsigned char *sel = select_actors(t, e, q);
  uint64_t *lane_n = calloc((size_t)t->max_actor + 1, sizeof *lane_n);
  if (!sel || !lane_n) {
    free(sel);
    free(lane_n);
    json_decref(items);
    json_decref(r);
    return NULL;
  }
  /* Pass 1: the window, its size per lane, and the highlighted events. */
  int64_t lo = INT64_MAX, hi = INT64_MIN, olo = INT64_MAX, ohi = INT64_MIN;
  uint64_t total = 0;
  for (uint64_t i = 0; i < t->n; i++) {
    const cw_tl_event *ev = at(t, i);
    int64_t tm = ev_time(t, ev, i);
    if (tm < olo)
      olo = tm;
    if (tm > ohi)
      ohi = tm;
    if (!sel[ev->actor])
      continue;
    for (int k = 0; k < q->nhighlight; k++)
      if (ev->seq == q->highlight[k])
        json_array_append_new(
            hl, json_pack("{s:I,s:o,s:I}", "seq", (json_int_t)ev->seq, "actor",
                          cw__q_str(e, cw__engine_actor_name(e, ev->actor)),
                          "t", (json_int_t)tm));
    if ((q->has_from && tm < q->from) || (q->has_to && tm > q->to))
      continue;
    if (tm < lo)
      lo = tm;
    if (tm > hi)
      hi = tm;
    lane_n[ev->actor]++;
    total++;
  }
  int64_t from = q->has_from ? q->from : (total ? lo : olo);
  int64_t to = q->has_to ? q->to : (total ? hi : ohi);
  json_object_set_new(r, "from", json_integer(from));
  json_object_set_new(r, "to", json_integer(to));
  json_object_set_new(r, "oldest", json_integer(olo));
  json_object_set_new(r, "newest", json_integer(ohi));
  json_object_set_new(r, "total", json_integer((json_int_t)total));
  int buckets = q->mode == 2 || (q->mode == 0 && total > q->limit);
  json_object_set_new(r, "mode", json_string(buckets ? "buckets" : "events"));
  /* Lanes, in order of first appearance (actor id). */
  uint32_t *lane_ix = calloc((size_t)t->max_actor + 1, sizeof *lane_ix);
  uint32_t nl = 0;
  for (cw_actor_id a = 1; lane_ix && a <= t->max_actor; a++)
    if (lane_n[a]) {
      lane_ix[a] = ++nl;
      json_t *o = cw__q_actor_obj(e, a);
      json_object_set_new(o, "events", json_integer((json_int_t)lane_n[a]));
      json_array_append_new(lanes, o);
    }
  if (buckets && lane_ix && nl) {
    uint32_t nb = q->buckets;
    double width = (double)(to - from + 1) / nb;
    if (width < 1)
      width = 1;
    uint64_t *cnt = calloc((size_t)nl * nb * 3, sizeof *cnt);
    if (cnt) {
      for (uint64_t i = 0; i < t->n; i++) {
        const cw_tl_event *ev = at(t, i);
        if (!sel[ev->actor])
          continue;
        int64_t tm = ev_time(t, ev, i);
        if (tm < from || tm > to)
          continue;
        uint64_t b = (uint64_t)((double)(tm - from) / width);
        if (b >= nb)
          b = nb - 1;
        cnt[((size_t)(lane_ix[ev->actor] - 1) * 3 + category(ev->kind)) * nb +
            b]++;
      }
      static const char *const names[3] = {"other", "access", "lock"};
      for (uint32_t l = 0; l < nl; l++) {
        json_t *lane = json_array_get(lanes, l);
        for (int c = 0; c < 3; c++) {
          json_t *arr = json_array();
          for (uint32_t b = 0; b < nb; b++)
            json_array_append_new(
                arr,
                json_integer((json_int_t)cnt[((size_t)l * 3 + c) * nb + b]));
          json_object_set_new(lane, names[c], arr);
        }
      }
      free(cnt);
    }
    json_object_set_new(r, "buckets", json_integer(nb));
    json_object_set_new(r, "bucket_ns", json_real(width));
  } else if (!buckets) {
    /* Pass 2: the page of events, with each actor's held locks. */
    held *h = calloc((size_t)t->max_actor + 1, sizeof *h);
    uint64_t k = 0;
    for (uint64_t i = 0; h && i < t->n && k < q->offset + q->limit; i++) {
      const cw_tl_event *ev = at(t, i);
      int64_t tm = ev_time(t, ev, i);
      int in = sel[ev->actor] && tm >= from && tm <= to;
      if (in && k++ >= q->offset)
        json_array_append_new(items, event_json(e, ev, tm, &h[ev->actor]));
      track_lock(&h[ev->actor], ev);
    }
    free(h);
    json_object_set_new(r, "offset", json_integer((json_int_t)q->offset));
    json_object_set_new(r, "limit", json_integer((json_int_t)q->limit));
  }
  json_object_set_new(r, "items", items);
  free(lane_ix);
  free(sel);
  free(lane_n);
  return r;
}
