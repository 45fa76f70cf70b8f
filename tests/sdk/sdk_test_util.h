/*
 * sdk_test_util.h: helpers shared by the SDK's tests: a fresh trace path,
 * a session with test-friendly settings, replay of the trace, and a raw
 * (untraced) flag for sequencing threads without creating traced
 * happens-before edges.
 */
#ifndef SDK_TEST_UTIL_H
#define SDK_TEST_UTIL_H

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "causeway.h"
#include "cw_replay.h"

static inline void tu_clear_env(void) {
  unsetenv("CAUSEWAY_SERVICE");
  unsetenv("CAUSEWAY_TRACE_FILE");
  unsetenv("CAUSEWAY_TRACE_DIR");
  unsetenv("CAUSEWAY_ENDPOINT");
  unsetenv("CAUSEWAY_DISABLED");
}

/* A new, not yet existing, file path under the temp directory. */
static inline void tu_path(char *buf, size_t cap, const char *tag) {
  const char *dir = getenv("TMPDIR");
  snprintf(buf, cap, "%s/cw-sdk-%s-%ld-XXXXXX", dir && *dir ? dir : "/tmp", tag,
           (long)getpid());
  int fd = mkstemp(buf);
  if (fd >= 0) {
    close(fd);
    unlink(buf);
  }
}

/* The tests' configuration: service "sdktest", instance "inst", a trace
 * file at path, no variable from the environment. */
static inline void tu_config(cw_config *cfg, const char *path) {
  tu_clear_env();
  cw_config_init(cfg);
  cfg->service = "sdktest";
  cfg->instance = "inst";
  cfg->trace_file = path;
}

static inline cw_status tu_start(const char *path, uint32_t window,
                                 uint32_t buffer_bytes) {
  cw_config cfg;
  tu_config(&cfg, path);
  if (window)
    cfg.retire_window = window;
  if (buffer_bytes)
    cfg.buffer_bytes = buffer_bytes;
  return cw_init(&cfg);
}

/* Shuts down and replays path into rp. @return the decode status. */
static inline int tu_finish(const char *path, cw_replay *rp) {
  cw_shutdown();
  cw_decode_error err;
  int rc = cw__replay_file(path, rp, &err);
  if (rc != CW_DECODE_OK)
    fprintf(stderr, "replay %s: %s at %llu\n", path, err.msg,
            (unsigned long long)err.offset);
  unlink(path);
  return rc;
}

/* A raw flag: orders threads without any traced edge. */
typedef struct tu_flag {
  atomic_int v;
} tu_flag;

static inline void tu_set(tu_flag *f) {
  atomic_store(&f->v, 1);
}
static inline void tu_wait(tu_flag *f) {
  while (!atomic_load(&f->v))
    sched_yield();
}

/* Events recorded so far by the whole process. */
static inline uint64_t tu_events(void) {
  cw_stats st;
  cw_stats_get(&st);
  return st.events;
}

/* Waits until some thread records an event after `base` events: e.g. the
 * request of a thread that found a lock busy and is about to block. */
static inline void tu_wait_events(uint64_t base) {
  while (tu_events() <= base)
    sched_yield();
}

#endif /* SDK_TEST_UTIL_H */
