/*
 * engine_stub: a stand-in for server/analysis while the engine is not in the
 * tree. It counts events and finds nothing; the collector builds and its
 * plumbing tests run. Linked only when the cw_analysis target is missing.
 */
#include "cw_analysis.h"

#include <stdlib.h>
#include <string.h>

struct cw_engine {
  uint64_t events;
};

cw_engine *cw__engine_new(const cw_engine_config *cfg) {
  (void)cfg;
  return calloc(1, sizeof(cw_engine));
}

void cw__engine_free(cw_engine *e) {
  free(e);
}

cw_sym cw__engine_intern(cw_engine *e, const char *s, size_t len) {
  (void)e;
  (void)s;
  (void)len;
  return 1;
}

const char *cw__engine_str(const cw_engine *e, cw_sym sym) {
  (void)e;
  (void)sym;
  return "";
}

cw_actor_id cw__engine_actor(cw_engine *e, cw_sym name, cw_sym service) {
  (void)e;
  (void)name;
  (void)service;
  return 1;
}

cw_sym cw__engine_actor_name(const cw_engine *e, cw_actor_id a) {
  (void)e;
  (void)a;
  return 0;
}

cw_sym cw__engine_actor_service(const cw_engine *e, cw_actor_id a) {
  (void)e;
  (void)a;
  return 0;
}

int cw__engine_feed(cw_engine *e, const cw_aevent *ev) {
  if (ev->kind == CW_AE_GAP || ev->kind == CW_AE_RETIRE)
    return 0;
  e->events++;
  return 0;
}

void cw__engine_flush(cw_engine *e) {
  (void)e;
}

void cw__engine_summary(const cw_engine *e, cw_summary *out) {
  memset(out, 0, sizeof *out);
  out->events = e->events;
}

size_t cw__engine_races(const cw_engine *e, const cw_race_group **out) {
  (void)e;
  *out = NULL;
  return 0;
}

size_t cw__engine_potential_deadlocks(const cw_engine *e,
                                      const cw_deadlock **out) {
  (void)e;
  *out = NULL;
  return 0;
}

size_t cw__engine_deadlocks(const cw_engine *e, const cw_deadlock **out) {
  (void)e;
  *out = NULL;
  return 0;
}

size_t cw__engine_locks(const cw_engine *e, const cw_lock_stats **out) {
  (void)e;
  *out = NULL;
  return 0;
}
