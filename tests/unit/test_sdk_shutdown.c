/*
 * cw_shutdown against a collector that is down, stalls or comes late
 * (issue 12, point 6): the public API with CAUSEWAY_ENDPOINT, real HTTP.
 *   - down: the endpoint is a closed port. cw_shutdown returns CW_EIO (the
 *     batches were never delivered) after about CAUSEWAY_FLUSH_TIMEOUT_MS,
 *     not twice that (f3c8f34: two timeouts, one for the final flush and
 *     one for the close).
 *   - stalled: a listener that accepts and reads but never answers.
 *     CW_EIO, again within the timeout plus a margin (f3c8f34: the close
 *     waited for libcurl's 15 s request timeout as well).
 *   - late: the collector is down while the batches are recorded (a 4 KiB
 *     send queue, so batches that do not fit are replaced by gap reports),
 *     then the real causeway-server starts on that port. cw_shutdown
 *     returns CW_OK: every batch was delivered or reported as a gap, which
 *     the collector acknowledged and counts (f3c8f34: CW_EIO because a gap
 *     had replaced a batch).
 * The time bound is T + 2 s for T = 3 s: a behaviour check (the old code
 * took 2 T or more), with room for a loaded machine.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "causeway.h"

extern char **environ;

#define TIMEOUT_MS 3000
#define MARGIN_MS 2000

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* A loopback socket bound to a free port (listening when listen_it). */
static int bound_socket(int listen_it, int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  socklen_t sl = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  *port = ntohs(sa.sin_port);
  if (listen_it)
    assert_int_equal(listen(fd, 16), 0);
  return fd;
}

/* Records a few batches' worth of lock events, waiting past the flush
 * interval between bursts so that each burst is its own batch. */
static void record(int bursts) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  for (int b = 0; b < bursts; b++) {
    for (int i = 0; i < 5000; i++) {
      cw_mutex_lock(&m);
      cw_mutex_unlock(&m);
    }
    sleep_ms(300);
  }
}

/* cw_init with the endpoint, record, cw_shutdown. @return its status and
 * the time cw_shutdown took in *ms. */
static cw_status run_session(int port, const char *queue_bytes, int bursts,
                             void (*before_shutdown)(void), double *ms) {
  char url[64], t[16];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  snprintf(t, sizeof t, "%d", TIMEOUT_MS);
  setenv("CAUSEWAY_ENDPOINT", url, 1);
  setenv("CAUSEWAY_FLUSH_TIMEOUT_MS", t, 1);
  if (queue_bytes)
    setenv("CAUSEWAY_QUEUE_BYTES", queue_bytes, 1);
  unsetenv("CAUSEWAY_TRACE_FILE");
  unsetenv("CAUSEWAY_TRACE_DIR");
  assert_int_equal(cw_init(NULL), CW_OK);
  assert_true(cw_is_enabled());
  record(bursts);
  if (before_shutdown)
    before_shutdown();
  double t0 = now_ms();
  cw_status st = cw_shutdown();
  *ms = now_ms() - t0;
  unsetenv("CAUSEWAY_ENDPOINT");
  unsetenv("CAUSEWAY_FLUSH_TIMEOUT_MS");
  unsetenv("CAUSEWAY_QUEUE_BYTES");
  return st;
}

static void test_collector_down(void **state) {
  (void)state;
  int port;
  close(bound_socket(0, &port)); /* nobody listens there */
  double ms;
  cw_status st = run_session(port, NULL, 2, NULL, &ms);
  printf("down: cw_shutdown %s after %.0f ms (timeout %d ms)\n",
         cw_strerror(st), ms, TIMEOUT_MS);
  assert_int_equal(st, CW_EIO);
  assert_true(ms <= TIMEOUT_MS + MARGIN_MS);
}

static int stall_fd;
static atomic_int stall_stop;

/* Accepts connections and reads them, never answering. */
static void *stall_main(void *arg) {
  (void)arg;
  int conns[64], n = 0;
  while (!atomic_load(&stall_stop)) {
    struct timeval tv = {0, 100000};
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(stall_fd, &rs);
    int maxfd = stall_fd;
    for (int i = 0; i < n; i++) {
      FD_SET(conns[i], &rs);
      if (conns[i] > maxfd)
        maxfd = conns[i];
    }
    if (select(maxfd + 1, &rs, NULL, NULL, &tv) <= 0)
      continue;
    if (FD_ISSET(stall_fd, &rs) && n < 64) {
      int c = accept(stall_fd, NULL, NULL);
      if (c >= 0)
        conns[n++] = c;
    }
    char buf[4096];
    for (int i = 0; i < n; i++)
      if (FD_ISSET(conns[i], &rs) && read(conns[i], buf, sizeof buf) < 0)
        continue;
  }
  for (int i = 0; i < n; i++)
    close(conns[i]);
  return NULL;
}

static void test_collector_stalls(void **state) {
  (void)state;
  int port;
  stall_fd = bound_socket(1, &port);
  atomic_store(&stall_stop, 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, stall_main, NULL), 0);
  double ms;
  cw_status st = run_session(port, NULL, 2, NULL, &ms);
  printf("stalled: cw_shutdown %s after %.0f ms (timeout %d ms)\n",
         cw_strerror(st), ms, TIMEOUT_MS);
  atomic_store(&stall_stop, 1);
  pthread_join(th, NULL);
  close(stall_fd);
  assert_int_equal(st, CW_EIO);
  assert_true(ms <= TIMEOUT_MS + MARGIN_MS);
}

static pid_t server_pid;
static int late_port;
static char data_dir[64];

static size_t keep_body(char *p, size_t size, size_t n, void *ud) {
  char **out = ud;
  size_t have = *out ? strlen(*out) : 0, len = size * n;
  char *b = realloc(*out, have + len + 1);
  if (!b)
    return 0;
  memcpy(b + have, p, len);
  b[have + len] = '\0';
  *out = b;
  return len;
}

/* GET url. @return the status (body in *body, free it) or -1. */
static long http_get(const char *path, char **body) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", late_port, path);
  CURL *c = curl_easy_init();
  *body = NULL;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  long status = -1;
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return status;
}

/* Starts causeway-server on late_port, while the SDK keeps retrying. */
static void start_collector(void) {
  const char *bin = getenv("CW_SERVER_BIN");
  assert_non_null(bin);
  snprintf(data_dir, sizeof data_dir, "/tmp/cw-shutdown-XXXXXX");
  assert_non_null(mkdtemp(data_dir));
  char listen[32];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", late_port);
  char *argv[] = {(char *)bin, "--listen", listen, "--data-dir",
                  data_dir,    "--fsync",  "0",    NULL};
  assert_int_equal(posix_spawn(&server_pid, bin, NULL, NULL, argv, environ), 0);
  for (int i = 0; i < 100; i++) {
    char *b;
    long st = http_get("/healthz", &b);
    free(b);
    if (st == 200)
      return;
    sleep_ms(50);
  }
  fail_msg("causeway-server did not come up on port %d", late_port);
}

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

static void test_collector_comes_late(void **state) {
  (void)state;
  close(bound_socket(0, &late_port));
  double ms;
  /* A 4 KiB send queue: batches that do not fit become gap reports. */
  cw_status st = run_session(late_port, "4096", 3, start_collector, &ms);
  printf("late: cw_shutdown %s after %.0f ms\n", cw_strerror(st), ms);
  char *metrics = NULL;
  long hs = http_get("/metrics", &metrics);
  kill(server_pid, SIGTERM);
  int ws = 0;
  waitpid(server_pid, &ws, 0);
  nftw(data_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
  assert_int_equal(hs, 200);
  const char *line = metrics ? strstr(metrics, "reason=\"sdk_gap\"} ") : NULL;
  unsigned long long gap_events = line ? strtoull(line + 18, NULL, 10) : 0;
  printf("late: the collector counts %llu events reported as gaps\n",
         gap_events);
  free(metrics);
  assert_int_equal(st, CW_OK);
  assert_true(gap_events > 0); /* some batch was replaced by a gap */
  assert_true(ms <= TIMEOUT_MS + MARGIN_MS);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_collector_down),
      cmocka_unit_test(test_collector_stalls),
      cmocka_unit_test(test_collector_comes_late),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
