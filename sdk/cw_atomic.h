/*
 * cw_atomic.h: the SDK's atomics, a thin layer over C11 <stdatomic.h>, plus
 * a tiny spin lock for short internal critical sections.
 *
 * Every shared word the SDK touches outside an internal mutex goes through
 * these helpers, so the memory order of each access is written once, here
 * or at the call, and ThreadSanitizer sees every synchronisation.
 */
#ifndef CW_ATOMIC_H
#define CW_ATOMIC_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t cw_au64;
typedef _Atomic uint32_t cw_au32;
typedef _Atomic int cw_aint;

#define cw_load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define cw_load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define cw_store_relaxed(p, v)                                                 \
  atomic_store_explicit((p), (v), memory_order_relaxed)
#define cw_store_release(p, v)                                                 \
  atomic_store_explicit((p), (v), memory_order_release)
#define cw_fetch_add_relaxed(p, v)                                             \
  atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define cw_fetch_add_acqrel(p, v)                                              \
  atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)

/* A test-and-test-and-set spin lock for a few instructions of work. */
typedef struct cw_spin {
  atomic_flag f;
} cw_spin;

#define CW_SPIN_INIT                                                           \
  { ATOMIC_FLAG_INIT }

static inline void cw_spin_lock(cw_spin *s) {
  unsigned spins = 0;
  while (atomic_flag_test_and_set_explicit(&s->f, memory_order_acquire)) {
    /* The holder runs a few dozen instructions; yield if it was preempted. */
    if (++spins > 64) {
      sched_yield();
      spins = 0;
    }
  }
}

static inline void cw_spin_unlock(cw_spin *s) {
  atomic_flag_clear_explicit(&s->f, memory_order_release);
}

#endif /* CW_ATOMIC_H */
