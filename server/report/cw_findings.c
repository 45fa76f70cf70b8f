/*
 * cw_findings: the view every report writer reads: the engine's findings
 * minus suppressed groups, with the summary recomputed from what is left.
 */
#include <stdlib.h>
#include <string.h>

#include "cw_report.h"

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
