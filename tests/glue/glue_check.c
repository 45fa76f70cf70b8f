/*
 * glue_check: asserts on a `causeway check --report json` document, for
 * the integration scripts.
 *
 *   glue_check REPORT race VAR [SERVICE1 SERVICE2]
 *       VAR has a race group; with services, one group's two sides are in
 *       SERVICE1 and SERVICE2 (either order).
 *   glue_check REPORT norace VAR
 *       VAR has no race group.
 *   glue_check TRACES traces N SERVICE,SERVICE...
 *       a collector's GET /v1/traces answer lists exactly N traces, each
 *       spanning every listed service (one user action grouped across
 *       services).
 *   glue_check REPORT summary
 *       prints the summary counts.
 *   glue_check REPORT deadlock LOCK1 LOCK2 SERVICE1 SERVICE2
 *       an actual deadlock (wait-for cycle) whose edges name both locks
 *       and actors of both services; every edge's service is the one in
 *       its actor's own name ("service#instance/..."), and every request
 *       of an "http-call:" wait names a location (the call site).
 *   glue_check SERVICES calls FROM>TO,...
 *       GET /v1/services lists each FROM and TO with at least one actor
 *       and a call edge FROM -> TO.
 *
 * Prints what it found; exits 0 when the expectation holds, 1 when not, 2
 * on bad input.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *sget(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static int side_service_is(json_t *g, const char *a, const char *b) {
  const char *s1 = sget(json_object_get(g, "first"), "service");
  const char *s2 = sget(json_object_get(g, "second"), "service");
  return (!strcmp(s1, a) && !strcmp(s2, b)) ||
         (!strcmp(s1, b) && !strcmp(s2, a));
}

static int check_race(json_t *root, const char *var, const char *s1,
                      const char *s2) {
  json_t *races = json_object_get(root, "races"), *g;
  size_t i;
  int groups = 0, named = 0;
  json_array_foreach(races, i, g) {
    if (strcmp(sget(g, "variable"), var) != 0)
      continue;
    groups++;
    printf("race %s: %s (%s) vs %s (%s), %s\n", var,
           sget(json_object_get(g, "first"), "actor"),
           sget(json_object_get(g, "first"), "service"),
           sget(json_object_get(g, "second"), "actor"),
           sget(json_object_get(g, "second"), "service"), sget(g, "kind"));
    if (s1 && side_service_is(g, s1, s2))
      named++;
  }
  return s1 ? named > 0 : groups > 0;
}

/* A service of /v1/services with at least one actor. */
static int has_service(json_t *root, const char *name, size_t len) {
  json_t *svcs = json_object_get(root, "services"), *s;
  size_t i;
  json_array_foreach(svcs, i, s) {
    const char *n = sget(s, "service");
    if (strlen(n) == len && !strncmp(n, name, len) &&
        json_integer_value(json_object_get(s, "actors")) >= 1)
      return 1;
  }
  return 0;
}

/* spec: "FROM>TO,FROM>TO". */
static int check_calls(json_t *root, const char *spec) {
  char *dump = json_dumps(root, JSON_COMPACT);
  printf("services: %s\n", dump ? dump : "?");
  free(dump);
  for (const char *p = spec; *p;) {
    size_t n = strcspn(p, ","), a = strcspn(p, ">");
    if (a >= n)
      return 0;
    const char *to = p + a + 1;
    size_t tl = n - a - 1;
    if (!has_service(root, p, a) || !has_service(root, to, tl))
      return 0;
    json_t *calls = json_object_get(root, "calls"), *c;
    size_t i;
    int seen = 0;
    json_array_foreach(calls, i, c) {
      const char *f = sget(c, "from"), *t = sget(c, "to");
      if (strlen(f) == a && !strncmp(f, p, a) && strlen(t) == tl &&
          !strncmp(t, to, tl) &&
          json_integer_value(json_object_get(c, "count")) >= 1)
        seen = 1;
    }
    if (!seen)
      return 0;
    p += n;
    if (*p == ',')
      p++;
  }
  return 1;
}

static int check_deadlock(json_t *root, char **want) {
  json_t *dls = json_object_get(root, "deadlocks"), *d;
  size_t i;
  json_array_foreach(dls, i, d) {
    json_t *cyc = json_object_get(d, "cycle"), *ed;
    size_t k;
    int seen[4] = {0, 0, 0, 0};
    printf("deadlock:");
    json_array_foreach(cyc, k, ed) {
      const char *held = sget(ed, "held"), *req = sget(ed, "requested");
      const char *svc = sget(ed, "service");
      printf(" [%s (%s) holds %s, wants %s]", sget(ed, "actor"), svc, held,
             req);
      const char *actor = sget(ed, "actor"), *hash = strchr(actor, '#');
      if (!hash || strlen(svc) != (size_t)(hash - actor) ||
          strncmp(actor, svc, strlen(svc)) != 0) {
        printf(" <service %s is not the actor's own>", svc);
        return 0;
      }
      if (!strncmp(req, "http-call:", 10) && !*sget(ed, "location")) {
        printf(" <%s requested without a location>", req);
        return 0;
      }
      for (int w = 0; w < 2; w++)
        if (!strcmp(held, want[w]) || !strcmp(req, want[w]))
          seen[w] = 1;
      for (int w = 2; w < 4; w++)
        if (!strcmp(svc, want[w]))
          seen[w] = 1;
    }
    printf("\n");
    if (seen[0] && seen[1] && seen[2] && seen[3])
      return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: glue_check REPORT race|norace|deadlock ...\n");
    return 2;
  }
  json_error_t err;
  json_t *root = json_load_file(argv[1], 0, &err);
  if (!root) {
    fprintf(stderr, "glue_check: %s: %s\n", argv[1], err.text);
    return 2;
  }
  int ok = 0;
  const char *what = argv[2];
  if (!strcmp(what, "summary")) {
    json_t *sum = json_object_get(root, "summary"), *v;
    const char *k;
    printf("summary:");
    json_object_foreach(sum, k, v) {
      if (json_integer_value(v))
        printf(" %s=%lld", k, (long long)json_integer_value(v));
    }
    printf("\n");
    json_decref(root);
    return 0;
  }
  if (argc < 4) {
    json_decref(root);
    return 2;
  }
  if (!strcmp(what, "traces") && argc > 4) {
    json_t *items = json_object_get(root, "items"), *it;
    size_t i;
    long want = strtol(argv[3], NULL, 10);
    ok = (long)json_array_size(items) == want;
    json_array_foreach(items, i, it) {
      json_t *svcs = json_object_get(it, "services");
      printf("trace %s:", sget(it, "trace_id"));
      for (size_t k = 0; k < json_array_size(svcs); k++)
        printf(" %s", json_string_value(json_array_get(svcs, k)));
      printf("\n");
      for (const char *p = argv[4]; *p;) {
        size_t n = strcspn(p, ","), k, found = 0;
        for (k = 0; k < json_array_size(svcs); k++) {
          const char *v = json_string_value(json_array_get(svcs, k));
          found |= v && strlen(v) == n && !strncmp(v, p, n);
        }
        ok &= found != 0;
        p += n + (p[n] == ',');
      }
    }
  } else if (!strcmp(what, "race")) {
    ok = check_race(root, argv[3], argc > 5 ? argv[4] : NULL,
                    argc > 5 ? argv[5] : NULL);
  } else if (!strcmp(what, "norace")) {
    ok = !check_race(root, argv[3], NULL, NULL);
  } else if (!strcmp(what, "deadlock") && argc > 6) {
    ok = check_deadlock(root, argv + 3);
  } else if (!strcmp(what, "calls") && argc == 4) {
    ok = check_calls(root, argv[3]);
  } else {
    fprintf(stderr, "glue_check: bad expectation\n");
    json_decref(root);
    return 2;
  }
  printf("glue_check %s %s: %s\n", what, argv[3], ok ? "ok" : "FAILED");
  json_decref(root);
  return ok ? 0 : 1;
}
