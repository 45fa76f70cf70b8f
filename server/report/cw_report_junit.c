/*
 * cw_report_junit: JUnit XML output for CI dashboards, valid against Jenkins'
 * junit-10.xsd (tests/fixtures/junit). The report agrees with the exit code:
 *   - one test case per finding group (race group, potential deadlock,
 *     deadlock, anomaly group): <failure> when it fails the gate (--fail-on),
 * otherwise <skipped> with a message saying it is reported but not gated;
 *   - a failing "causeway.input" case when nothing (or not all) was checked:
 *     no trace written (`run`), no event read, a truncated input;
 *   - otherwise, with no finding, one passing case.
 * The suite carries time, timestamp and hostname. Every string is
 * XML-escaped; control characters XML 1.0 cannot carry become '?', invalid
 * UTF-8 bytes U+FFFD.
 *
 * A new kind of finding writes its cases with case_open/verdict/case_close
 * and counts them in cw__report_write_junit.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void case_open(FILE *out, const char *classname) {
  fprintf(out, "    <testcase classname=\"%s\" time=\"0\" name=\"", classname);
}

/* Ends the name attribute and opens <failure> (gated) or <skipped>, whose
 * message is `msg` (escaped), then the body follows. */
static void verdict(FILE *out, int gated, const char *type, const char *msg) {
  fputs("\">\n      ", out);
  if (gated) {
    fprintf(out, "<failure type=\"%s\" message=\"", type);
    esc(out, msg);
  } else {
    fprintf(out,
            "<skipped type=\"%s\" message=\"reported, does not fail the "
            "gate (--fail-on): ",
            type);
    esc(out, msg);
  }
  fputs("\">", out);
}

static void case_close(FILE *out, int gated) {
  fputs(gated ? "</failure>\n    </testcase>\n"
              : "</skipped>\n    </testcase>\n",
        out);
}

static void race_case(FILE *out, const cw_findings *f, const cw_race_group *g) {
  const cw_engine *e = f->e;
  int ww = g->first.is_write && g->second.is_write;
  int gated = cw__gate_race(f, g);
  case_open(out, "causeway.race");
  esc(out, s_(e, g->var));
  fputs(" {", out);
  esc(out, s_(e, g->loc1));
  fputs(", ", out);
  esc(out, s_(e, g->loc2));
  char msg[64];
  snprintf(msg, sizeof msg, "data race (%s)",
           ww ? "write/write" : "read/write");
  verdict(out, gated,
          g->severity == CW_SEV_ERROR ? "race-error" : "race-warning", msg);
  fputs("data race on '", out);
  esc(out, s_(e, g->var));
  fputs("'\n", out);
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
  case_close(out, gated);
}

static void cycle_case(FILE *out, const cw_findings *f, const cw_deadlock *d) {
  const cw_engine *e = f->e;
  const char *kind = d->actual ? "deadlock" : "potential-deadlock";
  int gated = cw__gate_cycle(f, d);
  case_open(out,
            d->actual ? "causeway.deadlock" : "causeway.potential-deadlock");
  for (uint32_t i = 0; i < d->n; i++) {
    fputs(i ? " -> " : "", out);
    esc(out, s_(e, d->edges[i].held));
  }
  char msg[96];
  snprintf(msg, sizeof msg, "%s cycle of %u locks",
           d->actual ? "deadlock:" : "lock-order", d->n);
  verdict(out, gated, kind, msg);
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
  case_close(out, gated);
}

static void anomaly_case(FILE *out, const cw_findings *f, const cw_anomaly *a,
                         size_t index) {
  const cw_engine *e = f->e;
  int gated = cw__gate_anomaly(f, a);
  char line[1024], name[64];
  cw__report_anomaly_line(e, a, line, sizeof line);
  case_open(out, "causeway.anomaly");
  snprintf(name, sizeof name, "%s #%zu ", cw__anomaly_kind_name(a->kind),
           index);
  esc(out, name);
  esc(out, s_(e, a->site));
  verdict(out, gated, cw__anomaly_kind_name(a->kind), line);
  esc(out, line);
  fputs("\n  first at ", out);
  esc(out, s_(e, a->first_loc));
  fputs(" by ", out);
  esc(out, cw__report_actor(e, a->first_actor));
  fputc('\n', out);
  case_close(out, gated);
}

int cw__report_write_junit(FILE *out, const cw_findings *f) {
  size_t findings = f->nraces + f->npotential + f->ndeadlocks + f->nanomalies,
         failures = 0;
  for (size_t i = 0; i < f->nraces; i++)
    failures += (size_t)cw__gate_race(f, f->races[i]);
  for (size_t i = 0; i < f->npotential; i++)
    failures += (size_t)cw__gate_cycle(f, f->potential[i]);
  for (size_t i = 0; i < f->ndeadlocks; i++)
    failures += (size_t)cw__gate_cycle(f, f->deadlocks[i]);
  for (size_t i = 0; i < f->nanomalies; i++)
    failures += (size_t)cw__gate_anomaly(f, &f->anomalies[i]);
  const char *incomplete = cw__gate_incomplete(f);
  size_t skipped = findings - failures;
  size_t tests = findings + (incomplete || !findings ? 1 : 0);
  failures += incomplete ? 1 : 0;

  double secs = f->ctx ? f->ctx->seconds : 0.0;
  time_t t0 = f->ctx && f->ctx->started_unix ? (time_t)f->ctx->started_unix
                                             : time(NULL);
  struct tm tm;
  char stamp[32] = "1970-01-01T00:00:00", host[256] = "localhost";
  if (gmtime_r(&t0, &tm))
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  if (gethostname(host, sizeof host - 1) != 0)
    snprintf(host, sizeof host, "localhost");
  host[sizeof host - 1] = '\0';

  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
  fprintf(out,
          "<testsuites name=\"causeway\" tests=\"%zu\" failures=\"%zu\" "
          "errors=\"0\" time=\"%.3f\">\n",
          tests, failures, secs);
  fprintf(out,
          "  <testsuite name=\"causeway\" tests=\"%zu\" failures=\"%zu\" "
          "errors=\"0\" skipped=\"%zu\" time=\"%.3f\" timestamp=\"%s\" "
          "hostname=\"",
          tests, failures, skipped, secs, stamp);
  esc(out, host);
  fprintf(out,
          "\">\n    <properties>\n      <property name=\"events\" "
          "value=\"%" PRIu64 "\"/>\n",
          f->sum.events);
  if (f->in)
    fprintf(out,
            "      <property name=\"truncated_files\" value=\"%" PRIu64
            "\"/>\n",
            f->in->truncated_files);
  const cw_summary *s = &f->sum;
  fprintf(out,
          "      <property name=\"exact\" value=\"%s\"/>\n"
          "      <property name=\"search_truncated\" value=\"%" PRIu64 "\"/>\n"
          "      <property name=\"instances_cut\" value=\"%" PRIu64 "\"/>\n"
          "      <property name=\"handoffs_cut\" value=\"%" PRIu64 "\"/>\n"
          "      <property name=\"early_orders\" value=\"%" PRIu64 "\"/>\n"
          "      <property name=\"retired_skips\" value=\"%" PRIu64 "\"/>\n",
          s->exact ? "true" : "false", s->search_truncated, s->instances_cut,
          s->handoffs_cut, s->early_orders, s->retired_skips);
  fputs("    </properties>\n", out);
  for (size_t i = 0; i < f->nraces; i++)
    race_case(out, f, f->races[i]);
  for (size_t i = 0; i < f->npotential; i++)
    cycle_case(out, f, f->potential[i]);
  for (size_t i = 0; i < f->ndeadlocks; i++)
    cycle_case(out, f, f->deadlocks[i]);
  for (size_t i = 0; i < f->nanomalies; i++)
    anomaly_case(out, f, &f->anomalies[i], i);
  if (incomplete) {
    case_open(out, "causeway.input");
    fputs("trace checked", out);
    verdict(out, 1, "incomplete-input", incomplete);
    esc(out, incomplete);
    fputc('\n', out);
    case_close(out, 1);
  } else if (!findings) {
    fputs("    <testcase classname=\"causeway\" time=\"0\" name=\"no races or "
          "deadlocks\"/>\n",
          out);
  }
  fputs("  </testsuite>\n</testsuites>\n", out);
  return ferror(out) ? -1 : 0;
}
