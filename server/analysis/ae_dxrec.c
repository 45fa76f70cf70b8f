/*
 * ae_dxrec.c: the record of the events the second pass of the exact
 * potential-deadlock search needs (docs/detection.md 4.3), so that pass 2
 * does not parse and intern its inputs again.
 *
 * DESIGN. Pass 1 writes, for every processed event that pass 2 uses
 * (lock request, acquire, release and timeout, fork, join, annotation
 * release and acquire, retire, and any event with explicit joins), one
 * record in processing order to a caller-owned temporary file through a
 * 64 KiB buffer: kind, flags, actor, the actor's counter after the event,
 * the object (symbol) or child, sequence number (delta), location, for a
 * join the child's counter, and the explicit joins with, per join, whether
 * it inherits the source's whole clock (decided by pass 1, which knows
 * the source's counter). Numbers are LEB128 varints: about 10 bytes an
 * event. Accesses and other events are not recorded: pass 2 only needs
 * their effect on the actor's counter, which the next record carries.
 * The replay engine is created with pass 1's symbols, actors, locks and
 * keys in the same order (cw__engine_replay_new), so recorded ids are its
 * ids. Memory stays flat in events; the file grows with them.
 */
#include "ae_internal.h"
#include "cw_format.h"

#include <stdio.h>
#include <string.h>

#define REC_BUF ((size_t)1 << 16)
#define REC_MAXJ 4096u /* joins per record that fit the buffer */

struct ae_rec {
  FILE *f;
  uint8_t *buf;
  size_t n;
  int failed;      /* a write failed: pass 2 reads the inputs again */
  uint64_t seq;    /* previous record's sequence number */
  uint64_t events; /* records */
};

void cw__engine_record(cw_engine *e, FILE *f) {
  if (!e || !e->two_pass || e->rec || !f)
    return;
  e->rec = cw__ae_calloc(1, sizeof(*e->rec));
  e->rec->f = f;
  e->rec->buf = cw__ae_alloc(REC_BUF);
}

static void rec_flush(ae_rec *r) {
  if (r->n && !r->failed && fwrite(r->buf, 1, r->n, r->f) != r->n)
    r->failed = 1;
  r->n = 0;
}

/* The codec's varint writer (sdk/format), into the record buffer. */
static void put(ae_rec *r, uint64_t v) {
  r->n += cw__vi_put(r->buf + r->n, v);
}

/* Zigzag deltas (the codec's): small signed deltas stay small. */
static uint64_t zig(uint64_t now, uint64_t prev) {
  return cw__zigzag((int64_t)(now - prev));
}

static uint64_t unzig(uint64_t z, uint64_t prev) {
  return prev + (uint64_t)cw__unzigzag(z);
}

void cw__rec_event(cw_engine *e, uint32_t aid, const cw_aevent *ev) {
  ae_rec *r = e->rec;
  switch (ev->kind) {
  case CW_AE_LOCK_REQUEST:
  case CW_AE_LOCK_ACQUIRE:
  case CW_AE_LOCK_RELEASE:
  case CW_AE_LOCK_TIMEOUT:
  case CW_AE_FORK:
  case CW_AE_JOIN:
  case CW_AE_ANN_RELEASE:
  case CW_AE_ANN_ACQUIRE:
  case CW_AE_RETIRE:
    break;
  default:
    if (!ev->njoins)
      return;
  }
  if (r->failed)
    return;
  uint32_t nj = ev->njoins;
  if (nj > REC_MAXJ) { /* an event too large to record: read again */
    r->failed = 1;
    return;
  }
  if (r->n + 64 + (size_t)nj * 21 > REC_BUF)
    rec_flush(r);
  int co = (ev->flags & CW_AEF_CLOCK_ONLY) != 0;
  put(r, (uint64_t)ev->kind);
  put(r, (uint64_t)ev->flags);
  put(r, aid);
  put(r, e->actors[aid].counter);
  put(r, ev->kind == CW_AE_FORK || ev->kind == CW_AE_JOIN ? ev->child
                                                          : ev->object);
  put(r, zig(ev->seq, r->seq));
  r->seq = ev->seq;
  put(r, ev->loc);
  if (ev->kind == CW_AE_JOIN)
    put(r, e->actors[ev->child].counter);
  put(r, nj);
  for (uint32_t i = 0; i < nj; i++) {
    const cw_ae_join *j = &ev->joins[i];
    uint32_t b = j->actor;
    int whole =
        !co && b && b < e->nactors && e->actors[b].counter == j->counter;
    put(r, (uint64_t)b << 1 | (uint64_t)whole);
    put(r, j->counter);
  }
  r->events++;
}

/* Buffered reading of the record. */
typedef struct rd {
  FILE *f;
  uint8_t *buf;
  size_t pos, len;
  int bad;
} rd;

static int get(rd *d, uint64_t *out) {
  uint64_t v = 0;
  for (unsigned sh = 0; sh < 64; sh += 7) {
    if (d->pos == d->len) {
      d->len = fread(d->buf, 1, REC_BUF, d->f);
      d->pos = 0;
      if (!d->len) {
        d->bad = 1;
        return -1;
      }
    }
    uint8_t b = d->buf[d->pos++];
    v |= (uint64_t)(b & 0x7f) << sh;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  d->bad = 1;
  return -1;
}

int cw__engine_replay_run(cw_engine *e, cw_engine *r) {
  if (!e || !r || !e->rec || !r->replay)
    return -1;
  ae_rec *w = e->rec;
  rec_flush(w);
  if (w->failed || fflush(w->f) != 0 || fseek(w->f, 0, SEEK_SET) != 0)
    return -1;
  rd d = {w->f, w->buf, 0, 0, 0};
  cw_ae_join *jb = cw__ae_alloc(REC_MAXJ * sizeof(*jb));
  uint8_t *whole = cw__ae_alloc(REC_MAXJ);
  uint64_t seq = 0;
  int rc = 0;
  for (uint64_t k = 0; k < w->events && rc == 0; k++) {
    uint64_t f[7] = {0, 0, 0, 0, 0, 0, 0}, nj = 0;
    for (int i = 0; i < 7 && rc == 0; i++)
      rc = get(&d, &f[i]);
    cw_aevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = (cw_ae_kind)f[0];
    ev.flags = (uint32_t)f[1];
    ev.actor = (cw_actor_id)f[2];
    uint64_t child_cnt = 0;
    if (rc == 0 && ev.kind == CW_AE_JOIN)
      rc = get(&d, &child_cnt);
    if (rc == 0)
      rc = get(&d, &nj);
    if (rc || nj > REC_MAXJ || !ev.actor || ev.actor >= r->nactors) {
      rc = -1;
      break;
    }
    for (uint64_t i = 0; i < nj && rc == 0; i++) {
      uint64_t b = 0, c = 0;
      rc = get(&d, &b) || get(&d, &c) ? -1 : 0;
      jb[i].actor = (cw_actor_id)(b >> 1);
      jb[i].counter = c;
      whole[i] = (uint8_t)(b & 1);
      if (rc == 0 && whole[i] && jb[i].actor < r->nactors)
        r->actors[jb[i].actor].counter = c; /* the source is at it */
    }
    if (rc)
      break;
    if (ev.kind == CW_AE_FORK || ev.kind == CW_AE_JOIN) {
      ev.child = (cw_actor_id)f[4];
      if (!ev.child || ev.child >= r->nactors) {
        rc = -1;
        break;
      }
      if (ev.kind == CW_AE_JOIN)
        r->actors[ev.child].counter = child_cnt;
    } else {
      ev.object = (cw_sym)f[4];
    }
    seq = unzig(f[5], seq);
    ev.seq = seq;
    ev.loc = (cw_sym)f[6];
    ev.counter = f[3];
    ev.njoins = (uint32_t)nj;
    ev.joins = nj ? jb : NULL;
    r->actors[ev.actor].counter = f[3];
    (void)cw__dx_event(r, ev.actor, &ev, nj ? whole : NULL);
  }
  cw__ae_free(jb);
  cw__ae_free(whole);
  return rc || d.bad ? -2 : 0;
}

void cw__rec_free(cw_engine *e) {
  if (!e->rec)
    return;
  cw__ae_free(e->rec->buf);
  cw__ae_free(e->rec);
  e->rec = NULL;
}
