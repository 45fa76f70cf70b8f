/*
 * test_analysis_race.c: race detection of the analysis engine: the shared
 * examples (expected counts read from their "Expected:" comments), unit
 * cases for each happens-before source, and a randomized differential test
 * against a brute-force O(n^2) reference that computes happens-before as
 * graph reachability and checks every pair of accesses.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_analysis_util.h"

/* ---- Shared examples ---------------------------------------------------- */

static uint64_t summary_field(const cw_summary *s, const char *name, int *ok) {
  *ok = 1;
  if (!strcmp(name, "racy_variables"))
    return s->racy_variables;
  if (!strcmp(name, "racy_location_pairs"))
    return s->racy_location_pairs;
  if (!strcmp(name, "potential_deadlocks"))
    return s->potential_deadlocks;
  if (!strcmp(name, "deadlocks"))
    return s->deadlocks;
  *ok = 0;
  return 0;
}

/* Checks every `name=N` of the "Expected:" comment block, plus the phrases
 * "no races" and "no deadlocks". @return the number of checks made. */
static int check_expect_block(const char *text, const cw_summary *s) {
  int checks = 0, in_expected = 0;
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char line[512];
    if (len >= sizeof(line))
      len = sizeof(line) - 1;
    memcpy(line, p, len);
    line[len] = '\0';
    p += len + (nl ? 1 : 0);
    if (line[0] != '#') {
      in_expected = 0;
      continue;
    }
    if (strstr(line, "Expected:"))
      in_expected = 1;
    if (!in_expected)
      continue;
    if (strstr(line, "no races")) {
      assert_int_equal(s->racy_variables, 0);
      assert_int_equal(s->racy_location_pairs, 0);
      checks++;
    }
    if (strstr(line, "no deadlocks")) {
      assert_int_equal(s->potential_deadlocks, 0);
      assert_int_equal(s->deadlocks, 0);
      checks++;
    }
    for (char *q = line; (q = strchr(q, '=')) != NULL; q++) {
      char *b = q;
      while (b > line && (b[-1] == '_' || (b[-1] >= 'a' && b[-1] <= 'z')))
        b--;
      char name[64];
      size_t nlen = (size_t)(q - b);
      if (!nlen || nlen >= sizeof(name))
        continue;
      memcpy(name, b, nlen);
      name[nlen] = '\0';
      char *endp;
      long want = strtol(q + 1, &endp, 10);
      if (endp == q + 1)
        continue;
      int ok;
      uint64_t got = summary_field(s, name, &ok);
      if (!ok)
        continue;
      if (got != (uint64_t)want)
        fail_msg("%s: got %llu, expected %ld", name, (unsigned long long)got,
                 want);
      checks++;
    }
  }
  return checks;
}

static void run_example(const char *file) {
  const char *dir = getenv("CW_FIXTURES_DIR");
  assert_non_null(dir);
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  char *text = tstd_read_file(path);
  assert_non_null(text);
  cw_engine *e = cw__engine_new(NULL);
  assert_int_equal(tstd_feed(e, text), 0);
  cw__engine_flush(e);
  cw_summary s;
  cw__engine_summary(e, &s);
  assert_true(check_expect_block(text, &s) > 0);
  cw__engine_free(e);
  free(text);
}

static void test_example_lost_update(void **st) {
  (void)st;
  run_example("lost-update.std");
}
static void test_example_safe_transfer(void **st) {
  (void)st;
  run_example("safe-transfer.std");
}
static void test_example_abba(void **st) {
  (void)st;
  run_example("abba.std");
}

/* race_clocks: a group's sides carry their whole vector clocks as of the
 * accesses, not their actors' clocks when the race was found: T1's write
 * knew T2 up to 2 (lock n) though T1 learned T2 = 6 (lock j) before the
 * race was found, and T3's write knows T2 through lock k but not T1. */
static void test_race_clocks(void **st) {
  (void)st;
  cw_engine_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.size = sizeof cfg;
  cfg.race_clocks = 1;
  cw_engine *e = cw__engine_new(&cfg);
  assert_int_equal(tstd_feed(e, "T2|acq(n)|1\nT2|rel(n)|2\n"
                                "T2|acq(k)|3\nT2|rel(k)|4\n"
                                "T2|acq(j)|3\nT2|rel(j)|4\n"
                                "T1|w(x)|5\nT1|acq(n)|6\nT1|rel(n)|7\n"
                                "T1|w(x)|5\n" /* same key, later: replaces */
                                "T1|acq(j)|6\nT1|rel(j)|7\n" /* T2 = 6 */
                                "T3|acq(k)|8\nT3|rel(k)|9\nT3|w(x)|10\n"),
                   0);
  cw__engine_flush(e);
  const cw_race_group *g;
  assert_int_equal(cw__engine_races(e, &g), 1);
  cw_actor_id t1 = tstd_actor(e, "T1"), t2 = tstd_actor(e, "T2"),
              t3 = tstd_actor(e, "T3");
  /* first: T1's second write (counter 4), after it joined T2's release of
   * n (T2 = 2): the entry that was replaced had clock {T1:1}. */
  assert_int_equal(g[0].first.actor, t1);
  assert_int_equal(g[0].first.counter, 4);
  assert_int_equal(g[0].first.nclock, 2);
  uint64_t want1[2][2] = {{t1, 4}, {t2, 2}};
  uint64_t want3[2][2] = {{t2, 4}, {t3, 3}};
  if (t1 > t2) {
    uint64_t tmp[2] = {want1[0][0], want1[0][1]};
    want1[0][0] = want1[1][0];
    want1[0][1] = want1[1][1];
    want1[1][0] = tmp[0];
    want1[1][1] = tmp[1];
  }
  for (int i = 0; i < 2; i++) {
    assert_int_equal(g[0].first.clock[i].actor, want1[i][0]);
    assert_int_equal(g[0].first.clock[i].counter, want1[i][1]);
  }
  assert_int_equal(g[0].second.actor, t3);
  assert_int_equal(g[0].second.nclock, 2);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(g[0].second.clock[i].actor, want3[i][0]);
    assert_int_equal(g[0].second.clock[i].counter, want3[i][1]);
  }
  cw__engine_free(e);
  /* Without race_clocks the sides have no clock. */
  e = cw__engine_new(NULL);
  assert_int_equal(tstd_feed(e, "T1|w(x)|1\nT2|w(x)|2\n"), 0);
  assert_int_equal(cw__engine_races(e, &g), 1);
  assert_null(g[0].first.clock);
  assert_int_equal(g[0].second.nclock, 0);
  cw__engine_free(e);
}

/* ---- Unit cases --------------------------------------------------------- */

static cw_engine *run(const char *text, cw_summary *s) {
  cw_engine *e = cw__engine_new(NULL);
  assert_int_equal(tstd_feed(e, text), 0);
  cw__engine_flush(e);
  cw__engine_summary(e, s);
  return e;
}

static void test_lost_update_groups(void **st) {
  (void)st;
  cw_summary s;
  cw_engine *e = run("T0|fork(T1)|1\nT0|fork(T2)|2\n"
                     "T1|r(x)|11\nT2|r(x)|21\nT1|w(x)|12\nT2|w(x)|22\n",
                     &s);
  assert_int_equal(s.racy_variables, 1);
  assert_int_equal(s.racy_location_pairs, 3);
  const cw_race_group *g;
  size_t n = cw__engine_races(e, &g);
  assert_int_equal(n, 3);
  int ww = 0;
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(cw__engine_str(e, g[i].var), "x");
    assert_int_equal(g[i].count, 1);
    assert_true(strcmp(cw__engine_str(e, g[i].loc1),
                       cw__engine_str(e, g[i].loc2)) <= 0);
    assert_int_not_equal(g[i].first.actor, g[i].second.actor);
    if (g[i].first.is_write && g[i].second.is_write) {
      ww++;
      assert_int_equal(g[i].severity, CW_SEV_ERROR);
      assert_string_equal(cw__engine_str(e, g[i].loc1), "12");
      assert_string_equal(cw__engine_str(e, g[i].loc2), "22");
      assert_int_equal(g[i].first.seq, 5);
      assert_int_equal(g[i].second.seq, 6);
    } else {
      assert_int_equal(g[i].severity, CW_SEV_WARNING);
    }
  }
  assert_int_equal(ww, 1);
  cw__engine_free(e);
}

static void test_atomics(void **st) {
  (void)st;
  cw_summary s;
  cw_engine *e = run("T0|fork(T1)|1\nT0|fork(T2)|2\n"
                     "T1|wa(c)|a\nT2|wa(c)|b\nT2|ra(c)|c\n",
                     &s);
  assert_int_equal(s.racy_variables, 0);
  cw__engine_free(e);
  /* An atomic write races with a plain read. */
  e = run("T0|fork(T1)|1\nT0|fork(T2)|2\nT1|wa(c)|a\nT2|r(c)|b\n", &s);
  assert_int_equal(s.racy_variables, 1);
  assert_int_equal(s.racy_location_pairs, 1);
  cw__engine_free(e);
}

static void test_lock_orders(void **st) {
  (void)st;
  cw_summary s;
  cw_engine *e = run("T0|fork(T1)|1\nT0|fork(T2)|2\n"
                     "T1|acq(L)|1\nT1|w(x)|a\nT1|rel(L)|2\n"
                     "T2|acq(L)|3\nT2|w(x)|b\nT2|rel(L)|4\n",
                     &s);
  assert_int_equal(s.racy_variables, 0);
  cw__engine_free(e);
  /* Different locks do not order. */
  e = run("T0|fork(T1)|1\nT0|fork(T2)|2\n"
          "T1|acq(L)|1\nT1|w(x)|a\nT1|rel(L)|2\n"
          "T2|acq(M)|3\nT2|w(x)|b\nT2|rel(M)|4\n",
          &s);
  assert_int_equal(s.racy_variables, 1);
  const cw_race_group *g;
  assert_int_equal(cw__engine_races(e, &g), 1);
  assert_int_equal(g[0].first.nlocks, 1);
  assert_string_equal(cw__engine_str(e, g[0].first.locks[0]), "L");
  assert_string_equal(cw__engine_str(e, g[0].second.locks[0]), "M");
  cw__engine_free(e);
}

static void test_rwlock_modes(void **st) {
  (void)st;
  cw_summary s;
  /* Writes under a read lock race: readers never order readers. */
  cw_engine *e = run("T0|fork(T1)|1\nT0|fork(T2)|2\n"
                     "T1|racq(L)|1\nT1|w(x)|a\nT1|rel(L)|2\n"
                     "T2|racq(L)|3\nT2|w(x)|b\nT2|rel(L)|4\n",
                     &s);
  assert_int_equal(s.racy_variables, 1);
  cw__engine_free(e);
  /* A read release orders a later write acquire. */
  e = run("T0|fork(T1)|1\nT0|fork(T2)|2\n"
          "T1|racq(L)|1\nT1|r(x)|a\nT1|rel(L)|2\n"
          "T2|acq(L)|3\nT2|w(x)|b\nT2|rel(L)|4\n",
          &s);
  assert_int_equal(s.racy_variables, 0);
  cw__engine_free(e);
  /* A write release orders a later read acquire. */
  e = run("T0|fork(T1)|1\nT0|fork(T2)|2\n"
          "T1|acq(L)|1\nT1|w(x)|a\nT1|rel(L)|2\n"
          "T2|racq(L)|3\nT2|r(x)|b\nT2|rel(L)|4\n",
          &s);
  assert_int_equal(s.racy_variables, 0);
  cw__engine_free(e);
}

static void test_fork_join_annotations(void **st) {
  (void)st;
  cw_summary s;
  cw_engine *e = run("T0|w(x)|a\nT0|fork(T1)|1\nT1|w(x)|b\n"
                     "T0|join(T1)|2\nT0|r(x)|c\n",
                     &s);
  assert_int_equal(s.racy_variables, 0);
  cw__engine_free(e);
  e = run("T1|begin()|0\nT2|begin()|0\nT1|w(q)|a\nT1|arel(k)|1\n"
          "T2|aacq(k)|2\nT2|r(q)|b\n",
          &s);
  assert_int_equal(s.racy_variables, 0);
  cw__engine_free(e);
  /* Without the annotation, independent actors race. */
  e = run("T1|begin()|0\nT2|begin()|0\nT1|w(q)|a\nT2|r(q)|b\n", &s);
  assert_int_equal(s.racy_variables, 1);
  cw__engine_free(e);
}

/* Every racing pair counts, not just adjacent ones: T1's write races with
 * both T2's read and T3's write although T2 -> T3 is ordered. */
static void test_non_adjacent(void **st) {
  (void)st;
  cw_summary s;
  cw_engine *e = run("T0|fork(T1)|1\nT0|fork(T2)|2\nT0|fork(T3)|3\n"
                     "T1|w(x)|a\nT1|w(x)|a\n"
                     "T2|acq(L)|4\nT2|r(x)|b\nT2|rel(L)|5\n"
                     "T3|acq(L)|6\nT3|w(x)|c\nT3|rel(L)|7\n",
                     &s);
  assert_int_equal(s.racy_variables, 1);
  assert_int_equal(s.racy_location_pairs, 2); /* {a,b} {a,c} */
  cw__engine_free(e);
}

static void test_same_location_pair(void **st) {
  (void)st;
  cw_summary s;
  cw_engine *e = run("T0|fork(T1)|1\nT0|fork(T2)|2\n"
                     "T1|w(x)|L7\nT2|w(x)|L7\n",
                     &s);
  assert_int_equal(s.racy_location_pairs, 1);
  const cw_race_group *g;
  assert_int_equal(cw__engine_races(e, &g), 1);
  assert_int_equal(g[0].loc1, g[0].loc2);
  cw__engine_free(e);
}

/* Appends printf-style text to buf (bounded; the test fails on overflow). */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, int a,
                int b) {
  int k = snprintf(buf + *len, cap - *len, fmt, a, b);
  assert_true(k > 0 && (size_t)k < cap - *len);
  *len += (size_t)k;
}

/* One actor's entries of x are kept in counter order with an index on
 * (location, kind): a concurrent access is compared with exactly those
 * written after the point it is ordered with, including an old location
 * written again (moved to the newest end). */
static void test_many_locations_one_actor(void **st) {
  (void)st;
  static char buf[8192];
  size_t len = 0;
  put(buf, sizeof(buf), &len, "T0|fork(T1)|f\nT2|begin()|b\n", 0, 0);
  for (int i = 0; i < 20; i++)
    put(buf, sizeof(buf), &len, "T1|w(x)|l%d\n", i, 0);
  put(buf, sizeof(buf), &len, "T1|arel(K)|k\nT2|aacq(K)|k\n", 0, 0);
  for (int i = 20; i < 30; i++)
    put(buf, sizeof(buf), &len, "T1|w(x)|l%d\n", i, 0);
  put(buf, sizeof(buf), &len, "T1|w(x)|l5\nT1|r(x)|l7\nT2|w(x)|z\n", 0, 0);
  cw_summary s;
  cw_engine *e = run(buf, &s);
  /* {z, l20..l29}, {z, l5} and {z, l7}; l0..l19 happen before T2's w. */
  assert_int_equal(s.racy_variables, 1);
  assert_int_equal(s.racy_location_pairs, 12);
  const cw_race_group *g;
  size_t ng = cw__engine_races(e, &g);
  assert_int_equal(ng, 12);
  for (size_t k = 0; k < ng; k++)
    assert_int_equal(g[k].count, 1);
  cw__engine_free(e);
}

/* Forty actors touch x (past AE_REC_LINEAR, 32: the variable's records are
 * indexed by actor), the first twenty end, are joined and retired (their
 * records are swept, the others move), then an unordered actor races with
 * exactly the survivors, and a survivor that writes again is found at its
 * moved record. */
static void test_many_actors_retired(void **st) {
  (void)st;
  enum { MA = 40, GONE = 20 };
  static char buf[16384];
  size_t len = 0;
  for (int i = 1; i <= MA; i++)
    put(buf, sizeof(buf), &len, "T0|fork(T%d)|f\n", i, 0);
  for (int i = 1; i <= MA; i++) {
    put(buf, sizeof(buf), &len, "T%d|acq(L)|a\nT%d|w(x)|", i, i);
    put(buf, sizeof(buf), &len, "l%d\nT%d|rel(L)|r\n", i, i);
  }
  for (int i = 1; i <= GONE; i++)
    put(buf, sizeof(buf), &len, "T%d|end()|e\nT0|join(T%d)|j\n", i, i);
  for (int i = 1; i <= GONE; i++)
    put(buf, sizeof(buf), &len, "T%d|retire()|x\n", i, 0);
  put(buf, sizeof(buf), &len, "T99|begin()|b\nT99|w(x)|z\n", 0, 0);
  cw_summary s;
  cw_engine *e = run(buf, &s);
  /* {z, l21} .. {z, l40} */
  assert_int_equal(s.racy_location_pairs, MA - GONE);
  const cw_race_group *g;
  size_t ng = cw__engine_races(e, &g);
  assert_int_equal(ng, MA - GONE);
  cw_sym z = tstd_sym(e, "z");
  for (size_t k = 0; k < ng; k++) {
    const char *other =
        cw__engine_str(e, g[k].loc1 == z ? g[k].loc2 : g[k].loc1);
    char *end;
    long li = strtol(other + 1, &end, 10);
    assert_true(other[0] == 'l' && !*end && li > GONE && li <= MA);
  }
  /* T27 writes again: races with z; then T99 races with T27's two entries
   * (the new one, m27, and l27) and with the other survivors' l21 .. l40. */
  assert_int_equal(tstd_feed(e, "T27|acq(L)|a\nT27|w(x)|m27\nT27|rel(L)|r\n"
                                "T99|w(x)|z2\n"),
                   0);
  cw__engine_summary(e, &s);
  assert_int_equal(s.racy_location_pairs, 2 * (MA - GONE) + 2);
  ng = cw__engine_races(e, &g);
  assert_int_equal(ng, 2 * (MA - GONE) + 2);
  cw_actor_id t27 = tstd_actor(e, "T27"), t99 = tstd_actor(e, "T99");
  cw_sym m27 = tstd_sym(e, "m27");
  int seen = 0;
  for (size_t k = 0; k < ng; k++) {
    assert_int_equal(g[k].count, 1);
    const cw_access *mine = g[k].first.loc == m27    ? &g[k].first
                            : g[k].second.loc == m27 ? &g[k].second
                                                     : NULL;
    const cw_access *other = mine == &g[k].first ? &g[k].second : &g[k].first;
    if (mine) {
      assert_true(mine->actor == t27 && other->actor == t99);
      seen++;
    }
  }
  assert_int_equal(seen, 2); /* {m27, z} and {m27, z2} */
  cw__engine_free(e);
}

/* Forty concurrent readers under a rwlock in read mode: the lock's
 * shared-release clock grows one actor per reader (small clocks joined
 * into a large one), and a writer taking the lock exclusively is ordered
 * after every reader, while one that does not take it races with all. */
static void test_many_readers(void **st) {
  (void)st;
  enum { NR = 40 };
  static char buf[16384];
  size_t len = 0;
  put(buf, sizeof(buf), &len, "T0|acq(L)|a\nT0|w(x)|init\nT0|rel(L)|r\n", 0, 0);
  for (int i = 1; i <= NR; i++) {
    put(buf, sizeof(buf), &len, "T%d|begin()|b\nT%d|racq(L)|a\n", i, i);
    put(buf, sizeof(buf), &len, "T%d|r(x)|r%d\n", i, i);
    put(buf, sizeof(buf), &len, "T%d|rel(L)|r%d\n", i, i);
  }
  put(buf, sizeof(buf), &len, "T0|acq(L)|a\nT0|w(x)|w\nT0|rel(L)|r\n", 0, 0);
  cw_summary s;
  cw_engine *e = run(buf, &s);
  assert_int_equal(s.racy_variables, 0);
  assert_int_equal(tstd_feed(e, "T99|begin()|b\nT99|w(x)|z\n"), 0);
  cw__engine_summary(e, &s);
  /* {z, r1} .. {z, r40}, {z, init} and {z, w}. */
  assert_int_equal(s.racy_location_pairs, NR + 2);
  cw__engine_free(e);
}

/* ---- Differential test -------------------------------------------------- */

#define MAXEV 64
/* Array bounds; g_nt, g_nv and g_nloc are the sizes a test draws from. */
#define NT 12
#define NV 3
#define NL 3
#define NK 2
#define NLOC 16

static int g_nt = 5, g_nv = 3, g_nloc = 4;
static uint32_t g_selfstart = 4; /* 1 in g_selfstart actors start unforked */

typedef struct rev {
  int actor, kind, obj, loc, flags, child;
} rev;

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

/* Generates a valid random trace. @return its length. */
static int gen(rev *ev, int target) {
  int status[NT] = {0}; /* 0 new, 1 running, 2 ended, 3 joined */
  int holdx[NL], nshared[NL], mine[NT][NL];
  memset(holdx, -1, sizeof(holdx));
  memset(nshared, 0, sizeof(nshared));
  memset(mine, 0, sizeof(mine)); /* 0 none, 1 excl, 2 shared */
  int n = 0;
  int nt = 2 + (int)rnd((uint32_t)g_nt - 1);
  status[0] = 1;
  for (int t = 1; t < nt; t++)
    if (rnd(g_selfstart) == 0)
      status[t] = 1; /* begins on its own: no fork edge */
  for (int guard = 0; n < target && guard < target * 20; guard++) {
    int t = (int)rnd((uint32_t)nt);
    if (status[t] != 1)
      continue;
    rev x = {t, 0, 0, 0, 0, 0};
    int c = (int)rnd(100);
    if (c < 45) {
      x.kind = rnd(2) ? CW_AE_WRITE : CW_AE_READ;
      x.obj = (int)rnd((uint32_t)g_nv);
      x.loc = (int)rnd((uint32_t)g_nloc);
      x.flags = rnd(5) == 0 ? CW_AEF_ATOMIC : 0;
    } else if (c < 60) {
      int l = (int)rnd(NL);
      int sh = rnd(3) == 0;
      if (mine[t][l] || holdx[l] >= 0 || (!sh && nshared[l]))
        continue;
      x.kind = CW_AE_LOCK_ACQUIRE;
      x.obj = l;
      x.flags = sh ? CW_AEF_SHARED : 0;
      mine[t][l] = sh ? 2 : 1;
      if (sh)
        nshared[l]++;
      else
        holdx[l] = t;
    } else if (c < 78) {
      int l = (int)rnd(NL);
      if (!mine[t][l])
        continue;
      x.kind = CW_AE_LOCK_RELEASE;
      x.obj = l;
      if (mine[t][l] == 2)
        nshared[l]--;
      else
        holdx[l] = -1;
      mine[t][l] = 0;
    } else if (c < 84) {
      x.kind = rnd(2) ? CW_AE_ANN_RELEASE : CW_AE_ANN_ACQUIRE;
      x.obj = (int)rnd(NK);
    } else if (c < 90) {
      int ch = (int)rnd((uint32_t)nt);
      if (status[ch] != 0)
        continue;
      x.kind = CW_AE_FORK;
      x.child = ch;
      status[ch] = 1;
    } else if (c < 95) {
      int ch = (int)rnd((uint32_t)nt);
      if (status[ch] != 2 || ch == t)
        continue;
      x.kind = CW_AE_JOIN;
      x.child = ch;
      status[ch] = 3;
    } else if (c < 97) {
      /* A joined thread is retired: its history is forgotten. */
      int ch = (int)rnd((uint32_t)nt);
      if (status[ch] != 3)
        continue;
      x.actor = ch;
      x.kind = CW_AE_RETIRE;
      status[ch] = 4;
    } else {
      int held = 0;
      for (int l = 0; l < NL; l++)
        held |= mine[t][l];
      if (held || t == 0)
        continue;
      x.kind = CW_AE_END;
      status[t] = 2;
    }
    ev[n++] = x;
  }
  return n;
}

typedef struct refres {
  uint64_t racy_vars, racy_pairs, groups;
  int racy[MAXEV];
  uint8_t pairset[NLOC][NLOC];
  uint8_t groupsev[NV][NLOC][NLOC]; /* 0 none, 1 warning, 2 error */
  /* Racing pairs (i, j) where i is the latest access of its (actor,
   * location, kind) before j: the engine's group `count`. */
  uint32_t groupcnt[NV][NLOC][NLOC];
  uint64_t racemask[MAXEV]; /* bit i of [j]: events i and j race */
} refres;

static void reference(const rev *ev, int n, refres *r) {
  uint64_t reach[MAXEV] = {0}; /* bit i set: event i happens before event j */
  int forked_at[NT];
  memset(forked_at, -1, sizeof(forked_at));
  memset(r, 0, sizeof(*r));
  for (int j = 0; j < n; j++) {
    uint64_t m = 0;
    int prev = -1;
    for (int i = j - 1; i >= 0; i--)
      if (ev[i].actor == ev[j].actor) {
        prev = i;
        break;
      }
    if (prev >= 0)
      m |= reach[prev] | (1ull << prev);
    else if (forked_at[ev[j].actor] >= 0)
      m |= reach[forked_at[ev[j].actor]] | (1ull << forked_at[ev[j].actor]);
    for (int i = 0; i < j; i++) {
      int edge = 0;
      if (ev[j].kind == CW_AE_LOCK_ACQUIRE &&
          ev[i].kind == CW_AE_LOCK_RELEASE && ev[i].obj == ev[j].obj) {
        /* Mode of the release: the mode of the acquire it closes. */
        int k, rel_shared = 0;
        for (k = i - 1; k >= 0; k--)
          if (ev[k].actor == ev[i].actor && ev[k].kind == CW_AE_LOCK_ACQUIRE &&
              ev[k].obj == ev[i].obj) {
            rel_shared = (ev[k].flags & CW_AEF_SHARED) != 0;
            break;
          }
        int acq_shared = (ev[j].flags & CW_AEF_SHARED) != 0;
        edge = !rel_shared || !acq_shared;
      }
      if (ev[j].kind == CW_AE_ANN_ACQUIRE && ev[i].kind == CW_AE_ANN_RELEASE &&
          ev[i].obj == ev[j].obj)
        edge = 1;
      if (ev[j].kind == CW_AE_JOIN && ev[i].actor == ev[j].child)
        edge = 1;
      if (edge)
        m |= reach[i] | (1ull << i);
    }
    reach[j] = m;
    if (ev[j].kind == CW_AE_FORK)
      forked_at[ev[j].child] = j;
  }
  int varracy[NV] = {0};
  int retired_at[NT];
  for (int t = 0; t < NT; t++)
    retired_at[t] = MAXEV;
  for (int j = 0; j < n; j++)
    if (ev[j].kind == CW_AE_RETIRE)
      retired_at[ev[j].actor] = j;
  for (int j = 0; j < n; j++) {
    if (ev[j].kind != CW_AE_READ && ev[j].kind != CW_AE_WRITE)
      continue;
    for (int i = 0; i < j; i++) {
      if (ev[i].kind != CW_AE_READ && ev[i].kind != CW_AE_WRITE)
        continue;
      if (ev[i].obj != ev[j].obj || ev[i].actor == ev[j].actor)
        continue;
      /* A retired actor's accesses no longer race with later ones. */
      if (retired_at[ev[i].actor] < j)
        continue;
      int wi = ev[i].kind == CW_AE_WRITE, wj = ev[j].kind == CW_AE_WRITE;
      if (!wi && !wj)
        continue;
      if ((ev[i].flags & ev[j].flags) & CW_AEF_ATOMIC)
        continue;
      if (reach[j] & (1ull << i))
        continue;
      r->racy[i] = r->racy[j] = 1;
      r->racemask[j] |= 1ull << i;
      varracy[ev[i].obj] = 1;
      int lo = ev[i].loc < ev[j].loc ? ev[i].loc : ev[j].loc;
      int hi = ev[i].loc < ev[j].loc ? ev[j].loc : ev[i].loc;
      r->pairset[lo][hi] = 1;
      int latest = 1;
      for (int k = i + 1; k < j && latest; k++)
        latest = !(ev[k].actor == ev[i].actor && ev[k].kind == ev[i].kind &&
                   ev[k].obj == ev[i].obj && ev[k].loc == ev[i].loc &&
                   ((ev[k].flags ^ ev[i].flags) & CW_AEF_ATOMIC) == 0);
      r->groupcnt[ev[i].obj][lo][hi] += (uint32_t)latest;
      uint8_t sev = (wi && wj) ? 2 : 1;
      if (r->groupsev[ev[i].obj][lo][hi] < sev)
        r->groupsev[ev[i].obj][lo][hi] = sev;
    }
  }
  for (int v = 0; v < NV; v++) {
    r->racy_vars += (uint64_t)varracy[v];
    for (int a = 0; a < NLOC; a++)
      for (int b = 0; b < NLOC; b++)
        r->groups += r->groupsev[v][a][b] != 0;
  }
  for (int a = 0; a < NLOC; a++)
    for (int b = 0; b < NLOC; b++)
      r->racy_pairs += r->pairset[a][b];
}

static void feed_rev(cw_engine *e, const rev *ev, int n, cw_sym *vars,
                     cw_sym *locs, int *access_index) {
  char name[32];
  cw_actor_id act[NT];
  cw_sym lk[NL], ky[NK];
  for (int t = 0; t < NT; t++) {
    snprintf(name, sizeof(name), "T%d", t);
    act[t] = tstd_actor(e, name);
  }
  for (int v = 0; v < NV; v++) {
    snprintf(name, sizeof(name), "v%d", v);
    vars[v] = tstd_sym(e, name);
  }
  for (int l = 0; l < NL; l++) {
    snprintf(name, sizeof(name), "L%d", l);
    lk[l] = tstd_sym(e, name);
  }
  for (int k = 0; k < NK; k++) {
    snprintf(name, sizeof(name), "K%d", k);
    ky[k] = tstd_sym(e, name);
  }
  for (int l = 0; l < NLOC; l++) {
    snprintf(name, sizeof(name), "loc%d", l);
    locs[l] = tstd_sym(e, name);
  }
  int nacc[NV] = {0};
  for (int i = 0; i < n; i++) {
    cw_aevent x;
    memset(&x, 0, sizeof(x));
    x.kind = (cw_ae_kind)ev[i].kind;
    x.flags = (uint32_t)ev[i].flags;
    x.actor = act[ev[i].actor];
    x.seq = (uint64_t)i;
    x.loc = locs[ev[i].loc];
    switch (ev[i].kind) {
    case CW_AE_READ:
    case CW_AE_WRITE:
      x.object = vars[ev[i].obj];
      access_index[i] = nacc[ev[i].obj]++;
      break;
    case CW_AE_LOCK_ACQUIRE:
    case CW_AE_LOCK_RELEASE:
      x.object = lk[ev[i].obj];
      break;
    case CW_AE_ANN_RELEASE:
    case CW_AE_ANN_ACQUIRE:
      x.object = ky[ev[i].obj];
      break;
    case CW_AE_FORK:
    case CW_AE_JOIN:
      x.child = act[ev[i].child];
      break;
    default:
      break;
    }
    assert_int_equal(cw__engine_feed(e, &x), 0);
  }
}

/* Runs `traces` random traces drawn with g_nt, g_nv, g_nloc; more than a
 * tenth and fewer than all but traces / clean_div must have races. */
static void differential(uint64_t seed, int traces, int clean_div) {
  rng_state = seed;
  rev ev[MAXEV];
  int with_races = 0;
  for (int it = 0; it < traces; it++) {
    int n = gen(ev, 8 + (int)rnd(MAXEV - 8));
    refres r;
    reference(ev, n, &r);
    cw_engine_config cfg = {.size = sizeof(cfg), .keep_events = 1};
    cw_engine *e = cw__engine_new(&cfg);
    cw_sym vars[NV], locs[NLOC];
    int access_index[MAXEV];
    feed_rev(e, ev, n, vars, locs, access_index);
    cw_summary s;
    cw__engine_summary(e, &s);
    if (s.racy_variables != r.racy_vars ||
        s.racy_location_pairs != r.racy_pairs || s.race_groups != r.groups)
      fail_msg("trace %d: engine vars/pairs/groups %llu/%llu/%llu, "
               "reference %llu/%llu/%llu",
               it, (unsigned long long)s.racy_variables,
               (unsigned long long)s.racy_location_pairs,
               (unsigned long long)s.race_groups,
               (unsigned long long)r.racy_vars,
               (unsigned long long)r.racy_pairs, (unsigned long long)r.groups);
    with_races += r.racy_vars > 0;
    /* Group severities. */
    const cw_race_group *g;
    size_t ng = cw__engine_races(e, &g);
    for (size_t k = 0; k < ng; k++) {
      int v = -1, a = -1, b = -1;
      for (int q = 0; q < NV; q++)
        if (vars[q] == g[k].var)
          v = q;
      for (int q = 0; q < NLOC; q++) {
        if (locs[q] == g[k].loc1)
          a = q;
        if (locs[q] == g[k].loc2)
          b = q;
      }
      assert_true(v >= 0 && a >= 0 && b >= 0);
      int lo = a < b ? a : b, hi = a < b ? b : a;
      assert_int_equal((int)g[k].severity, r.groupsev[v][lo][hi]);
      if (g[k].count != r.groupcnt[v][lo][hi])
        fail_msg("trace %d group %zu: count %llu, reference %u", it, k,
                 (unsigned long long)g[k].count, r.groupcnt[v][lo][hi]);
      /* The representative is a racing pair of the group's locations. */
      uint64_t s1 = g[k].first.seq, s2 = g[k].second.seq;
      assert_true(s1 < (uint64_t)n && s2 < (uint64_t)n && s1 != s2);
      uint64_t lo_s = s1 < s2 ? s1 : s2, hi_s = s1 < s2 ? s2 : s1;
      assert_true((r.racemask[hi_s] >> lo_s) & 1);
      assert_true(ev[s1].obj == v && ev[s2].obj == v);
      assert_true(locs[ev[s1].loc] == g[k].first.loc &&
                  locs[ev[s2].loc] == g[k].second.loc);
    }
    /* Audit trails: every access, in order, with its racy flag. */
    for (int v = 0; v < NV; v++) {
      const cw_audit_entry *au;
      size_t na = cw__engine_audit(e, vars[v], &au);
      size_t seen = 0;
      for (int i = 0; i < n; i++) {
        if ((ev[i].kind != CW_AE_READ && ev[i].kind != CW_AE_WRITE) ||
            ev[i].obj != v)
          continue;
        assert_true((size_t)access_index[i] < na);
        const cw_audit_entry *x = &au[access_index[i]];
        assert_int_equal(x->seq, (uint64_t)i);
        if (x->racy != r.racy[i])
          fail_msg("trace %d event %d: audit racy %d, reference %d", it, i,
                   x->racy, r.racy[i]);
        seen++;
      }
      assert_int_equal(seen, na);
    }
    cw__engine_free(e);
  }
  /* The generator must exercise both outcomes. */
  if (with_races <= traces / 10 || with_races >= traces - traces / clean_div)
    fail_msg("%d of %d traces with races", with_races, traces);
}

static void test_differential(void **st) {
  (void)st;
  g_nt = 5;
  g_nv = 3;
  g_nloc = 4;
  g_selfstart = 4;
  differential(0x9E3779B97F4A7C15ull, 6000, 10);
}

/* Up to 12 actors and 16 locations on one variable: records past
 * AE_LINEAR_MAX (8) actors per variable and (location, kind) entries per
 * actor go through the engine's hash indexes and recency lists. */
static void test_differential_wide(void **st) {
  (void)st;
  g_nt = 12;
  g_nv = 1;
  g_nloc = 16;
  g_selfstart = 2;
  differential(0xD1B54A32D192ED03ull, 4000, 50);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example_lost_update),
      cmocka_unit_test(test_example_safe_transfer),
      cmocka_unit_test(test_example_abba),
      cmocka_unit_test(test_lost_update_groups),
      cmocka_unit_test(test_race_clocks),
      cmocka_unit_test(test_atomics),
      cmocka_unit_test(test_lock_orders),
      cmocka_unit_test(test_rwlock_modes),
      cmocka_unit_test(test_fork_join_annotations),
      cmocka_unit_test(test_non_adjacent),
      cmocka_unit_test(test_same_location_pair),
      cmocka_unit_test(test_many_locations_one_actor),
      cmocka_unit_test(test_many_actors_retired),
      cmocka_unit_test(test_many_readers),
      cmocka_unit_test(test_differential),
      cmocka_unit_test(test_differential_wide),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
