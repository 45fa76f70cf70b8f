/*
 * cw_report_text: the human report, in the style of sanitizer output:
 * one block per finding group with both sides (location, actor, service,
 * locks held), then a one-line SUMMARY.
 */
#include <inttypes.h>
#include <string.h>

#include "cw_report.h"

#define RULE                                                                   \
  "=================================================================="

static const char *s_(const cw_engine *e, cw_sym s) {
  return cw__engine_str(e, s);
}

static void locks_line(FILE *out, const cw_engine *e, const cw_access *a) {
  fputs("    locks held: ", out);
  if (a->nlocks == 0)
    fputs("none", out);
  for (uint32_t i = 0; i < a->nlocks; i++)
    fprintf(out, "%s'%s'", i ? ", " : "", s_(e, a->locks[i]));
  fputc('\n', out);
}

static void side(FILE *out, const cw_engine *e, const char *lead,
                 const cw_access *a) {
  const char *svc = cw__report_service(e, a->actor);
  fprintf(out, "  %s%s%s at %s by actor %s", lead,
          a->is_atomic ? "atomic " : "", a->is_write ? "write" : "read",
          s_(e, a->loc), cw__report_actor(e, a->actor));
  if (*svc)
    fprintf(out, " (service %s)", svc);
  if (a->val_flags & CW_AEF_VAL_INT)
    fprintf(out, ", value %" PRId64, a->val_int);
  else if (a->val_flags & CW_AEF_VAL_STR)
    fprintf(out, ", value '%s'", s_(e, a->val_str));
  fputc('\n', out);
  locks_line(out, e, a);
}

static void race(FILE *out, const cw_engine *e, const cw_race_group *g) {
  int ww = g->first.is_write && g->second.is_write;
  fprintf(out, "%s\nWARNING: causeway: data race on '%s' (%s, %s)\n", RULE,
          s_(e, g->var), ww ? "write/write" : "read/write",
          g->severity == CW_SEV_ERROR ? "error" : "warning");
  side(out, e, "", &g->first);
  side(out, e, "concurrent ", &g->second);
  fprintf(out,
          "  neither happens before the other; %" PRIu64
          " racing pair%s at {%s, %s}\n",
          g->count, g->count == 1 ? "" : "s", s_(e, g->loc1), s_(e, g->loc2));
}

static void cycle(FILE *out, const cw_engine *e, const cw_deadlock *d) {
  if (d->actual)
    fprintf(out,
            "%s\nERROR: causeway: deadlock: %u actors wait for each "
            "other%s\n",
            RULE, d->n,
            d->active                   ? " (still blocked at end of input)"
            : d->ended == CW_DL_TIMEOUT ? " (ended by a timeout)"
                                        : "");
  else
    fprintf(out,
            "%s\nWARNING: causeway: potential deadlock: lock-order "
            "cycle of %u locks\n",
            RULE, d->n);
  for (uint32_t i = 0; i < d->n; i++) {
    const cw_cycle_edge *x = &d->edges[i];
    const char *svc = cw__report_service(e, x->actor);
    fprintf(out, "  actor %s%s%s%s %s '%s' at %s while holding '%s'\n",
            cw__report_actor(e, x->actor), *svc ? " (service " : "", svc,
            *svc ? ")" : "", d->actual ? "waits for" : "requested",
            s_(e, x->requested), s_(e, x->loc), s_(e, x->held));
  }
}

static void contention(FILE *out, const cw_findings *f) {
  /* STD traces have no clock: their times count events (line numbers). */
  const char *unit =
      f->in && f->in->lines && !f->in->batches ? " events" : " ns";
  int header = 0;
  for (size_t i = 0; i < f->nlocks; i++) {
    const cw_lock_stats *l = &f->locks[i];
    if (!l->contended)
      continue;
    if (!header) {
      fprintf(out, "%s\nLock contention:\n", RULE);
      header = 1;
    }
    fprintf(out,
            "  '%s': %" PRIu64 " acquisitions, %" PRIu64
            " contended; wait p50 %" PRIu64 "%s, p99 %" PRIu64
            "%s, max %" PRIu64 "%s\n",
            s_(f->e, l->lock), l->acquisitions, l->contended, l->wait_p50_ns,
            unit, l->wait_p99_ns, unit, l->wait_max_ns, unit);
    for (uint32_t k = 0; k < l->ntop && k < 3; k++)
      fprintf(out, "    at %s: %" PRIu64 " contended\n",
              s_(f->e, l->top[k].loc), l->top[k].contended);
  }
}

static const char *pl(uint64_t n, const char *one, const char *many) {
  return n == 1 ? one : many;
}

int cw__report_write_text(FILE *out, const cw_findings *f) {
  for (size_t i = 0; i < f->nraces; i++)
    race(out, f->e, f->races[i]);
  for (size_t i = 0; i < f->npotential; i++)
    cycle(out, f->e, f->potential[i]);
  for (size_t i = 0; i < f->ndeadlocks; i++)
    cycle(out, f->e, f->deadlocks[i]);
  contention(out, f);
  const cw_summary *s = &f->sum;
  if (f->nraces || f->npotential || f->ndeadlocks)
    fprintf(out, "%s\n", RULE);
  fprintf(out,
          "SUMMARY: causeway: %" PRIu64 " racy %s, %" PRIu64
          " racy location %s, %" PRIu64 " race %s, %" PRIu64
          " potential %s, %" PRIu64 " %s, %" PRIu64 " contended %s (%" PRIu64
          " events",
          s->racy_variables, pl(s->racy_variables, "variable", "variables"),
          s->racy_location_pairs, pl(s->racy_location_pairs, "pair", "pairs"),
          s->race_groups, pl(s->race_groups, "group", "groups"),
          s->potential_deadlocks,
          pl(s->potential_deadlocks, "deadlock", "deadlocks"), s->deadlocks,
          pl(s->deadlocks, "deadlock", "deadlocks"), s->contended_locks,
          pl(s->contended_locks, "lock", "locks"), s->events);
  if (f->suppressed)
    fprintf(out, ", %" PRIu64 " suppressed", f->suppressed);
  if (s->lost_events)
    fprintf(out, ", %" PRIu64 " lost", s->lost_events);
  if (f->in && f->in->skipped_events)
    fprintf(out, ", %" PRIu64 " skipped", f->in->skipped_events);
  if (s->invalid_events)
    fprintf(out, ", %" PRIu64 " invalid", s->invalid_events);
  fputs(")\n", out);
  if (!s->exact)
    fprintf(out,
            "NOTE: causeway: not exact: a bound may have changed the counts "
            "(search_truncated %" PRIu64 ", instances_cut %" PRIu64
            ", handoffs_cut %" PRIu64 ", early_orders %" PRIu64
            ", retired_skips %" PRIu64 ", lost %" PRIu64 ", forced %" PRIu64
            ", pending %" PRIu64 "; docs/detection.md 4.3)\n",
            s->search_truncated, s->instances_cut, s->handoffs_cut,
            s->early_orders, s->retired_skips, s->lost_events, s->forced_events,
            s->pending_events);
  return ferror(out) ? -1 : 0;
}
