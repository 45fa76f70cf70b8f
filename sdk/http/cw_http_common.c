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

/* W3C trace context fields are lowercase hex only ("HEXDIGLC"). */
static int hexlc(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Decodes 2n lowercase hex digits. @return 1 when valid and not all zero. */
static int unhex(const char *s, size_t n, uint8_t *out) {
  int nonzero = 0;
  for (size_t i = 0; i < n; i++) {
    int hi = hexlc((unsigned char)s[2 * i]);
    int lo = hexlc((unsigned char)s[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
    nonzero |= out[i];
  }
  return nonzero != 0;
}

cw_status cw_http_parse_traceparent_flags(const char *value, size_t len,
                                          uint8_t trace_id[16],
                                          uint8_t span_id[8], uint8_t *flags) {
  uint8_t ver[1], fl[1], t[16], s[8];
  if (!value)
    return CW_EMALFORMED;
  /* Trim surrounding blanks (optional white space around the value). */
  while (len > 0 && (*value == ' ' || *value == '\t')) {
    value++;
    len--;
  }
  while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
    len--;
  /* Version 00 is exactly 55 characters; later versions may append
   * "-..." fields, which we ignore as the spec asks. */
  if (len < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-')
    return CW_EMALFORMED;
  if (unhex(value, 1, ver) < 0 || ver[0] == 0xff ||
      (ver[0] == 0 && len != 55) || (len > 55 && value[55] != '-'))
    return CW_EMALFORMED;
  if (unhex(value + 3, 16, t) != 1 || unhex(value + 36, 8, s) != 1 ||
      unhex(value + 53, 1, fl) < 0)
    return CW_EMALFORMED;
  memcpy(trace_id, t, 16);
  memcpy(span_id, s, 8);
  if (flags) /* version 00 defines sampled (01) and random-trace-id (02) */
    *flags = fl[0] & CW_HTTP_TRACE_FLAGS_KNOWN;
  return CW_OK;
}

cw_status cw_http_parse_traceparent(const char *value, size_t len,
                                    uint8_t trace_id[16], uint8_t span_id[8]) {
  return cw_http_parse_traceparent_flags(value, len, trace_id, span_id, NULL);
}

cw_status cw_http_format_traceparent_flags(const uint8_t trace_id[16],
                                           const uint8_t span_id[8],
                                           uint8_t flags, char *buf,
                                           size_t cap) {
  char t[33], s[17];
  if (!buf || cap < 56)
    return CW_ETOOBIG;
  cw__http_hex(trace_id, 16, t);
  cw__http_hex(span_id, 8, s);
  snprintf(buf, cap, "00-%s-%s-%02x", t, s,
           (unsigned)(flags & CW_HTTP_TRACE_FLAGS_KNOWN));
  return CW_OK;
}

cw_status cw_http_format_traceparent(const uint8_t trace_id[16],
                                     const uint8_t span_id[8], char *buf,
                                     size_t cap) {
  return cw_http_format_traceparent_flags(trace_id, span_id, 0x01, buf, cap);
}

/* ---- tracestate (W3C Trace Context, section 3.3) ------------------------ */

static int lcalpha(int c) {
  return c >= 'a' && c <= 'z';
}

static int keychr(int c) {
  return lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '*' || c == '/';
}

/* key = simple-key / multi-tenant-key:
 *   simple-key = lcalpha 0*255(keychr)
 *   multi-tenant-key = tenant-id "@" system-id
 *   tenant-id = (lcalpha / DIGIT) 0*240(keychr)
 *   system-id = lcalpha 0*13(keychr) */
static int valid_key(const char *k, size_t n) {
  const char *at = memchr(k, '@', n);
  if (!at) {
    if (n < 1 || n > 256 || !lcalpha((unsigned char)k[0]))
      return 0;
    for (size_t i = 1; i < n; i++)
      if (!keychr((unsigned char)k[i]))
        return 0;
    return 1;
  }
  size_t tl = (size_t)(at - k), sl = n - tl - 1;
  if (tl < 1 || tl > 241 || sl < 1 || sl > 14)
    return 0;
  if (!lcalpha((unsigned char)k[0]) && !(k[0] >= '0' && k[0] <= '9'))
    return 0;
  for (size_t i = 1; i < tl; i++)
    if (!keychr((unsigned char)k[i]))
      return 0;
  if (!lcalpha((unsigned char)at[1]))
    return 0;
  for (size_t i = 2; i <= sl; i++)
    if (!keychr((unsigned char)at[i]))
      return 0;
  return 1;
}

/* value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
 * nblk-chr = %x21-2B / %x2D-3C / %x3E-7E */
static int valid_value(const char *v, size_t n) {
  if (n < 1 || n > 256 || v[n - 1] == ' ')
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
      return 0;
  }
  return 1;
}

typedef struct ts_member {
  const char *p;
  size_t n, keylen;
} ts_member;

#define TS_MAX_MEMBERS 32

int cw__http_tracestate_build(const char *const *values, size_t nvalues,
                              char *out, size_t cap) {
  ts_member m[TS_MAX_MEMBERS];
  size_t nm = 0;
  out[0] = '\0';
  for (size_t v = 0; v < nvalues; v++) {
    const char *p = values[v];
    while (p && *p) {
      size_t n = strcspn(p, ",");
      const char *b = p, *e = p + n;
      while (b < e && (*b == ' ' || *b == '\t'))
        b++;
      while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
      p += n + (p[n] == ',');
      if (b == e) /* empty list members are allowed and ignored */
        continue;
      const char *eq = memchr(b, '=', (size_t)(e - b));
      if (!eq || !valid_key(b, (size_t)(eq - b)) ||
          !valid_value(eq + 1, (size_t)(e - eq - 1)))
        return -1;
      size_t kl = (size_t)(eq - b), dup = 0;
      for (size_t i = 0; i < nm && !dup; i++)
        dup = m[i].keylen == kl && memcmp(m[i].p, b, kl) == 0;
      if (dup) /* the first occurrence of a key wins */
        continue;
      if (nm == TS_MAX_MEMBERS)
        return -1;
      m[nm++] = (ts_member){b, (size_t)(e - b), kl};
    }
  }
  /* Over the limit: drop members longer than 128 characters first, then
   * members from the end, until the combined value fits. */
  size_t total = 0;
  for (size_t i = 0; i < nm; i++)
    total += m[i].n + (i > 0);
  for (size_t i = 0; i < nm && total > CW_HTTP_TRACESTATE_MAX;) {
    if (m[i].n > 128) {
      total -= m[i].n + (nm > 1);
      memmove(&m[i], &m[i + 1], (nm - i - 1) * sizeof *m);
      nm--;
    } else {
      i++;
    }
  }
  while (nm > 0 && total > CW_HTTP_TRACESTATE_MAX) {
    nm--;
    total -= m[nm].n + (nm > 0);
  }
  size_t o = 0;
  for (size_t i = 0; i < nm; i++) {
    if (o + m[i].n + 2 > cap)
      return -1;
    if (i)
      out[o++] = ',';
    memcpy(out + o, m[i].p, m[i].n);
    o += m[i].n;
  }
  out[o] = '\0';
  return 0;
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
