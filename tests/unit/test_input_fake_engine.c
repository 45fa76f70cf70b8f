/*
 * test_input_fake_engine: see test_input_fake_engine.h.
 */
#include <stdlib.h>
#include <string.h>

#include "test_input_fake_engine.h"

#define MAX_SYMS 4096
#define MAX_ACTORS 256
#define MAX_EVENTS 4096

struct cw_engine {
  char *syms[MAX_SYMS];
  size_t nsyms;
  cw_sym actor_name[MAX_ACTORS];
  cw_sym actor_svc[MAX_ACTORS];
  size_t nactors;
  fake_event *events;
  size_t nevents;
};

cw_engine *cw__engine_new(const cw_engine_config *cfg) {
  (void)cfg;
  cw_engine *e = calloc(1, sizeof *e);
  if (e)
    e->events = calloc(MAX_EVENTS, sizeof *e->events);
  return e;
}

void cw__engine_free(cw_engine *e) {
  if (!e)
    return;
  for (size_t i = 0; i < e->nsyms; i++)
    free(e->syms[i]);
  free(e->events);
  free(e);
}

cw_sym cw__engine_intern(cw_engine *e, const char *s, size_t len) {
  for (size_t i = 0; i < e->nsyms; i++)
    if (strlen(e->syms[i]) == len && memcmp(e->syms[i], s, len) == 0)
      return (cw_sym)(i + 1);
  if (e->nsyms == MAX_SYMS)
    abort();
  char *c = malloc(len + 1);
  if (!c)
    abort();
  memcpy(c, s, len);
  c[len] = '\0';
  e->syms[e->nsyms++] = c;
  return (cw_sym)e->nsyms;
}

const char *cw__engine_str(const cw_engine *e, cw_sym sym) {
  if (sym == 0 || sym > e->nsyms)
    return "";
  return e->syms[sym - 1];
}

cw_actor_id cw__engine_actor(cw_engine *e, cw_sym name, cw_sym service) {
  for (size_t i = 0; i < e->nactors; i++)
    if (e->actor_name[i] == name)
      return (cw_actor_id)(i + 1);
  if (e->nactors == MAX_ACTORS)
    abort();
  e->actor_name[e->nactors] = name;
  e->actor_svc[e->nactors] = service;
  return (cw_actor_id)++e->nactors;
}

cw_sym cw__engine_actor_name(const cw_engine *e, cw_actor_id a) {
  return a && a <= e->nactors ? e->actor_name[a - 1] : 0;
}

cw_sym cw__engine_actor_service(const cw_engine *e, cw_actor_id a) {
  return a && a <= e->nactors ? e->actor_svc[a - 1] : 0;
}

static void copy(char *dst, const char *src) {
  size_t n = strlen(src);
  if (n > 127)
    n = 127;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

int cw__engine_feed(cw_engine *e, const cw_aevent *ev) {
  if (e->nevents == MAX_EVENTS)
    return -1;
  fake_event *f = &e->events[e->nevents++];
  f->ev = *ev;
  copy(f->actor, cw__engine_str(e, cw__engine_actor_name(e, ev->actor)));
  copy(f->service, cw__engine_str(e, cw__engine_actor_service(e, ev->actor)));
  copy(f->child, cw__engine_str(e, cw__engine_actor_name(e, ev->child)));
  copy(f->object, cw__engine_str(e, ev->object));
  copy(f->loc, cw__engine_str(e, ev->loc));
  copy(f->detail, cw__engine_str(e, ev->detail));
  copy(f->val_str, cw__engine_str(e, ev->val_str));
  for (uint32_t i = 0; i < ev->njoins && i < 4; i++)
    f->joins[i] = ev->joins[i];
  f->ev.joins = NULL;
  return 0;
}

void cw__engine_flush(cw_engine *e) {
  (void)e;
}

size_t fake_events(cw_engine *e, const fake_event **out) {
  *out = e->events;
  return e->nevents;
}

size_t fake_actors(cw_engine *e) {
  return e->nactors;
}
