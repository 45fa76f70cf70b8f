/*
 * traces: bounded trace index (see traces.h).
 *
 * DESIGN. Trace slots live in a fixed ring of CW_TRACES_MAX entries in
 * creation order; a new trace takes the next slot and evicts the trace
 * that held it, and the oldest traces are also evicted while the events
 * kept over all traces exceed CW_TRACES_MAX_EVENTS. A chained hash table
 * (heads array + per-slot `next`) maps trace ids to slots. Each trace keeps
 * at most CW_TRACE_MAX_EVENTS compact events (later ones are only counted).
 */
#define _POSIX_C_SOURCE 200809L
#include "traces.h"
#include "cw_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 8192

struct cw_traces {
  cw_trace slots[CW_TRACES_MAX];
  int32_t heads[NBUCKETS];
  uint64_t created;     /* traces created so far */
  uint64_t oldest;      /* creation number of the oldest live trace */
  uint64_t kept_events; /* over all traces */
  cw_call_edge calls[CW_CALLS_MAX];
  size_t ncalls;
};

static uint32_t bucket(const uint8_t id[16]) {
  uint64_t a, b;
  memcpy(&a, id, 8);
  memcpy(&b, id + 8, 8);
  return (uint32_t)((a * 0x9E3779B97F4A7C15ull ^ b) >> 40) % NBUCKETS;
}

cw_traces *cw__traces_new(void) {
  cw_traces *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  for (int i = 0; i < NBUCKETS; i++)
    t->heads[i] = -1;
  return t;
}

void cw__traces_free(cw_traces *t) {
  if (!t)
    return;
  for (int i = 0; i < CW_TRACES_MAX; i++)
    free(t->slots[i].ev);
  free(t);
}

static void evict(cw_traces *t, int32_t slot) {
  cw_trace *tr = &t->slots[slot];
  if (!tr->used)
    return;
  int32_t *pp = &t->heads[bucket(tr->id)];
  while (*pp >= 0 && *pp != slot)
    pp = &t->slots[*pp].next;
  if (*pp == slot)
    *pp = tr->next;
  t->kept_events -= tr->n;
  free(tr->ev);
  memset(tr, 0, sizeof *tr);
}

static int32_t find(const cw_traces *t, const uint8_t id[16]) {
  for (int32_t i = t->heads[bucket(id)]; i >= 0; i = t->slots[i].next)
    if (!memcmp(t->slots[i].id, id, 16))
      return i;
  return -1;
}

static void evict_oldest(cw_traces *t) {
  while (t->oldest < t->created) {
    int32_t s = (int32_t)(t->oldest % CW_TRACES_MAX);
    t->oldest++;
    if (t->slots[s].used) {
      evict(t, s);
      return;
    }
  }
}

#define CALL_COUNTED 0x8000u /* http_recv whose call was counted */

static int span_is(const uint8_t a[8], const uint8_t b[8]) {
  static const uint8_t zero[8];
  return memcmp(a, zero, 8) != 0 && memcmp(a, b, 8) == 0;
}

/* Counts the call an http_recv event answers: the caller's http_send event
 * carries the span the callee names as its parent. Either may come first. */
static void match_call(cw_traces *t, cw_trace *tr, cw_trace_event *ev) {
  if (ev->kind == CW_EV_HTTP_RECV) {
    for (uint32_t i = 0; i < tr->n; i++) {
      const cw_trace_event *s = &tr->ev[i];
      if (s->kind == CW_EV_HTTP_SEND && s->service != ev->service &&
          span_is(s->span_id, ev->parent_span_id)) {
        cw__traces_call(t, s->service, ev->service);
        ev->flags |= CALL_COUNTED;
        return;
      }
    }
  } else if (ev->kind == CW_EV_HTTP_SEND) {
    for (uint32_t i = 0; i < tr->n; i++) {
      cw_trace_event *r = &tr->ev[i];
      if (r->kind == CW_EV_HTTP_RECV && !(r->flags & CALL_COUNTED) &&
          r->service != ev->service &&
          span_is(ev->span_id, r->parent_span_id)) {
        cw__traces_call(t, ev->service, r->service);
        r->flags |= CALL_COUNTED;
      }
    }
  }
}

void cw__traces_add(cw_traces *t, const uint8_t id[16], cw_sym service,
                    const cw_trace_event *ev) {
  static const uint8_t zero[16];
  if (!memcmp(id, zero, 16))
    return;
  int32_t s = find(t, id);
  if (s < 0) {
    s = (int32_t)(t->created % CW_TRACES_MAX);
    evict(t, s);
    if (t->oldest + CW_TRACES_MAX <= t->created)
      t->oldest = t->created - CW_TRACES_MAX + 1;
    cw_trace *tr = &t->slots[s];
    memcpy(tr->id, id, 16);
    tr->created = t->created++;
    tr->used = 1;
    tr->first_ns = tr->last_ns = ev->wall_ns;
    uint32_t b = bucket(id);
    tr->next = t->heads[b];
    t->heads[b] = s;
  }
  cw_trace *tr = &t->slots[s];
  tr->nevents++;
  if (ev->wall_ns && (ev->wall_ns < tr->first_ns || !tr->first_ns))
    tr->first_ns = ev->wall_ns;
  int64_t end = ev->wall_ns + (int64_t)ev->duration_ns;
  if (end > tr->last_ns)
    tr->last_ns = end;
  uint32_t i;
  for (i = 0; i < tr->nservices && tr->services[i] != service; i++)
    ;
  if (i == tr->nservices && i < CW_TRACE_MAX_SERVICES)
    tr->services[tr->nservices++] = service;
  for (i = 0; i < tr->nactors && tr->actors[i] != ev->actor; i++)
    ;
  if (i == tr->nactors && i < CW_TRACE_MAX_ACTORS)
    tr->actors[tr->nactors++] = ev->actor;
  if (tr->n >= CW_TRACE_MAX_EVENTS)
    return;
  if (tr->n == tr->cap) {
    uint32_t nc = tr->cap ? tr->cap * 2 : 16;
    if (nc > CW_TRACE_MAX_EVENTS)
      nc = CW_TRACE_MAX_EVENTS;
    cw_trace_event *ne = realloc(tr->ev, nc * sizeof *ne);
    if (!ne)
      return;
    tr->ev = ne;
    tr->cap = nc;
  }
  tr->ev[tr->n] = *ev;
  match_call(t, tr, &tr->ev[tr->n]);
  tr->n++;
  t->kept_events++;
  while (t->kept_events > CW_TRACES_MAX_EVENTS && t->oldest < t->created) {
    if ((int32_t)(t->oldest % CW_TRACES_MAX) == s)
      break; /* never evict the trace being added to */
    evict_oldest(t);
  }
}

void cw__traces_call(cw_traces *t, cw_sym from, cw_sym to) {
  for (size_t i = 0; i < t->ncalls; i++)
    if (t->calls[i].from == from && t->calls[i].to == to) {
      t->calls[i].count++;
      return;
    }
  if (t->ncalls < CW_CALLS_MAX)
    t->calls[t->ncalls++] = (cw_call_edge){from, to, 1};
}

size_t cw__traces_list(const cw_traces *t, size_t offset, size_t cap,
                       const cw_trace **out, size_t *nout) {
  size_t total = 0, k = 0;
  for (uint64_t c = t->created; c > t->oldest; c--) {
    const cw_trace *tr = &t->slots[(c - 1) % CW_TRACES_MAX];
    if (!tr->used || tr->created != c - 1)
      continue;
    if (total >= offset && k < cap)
      out[k++] = tr;
    total++;
  }
  *nout = k;
  return total;
}

const cw_trace *cw__traces_get(const cw_traces *t, const uint8_t id[16]) {
  int32_t s = find(t, id);
  return s < 0 ? NULL : &t->slots[s];
}

size_t cw__traces_calls(const cw_traces *t, const cw_call_edge **out) {
  *out = t->calls;
  return t->ncalls;
}

int cw__hex_to_id(const char *hex, uint8_t id[16]) {
  if (strlen(hex) != 32)
    return -1;
  for (int i = 0; i < 16; i++) {
    int v = 0;
    for (int k = 0; k < 2; k++) {
      char c = hex[i * 2 + k];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0)
        return -1;
      v = v * 16 + d;
    }
    id[i] = (uint8_t)v;
  }
  return 0;
}

void cw__id_to_hex(const uint8_t id[16], char hex[33]) {
  for (int i = 0; i < 16; i++)
    snprintf(hex + i * 2, 3, "%02x", id[i]);
}
