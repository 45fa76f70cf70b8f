/*
 * reqlimits: per-client connection cap and whole-body deadline.
 *
 * DESIGN. civetweb gives a connection to a worker thread and calls
 * init_connection before it reads the request head; that is the only hook
 * before parsing, and it cannot refuse. The client's address is already in
 * the connection's request_info then, but mg_get_request_info returns NULL
 * until a request was parsed. So the module learns where request_info lies
 * inside the connection from the first handled request (the server sends
 * itself one at start, cw__reqlimits_learn), and reads the address through
 * that measured offset. It then finds the connection's socket (the one
 * whose peer and local ports match) and, when the client address already
 * holds the maximum, writes a 503 and shuts the socket down: civetweb's
 * first read ends and the worker is free again at once. Every connection's
 * state is a slot (civetweb's per-connection user data) with that socket.
 *
 * civetweb's read timeout applies to each read, so a client that sends one
 * byte per timeout keeps a worker forever. The body deadline is a total:
 * a handler arms it before reading the body; one thread sleeps until the
 * earliest armed deadline and shuts the read side of a late connection's
 * socket, which ends the handler's read at once (the handler then answers
 * 408 and closes). A slot is armed only while its handler runs, so the
 * socket is still open whenever the thread touches it.
 */
#define _POSIX_C_SOURCE 200809L
#include "reqlimits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

typedef struct slot {
  int fd; /* -1 when not found */
  char addr[48];
  int counted;
  long long deadline_ns;
  int armed, expired;
  struct slot *prev, *next; /* armed list */
} slot;

typedef struct client {
  char addr[48];
  int conns;
} client;

struct cw_reqlimits {
  cw_reqlimits_opts o;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  int thread_started, stop;
  client *clients; /* addresses with open connections */
  size_t nclients, capclients;
  slot armed; /* list head */
  unsigned long long refused, timeouts;
};

/* Offset of request_info inside civetweb's connection, -1 until learned. */
static atomic_long ri_offset = -1;

void cw__reqlimits_learn(const struct mg_connection *c) {
  if (atomic_load_explicit(&ri_offset, memory_order_relaxed) >= 0)
    return;
  const struct mg_request_info *ri = mg_get_request_info(c);
  long off = ri ? (long)((const char *)ri - (const char *)c) : -1;
  if (off >= 0 && off < 65536)
    atomic_store(&ri_offset, off);
}

/* The connection's request_info before its first request was parsed (the
 * address fields are set when the worker takes the connection). */
static const struct mg_request_info *early_info(const struct mg_connection *c) {
  long off = atomic_load(&ri_offset);
  return off < 0 ? NULL
                 : (const struct mg_request_info *)((const char *)c + off);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The socket of the connection: its peer is remote_addr:remote_port and
 * its local port server_port. @return the descriptor or -1. */
static int find_socket(const struct mg_request_info *ri) {
  struct rlimit rl;
  int max = 65536;
  if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)max)
    max = (int)rl.rlim_cur;
  int misses = 0;
  for (int fd = 3; fd < max && misses < 1024; fd++) {
    struct sockaddr_in peer, local;
    socklen_t pl = sizeof peer, ll = sizeof local;
    if (getpeername(fd, (struct sockaddr *)&peer, &pl)) {
      misses = errno == EBADF ? misses + 1 : 0;
      continue;
    }
    misses = 0;
    if (peer.sin_family != AF_INET || ntohs(peer.sin_port) != ri->remote_port)
      continue;
    char a[INET_ADDRSTRLEN];
    if (!inet_ntop(AF_INET, &peer.sin_addr, a, sizeof a) ||
        strcmp(a, ri->remote_addr))
      continue;
    if (getsockname(fd, (struct sockaddr *)&local, &ll) ||
        ntohs(local.sin_port) != ri->server_port)
      continue;
    return fd;
  }
  return -1;
}

static void *deadline_main(void *arg) {
  cw_reqlimits *r = arg;
  pthread_mutex_lock(&r->mu);
  while (!r->stop) {
    long long now = now_ns(), next = now + 1000000000LL;
    for (slot *s = r->armed.next; s != &r->armed;) {
      slot *nx = s->next;
      if (s->deadline_ns <= now) {
        /* Ends the handler's blocked read; the answer can still go out. */
        shutdown(s->fd, SHUT_RD);
        s->expired = 1;
        s->armed = 0;
        s->prev->next = s->next;
        s->next->prev = s->prev;
        r->timeouts++;
      } else if (s->deadline_ns < next) {
        next = s->deadline_ns;
      }
      s = nx;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long wait = next - now;
    ts.tv_sec += wait / 1000000000LL;
    ts.tv_nsec += wait % 1000000000LL;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&r->cv, &r->mu, &ts);
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

cw_reqlimits *cw__reqlimits_new(const cw_reqlimits_opts *o) {
  cw_reqlimits *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->o = *o;
  r->armed.next = r->armed.prev = &r->armed;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&r->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&r->mu, NULL);
  if (pthread_create(&r->thread, NULL, deadline_main, r)) {
    cw__reqlimits_free(r);
    return NULL;
  }
  r->thread_started = 1;
  return r;
}

void cw__reqlimits_free(cw_reqlimits *r) {
  if (!r)
    return;
  if (r->thread_started) {
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
  }
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  free(r->clients);
  free(r);
}

/* The table entry of addr, added when missing. Call with mu held.
 * @return it, or NULL when out of memory. */
static client *client_of(cw_reqlimits *r, const char *addr) {
  for (size_t i = 0; i < r->nclients; i++)
    if (!strcmp(r->clients[i].addr, addr))
      return &r->clients[i];
  if (r->nclients == r->capclients) {
    size_t nc = r->capclients ? r->capclients * 2 : 64;
    client *n = realloc(r->clients, nc * sizeof *n);
    if (!n)
      return NULL;
    r->clients = n;
    r->capclients = nc;
  }
  client *c = &r->clients[r->nclients++];
  snprintf(c->addr, sizeof c->addr, "%s", addr);
  c->conns = 0;
  return c;
}

static void refuse_connection(int fd) {
  static const char resp[] =
      "HTTP/1.1 503 Service Unavailable\r\n"
      "Content-Type: application/json\r\nContent-Length: 51\r\n"
      "Retry-After: 1\r\nConnection: close\r\n\r\n"
      "{\"error\":\"too many connections from this address\"}";
  ssize_t w = send(fd, resp, sizeof resp - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)w;
  shutdown(fd, SHUT_RDWR);
}

void cw__reqlimits_conn_open(cw_reqlimits *r, const struct mg_connection *c,
                             void **conn_data) {
  const struct mg_request_info *ri = early_info(c);
  slot *s = calloc(1, sizeof *s);
  *conn_data = s;
  if (!s)
    return;
  s->fd = -1;
  if (!ri)
    return; /* not learned yet: found at the body (no cap) */
  s->fd = find_socket(ri);
  snprintf(s->addr, sizeof s->addr, "%s", ri->remote_addr);
  if (r->o.max_client_conns <= 0)
    return;
  pthread_mutex_lock(&r->mu);
  client *cl = client_of(r, s->addr);
  int over = cl && cl->conns >= r->o.max_client_conns;
  if (cl && !over) {
    cl->conns++;
    s->counted = 1;
  }
  if (over && s->fd >= 0)
    r->refused++;
  pthread_mutex_unlock(&r->mu);
  if (over && s->fd >= 0)
    refuse_connection(s->fd);
}

void cw__reqlimits_conn_close(cw_reqlimits *r, const struct mg_connection *c) {
  slot *s = mg_get_user_connection_data(c);
  if (!s)
    return;
  pthread_mutex_lock(&r->mu);
  if (s->armed) {
    s->prev->next = s->next;
    s->next->prev = s->prev;
  }
  if (s->counted) {
    client *cl = client_of(r, s->addr);
    if (cl && --cl->conns <= 0)
      *cl = r->clients[--r->nclients]; /* drop the entry */
  }
  pthread_mutex_unlock(&r->mu);
  free(s);
}

static void arm(cw_reqlimits *r, struct mg_connection *c, int ms) {
  slot *s = mg_get_user_connection_data(c);
  if (!s || ms <= 0)
    return;
  if (s->fd < 0) {
    const struct mg_request_info *ri = mg_get_request_info(c);
    s->fd = ri ? find_socket(ri) : -1;
    if (s->fd < 0)
      return;
  }
  pthread_mutex_lock(&r->mu);
  s->expired = 0;
  if (!s->armed) {
    s->deadline_ns = now_ns() + (long long)ms * 1000000LL;
    s->armed = 1;
    s->next = r->armed.next;
    s->prev = &r->armed;
    r->armed.next->prev = s;
    r->armed.next = s;
    pthread_cond_signal(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
}

void cw__reqlimits_body_begin(cw_reqlimits *r, struct mg_connection *c) {
  arm(r, c, r->o.body_timeout_ms);
}

int cw__reqlimits_body_end(cw_reqlimits *r, struct mg_connection *c) {
  slot *s = mg_get_user_connection_data(c);
  if (!s)
    return 0;
  pthread_mutex_lock(&r->mu);
  if (s->armed) {
    s->prev->next = s->next;
    s->next->prev = s->prev;
    s->armed = 0;
  }
  int expired = s->expired;
  pthread_mutex_unlock(&r->mu);
  return expired;
}

void cw__reqlimits_linger(cw_reqlimits *r, struct mg_connection *c,
                          size_t max_bytes, int ms) {
  char buf[16384];
  size_t done = 0;
  arm(r, c, ms);
  while (done < max_bytes) {
    int n = mg_read(c, buf, sizeof buf);
    if (n <= 0)
      break;
    done += (size_t)n;
  }
  cw__reqlimits_body_end(r, c);
}

void cw__reqlimits_counts(cw_reqlimits *r, unsigned long long *refused_conns,
                          unsigned long long *body_timeouts) {
  pthread_mutex_lock(&r->mu);
  *refused_conns = r->refused;
  *body_timeouts = r->timeouts;
  pthread_mutex_unlock(&r->mu);
}
