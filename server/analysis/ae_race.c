/*
 * ae_race.c: race detection, race groups and per-variable audit trails.
 *
 * DESIGN. For every variable the engine keeps, per actor, the last access
 * of each (location, kind), kind being read/write x plain/atomic, plus the
 * counters of the actor's last write and last access. A new access n by
 * actor a is compared with every stored entry s of every other actor b:
 * they race iff at least one is a write, not both are atomic, and s does
 * not happen before n, i.e. s.counter > C_n[b]. (n cannot happen before s:
 * events are processed in an order that extends happens-before.) The
 * per-actor counters give a first fast path: when the last access of b that
 * could conflict is already ordered before n, none of b's entries is looked
 * at. The second, FastTrack-like, is the variable's clean point: the last
 * access that happened after every stored access. When the clean point
 * happens before n, so does everything stored before it, and only the few
 * accesses stored since (at most AE_SINCE_MAX, else the variable falls
 * back to full scans until an access is ordered after all) are compared.
 * A variable always accessed under its lock is thus checked in O(1).
 *
 * Near-linear cost. An actor's record keeps its entries in a list sorted
 * by counter (each actor's events arrive in program order, and an entry
 * replaced for its key moves to the newest end), with a hash index on
 * (location, kind) past AE_LINEAR_MAX entries. Entries with counter <=
 * C_n[b] happen before n, so a scan from the newest end stops at the first
 * of them: it visits exactly the entries that are not ordered before n,
 * and every one of them whose kind conflicts is a racing pair that must be
 * counted. A variable's records are found by actor through the engine's
 * recmap past AE_REC_LINEAR records, reads on the full path visit only the
 * records holding a write (v->wr), and retired actors' records are swept
 * in batches (amortized O(1) each). Per access the cost is thus O(1) plus
 * the records visited on the full path plus the entries that race.
 *
 * Why the last entry per (actor, location, kind) is enough for exact
 * location-pair counts. Let s' and s be accesses of actor b at the same
 * location and of the same kind, s' before s in program order, so
 * s'.counter < s.counter. Any later access n that races with s' satisfies
 * s'.counter > C_n[b] (s' not before n), hence s.counter > C_n[b] as well;
 * s conflicts with n exactly when s' does (same kind), and n is not before
 * s (processing order). So s races with n, and the pair (s, n) has the same
 * location pair {loc, n.loc} as (s', n). Replacing s' by s therefore never
 * loses a location pair nor a racy variable. The converse is trivial: every
 * reported pair is a racing pair. Kinds must be kept apart because a later
 * atomic write does not stand for an earlier plain one (atomics never race
 * with atomics), nor a later read for an earlier write. `count` of a group
 * counts the racing pairs (s, n) with s the last entry of its key when n
 * arrives; see docs/detection.md.
 */
#include "ae_internal.h"

#include <string.h>

static cw_access make_access(const cw_engine *e, uint32_t actor,
                             const ae_entry *s) {
  cw_access x;
  memset(&x, 0, sizeof(x));
  x.actor = actor;
  x.loc = s->loc;
  x.is_write = s->kind & 1;
  x.is_atomic = (s->kind >> 1) & 1;
  x.val_flags = s->val_flags;
  x.val_int = s->val_int;
  x.val_str = s->val_str;
  x.locks = e->lsets[s->lockset].syms;
  x.nlocks = e->lsets[s->lockset].n;
  x.seq = s->seq;
  x.counter = s->counter;
  return x;
}

/* Gives x (a race group's side) its own copy of the access's whole clock:
 * the snapshot taken at its actor's last join, with the access's counter
 * as the actor's own entry. */
static void access_clock(cw_access *x, const ae_entry *s) {
  const ae_snap *sn = s->snap;
  uint32_t n = sn ? sn->n : 0, k = 0;
  int own = 0;
  cw_ae_join *c = cw__ae_alloc(((size_t)n + 1) * sizeof(*c));
  for (uint32_t i = 0; i < n; i++) {
    uint32_t who = sn->e[i].actor;
    if (!own && who > x->actor) {
      c[k].actor = x->actor;
      c[k++].counter = s->counter;
      own = 1;
    }
    c[k].actor = who;
    c[k++].counter = who == x->actor ? s->counter : sn->e[i].c;
    own |= who == x->actor;
  }
  if (!own) {
    c[k].actor = x->actor;
    c[k++].counter = s->counter;
  }
  x->clock = c;
  x->nclock = k;
}

void cw__race_clock_changed(ae_actor *a) {
  a->snap_stale = 1;
}

void cw__race_actor_free(ae_actor *a) {
  cw__snap_unref(a->snap);
  a->snap = NULL;
}

/* @return 1 when clock c equals snapshot s but for actor aid's own entry
 * (which every access overrides with its counter). */
static int snap_same(const ae_snap *s, const ae_vc *c, uint32_t aid) {
  if (s->n != c->n)
    return 0;
  for (uint32_t i = 0; i < s->n; i++)
    if (s->e[i].actor != c->e[i].actor ||
        (s->e[i].c != c->e[i].c && s->e[i].actor != aid))
      return 0;
  return 1;
}

/* Marks as racy every audit record of s's key whose counter exceeds thr
 * (all of them race with the new access; see the proof above). */
static void audit_mark(ae_var *v, uint32_t rec, uint64_t thr) {
  while (rec) {
    cw_audit_entry *r = &v->aud[rec - 1];
    ae_audx *x = &v->audx[rec - 1];
    if (r->counter <= thr || x->thr <= thr)
      break;
    x->thr = thr;
    r->racy = 1;
    rec = x->prev;
  }
}

static void report(cw_engine *e, ae_var *v, uint32_t b, const ae_entry *s,
                   const ae_entry *n, uint32_t aid) {
  if (!v->racy) {
    v->racy = 1;
    e->sum.racy_variables++;
  }
  cw_sym lo = s->loc < n->loc ? s->loc : n->loc;
  cw_sym hi = s->loc < n->loc ? n->loc : s->loc;
  uint64_t lp = ((uint64_t)lo << 32) | hi;
  if (cw__map_put(&e->locpairs, lp, 0, 0, NULL))
    e->sum.racy_location_pairs++;
  uint32_t gi;
  if (cw__map_put(&e->groupmap, v->sym, lp, e->ngroups, &gi)) {
    AE_RESERVE(e->groups, e->capgroups, e->ngroups + 1u);
    cw_race_group *g = &e->groups[e->ngroups++];
    memset(g, 0, sizeof(*g));
    g->var = v->sym;
    const char *sl = cw__engine_str(e, s->loc), *nl = cw__engine_str(e, n->loc);
    int s_first = strcmp(sl, nl) <= 0;
    g->loc1 = s_first ? s->loc : n->loc;
    g->loc2 = s_first ? n->loc : s->loc;
    g->severity = CW_SEV_WARNING;
    g->first = make_access(e, b, s);
    g->second = make_access(e, aid, n);
    if (e->cfg.race_clocks) {
      access_clock(&g->first, s);
      access_clock(&g->second, n);
    }
  }
  cw_race_group *g = &e->groups[gi];
  g->count++;
  if ((s->kind & 1) && (n->kind & 1))
    g->severity = CW_SEV_ERROR;
}

/* Reports (s, n) when they race; s does not happen before n (known is
 * C_n[s's actor] and s.counter > known). @return 1 when they race. */
static int check_pair(cw_engine *e, ae_var *v, uint32_t b, const ae_entry *s,
                      const ae_entry *n, uint32_t aid, uint64_t known) {
  if (s->counter <= known || !((s->kind | n->kind) & 1) ||
      ((s->kind & n->kind) & 2))
    return 0;
  report(e, v, b, s, n, aid);
  if (e->cfg.keep_events) {
    v->aud[n->audit - 1].racy = 1;
    audit_mark(v, s->audit, known);
  }
  if (e->on_race) {
    cw_race_pair p = {.var = v->sym,
                      .first_actor = b,
                      .first_loc = s->loc,
                      .first_kind = s->kind,
                      .first_seq = s->seq,
                      .first_counter = s->counter,
                      .known = known,
                      .second_actor = aid,
                      .second_loc = n->loc,
                      .second_kind = n->kind,
                      .second_seq = n->seq,
                      .second_counter = n->counter};
    e->on_race(e->on_race_ud, &p);
  }
  return 1;
}

/* ---- Per-record entry index ------------------------------------------- */

static uint32_t key_hash(cw_sym loc, uint8_t kind) {
  uint64_t h = ((uint64_t)loc << 2 | kind) * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(h >> 32);
}

static void hidx_insert(ae_vrec *r, uint32_t slot) {
  uint32_t mask = r->hcap - 1;
  uint32_t i = key_hash(r->e[slot].loc, r->e[slot].kind) & mask;
  while (r->hidx[i])
    i = (i + 1) & mask;
  r->hidx[i] = slot + 1;
}

/* (Re)builds the index with room for twice the entries. */
static void hidx_build(ae_vrec *r) {
  uint32_t cap = 16;
  while (cap < r->n * 2u + 2u)
    cap *= 2;
  cw__ae_free(r->hidx);
  r->hidx = cw__ae_calloc(cap, sizeof(*r->hidx));
  r->hcap = cap;
  for (uint32_t k = 0; k < r->n; k++)
    hidx_insert(r, k);
}

/* @return the slot of (loc, kind) in r, or AE_NIL. */
static uint32_t find_entry(const ae_vrec *r, cw_sym loc, uint8_t kind) {
  if (!r->hidx) {
    for (uint32_t k = 0; k < r->n; k++)
      if (r->e[k].loc == loc && r->e[k].kind == kind)
        return k;
    return AE_NIL;
  }
  uint32_t mask = r->hcap - 1;
  for (uint32_t i = key_hash(loc, kind) & mask; r->hidx[i];
       i = (i + 1) & mask) {
    const ae_entry *x = &r->e[r->hidx[i] - 1];
    if (x->loc == loc && x->kind == kind)
      return r->hidx[i] - 1;
  }
  return AE_NIL;
}

static void unlink_entry(ae_vrec *r, uint32_t k) {
  ae_entry *x = &r->e[k];
  if (x->prev != AE_NIL)
    r->e[x->prev].next = x->next;
  else
    r->head = x->next;
  if (x->next != AE_NIL)
    r->e[x->next].prev = x->prev;
  else
    r->tail = x->prev;
}

static void append_entry(ae_vrec *r, uint32_t k) {
  r->e[k].prev = r->tail;
  r->e[k].next = AE_NIL;
  if (r->tail != AE_NIL)
    r->e[r->tail].next = k;
  else
    r->head = k;
  r->tail = k;
}

/* ---- Per-variable record index ----------------------------------------- */

static uint64_t rec_key(const cw_engine *e, const ae_var *v) {
  return (uint64_t)(v - e->vars);
}

/* @return the record index of actor aid in v, or UINT32_MAX. */
static uint32_t find_rec(const cw_engine *e, const ae_var *v, uint32_t aid) {
  if (!v->indexed) {
    for (uint32_t i = 0; i < v->n; i++)
      if (v->r[i].actor == aid)
        return i;
    return UINT32_MAX;
  }
  const uint32_t *p = cw__map_get(&e->recmap, rec_key(e, v), aid);
  return p ? *p - 1 : UINT32_MAX;
}

/* Forgets the records of retired actors (stable compaction; the indices
 * kept in since[] and in the record map follow). */
static void sweep(cw_engine *e, ae_var *v) {
  uint32_t k = 0, ns = 0;
  uint64_t vk = rec_key(e, v);
  for (uint32_t i = 0; i < v->n; i++) {
    ae_vrec *r = &v->r[i];
    if (e->dead[r->actor]) {
      for (uint32_t j = 0; j < r->n; j++)
        cw__snap_unref(r->e[j].snap);
      cw__ae_free(r->e);
      cw__ae_free(r->hidx);
      if (v->indexed)
        cw__map_del(&e->recmap, vk, r->actor);
      for (uint32_t j = 0; j < v->nsince; j++)
        if (v->since[j].ri == i)
          v->since[j].ri = UINT32_MAX;
      continue;
    }
    if (k != i) {
      for (uint32_t j = 0; j < v->nsince; j++)
        if (v->since[j].ri == i)
          v->since[j].ri = k;
      v->r[k] = *r;
      if (v->indexed)
        *cw__map_get(&e->recmap, vk, r->actor) = k + 1;
    }
    k++;
  }
  v->n = k;
  v->nwr = 0;
  for (uint32_t i = 0; i < v->n; i++)
    if (v->r[i].last_w)
      v->wr[v->nwr++] = i;
  for (uint32_t j = 0; j < v->nsince; j++)
    if (v->since[j].ri != UINT32_MAX)
      v->since[ns++] = v->since[j];
  v->nsince = (uint8_t)ns;
  v->swept_ret = e->sum.retired_actors;
  v->sweep_at = v->n * 2u > 16u ? v->n * 2u : 16u;
}

/* Compares n with the entries of r that do not happen before it: the
 * newest ones, down to the first whose counter is <= C_n[r's actor]. */
static int check_rec(cw_engine *e, ae_var *v, const ae_vrec *r,
                     const ae_entry *n, uint32_t aid, uint64_t known) {
  int hit = 0;
  for (uint32_t k = r->tail; k != AE_NIL && r->e[k].counter > known;
       k = r->e[k].prev)
    hit |= check_pair(e, v, r->actor, &r->e[k], n, aid, known);
  return hit;
}

void cw__race_access(cw_engine *e, uint32_t aid, const cw_aevent *ev) {
  uint32_t vi = cw__engine_var(e, ev->object);
  ae_var *v = &e->vars[vi];
  ae_actor *a = &e->actors[aid];
  int is_w = ev->kind == CW_AE_WRITE;
  int atomic = (ev->flags & CW_AEF_ATOMIC) != 0;
  ae_entry n;
  n.loc = ev->loc;
  n.kind = (uint8_t)(is_w | (atomic << 1));
  n.val_flags = (uint8_t)(ev->flags & (CW_AEF_VAL_INT | CW_AEF_VAL_STR));
  n.lockset = cw__actor_lockset(e, a);
  n.counter = a->counter;
  n.seq = ev->seq;
  n.val_int = ev->val_int;
  n.val_str = ev->val_str;
  n.audit = 0;
  n.prev = n.next = AE_NIL;
  /* The clock as of the actor's last join, shared by its accesses until
   * the next one (a race group may need it: access_clock). */
  if (!e->cfg.race_clocks) {
    n.snap = NULL;
  } else if (a->snap_stale || !a->snap) {
    /* A join that brought nothing new (a lock this actor released last)
     * keeps the snapshot. */
    if (!a->snap || !snap_same(a->snap, &a->c, aid)) {
      cw__snap_unref(a->snap);
      a->snap = cw__snap_of(&a->c);
    }
    a->snap_stale = 0;
  }
  if (e->cfg.race_clocks) {
    n.snap = a->snap;
    n.snap->refs++;
  }
  int keep = e->cfg.keep_events != 0;
  if (keep) {
    AE_RESERVE(v->aud, v->capaud, v->naud + 1u);
    v->audx = cw__ae_realloc(v->audx, v->capaud * sizeof(*v->audx));
    cw_audit_entry *r = &v->aud[v->naud];
    memset(r, 0, sizeof(*r));
    r->actor = aid;
    r->loc = n.loc;
    r->is_write = is_w;
    r->is_atomic = atomic;
    r->val_flags = n.val_flags;
    r->val_int = n.val_int;
    r->val_str = n.val_str;
    r->locks = e->lsets[n.lockset].syms;
    r->nlocks = e->lsets[n.lockset].n;
    r->seq = n.seq;
    r->counter = n.counter;
    v->audx[v->naud].prev = 0;
    v->audx[v->naud].thr = UINT64_MAX;
    n.audit = ++v->naud;
  }
  int retired = v->swept_ret != e->sum.retired_actors;
  int ordered = 1; /* every stored access happens before n */
  int hit = 0;     /* n races with an earlier access */
  if (is_w)
    v->writes++;
  else
    v->reads++;
  if (v->clean && v->clean_counter <= cw__vc_get(&a->c, v->clean_actor)) {
    /* Fast path: only accesses stored since the clean point can race. */
    for (uint32_t i = 0; i < v->nsince; i++) {
      const ae_vrec *r = &v->r[v->since[i].ri];
      if (r->actor == aid || e->dead[r->actor])
        continue;
      const ae_entry *s = &r->e[v->since[i].ei];
      uint64_t known = cw__vc_get(&a->c, r->actor);
      if (s->counter <= known)
        continue;
      ordered = 0;
      hit |= check_pair(e, v, r->actor, s, &n, aid, known);
    }
    /* Retired actors' records go before a new one is added to a small
     * variable, else when the record count has doubled since the last
     * sweep (amortized O(1) per record; memory bounded by twice the live
     * records). */
    if (retired && (v->n >= v->sweep_at || (v->n <= AE_REC_LINEAR &&
                                            find_rec(e, v, aid) == UINT32_MAX)))
      sweep(e, v);
  } else {
    if (retired)
      sweep(e, v); /* retired: forget their accesses (can only remove
                    * races) */
    /* A read can only race with writes: it visits the records holding
     * one (and then cannot tell whether the others are before it). */
    uint32_t nvis = is_w ? v->n : v->nwr;
    if (nvis < v->n)
      ordered = 0;
    for (uint32_t x = 0; x < nvis; x++) {
      const ae_vrec *r = &v->r[is_w ? x : v->wr[x]];
      if (r->actor == aid)
        continue;
      uint64_t known = cw__vc_get(&a->c, r->actor);
      if (r->last_any > known) {
        ordered = 0;
        uint64_t top = is_w ? r->last_any : r->last_w;
        if (top > known)
          hit |= check_rec(e, v, r, &n, aid, known);
      }
    }
  }
  v->racing += hit != 0;
  /* Store n as the last access of its (actor, location, kind). */
  uint32_t mine = find_rec(e, v, aid);
  if (mine == UINT32_MAX) {
    AE_RESERVE(v->r, v->cap, v->n + 1u);
    mine = v->n++;
    memset(&v->r[mine], 0, sizeof(v->r[mine]));
    v->r[mine].actor = aid;
    v->r[mine].head = v->r[mine].tail = AE_NIL;
    if (v->indexed) {
      cw__map_put(&e->recmap, rec_key(e, v), aid, mine, NULL);
    } else if (v->n > AE_REC_LINEAR) {
      v->indexed = 1;
      for (uint32_t i = 0; i < v->n; i++)
        cw__map_put(&e->recmap, rec_key(e, v), v->r[i].actor, i, NULL);
    }
  }
  ae_vrec *r = &v->r[mine];
  r->last_any = n.counter;
  if (is_w && !r->last_w) {
    /* First write of this record (counters start at 1). */
    AE_RESERVE(v->wr, v->capwr, v->nwr + 1u);
    v->wr[v->nwr++] = mine;
  }
  if (is_w)
    r->last_w = n.counter;
  uint32_t k = find_entry(r, n.loc, n.kind);
  if (k != AE_NIL) {
    if (keep)
      v->audx[n.audit - 1].prev = r->e[k].audit;
    unlink_entry(r, k);
    cw__snap_unref(r->e[k].snap);
    r->e[k] = n;
  } else {
    AE_RESERVE(r->e, r->cap, r->n + 1u);
    k = r->n++;
    r->e[k] = n;
    if (r->hidx && r->n * 2u > r->hcap)
      hidx_build(r);
    else if (r->hidx)
      hidx_insert(r, k);
    else if (r->n > AE_LINEAR_MAX)
      hidx_build(r);
  }
  append_entry(r, k);
  /* Maintain the clean point: n is one when everything stored is before
   * it; otherwise n joins the accesses stored since the clean point. */
  if (ordered) {
    v->clean = 1;
    v->clean_actor = aid;
    v->clean_counter = n.counter;
    v->nsince = 0;
  } else if (v->clean) {
    uint32_t i = 0;
    while (i < v->nsince && !(v->since[i].ri == mine && v->since[i].ei == k))
      i++;
    if (i == v->nsince) {
      if (v->nsince == AE_SINCE_MAX) {
        v->clean = 0; /* too many concurrent accesses: full scans */
        v->nsince = 0;
      } else {
        v->since[v->nsince].ri = mine;
        v->since[v->nsince++].ei = k;
      }
    }
  }
}

size_t cw__engine_audit(const cw_engine *e, cw_sym var,
                        const cw_audit_entry **out) {
  *out = NULL;
  if (!e || var == 0 || var >= e->nsyms || var >= e->capof || !e->var_of[var])
    return 0;
  const ae_var *v = &e->vars[e->var_of[var]];
  *out = v->aud;
  return v->naud;
}

int cw__engine_var_counts(const cw_engine *e, cw_sym var, cw_var_counts *out) {
  memset(out, 0, sizeof(*out));
  if (!e || var == 0 || var >= e->nsyms || var >= e->capof || !e->var_of[var])
    return -1;
  const ae_var *v = &e->vars[e->var_of[var]];
  out->reads = v->reads;
  out->writes = v->writes;
  out->racing = v->racing;
  return 0;
}

void cw__engine_on_race(cw_engine *e, cw_race_fn fn, void *ud) {
  e->on_race = fn;
  e->on_race_ud = ud;
}

void cw__race_free(cw_engine *e) {
  for (uint32_t i = 1; i < e->nvars; i++) {
    ae_var *v = &e->vars[i];
    for (uint32_t k = 0; k < v->n; k++) {
      for (uint32_t j = 0; j < v->r[k].n; j++)
        cw__snap_unref(v->r[k].e[j].snap);
      cw__ae_free(v->r[k].e);
      cw__ae_free(v->r[k].hidx);
    }
    cw__ae_free(v->r);
    cw__ae_free(v->wr);
    cw__ae_free(v->aud);
    cw__ae_free(v->audx);
  }
  cw__ae_free(e->vars);
  cw__ae_free(e->var_syms);
  for (uint32_t i = 0; i < e->ngroups; i++) {
    cw__ae_free((void *)e->groups[i].first.clock);
    cw__ae_free((void *)e->groups[i].second.clock);
  }
  cw__ae_free(e->groups);
  cw__map_free(&e->groupmap);
  cw__map_free(&e->locpairs);
  cw__map_free(&e->recmap);
}
