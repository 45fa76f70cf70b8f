/*
 * test_input_raceway: the Raceway JSON decoder (container shapes, time
 * ordering, happens-before mapping, tolerant skipping), against a recording
 * engine stand-in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cw_raceway_int.h"
#include "test_input_fake_engine.h"

/* One event with the metadata Raceway's Python SDK sends. */
/* clang-format off */
#define EV(id, parent, ts, thread, kind)                                     \
  "{\"id\":\"" id "\",\"trace_id\":\"t\",\"parent_id\":" parent ","          \
  "\"timestamp\":\"2025-11-04T10:15:30." ts "+00:00\",\"kind\":" kind ","    \
  "\"metadata\":{\"thread_id\":\"" thread "\",\"process_id\":42,"            \
  "\"service_name\":\"api\",\"environment\":\"dev\",\"tags\":{},"           \
  "\"duration_ns\":null},\"causality_vector\":[],\"lock_set\":[]}"

#define SC(var, at, val)                                                     \
  "{\"StateChange\":{\"variable\":\"" var "\",\"old_value\":null,"          \
  "\"new_value\":" val ",\"location\":\"app.py:1\",\"access_type\":\"" at   \
  "\"}}"
/* clang-format on */

static cw_engine *decode(const char *json, int expect_rc, cw_input_stats *st,
                         cw_input_error *err) {
  cw_engine *e = cw__engine_new(NULL);
  memset(st, 0, sizeof *st);
  cw_input_opts o = {.name = "b.json"};
  assert_int_equal(cw__raceway_decode_ex(json, strlen(json), e, &o, st, err),
                   expect_rc);
  return e;
}

static void test_rfc3339(void **state) {
  (void)state;
  int64_t t;
  assert_int_equal(cw__rfc3339_parse("1970-01-01T00:00:00Z", &t), 0);
  assert_int_equal(t, 0);
  assert_int_equal(cw__rfc3339_parse("1970-01-01T01:00:00.5+01:00", &t), 0);
  assert_int_equal(t, 500000000);
  assert_int_equal(cw__rfc3339_parse("2000-03-01T00:00:00.000000001Z", &t), 0);
  assert_int_equal(t, 951868800LL * 1000000000LL + 1);
  assert_int_equal(cw__rfc3339_parse("2000-03-01 00:00:00", &t), -1);
  assert_int_equal(cw__rfc3339_parse("2000-13-01T00:00:00Z", &t), -1);
  assert_int_equal(cw__rfc3339_parse("2000-03-01T00:00:00.Z", &t), -1);
  assert_int_equal(cw__rfc3339_parse("2000-03-01T00:00:00Zjunk", &t), -1);
  /* Years whose nanoseconds overflow int64 (found by fuzz_raceway). */
  assert_int_equal(cw__rfc3339_parse("1025-01-01T00:00:00Z", &t), -1);
  assert_int_equal(cw__rfc3339_parse("9999-12-31T23:59:59Z", &t), -1);
  assert_int_equal(cw__rfc3339_parse("2262-01-01T00:00:00Z", &t), 0);
}

static void test_fixture_example(void **state) {
  (void)state;
  char path[1024];
  const char *dir = getenv("CW_FIXTURES_DIR");
  assert_non_null(dir);
  snprintf(path, sizeof path, "%s/raceway-batch.json", dir);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  cw_input_stats st;
  cw_input_error err;
  cw_engine *e = decode(buf, 0, &st, &err);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 2);
  assert_int_equal(ev[0].ev.kind, CW_AE_OTHER);
  assert_string_equal(ev[0].detail, "HttpRequest POST /api/transfer");
  assert_string_equal(ev[0].actor,
                      "banking-api#web1-4242/python-4242-1a2b3c4d");
  assert_int_equal(ev[1].ev.kind, CW_AE_WRITE);
  assert_string_equal(ev[1].object, "alice.balance");
  assert_string_equal(ev[1].loc, "app.py:131");
  assert_true(ev[1].ev.flags & CW_AEF_VAL_INT);
  assert_int_equal(ev[1].ev.val_int, 900);
  /* Same thread: program order, no explicit join. */
  assert_int_equal(ev[1].ev.njoins, 0);
  assert_int_equal(ev[1].ev.counter, ev[0].ev.counter + 1);
  assert_int_equal(st.skipped_events, 0);
  assert_int_equal(st.events, 2);
  cw__engine_free(e);
}

/* Within a batch the SDK's buffer order is kept, even where timestamps
 * disagree (TypeScript SDK: milliseconds plus unrelated hrtime digits);
 * batches of one process are chained by timestamp, whatever their order in
 * the input. */
static void test_buffer_order_and_batch_chain(void **state) {
  (void)state;
  /* clang-format off */
  const char *json =
      "{\"events\":["
      EV("c", "null", "300", "t1", SC("x", "Write", "3")) ","
      EV("d", "null", "290", "t1", SC("x", "Read", "4"))
      "]}\n{\"events\":["
      EV("a", "null", "100", "t2", SC("x", "Read", "1")) ","
      EV("b", "null", "200", "t1", SC("x", "Write", "2"))
      "]}";
  /* clang-format on */
  cw_input_stats st;
  cw_engine *e = decode(json, 0, &st, NULL);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 4);
  assert_int_equal(ev[0].ev.val_int, 1);
  assert_string_equal(ev[0].actor, "api#42/t2");
  assert_int_equal(ev[1].ev.val_int, 2);
  assert_int_equal(ev[2].ev.val_int, 3);
  assert_int_equal(ev[3].ev.val_int, 4);
  assert_int_equal(ev[3].ev.kind, CW_AE_READ);
  assert_int_equal(st.late_events, 0);
  cw__engine_free(e);
}

/* The collector's reorder window: bodies held for the window are fed in
 * merged order whatever their arrival order; a batch that comes after a
 * later batch of its process was fed is counted late, and still fed. */
static void test_reorder_window(void **state) {
  (void)state;
  /* clang-format off */
  const char *later = "{\"events\":["
      EV("c", "null", "300", "t1", SC("x", "Write", "3")) "]}";
  const char *earlier = "{\"events\":["
      EV("a", "null", "100", "t1", SC("x", "Read", "1")) ","
      EV("b", "null", "200", "t2", SC("x", "Write", "2")) "]}";
  const char *late = "{\"events\":["
      EV("z", "null", "150", "t1", SC("x", "Read", "9")) "]}";
  /* clang-format on */
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_engine *e = cw__engine_new(NULL);
  cw_raceway_ctx *c = cw__raceway_ctx_new();
  const int64_t ms = 1000000;
  assert_int_equal(
      cw__raceway_ctx_add(c, later, strlen(later), 0 * ms, NULL, &st, NULL), 0);
  assert_int_equal(cw__raceway_ctx_add(c, earlier, strlen(earlier), 500 * ms,
                                       NULL, &st, NULL),
                   0);
  /* Within the 1 s window nothing is fed. */
  assert_int_equal(cw__raceway_ctx_release(c, e, 900 * ms, 1000 * ms, &st), 0);
  assert_int_equal(cw__raceway_ctx_held(c), 3);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 0);
  /* The first body is due: the merge feeds the earlier body first. */
  assert_int_equal(cw__raceway_ctx_release(c, e, 1000 * ms, 1000 * ms, &st), 0);
  assert_int_equal(fake_events(e, &ev), 3);
  assert_int_equal(ev[0].ev.val_int, 1);
  assert_int_equal(ev[1].ev.val_int, 2);
  assert_int_equal(ev[2].ev.val_int, 3);
  assert_int_equal(st.late_events, 0);
  /* A batch of t1's process older than what was fed: late, fed anyway. */
  assert_int_equal(
      cw__raceway_ctx_add(c, late, strlen(late), 3000 * ms, NULL, &st, NULL),
      0);
  assert_int_equal(st.late_events, 1);
  assert_int_equal(cw__raceway_ctx_release(c, e, 3000 * ms, 0, &st), 0);
  assert_int_equal(fake_events(e, &ev), 4);
  assert_int_equal(cw__raceway_ctx_held(c), 0);
  cw__raceway_ctx_free(c);
  cw__engine_free(e);
}

static void test_locks_and_modes(void **state) {
  (void)state;
  /* clang-format off */
  const char *json = "["
      EV("a", "null", "100", "t1",
         "{\"LockAcquire\":{\"lock_id\":\"m\",\"lock_type\":\"RwLock::Read\","
         "\"location\":\"a.rs:1\"}}") ","
      EV("b", "null", "200", "t1",
         "{\"LockRelease\":{\"lock_id\":\"m\",\"lock_type\":\"RwLock::Read\","
         "\"location\":\"a.rs:2\"}}") ","
      EV("c", "null", "300", "t1",
         "{\"LockAcquire\":{\"lock_id\":\"m\",\"lock_type\":\"Mutex\"}}")
      "]";
  /* clang-format on */
  cw_input_stats st;
  cw_engine *e = decode(json, 0, &st, NULL);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 5);
  assert_int_equal(ev[0].ev.kind, CW_AE_LOCK_REQUEST);
  assert_int_equal(ev[1].ev.kind, CW_AE_LOCK_ACQUIRE);
  assert_true(ev[1].ev.flags & CW_AEF_SHARED);
  assert_string_equal(ev[1].object, "m");
  assert_int_equal(ev[2].ev.kind, CW_AE_LOCK_RELEASE);
  assert_true(ev[2].ev.flags & CW_AEF_SHARED);
  assert_int_equal(ev[4].ev.kind, CW_AE_LOCK_ACQUIRE);
  assert_false(ev[4].ev.flags & CW_AEF_SHARED);
  for (int i = 0; i < 5; i++)
    assert_int_equal(ev[i].ev.counter, (uint64_t)i + 1);
  cw__engine_free(e);
}

static void test_parent_link_joins(void **state) {
  (void)state;
  /* t2's event continues t1's request: an explicit join on t1's event. */
  /* clang-format off */
  const char *json = "{\"events\":["
      EV("p", "null", "100", "t1", SC("x", "Write", "1")) ","
      EV("q", "\"p\"", "200", "t2", SC("x", "Write", "2")) ","
      EV("r", "\"q\"", "300", "t2", SC("x", "Write", "3"))
      "]}";
  /* clang-format on */
  cw_input_stats st;
  cw_engine *e = decode(json, 0, &st, NULL);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 3);
  assert_int_equal(ev[1].ev.njoins, 1);
  assert_int_equal(ev[1].joins[0].actor, ev[0].ev.actor);
  assert_int_equal(ev[1].joins[0].counter, ev[0].ev.counter);
  assert_int_equal(ev[2].ev.njoins, 0); /* same thread: program order */
  cw__engine_free(e);
}

static void test_spawn_and_atomics(void **state) {
  (void)state;
  /* clang-format off */
  const char *json = "{\"events\":["
      EV("a", "null", "100", "main",
         "{\"AsyncSpawn\":{\"task_id\":\"task-7\",\"spawned_by\":\"main\"}}")
      ","
      EV("b", "null", "200", "task-7", SC("n", "AtomicRMW", "\"s\"")) ","
      EV("c", "null", "300", "main", SC("n", "AtomicRead", "{\"k\":1}"))
      "]}";
  /* clang-format on */
  cw_input_stats st;
  cw_engine *e = decode(json, 0, &st, NULL);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 3);
  assert_int_equal(ev[0].ev.kind, CW_AE_FORK);
  assert_string_equal(ev[0].child, "api#42/task-7");
  assert_string_equal(ev[1].actor, "api#42/task-7");
  assert_int_equal(ev[1].ev.kind, CW_AE_WRITE);
  assert_true(ev[1].ev.flags & CW_AEF_ATOMIC);
  assert_string_equal(ev[1].val_str, "s");
  assert_int_equal(ev[2].ev.kind, CW_AE_READ);
  assert_true(ev[2].ev.flags & CW_AEF_ATOMIC);
  assert_string_equal(ev[2].val_str, "{\"k\":1}");
  cw__engine_free(e);
}

static void test_await_joins_spawned_task(void **state) {
  (void)state;
  /* clang-format off */
  const char *json = "{\"events\":["
      EV("a", "null", "100", "main",
         "{\"AsyncSpawn\":{\"task_id\":\"task-7\",\"spawned_by\":\"m\"}}")
      ","
      EV("b", "null", "200", "task-7", SC("n", "Write", "1")) ","
      EV("c", "null", "300", "main",
         "{\"AsyncAwait\":{\"future_id\":\"task-7\",\"awaited_at\":\"x\"}}")
      ","
      EV("d", "null", "400", "main",
         "{\"AsyncAwait\":{\"future_id\":\"never-ran\",\"awaited_at\":\"x\"}}")
      "]}";
  /* clang-format on */
  cw_input_stats st;
  cw_engine *e = decode(json, 0, &st, NULL);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 4);
  assert_int_equal(ev[2].ev.kind, CW_AE_JOIN);
  assert_string_equal(ev[2].child, "api#42/task-7");
  /* An unknown future is only informational and creates no actor. */
  assert_int_equal(ev[3].ev.kind, CW_AE_OTHER);
  assert_string_equal(ev[3].detail, "AsyncAwait never-ran");
  assert_int_equal(fake_actors(e), 2);
  cw__engine_free(e);
}

static void test_bad_events_skipped(void **state) {
  (void)state;
  /* clang-format off */
  const char *json = "{\"events\":["
      EV("a", "null", "100", "t1", SC("x", "Write", "1")) ","
      EV("b", "null", "200", "t1", "{\"Teleport\":{}}") ","
      "42,"
      "{\"id\":\"c\",\"timestamp\":\"yesterday\",\"kind\":"
      SC("x", "Read", "1") ",\"metadata\":{\"thread_id\":\"t\"}},"
      EV("d", "null", "300", "t1", "{\"StateChange\":{\"variable\":\"x\"}}")
      ","
      EV("e", "null", "400", "t1", "{\"A\":{},\"B\":{}}") ","
      "{\"id\":\"f\",\"timestamp\":\"2025-11-04T10:15:31Z\",\"kind\":"
      SC("x", "Read", "1") "},"
      EV("g", "null", "500", "t2", SC("x", "Read", "1")) "],"
      "\"extra_top\":true}";
  /* clang-format on */
  cw_input_stats st;
  cw_engine *e = decode(json, 0, &st, NULL);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 2);
  assert_int_equal(st.skipped_events, 6);
  assert_int_equal(st.skipped[CW_SKIP_UNKNOWN_KIND], 1);
  assert_int_equal(st.skipped[CW_SKIP_NOT_OBJECT], 1);
  assert_int_equal(st.skipped[CW_SKIP_BAD_TIMESTAMP], 1);
  assert_int_equal(st.skipped[CW_SKIP_BAD_FIELD], 1);
  assert_int_equal(st.skipped[CW_SKIP_BAD_KIND], 1);
  assert_int_equal(st.skipped[CW_SKIP_BAD_METADATA], 1);
  cw__engine_free(e);
}

static void test_extra_fields_counted(void **state) {
  (void)state;
  /* clang-format off */
  const char *json = "{\"events\":["
      "{\"id\":\"a\",\"timestamp\":\"2025-11-04T10:15:31Z\",\"new\":1,"
      "\"kind\":{\"StateChange\":{\"variable\":\"x\",\"access_type\":"
      "\"Write\",\"new_value\":1,\"color\":\"red\"}},"
      "\"metadata\":{\"thread_id\":\"t\",\"service_name\":\"s\"}}]}";
  /* clang-format on */
  cw_input_stats st;
  cw_engine *e = decode(json, 0, &st, NULL);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 1);
  assert_int_equal(st.unknown_fields, 1);
  assert_string_equal(ev[0].actor, "s#0/t");
  cw__engine_free(e);
}

static void test_jsonl_batches(void **state) {
  (void)state;
  /* clang-format off */
  const char *json =
      "{\"events\":[" EV("a", "null", "300", "t1", SC("x", "Write", "1"))
      "]}\n"
      "{\"events\":[" EV("b", "null", "100", "t2", SC("x", "Write", "2"))
      "]}\n\n";
  /* clang-format on */
  cw_input_stats st;
  cw_engine *e = decode(json, 0, &st, NULL);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 2);
  assert_int_equal(st.batches, 2);
  assert_string_equal(ev[0].actor, "api#42/t2"); /* earlier timestamp */
  cw__engine_free(e);
}

/* A context carries counters and parent ids from one call to the next,
 * as the collector's POST /events needs. */
static void test_context_across_calls(void **state) {
  (void)state;
  /* clang-format off */
  const char *b1 = "{\"events\":["
      EV("p", "null", "100", "t1", SC("x", "Write", "1")) "]}";
  const char *b2 = "{\"events\":["
      EV("q", "null", "200", "t1", SC("x", "Write", "2")) ","
      EV("r", "\"p\"", "300", "t2", SC("x", "Write", "3")) "]}";
  /* clang-format on */
  cw_engine *e = cw__engine_new(NULL);
  cw_raceway_ctx *c = cw__raceway_ctx_new();
  assert_non_null(c);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  assert_int_equal(
      cw__raceway_decode_ctx(c, b1, strlen(b1), e, NULL, &st, NULL), 0);
  assert_int_equal(
      cw__raceway_decode_ctx(c, b2, strlen(b2), e, NULL, &st, NULL), 0);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 3);
  assert_int_equal(ev[0].ev.counter, 1);
  assert_int_equal(ev[1].ev.counter, 2); /* continues, not restarted */
  assert_int_equal(ev[1].ev.actor, ev[0].ev.actor);
  assert_int_equal(ev[2].ev.njoins, 1); /* parent from the earlier call */
  assert_int_equal(ev[2].joins[0].actor, ev[0].ev.actor);
  assert_int_equal(ev[2].joins[0].counter, 1);
  /* A context is bound to its engine. */
  cw_engine *other = cw__engine_new(NULL);
  assert_int_equal(
      cw__raceway_decode_ctx(c, b1, strlen(b1), other, NULL, &st, NULL), -1);
  cw__engine_free(other);
  cw__raceway_ctx_free(c);
  cw__engine_free(e);
}

static void test_syntax_error_names_line(void **state) {
  (void)state;
  /* clang-format off */
  const char *json =
      "{\"events\":[" EV("a", "null", "300", "t1", SC("x", "Write", "1"))
      "]}\n"
      "{\"events\":[\n"
      "  {\"id\": oops}\n"
      "]}\n";
  /* clang-format on */
  cw_input_stats st;
  cw_input_error err;
  cw_engine *e = decode(json, -1, &st, &err);
  assert_int_equal(err.line, 3);
  assert_non_null(strstr(err.msg, "b.json:3: invalid JSON"));
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 0); /* nothing fed on error */
  cw__engine_free(e);
}

static void test_wrong_shape(void **state) {
  (void)state;
  static const char *bad[] = {"{\"events\":5}", "\"hello\"", "{}", "7"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cw_input_stats st;
    cw_input_error err;
    cw_engine *e = decode(bad[i], -1, &st, &err);
    assert_non_null(strstr(err.msg, "b.json:1: "));
    cw__engine_free(e);
  }
}

/* Allocation failures inside jansson (parse, id map, value text) make the
 * decoder fail cleanly or succeed completely; LSan checks for leaks. */
static long alloc_budget = -1;

static void *chaos_malloc(size_t n) {
  if (alloc_budget == 0)
    return NULL;
  if (alloc_budget > 0)
    alloc_budget--;
  return malloc(n);
}

static void test_alloc_failures(void **state) {
  (void)state;
  /* clang-format off */
  const char *json = "{\"events\":["
      EV("p", "null", "100", "t1", SC("x", "Write", "{\"a\":[1,2]}")) ","
      EV("q", "\"p\"", "200", "t2", SC("x", "Write", "2")) "]}";
  /* clang-format on */
  int failures = 0, ok = 0;
  for (long budget = 0; budget < 5000 && !ok; budget++) {
    cw_engine *e = cw__engine_new(NULL);
    cw_input_stats st;
    memset(&st, 0, sizeof st);
    alloc_budget = budget;
    json_set_alloc_funcs(chaos_malloc, free);
    int rc = cw__raceway_decode(json, strlen(json), e, &st);
    json_set_alloc_funcs(malloc, free);
    alloc_budget = -1;
    if (rc == 0) {
      ok = 1;
      assert_int_equal(st.events, 2);
    } else {
      assert_int_equal(rc, -1);
      failures++;
    }
    cw__engine_free(e);
  }
  assert_true(ok);
  assert_true(failures > 5); /* the budget did bite along the way */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc3339),
      cmocka_unit_test(test_fixture_example),
      cmocka_unit_test(test_buffer_order_and_batch_chain),
      cmocka_unit_test(test_reorder_window),
      cmocka_unit_test(test_locks_and_modes),
      cmocka_unit_test(test_parent_link_joins),
      cmocka_unit_test(test_spawn_and_atomics),
      cmocka_unit_test(test_await_joins_spawned_task),
      cmocka_unit_test(test_bad_events_skipped),
      cmocka_unit_test(test_extra_fields_counted),
      cmocka_unit_test(test_jsonl_batches),
      cmocka_unit_test(test_context_across_calls),
      cmocka_unit_test(test_syntax_error_names_line),
      cmocka_unit_test(test_wrong_shape),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
