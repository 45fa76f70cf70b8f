/*
 * cw_suppress: TSan-style suppression files ("race:PATTERN",
 * "deadlock:PATTERN") and their matching against findings.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_report.h"

#define SUPP_MAX_FILE ((size_t)4 << 20)
#define SUPP_MAX_RULES 100000

enum { SUPP_RACE = 1, SUPP_DEADLOCK = 2 };

typedef struct supp_rule {
  int type;
  char *pattern;
} supp_rule;

struct cw_suppressions {
  supp_rule *rules;
  size_t n;
};

void cw__supp_free(cw_suppressions *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++)
    free(s->rules[i].pattern);
  free(s->rules);
  free(s);
}

static cw_suppressions *supp_fail(cw_suppressions *s, cw_input_error *err,
                                  const char *name, size_t line,
                                  const char *msg) {
  if (err) {
    if (line)
      snprintf(err->msg, sizeof err->msg, "%s:%zu: %s", name, line, msg);
    else
      snprintf(err->msg, sizeof err->msg, "%s: %s", name, msg);
    err->line = line;
  }
  cw__supp_free(s);
  return NULL;
}

static int blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

cw_suppressions *cw__supp_parse(const char *buf, size_t len, const char *name,
                                cw_input_error *err) {
  cw_suppressions *s = calloc(1, sizeof *s);
  if (!s)
    return supp_fail(s, err, name, 0, "out of memory");
  size_t pos = 0, lineno = 0, cap = 0;
  while (pos < len) {
    const char *l = buf + pos;
    const char *nl = memchr(l, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - l) : len - pos;
    pos += n + 1;
    lineno++;
    while (n && blank(*l)) {
      l++;
      n--;
    }
    while (n && blank(l[n - 1]))
      n--;
    if (n == 0 || l[0] == '#')
      continue;
    if (memchr(l, '\0', n))
      return supp_fail(s, err, name, lineno, "NUL byte");
    const char *colon = memchr(l, ':', n);
    if (!colon)
      return supp_fail(s, err, name, lineno,
                       "expected race:PATTERN or deadlock:PATTERN");
    size_t tl = (size_t)(colon - l);
    int type = 0;
    if (tl == 4 && memcmp(l, "race", 4) == 0)
      type = SUPP_RACE;
    else if (tl == 8 && memcmp(l, "deadlock", 8) == 0)
      type = SUPP_DEADLOCK;
    if (!type) {
      char msg[160];
      snprintf(msg, sizeof msg,
               "unknown suppression type '%.*s' (expected race or deadlock)",
               (int)(tl > 40 ? 40 : tl), l);
      return supp_fail(s, err, name, lineno, msg);
    }
    const char *p = colon + 1;
    size_t pl = n - tl - 1;
    while (pl && blank(*p)) {
      p++;
      pl--;
    }
    if (pl == 0)
      return supp_fail(s, err, name, lineno, "empty pattern");
    if (s->n == SUPP_MAX_RULES)
      return supp_fail(s, err, name, lineno, "too many suppressions");
    if (s->n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      supp_rule *r = realloc(s->rules, nc * sizeof *r);
      if (!r)
        return supp_fail(s, err, name, lineno, "out of memory");
      s->rules = r;
      cap = nc;
    }
    char *pat = malloc(pl + 1);
    if (!pat)
      return supp_fail(s, err, name, lineno, "out of memory");
    memcpy(pat, p, pl);
    pat[pl] = '\0';
    s->rules[s->n].type = type;
    s->rules[s->n].pattern = pat;
    s->n++;
  }
  return s;
}

cw_suppressions *cw__supp_load(const char *path, cw_input_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return supp_fail(NULL, err, path, 0, strerror(errno));
  char *buf = malloc(SUPP_MAX_FILE);
  if (!buf) {
    fclose(f);
    return supp_fail(NULL, err, path, 0, "out of memory");
  }
  size_t n = fread(buf, 1, SUPP_MAX_FILE, f);
  int bad = ferror(f);
  int big = n == SUPP_MAX_FILE;
  fclose(f);
  cw_suppressions *s = NULL;
  if (bad)
    supp_fail(NULL, err, path, 0, "read error");
  else if (big)
    supp_fail(NULL, err, path, 0, "file larger than 4 MiB");
  else
    s = cw__supp_parse(buf, n, path, err);
  free(buf);
  return s;
}

/* '*' glob match of the whole of s against p[0..pn). */
static int glob(const char *p, size_t pn, const char *s, size_t sn) {
  size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
  while (si < sn) {
    if (pi < pn && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < pn && p[pi] == s[si]) {
      pi++;
      si++;
    } else if (star != (size_t)-1) {
      pi = star + 1;
      si = ++mark;
    } else {
      return 0;
    }
  }
  while (pi < pn && p[pi] == '*')
    pi++;
  return pi == pn;
}

/* A TSan template as a whole-string glob: unanchored ends get a '*'. */
static int match_n(const char *pattern, size_t pn, const char *s, size_t sn) {
  int head = pn > 0 && pattern[0] == '^';
  if (head) {
    pattern++;
    pn--;
  }
  int tail = pn > 0 && pattern[pn - 1] == '$';
  if (tail)
    pn--;
  char stackbuf[256];
  char *p = pn + 2 <= sizeof stackbuf ? stackbuf : malloc(pn + 2);
  if (!p)
    return 0;
  size_t n = 0;
  if (!head)
    p[n++] = '*';
  memcpy(p + n, pattern, pn);
  n += pn;
  if (!tail)
    p[n++] = '*';
  int m = glob(p, n, s, sn);
  if (p != stackbuf)
    free(p);
  return m;
}

int cw__supp_match(const char *pattern, const char *s) {
  return match_n(pattern, strlen(pattern), s, strlen(s));
}

static int any_rule(const cw_suppressions *s, int type, const char *str) {
  for (size_t i = 0; s && i < s->n; i++)
    if (s->rules[i].type == type && cw__supp_match(s->rules[i].pattern, str))
      return 1;
  return 0;
}

int cw__supp_race(const cw_suppressions *s, const cw_engine *e,
                  const cw_race_group *g) {
  if (!s || s->n == 0)
    return 0;
  return any_rule(s, SUPP_RACE, cw__engine_str(e, g->var)) ||
         any_rule(s, SUPP_RACE, cw__engine_str(e, g->loc1)) ||
         any_rule(s, SUPP_RACE, cw__engine_str(e, g->loc2));
}

int cw__supp_deadlock(const cw_suppressions *s, const cw_engine *e,
                      const cw_deadlock *d) {
  if (!s || s->n == 0)
    return 0;
  for (uint32_t i = 0; i < d->n; i++) {
    const cw_cycle_edge *x = &d->edges[i];
    if (any_rule(s, SUPP_DEADLOCK, cw__engine_str(e, x->held)) ||
        any_rule(s, SUPP_DEADLOCK, cw__engine_str(e, x->requested)) ||
        any_rule(s, SUPP_DEADLOCK, cw__engine_str(e, x->loc)))
      return 1;
  }
  return 0;
}
