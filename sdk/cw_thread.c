/*
 * cw_thread.c: cw_thread_create / cw_thread_join, the fork and join edges.
 *
 * DESIGN. The parent allocates the child's actor slot and records a fork
 * event naming it, then hands the child a copy of its clock (including the
 * fork event) through a cw_child record; the child registers with that
 * clock, so its first event carries it in full. When the child's function
 * returns (or the thread exits), the child records its end and stores its
 * final clock in the record; cw_thread_join() joins that clock into the
 * caller after pthread_join() returns. The record is reference-counted
 * between the child and the joiner (or shutdown).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cw_format.h"
#include "cw_internal.h"

typedef struct cw_child {
  struct cw_child *next;
  cw_aint refs;
  cw_sess *sess;
  pthread_t tid;
  void *(*fn)(void *);
  void *arg;
  cw_actor spawn; /* slot, parent and starting clock */
  uint64_t seq0;  /* the fork event's sequence number */
  int done;       /* final clock valid (written by the child) */
  cw_vc final;
  uint64_t seq_end; /* the child's last sequence number */
} cw_child;

static void child_unref(cw_child *c) {
  if (atomic_fetch_sub(&c->refs, 1) == 1) {
    cw__vc_free(&c->spawn.vc);
    cw__vc_free(&c->final);
    cw__free(c);
  }
}

void cw__child_finish(cw_tstate *ts) {
  cw_child *c = ts->child;
  ts->child = NULL;
  while (ts->ntasks > 0) {
    cw__actor_end(ts, ts->cur, CW_EV_TASK_END);
    ts->ntasks--;
    ts->cur = ts->ntasks ? &ts->tasks[ts->ntasks - 1] : &ts->thr;
  }
  cw__actor_end(ts, &ts->thr, CW_EV_THREAD_END);
  uint32_t n = cw__actor_full(ts, &ts->thr);
  c->seq_end = ts->seq;
  if (n && cw__vc_copy(&c->final, ts->delta, n, UINT32_MAX, NULL) == 0)
    c->done = 1;
  child_unref(c);
}

static void *trampoline(void *p) {
  cw_child *c = p;
  void *(*fn)(void *) = c->fn;
  void *arg = c->arg;
  cw_sess *s = atomic_load_explicit(&cw__cur, memory_order_acquire);
  int handed = 0;
  if (s && s == c->sess && !cw__tls) {
    cw_tstate *ts = cw__register(s, &c->spawn);
    if (ts) {
      ts->child = c;
      cw__seq_join(ts, c->seq0);
      handed = 1;
    }
  }
  if (!handed)
    child_unref(c);
  void *ret = fn(arg);
  cw_tstate *ts = cw__tls;
  s = atomic_load_explicit(&cw__cur, memory_order_acquire);
  if (handed && ts && s && ts->sess == s && ts->child == c && !ts->busy) {
    ts->busy = 1;
    cw__child_finish(ts);
    ts->busy = 0;
  }
  return ret;
}

int cw_thread_create_at(pthread_t *thread, const pthread_attr_t *attr,
                        void *(*fn)(void *), void *arg, cw_loc loc) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return pthread_create(thread, attr, fn, arg);
  cw_sess *s = ts->sess;
  int detached = 0;
  if (attr) {
    int ds = PTHREAD_CREATE_JOINABLE;
    if (pthread_attr_getdetachstate(attr, &ds) == 0)
      detached = ds == PTHREAD_CREATE_DETACHED;
  }
  cw_child *c = cw__calloc(1, sizeof(*c));
  char name[32];
  snprintf(name, sizeof(name), "t%u",
           (unsigned)cw_fetch_add_relaxed(&s->nthreads, 1) + 1);
  if (!c || cw__actab_alloc(&s->actors, CW_ACTOR_THREAD, name, &c->spawn.slot,
                            &c->spawn.gen) != 0) {
    cw__free(c);
    cw__leave(ts);
    return pthread_create(thread, attr, fn, arg);
  }
  cw_actor *a = ts->cur;
  cw_evargs ev = {.kind = CW_EV_FORK,
                  .has_oactor = 1,
                  .oslot = c->spawn.slot,
                  .ogen = c->spawn.gen,
                  .loc = loc};
  cw__record(ts, &ev);
  c->seq0 = ts->seq;
  uint32_t n = cw__actor_full(ts, a);
  (void)cw__vc_copy(&c->spawn.vc, ts->delta, n, c->spawn.slot, &s->actors.view);
  c->spawn.pslot = a->slot;
  c->spawn.pgen = a->gen;
  c->sess = s;
  c->fn = fn;
  c->arg = arg;
  atomic_init(&c->refs, detached ? 1 : 2);
  cw__leave(ts);
  int rc = pthread_create(thread, attr, trampoline, c);
  if (rc != 0) {
    /* The child never ran: its slot was only named by the fork event. */
    cw__actab_retire(&s->actors, c->spawn.slot, c->spawn.gen);
    cw__vc_free(&c->spawn.vc);
    cw__free(c);
    return rc;
  }
  if (!detached) {
    CW_CHECK(pthread_mutex_lock(&s->reg_mu));
    c->tid = *thread;
    c->next = s->children;
    s->children = c;
    CW_CHECK(pthread_mutex_unlock(&s->reg_mu));
  }
  return 0;
}

int cw_thread_join_at(pthread_t thread, void **ret, cw_loc loc) {
  int rc = pthread_join(thread, ret);
  if (rc != 0)
    return rc;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return rc;
  cw_sess *s = ts->sess;
  cw_child *c = NULL;
  CW_CHECK(pthread_mutex_lock(&s->reg_mu));
  for (cw_child **p = &s->children; *p; p = &(*p)->next) {
    if (pthread_equal((*p)->tid, thread)) {
      c = *p;
      *p = c->next;
      break;
    }
  }
  CW_CHECK(pthread_mutex_unlock(&s->reg_mu));
  if (c) {
    uint32_t nj = 0;
    if (c->done) {
      cw__seq_join(ts, c->seq_end);
      if (cw__vc_copy(&ts->tmp, c->final.e, c->final.n, UINT32_MAX, NULL) == 0)
        nj = cw__actor_join(ts, ts->cur, ts->tmp.e, ts->tmp.n);
    }
    cw_evargs ev = {.kind = CW_EV_JOIN,
                    .has_oactor = 1,
                    .oslot = c->spawn.slot,
                    .ogen = c->spawn.gen,
                    .joins = ts->delta,
                    .njoins = nj,
                    .loc = loc};
    cw__record(ts, &ev);
    child_unref(c);
  }
  cw__leave(ts);
  return rc;
}

void cw__children_free(cw_sess *s) {
  while (s->children) {
    cw_child *c = s->children;
    s->children = c->next;
    child_unref(c);
  }
}

int(cw_thread_create)(pthread_t *thread, const pthread_attr_t *attr,
                      void *(*fn)(void *), void *arg) {
  return cw_thread_create_at(thread, attr, fn, arg, CW_LOC_NONE);
}

int(cw_thread_join)(pthread_t thread, void **ret) {
  return cw_thread_join_at(thread, ret, CW_LOC_NONE);
}
