/*
 * test_analysis_util.c: the test-only STD-like feeder (see the header).
 */
#define _POSIX_C_SOURCE 200809L
#include "test_analysis_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cw_sym tstd_sym(cw_engine *e, const char *s) {
  return cw__engine_intern(e, s, strlen(s));
}

cw_actor_id tstd_actor(cw_engine *e, const char *name) {
  return cw__engine_actor(e, tstd_sym(e, name), 0);
}

static void trim(char **b, char **end) {
  while (*b < *end && (**b == ' ' || **b == '\t' || **b == '\r'))
    (*b)++;
  while (*end > *b &&
         ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
    (*end)--;
}

struct opdef {
  const char *name;
  cw_ae_kind kind;
  uint32_t flags;
};

static const struct opdef ops[] = {
    {"r", CW_AE_READ, 0},
    {"w", CW_AE_WRITE, 0},
    {"ra", CW_AE_READ, CW_AEF_ATOMIC},
    {"wa", CW_AE_WRITE, CW_AEF_ATOMIC},
    {"acq", CW_AE_LOCK_ACQUIRE, 0},
    {"racq", CW_AE_LOCK_ACQUIRE, CW_AEF_SHARED},
    {"tacq", CW_AE_LOCK_ACQUIRE, CW_AEF_TRY},
    {"rel", CW_AE_LOCK_RELEASE, 0},
    {"req", CW_AE_LOCK_REQUEST, 0},
    {"rreq", CW_AE_LOCK_REQUEST, CW_AEF_SHARED},
    {"fork", CW_AE_FORK, 0},
    {"join", CW_AE_JOIN, 0},
    {"arel", CW_AE_ANN_RELEASE, 0},
    {"aacq", CW_AE_ANN_ACQUIRE, 0},
    {"begin", CW_AE_BEGIN, 0},
    {"end", CW_AE_END, 0},
    {"sbeg", CW_AE_SPAN_BEGIN, 0},
    {"send", CW_AE_SPAN_END, 0},
    {"retire", CW_AE_RETIRE, 0},
    {"gap", CW_AE_GAP, 0},
};

int tstd_feed(cw_engine *e, const char *text) {
  int rejected = 0;
  uint64_t line = 0;
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char buf[512];
    line++;
    if (len >= sizeof(buf))
      return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    p += len + (nl ? 1 : 0);
    char *b = buf, *end = buf + len;
    trim(&b, &end);
    *end = '\0';
    if (!*b || *b == '#')
      continue;
    char *bar1 = strchr(b, '|');
    if (!bar1)
      return -1;
    char *bar2 = strchr(bar1 + 1, '|');
    char *lp = strchr(bar1 + 1, '(');
    char *rp = lp ? strchr(lp, ')') : NULL;
    if (!lp || !rp || (bar2 && rp > bar2))
      return -1;
    *bar1 = '\0';
    *lp = '\0';
    *rp = '\0';
    char *t = b, *te = bar1;
    trim(&t, &te);
    *te = '\0';
    char *op = bar1 + 1, *ope = lp;
    trim(&op, &ope);
    *ope = '\0';
    char *arg = lp + 1, *arge = rp;
    trim(&arg, &arge);
    *arge = '\0';
    char *loc = (char *)"";
    if (bar2) {
      char *le = end;
      loc = bar2 + 1;
      trim(&loc, &le);
      *le = '\0';
    }
    const struct opdef *d = NULL;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
      if (!strcmp(ops[i].name, op))
        d = &ops[i];
    if (!d || !*t)
      return -1;
    cw_aevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = d->kind;
    ev.flags = d->flags;
    ev.actor = tstd_actor(e, t);
    ev.loc = *loc ? tstd_sym(e, loc) : 0;
    ev.seq = line;
    if (d->kind == CW_AE_FORK || d->kind == CW_AE_JOIN)
      ev.child = tstd_actor(e, arg);
    else if (d->kind == CW_AE_GAP)
      ev.aux = strtol(arg, NULL, 10);
    else if (*arg)
      ev.object = tstd_sym(e, arg);
    if (cw__engine_feed(e, &ev) < 0)
      rejected++;
  }
  return rejected;
}

char *tstd_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf)
    buf[n] = '\0';
  return buf;
}
