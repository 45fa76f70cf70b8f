/*
 * cw_clocks: inputs whose events carry their own vector clocks.
 *
 *   - "clocks": JSON lines, one native record per line (docs/event-format.md,
 *     "Text events with clocks"), the form `causeway dump --format clocks`
 *     writes;
 *   - "shiviz": ShiViz / GoVector logs, a regular expression with the named
 *     groups host, clock and event (and any others) matched over the whole
 *     log, the clock a JSON object host -> counter.
 *
 * DESIGN. Both are turned into native batches with the SDK's batch writer
 * (sdk/format) and decoded by cw__native_decode_buf, so they reach the
 * engine through the one native mapper (server/input/cw_native_map.c):
 * the same actor names, key and lock scope, clock handling and sequence
 * order as a trace file. A clock's own entry is the event's counter; the
 * other entries are its joins ("this event follows events 1..n of that
 * actor"). ShiViz hosts are the threads of one process named after the
 * input (as an STD trace is one process), so their variables are shared.
 * JSON is parsed with jansson; the ShiViz expressions are POSIX extended
 * regular expressions (regcomp) after their named groups "(?<name>" are
 * numbered and the usual escapes (\d \w \s \S \n \t) spelled in POSIX.
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_format.h"
#include "cw_input.h"

#define CK_BATCH_BYTES ((size_t)1 << 20)
#define CK_BATCH_EVENTS 4096
#define CK_MAX_JOINS 4096
#define CK_MAX_BYTES ((size_t)1 << 30)

/* ---- Native image builder ------------------------------------------------ */

typedef struct ck_out {
  cw_batch_writer *bw;
  uint8_t *img;
  size_t n, cap;
  int open;
  uint64_t batch_no;
  char service[256], instance[256];
  uint64_t pid;
} ck_out;

static int out_flush(ck_out *o) {
  if (!o->open)
    return 0;
  size_t n;
  uint8_t *z = cw__bw_compress(o->bw, &n);
  if (!z)
    return -1;
  if (o->n + n > o->cap) {
    size_t cap = o->cap ? o->cap : 65536;
    while (cap < o->n + n)
      cap *= 2;
    uint8_t *p = realloc(o->img, cap);
    if (!p) {
      cw__fmt_free(z);
      return -1;
    }
    o->img = p;
    o->cap = cap;
  }
  memcpy(o->img + o->n, z, n);
  o->n += n;
  cw__fmt_free(z);
  o->open = 0;
  return 0;
}

/* Starts a batch when none is open or the open one is full. */
static int out_room(ck_out *o) {
  if (o->open && cw__bw_events(o->bw) < CK_BATCH_EVENTS) {
    size_t len;
    (void)cw__bw_data(o->bw, &len);
    if (len < CK_BATCH_BYTES / 2)
      return 0;
  }
  if (out_flush(o) != 0)
    return -1;
  cw_batch_hdr h;
  memset(&h, 0, sizeof h);
  h.version = CW_FORMAT_VERSION;
  memset(h.stream_id, 0xc7, sizeof h.stream_id);
  h.batch_no = o->batch_no++;
  h.service = o->service;
  h.service_len = strlen(o->service);
  h.instance = o->instance;
  h.instance_len = strlen(o->instance);
  h.pid = o->pid;
  if (cw__bw_begin(o->bw, &h) != 0)
    return -1;
  o->open = 1;
  return 0;
}

static void out_free(ck_out *o) {
  cw__bw_free(o->bw);
  free(o->img);
}

static int ck_fail(cw_input_error *err, const char *name, uint64_t line,
                   const char *fmt, ...) {
  if (!err)
    return -1;
  char msg[240];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cw__input_error_at(err, name, line, msg);
  return -1;
}

static int kind_of(const char *name) {
  for (uint32_t k = 1; k < CW_EV_KIND_MAX_; k++)
    if (!strcmp(cw__ev_kind_name(k), name))
      return (int)k;
  return -1;
}

static uint32_t str_id(ck_out *o, const char *s) {
  return s ? cw__bw_string(o->bw, s, strlen(s)) : 0;
}

/* Fills the event's counter and joins from a clock object. `self` names
 * the event's actor in the clock. @return NULL or the reason it is bad. */
static const char *clock_joins(ck_out *o, json_t *clock, const char *self,
                               cw_event_rec *ev, cw_clock_entry *joins) {
  if (!json_is_object(clock))
    return "\"clock\" must be an object of actor -> counter";
  json_t *own = json_object_get(clock, self);
  if (!json_is_integer(own) || json_integer_value(own) < 1)
    return "the clock has no entry (>= 1) for the event's own actor";
  ev->counter = (uint64_t)json_integer_value(own);
  const char *k;
  json_t *v;
  json_object_foreach(clock, k, v) {
    if (!json_is_integer(v) || json_integer_value(v) < 0)
      return "clock counters must be integers >= 0";
    if (!strcmp(k, self) || json_integer_value(v) == 0)
      continue;
    if (ev->njoins >= CK_MAX_JOINS)
      return "more than 4096 clock entries";
    joins[ev->njoins].actor =
        cw__bw_actor(o->bw, k, strlen(k), CW_ACTOR_THREAD);
    joins[ev->njoins].counter = (uint64_t)json_integer_value(v);
    ev->njoins++;
  }
  if (ev->njoins) {
    ev->joins = joins;
    ev->flags |= CW_EVF_JOINS;
  }
  return NULL;
}

/* Hands the finished image to the caller. @return 0 or -1. */
static int take_image(ck_out *o, const cw_input_opts *io, uint8_t **img,
                      size_t *img_len, cw_input_error *err) {
  if (out_flush(o) != 0)
    return ck_fail(err, io && io->name ? io->name : "<input>", 0,
                   "out of memory");
  *img = o->img;
  *img_len = o->n;
  o->img = NULL;
  return 0;
}

/* Decodes an image made from text. @return 0 or -1. */
static int decode_image(uint8_t *img, size_t n, cw_engine *e,
                        const cw_input_opts *io, cw_input_stats *st,
                        cw_input_error *err) {
  uint64_t bytes = st->bytes;
  int rc = cw__native_decode_buf(img, n, e, io, st, err);
  st->bytes = bytes; /* the text's bytes were counted, not the image's */
  free(img);
  return rc;
}

static int out_init(ck_out *o, const cw_input_opts *io) {
  memset(o, 0, sizeof *o);
  o->bw = cw__bw_new(CK_BATCH_BYTES);
  snprintf(o->service, sizeof o->service, "%s",
           io && io->service ? io->service : "clocks");
  snprintf(o->instance, sizeof o->instance, "0");
  return o->bw ? 0 : -1;
}

/* ---- JSON lines ---------------------------------------------------------- */

static const char *hex_field(json_t *line, const char *key, uint8_t *dst,
                             size_t n, int *present) {
  json_t *v = json_object_get(line, key);
  if (!v)
    return NULL;
  const char *s = json_string_value(v);
  if (!s || strlen(s) != 2 * n)
    return "trace ids are hex strings (trace_id 32, span ids 16 digits)";
  for (size_t i = 0; i < n; i++) {
    unsigned x;
    if (sscanf(s + 2 * i, "%2x", &x) != 1)
      return "trace ids are hex strings";
    dst[i] = (uint8_t)x;
  }
  *present = 1;
  return NULL;
}

static int64_t int_field(json_t *o, const char *key, int64_t dflt) {
  json_t *v = json_object_get(o, key);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static const char *sfield(json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* Registers the actors of a {"name": "thread"|"task"|"remote"} object with
 * their kinds (before the line uses them). */
static const char *register_kinds(ck_out *o, json_t *kinds) {
  if (kinds && !json_is_object(kinds))
    return "\"kinds\" must be an object of actor -> kind";
  const char *k;
  json_t *v;
  json_object_foreach(kinds, k, v) {
    const char *kind = json_string_value(v);
    uint32_t ak = !kind                     ? 0
                  : !strcmp(kind, "thread") ? CW_ACTOR_THREAD
                  : !strcmp(kind, "task")   ? CW_ACTOR_TASK
                  : !strcmp(kind, "remote") ? CW_ACTOR_REMOTE
                                            : 0;
    if (!ak)
      return "actor kinds are \"thread\", \"task\" or \"remote\"";
    if (!cw__bw_actor(o->bw, k, strlen(k), ak))
      return "batch full";
  }
  return NULL;
}

/* One {"batch":{...}} line: the header later events are qualified with. */
static const char *clocks_batch(ck_out *o, json_t *b) {
  if (!json_is_object(b))
    return "\"batch\" must be an object";
  const char *svc = sfield(b, "service"), *inst = sfield(b, "instance");
  if (svc)
    snprintf(o->service, sizeof o->service, "%s", svc);
  if (inst)
    snprintf(o->instance, sizeof o->instance, "%s", inst);
  o->pid = (uint64_t)int_field(b, "pid", 0);
  if (out_flush(o) != 0 || out_room(o) != 0)
    return "out of memory";
  return NULL;
}

static const char *clocks_event(ck_out *o, json_t *line, uint64_t lineno,
                                cw_clock_entry *joins) {
  const char *actor = sfield(line, "actor"), *kind = sfield(line, "kind");
  if (!actor || !*actor)
    return "\"actor\" (a string) is required";
  if (!kind)
    return "\"kind\" (a string) is required";
  int k = kind_of(kind);
  if (k < 0)
    return "unknown \"kind\"";
  cw_event_rec ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = (uint32_t)k;
  ev.actor = cw__bw_actor(o->bw, actor, strlen(actor), CW_ACTOR_THREAD);
  const char *why =
      clock_joins(o, json_object_get(line, "clock"), actor, &ev, joins);
  if (why)
    return why;
  ev.seq = (uint64_t)int_field(line, "seq", (int64_t)lineno);
  ev.wall_ns = int_field(line, "wall_ns", (int64_t)ev.seq * 1000);
  ev.mono_ns = (uint64_t)int_field(line, "mono_ns", (int64_t)ev.seq * 1000);
  ev.object = str_id(o, sfield(line, "object"));
  ev.file = str_id(o, sfield(line, "file"));
  ev.line = (uint32_t)int_field(line, "line", 0);
  ev.func = str_id(o, sfield(line, "func"));
  json_t *val = json_object_get(line, "value");
  if (json_is_integer(val)) {
    ev.val_int = (int64_t)json_integer_value(val);
    ev.flags |= CW_EVF_VAL_INT;
  } else if (json_is_string(val)) {
    ev.val_str = str_id(o, json_string_value(val));
    ev.flags |= CW_EVF_VAL_STR;
  } else if (val) {
    return "\"value\" is an integer or a string";
  }
  if (json_object_get(line, "duration_ns")) {
    ev.duration_ns = (uint64_t)int_field(line, "duration_ns", 0);
    ev.flags |= CW_EVF_DURATION;
  }
  if (sfield(line, "detail")) {
    ev.detail = str_id(o, sfield(line, "detail"));
    ev.flags |= CW_EVF_DETAIL;
  }
  if (json_object_get(line, "aux")) {
    ev.aux = int_field(line, "aux", 0);
    ev.flags |= CW_EVF_AUX;
  }
  int tr = 0;
  if ((why = hex_field(line, "trace_id", ev.trace_id, 16, &tr)) ||
      (why = hex_field(line, "span_id", ev.span_id, 8, &tr)) ||
      (why = hex_field(line, "parent_span_id", ev.parent_span_id, 8, &tr)))
    return why;
  if (tr)
    ev.flags |= CW_EVF_TRACE;
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(line, "flags"), i, f) {
    const char *s = json_string_value(f);
    uint32_t bit = !s                     ? 0
                   : !strcmp(s, "atomic") ? CW_EVF_ATOMIC
                   : !strcmp(s, "shared") ? CW_EVF_SHARED
                   : !strcmp(s, "try")    ? CW_EVF_TRY
                   : !strcmp(s, "error")  ? CW_EVF_ERROR
                   : !strcmp(s, "full")   ? CW_EVF_FULL_CLOCK
                                          : 0;
    if (!bit)
      return "flags are \"atomic\", \"shared\", \"try\", \"error\", \"full\"";
    ev.flags |= bit;
  }
  if (!ev.file && ev.line)
    return "\"line\" needs \"file\"";
  return cw__bw_event(o->bw, &ev) != 0 ? "batch full" : NULL;
}

static const char *clocks_gap(ck_out *o, json_t *g) {
  const char *actor = sfield(g, "actor");
  if (!actor)
    return "\"gap\" needs \"actor\"";
  uint32_t a = cw__bw_actor(o->bw, actor, strlen(actor), CW_ACTOR_THREAD);
  return cw__bw_gap(o->bw, a, (uint64_t)int_field(g, "dropped", 0),
                    (uint64_t)int_field(g, "first_seq", 0),
                    (uint64_t)int_field(g, "last_seq", 0)) != 0
             ? "batch full"
             : NULL;
}

static const char *clocks_retire(ck_out *o, json_t *r) {
  json_t *names = json_object_get(r, "actors");
  if (!json_is_array(names) || json_array_size(names) > CK_MAX_JOINS)
    return "\"retire\" needs \"actors\" (at most 4096)";
  uint32_t ids[CK_MAX_JOINS];
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    const char *s = json_string_value(v);
    if (!s)
      return "retired actors are strings";
    ids[i] = cw__bw_actor(o->bw, s, strlen(s), CW_ACTOR_THREAD);
  }
  return cw__bw_retire(o->bw, (uint64_t)int_field(r, "seq", 0), ids,
                       (uint32_t)json_array_size(names)) != 0
             ? "batch full"
             : NULL;
}

typedef int (*to_native_fn)(const char *buf, size_t len,
                            const cw_input_opts *io, cw_input_stats *st,
                            uint8_t **img, size_t *n, cw_input_error *err);

/* Converts a text input to a native image, then decodes that. */
static int decode_text(to_native_fn conv, const char *buf, size_t len,
                       cw_engine *e, const cw_input_opts *io,
                       cw_input_stats *st, cw_input_error *err) {
  cw_input_stats dummy;
  st = cw__stats_or(st, &dummy);
  uint8_t *img;
  size_t n;
  if (conv(buf, len, io, st, &img, &n, err) != 0)
    return -1;
  return decode_image(img, n, e, io, st, err);
}

int cw__clocks_decode_buf(const char *buf, size_t len, cw_engine *e,
                          const cw_input_opts *io, cw_input_stats *st,
                          cw_input_error *err) {
  return decode_text(cw__clocks_to_native, buf, len, e, io, st, err);
}

int cw__shiviz_decode_buf(const char *buf, size_t len, cw_engine *e,
                          const cw_input_opts *io, cw_input_stats *st,
                          cw_input_error *err) {
  return decode_text(cw__shiviz_to_native, buf, len, e, io, st, err);
}

int cw__clocks_to_native(const char *buf, size_t len, const cw_input_opts *io,
                         cw_input_stats *st, uint8_t **img, size_t *img_len,
                         cw_input_error *err) {
  const char *name = io && io->name ? io->name : "<input>";
  cw_input_stats dummy;
  st = cw__stats_or(st, &dummy);
  ck_out o;
  cw_clock_entry *joins = malloc(CK_MAX_JOINS * sizeof *joins);
  if (out_init(&o, io) != 0 || !joins) {
    out_free(&o);
    free(joins);
    return ck_fail(err, name, 0, "out of memory");
  }
  st->bytes += len;
  int rc = 0;
  uint64_t lineno = 0;
  for (size_t pos = 0; pos < len && rc == 0;) {
    const char *nl = memchr(buf + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - buf) : len;
    lineno++;
    size_t s = pos;
    while (s < end && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\r'))
      s++;
    pos = end + 1;
    if (s == end || buf[s] == '#')
      continue; /* blank lines and comments */
    json_error_t je;
    json_t *line = json_loadb(buf + s, end - s, 0, &je);
    if (!json_is_object(line)) {
      json_decref(line);
      rc = ck_fail(err, name, lineno, "expected one JSON object: %s",
                   line ? "not an object" : je.text);
      break;
    }
    st->lines++;
    json_t *b = json_object_get(line, "batch"), *v;
    const char *why = NULL;
    if (b)
      why = clocks_batch(&o, b);
    else if (out_room(&o) != 0)
      why = "out of memory";
    else if (!(why = register_kinds(&o, json_object_get(line, "kinds")))) {
      if ((v = json_object_get(line, "gap")))
        why = clocks_gap(&o, v);
      else if ((v = json_object_get(line, "retire")))
        why = clocks_retire(&o, v);
      else
        why = clocks_event(&o, line, lineno, joins);
    }
    json_decref(line);
    if (why)
      rc = ck_fail(err, name, lineno, "%s", why);
  }
  if (rc == 0)
    rc = take_image(&o, io, img, img_len, err);
  out_free(&o);
  free(joins);
  return rc;
}

/* ---- ShiViz -------------------------------------------------------------- */

const char *const cw__shiviz_default_regex =
    "(?<host>\\S*) (?<clock>{.*})\\n(?<event>.*)";
const char *const cw__shiviz_default_map =
    "^(?<op>Read|Write) .* (from|to) (?<var>[^ ]+)"
    "( of type .*\\(ptr=(?<addr>[0-9a-fx]+)\\))?";

#define SV_MAX_GROUPS 32

typedef struct sv_re {
  regex_t re;
  int compiled;
  char names[SV_MAX_GROUPS][32]; /* group number -> name ("" unnamed) */
  size_t ngroups;
} sv_re;

static int group_of(const sv_re *r, const char *name) {
  for (size_t i = 1; i <= r->ngroups && i < SV_MAX_GROUPS; i++)
    if (!strcmp(r->names[i], name))
      return (int)i;
  return -1;
}

/* Spells a ShiViz (JavaScript) expression in POSIX ERE and numbers its
 * named groups. @return NULL or why it cannot be used. */
static const char *sv_compile(sv_re *r, const char *js) {
  memset(r, 0, sizeof *r);
  size_t n = strlen(js), cap = n * 16 + 1;
  char *out = malloc(cap), *p = out;
  if (!out)
    return "out of memory";
  int in_bracket = 0;
  const char *why = NULL;
  for (size_t i = 0; i < n && !why; i++) {
    char c = js[i];
    if (c == '\\' && i + 1 < n) {
      char d = js[++i];
      const char *rep = NULL;
      switch (d) {
      case 'd':
        rep = in_bracket ? "0-9" : "[0-9]";
        break;
      case 'w':
        rep = in_bracket ? "[:alnum:]_" : "[[:alnum:]_]";
        break;
      case 's':
        rep = in_bracket ? "[:space:]" : "[[:space:]]";
        break;
      case 'S':
        rep = in_bracket ? NULL : "[^[:space:]]";
        break;
      case 'n':
        rep = "\n";
        break;
      case 't':
        rep = "\t";
        break;
      default:
        break;
      }
      if (rep) {
        p += snprintf(p, cap - (size_t)(p - out), "%s", rep);
      } else if (d == 'S' || d == 'D' || d == 'W' || d == 'b' || d == 'B') {
        why = "\\S, \\D, \\W, \\b inside [...] or word boundaries have no "
              "POSIX spelling";
      } else if (in_bracket) {
        *p++ = d; /* a literal inside [...] */
      } else {
        *p++ = '\\';
        *p++ = d;
      }
      continue;
    }
    if (in_bracket) {
      if (c == ']' &&
          !(p > out &&
            (p[-1] == '[' || (p[-1] == '^' && p > out + 1 && p[-2] == '['))))
        in_bracket = 0;
      *p++ = c;
      continue;
    }
    if (c == '[') {
      in_bracket = 1;
      *p++ = c;
    } else if (c == '(') {
      if (js[i + 1] == '?') {
        if (js[i + 2] != '<' || js[i + 3] == '=' || js[i + 3] == '!') {
          why = "only named groups (?<name>...) and plain groups are "
                "supported";
          break;
        }
        const char *end = strchr(js + i + 3, '>');
        if (!end || end - (js + i + 3) >= 32 || end == js + i + 3) {
          why = "a group name is 1 to 31 characters";
          break;
        }
        r->ngroups++;
        if (r->ngroups < SV_MAX_GROUPS)
          memcpy(r->names[r->ngroups], js + i + 3,
                 (size_t)(end - (js + i + 3)));
        i = (size_t)(end - js);
      } else {
        r->ngroups++;
      }
      *p++ = '(';
    } else if (c == '{' && !(js[i + 1] >= '0' && js[i + 1] <= '9')) {
      *p++ = '\\'; /* a literal brace (JavaScript), not an interval */
      *p++ = '{';
    } else if (c == '}' && !(p > out && p[-1] >= '0' && p[-1] <= '9')) {
      *p++ = '\\';
      *p++ = '}';
    } else {
      *p++ = c;
    }
  }
  *p = '\0';
  if (!why && r->ngroups >= SV_MAX_GROUPS)
    why = "more than 31 groups";
  if (!why) {
    int rc = regcomp(&r->re, out, REG_EXTENDED | REG_NEWLINE);
    if (rc != 0) {
      static char msg[160];
      regerror(rc, &r->re, msg, sizeof msg);
      why = msg;
    } else {
      r->compiled = 1;
    }
  }
  free(out);
  return why;
}

static void sv_free(sv_re *r) {
  if (r->compiled)
    regfree(&r->re);
}

static size_t lines_before(const char *buf, size_t off, size_t *from,
                           size_t *count) {
  for (; *from < off; (*from)++)
    *count += buf[*from] == '\n';
  return *count + 1;
}

/* Copies a match group into dst (cut to cap). @return its length or -1. */
static long grp(const char *s, const regmatch_t *m, int g, char *dst,
                size_t cap) {
  if (g < 0 || m[g].rm_so < 0)
    return -1;
  size_t n = (size_t)(m[g].rm_eo - m[g].rm_so);
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, s + m[g].rm_so, n);
  dst[n] = '\0';
  return (long)n;
}

static const char *shiviz_event(ck_out *o, const sv_re *map, const char *host,
                                const char *clock_text, const char *text,
                                uint64_t seq, size_t lineno, const char *file,
                                cw_clock_entry *joins) {
  json_error_t je;
  json_t *clock = json_loads(clock_text, 0, &je);
  if (!clock)
    return "the clock is not JSON";
  cw_event_rec ev;
  memset(&ev, 0, sizeof ev);
  ev.actor = cw__bw_actor(o->bw, host, strlen(host), CW_ACTOR_THREAD);
  const char *why = clock_joins(o, clock, host, &ev, joins);
  json_decref(clock);
  if (why)
    return why;
  ev.seq = seq;
  ev.wall_ns = (int64_t)seq * 1000;
  ev.mono_ns = seq * 1000;
  ev.file = str_id(o, file);
  ev.line = (uint32_t)lineno;
  regmatch_t m[SV_MAX_GROUPS];
  char op[16], var[512], addr[64];
  if (regexec(&map->re, text, SV_MAX_GROUPS, m, 0) == 0 &&
      grp(text, m, group_of(map, "op"), op, sizeof op) > 0 &&
      grp(text, m, group_of(map, "var"), var, sizeof var) > 0) {
    ev.kind = (op[0] == 'w' || op[0] == 'W') ? CW_EV_WRITE : CW_EV_READ;
    size_t vl = strlen(var);
    if (grp(text, m, group_of(map, "addr"), addr, sizeof addr) > 0)
      snprintf(var + vl, sizeof var - vl, "@%s", addr);
    ev.object = str_id(o, var);
  } else {
    ev.kind = CW_EV_MESSAGE;
    ev.detail = str_id(o, text);
    ev.flags |= CW_EVF_DETAIL;
  }
  return cw__bw_event(o->bw, &ev) != 0 ? "batch full" : NULL;
}

int cw__shiviz_to_native(const char *buf, size_t len, const cw_input_opts *io,
                         cw_input_stats *st, uint8_t **img, size_t *img_len,
                         cw_input_error *err) {
  const char *name = io && io->name ? io->name : "<input>";
  cw_input_stats dummy;
  st = cw__stats_or(st, &dummy);
  if (memchr(buf, '\0', len))
    return ck_fail(err, name, 0, "a ShiViz log is text (NUL byte found)");
  sv_re re, map;
  const char *why =
      sv_compile(&re, io && io->shiviz_regex ? io->shiviz_regex
                                             : cw__shiviz_default_regex);
  if (why) {
    sv_free(&re);
    return ck_fail(err, name, 0, "--shiviz-regex: %s", why);
  }
  why = sv_compile(&map, io && io->shiviz_map ? io->shiviz_map
                                              : cw__shiviz_default_map);
  if (why) {
    sv_free(&re);
    sv_free(&map);
    return ck_fail(err, name, 0, "--shiviz-map: %s", why);
  }
  int gh = group_of(&re, "host"), gc = group_of(&re, "clock"),
      ge = group_of(&re, "event");
  if (gh < 0 || gc < 0 || ge < 0 || group_of(&map, "op") < 0 ||
      group_of(&map, "var") < 0) {
    sv_free(&re);
    sv_free(&map);
    return ck_fail(err, name, 0,
                   "--shiviz-regex needs the groups host, clock and event; "
                   "--shiviz-map needs op and var");
  }
  ck_out o;
  cw_clock_entry *joins = malloc(CK_MAX_JOINS * sizeof *joins);
  char *host = malloc(1024), *clock = malloc(65536), *text = malloc(4096);
  int rc = out_init(&o, io) != 0 || !joins || !host || !clock || !text
               ? ck_fail(err, name, 0, "out of memory")
               : 0;
  st->bytes += len;
  size_t pos = 0, scanned = 0, nl = 0;
  uint64_t seq = 0;
  while (rc == 0 && pos < len) {
    regmatch_t m[SV_MAX_GROUPS];
    if (regexec(&re.re, buf + pos, SV_MAX_GROUPS, m,
                pos > 0 && buf[pos - 1] != '\n' ? REG_NOTBOL : 0) != 0)
      break;
    size_t at = pos + (size_t)m[0].rm_so;
    size_t lineno = lines_before(buf, at, &scanned, &nl);
    if (m[0].rm_eo == m[0].rm_so) { /* an empty match: step on */
      pos = at + 1;
      continue;
    }
    const char *base = buf + pos;
    grp(base, m, gh, host, 1024);
    grp(base, m, gc, clock, 65536);
    grp(base, m, ge, text, 4096);
    /* The event's own line: where its text group starts. */
    size_t tl = lines_before(buf, pos + (size_t)m[ge].rm_so, &scanned, &nl);
    pos += (size_t)m[0].rm_eo;
    st->lines++;
    if (!*host) {
      rc = ck_fail(err, name, lineno, "empty host");
      break;
    }
    why = out_room(&o) != 0 ? "out of memory"
                            : shiviz_event(&o, &map, host, clock, text, ++seq,
                                           tl, o.service, joins);
    if (why)
      rc = ck_fail(err, name, lineno, "%s", why);
  }
  if (rc == 0 && seq == 0)
    rc = ck_fail(err, name, 0, "the ShiViz regex matches no event");
  if (rc == 0)
    rc = take_image(&o, io, img, img_len, err);
  out_free(&o);
  free(joins);
  free(host);
  free(clock);
  free(text);
  sv_free(&re);
  sv_free(&map);
  return rc;
}
