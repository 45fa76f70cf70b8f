/*
 * static_files: serves the viewer (--viewer-dir) at /.
 *
 * DESIGN. The raw decoded path is checked before any file-system access:
 * only [A-Za-z0-9._-/] are allowed, no segment may start with '.', so "..",
 * hidden files, encoded traversal ("%2e%2e" arrives decoded) and backslashes
 * all get 404. The resolved real path must still lie under the viewer
 * directory (symlinks out of it get 404 too). Directories serve index.html.
 */
#define _XOPEN_SOURCE 700
#include "server_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_STATIC_FILE ((size_t)32 << 20)

static int path_ok(const char *p) {
  if (p[0] != '/' || strlen(p) > 512)
    return 0;
  for (const char *q = p; *q; q++) {
    char ch = *q;
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
             (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ||
             ch == '/';
    if (!ok)
      return 0;
    if (ch == '/' && q[1] == '.')
      return 0; /* "..", "." and hidden files */
  }
  return 1;
}

static const char *mime(const char *path) {
  const char *dot = strrchr(path, '.');
  if (!dot)
    return "application/octet-stream";
  static const char *const map[][2] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
      {".woff2", "font/woff2"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(dot, map[i][0]))
      return map[i][1];
  return "application/octet-stream";
}

static int not_found(struct mg_connection *c) {
  cw__http_error(c, 404, "not found", NULL);
  return 404;
}

int cw__static_handle(cw_server *s, struct mg_connection *c, const char *raw) {
  if (!s->cfg.viewer_dir[0] || !path_ok(raw))
    return not_found(c);
  char root[PATH_MAX], full[PATH_MAX + 600], real[PATH_MAX];
  if (!realpath(s->cfg.viewer_dir, root))
    return not_found(c);
  int n = snprintf(full, sizeof full, "%s%s", root, raw);
  if (n < 0 || (size_t)n >= sizeof full - 16)
    return not_found(c);
  struct stat sb;
  if (stat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    size_t l = strlen(full);
    snprintf(full + l, sizeof full - l, "%sindex.html",
             full[l - 1] == '/' ? "" : "/");
  }
  if (!realpath(full, real))
    return not_found(c);
  size_t rl = strlen(root);
  if (strncmp(real, root, rl) || (real[rl] != '/' && real[rl] != '\0'))
    return not_found(c);
  /* Only regular files: opening a FIFO would block this worker until a
   * writer came (O_NONBLOCK covers a swap after the check). */
  if (stat(real, &sb) || !S_ISREG(sb.st_mode))
    return not_found(c);
  int fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return not_found(c);
  if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) ||
      (size_t)sb.st_size > MAX_STATIC_FILE) {
    close(fd);
    return not_found(c);
  }
  size_t len = (size_t)sb.st_size;
  char *buf = malloc(len ? len : 1);
  size_t got = 0;
  while (buf && got < len) {
    ssize_t r = read(fd, buf + got, len - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  if (!buf || got != len) {
    free(buf);
    return not_found(c);
  }
  /* The viewer runs only its own files: no inline script or style, no
   * other origin, no framing (docs/http-api.md, Viewer). HEAD gets the
   * headers only (cw__http_send). */
  static const char csp[] =
      "Content-Security-Policy: default-src 'none'; script-src 'self'; "
      "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
      "Referrer-Policy: no-referrer\r\n";
  cw__http_send(c, 200, mime(real), csp, buf, len);
  free(buf);
  return 200;
}
