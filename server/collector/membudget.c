/*
 * membudget: a byte semaphore shared by the ingest requests, plus the
 * allocator settings that let the memory they used go back to the system.
 */
#define _GNU_SOURCE
#include "membudget.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct cw_membudget {
  pthread_mutex_t mu;
  pthread_cond_t room;
  cw_membudget_stats st;
};

cw_membudget *cw__membudget_new(uint64_t cap) {
  cw_membudget *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  pthread_mutex_init(&b->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&b->room, &ca);
  pthread_condattr_destroy(&ca);
  b->st.cap = cap;
  return b;
}

void cw__membudget_free(cw_membudget *b) {
  if (!b)
    return;
  pthread_cond_destroy(&b->room);
  pthread_mutex_destroy(&b->mu);
  free(b);
}

static void took(cw_membudget *b, uint64_t bytes) {
  b->st.used += bytes;
  if (b->st.used > b->st.peak)
    b->st.peak = b->st.used;
}

int cw__membudget_take(cw_membudget *b, uint64_t bytes, int wait_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += wait_ms / 1000;
  ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&b->mu);
  int rc = 0;
  while (bytes > b->st.cap - b->st.used) {
    if (wait_ms <= 0 || bytes > b->st.cap ||
        pthread_cond_timedwait(&b->room, &b->mu, &ts)) {
      rc = -1;
      break;
    }
  }
  if (rc == 0)
    took(b, bytes);
  else
    b->st.exhausted++;
  pthread_mutex_unlock(&b->mu);
  return rc;
}

uint64_t cw__membudget_take_upto(cw_membudget *b, uint64_t want) {
  pthread_mutex_lock(&b->mu);
  uint64_t free_now = b->st.cap - b->st.used;
  uint64_t got = want < free_now ? want : free_now;
  took(b, got);
  pthread_mutex_unlock(&b->mu);
  return got;
}

void cw__membudget_give(cw_membudget *b, uint64_t bytes) {
  if (!bytes)
    return;
  pthread_mutex_lock(&b->mu);
  b->st.used = bytes > b->st.used ? 0 : b->st.used - bytes;
  pthread_cond_broadcast(&b->room);
  pthread_mutex_unlock(&b->mu);
}

void cw__membudget_stats(cw_membudget *b, cw_membudget_stats *out) {
  pthread_mutex_lock(&b->mu);
  *out = b->st;
  pthread_mutex_unlock(&b->mu);
}

/* Measured with jansson 2.14 on x86-64 glibc (RSS per parsed value, with
 * its slot in the parent): {} 232 B, [] 136 B, "" 88 B, 1 40 B. Rounded up;
 * a key costs what a string costs. */
#define COST_OBJECT 256
#define COST_ARRAY 160
#define COST_STRING 96
#define COST_SCALAR 48

uint64_t cw__json_tree_bytes(const char *json, size_t len) {
  uint64_t n = len;
  int in_string = 0, in_scalar = 0;
  for (size_t i = 0; i < len; i++) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = 0;
      continue;
    }
    int scalar_char = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                      (c >= 'A' && c <= 'Z') || c == '-' || c == '+' ||
                      c == '.';
    if (scalar_char && !in_scalar)
      n += COST_SCALAR;
    in_scalar = scalar_char;
    if (c == '"') {
      in_string = 1;
      n += COST_STRING;
    } else if (c == '{') {
      n += COST_OBJECT;
    } else if (c == '[') {
      n += COST_ARRAY;
    }
  }
  return n;
}

void cw__membudget_trim(uint64_t used) {
  if (used >= CW_MEMBUDGET_TRIM_MIN)
    malloc_trim(0);
}

void cw__membudget_tune_malloc(void) {
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  /* No fastbins: a freed parse tree's small blocks coalesce at once, so
   * the free space lands in the arena's top chunk, which free() itself
   * gives back. (malloc_trim consolidates fastbins into the top chunk
   * but gives back the top chunk of the main arena only: a tree parsed on
   * a worker thread's arena stayed resident.) */
  mallopt(M_MXFAST, 0);
}
