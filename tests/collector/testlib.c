/*
 * testlib: process, HTTP and batch helpers for collector integration tests.
 */
#define _POSIX_C_SOURCE 200809L
#include "testlib.h"

#include "cw_format.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

int tl_server_start(tl_server *s, const char *data_dir,
                    const char *const *extra) {
  memset(s, 0, sizeof *s);
  const char *bin = getenv("CW_SERVER_BIN");
  if (!bin)
    return -1;
  if (data_dir && *data_dir) {
    snprintf(s->data_dir, sizeof s->data_dir, "%s", data_dir);
  } else {
    snprintf(s->data_dir, sizeof s->data_dir, "/tmp/cw-collector-XXXXXX");
    if (!mkdtemp(s->data_dir))
      return -1;
  }
  int fds[2];
  if (pipe(fds))
    return -1;
  const char *argv[64];
  int n = 0;
  argv[n++] = bin;
  argv[n++] = "--listen";
  argv[n++] = "127.0.0.1:0";
  argv[n++] = "--data-dir";
  argv[n++] = s->data_dir;
  for (int i = 0; extra && extra[i] && n < 62; i++)
    argv[n++] = extra[i];
  argv[n] = NULL;
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  close(fds[1]);
  s->pid = pid;
  FILE *f = fdopen(fds[0], "r");
  char line[256];
  int ok = f && fgets(line, sizeof line, f) != NULL;
  if (f)
    fclose(f);
  const char *colon = ok ? strrchr(line, ':') : NULL;
  if (!colon || strncmp(line, "listening on ", 13)) {
    tl_server_stop(s, SIGKILL);
    return -1;
  }
  s->port = (int)strtol(colon + 1, NULL, 10);
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
  return 0;
}

int tl_server_stop(tl_server *s, int sig) {
  if (s->pid <= 0)
    return -1;
  kill(s->pid, sig);
  int st = 0;
  while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
    ;
  s->pid = 0;
  return st;
}

void tl_rmdir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *de;
  char p[512];
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

typedef struct buf {
  char *p;
  size_t n;
} buf;

static size_t on_data(char *ptr, size_t sz, size_t nm, void *ud) {
  buf *b = ud;
  size_t add = sz * nm;
  char *np = realloc(b->p, b->n + add + 1);
  if (!np)
    return 0;
  memcpy(np + b->n, ptr, add);
  b->n += add;
  np[b->n] = '\0';
  b->p = np;
  return add;
}

typedef struct hdr_want {
  const char *name;
  char *val;
  size_t valsz;
} hdr_want;

static size_t on_header(char *ptr, size_t sz, size_t nm, void *ud) {
  hdr_want *w = ud;
  size_t n = sz * nm, nl = strlen(w->name);
  if (n > nl + 1 && !strncasecmp(ptr, w->name, nl) && ptr[nl] == ':') {
    size_t i = nl + 1;
    while (i < n && ptr[i] == ' ')
      i++;
    size_t e = n;
    while (e > i && (ptr[e - 1] == '\r' || ptr[e - 1] == '\n'))
      e--;
    size_t k = e - i < w->valsz - 1 ? e - i : w->valsz - 1;
    memcpy(w->val, ptr + i, k);
    w->val[k] = '\0';
  }
  return n;
}

int tl_http(const char *method, const char *url, const char *const *headers,
            const void *body, size_t len, char **resp) {
  return tl_http_hdr(method, url, headers, body, len, resp, NULL, NULL, 0);
}

int tl_http_hdr(const char *method, const char *url, const char *const *headers,
                const void *body, size_t len, char **resp, const char *want,
                char *val, size_t valsz) {
  CURL *c = curl_easy_init();
  if (!c)
    return -1;
  struct curl_slist *h = curl_slist_append(NULL, "Expect:");
  for (int i = 0; headers && headers[i]; i++)
    h = curl_slist_append(h, headers[i]);
  buf b = {NULL, 0};
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  /* Send "/../" as written: the traversal tests must reach the server. */
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  hdr_want hw = {want, val, valsz};
  if (want && val && valsz) {
    val[0] = '\0';
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hw);
  }
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  CURLcode rc = curl_easy_perform(c);
  long status = -1;
  if (rc == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (resp)
    *resp = b.p ? b.p : calloc(1, 1);
  else
    free(b.p);
  return (int)status;
}

long long tl_json_int(const char *json, const char *path) {
  json_t *root = json ? json_loads(json, 0, NULL) : NULL;
  json_t *v = root;
  char key[128];
  const char *p = path;
  while (v && *p) {
    size_t n = strcspn(p, ".");
    if (n >= sizeof key)
      n = sizeof key - 1;
    memcpy(key, p, n);
    key[n] = '\0';
    v = json_object_get(v, key);
    p += n;
    if (*p == '.')
      p++;
  }
  long long r = v && json_is_integer(v) ? (long long)json_integer_value(v) : -1;
  json_decref(root);
  return r;
}

long long tl_get_int(const tl_server *s, const char *path,
                     const char *json_path, const char *const *headers) {
  char url[256], *resp = NULL;
  snprintf(url, sizeof url, "%s%s", s->url, path);
  int st = tl_http("GET", url, headers, NULL, 0, &resp);
  long long v = st == 200 ? tl_json_int(resp, json_path) : -1;
  free(resp);
  return v;
}

void tl_stream_id(uint8_t id[16], uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x1234567;
  for (int i = 0; i < 16; i++) {
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    id[i] = (uint8_t)(x >> 56);
  }
}

uint8_t *tl_native_batch(const tl_batch_spec *b, int compressed,
                         size_t *out_len) {
  cw_batch_writer *w = cw__bw_new((size_t)64 << 20);
  if (!w)
    return NULL;
  cw_batch_hdr h;
  memset(&h, 0, sizeof h);
  h.version = CW_FORMAT_VERSION;
  memcpy(h.stream_id, b->stream_id, 16);
  h.batch_no = b->batch_no;
  h.service = b->service ? b->service : "svc";
  h.service_len = strlen(h.service);
  h.instance = b->instance ? b->instance : "i1";
  h.instance_len = strlen(h.instance);
  h.pid = 4242;
  h.base_wall_ns = 1700000000000000000ll;
  h.base_mono_ns = 1000000000ull;
  uint8_t *out = NULL;
  if (cw__bw_begin(w, &h) == 0) {
    const char *an = b->actor ? b->actor : "main";
    uint32_t actor = cw__bw_actor(w, an, strlen(an), CW_ACTOR_THREAD);
    const char *var = b->var ? b->var : "v";
    uint32_t vs = cw__bw_string(w, var, strlen(var));
    uint32_t file = cw__bw_string(w, "t.c", 3);
    int ok = actor && vs && file;
    for (uint32_t i = 0; ok && i < b->nevents; i++) {
      cw_event_rec ev;
      memset(&ev, 0, sizeof ev);
      ev.kind = CW_EV_WRITE;
      ev.flags = CW_EVF_SHARED; /* state shared by the senders' processes */
      ev.seq = b->first_seq + i;
      ev.actor = actor;
      ev.counter = b->first_counter + i;
      ev.wall_ns = h.base_wall_ns + (int64_t)ev.seq * 1000;
      ev.mono_ns = h.base_mono_ns + ev.seq * 1000;
      ev.object = vs;
      ev.file = file;
      ev.line = 10 + (i % 7);
      ok = cw__bw_event(w, &ev) == 0;
    }
    if (ok && compressed) {
      out = cw__bw_compress(w, out_len);
    } else if (ok) {
      size_t n;
      const uint8_t *d = cw__bw_data(w, &n);
      out = malloc(n);
      if (out) {
        memcpy(out, d, n);
        *out_len = n;
      }
    }
  }
  cw__bw_free(w);
  return out;
}
