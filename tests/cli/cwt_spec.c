/*
 * cwt_spec: see cwt_spec.h.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_format.h"
#include "cwt_spec.h"

#define MAX_TOK 32

typedef struct out_buf {
  uint8_t *p;
  size_t n, cap;
} out_buf;

static int append(out_buf *o, const uint8_t *p, size_t n) {
  if (o->n + n > o->cap) {
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->n + n)
      cap *= 2;
    uint8_t *q = realloc(o->p, cap);
    if (!q)
      return -1;
    o->p = q;
    o->cap = cap;
  }
  memcpy(o->p + o->n, p, n);
  o->n += n;
  return 0;
}

static int flush_batch(cw_batch_writer *bw, int *open, out_buf *o) {
  if (!*open)
    return 0;
  size_t n;
  uint8_t *z = cw__bw_compress(bw, &n);
  if (!z)
    return -1;
  int rc = append(o, z, n);
  free(z);
  *open = 0;
  return rc;
}

static int kind_of(const char *name) {
  for (uint32_t k = 1; k < CW_EV_KIND_MAX_; k++)
    if (!strcmp(cw__ev_kind_name(k), name))
      return (int)k;
  char *end;
  long v = strtol(name, &end, 10); /* a raw number: unknown kinds */
  return *end == '\0' && v > 0 && v < 256 ? (int)v : -1;
}

static uint32_t actor(cw_batch_writer *bw, const char *name) {
  return cw__bw_actor(bw, name, strlen(name), CW_ACTOR_THREAD);
}

static int fail(char *err, size_t errsz, int line, const char *fmt, ...) {
  va_list ap;
  int n = snprintf(err, errsz, "spec line %d: ", line);
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < errsz)
    vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}

static int parse_ev(cw_batch_writer *bw, char **tok, int nt, char *err,
                    size_t errsz, int line) {
  if (nt < 5)
    return fail(err, errsz, line, "ev SEQ ACTOR COUNTER KIND ...");
  cw_event_rec ev;
  memset(&ev, 0, sizeof ev);
  cw_clock_entry joins[16];
  ev.seq = strtoull(tok[1], NULL, 10);
  ev.actor = actor(bw, tok[2]);
  ev.counter = strtoull(tok[3], NULL, 10);
  int k = kind_of(tok[4]);
  if (k < 0)
    return fail(err, errsz, line, "unknown kind '%s'", tok[4]);
  ev.kind = (uint32_t)k;
  ev.wall_ns = (int64_t)ev.seq * 1000;
  ev.mono_ns = ev.seq * 1000;
  for (int i = 5; i < nt; i++) {
    char *t = tok[i];
    if (t[0] == '@') {
      char *colon = strrchr(t, ':');
      if (colon) {
        *colon = '\0';
        ev.line = (uint32_t)strtoul(colon + 1, NULL, 10);
      }
      ev.file = cw__bw_string(bw, t + 1, strlen(t + 1));
    } else if (!strncmp(t, "j=", 2)) {
      char *p = t + 2;
      while (*p && ev.njoins < 16) {
        char *comma = strchr(p, ',');
        if (comma)
          *comma = '\0';
        char *colon = strrchr(p, ':');
        if (!colon)
          return fail(err, errsz, line, "join '%s' is not ACTOR:N", p);
        *colon = '\0';
        joins[ev.njoins].actor = actor(bw, p);
        joins[ev.njoins].counter = strtoull(colon + 1, NULL, 10);
        ev.njoins++;
        if (!comma)
          break;
        p = comma + 1;
      }
      ev.joins = joins;
      ev.flags |= CW_EVF_JOINS;
    } else if (!strncmp(t, "f=", 2)) {
      if (strstr(t, "atomic"))
        ev.flags |= CW_EVF_ATOMIC;
      if (strstr(t, "shared"))
        ev.flags |= CW_EVF_SHARED;
      if (strstr(t, "try"))
        ev.flags |= CW_EVF_TRY;
      if (strstr(t, "full"))
        ev.flags |= CW_EVF_FULL_CLOCK;
    } else if (!strncmp(t, "val=", 4)) {
      ev.val_int = strtoll(t + 4, NULL, 10);
      ev.flags |= CW_EVF_VAL_INT;
    } else if (!strncmp(t, "str=", 4)) {
      ev.val_str = cw__bw_string(bw, t + 4, strlen(t + 4));
      ev.flags |= CW_EVF_VAL_STR;
    } else if (!strncmp(t, "detail=", 7)) {
      ev.detail = cw__bw_string(bw, t + 7, strlen(t + 7));
      ev.flags |= CW_EVF_DETAIL;
    } else if (!strncmp(t, "wall=", 5)) {
      ev.wall_ns = strtoll(t + 5, NULL, 10);
    } else if (!strncmp(t, "mono=", 5)) {
      ev.mono_ns = strtoull(t + 5, NULL, 10);
    } else if (!strncmp(t, "trace=", 6) || !strncmp(t, "span=", 5) ||
               !strncmp(t, "pspan=", 6)) {
      uint8_t *dst = t[0] == 't'   ? ev.trace_id
                     : t[0] == 's' ? ev.span_id
                                   : ev.parent_span_id;
      size_t want = t[0] == 't' ? 16 : 8;
      const char *hex = strchr(t, '=') + 1;
      if (strlen(hex) != want * 2)
        return fail(err, errsz, line, "'%s' needs %zu hex digits", t, want * 2);
      for (size_t b = 0; b < want; b++) {
        unsigned v;
        if (sscanf(hex + 2 * b, "%2x", &v) != 1)
          return fail(err, errsz, line, "bad hex in '%s'", t);
        dst[b] = (uint8_t)v;
      }
      ev.flags |= CW_EVF_TRACE;
    } else if (!strncmp(t, "dur=", 4)) {
      ev.duration_ns = strtoull(t + 4, NULL, 10);
      ev.flags |= CW_EVF_DURATION;
    } else if (i == 5 && strcmp(t, "-") != 0) {
      ev.object = cw__bw_string(bw, t, strlen(t));
    } else if (i != 5) {
      return fail(err, errsz, line, "unknown field '%s'", t);
    }
  }
  if (ev.njoins && !(ev.flags & CW_EVF_JOINS))
    ev.flags |= CW_EVF_JOINS;
  if (cw__bw_event(bw, &ev) != 0)
    return fail(err, errsz, line, "batch full");
  return 0;
}

uint8_t *cwt_from_spec(const char *spec, size_t len, size_t *out_len, char *err,
                       size_t errsz) {
  cw_batch_writer *bw = cw__bw_new((size_t)1 << 20);
  char *text = malloc(len + 1);
  out_buf o = {0};
  if (!bw || !text) {
    cw__bw_free(bw);
    free(text);
    snprintf(err, errsz, "out of memory");
    return NULL;
  }
  memcpy(text, spec, len);
  text[len] = '\0';
  int open = 0, line = 0, rc = 0;
  size_t truncate = 0;
  uint64_t batch_no = 0;
  unsigned stream = 0x5a;
  char *save = NULL;
  for (char *l = text; l && rc == 0; l = save) {
    char *nl = strchr(l, '\n');
    save = nl ? nl + 1 : NULL;
    if (nl)
      *nl = '\0';
    line++;
    char *tok[MAX_TOK];
    int nt = 0;
    char *p = l;
    while (*p && nt < MAX_TOK) {
      while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
      if (!*p || *p == '#')
        break;
      tok[nt++] = p;
      while (*p && *p != ' ' && *p != '\t' && *p != '\r')
        p++;
      if (*p)
        *p++ = '\0';
    }
    if (nt == 0)
      continue;
    if (!strcmp(tok[0], "stream") && nt == 2) {
      stream = (unsigned)strtoul(tok[1], NULL, 10) & 0xffu;
      batch_no = 0;
      continue;
    }
    if (!strcmp(tok[0], "batch")) {
      if (nt != 4) {
        rc = fail(err, errsz, line, "batch SERVICE INSTANCE PID");
        break;
      }
      if (flush_batch(bw, &open, &o)) {
        rc = fail(err, errsz, line, "compress failed");
        break;
      }
      cw_batch_hdr h;
      memset(&h, 0, sizeof h);
      h.version = CW_FORMAT_VERSION;
      memset(h.stream_id, (int)stream, sizeof h.stream_id);
      h.batch_no = batch_no++;
      h.service = tok[1];
      h.service_len = strlen(tok[1]);
      h.instance = tok[2];
      h.instance_len = strlen(tok[2]);
      h.pid = strtoull(tok[3], NULL, 10);
      cw__bw_begin(bw, &h);
      open = 1;
    } else if (!open && strcmp(tok[0], "truncate") != 0) {
      rc = fail(err, errsz, line, "'%s' before the first batch", tok[0]);
    } else if (!strcmp(tok[0], "ev")) {
      rc = parse_ev(bw, tok, nt, err, errsz, line);
    } else if (!strcmp(tok[0], "gap") && nt == 5) {
      if (cw__bw_gap(bw, actor(bw, tok[1]), strtoull(tok[2], NULL, 10),
                     strtoull(tok[3], NULL, 10), strtoull(tok[4], NULL, 10)))
        rc = fail(err, errsz, line, "batch full");
    } else if (!strcmp(tok[0], "retire") && nt >= 3) {
      uint32_t ids[MAX_TOK];
      for (int i = 2; i < nt; i++)
        ids[i - 2] = actor(bw, tok[i]);
      if (cw__bw_retire(bw, strtoull(tok[1], NULL, 10), ids,
                        (uint32_t)(nt - 2)))
        rc = fail(err, errsz, line, "batch full");
    } else if (!strcmp(tok[0], "truncate") && nt == 2) {
      truncate = strtoull(tok[1], NULL, 10);
    } else {
      rc = fail(err, errsz, line, "unknown directive '%s'", tok[0]);
    }
  }
  if (rc == 0 && flush_batch(bw, &open, &o))
    rc = fail(err, errsz, line, "compress failed");
  cw__bw_free(bw);
  free(text);
  if (rc) {
    free(o.p);
    return NULL;
  }
  if (truncate > o.n)
    truncate = o.n;
  *out_len = o.n - truncate;
  if (!o.p)
    o.p = malloc(1);
  return o.p;
}
