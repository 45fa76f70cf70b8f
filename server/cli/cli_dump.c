/*
 * cli_dump: `causeway dump FILE.cwt...` prints native trace records one per
 * line, in file order, for debugging and demos:
 *
 *   # batch 0 service=bank instance=web1-42 pid=42
 *   seq=7 bank#web1-42/t1 c=3 write account:alice.balance at bank.c:42
 *       (transfer) val=900 joins=[bank#web1-42/t0:2]
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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

int cli_dump(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    fputs("usage: causeway dump FILE.cwt...\n", stderr);
    return argc < 2 ? CLI_USAGE : CLI_OK;
  }
  static const cw_decode_cb cb = {on_batch, on_event, on_gap, on_retire};
  int rc = CLI_OK;
  for (int i = 1; i < argc; i++) {
    if (argc > 2)
      printf("## %s\n", argv[i]);
    int trunc = 0;
    cw_decode_error err;
    memset(&err, 0, sizeof err);
    int d = cw__decode_file(argv[i], &cb, NULL, &trunc, &err);
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
