/*
 * timeline: bounded in-memory events and the timeline query (timeline.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "timeline.h"

#include "cw_format.h"

#include <civetweb.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TL_DEFAULT_LIMIT 2000
#define TL_MAX_LIMIT 10000
#define TL_DEFAULT_BUCKETS 200
#define TL_MAX_BUCKETS 2000
#define TL_MAX_LOCKS 32 /* locks tracked per actor */

/* The chain link (cw_tl_event.prev) fits in what was padding. */
_Static_assert(sizeof(cw_tl_event) <= 80, "cw_tl_event grew");

/* A slice of the ring: events are appended to the newest chunk; a full
 * chunk never changes again, and the oldest chunk is dropped whole when the
 * bound is reached. Readers hold references, so a dropped chunk lives on
 * until the last query scanning it is done. */
typedef struct tl_chunk {
  uint32_t refs;  /* the ring's (while in it) + snapshots'; under mu */
  uint32_t n;     /* events written; under mu */
  uint64_t first; /* ever-added index of ev[0] */
  uint64_t *racy; /* one bit per event (atomic), after ev[] */
  cw_tl_event ev[];
} tl_chunk;

/* The newest kept access of one (actor, variable, location, kind), and the
 * run of its chain marked last (indices are ever-added + 1; 0: none). */
typedef struct tl_key {
  uint64_t last;
  uint64_t top, bot; /* newest and oldest access of the marked run */
  uint64_t thr;      /* the run holds every access with counter > thr */
  cw_actor_id actor;
  cw_sym var, loc;
  uint32_t kind; /* bit 0 write, bit 1 atomic */
} tl_key;

/* A racing access the engine reported before it was added. */
typedef struct tl_pend {
  cw_actor_id actor;
  cw_sym var, loc;
  uint32_t kind;
  uint64_t seq;
  uint64_t at; /* events added when it was reported */
} tl_pend;
#define TL_PEND 64
/* A pending mark whose access was not added within this many events never
 * will be (it was evicted before it was fed): it is dropped. */
#define TL_PEND_TTL 65536

struct cw_timeline {
  pthread_mutex_t mu; /* everything below; held only briefly */
  uint64_t max;       /* bound, in events */
  uint32_t chunk_cap; /* events per chunk */
  tl_chunk **ch;      /* oldest first */
  uint32_t nch, capch;
  uint64_t n;     /* kept */
  uint64_t added; /* ever added */
  cw_actor_id max_actor;
  tl_key *keys; /* open addressing, linear probing */
  uint32_t keycap, nkeys;
  tl_pend pend[TL_PEND];
  uint32_t npend, pend_next;
};

cw_timeline *cw__timeline_new(uint64_t max_bytes) {
  /* 1/8 of the bound for the key table (power of two, at most half full),
   * the rest for events and their racy bits. */
  uint64_t keycap = 16;
  while (keycap * 2 * sizeof(tl_key) <= max_bytes / 8 && keycap < (1u << 30))
    keycap *= 2;
  uint64_t keybytes = keycap * sizeof(tl_key);
  if (max_bytes <= keybytes)
    return NULL;
  uint64_t max = (max_bytes - keybytes) * 8 / (sizeof(cw_tl_event) * 8 + 1);
  if (max == 0)
    return NULL;
  cw_timeline *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->keys = calloc(keycap, sizeof *t->keys);
  if (!t->keys) {
    free(t);
    return NULL;
  }
  t->keycap = (uint32_t)keycap;
  t->max = max;
  /* 16 or more chunks, so that dropping one evicts at most 1/16; the key
   * table always has room for one chunk's accesses. */
  uint64_t cap = max / 16;
  if (cap > keycap / 2 - 1)
    cap = keycap / 2 - 1;
  t->chunk_cap = (uint32_t)(cap < 1 ? 1 : cap > 65536 ? 65536 : cap);
  pthread_mutex_init(&t->mu, NULL);
  return t;
}

static void chunk_unref(tl_chunk *c) {
  if (c && --c->refs == 0)
    free(c);
}

/* ---- Keys of accesses ------------------------------------------------------
 */

static int is_access(const cw_tl_event *ev) {
  return ev->kind == CW_EV_READ || ev->kind == CW_EV_WRITE ||
         ev->kind == CW_EV_RMW;
}

/* The engine's kind of an access: bit 0 write, bit 1 atomic (an RMW is an
 * atomic write, as server/input/cw_native_map.c feeds it). */
static uint32_t access_kind(const cw_tl_event *ev) {
  return (ev->kind != CW_EV_READ) |
         (((ev->flags & CW_EVF_ATOMIC) || ev->kind == CW_EV_RMW) << 1);
}

static uint32_t key_slot(const cw_timeline *t, cw_actor_id a, cw_sym var,
                         cw_sym loc, uint32_t kind) {
  uint64_t h = ((uint64_t)a * 0x9E3779B97F4A7C15ull) ^
               (((uint64_t)var << 32 | loc) * 0xC2B2AE3D27D4EB4Full) ^ kind;
  h ^= h >> 29;
  return (uint32_t)(h * 0x165667B19E3779F9ull >> 32) & (t->keycap - 1);
}

/* @return the slot of the key, or of the empty slot where it would go. */
static tl_key *key_find(cw_timeline *t, cw_actor_id a, cw_sym var, cw_sym loc,
                        uint32_t kind) {
  uint32_t mask = t->keycap - 1;
  for (uint32_t i = key_slot(t, a, var, loc, kind);; i = (i + 1) & mask) {
    tl_key *k = &t->keys[i];
    if (!k->last ||
        (k->actor == a && k->var == var && k->loc == loc && k->kind == kind))
      return k;
  }
}

/* Removes slot k (backward-shift deletion keeps probe chains whole). */
static void key_del(cw_timeline *t, tl_key *k) {
  uint32_t mask = t->keycap - 1;
  uint32_t i = (uint32_t)(k - t->keys);
  for (uint32_t j = (i + 1) & mask; t->keys[j].last; j = (j + 1) & mask) {
    tl_key *x = &t->keys[j];
    uint32_t home = key_slot(t, x->actor, x->var, x->loc, x->kind);
    /* x may move to i when its home is not in (i, j] cyclically */
    if (((j - home) & mask) >= ((j - i) & mask)) {
      t->keys[i] = *x;
      i = j;
    }
  }
  memset(&t->keys[i], 0, sizeof t->keys[i]);
  t->nkeys--;
}

/* Forgets the keys whose newest access is in chunk c (being evicted). */
static void keys_evict(cw_timeline *t, const tl_chunk *c) {
  for (uint32_t j = 0; j < c->n; j++) {
    const cw_tl_event *ev = &c->ev[j];
    if (!is_access(ev))
      continue;
    tl_key *k = key_find(t, ev->actor, ev->object, ev->loc, access_kind(ev));
    if (k->last == c->first + j + 1)
      key_del(t, k);
  }
}

/* Drops the oldest chunk. Called with mu held. */
static void chunk_drop_oldest(cw_timeline *t) {
  tl_chunk *old = t->ch[0];
  keys_evict(t, old);
  t->n -= old->n;
  memmove(&t->ch[0], &t->ch[1], (t->nch - 1) * sizeof *t->ch);
  t->nch--;
  chunk_unref(old);
}

void cw__timeline_free(cw_timeline *t) {
  if (!t)
    return;
  for (uint32_t i = 0; i < t->nch; i++)
    chunk_unref(t->ch[i]);
  free(t->ch);
  free(t->keys);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

/* Opens a new newest chunk, dropping the oldest ones past the bound.
 * Called with mu held. @return 0, or -1 out of memory. */
static int chunk_open(cw_timeline *t) {
  while (t->nch && t->n + t->chunk_cap > t->max)
    chunk_drop_oldest(t);
  if (t->nch == t->capch) {
    uint32_t nc = t->capch ? t->capch * 2 : 32;
    tl_chunk **nch = realloc(t->ch, nc * sizeof *nch);
    if (!nch)
      return -1;
    t->ch = nch;
    t->capch = nc;
  }
  size_t words = ((size_t)t->chunk_cap + 63) / 64;
  tl_chunk *c = malloc(sizeof *c + (size_t)t->chunk_cap * sizeof(cw_tl_event) +
                       words * sizeof(uint64_t));
  if (!c)
    return -1;
  c->racy = (uint64_t *)(void *)(c->ev + t->chunk_cap);
  memset(c->racy, 0, words * sizeof(uint64_t));
  c->refs = 1;
  c->n = 0;
  c->first = t->added;
  t->ch[t->nch++] = c;
  return 0;
}

static void set_racy(tl_chunk *c, uint32_t j) {
  __atomic_fetch_or(&c->racy[j / 64], (uint64_t)1 << (j % 64),
                    __ATOMIC_RELAXED);
}

/* The chunk holding ever-added index i, or NULL when not kept. Called by
 * the adding thread (or with mu held). */
static tl_chunk *chunk_of(const cw_timeline *t, uint64_t i) {
  uint32_t lo = 0, hi = t->nch;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    const tl_chunk *c = t->ch[mid];
    if (i < c->first)
      hi = mid;
    else if (i >= c->first + c->n)
      lo = mid + 1;
    else
      return t->ch[mid];
  }
  return NULL;
}

/* Links access x (about to be stored at ever-added index `at`) to the
 * previous access of its key and makes it the key's newest. @return the
 * key, or NULL when the table has no room. Called with mu held. */
static tl_key *key_note(cw_timeline *t, cw_tl_event *x, uint64_t at) {
  uint32_t kind = access_kind(x);
  tl_key *k = key_find(t, x->actor, x->object, x->loc, kind);
  if (!k->last) {
    /* The table holds at most keycap/2 keys; it has room for a chunk's. */
    while (t->nkeys + 1 > t->keycap / 2 && t->nch > 1)
      chunk_drop_oldest(t);
    if (t->nkeys + 1 > t->keycap / 2)
      return NULL;
    k = key_find(t, x->actor, x->object, x->loc, kind);
    memset(k, 0, sizeof *k);
    k->actor = x->actor;
    k->var = x->object;
    k->loc = x->loc;
    k->kind = kind;
    t->nkeys++;
  } else if (at + 1 - k->last <= UINT32_MAX) {
    x->prev = (uint32_t)(at + 1 - k->last);
  }
  k->last = at + 1;
  return k;
}

void cw__timeline_add(cw_timeline *t, const cw_tl_event *ev) {
  if (!t)
    return;
  pthread_mutex_lock(&t->mu);
  if (ev->actor > t->max_actor)
    t->max_actor = ev->actor;
  if (ev->from_actor > t->max_actor)
    t->max_actor = ev->from_actor;
  tl_chunk *c = t->nch ? t->ch[t->nch - 1] : NULL;
  if ((!c || c->n == t->chunk_cap) && chunk_open(t) == 0)
    c = t->ch[t->nch - 1];
  if (c && c->n < t->chunk_cap && c->first + c->n == t->added) {
    cw_tl_event x = *ev;
    x.prev = 0;
    if (is_access(&x))
      key_note(t, &x, t->added);
    /* key_note may have evicted chunks, never the newest */
    uint32_t j = c->n;
    c->ev[c->n++] = x;
    t->n++;
    /* An access the engine already found racing (fed before added). */
    for (uint32_t i = 0; i < t->npend && is_access(&x);) {
      const tl_pend *p = &t->pend[i];
      int hit = p->seq == x.seq && p->actor == x.actor && p->var == x.object &&
                p->loc == x.loc && p->kind == access_kind(&x);
      if (hit)
        set_racy(c, j);
      if (hit || t->added - p->at > TL_PEND_TTL)
        t->pend[i] = t->pend[--t->npend];
      else
        i++;
    }
  } /* else out of memory: the event is counted as evicted */
  t->added++;
  pthread_mutex_unlock(&t->mu);
}

/* Finds the kept access of key k with this seq, walking down from the
 * key's newest. @return its ever-added index + 1, or 0. */
static uint64_t key_seek(const cw_timeline *t, const tl_key *k, uint64_t seq) {
  uint64_t i = k->last;
  while (i) {
    const tl_chunk *c = chunk_of(t, i - 1);
    if (!c)
      return 0;
    const cw_tl_event *ev = &c->ev[i - 1 - c->first];
    if (ev->seq == seq)
      return i;
    i = ev->prev ? i - ev->prev : 0;
  }
  return 0;
}

void cw__timeline_race(void *tv, const cw_race_pair *p) {
  cw_timeline *t = tv;
  if (!t)
    return;
  pthread_mutex_lock(&t->mu);
  /* The later access: kept already (native batches are added before they
   * are fed), else remembered until it is added (Raceway events). */
  tl_key *k =
      key_find(t, p->second_actor, p->var, p->second_loc, p->second_kind);
  uint64_t i = k->last ? key_seek(t, k, p->second_seq) : 0;
  tl_chunk *c = i ? chunk_of(t, i - 1) : NULL;
  if (c) {
    set_racy(c, (uint32_t)(i - 1 - c->first));
  } else {
    int dup = 0;
    for (uint32_t x = 0; x < t->npend && !dup; x++)
      dup = t->pend[x].seq == p->second_seq &&
            t->pend[x].actor == p->second_actor;
    tl_pend np = {p->second_actor, p->var,        p->second_loc,
                  p->second_kind,  p->second_seq, t->added};
    if (!dup && t->npend < TL_PEND)
      t->pend[t->npend++] = np;
    else if (!dup) /* bounded: the oldest pending mark gives way */
      t->pend[t->pend_next++ % TL_PEND] = np;
  }
  /* The earlier access and its key's earlier accesses above p->known:
   * down the chain, skipping the run marked last time. */
  k = key_find(t, p->first_actor, p->var, p->first_loc, p->first_kind);
  uint64_t top = k->last ? key_seek(t, k, p->first_seq) : 0;
  uint64_t low = 0, thr = p->known;
  for (i = top; i;) {
    c = chunk_of(t, i - 1);
    if (!c)
      break;
    const cw_tl_event *ev = &c->ev[i - 1 - c->first];
    if (ev->counter <= p->known)
      break;
    if (i == k->top) {
      /* The last run: marked from here down to counters above k->thr. */
      low = k->bot;
      if (k->thr <= p->known) {
        thr = k->thr;
        break;
      }
      c = chunk_of(t, k->bot - 1);
      ev = c ? &c->ev[k->bot - 1 - c->first] : NULL;
      i = ev && ev->prev ? k->bot - ev->prev : 0;
      continue;
    }
    set_racy(c, (uint32_t)(i - 1 - c->first));
    low = i;
    i = ev->prev ? i - ev->prev : 0;
  }
  if (top) {
    k->top = top;
    k->bot = low ? low : top;
    k->thr = thr;
  }
  pthread_mutex_unlock(&t->mu);
}

void cw__timeline_counts(cw_timeline *t, uint64_t *kept, uint64_t *evicted) {
  *kept = *evicted = 0;
  if (!t)
    return;
  pthread_mutex_lock(&t->mu);
  *kept = t->n;
  *evicted = t->added - t->n;
  pthread_mutex_unlock(&t->mu);
}

/* A reader's view of the ring: the chunks and how much of each was
 * written when it was taken. Scanning it needs no lock. */
typedef struct tl_snap {
  tl_chunk **ch;
  uint32_t *n;
  uint32_t nch;
  uint64_t kept, added;
  cw_actor_id max_actor;
} tl_snap;

static int snap_take(cw_timeline *t, tl_snap *s) {
  memset(s, 0, sizeof *s);
  if (!t)
    return 0;
  pthread_mutex_lock(&t->mu);
  s->ch = malloc(((size_t)t->nch + 1) * sizeof *s->ch);
  s->n = malloc(((size_t)t->nch + 1) * sizeof *s->n);
  if (!s->ch || !s->n) {
    pthread_mutex_unlock(&t->mu);
    free(s->ch);
    free(s->n);
    return -1;
  }
  for (uint32_t i = 0; i < t->nch; i++) {
    s->ch[i] = t->ch[i];
    s->n[i] = t->ch[i]->n;
    t->ch[i]->refs++;
  }
  s->nch = t->nch;
  s->kept = t->n;
  s->added = t->added;
  s->max_actor = t->max_actor;
  pthread_mutex_unlock(&t->mu);
  return 0;
}

static void snap_drop(cw_timeline *t, tl_snap *s) {
  if (t && s->nch) {
    pthread_mutex_lock(&t->mu);
    for (uint32_t i = 0; i < s->nch; i++)
      chunk_unref(s->ch[i]);
    pthread_mutex_unlock(&t->mu);
  }
  free(s->ch);
  free(s->n);
  memset(s, 0, sizeof *s);
}

/* Walks a snapshot's events, oldest first. */
typedef struct tl_it {
  const tl_snap *s;
  uint32_t c, j;
} tl_it;

/* @return the next event and its time in *tm (its wall clock, else its
 * ever-added position from 1), or NULL at the end. */
static const cw_tl_event *it_next(tl_it *it, int64_t *tm) {
  while (it->c < it->s->nch) {
    if (it->j < it->s->n[it->c]) {
      const tl_chunk *ch = it->s->ch[it->c];
      const cw_tl_event *ev = &ch->ev[it->j];
      *tm = ev->wall_ns ? ev->wall_ns : (int64_t)(ch->first + it->j + 1);
      it->j++;
      return ev;
    }
    it->c++;
    it->j = 0;
  }
  return NULL;
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

/* The strings an answer needs, copied while the engine is held so the
 * JSON is built without it: the names and services of the actors used,
 * and every other symbol used (sorted, for lookup). */
typedef struct tl_names {
  char **aname, **asvc; /* by actor id, NULL when unused */
  cw_actor_id maxa;
  cw_sym *syms;
  char **strs;
  size_t n, cap;
} tl_names;

static int names_want(tl_names *nm, cw_sym s) {
  if (!s)
    return 0;
  if (nm->n == nm->cap) {
    size_t nc = nm->cap ? nm->cap * 2 : 256;
    cw_sym *ns = realloc(nm->syms, nc * sizeof *ns);
    if (!ns)
      return -1;
    nm->syms = ns;
    nm->cap = nc;
  }
  nm->syms[nm->n++] = s;
  return 0;
}

static int sym_cmp(const void *a, const void *b) {
  cw_sym x = *(const cw_sym *)a, y = *(const cw_sym *)b;
  return x < y ? -1 : x > y;
}

/* Copies the wanted strings (the engine is held). @return 0 or -1. */
static int names_fill(tl_names *nm, cw_engine *e, const unsigned char *used) {
  int bad = 0;
  if (nm->n > 1)
    qsort(nm->syms, nm->n, sizeof *nm->syms, sym_cmp);
  size_t k = 0;
  for (size_t i = 0; i < nm->n; i++)
    if (!k || nm->syms[i] != nm->syms[k - 1])
      nm->syms[k++] = nm->syms[i];
  nm->n = k;
  nm->strs = calloc(k + 1, sizeof *nm->strs);
  nm->aname = calloc((size_t)nm->maxa + 1, sizeof *nm->aname);
  nm->asvc = calloc((size_t)nm->maxa + 1, sizeof *nm->asvc);
  if (!nm->strs || !nm->aname || !nm->asvc)
    return -1;
  for (size_t i = 0; i < k && !bad; i++)
    bad = !(nm->strs[i] = strdup(cw__engine_str(e, nm->syms[i])));
  for (cw_actor_id a = 1; a <= nm->maxa && !bad; a++)
    if (used[a])
      bad = !(nm->aname[a] =
                  strdup(cw__engine_str(e, cw__engine_actor_name(e, a)))) ||
            !(nm->asvc[a] =
                  strdup(cw__engine_str(e, cw__engine_actor_service(e, a))));
  return bad ? -1 : 0;
}

static void names_free(tl_names *nm) {
  for (size_t i = 0; nm->strs && i < nm->n; i++)
    free(nm->strs[i]);
  for (cw_actor_id a = 0; nm->aname && a <= nm->maxa; a++) {
    free(nm->aname[a]);
    free(nm->asvc[a]);
  }
  free(nm->aname);
  free(nm->asvc);
  free(nm->syms);
  free(nm->strs);
}

static json_t *name_of(const tl_names *nm, cw_sym s) {
  size_t lo = 0, hi = nm->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (nm->syms[mid] < s)
      lo = mid + 1;
    else
      hi = mid;
  }
  return json_string(lo < nm->n && nm->syms[lo] == s ? nm->strs[lo] : "");
}

static json_t *actor_name(const tl_names *nm, cw_actor_id a) {
  return json_string(a <= nm->maxa && nm->aname[a] ? nm->aname[a] : "");
}

static json_t *actor_obj(const tl_names *nm, cw_actor_id a) {
  return json_pack("{s:o,s:s}", "actor", actor_name(nm, a), "service",
                   a <= nm->maxa && nm->asvc[a] ? nm->asvc[a] : "");
}

static void set_str(const tl_names *nm, json_t *o, const char *k, cw_sym s) {
  if (s)
    json_object_set_new(o, k, name_of(nm, s));
}

static json_t *event_json(const tl_names *e, const cw_tl_event *ev, int64_t t,
                          const held *h) {
  json_t *o = actor_obj(e, ev->actor);
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
    json_object_set_new(o, "from_actor", actor_name(e, ev->from_actor));
    json_object_set_new(o, "from_counter",
                        json_integer((json_int_t)ev->from_counter));
  }
  json_t *locks = json_array();
  for (uint32_t k = 0; h && k < h->n; k++)
    json_array_append_new(locks, name_of(e, h->locks[k]));
  json_object_set_new(o, "locks", locks);
  return o;
}

/* Which actors the query selects: sel[a] for a in 1..max_actor (the engine
 * is locked). */
static unsigned char *select_actors(cw_actor_id max_actor, cw_engine *e,
                                    const cw_tl_query *q) {
  unsigned char *sel = calloc((size_t)max_actor + 1, 1);
  if (!sel)
    return NULL;
  for (cw_actor_id a = 1; a <= max_actor; a++) {
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

/* One event of the answer, copied out of the ring with its actor's held
 * locks, so the JSON is built after the scan. */
typedef struct tl_item {
  cw_tl_event ev;
  int64_t t;
  held h;
} tl_item;

typedef struct tl_hl {
  uint64_t seq;
  cw_actor_id actor;
  int64_t t;
} tl_hl;

#define TL_MAX_HL 256

/* What a scan of the ring found, before any string is looked up. */
typedef struct tl_result {
  uint64_t kept, evicted, total;
  int64_t from, to, olo, ohi;
  int buckets;
  uint32_t nb;
  double width;
  uint32_t nl;
  cw_actor_id *lane_actor; /* lane -> actor */
  uint64_t *lane_n;        /* by actor */
  uint64_t *cnt;           /* buckets: [lane][category][bucket] */
  tl_item *items;
  size_t nitems;
  tl_hl hl[TL_MAX_HL];
  int nhl;
} tl_result;

static void result_free(tl_result *r) {
  free(r->lane_actor);
  free(r->lane_n);
  free(r->cnt);
  free(r->items);
}

/* The scan: no lock held (the snapshot's chunks do not change). */
static int scan(const tl_snap *sn, const unsigned char *sel,
                const cw_tl_query *q, tl_result *r) {
  cw_actor_id maxa = sn->max_actor;
  r->lane_n = calloc((size_t)maxa + 1, sizeof *r->lane_n);
  r->lane_actor = calloc((size_t)maxa + 1, sizeof *r->lane_actor);
  uint32_t *lane_ix = calloc((size_t)maxa + 1, sizeof *lane_ix);
  if (!r->lane_n || !r->lane_actor || !lane_ix) {
    free(lane_ix);
    return -1;
  }
  /* Pass 1: the window, its size per lane, and the highlighted events. */
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  r->olo = INT64_MAX;
  r->ohi = INT64_MIN;
  tl_it it = {sn, 0, 0};
  int64_t tm;
  const cw_tl_event *ev;
  while ((ev = it_next(&it, &tm))) {
    if (tm < r->olo)
      r->olo = tm;
    if (tm > r->ohi)
      r->ohi = tm;
    if (!sel[ev->actor])
      continue;
    for (int k = 0; k < q->nhighlight && r->nhl < TL_MAX_HL; k++)
      if (ev->seq == q->highlight[k])
        r->hl[r->nhl++] = (tl_hl){ev->seq, ev->actor, tm};
    if ((q->has_from && tm < q->from) || (q->has_to && tm > q->to))
      continue;
    if (tm < lo)
      lo = tm;
    if (tm > hi)
      hi = tm;
    r->lane_n[ev->actor]++;
    r->total++;
  }
  r->from = q->has_from ? q->from : (r->total ? lo : r->olo);
  r->to = q->has_to ? q->to : (r->total ? hi : r->ohi);
  r->buckets = q->mode == 2 || (q->mode == 0 && r->total > q->limit);
  /* Lanes, in order of first appearance (actor id). */
  for (cw_actor_id a = 1; a <= maxa; a++)
    if (r->lane_n[a]) {
      r->lane_actor[r->nl] = a;
      lane_ix[a] = ++r->nl;
    }
  int rc = 0;
  if (r->buckets && r->nl) {
    r->nb = q->buckets;
    r->width = (double)(r->to - r->from + 1) / r->nb;
    if (r->width < 1)
      r->width = 1;
    r->cnt = calloc((size_t)r->nl * r->nb * 3, sizeof *r->cnt);
    it = (tl_it){sn, 0, 0};
    while (r->cnt && (ev = it_next(&it, &tm))) {
      if (!sel[ev->actor] || tm < r->from || tm > r->to)
        continue;
      uint64_t b = (uint64_t)((double)(tm - r->from) / r->width);
      if (b >= r->nb)
        b = r->nb - 1;
      r->cnt[((size_t)(lane_ix[ev->actor] - 1) * 3 + category(ev->kind)) *
                 r->nb +
             b]++;
    }
    rc = r->cnt ? 0 : -1;
  } else if (!r->buckets) {
    /* Pass 2: the page of events, with each actor's held locks. */
    uint64_t want = r->total > q->offset ? r->total - q->offset : 0;
    if (want > q->limit)
      want = q->limit;
    held *h = calloc((size_t)maxa + 1, sizeof *h);
    r->items = calloc((size_t)want + 1, sizeof *r->items);
    uint64_t k = 0;
    it = (tl_it){sn, 0, 0};
    while (h && r->items && r->nitems < want && (ev = it_next(&it, &tm))) {
      int in = sel[ev->actor] && tm >= r->from && tm <= r->to;
      if (in && k++ >= q->offset)
        r->items[r->nitems++] = (tl_item){*ev, tm, h[ev->actor]};
      track_lock(&h[ev->actor], ev);
    }
    rc = h && r->items ? 0 : -1;
    free(h);
  }
  free(lane_ix);
  return rc;
}

json_t *cw__timeline_query(cw_timeline *t, const cw_tl_engine *eng,
                           const cw_tl_query *q) {
  tl_snap sn;
  if (snap_take(t, &sn))
    return NULL;
  /* The actor selection needs names: a short hold of the engine. */
  cw_engine *e = eng->lock(eng->ud);
  unsigned char *sel = select_actors(sn.max_actor, e, q);
  eng->unlock(eng->ud);
  tl_result r;
  memset(&r, 0, sizeof r);
  r.kept = sn.kept;
  r.evicted = sn.added - sn.kept;
  int rc = sel ? scan(&sn, sel, q, &r) : -1;
  cw_actor_id maxa = sn.max_actor;
  free(sel);
  snap_drop(t, &sn);
  if (rc) {
    result_free(&r);
    return NULL;
  }
  /* Strings: a second short hold, for the distinct strings the answer
   * uses; the JSON is built after it. */
  tl_names nm;
  memset(&nm, 0, sizeof nm);
  nm.maxa = maxa;
  unsigned char *used = calloc((size_t)nm.maxa + 1, 1);
  rc = used ? 0 : -1;
  for (size_t i = 0; !rc && i < r.nitems; i++) {
    const cw_tl_event *ev = &r.items[i].ev;
    used[ev->actor] = 1;
    if (ev->from_actor <= nm.maxa)
      used[ev->from_actor] = 1;
    rc = names_want(&nm, ev->object) || names_want(&nm, ev->loc) ||
         names_want(&nm, ev->detail) || names_want(&nm, ev->val_str);
    for (uint32_t k = 0; !rc && k < r.items[i].h.n; k++)
      rc = names_want(&nm, r.items[i].h.locks[k]);
  }
  for (uint32_t l = 0; used && l < r.nl; l++)
    used[r.lane_actor[l]] = 1;
  for (int k = 0; used && k < r.nhl; k++)
    used[r.hl[k].actor] = 1;
  if (!rc) {
    e = eng->lock(eng->ud);
    rc = names_fill(&nm, e, used);
    eng->unlock(eng->ud);
  }
  free(used);
  if (rc) {
    names_free(&nm);
    result_free(&r);
    return NULL;
  }
  json_t *o = json_object();
  json_object_set_new(o, "enabled", json_boolean(t != NULL));
  json_object_set_new(o, "kept", json_integer((json_int_t)r.kept));
  json_object_set_new(o, "evicted", json_integer((json_int_t)r.evicted));
  json_t *lanes = json_array(), *items = json_array(), *hl = json_array();
  json_object_set_new(o, "lanes", lanes);
  json_object_set_new(o, "highlights", hl);
  if (!r.kept) {
    json_object_set_new(o, "mode", json_string("events"));
    json_object_set_new(o, "total", json_integer(0));
  } else {
    for (int k = 0; k < r.nhl; k++)
      json_array_append_new(hl, json_pack("{s:I,s:o,s:I}", "seq",
                                          (json_int_t)r.hl[k].seq, "actor",
                                          actor_name(&nm, r.hl[k].actor), "t",
                                          (json_int_t)r.hl[k].t));
    json_object_set_new(o, "from", json_integer(r.from));
    json_object_set_new(o, "to", json_integer(r.to));
    json_object_set_new(o, "oldest", json_integer(r.olo));
    json_object_set_new(o, "newest", json_integer(r.ohi));
    json_object_set_new(o, "total", json_integer((json_int_t)r.total));
    json_object_set_new(o, "mode",
                        json_string(r.buckets ? "buckets" : "events"));
    for (uint32_t l = 0; l < r.nl; l++) {
      cw_actor_id a = r.lane_actor[l];
      json_t *lane = actor_obj(&nm, a);
      json_object_set_new(lane, "events",
                          json_integer((json_int_t)r.lane_n[a]));
      static const char *const names[3] = {"other", "access", "lock"};
      for (int c = 0; r.cnt && c < 3; c++) {
        json_t *arr = json_array();
        for (uint32_t b = 0; b < r.nb; b++)
          json_array_append_new(
              arr,
              json_integer((json_int_t)r.cnt[((size_t)l * 3 + c) * r.nb + b]));
        json_object_set_new(lane, names[c], arr);
      }
      json_array_append_new(lanes, lane);
    }
    if (r.buckets) {
      json_object_set_new(o, "buckets", json_integer(q->buckets));
      json_object_set_new(o, "bucket_ns", json_real(r.width > 0 ? r.width : 1));
    } else {
      for (size_t i = 0; i < r.nitems; i++)
        json_array_append_new(items, event_json(&nm, &r.items[i].ev,
                                                r.items[i].t, &r.items[i].h));
      json_object_set_new(o, "offset", json_integer((json_int_t)q->offset));
      json_object_set_new(o, "limit", json_integer((json_int_t)q->limit));
    }
  }
  json_object_set_new(o, "items", items);
  names_free(&nm);
  result_free(&r);
  return o;
}

/* ---- Audit trails from the ring ----------------------------------------- */

json_t *cw__timeline_audit(cw_timeline *t, const cw_tl_engine *eng,
                           const char *variable, uint64_t offset,
                           uint64_t limit, int *unknown) {
  *unknown = 0;
  tl_snap sn;
  if (snap_take(t, &sn))
    return NULL;
  /* The variable's symbol. */
  cw_engine *e = eng->lock(eng->ud);
  const cw_sym *vars;
  size_t nv = cw__engine_variables(e, &vars);
  cw_sym var = 0;
  for (size_t i = 0; i < nv && !var; i++)
    if (!strcmp(cw__engine_str(e, vars[i]), variable))
      var = vars[i];
  eng->unlock(eng->ud);
  if (!var) {
    *unknown = 1;
    snap_drop(t, &sn);
    return NULL;
  }
  cw_actor_id maxa = sn.max_actor;
  held *h = calloc((size_t)maxa + 1, sizeof *h);
  uint64_t want = limit < 100000 ? limit : 100000;
  tl_item *items = calloc((size_t)want + 1, sizeof *items);
  unsigned char *racy = calloc((size_t)want + 1, 1);
  size_t nitems = 0;
  uint64_t total = 0;
  tl_it it = {&sn, 0, 0};
  int64_t tm;
  const cw_tl_event *ev;
  while (h && items && racy && (ev = it_next(&it, &tm))) {
    if (is_access(ev) && ev->object == var) {
      if (total >= offset && nitems < want) {
        /* it_next has moved past the event: it is it.j - 1 of it.c */
        const tl_chunk *c = sn.ch[it.c];
        uint32_t j = it.j - 1;
        racy[nitems] =
            (__atomic_load_n(&c->racy[j / 64], __ATOMIC_RELAXED) >> (j % 64)) &
            1;
        items[nitems++] = (tl_item){*ev, tm, h[ev->actor]};
      }
      total++;
    }
    track_lock(&h[ev->actor], ev);
  }
  uint64_t evicted = sn.added - sn.kept;
  snap_drop(t, &sn);
  free(h);
  tl_names nm;
  memset(&nm, 0, sizeof nm);
  nm.maxa = maxa;
  unsigned char *used = calloc((size_t)maxa + 1, 1);
  int rc = items && used && racy ? 0 : -1;
  for (size_t i = 0; !rc && i < nitems; i++) {
    used[items[i].ev.actor] = 1;
    rc = names_want(&nm, items[i].ev.loc) ||
         names_want(&nm, items[i].ev.val_str);
    for (uint32_t k = 0; !rc && k < items[i].h.n; k++)
      rc = names_want(&nm, items[i].h.locks[k]);
  }
  if (!rc) {
    e = eng->lock(eng->ud);
    rc = names_fill(&nm, e, used);
    eng->unlock(eng->ud);
  }
  free(used);
  json_t *arr = rc ? NULL : json_array();
  for (size_t i = 0; arr && i < nitems; i++) {
    const cw_tl_event *x = &items[i].ev;
    json_t *o = actor_obj(&nm, x->actor);
    json_object_set_new(o, "location", name_of(&nm, x->loc));
    json_object_set_new(o, "access",
                        json_string(x->kind == CW_EV_READ ? "read" : "write"));
    json_object_set_new(o, "atomic",
                        json_boolean((x->flags & CW_EVF_ATOMIC) != 0));
    if (x->val_str)
      json_object_set_new(o, "value", name_of(&nm, x->val_str));
    else if (x->has_val)
      json_object_set_new(o, "value", json_integer(x->val));
    json_t *locks = json_array();
    for (uint32_t k = 0; k < items[i].h.n; k++)
      json_array_append_new(locks, name_of(&nm, items[i].h.locks[k]));
    json_object_set_new(o, "locks", locks);
    json_object_set_new(o, "seq", json_integer((json_int_t)x->seq));
    json_object_set_new(o, "counter", json_integer((json_int_t)x->counter));
    json_object_set_new(o, "wall_ns", json_integer(x->wall_ns));
    json_object_set_new(o, "racy", json_boolean(racy[i]));
    json_array_append_new(arr, o);
  }
  names_free(&nm);
  free(items);
  free(racy);
  if (!arr)
    return NULL;
  return json_pack("{s:I,s:I,s:I,s:o,s:s,s:s,s:b,s:I}", "total",
                   (json_int_t)total, "offset", (json_int_t)offset, "limit",
                   (json_int_t)limit, "items", arr, "variable", variable,
                   "source", "events", "truncated", evicted > 0, "evicted",
                   (json_int_t)evicted);
}
