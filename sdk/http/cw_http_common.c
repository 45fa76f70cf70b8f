/*
 * cw_http_common: the HTTP glue's shared pieces: counters, the per-thread
 * request stack, random ids and the W3C traceparent codec.
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cw__http_counters cw__http_ctr;

/* Wait-edge threshold: UINT64_MAX until configured or read from the
 * environment. */
static _Atomic uint64_t wait_ns = UINT64_MAX;

void cw_http_set_wait_threshold(uint32_t threshold_ms) {
  atomic_store(&wait_ns, (uint64_t)threshold_ms * 1000000u);
}

uint64_t cw__http_wait_ns(void) {
  uint64_t v = atomic_load_explicit(&wait_ns, memory_order_relaxed);
  if (v != UINT64_MAX)
    return v;
  const char *e = getenv("CAUSEWAY_HTTP_WAITS");
  long ms = 0;
  if (e && *e) {
    char *end = NULL;
    ms = strtol(e, &end, 10);
    if (!end || *end || ms < 0 || ms > 3600000)
      ms = 0;
  }
  uint64_t want = (uint64_t)ms * 1000000u, expected = UINT64_MAX;
  atomic_compare_exchange_strong(&wait_ns, &expected, want);
  return atomic_load(&wait_ns);
}

void cw__http_call_name(const uint8_t span[8], char *buf, size_t cap) {
  char hex[17];
  cw__http_hex(span, 8, hex);
  snprintf(buf, cap, "http-call:%s", hex);
}

static _Thread_local cw__http_req *tl_req;
static _Thread_local uint64_t tl_rng[2];

cw__http_req *cw__http_current(void) {
  return tl_req;
}

void cw__http_push(cw__http_req *r) {
  r->prev = tl_req;
  tl_req = r;
}

void cw__http_pop(cw__http_req *r) {
  if (tl_req == r)
    tl_req = r->prev;
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void seed(void) {
  uint64_t s[2] = {0, 0};
  FILE *f = fopen("/dev/urandom", "rb");
  if (f) {
    if (fread(s, sizeof s, 1, f) != 1)
      s[0] = s[1] = 0;
    fclose(f);
  }
  s[0] ^= cw_now_ns();
  s[1] ^= ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&tl_req;
  tl_rng[0] = splitmix(&s[0]) | 1;
  tl_rng[1] = splitmix(&s[1]);
}

void cw__http_random(uint8_t *buf, size_t n) {
  if (tl_rng[0] == 0)
    seed();
  for (;;) {
    int nonzero = 0;
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = splitmix(&tl_rng[1]) ^ tl_rng[0];
      for (size_t k = 0; k < 8 && i + k < n; k++) {
        buf[i + k] = (uint8_t)(v >> (8 * k));
        nonzero |= buf[i + k];
      }
    }
    if (nonzero || n == 0)
      return;
  }
}

void cw__http_hex(const uint8_t *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = 0;
}

int cw__http_hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decodes 2n hex digits. @return 1 when valid and not all zero. */
static int unhex(const char *s, size_t n, uint8_t *out) {
  int nonzero = 0;
  for (size_t i = 0; i < n; i++) {
    int hi = cw__http_hexval((unsigned char)s[2 * i]);
    int lo = cw__http_hexval((unsigned char)s[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return 0;
    out[i] = (uint8_t)(hi << 4 | lo);
    nonzero |= out[i];
  }
  return nonzero != 0;
}

cw_status cw_http_parse_traceparent(const char *value, size_t len,
                                    uint8_t trace_id[16], uint8_t span_id[8]) {
  uint8_t ver[1], flags[1], t[16], s[8];
  /* Trim surrounding blanks (header values may carry them). */
  while (len > 0 && (*value == ' ' || *value == '\t')) {
    value++;
    len--;
  }
  while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
    len--;
  /* Version 00 is exactly 55 characters; later versions may append
   * "-..." fields, which we ignore as the spec asks. */
  if (!value || len < 55 || value[2] != '-' || value[35] != '-' ||
      value[52] != '-')
    return CW_EMALFORMED;
  if (cw__http_hexval((unsigned char)value[0]) < 0 ||
      cw__http_hexval((unsigned char)value[1]) < 0)
    return CW_EMALFORMED;
  (void)unhex(value, 1, ver);
  if (ver[0] == 0xff || (ver[0] == 0 && len != 55) ||
      (len > 55 && value[55] != '-'))
    return CW_EMALFORMED;
  if (!unhex(value + 3, 16, t) || !unhex(value + 36, 8, s))
    return CW_EMALFORMED;
  if (cw__http_hexval((unsigned char)value[53]) < 0 ||
      cw__http_hexval((unsigned char)value[54]) < 0)
    return CW_EMALFORMED;
  (void)unhex(value + 53, 1, flags);
  memcpy(trace_id, t, 16);
  memcpy(span_id, s, 8);
  return CW_OK;
}

cw_status cw_http_format_traceparent(const uint8_t trace_id[16],
                                     const uint8_t span_id[8], char *buf,
                                     size_t cap) {
  char t[33], s[17];
  if (!buf || cap < 56)
    return CW_ETOOBIG;
  cw__http_hex(trace_id, 16, t);
  cw__http_hex(span_id, 8, s);
  snprintf(buf, cap, "00-%s-%s-01", t, s);
  return CW_OK;
}

cw_status cw_http_trace_begin(uint8_t trace_id[16]) {
  uint8_t t[16], s[8];
  cw__http_random(t, sizeof t);
  cw__http_random(s, sizeof s);
  cw_status st = cw_trace_set(t, s);
  if (st == CW_OK && trace_id)
    memcpy(trace_id, t, 16);
  return st;
}

void cw_http_stats_get(cw_http_stats *out) {
#define LOAD(f) atomic_load_explicit(&cw__http_ctr.f, memory_order_relaxed)
  out->requests = LOAD(requests);
  out->responses = LOAD(responses);
  out->calls = LOAD(calls);
  out->clocks_joined = LOAD(clocks_joined);
  out->clock_missing = LOAD(clock_missing);
  out->clock_malformed = LOAD(clock_malformed);
  out->clock_oversized = LOAD(clock_oversized);
  out->raceway_clocks = LOAD(raceway_clocks);
  out->traceparent_bad = LOAD(traceparent_bad);
  out->tracestate_dropped = LOAD(tracestate_dropped);
#undef LOAD
}
