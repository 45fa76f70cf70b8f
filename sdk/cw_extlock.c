/*
 * cw_extlock.c: external locks, owned by the calling actor but held outside
 * the process (a lock service, a database advisory lock, a Redis lock).
 *
 * DESIGN. An external lock has no address and no clock in this process:
 * another process may hold it. Its events are ordinary lock events
 * (request, acquired, release) plus lock_timeout, named "ext:<name>". The
 * analysis treats every "ext:" name as one lock shared by all processes
 * (like the database's "db:" row locks): it derives the release -> later
 * acquire edges from the merged event order, and the lock takes part in the
 * lock-order graph and the wait-for graph like a mutex. A request is always
 * recorded (the SDK cannot tell whether the lock is free), so the analysis
 * sees the actor waiting until its acquired or timeout event.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "cw_format.h"
#include "cw_internal.h"

#define EXT_PREFIX "ext:"
#define EXT_PREFIX_LEN 4

static int ext_event(uint16_t kind, const char *name, const cw_loc *loc) {
  size_t n = name ? strnlen(name, CW_KEY_MAX + 1) : 0;
  if (n == 0 || n > CW_KEY_MAX - EXT_PREFIX_LEN)
    return CW_EINVAL;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  char obj[CW_KEY_MAX + 1];
  memcpy(obj, EXT_PREFIX, EXT_PREFIX_LEN);
  memcpy(obj + EXT_PREFIX_LEN, name, n);
  cw_evargs ev = {
      .kind = kind, .obj = obj, .obj_len = EXT_PREFIX_LEN + n, .loc = *loc};
  cw__record(ts, &ev);
  cw__leave(ts);
  return CW_OK;
}

#define CW_LOC_ARGS const char *file, const char *func, uint32_t line

int cw_extlock_request_src(const char *name, CW_LOC_ARGS) {
  cw_loc loc = {file, func, line};
  return ext_event(CW_EV_LOCK_REQUEST, name, &loc);
}
int cw_extlock_acquired_src(const char *name, CW_LOC_ARGS) {
  cw_loc loc = {file, func, line};
  return ext_event(CW_EV_LOCK_ACQUIRED, name, &loc);
}
int cw_extlock_released_src(const char *name, CW_LOC_ARGS) {
  cw_loc loc = {file, func, line};
  return ext_event(CW_EV_LOCK_RELEASE, name, &loc);
}
int cw_extlock_timeout_src(const char *name, CW_LOC_ARGS) {
  cw_loc loc = {file, func, line};
  return ext_event(CW_EV_LOCK_TIMEOUT, name, &loc);
}

int(cw_extlock_request)(const char *name) {
  return cw_extlock_request_src(name, NULL, NULL, 0);
}
int(cw_extlock_acquired)(const char *name) {
  return cw_extlock_acquired_src(name, NULL, NULL, 0);
}
int(cw_extlock_released)(const char *name) {
  return cw_extlock_released_src(name, NULL, NULL, 0);
}
int(cw_extlock_timeout)(const char *name) {
  return cw_extlock_timeout_src(name, NULL, NULL, 0);
}
