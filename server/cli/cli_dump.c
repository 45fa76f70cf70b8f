/*
 * cli_dump: `causeway dump FILE.cwt...` prints native trace records one per
 * line, in file order, for debugging and demos (with --format clocks, as
 * JSON lines that `causeway check` reads back, docs/event-format.md):
 *
 *   # batch 0 service=bank instance=web1-42 pid=42
 *   seq=7 bank#web1-42/t1 c=3 write account:alice.balance at bank.c:42
 *       (transfer) val=900 joins=[bank#web1-42/t0:2]
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <stdlib.h>

#include "cli.h"
#include "cw_format.h"

static void put_str(const cw_batch_ctx *ctx, uint32_t id) {
  size_t len = 0;
  const char *s = id ? cw__ctx_string(ctx, id, &len) : NULL;
  for (size_t i = 0; s && i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f)
      printf("\\x%02x", c);
    else
      putchar(c);
  }
}

static void put_actor(const cw_batch_ctx *ctx, uint32_t id) {
  size_t len = 0;
  const char *s = cw__ctx_actor(ctx, id, &len, NULL);
  if (s)
    printf("%.*s", (int)len, s);
  else
    printf("#%u", id);
}

static int on_batch(void *ud, const cw_batch_ctx *ctx) {
  (void)ud;
  const cw_batch_hdr *h = cw__ctx_header(ctx);
  printf("# batch %" PRIu64 " service=%.*s instance=%.*s pid=%" PRIu64 "\n",
         h->batch_no, (int)h->service_len, h->service, (int)h->instance_len,
         h->instance, h->pid);
  return 0;
}

static int on_event(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *ev) {
  (void)ud;
  printf("seq=%" PRIu64 " ", ev->seq);
  put_actor(ctx, ev->actor);
  printf(" c=%" PRIu64 " %s", ev->counter, cw__ev_kind_name(ev->kind));
  if (ev->flags & CW_EVF_ATOMIC)
    fputs(" atomic", stdout);
  if (ev->flags & CW_EVF_SHARED)
    fputs(" shared", stdout);
  if (ev->flags & CW_EVF_TRY)
    fputs(" try", stdout);
  if (ev->object) {
    putchar(' ');
    put_str(ctx, ev->object);
  }
  if (ev->file) {
    fputs(" at ", stdout);
    put_str(ctx, ev->file);
    if (ev->line)
      printf(":%u", ev->line);
  }
  if (ev->func) {
    fputs(" (", stdout);
    put_str(ctx, ev->func);
    putchar(')');
  }
  if (ev->flags & CW_EVF_VAL_INT)
    printf(" val=%" PRId64, ev->val_int);
  if (ev->flags & CW_EVF_VAL_STR) {
    fputs(" val='", stdout);
    put_str(ctx, ev->val_str);
    putchar('\'');
  }
  if (ev->flags & CW_EVF_DETAIL) {
    fputs(" detail='", stdout);
    put_str(ctx, ev->detail);
    putchar('\'');
  }
  if (ev->flags & CW_EVF_AUX)
    printf(" aux=%" PRId64, ev->aux);
  if (ev->flags & CW_EVF_DURATION)
    printf(" dur=%" PRIu64 "ns", ev->duration_ns);
  if (ev->flags & CW_EVF_ERROR)
    fputs(" error", stdout);
  if (ev->njoins) {
    fputs(ev->flags & CW_EVF_FULL_CLOCK ? " clock=[" : " joins=[", stdout);
    for (uint32_t i = 0; i < ev->njoins; i++) {
      if (i)
        putchar(' ');
      put_actor(ctx, ev->joins[i].actor);
      printf(":%" PRIu64, ev->joins[i].counter);
    }
    putchar(']');
  }
  printf(" wall=%" PRId64 "\n", ev->wall_ns);
  return 0;
}

static int on_gap(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                  uint64_t dropped, uint64_t first_seq, uint64_t last_seq) {
  (void)ud;
  fputs("GAP ", stdout);
  put_actor(ctx, actor);
  printf(" dropped=%" PRIu64 " seq=[%" PRIu64 ",%" PRIu64 "]\n", dropped,
         first_seq, last_seq);
  return 0;
}

static int on_retire(void *ud, const cw_batch_ctx *ctx, uint64_t seq,
                     const uint32_t *actors, uint32_t n) {
  (void)ud;
  printf("RETIRE seq=%" PRIu64 ":", seq);
  for (uint32_t i = 0; i < n; i++) {
    putchar(' ');
    put_actor(ctx, actors[i]);
  }
  putchar('\n');
  return 0;
}

/* ---- --format clocks: JSON lines (docs/event-format.md) ----------------- */

static json_t *jstr(const cw_batch_ctx *ctx, uint32_t id) {
  size_t len = 0;
  const char *s = id ? cw__ctx_string(ctx, id, &len) : NULL;
  return s ? json_stringn(s, len) : NULL;
}

/* The actor's global name; a kind other than "thread" goes to kinds. */
static json_t *jactor(const cw_batch_ctx *ctx, uint32_t id, json_t *kinds) {
  size_t len = 0, fl;
  uint32_t kind = 0;
  const char *s = cw__ctx_actor(ctx, id, &len, &kind);
  if (!s)
    return json_string("");
  char buf[CW_ACTOR_NAME_MAX];
  const char *full = cw__actor_qualify(cw__ctx_header(ctx), s, len, buf, &fl);
  json_t *n = json_stringn(full, fl);
  if (n && kind != CW_ACTOR_THREAD)
    json_object_set_new(kinds, json_string_value(n),
                        json_string(kind == CW_ACTOR_TASK ? "task" : "remote"));
  return n;
}

static void put_line(json_t *o, json_t *kinds) {
  if (json_object_size(kinds))
    json_object_set(o, "kinds", kinds);
  char *t =
      json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
  if (t)
    puts(t);
  free(t);
  json_decref(o);
  json_decref(kinds);
}

static int j_batch(void *ud, const cw_batch_ctx *ctx) {
  (void)ud;
  const cw_batch_hdr *h = cw__ctx_header(ctx);
  json_t *b = json_object();
  json_object_set_new(b, "service", json_stringn(h->service, h->service_len));
  json_object_set_new(b, "instance",
                      json_stringn(h->instance, h->instance_len));
  json_object_set_new(b, "pid", json_integer((json_int_t)h->pid));
  json_object_set_new(b, "batch_no", json_integer((json_int_t)h->batch_no));
  json_t *o = json_object();
  json_object_set_new(o, "batch", b);
  put_line(o, json_object());
  return 0;
}

static void set_hex(json_t *o, const char *key, const uint8_t *p, size_t n) {
  char hex[40];
  for (size_t i = 0; i < n; i++)
    snprintf(hex + 2 * i, 3, "%02x", p[i]);
  json_object_set_new(o, key, json_string(hex));
}

static int j_event(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *ev) {
  (void)ud;
  json_t *kinds = json_object(), *o = json_object();
  json_t *self = jactor(ctx, ev->actor, kinds);
  json_object_set(o, "actor", self);
  json_t *clock = json_object();
  json_object_set_new(clock, json_string_value(self),
                      json_integer((json_int_t)ev->counter));
  for (uint32_t i = 0; i < ev->njoins; i++) {
    json_t *a = jactor(ctx, ev->joins[i].actor, kinds);
    json_object_set_new(clock, json_string_value(a),
                        json_integer((json_int_t)ev->joins[i].counter));
    json_decref(a);
  }
  json_decref(self);
  json_object_set_new(o, "clock", clock);
  json_object_set_new(o, "kind", json_string(cw__ev_kind_name(ev->kind)));
  json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
  json_object_set_new(o, "wall_ns", json_integer((json_int_t)ev->wall_ns));
  json_object_set_new(o, "mono_ns", json_integer((json_int_t)ev->mono_ns));
  json_t *v;
  if ((v = jstr(ctx, ev->object)))
    json_object_set_new(o, "object", v);
  if ((v = jstr(ctx, ev->file))) {
    json_object_set_new(o, "file", v);
    json_object_set_new(o, "line", json_integer(ev->line));
  }
  if ((v = jstr(ctx, ev->func)))
    json_object_set_new(o, "func", v);
  if (ev->flags & CW_EVF_VAL_INT)
    json_object_set_new(o, "value", json_integer((json_int_t)ev->val_int));
  else if ((ev->flags & CW_EVF_VAL_STR) && (v = jstr(ctx, ev->val_str)))
    json_object_set_new(o, "value", v);
  if (ev->flags & CW_EVF_DURATION)
    json_object_set_new(o, "duration_ns",
                        json_integer((json_int_t)ev->duration_ns));
  if ((ev->flags & CW_EVF_DETAIL) && (v = jstr(ctx, ev->detail)))
    json_object_set_new(o, "detail", v);
  if (ev->flags & CW_EVF_AUX)
    json_object_set_new(o, "aux", json_integer((json_int_t)ev->aux));
  if (ev->flags & CW_EVF_TRACE) {
    set_hex(o, "trace_id", ev->trace_id, 16);
    set_hex(o, "span_id", ev->span_id, 8);
    set_hex(o, "parent_span_id", ev->parent_span_id, 8);
  }
  static const struct {
    uint32_t bit;
    const char *name;
  } fl[] = {{CW_EVF_ATOMIC, "atomic"},
            {CW_EVF_SHARED, "shared"},
            {CW_EVF_TRY, "try"},
            {CW_EVF_ERROR, "error"},
            {CW_EVF_FULL_CLOCK, "full"}};
  json_t *flags = json_array();
  for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
    if (ev->flags & fl[i].bit)
      json_array_append_new(flags, json_string(fl[i].name));
  if (json_array_size(flags))
    json_object_set(o, "flags", flags);
  json_decref(flags);
  put_line(o, kinds);
  return 0;
}

static int j_gap(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                 uint64_t dropped, uint64_t first_seq, uint64_t last_seq) {
  (void)ud;
  json_t *kinds = json_object(), *g = json_object(), *o = json_object();
  json_object_set_new(g, "actor", jactor(ctx, actor, kinds));
  json_object_set_new(g, "dropped", json_integer((json_int_t)dropped));
  json_object_set_new(g, "first_seq", json_integer((json_int_t)first_seq));
  json_object_set_new(g, "last_seq", json_integer((json_int_t)last_seq));
  json_object_set_new(o, "gap", g);
  put_line(o, kinds);
  return 0;
}

static int j_retire(void *ud, const cw_batch_ctx *ctx, uint64_t seq,
                    const uint32_t *actors, uint32_t n) {
  (void)ud;
  json_t *kinds = json_object(), *r = json_object(), *o = json_object();
  json_t *a = json_array();
  for (uint32_t i = 0; i < n; i++)
    json_array_append_new(a, jactor(ctx, actors[i], kinds));
  json_object_set_new(r, "seq", json_integer((json_int_t)seq));
  json_object_set_new(r, "actors", a);
  json_object_set_new(o, "retire", r);
  put_line(o, kinds);
  return 0;
}

int cli_dump(int argc, char **argv) {
  int clocks = 0;
  if (argc >= 3 && !strcmp(argv[1], "--format")) {
    if (strcmp(argv[2], "clocks") && strcmp(argv[2], "text")) {
      cli_err("dump --format: 'text' or 'clocks'");
      return CLI_USAGE;
    }
    clocks = !strcmp(argv[2], "clocks");
    argv += 2;
    argc -= 2;
  }
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    fputs("usage: causeway dump [--format text|clocks] FILE.cwt...\n", stderr);
    return argc < 2 ? CLI_USAGE : CLI_OK;
  }
  static const cw_decode_cb jcb = {j_batch, j_event, j_gap, j_retire};
  static const cw_decode_cb cb = {on_batch, on_event, on_gap, on_retire};
  int rc = CLI_OK;
  for (int i = 1; i < argc; i++) {
    if (argc > 2 && !clocks)
      printf("## %s\n", argv[i]);
    int trunc = 0;
    cw_decode_error err;
    memset(&err, 0, sizeof err);
    int d = cw__decode_file(argv[i], clocks ? &jcb : &cb, NULL, &trunc, &err);
    fflush(stdout);
    if (d != CW_DECODE_OK) {
      cli_err("%s: byte %llu: %s", argv[i], (unsigned long long)err.offset,
              err.msg);
      rc = CLI_USAGE;
    } else if (trunc) {
      cli_err("%s: the last frame is truncated (writer died?); it was "
              "ignored",
              argv[i]);
    }
  }
  return rc;
}
