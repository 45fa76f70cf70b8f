/*
 * cw_report_text: the human report, in the style of sanitizer output:
 * one block per finding group with both sides (location, actor, service,
 * locks held), then a one-line SUMMARY; when nothing (or not all) was
 * checked, an ERROR line says so before the summary.
 *
 * Names come from trace data, which may hold terminal escape sequences:
 * every such string is printed through cw__report_vis(), which shows
 * control bytes (C0, DEL, C1), invalid UTF-8 and the backslash itself as
 * \xHH / \\.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cw_report.h"
#include "cw_report_util.h"

#define RULE                                                                   \
  "=================================================================="

/* Escaped copies live in a small ring, so that one printf can take several;
 * the writer frees them at the end. Thread-local: writers on different
 * threads do not share it. */
#define VIS_RING 16
static _Thread_local char *vis_ring[VIS_RING];
static _Thread_local unsigned vis_next;

void cw__report_vis_free(void) {
  for (unsigned i = 0; i < VIS_RING; i++) {
    free(vis_ring[i]);
    vis_ring[i] = NULL;
  }
}

/* @return s with control bytes, invalid UTF-8 and '\' escaped (a string
 * valid until VIS_RING more calls), or "?" out of memory. */
const char *cw__report_vis(const char *s) {
  size_t n = strlen(s), need = 0;
  for (size_t i = 0; i < n; i++)
    need += 4;
  char *o = malloc(need + 1);
  if (!o)
    return "?";
  size_t k = 0;
  while (n > 0) {
    size_t bad, ok = cw__utf8_valid_prefix(s, n, &bad);
    for (size_t i = 0; i < ok; i++) {
      unsigned char c = (unsigned char)s[i];
      /* C1 controls are U+0080..U+009F: UTF-8 0xC2 0x80..0x9F. */
      int c1 = c == 0xC2 && i + 1 < ok && (unsigned char)s[i + 1] >= 0x80 &&
               (unsigned char)s[i + 1] <= 0x9F;
      if (c < 0x20 || c == 0x7F || c1) {
        unsigned v = c1 ? (unsigned char)s[++i] : c;
        k += (size_t)snprintf(o + k, 5, "\\x%02X", v);
      } else if (c == '\\') {
        o[k++] = '\\';
        o[k++] = '\\';
      } else {
        o[k++] = (char)c;
      }
    }
    for (size_t i = 0; i < bad; i++)
      k += (size_t)snprintf(o + k, 5, "\\x%02X", (unsigned char)s[ok + i]);
    s += ok + bad;
    n -= ok + bad;
  }
  o[k] = '\0';
  unsigned slot = vis_next++ % VIS_RING;
  free(vis_ring[slot]);
  vis_ring[slot] = o;
  return o;
}

static const char *s_(const cw_engine *e, cw_sym s) {
  return cw__report_vis(cw__engine_str(e, s));
}

static const char *actor_(const cw_engine *e, cw_actor_id a) {
  return cw__report_vis(cw__report_actor(e, a));
}

static const char *service_(const cw_engine *e, cw_actor_id a) {
  return cw__report_vis(cw__report_service(e, a));
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
  const char *svc = service_(e, a->actor);
  fprintf(out, "  %s%s%s at %s by actor %s", lead,
          a->is_atomic ? "atomic " : "", a->is_write ? "write" : "read",
          s_(e, a->loc), actor_(e, a->actor));
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
    const char *svc = service_(e, x->actor);
    fprintf(out, "  actor %s%s%s%s %s '%s' at %s while holding '%s'\n",
            actor_(e, x->actor), *svc ? " (service " : "", svc, *svc ? ")" : "",
            d->actual ? "waits for" : "requested", s_(e, x->requested),
            s_(e, x->loc), s_(e, x->held));
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

static void anomalies(FILE *out, const cw_findings *f) {
  char line[1024];
  for (size_t i = 0; i < f->nanomalies; i++) {
    const cw_anomaly *a = &f->anomalies[i];
    cw__report_anomaly_line(f->e, a, line, sizeof line);
    fprintf(out, "%s\nWARNING: causeway: anomaly #%zu: %s\n", RULE, i,
            cw__report_vis(line));
    const char *svc = service_(f->e, a->first_actor);
    fprintf(out, "  first at %s by actor %s%s%s%s (seq %" PRIu64 ")\n",
            *s_(f->e, a->first_loc) ? s_(f->e, a->first_loc) : "?",
            actor_(f->e, a->first_actor), *svc ? " (service " : "", svc,
            *svc ? ")" : "", a->first_seq);
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
  anomalies(out, f);
  const cw_summary *s = &f->sum;
  if (f->nraces || f->npotential || f->ndeadlocks || f->nanomalies)
    fprintf(out, "%s\n", RULE);
  /* Not a clean pass: say so in words, not only in the counts. */
  const char *why = cw__gate_incomplete(f);
  if (why)
    fprintf(out, "ERROR: causeway: %s\n", why);
  else if (f->in && f->in->truncated_files)
    fprintf(out,
            "WARNING: causeway: an input is truncated; events after the cut "
            "were not checked (--allow-incomplete)\n");
  fprintf(out,
          "SUMMARY: causeway: %" PRIu64 " racy %s, %" PRIu64
          " racy location %s, %" PRIu64 " race %s, %" PRIu64
          " potential %s, %" PRIu64 " %s, %" PRIu64 " contended %s, %" PRIu64
          " %s (%" PRIu64 " events",
          s->racy_variables, pl(s->racy_variables, "variable", "variables"),
          s->racy_location_pairs, pl(s->racy_location_pairs, "pair", "pairs"),
          s->race_groups, pl(s->race_groups, "group", "groups"),
          s->potential_deadlocks,
          pl(s->potential_deadlocks, "deadlock", "deadlocks"), s->deadlocks,
          pl(s->deadlocks, "deadlock", "deadlocks"), s->contended_locks,
          pl(s->contended_locks, "lock", "locks"), s->anomalies,
          pl(s->anomalies, "anomaly", "anomalies"), s->events);
  if (f->suppressed)
    fprintf(out, ", %" PRIu64 " suppressed", f->suppressed);
  if (s->lost_events)
    fprintf(out, ", %" PRIu64 " lost", s->lost_events);
  if (f->in && f->in->skipped_events)
    fprintf(out, ", %" PRIu64 " skipped", f->in->skipped_events);
  if (f->in && f->in->late_events)
    fprintf(out, ", %" PRIu64 " late", f->in->late_events);
  if (s->invalid_events)
    fprintf(out, ", %" PRIu64 " invalid", s->invalid_events);
  if (f->in && f->in->truncated_files)
    fprintf(out, ", %" PRIu64 " truncated input%s", f->in->truncated_files,
            f->in->truncated_files == 1 ? "" : "s");
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
  cw__report_vis_free();
  return ferror(out) ? -1 : 0;
}
