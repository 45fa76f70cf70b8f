/*
 * locks: the accounts service's two kinds of account lock.
 *
 * Named locks held across requests (POST /accounts/:id/lock and /unlock):
 * a small lock service. A lock belongs to an owner string (a transfer), not
 * to a thread; a waiter gives up after its timeout; a lock not released
 * within its lease is freed. The client records these locks with
 * cw_extlock_* (they are its locks); this side is the lock service's own
 * bookkeeping, like a Redis server's, and is not traced.
 *
 * In-process account mutexes (scenario 5): one pthread mutex per account,
 * traced with cw_mutex_* and named "account:<id>", held by one request.
 */
#ifndef ACCOUNTS_LOCKS_H
#define ACCOUNTS_LOCKS_H

#include <pthread.h>
#include <stdint.h>

/* Acquires the named lock of account `id` for `owner`, waiting at most
 * timeout_ms. @return 0 when acquired (or already held by owner), 1 on
 * timeout. */
int acct_lock(int64_t id, const char *owner, long timeout_ms, long lease_ms);
/* Releases it. @return 0, or -1 when `owner` does not hold it. */
int acct_unlock(int64_t id, const char *owner);
/* Frees every named lock (reset). */
void acct_locks_reset(void);

/* The traced mutex of account `id` (created and named on first use).
 * @return the mutex, or NULL when the table is full. */
pthread_mutex_t *acct_mutex(int64_t id);

#endif /* ACCOUNTS_LOCKS_H */
