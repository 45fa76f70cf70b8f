/*
 * sessions: the session cache (see sessions.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "sessions.h"

#include <causeway.h>
#include <stdio.h>
#include <string.h>

#define USERS_MAX 4096

typedef struct entry {
  int64_t user;
  pthread_mutex_t m;
  session_list list;
} entry;

static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static entry table[USERS_MAX];
static int nusers;

static entry *find(int64_t user) {
  entry *e = NULL;
  cw_rwlock_rdlock(&table_lock);
  for (int i = 0; i < nusers && !e; i++)
    if (table[i].user == user)
      e = &table[i];
  cw_rwlock_unlock(&table_lock);
  return e;
}

static void key_of(char *buf, size_t cap, int64_t user) {
  snprintf(buf, cap, "auth:sessions:%lld", (long long)user);
}

void sessions_add_user(int64_t user) {
  if (find(user))
    return;
  cw_rwlock_wrlock(&table_lock);
  if (nusers < USERS_MAX) {
    /* A zeroed pthread_mutex_t is PTHREAD_MUTEX_INITIALIZER on Linux. */
    entry *e = &table[nusers];
    e->user = user;
    memset(&e->list, 0, sizeof e->list);
    char name[64];
    snprintf(name, sizeof name, "auth:user:%lld", (long long)user);
    cw_lock_forget(&e->m);
    cw_lock_name(&e->m, name);
    nusers++;
  }
  cw_rwlock_unlock(&table_lock);
}

void sessions_reset(void) {
  cw_rwlock_wrlock(&table_lock);
  for (int i = 0; i < nusers; i++) {
    table[i].user = 0;
    memset(&table[i].list, 0, sizeof table[i].list);
  }
  nusers = 0;
  cw_rwlock_unlock(&table_lock);
}

pthread_mutex_t *sessions_user_mutex(int64_t user) {
  entry *e = find(user);
  return e ? &e->m : NULL;
}

int sessions_read(int64_t user, session_list *out) {
  entry *e = find(user);
  if (!e)
    return -1;
  char key[64];
  key_of(key, sizeof key, user);
  CW_READ(key);
  memcpy(out, &e->list, sizeof *out);
  if (out->n < 0 || out->n > SESSIONS_PER_USER)
    out->n = 0;
  return 0;
}

int sessions_write(int64_t user, const session_list *in) {
  entry *e = find(user);
  if (!e)
    return -1;
  char key[64];
  key_of(key, sizeof key, user);
  CW_WRITE(key);
  memcpy(&e->list, in, sizeof *in);
  return 0;
}

void session_list_add(session_list *l, const char *sid) {
  if (l->n >= SESSIONS_PER_USER) {
    memmove(l->ids[0], l->ids[1], sizeof l->ids[0] * (SESSIONS_PER_USER - 1));
    l->n = SESSIONS_PER_USER - 1;
  }
  snprintf(l->ids[l->n++], sizeof l->ids[0], "%s", sid);
}

static int find_sid(const session_list *l, const char *sid) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->ids[i], sid) == 0)
      return i;
  return -1;
}

int sessions_has(int64_t user, const char *sid) {
  entry *e = find(user);
  if (!e)
    return 0;
  session_list l;
  cw_mutex_lock(&e->m);
  if (sessions_read(user, &l) != 0)
    l.n = 0;
  cw_mutex_unlock(&e->m);
  return find_sid(&l, sid) >= 0;
}

int sessions_remove(int64_t user, const char *sid) {
  entry *e = find(user);
  if (!e)
    return 0;
  session_list l;
  cw_mutex_lock(&e->m);
  if (sessions_read(user, &l) != 0)
    l.n = 0;
  int i = find_sid(&l, sid);
  if (i >= 0) {
    memmove(l.ids[i], l.ids[i + 1], sizeof l.ids[0] * (size_t)(l.n - i - 1));
    l.n--;
    sessions_write(user, &l);
  }
  cw_mutex_unlock(&e->m);
  return i >= 0;
}

int sessions_count(int64_t user) {
  entry *e = find(user);
  if (!e)
    return -1;
  session_list l;
  cw_mutex_lock(&e->m);
  if (sessions_read(user, &l) != 0)
    l.n = 0;
  cw_mutex_unlock(&e->m);
  return l.n;
}
