/*
 * cw_std: the RAPID "STD" trace decoder (THREAD|OP|LOC, one event a line).
 *
 * DESIGN. The trace is streamed through a fixed 1 MiB window (a line longer
 * than that is an error), so a 10 M-line file never sits in memory. A line
 * is split in place without copying or allocating; names are interned by the
 * engine, and the thread of the previous line is cached because traces come
 * in runs of one thread. Happens-before is left to the engine: events carry
 * no counter and no joins, and the sync events (acq/rel/fork/join) are its
 * edges. The engine timestamp and sequence of an event are its line number.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_input.h"

#define STD_WINDOW ((size_t)1 << 20) /* read buffer and max line length */
#define STD_PROGRESS_LINES 65536u

static int is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void strip(const char **s, size_t *len) {
  const char *p = *s;
  size_t n = *len;
  while (n > 0 && is_blank(*p)) {
    p++;
    n--;
  }
  while (n > 0 && is_blank(p[n - 1]))
    n--;
  *s = p;
  *len = n;
}

static int fail(char *msg, size_t msgsz, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, msgsz, fmt, ap);
  va_end(ap);
  return -1;
}

/* Checks a THREAD, V, L, T or LOC name. */
static int check_name(const char *what, const char *s, size_t n, char *msg,
                      size_t msgsz) {
  if (n == 0)
    return fail(msg, msgsz, "empty %s", what);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '(' || s[i] == ')' || s[i] == '|')
      return fail(msg, msgsz, "'%c' in %s", s[i], what);
    if (s[i] == '\0')
      return fail(msg, msgsz, "NUL byte in %s", what);
  }
  return 0;
}

static const struct {
  const char *name;
  size_t len;
  int kind;
  const char *arg;
} std_ops[] = {
    {"r", 1, CW_AE_READ, "variable"},
    {"w", 1, CW_AE_WRITE, "variable"},
    {"acq", 3, CW_AE_LOCK_ACQUIRE, "lock"},
    {"rel", 3, CW_AE_LOCK_RELEASE, "lock"},
    {"req", 3, CW_AE_LOCK_REQUEST, "lock"},
    {"fork", 4, CW_AE_FORK, "thread"},
    {"join", 4, CW_AE_JOIN, "thread"},
};

int cw__std_parse_line(const char *line, size_t len, cw_std_line *out,
                       char *msg, size_t msgsz) {
  memset(out, 0, sizeof *out);
  strip(&line, &len);
  if (len == 0 || line[0] == '#')
    return 0;

  const char *bar1 = memchr(line, '|', len);
  const char *bar2 =
      bar1 ? memchr(bar1 + 1, '|', len - (size_t)(bar1 + 1 - line)) : NULL;
  if (!bar2)
    return fail(msg, msgsz, "expected THREAD|OP|LOC");
  const char *end = line + len;
  if (memchr(bar2 + 1, '|', (size_t)(end - bar2 - 1)))
    return fail(msg, msgsz, "too many '|' (expected THREAD|OP|LOC)");

  const char *th = line, *op = bar1 + 1, *loc = bar2 + 1;
  size_t thn = (size_t)(bar1 - line), opn = (size_t)(bar2 - op);
  size_t locn = (size_t)(end - loc);
  strip(&th, &thn);
  strip(&op, &opn);
  strip(&loc, &locn);
  if (check_name("thread name", th, thn, msg, msgsz) ||
      check_name("location", loc, locn, msg, msgsz))
    return -1;

  const char *open = memchr(op, '(', opn);
  if (opn == 0)
    return fail(msg, msgsz, "empty operation");
  if (!open || op[opn - 1] != ')')
    return fail(msg, msgsz, "operation '%.*s' is not OP(NAME)",
                (int)(opn > 64 ? 64 : opn), op);
  const char *name = op;
  size_t namen = (size_t)(open - op);
  const char *arg = open + 1;
  size_t argn = (size_t)(op + opn - 1 - arg);
  strip(&name, &namen);
  strip(&arg, &argn);
  int kind = 0;
  const char *argwhat = NULL;
  for (size_t i = 0; i < sizeof std_ops / sizeof std_ops[0]; i++) {
    if (namen == std_ops[i].len && memcmp(name, std_ops[i].name, namen) == 0) {
      kind = std_ops[i].kind;
      argwhat = std_ops[i].arg;
      break;
    }
  }
  if (!kind)
    return fail(msg, msgsz,
                "unknown operation '%.*s' (expected r, w, acq, rel, req, "
                "fork or join)",
                (int)(namen > 32 ? 32 : namen), name);
  if (check_name(argwhat, arg, argn, msg, msgsz))
    return -1;
  out->kind = kind;
  out->thread = th;
  out->thread_len = thn;
  out->arg = arg;
  out->arg_len = argn;
  out->loc = loc;
  out->loc_len = locn;
  return 0;
}

/* Decoder state shared by the stream and buffer entry points. */
typedef struct std_ctx {
  cw_engine *e;
  const cw_input_opts *o;
  cw_input_stats *st;
  cw_input_error *err;
  const char *name;
  cw_sym service;
  int prefix;
  char *scratch; /* "service/THREAD" names: service, '/', a line */
  size_t svc_len;
  /* Cache of the previous line's thread. */
  char last_thread[256];
  size_t last_len;
  cw_actor_id last_actor;
  uint64_t lineno;
  uint64_t bytes;       /* of this input (progress) */
  cw_input_stats dummy; /* when the caller passes no stats */
} std_ctx;

static cw_actor_id std_actor(std_ctx *c, const char *s, size_t n) {
  if (c->last_actor && n == c->last_len && memcmp(s, c->last_thread, n) == 0)
    return c->last_actor;
  cw_sym sym;
  if (c->prefix) {
    memcpy(c->scratch + c->svc_len + 1, s, n);
    sym = cw__engine_intern(c->e, c->scratch, c->svc_len + 1 + n);
  } else {
    sym = cw__engine_intern(c->e, s, n);
  }
  cw_actor_id a = cw__engine_actor(c->e, sym, c->service);
  if (n <= sizeof c->last_thread) {
    memcpy(c->last_thread, s, n);
    c->last_len = n;
    c->last_actor = a;
  }
  return a;
}

static int std_error(std_ctx *c, const char *reason) {
  cw__input_error_at(c->err, c->name, c->lineno, reason);
  return -1;
}

static int std_line(std_ctx *c, const char *line, size_t len) {
  cw_std_line l;
  char msg[200];
  c->lineno++;
  c->st->lines++;
  c->st->bytes += len + 1;
  c->bytes += len + 1;
  if (len >= STD_WINDOW)
    return std_error(c, "line longer than 1 MiB");
  if (cw__std_parse_line(line, len, &l, msg, sizeof msg) != 0)
    return std_error(c, msg);
  if (!l.kind)
    return 0;
  cw_aevent ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = (cw_ae_kind)l.kind;
  ev.actor = std_actor(c, l.thread, l.thread_len);
  if (l.kind == CW_AE_FORK || l.kind == CW_AE_JOIN) {
    cw_actor_id a = ev.actor;
    ev.child = std_actor(c, l.arg, l.arg_len);
    ev.actor = a;
  } else {
    ev.object = cw__engine_intern(c->e, l.arg, l.arg_len);
  }
  ev.loc = cw__engine_intern(c->e, l.loc, l.loc_len);
  ev.ts_ns = (int64_t)c->lineno;
  ev.seq = c->lineno;
  (void)cw__engine_feed(c->e, &ev);
  c->st->events++;
  if (c->o && c->o->progress && c->lineno % STD_PROGRESS_LINES == 0)
    c->o->progress(c->o->progress_ud, c->bytes, c->o->total_bytes);
  return 0;
}

static int std_init(std_ctx *c, cw_engine *e, const cw_input_opts *o,
                    cw_input_stats *st, cw_input_error *err) {
  memset(c, 0, sizeof *c);
  c->e = e;
  c->o = o;
  c->st = st ? st : &c->dummy;
  c->err = err;
  c->name = (o && o->name) ? o->name : "<input>";
  const char *svc = (o && o->service) ? o->service : NULL;
  c->service = svc ? cw__engine_intern(e, svc, strlen(svc)) : 0;
  c->prefix = o && o->prefix_actors && svc;
  if (err) {
    err->msg[0] = '\0';
    err->line = 0;
  }
  if (c->prefix) {
    c->svc_len = strlen(svc);
    c->scratch = malloc(c->svc_len + 1 + STD_WINDOW);
    if (!c->scratch)
      return std_error(c, "out of memory");
    memcpy(c->scratch, svc, c->svc_len);
    c->scratch[c->svc_len] = '/';
  }
  return 0;
}

int cw__std_decode_buf(const char *buf, size_t len, cw_engine *e,
                       const cw_input_opts *o, cw_input_stats *st,
                       cw_input_error *err) {
  std_ctx c;
  if (std_init(&c, e, o, st, err) != 0)
    return -1;
  int rc = 0;
  size_t pos = 0;
  while (pos < len && rc == 0) {
    const char *nl = memchr(buf + pos, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
    rc = std_line(&c, buf + pos, n);
    pos += n + 1;
  }
  free(c.scratch);
  return rc;
}

int cw__std_decode_stream(FILE *f, cw_engine *e, const cw_input_opts *o,
                          cw_input_stats *st, cw_input_error *err) {
  std_ctx c;
  if (std_init(&c, e, o, st, err) != 0)
    return -1;
  char *buf = malloc(STD_WINDOW);
  if (!buf) {
    free(c.scratch);
    return std_error(&c, "out of memory");
  }
  size_t have = 0; /* bytes in buf */
  int rc = 0, eof = 0;
  while (rc == 0) {
    if (!eof && have < STD_WINDOW) {
      size_t got = fread(buf + have, 1, STD_WINDOW - have, f);
      have += got;
      if (got == 0) {
        if (ferror(f)) {
          c.lineno++;
          rc = std_error(&c, strerror(errno ? errno : EIO));
          break;
        }
        eof = 1;
      }
    }
    size_t pos = 0;
    for (;;) {
      const char *nl = memchr(buf + pos, '\n', have - pos);
      if (!nl)
        break;
      size_t n = (size_t)(nl - (buf + pos));
      if ((rc = std_line(&c, buf + pos, n)) != 0)
        break;
      pos += n + 1;
    }
    if (rc)
      break;
    if (eof) {
      if (pos < have)
        rc = std_line(&c, buf + pos, have - pos);
      break;
    }
    if (pos == 0 && have == STD_WINDOW) {
      c.lineno++;
      rc = std_error(&c, "line longer than 1 MiB");
      break;
    }
    memmove(buf, buf + pos, have - pos);
    have -= pos;
  }
  free(buf);
  free(c.scratch);
  return rc;
}
