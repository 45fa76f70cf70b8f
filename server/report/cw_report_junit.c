/*
 * cw_report_junit: JUnit XML output for CI dashboards: one failing test case
 * per finding group (race group, potential deadlock, deadlock), or a single
 * passing case when the run is clean. Every string is XML-escaped; control
 * characters XML 1.0 cannot carry become '?', invalid UTF-8 bytes U+FFFD.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cw_report.h"
#include "cw_report_util.h"

static void esc(FILE *out, const char *s) {
  size_t n = strlen(s), bad;
  while (n > 0) {
    size_t ok = cw__utf8_valid_prefix(s, n, &bad);
    for (size_t i = 0; i < ok; i++) {
      unsigned char c = (unsigned char)s[i];
      switch (c) {
      case '&':
        fputs("&amp;", out);
        break;
      case '<':
        fputs("&lt;", out);
        break;
      case '>':
        fputs("&gt;", out);
        break;
      case '"':
        fputs("&quot;", out);
        break;
      case '\'':
        fputs("&apos;", out);
        break;
      default:
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
          fputc('?', out);
        else
          fputc(c, out);
      }
    }
    if (bad)
      fputs("\xef\xbf\xbd", out); /* U+FFFD for an invalid byte */
    s += ok + bad;
    n -= ok + bad;
  }
}

static const char *s_(const cw_engine *e, cw_sym s) {
  return cw__engine_str(e, s);
}

static void race_case(FILE *out, const cw_engine *e, const cw_race_group *g) {
  int ww = g->first.is_write && g->second.is_write;
  fputs("    <testcase classname=\"causeway.race\" name=\"", out);
  esc(out, s_(e, g->var));
  fputs(" {", out);
  esc(out, s_(e, g->loc1));
  fputs(", ", out);
  esc(out, s_(e, g->loc2));
  fputs("}\">\n      <failure type=\"", out);
  fputs(g->severity == CW_SEV_ERROR ? "race-error" : "race-warning", out);
  fputs("\" message=\"data race on '", out);
  esc(out, s_(e, g->var));
  fprintf(out, "' (%s)\">", ww ? "write/write" : "read/write");
  const cw_access *side[2] = {&g->first, &g->second};
  for (int i = 0; i < 2; i++) {
    esc(out, side[i]->is_write ? "write at " : "read at ");
    esc(out, s_(e, side[i]->loc));
    fputs(" by ", out);
    esc(out, cw__report_actor(e, side[i]->actor));
    fputs(" (", out);
    esc(out, cw__report_service(e, side[i]->actor));
    fputs("), locks held:", out);
    for (uint32_t k = 0; k < side[i]->nlocks; k++) {
      fputc(' ', out);
      esc(out, s_(e, side[i]->locks[k]));
    }
    fputc('\n', out);
  }
  fputs("</failure>\n    </testcase>\n", out);
}

static void cycle_case(FILE *out, const cw_engine *e, const cw_deadlock *d) {
  const char *kind = d->actual ? "deadlock" : "potential-deadlock";
  fprintf(out, "    <testcase classname=\"causeway.%s\" name=\"", kind);
  for (uint32_t i = 0; i < d->n; i++) {
    fputs(i ? " -> " : "", out);
    esc(out, s_(e, d->edges[i].held));
  }
  fprintf(out,
          "\">\n      <failure type=\"%s\" message=\"%s cycle of %u "
          "locks\">",
          kind, d->actual ? "deadlock:" : "lock-order", d->n);
  for (uint32_t i = 0; i < d->n; i++) {
    esc(out, cw__report_actor(e, d->edges[i].actor));
    fputs(" holds ", out);
    esc(out, s_(e, d->edges[i].held));
    fputs(" and requests ", out);
    esc(out, s_(e, d->edges[i].requested));
    fputs(" at ", out);
    esc(out, s_(e, d->edges[i].loc));
    fputc('\n', out);
  }
  fputs("</failure>\n    </testcase>\n", out);
}

int cw__report_write_junit(FILE *out, const cw_findings *f) {
  size_t failures = f->nraces + f->npotential + f->ndeadlocks;
  size_t tests = failures ? failures : 1;
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
  fprintf(out,
          "<testsuites name=\"causeway\" tests=\"%zu\" failures=\"%zu\">"
          "\n",
          tests, failures);
  fprintf(out,
          "  <testsuite name=\"causeway\" tests=\"%zu\" failures=\"%zu\" "
          "errors=\"0\" skipped=\"0\">\n",
          tests, failures);
  const cw_summary *s = &f->sum;
  fprintf(out,
          "    <properties>\n      <property name=\"events\" "
          "value=\"%" PRIu64 "\"/>\n"
          "      <property name=\"exact\" value=\"%s\"/>\n"
          "      <property name=\"search_truncated\" value=\"%" PRIu64 "\"/>\n"
          "      <property name=\"instances_cut\" value=\"%" PRIu64 "\"/>\n"
          "      <property name=\"handoffs_cut\" value=\"%" PRIu64 "\"/>\n"
          "      <property name=\"early_orders\" value=\"%" PRIu64 "\"/>\n"
          "      <property name=\"retired_skips\" value=\"%" PRIu64
          "\"/>\n    </properties>\n",
          s->events, s->exact ? "true" : "false", s->search_truncated,
          s->instances_cut, s->handoffs_cut, s->early_orders, s->retired_skips);
  for (size_t i = 0; i < f->nraces; i++)
    race_case(out, f->e, f->races[i]);
  for (size_t i = 0; i < f->npotential; i++)
    cycle_case(out, f->e, f->potential[i]);
  for (size_t i = 0; i < f->ndeadlocks; i++)
    cycle_case(out, f->e, f->deadlocks[i]);
  if (!failures)
    fputs("    <testcase classname=\"causeway\" name=\"no races or "
          "deadlocks\"/>\n",
          out);
  fputs("  </testsuite>\n</testsuites>\n", out);
  return ferror(out) ? -1 : 0;
}
