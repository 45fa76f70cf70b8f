/*
 * cw_findings: the view every report writer reads: the engine's findings
 * minus suppressed groups, with the summary recomputed from what is left.
 */
#include <stdlib.h>
#include <string.h>

#include "cw_report.h"
#include "cw_report_util.h"

const char *cw__report_actor(const cw_engine *e, cw_actor_id a) {
  const char *s = cw__engine_str(e, cw__engine_actor_name(e, a));
  return *s ? s : "?";
}

const char *cw__report_service(const cw_engine *e, cw_actor_id a) {
  return cw__engine_str(e, cw__engine_actor_service(e, a));
}

int cw__loc_split(const char *loc, size_t *file_len, unsigned long *line) {
  const char *colon = strrchr(loc, ':');
  if (!colon || colon == loc || colon[1] == '\0')
    return 0;
  unsigned long v = 0;
  for (const char *p = colon + 1; *p; p++) {
    if (*p < '0' || *p > '9' || v > 100000000UL)
      return 0;
    v = v * 10 + (unsigned long)(*p - '0');
  }
  if (v == 0)
    return 0;
  *file_len = (size_t)(colon - loc);
  *line = v;
  return 1;
}

unsigned cw__gate_bits(const cw_findings *f) {
  return f->ctx && f->ctx->fail_on_set ? f->ctx->fail_on : CW_FAIL_DEFAULT;
}

int cw__gate_race(const cw_findings *f, const cw_race_group *g) {
  unsigned b = cw__gate_bits(f);
  return (b & CW_FAIL_RACE) ||
         ((b & CW_FAIL_RACE_ERROR) && g->severity == CW_SEV_ERROR);
}

int cw__gate_cycle(const cw_findings *f, const cw_deadlock *d) {
  return (cw__gate_bits(f) & (d->actual ? CW_FAIL_DEADLOCK : CW_FAIL_POTENTIAL))
             ? 1
             : 0;
}

int cw__gate_anomaly(const cw_findings *f, const cw_anomaly *a) {
  (void)a;
  return (cw__gate_bits(f) & CW_FAIL_ANOMALY) ? 1 : 0;
}

const char *cw__gate_incomplete(const cw_findings *f) {
  if (f->ctx && f->ctx->no_trace)
    return "no trace was written: the command is not instrumented with the "
           "causeway SDK, or was not run; nothing was checked";
  if (f->sum.events == 0)
    return "no events were read: the input is empty; nothing was checked";
  if (f->in && f->in->truncated_files && !(f->ctx && f->ctx->allow_incomplete))
    return "an input is truncated (its last frame is cut off): events after "
           "the cut were not checked";
  return NULL;
}

int cw__gate_exit(const cw_findings *f) {
  for (size_t i = 0; i < f->nraces; i++)
    if (cw__gate_race(f, f->races[i]))
      return 1;
  for (size_t i = 0; i < f->npotential; i++)
    if (cw__gate_cycle(f, f->potential[i]))
      return 1;
  for (size_t i = 0; i < f->ndeadlocks; i++)
    if (cw__gate_cycle(f, f->deadlocks[i]))
      return 1;
  for (size_t i = 0; i < f->nanomalies; i++)
    if (cw__gate_anomaly(f, &f->anomalies[i]))
      return 1;
  return cw__gate_incomplete(f) ? 2 : 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t count_distinct(uint64_t *v, size_t n) {
  if (n == 0)
    return 0;
  qsort(v, n, sizeof *v, cmp_u64);
  uint64_t d = 1;
  for (size_t i = 1; i < n; i++)
    d += v[i] != v[i - 1];
  return d;
}

/* Keeps the deadlocks no suppression matches. @return kept or -1. */
static int keep_deadlocks(const cw_engine *e, const cw_suppressions *supp,
                          const cw_deadlock *all, size_t n,
                          const cw_deadlock ***out, uint64_t *suppressed) {
  *out = n ? malloc(n * sizeof **out) : NULL;
  if (n && !*out)
    return -1;
  int k = 0;
  for (size_t i = 0; i < n; i++) {
    if (all[i].withdrawn)
      continue; /* never stood in time (cw_deadlock.withdrawn) */
    if (cw__supp_deadlock(supp, e, &all[i]))
      (*suppressed)++;
    else
      (*out)[k++] = &all[i];
  }
  return k;
}

int cw__findings_collect(cw_findings *f, const cw_engine *e,
                         const cw_suppressions *supp,
                         const cw_input_stats *in) {
  memset(f, 0, sizeof *f);
  f->e = e;
  f->in = in;
  cw__engine_summary(e, &f->sum);

  const cw_race_group *rg;
  size_t nr = cw__engine_races(e, &rg);
  f->races = nr ? malloc(nr * sizeof *f->races) : NULL;
  if (nr && !f->races)
    return -1;
  for (size_t i = 0; i < nr; i++) {
    if (cw__supp_race(supp, e, &rg[i]))
      f->suppressed++;
    else
      f->races[f->nraces++] = &rg[i];
  }
  const cw_deadlock *d;
  size_t nd = cw__engine_potential_deadlocks(e, &d);
  int k = keep_deadlocks(e, supp, d, nd, &f->potential, &f->suppressed);
  if (k < 0)
    return -1;
  f->npotential = (size_t)k;
  nd = cw__engine_deadlocks(e, &d);
  k = keep_deadlocks(e, supp, d, nd, &f->deadlocks, &f->suppressed);
  if (k < 0)
    return -1;
  f->ndeadlocks = (size_t)k;
  f->nlocks = cw__engine_locks(e, &f->locks);
  f->nanomalies = cw__engine_anomalies(e, &f->anomalies);

  if (f->suppressed) {
    /* Recount what is left; exact because groups carry their variable and
     * their (canonical, loc1 <= loc2) location pair. */
    uint64_t *v = f->nraces ? malloc(f->nraces * sizeof *v) : NULL;
    if (f->nraces && !v)
      return -1;
    for (size_t i = 0; i < f->nraces; i++)
      v[i] = f->races[i]->var;
    f->sum.racy_variables = count_distinct(v, f->nraces);
    for (size_t i = 0; i < f->nraces; i++)
      v[i] = ((uint64_t)f->races[i]->loc1 << 32) | f->races[i]->loc2;
    f->sum.racy_location_pairs = count_distinct(v, f->nraces);
    free(v);
    f->sum.race_groups = f->nraces;
    f->sum.potential_deadlocks = f->npotential;
    f->sum.deadlocks = f->ndeadlocks;
  }
  return 0;
}

void cw__findings_free(cw_findings *f) {
  if (!f)
    return;
  free(f->races);
  free(f->potential);
  free(f->deadlocks);
  memset(f, 0, sizeof *f);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  if (s[0] < 0x80)
    return 1;
  size_t len;
  uint32_t cp;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) {
    len = 2;
    cp = s[0] & 0x1f;
  } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
    len = 3;
    cp = s[0] & 0x0f;
  } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
    len = 4;
    cp = s[0] & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return len;
}

size_t cw__utf8_valid_prefix(const char *s, size_t n, size_t *bad_len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    size_t l = utf8_seq(p + i, n - i);
    if (!l) {
      *bad_len = 1;
      return i;
    }
    i += l;
  }
  *bad_len = 0;
  return i;
}

json_t *cw__report_jstr(const char *s) {
  size_t n = strlen(s), bad;
  if (cw__utf8_valid_prefix(s, n, &bad) == n)
    return json_stringn(s, n);
  /* Replace each invalid byte by U+FFFD so the report stays valid JSON. */
  char *buf = malloc(n * 3 + 1);
  if (!buf)
    return NULL;
  size_t k = 0, i = 0;
  while (i < n) {
    size_t ok = cw__utf8_valid_prefix(s + i, n - i, &bad);
    memcpy(buf + k, s + i, ok);
    k += ok;
    i += ok;
    if (bad) {
      memcpy(buf + k, "\xef\xbf\xbd", 3);
      k += 3;
      i += bad;
    }
  }
  json_t *j = json_stringn(buf, k);
  free(buf);
  return j;
}
