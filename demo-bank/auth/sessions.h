/*
 * sessions: auth's in-memory session cache, one entry per user, traced as
 * the state key "auth:sessions:<user>" (CW_READ/CW_WRITE) with a traced
 * mutex per user ("auth:user:<user>") for the code that serialises.
 *
 * The table of users is guarded by a traced rwlock: lookups take it for
 * reading (reads never order each other), adding users for writing.
 * Entries never move, so a looked-up entry stays valid.
 */
#ifndef AUTH_SESSIONS_H
#define AUTH_SESSIONS_H

#include <pthread.h>
#include <stdint.h>

#define SESSION_ID_LEN 32
#define SESSIONS_PER_USER 16

typedef struct session_list {
  int n;
  char ids[SESSIONS_PER_USER][SESSION_ID_LEN + 1];
} session_list;

/* Adds a user with no sessions (no-op when known). */
void sessions_add_user(int64_t user);
/* Forgets every user and session. */
void sessions_reset(void);
/* The user's mutex, or NULL for an unknown user. */
pthread_mutex_t *sessions_user_mutex(int64_t user);

/* Copies the user's sessions out / back, recording the read / write of
 * "auth:sessions:<user>". The caller decides whether it holds the user's
 * mutex (that is the lesson). @return 0, or -1 for an unknown user. */
int sessions_read(int64_t user, session_list *out);
int sessions_write(int64_t user, const session_list *in);
/* Appends a session id, dropping the oldest when full. */
void session_list_add(session_list *l, const char *sid);

/* Under the user's mutex: is sid a live session? remove it? count them.
 * @return 1/0; sessions_count -1 for an unknown user. */
int sessions_has(int64_t user, const char *sid);
int sessions_remove(int64_t user, const char *sid);
int sessions_count(int64_t user);

#endif /* AUTH_SESSIONS_H */
