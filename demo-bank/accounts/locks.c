/*
 * locks: named account locks and per-account mutexes (see locks.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "locks.h"

#include <causeway.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bank_svc.h"

#define NAMED_MAX 1024
#define MUTEX_MAX 4096

typedef struct named {
  int64_t id;
  char owner[64];
  int64_t expires_ms;
} named;

static pthread_mutex_t n_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t n_cond = PTHREAD_COND_INITIALIZER;
static named held[NAMED_MAX];
static int nheld;

static named *find(int64_t id) {
  int64_t now = bank_now_ms();
  for (int i = 0; i < nheld; i++) {
    if (held[i].expires_ms <= now) { /* lease over: free it */
      held[i] = held[--nheld];
      i--;
      pthread_cond_broadcast(&n_cond);
      continue;
    }
    if (held[i].id == id)
      return &held[i];
  }
  return NULL;
}

int acct_lock(int64_t id, const char *owner, long timeout_ms, long lease_ms) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += timeout_ms / 1000;
  dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&n_lock);
  int rc = 0;
  for (;;) {
    named *h = find(id);
    if (!h && nheld < NAMED_MAX) {
      h = &held[nheld++];
      h->id = id;
      snprintf(h->owner, sizeof h->owner, "%s", owner);
      h->expires_ms = bank_now_ms() + lease_ms;
      break;
    }
    if (h && strcmp(h->owner, owner) == 0)
      break;
    /* Wake up at least every 100 ms to expire leases. */
    struct timespec step;
    clock_gettime(CLOCK_REALTIME, &step);
    step.tv_nsec += 100000000L;
    if (step.tv_nsec >= 1000000000L) {
      step.tv_sec++;
      step.tv_nsec -= 1000000000L;
    }
    int past = step.tv_sec > dl.tv_sec ||
               (step.tv_sec == dl.tv_sec && step.tv_nsec >= dl.tv_nsec);
    if (pthread_cond_timedwait(&n_cond, &n_lock, past ? &dl : &step) ==
            ETIMEDOUT &&
        past) {
      rc = 1;
      break;
    }
  }
  pthread_mutex_unlock(&n_lock);
  return rc;
}

int acct_unlock(int64_t id, const char *owner) {
  pthread_mutex_lock(&n_lock);
  named *h = find(id);
  int rc = -1;
  if (h && strcmp(h->owner, owner) == 0) {
    *h = held[--nheld];
    pthread_cond_broadcast(&n_cond);
    rc = 0;
  }
  pthread_mutex_unlock(&n_lock);
  return rc;
}

void acct_locks_reset(void) {
  pthread_mutex_lock(&n_lock);
  nheld = 0;
  pthread_cond_broadcast(&n_cond);
  pthread_mutex_unlock(&n_lock);
}

/* ---- Traced per-account mutexes ----------------------------------------- */

typedef struct slot {
  int64_t id;
  pthread_mutex_t m;
} slot;

static pthread_mutex_t m_table_lock = PTHREAD_MUTEX_INITIALIZER;
static slot mutexes[MUTEX_MAX];
static int nmutex;

pthread_mutex_t *acct_mutex(int64_t id) {
  pthread_mutex_t *m = NULL;
  cw_mutex_lock(&m_table_lock);
  for (int i = 0; i < nmutex && !m; i++)
    if (mutexes[i].id == id)
      m = &mutexes[i].m;
  if (!m && nmutex < MUTEX_MAX) {
    slot *s = &mutexes[nmutex++];
    s->id = id;
    pthread_mutex_init(&s->m, NULL);
    char name[64];
    snprintf(name, sizeof name, "account:%lld", (long long)id);
    cw_lock_name(&s->m, name);
    m = &s->m;
  }
  cw_mutex_unlock(&m_table_lock);
  return m;
}
