/*
 * cw_snapshot.c: clock snapshots and their header encoding, the way clocks
 * travel between processes (the HTTP glue puts them in a request header).
 *
 * DESIGN. A snapshot holds either local entries (actor-table slots of the
 * session that captured it) or named entries (decoded from a header).
 * Encoding needs global names, read under the actor-table mutex: the
 * entries are ranked first and only the (at most 64) kept are named. The
 * wire form is "1." followed by base64url (no padding) of:
 *
 *   varint n (<= CW_CLOCK_MAX_ENTRIES)
 *   n x { varint shared, varint suffix_len, suffix bytes, varint counter }
 *
 * where `shared` is the length of the prefix the name shares with the
 * previous entry's name (front coding: names of one service share
 * "service#instance/"). Names are 1-127 printable ASCII bytes and contain
 * '#' and '/'; counters are 1..2^63-1. Entries go most recently created
 * actor first (the capturing actor always first), so when the cap cuts the
 * clock, the oldest history goes. The decoder checks every byte and length
 * and rejects anything else. Resolving a decoded clock maps names of this
 * process's own actors to those actors (no remote twin).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "cw_b64url.h"
#include "cw_format.h"
#include "cw_internal.h"

typedef struct sent {
  uint32_t slot, gen;
  uint64_t ctr;
  uint64_t birth;
  uint32_t name_off; /* into names, for named entries */
  uint16_t name_len; /* 0 for local entries */
} sent;

struct cw_clock_snapshot {
  sent *e;
  uint32_t n, cap;
  char *names;
  uint32_t nlen, ncap;
  cw_sess *sess; /* owner of local entries */
  uint64_t seq;  /* the capturing thread's last sequence number (local) */
  uint32_t self; /* index of the capturing actor, or UINT32_MAX */
};

#define PAYLOAD_MAX ((CW_CLOCK_HEADER_MAX - 2) / 4 * 3)

cw_clock_snapshot *cw_clock_snapshot_new(void) {
  cw_clock_snapshot *s = cw__calloc(1, sizeof(*s));
  if (s)
    s->self = UINT32_MAX;
  return s;
}

void cw_clock_snapshot_free(cw_clock_snapshot *s) {
  if (!s)
    return;
  cw__free(s->e);
  cw__free(s->names);
  cw__free(s);
}

size_t cw_clock_snapshot_len(const cw_clock_snapshot *s) {
  return s ? s->n : 0;
}

static void snap_clear(cw_clock_snapshot *s) {
  s->n = 0;
  s->nlen = 0;
  s->sess = NULL;
  s->seq = 0;
  s->self = UINT32_MAX;
}

static int snap_reserve(cw_clock_snapshot *s, uint32_t n, uint32_t nl) {
  if (n > s->cap) {
    sent *e = cw__realloc(s->e, n * sizeof(*e));
    if (!e)
      return -1;
    s->e = e;
    s->cap = n;
  }
  if (nl > s->ncap) {
    char *p = cw__realloc(s->names, nl);
    if (!p)
      return -1;
    s->names = p;
    s->ncap = nl;
  }
  return 0;
}

cw_status cw_clock_current(cw_clock_snapshot *snap) {
  if (!snap)
    return CW_EINVAL;
  snap_clear(snap);
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_actor *a = ts->cur;
  uint32_t n = cw__actor_full(ts, a);
  cw_status st = CW_OK;
  if (snap_reserve(snap, n, 0) != 0) {
    st = CW_ENOMEM;
  } else {
    for (uint32_t i = 0; i < n; i++) {
      snap->e[i] = (sent){
          ts->delta[i].slot, ts->delta[i].gen, ts->delta[i].ctr, 0, 0, 0};
      if (ts->delta[i].slot == a->slot)
        snap->self = i;
    }
    snap->n = n;
    snap->sess = ts->sess;
    snap->seq = ts->seq;
  }
  cw__leave(ts);
  return st;
}

/* ---- Encoding ------------------------------------------------------------ */

typedef struct named {
  const char *name;
  size_t len;
  uint64_t ctr;
  uint64_t rank;      /* higher first */
  uint32_t slot, gen; /* local entries: named once selected */
} named;

static void swap_named(named *a, named *b) {
  named t = *a;
  *a = *b;
  *b = t;
}

/* Moves the k highest ranks of v[0..n) to v[0..k), in no particular order
 * (quickselect, three-way partition). */
static void select_top(named *v, uint32_t n, uint32_t k) {
  uint32_t lo = 0, hi = n;
  while (hi - lo > 1 && k > lo && k < hi) {
    uint64_t pivot = v[lo + (hi - lo) / 2].rank;
    uint32_t i = lo, j = lo, r = hi;
    while (j < r) {
      if (v[j].rank > pivot)
        swap_named(&v[i++], &v[j++]);
      else if (v[j].rank < pivot)
        swap_named(&v[j], &v[--r]);
      else
        j++;
    }
    /* [lo, i) above the pivot, [i, r) equal, [r, hi) below. */
    if (k <= i)
      hi = i;
    else if (k >= r)
      lo = r;
    else
      break;
  }
}

/* Sorts v[0..n) by rank, highest first (insertion sort: n <= 64). */
static void sort_desc(named *v, uint32_t n) {
  for (uint32_t i = 1; i < n; i++) {
    named x = v[i];
    uint32_t j = i;
    for (; j > 0 && v[j - 1].rank < x.rank; j--)
      v[j] = v[j - 1];
    v[j] = x;
  }
}

/* Keeps, in v[0..return), the (at most CW_CLOCK_MAX_ENTRIES) highest
 * ranked of v[0..n), highest first, naming local entries (`s` non-NULL,
 * actor table locked) only once they are selected: entries whose name
 * cannot be used give their place to the next ones. */
static uint32_t pick(cw_sess *s, named *v, uint32_t n, char *pool) {
  uint32_t out = 0, pos = 0;
  while (out < CW_CLOCK_MAX_ENTRIES && pos < n) {
    uint32_t want = CW_CLOCK_MAX_ENTRIES - out;
    if (want > n - pos)
      want = n - pos;
    select_top(v + pos, n - pos, want);
    sort_desc(v + pos, want);
    for (uint32_t i = pos; i < pos + want; i++) {
      if (s) {
        char *dst = pool + (size_t)out * (CW_NAME_MAX + 160);
        size_t len =
            cw__actor_fullname(s, v[i].slot, v[i].gen, dst, CW_NAME_MAX + 160);
        if (len == 0 || len > CW_NAME_MAX - 1)
          continue;
        v[i].name = dst;
        v[i].len = len;
      }
      v[out++] = v[i];
    }
    pos += want;
  }
  return out;
}

/* Builds the payload of the first k entries. @return its size. */
static size_t payload(const named *v, uint32_t k, uint8_t *out) {
  size_t n = cw__put_varint(out, k);
  const char *prev = "";
  size_t prevlen = 0;
  for (uint32_t i = 0; i < k; i++) {
    size_t sh = 0;
    while (sh < prevlen && sh < v[i].len && prev[sh] == v[i].name[sh])
      sh++;
    n += cw__put_varint(out + n, sh);
    n += cw__put_varint(out + n, v[i].len - sh);
    memcpy(out + n, v[i].name + sh, v[i].len - sh);
    n += v[i].len - sh;
    n += cw__put_varint(out + n, v[i].ctr);
    prev = v[i].name;
    prevlen = v[i].len;
  }
  return n;
}

cw_status cw_clock_encode(const cw_clock_snapshot *snap, char *buf, size_t cap,
                          size_t *out_len) {
  if (!snap || !buf)
    return CW_EINVAL;
  cw_sess *s = atomic_load_explicit(&cw__cur, memory_order_acquire);
  uint32_t n = snap->n;
  named *v = cw__calloc(n ? n : 1, sizeof(*v));
  char *pool = cw__malloc((size_t)CW_CLOCK_MAX_ENTRIES * (CW_NAME_MAX + 160));
  uint8_t *pl = cw__malloc(CW_CLOCK_MAX_ENTRIES * (CW_NAME_MAX + 24) + 16);
  cw_status st = CW_OK;
  if (!v || !pool || !pl) {
    st = CW_ENOMEM;
    goto out;
  }
  uint32_t m = 0;
  if (snap->sess && snap->sess == s) {
    /* Rank every live entry (cheap), then name only the ones kept. */
    CW_CHECK(pthread_mutex_lock(&s->actors.mu));
    for (uint32_t i = 0; i < n; i++) {
      const sent *e = &snap->e[i];
      if (e->ctr == 0 || !cw__slot_valid(&s->actors, e->slot, e->gen))
        continue; /* recorded nothing yet, or retired */
      v[m].ctr = e->ctr;
      v[m].slot = e->slot;
      v[m].gen = e->gen;
      v[m].rank = i == snap->self ? UINT64_MAX : s->actors.slots[e->slot].birth;
      m++;
    }
    m = pick(s, v, m, pool);
    CW_CHECK(pthread_mutex_unlock(&s->actors.mu));
  } else {
    for (uint32_t i = 0; i < n; i++) {
      const sent *e = &snap->e[i];
      if (!e->name_len)
        continue; /* local entries of another session */
      v[m].name = snap->names ? snap->names + e->name_off : "";
      v[m].len = e->name_len;
      v[m].ctr = e->ctr;
      v[m].rank = (uint64_t)(n - i); /* keep the decoded order */
      m++;
    }
    m = pick(NULL, v, m, NULL);
  }
  uint32_t k = m;
  size_t plen = payload(v, k, pl);
  while (plen > PAYLOAD_MAX && k > 0)
    plen = payload(v, --k, pl);
  size_t olen = 2 + (plen * 4 + 2) / 3;
  if (olen + 1 > cap) {
    st = CW_ETOOBIG;
    goto out;
  }
  buf[0] = '1';
  buf[1] = '.';
  size_t o = 2 + cw__b64url_encode(pl, plen, buf + 2, cap - 2);
  if (out_len)
    *out_len = o;
out:
  cw__free(v);
  cw__free(pool);
  cw__free(pl);
  return st;
}

/* ---- Decoding ------------------------------------------------------------ */

static int get_varint(const uint8_t *p, size_t len, size_t *pos,
                      uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= len)
      return -1;
    uint8_t b = p[(*pos)++];
    if (shift == 63 && b > 1)
      return -1;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

cw_status cw_clock_decode(const char *hdr, size_t len,
                          cw_clock_snapshot *snap) {
  if (!hdr || !snap)
    return CW_EINVAL;
  snap_clear(snap);
  if (len > CW_CLOCK_HEADER_MAX)
    return CW_ETOOBIG;
  if (len < 2 || hdr[0] != '1' || hdr[1] != '.')
    return CW_EMALFORMED;
  uint8_t pl[PAYLOAD_MAX + 3];
  long decoded = cw__b64url_decode(hdr + 2, len - 2, pl, sizeof pl, 0);
  if (decoded < 0)
    return CW_EMALFORMED;
  size_t plen = (size_t)decoded;
  size_t pos = 0;
  uint64_t n;
  if (get_varint(pl, plen, &pos, &n) != 0)
    return CW_EMALFORMED;
  if (n > CW_CLOCK_MAX_ENTRIES)
    return CW_ETOOBIG;
  if (snap_reserve(snap, (uint32_t)(n ? n : 1),
                   (uint32_t)(n ? n : 1) * CW_NAME_MAX) != 0)
    return CW_ENOMEM;
  const char *prev = NULL;
  size_t prevlen = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t sh, sl, ctr;
    if (get_varint(pl, plen, &pos, &sh) != 0 || sh > prevlen ||
        get_varint(pl, plen, &pos, &sl) != 0 || sl > CW_NAME_MAX ||
        sh + sl == 0 || sh + sl > CW_NAME_MAX - 1 || sl > plen - pos)
      goto bad;
    char *dst = snap->names + snap->nlen;
    if (sh)
      memcpy(dst, prev, sh);
    memcpy(dst + sh, pl + pos, sl);
    pos += sl;
    size_t nl = sh + sl;
    int hash = 0, slash = 0;
    for (size_t j = 0; j < nl; j++) {
      unsigned char c = (unsigned char)dst[j];
      if (c <= 0x20 || c >= 0x7f)
        goto bad;
      hash |= c == '#';
      slash |= c == '/' && hash;
    }
    if (!slash || get_varint(pl, plen, &pos, &ctr) != 0 || ctr == 0 ||
        ctr > (uint64_t)INT64_MAX)
      goto bad;
    snap->e[snap->n++] = (sent){0, 0, ctr, 0, snap->nlen, (uint16_t)nl};
    prev = dst;
    prevlen = nl;
    snap->nlen += (uint32_t)nl;
  }
  if (pos != plen)
    goto bad;
  return CW_OK;
bad:
  snap_clear(snap);
  return CW_EMALFORMED;
}

cw_status cw_clock_snapshot_set(cw_clock_snapshot *snap,
                                const char *const *names,
                                const uint64_t *counters, size_t n) {
  if (!snap || (n && (!names || !counters)))
    return CW_EINVAL;
  snap_clear(snap);
  if (n > CW_CLOCK_MAX_ENTRIES)
    return CW_ETOOBIG;
  if (snap_reserve(snap, (uint32_t)(n ? n : 1),
                   (uint32_t)(n ? n : 1) * CW_NAME_MAX) != 0)
    return CW_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *nm = names[i];
    size_t len = nm ? strnlen(nm, CW_NAME_MAX) : 0;
    if (len == 0 || len > CW_NAME_MAX - 1 || counters[i] == 0 ||
        counters[i] > (uint64_t)INT64_MAX)
      goto bad;
    for (size_t j = 0; j < len; j++)
      if ((unsigned char)nm[j] <= 0x20 || (unsigned char)nm[j] >= 0x7f)
        goto bad;
    memcpy(snap->names + snap->nlen, nm, len);
    snap->e[snap->n++] =
        (sent){0, 0, counters[i], 0, snap->nlen, (uint16_t)len};
    snap->nlen += (uint32_t)len;
  }
  return CW_OK;
bad:
  snap_clear(snap);
  return CW_EINVAL;
}

/* ---- Use by the recorder ---------------------------------------------------
 */

int cw__snap_resolve(cw_tstate *ts, const cw_clock_snapshot *snap);

int cw__snap_resolve(cw_tstate *ts, const cw_clock_snapshot *snap) {
  cw_sess *s = ts->sess;
  if (cw__ts_reserve(ts, snap->n + 1) != 0)
    return -1;
  if (snap->sess == s) /* taken in this process: sort after its capture */
    cw__seq_join(ts, snap->seq);
  uint32_t m = 0;
  for (uint32_t i = 0; i < snap->n; i++) {
    const sent *e = &snap->e[i];
    cw_ent x = {e->slot, e->gen, e->ctr};
    const char *nm = snap->names ? snap->names + e->name_off : "";
    if (e->name_len > s->prefix_len &&
        memcmp(nm, s->prefix, s->prefix_len) == 0) {
      /* One of this process's own actors (the clock made a round trip):
       * the actor itself, not a remote twin; gone when it was retired. */
      if (cw__actab_local(&s->actors, nm + s->prefix_len,
                          e->name_len - s->prefix_len, &x.slot, &x.gen) != 0)
        continue;
    } else if (e->name_len) {
      if (cw__actab_remote(&s->actors, nm, e->name_len, &x.slot, &x.gen) != 0)
        return -1;
    } else if (snap->sess != s) {
      continue;
    }
    ts->delta[m++] = x;
  }
  cw__vc_sort(ts->delta, m);
  /* Collapse duplicates (a name listed twice), keeping the largest. */
  uint32_t k = 0;
  for (uint32_t i = 0; i < m; i++) {
    if (k && ts->delta[k - 1].slot == ts->delta[i].slot &&
        ts->delta[k - 1].gen == ts->delta[i].gen) {
      if (ts->delta[i].ctr > ts->delta[k - 1].ctr)
        ts->delta[k - 1].ctr = ts->delta[i].ctr;
    } else {
      ts->delta[k++] = ts->delta[i];
    }
  }
  return (int)k;
}
