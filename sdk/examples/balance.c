/*
 * balance.c: the causeway demo. Two threads each deposit into two accounts
 * many times:
 *   - alice's balance with an unlocked read-modify-write: a lost-update
 *     race that `causeway check` reports on "account:alice.balance";
 *   - bob's balance under a mutex named "account:bob": ordered, no race.
 * The trace goes to $CAUSEWAY_TRACE_FILE, or to balance.cwt in the current
 * directory; the program prints where.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>

#include <causeway.h>

#define ROUNDS 100

static pthread_mutex_t bob_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic long alice_balance; /* atomic so the demo itself is UB-free */
static long bob_balance;

static void *depositor(void *arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    /* Racy: read, then write, with nothing ordering the two threads. */
    long a = alice_balance;
    CW_READ_INT("account:alice.balance", a);
    alice_balance = a + 10;
    CW_WRITE_INT("account:alice.balance", a + 10);

    /* Safe: the same read-modify-write under bob's lock. */
    cw_mutex_lock(&bob_lock);
    long b = bob_balance;
    CW_READ_INT("account:bob.balance", b);
    bob_balance = b + 10;
    CW_WRITE_INT("account:bob.balance", b + 10);
    cw_mutex_unlock(&bob_lock);
  }
  return NULL;
}

int main(void) {
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "balance";
  const char *path = getenv("CAUSEWAY_TRACE_FILE");
  if (!path || !*path) {
    path = "balance.cwt";
    cfg.trace_file = path;
  }
  cw_status st = cw_init(&cfg);
  if (st != CW_OK) {
    fprintf(stderr, "balance: cw_init: %s\n", cw_strerror(st));
    return 1;
  }
  cw_lock_name(&bob_lock, "account:bob");

  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    if (cw_thread_create(&t[i], NULL, depositor, NULL) != 0) {
      fprintf(stderr, "balance: cannot create a thread\n");
      return 1;
    }
  for (int i = 0; i < 2; i++)
    cw_thread_join(t[i], NULL);

  printf("alice: %ld (expected %d), bob: %ld (expected %d)\n",
         (long)alice_balance, 2 * ROUNDS * 10, bob_balance, 2 * ROUNDS * 10);
  st = cw_shutdown();
  printf("trace: %s%s\n", path, st == CW_OK ? "" : " (write error)");
  return st == CW_OK ? 0 : 1;
}
