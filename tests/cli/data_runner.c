/*
 * data_runner: runs one data-driven case of tests/data/<case>/ through the
 * causeway binary and compares the outcome with the case's expected.json.
 *
 * usage: data_runner CAUSEWAY CASE_DIR
 *
 * The case's inputs are its other files in name order (except *.supp and
 * README*); a *.cwspec file is first turned into a native .cwt
 * (tests/cli/cwt_spec.h). expected.json:
 *   "exit":   the exit code (required);
 *   "args":   extra arguments before the files (optional); "{dir}/NAME"
 *             names a file of the case (e.g. a suppression file);
 *   "stderr": a substring stderr must contain (optional);
 *   "report": "json" (default), "sarif" or "junit": what to run with;
 *   any other key ("summary", "races"...) must match the JSON report as a
 *   subset: objects by key, arrays element by element in any order with the
 *   same length, scalars exactly.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cwt_spec.h"

#define MAX_FILES 64

static int failed;
static int quiet; /* probing array elements: mismatches are not failures */

static void bad(const char *fmt, const char *a, const char *b) {
  failed = 1;
  if (quiet)
    return;
  fprintf(stderr, "FAIL: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  while (buf) {
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (n < cap)
      break;
    char *nb = realloc(buf, cap * 2 + 1);
    if (!nb) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  fclose(f);
  if (buf)
    buf[n] = '\0';
  if (len)
    *len = n;
  return buf;
}

/* expected is a subset of actual? */
static int subset(json_t *exp, json_t *act, const char *path) {
  char sub[512];
  if (json_is_object(exp)) {
    if (!json_is_object(act)) {
      bad("%s: expected an object%s", path, "");
      return 0;
    }
    const char *k;
    json_t *v;
    int ok = 1;
    json_object_foreach(exp, k, v) {
      snprintf(sub, sizeof sub, "%s.%s", path, k);
      json_t *a = json_object_get(act, k);
      if (!a) {
        bad("%s: missing%s", sub, "");
        ok = 0;
      } else if (!subset(v, a, sub)) {
        ok = 0;
      }
    }
    return ok;
  }
  if (json_is_array(exp)) {
    if (!json_is_array(act) || json_array_size(act) != json_array_size(exp)) {
      char *s = json_dumps(act, JSON_COMPACT | JSON_ENCODE_ANY);
      bad("%s: array length differs, got %s", path, s ? s : "?");
      free(s);
      return 0;
    }
    size_t n = json_array_size(exp);
    char *used = calloc(n + 1, 1);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
      int found = 0;
      for (size_t j = 0; j < n && !found; j++) {
        if (used[j])
          continue;
        int save = failed, save_quiet = quiet;
        quiet = 1;
        if (subset(json_array_get(exp, i), json_array_get(act, j), path))
          found = 1;
        quiet = save_quiet;
        failed = save;
        if (found)
          used[j] = 1;
      }
      if (!found) {
        char *s = json_dumps(json_array_get(exp, i), JSON_COMPACT);
        bad("%s: no element matches %s", path, s ? s : "?");
        free(s);
        ok = 0;
      }
    }
    free(used);
    return ok;
  }
  if (!json_equal(exp, act)) {
    char *e = json_dumps(exp, JSON_ENCODE_ANY);
    char *a = json_dumps(act, JSON_ENCODE_ANY);
    failed = 1;
    if (!quiet)
      fprintf(stderr, "FAIL: %s: expected %s, got %s\n", path, e ? e : "?",
              a ? a : "?");
    free(e);
    free(a);
    return 0;
  }
  return 1;
}

/* Writes a .cwt for a spec into tmpdir. @return a new path or NULL. */
static char *make_cwt(const char *spec_path, const char *tmpdir) {
  size_t len;
  char *spec = slurp(spec_path, &len);
  if (!spec)
    return NULL;
  char err[256];
  size_t n;
  uint8_t *img = cwt_from_spec(spec, len, &n, err, sizeof err);
  free(spec);
  if (!img) {
    bad("%s: %s", spec_path, err);
    return NULL;
  }
  const char *base = strrchr(spec_path, '/');
  base = base ? base + 1 : spec_path;
  size_t pl = strlen(tmpdir) + strlen(base) + 8;
  char *path = malloc(pl);
  snprintf(path, pl, "%s/%.*s.cwt", tmpdir,
           (int)(strlen(base) - strlen(".cwspec")), base);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(img, 1, n, f) != n) {
    bad("cannot write %s%s", path, "");
  }
  if (f)
    fclose(f);
  free(img);
  return path;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: data_runner CAUSEWAY CASE_DIR\n");
    return 2;
  }
  const char *bin = argv[1], *dir = argv[2];
  char path[4096];
  snprintf(path, sizeof path, "%s/expected.json", dir);
  json_error_t je;
  json_t *exp = json_load_file(path, 0, &je);
  if (!exp) {
    fprintf(stderr, "%s:%d: %s\n", path, je.line, je.text);
    return 2;
  }
  char tmpdir[] = "/tmp/cw-data-XXXXXX";
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 2;
  }

  /* argv of causeway: check --report R [args...] files... */
  const char *report = "json";
  json_t *r = json_object_get(exp, "report");
  if (json_is_string(r))
    report = json_string_value(r);
  char *args[16 + MAX_FILES + 8];
  int na = 0;
  args[na++] = (char *)bin;
  args[na++] = "check";
  args[na++] = "--report";
  args[na++] = (char *)report;
  size_t i;
  json_t *v;
  char *subst[16] = {0};
  int ns = 0;
  json_array_foreach(json_object_get(exp, "args"), i, v) {
    if (!json_is_string(v) || na >= 16)
      continue;
    const char *a = json_string_value(v);
    if (!strncmp(a, "{dir}/", 6)) { /* a file of the case, e.g. a .supp */
      size_t l = strlen(dir) + strlen(a);
      subst[ns] = malloc(l);
      snprintf(subst[ns], l, "%s/%s", dir, a + 6);
      a = subst[ns++];
    }
    args[na++] = (char *)a;
  }
  DIR *d = opendir(dir);
  char *names[MAX_FILES];
  int nn = 0;
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL && nn < MAX_FILES) {
    if (de->d_name[0] == '.' || !strcmp(de->d_name, "expected.json") ||
        !strncmp(de->d_name, "README", 6) ||
        (strlen(de->d_name) > 5 &&
         !strcmp(de->d_name + strlen(de->d_name) - 5, ".supp")))
      continue;
    names[nn++] = strdup(de->d_name);
  }
  if (d)
    closedir(d);
  qsort(names, (size_t)nn, sizeof *names, cmp_str);
  char *owned[MAX_FILES];
  for (int k = 0; k < nn; k++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
    size_t l = strlen(names[k]);
    if (l > 7 && !strcmp(names[k] + l - 7, ".cwspec"))
      owned[k] = make_cwt(path, tmpdir);
    else
      owned[k] = strdup(path);
    if (owned[k])
      args[na++] = owned[k];
  }
  args[na] = NULL;

  char out_path[64], err_path[64];
  snprintf(out_path, sizeof out_path, "%s/stdout", tmpdir);
  snprintf(err_path, sizeof err_path, "%s/stderr", tmpdir);
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
      _exit(127);
    execv(bin, args);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  char *out = slurp(out_path, NULL);
  char *err = slurp(err_path, NULL);

  json_t *want_exit = json_object_get(exp, "exit");
  if (!json_is_integer(want_exit)) {
    bad("expected.json has no integer \"exit\"%s%s", "", "");
  } else if (json_integer_value(want_exit) != code) {
    char a[32], b[32];
    snprintf(a, sizeof a, "%lld", (long long)json_integer_value(want_exit));
    snprintf(b, sizeof b, "%d", code);
    bad("exit code: expected %s, got %s", a, b);
  }
  json_t *want_err = json_object_get(exp, "stderr");
  if (json_is_string(want_err) &&
      (!err || !strstr(err, json_string_value(want_err))))
    bad("stderr lacks '%s'%s", json_string_value(want_err), "");

  json_t *rep = NULL;
  const char *k;
  json_object_foreach(exp, k, v) {
    if (!strcmp(k, "exit") || !strcmp(k, "args") || !strcmp(k, "stderr") ||
        !strcmp(k, "report"))
      continue;
    if (!rep) {
      rep = out ? json_loads(out, 0, &je) : NULL;
      if (!rep) {
        bad("stdout is not JSON: %s%s", je.text, "");
        break;
      }
    }
    subset(v, json_object_get(rep, k) ? json_object_get(rep, k) : json_null(),
           k);
  }
  if (failed) {
    fprintf(stderr, "--- causeway exit %d; stderr:\n%s\n--- stdout:\n%s\n",
            code, err ? err : "", out ? out : "");
  }
  json_decref(rep);
  json_decref(exp);
  free(out);
  free(err);
  for (int k2 = 0; k2 < ns; k2++)
    free(subst[k2]);
  for (int k2 = 0; k2 < nn; k2++) {
    free(names[k2]);
    free(owned[k2]);
  }
  /* Clean the temporary directory. */
  d = opendir(tmpdir);
  while (d && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "%s/%s", tmpdir, de->d_name);
    unlink(path);
  }
  if (d)
    closedir(d);
  rmdir(tmpdir);
  return failed ? 1 : 0;
}
