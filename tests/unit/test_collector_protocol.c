/*
 * HTTP protocol edges of causeway-server (issue 12, point 6), over raw
 * sockets: HEAD on JSON routes sends headers only (a keep-alive connection
 * stays in step); two Content-Length headers, or Content-Length with
 * Transfer-Encoding, get 400 and the connection closes; a malformed request
 * line is never echoed; a FIFO in the viewer directory answers 404 at once
 * instead of blocking a worker.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "testlib.h"

static tl_server srv;
static char viewer[64];

/* Sends req on a new connection and reads until the server closes or
 * 2 s pass. @return the bytes read (NUL-terminated in buf); *closed is 1
 * when the server closed the connection. */
static size_t exchange(const char *req, char *buf, size_t cap, int *closed) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)srv.port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
                   (ssize_t)strlen(req));
  size_t n = 0;
  *closed = 0;
  for (;;) {
    ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
    if (r == 0)
      *closed = 1;
    if (r <= 0 || n + (size_t)r >= cap - 1) {
      if (r > 0)
        n += (size_t)r;
      break;
    }
    n += (size_t)r;
  }
  buf[n] = '\0';
  close(fd);
  return n;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

static void test_head_has_no_body(void **state) {
  (void)state;
  char buf[8192];
  int closed;
  /* Two HEADs then a GET on one kept-alive connection: exactly three
   * responses, one JSON body (the GET's). */
  exchange("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
           "HEAD /v1/summary HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           buf, sizeof buf, &closed);
  assert_int_equal(count(buf, "HTTP/1.1 200 OK\r\n"), 3);
  assert_int_equal(count(buf, "{\"status\":\"ok\"}"), 1);
  assert_int_equal(count(buf, "\"summary\""), 0);
  size_t n = strlen(buf);
  assert_true(n > 15 && !strcmp(buf + n - 15, "{\"status\":\"ok\"}"));
}

static void test_ambiguous_length_refused(void **state) {
  (void)state;
  char buf[4096];
  int closed;
  exchange("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
           "Content-Length: 5\r\n\r\nxGET /healthz HTTP/1.1\r\n\r\n",
           buf, sizeof buf, &closed);
  assert_int_equal(strncmp(buf, "HTTP/1.1 400", 12), 0);
  assert_non_null(strstr(buf, "more than one Content-Length"));
  assert_int_equal(count(buf, "HTTP/1.1"), 1); /* nothing smuggled */
  assert_int_equal(closed, 1);
  exchange("POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           buf, sizeof buf, &closed);
  assert_int_equal(strncmp(buf, "HTTP/1.1 400", 12), 0);
  assert_non_null(strstr(buf, "both Content-Length and Transfer-Encoding"));
  assert_int_equal(closed, 1);
}

static void test_malformed_line_not_echoed(void **state) {
  (void)state;
  char buf[4096];
  int closed;
  const char *bad[] = {"GET /<script>alert(1)</script> HTTP/9.9\r\n\r\n",
                       "G<script>ET / HTTP/1.1\r\n\r\n", "GET<script>\r\n\r\n"};
  for (size_t i = 0; i < 3; i++) {
    exchange(bad[i], buf, sizeof buf, &closed);
    assert_true(!strncmp(buf, "HTTP/1.1 400", 12) ||
                !strncmp(buf, "HTTP/1.1 505", 12));
    assert_null(strstr(buf, "script"));
    assert_null(strstr(buf, "9.9"));
    assert_int_equal(closed, 1);
  }
}

static void test_fifo_does_not_block(void **state) {
  (void)state;
  char buf[4096];
  int closed;
  for (int i = 0; i < 3; i++) { /* more than one worker's worth */
    exchange("GET /pipe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf,
             sizeof buf, &closed);
    assert_int_equal(strncmp(buf, "HTTP/1.1 404", 12), 0);
  }
  exchange("GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           buf, sizeof buf, &closed);
  assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
  assert_non_null(strstr(buf, "hello"));
}

static int setup(void **state) {
  (void)state;
  snprintf(viewer, sizeof viewer, "/tmp/cw-viewer-XXXXXX");
  if (!mkdtemp(viewer))
    return -1;
  char p[128];
  snprintf(p, sizeof p, "%s/index.html", viewer);
  FILE *f = fopen(p, "w");
  if (!f)
    return -1;
  fputs("<p>hello</p>\n", f);
  fclose(f);
  snprintf(p, sizeof p, "%s/pipe", viewer);
  if (mkfifo(p, 0644))
    return -1;
  const char *extra[] = {"--threads", "4", "--viewer-dir", viewer, NULL};
  return tl_server_start(&srv, NULL, extra);
}

static int teardown(void **state) {
  (void)state;
  int st = tl_server_stop(&srv, SIGKILL);
  tl_rmdir(srv.data_dir);
  char p[128];
  snprintf(p, sizeof p, "%s/index.html", viewer);
  unlink(p);
  snprintf(p, sizeof p, "%s/pipe", viewer);
  unlink(p);
  rmdir(viewer);
  return st == -1 ? -1 : 0;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_head_has_no_body),
      cmocka_unit_test(test_ambiguous_length_refused),
      cmocka_unit_test(test_malformed_line_not_echoed),
      cmocka_unit_test(test_fifo_does_not_block),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
