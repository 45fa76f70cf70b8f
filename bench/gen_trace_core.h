/*
 * gen_trace_core.h: a deterministic generator of large synthetic traces for
 * the analysis benchmarks: worker threads forked (and periodically joined
 * and replaced) by T0, lock-protected read/write critical sections, nested
 * locks in a fixed order (with one inversion), read-only shared state, and
 * a small fraction of unprotected accesses that race.
 */
#ifndef CW_GEN_TRACE_CORE_H
#define CW_GEN_TRACE_CORE_H

#include <stdint.h>

enum { GT_R, GT_W, GT_ACQ, GT_REL, GT_REQ, GT_FORK, GT_JOIN };

typedef struct gt_event {
  int op;          /* GT_* */
  uint32_t thread; /* actor number: T<thread> */
  uint32_t obj;    /* variable v<obj> / lock L<obj> / thread T<obj> */
  uint32_t loc;    /* location number: f<loc/100>.c:<loc%100> */
  int racy_var;    /* variable is r<obj> (unprotected) rather than v<obj> */
  int ro_var;      /* variable is cfg<obj> (read-only) */
} gt_event;

typedef struct gt_config {
  uint64_t events;    /* total events to produce */
  uint32_t threads;   /* live worker threads (besides T0) */
  uint32_t vars;      /* lock-protected variables */
  uint32_t locks;     /* locks */
  uint32_t racy_vars; /* unprotected variables */
  uint64_t churn;     /* join + fork a worker every `churn` events (0: no) */
  uint64_t seed;
} gt_config;

#define GT_QUEUE 32

typedef struct gt_gen {
  gt_config cfg;
  uint64_t rng, produced, next_churn;
  uint32_t *live; /* live worker thread numbers */
  uint32_t next_thread;
  uint32_t forked; /* initial workers forked so far */
  int inverted;    /* the one lock-order inversion was emitted */
  gt_event q[GT_QUEUE];
  uint32_t qh, qn;
} gt_gen;

/* @return 0, or -1 on a bad config. */
int gt_init(gt_gen *g, const gt_config *cfg);
/* @return 1 and fills *ev, or 0 when cfg.events have been produced. */
int gt_next(gt_gen *g, gt_event *ev);
void gt_free(gt_gen *g);
/* Largest thread number the generator can produce, plus one. */
uint32_t gt_max_threads(const gt_config *cfg);

#endif
