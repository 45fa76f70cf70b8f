/*
 * store: append-only segment log with group commit and crash repair.
 *
 * DESIGN. Request threads never touch the files. cw__store_append puts a
 * waiter node (living on the caller's stack) on a queue and sleeps; one
 * writer thread takes the whole queue, writes every record, calls fdatasync
 * once for the group, then marks the nodes done and wakes their owners, who
 * only then acknowledge. Many concurrent requests thus share one sync.
 *
 * Layout: each segment starts with the 8-byte magic "CWSEG001"; each record
 * is a 16-byte header {u32 len, u32 crc32c, u8 type, u8 0, u16 0,
 * u32 nevents} (little-endian) followed by `len` payload bytes. The CRC
 * covers header bytes 8..15 and the payload. On open, a record that is
 * short, oversized or fails its CRC starts a damaged region: the scan
 * resynchronises at the next offset where a whole record checks out, so
 * every valid record after the damage is kept. Each damaged region is
 * logged (segment, offset, length, why) and copied to DIR/damaged/ for
 * inspection. Damage at the end of the last segment is a torn write: the
 * segment is truncated there (repair) and writing resumes after it.
 * Retention deletes whole segments, oldest first, and never the one being
 * written.
 *
 * WRITE FAILURES. A record is acknowledged only when it was written and
 * synced after a valid segment header. Any failed write cuts the partial
 * record; when the file's state is then unknown (the cut, the seek, the
 * sync or a new segment's header failed) the writer drops that segment as
 * the write target (deleting a new segment that has no header) and starts a
 * fresh one at the next append. Every failure is logged to stderr once per
 * run of failures, and again when writing works again.
 */
#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include "crc32c.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SEG_MAGIC "CWSEG001"
#define SEG_MAGIC_LEN 8
#define HDR_LEN 16
#define MAX_SEGMENTS 100000

typedef struct segment {
  uint32_t no;
  uint64_t bytes;
  uint64_t events;
} segment;

typedef struct waiter {
  const cw_store_rec *recs;
  size_t n;
  int done, rc;
  struct waiter *next;
} waiter;

struct cw_store {
  cw_store_opts o;
  char dir[1024];
  int memory_only;
  int fd; /* current (last) segment */
  int dirfd;
  segment *segs; /* oldest first; last is current */
  size_t nsegs, capsegs;
  pthread_t writer;
  int writer_started;
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  waiter *head, *tail;
  int stop;
  int group_failed; /* a sync during this group failed */
  int failing;      /* in a run of write failures (logged once) */
  cw_store_stats st;
};

/* One line to stderr: the collector's only log of storage faults. */
static void store_log(const char *fmt, ...) {
  char line[1400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "causeway-server: store: %s\n", line);
}

/* Logs a write failure (once per run of failures). */
static void write_failed(cw_store *s, const char *what, int err) {
  if (!s->failing)
    store_log("%s: %s; ingest is refused (500) until writes succeed again",
              what, strerror(err));
  s->failing = 1;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static void seg_path(const cw_store *s, uint32_t no, char *buf, size_t n) {
  snprintf(buf, n, "%s/seg-%06u.cwlog", s->dir, no);
}

static int push_seg(cw_store *s, uint32_t no) {
  if (s->nsegs == s->capsegs) {
    size_t nc = s->capsegs ? s->capsegs * 2 : 16;
    if (nc > MAX_SEGMENTS)
      return -1;
    segment *ns = realloc(s->segs, nc * sizeof *ns);
    if (!ns)
      return -1;
    s->segs = ns;
    s->capsegs = nc;
  }
  s->segs[s->nsegs++] = (segment){no, 0, 0};
  return 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Lists seg-NNNNNN.cwlog files in ascending order. */
static int list_segments(cw_store *s, char *err, size_t errsz) {
  DIR *d = opendir(s->dir);
  if (!d) {
    snprintf(err, errsz, "data dir %s: %s", s->dir, strerror(errno));
    return -1;
  }
  uint32_t *nos = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d))) {
    unsigned no;
    char tail[8];
    if (sscanf(de->d_name, "seg-%6u.cwlo%1s", &no, tail) != 2 ||
        strlen(de->d_name) != 16 || tail[0] != 'g' || no == 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      uint32_t *nn =
          cap <= MAX_SEGMENTS ? realloc(nos, cap * sizeof *nn) : NULL;
      if (!nn) {
        rc = -1;
        snprintf(err, errsz, "data dir %s: too many segments", s->dir);
        break;
      }
      nos = nn;
    }
    nos[n++] = no;
  }
  closedir(d);
  if (rc == 0) {
    if (n)
      qsort(nos, n, sizeof *nos, cmp_u32);
    for (size_t i = 0; i < n && rc == 0; i++)
      if (push_seg(s, nos[i])) {
        snprintf(err, errsz, "out of memory");
        rc = -1;
      }
  }
  free(nos);
  return rc;
}

/* Checks the record at off. @return NULL when it is whole and its CRC
 * matches (*len set), else why it is not. */
static const char *check_record(const uint8_t *m, size_t size, size_t off,
                                uint32_t *len_out) {
  if (size - off < HDR_LEN)
    return "short record header";
  const uint8_t *h = m + off;
  uint32_t len = get32(h);
  if (len > CW_STORE_MAX_RECORD || len > size - off - HDR_LEN)
    return "record length beyond the segment end";
  if (h[9] || h[10] || h[11])
    return "reserved header bytes not zero";
  uint32_t crc = cw__crc32c(0, h + 8, 8);
  crc = cw__crc32c(crc, h + HDR_LEN, len);
  if (crc != get32(h + 4))
    return "CRC mismatch";
  *len_out = len;
  return NULL;
}

/* The first offset >= from where a whole record of a known type checks
 * out, or size. */
static size_t resync(const uint8_t *m, size_t size, size_t from) {
  uint32_t len;
  for (size_t off = from; off + HDR_LEN <= size; off++) {
    const uint8_t *h = m + off;
    if ((h[8] != CW_STORE_NATIVE && h[8] != CW_STORE_RACEWAY) || h[9] ||
        h[10] || h[11])
      continue;
    if (!check_record(m, size, off, &len))
      return off;
  }
  return size;
}

/* Logs a damaged region [off, end) of a segment and keeps a copy of its
 * bytes in DIR/damaged/ (once: an existing copy is left alone). */
static void report_damage(cw_store *s, const segment *sg, const uint8_t *m,
                          size_t off, size_t end, const char *why,
                          int torn_tail) {
  char copy[1200];
  snprintf(copy, sizeof copy, "%s/damaged/seg-%06u-at-%zu.bin", s->dir, sg->no,
           off);
  mkdirat(s->dirfd, "damaged", 0755);
  int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  const char *kept = copy;
  if (fd >= 0) {
    size_t done = 0;
    while (done < end - off) {
      ssize_t w = write(fd, m + off + done, end - off - done);
      if (w <= 0) {
        kept = "(copy failed)";
        break;
      }
      done += (size_t)w;
    }
    close(fd);
  } else if (errno != EEXIST) {
    kept = "(copy failed)";
  }
  if (torn_tail)
    store_log("seg-%06u.cwlog: torn tail of %zu bytes at offset %zu (%s) cut; "
              "copy in %s",
              sg->no, end - off, off, why, kept);
  else
    store_log("seg-%06u.cwlog: dropped %zu damaged bytes at offset %zu (%s), "
              "resumed at the next valid record (offset %zu); copy in %s",
              sg->no, end - off, off, why, end, kept);
}

/* Scans one segment, replaying its good records and resynchronising after
 * damage. Sets *good_end to the end of the last good record and *bad to the
 * number of damaged regions before it (a damaged tail of the last segment
 * is not counted: it is a torn write, cut by the caller).
 * @return 0, or -1 when the callback failed. */
static int scan_segment(cw_store *s, segment *sg, int last,
                        cw_store_replay_fn fn, void *ud, uint64_t *good_end,
                        int *bad, char *err, size_t errsz) {
  char path[1100];
  seg_path(s, sg->no, path, sizeof path);
  *good_end = 0;
  *bad = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errsz, "%s: %s", path, strerror(errno));
    return -1;
  }
  struct stat sb;
  if (fstat(fd, &sb)) {
    close(fd);
    snprintf(err, errsz, "%s: %s", path, strerror(errno));
    return -1;
  }
  size_t size = (size_t)sb.st_size;
  if (size == 0) {
    close(fd);
    return 0;
  }
  uint8_t *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    snprintf(err, errsz, "%s: mmap: %s", path, strerror(errno));
    return -1;
  }
  int rc = 0;
  size_t off = 0;
  if (size >= SEG_MAGIC_LEN && !memcmp(m, SEG_MAGIC, SEG_MAGIC_LEN)) {
    off = SEG_MAGIC_LEN;
    *good_end = off;
  } else {
    size_t nx = resync(m, size, 0);
    if (nx == size && last) {
      report_damage(s, sg, m, 0, size, "no segment header", 1);
      munmap(m, size);
      return 0;
    }
    report_damage(s, sg, m, 0, nx, "no segment header", 0);
    (*bad)++;
    off = nx;
  }
  while (off < size) {
    uint32_t len = 0;
    const char *why = check_record(m, size, off, &len);
    if (why) {
      size_t nx = resync(m, size, off + 1);
      if (nx == size && last) {
        report_damage(s, sg, m, off, size, why, 1);
        break;
      }
      report_damage(s, sg, m, off, nx, why, 0);
      (*bad)++;
      off = nx;
      continue;
    }
    const uint8_t *h = m + off;
    cw_store_rec rec = {h[8], get32(h + 12), h + HDR_LEN, len, NULL, 0};
    if (fn && fn(ud, &rec)) {
      snprintf(err, errsz, "%s: replay stopped at offset %zu", path, off);
      rc = -1;
      break;
    }
    s->st.records++;
    s->st.events += rec.nevents;
    sg->events += rec.nevents;
    off += HDR_LEN + len;
    *good_end = off;
  }
  munmap(m, size);
  return rc;
}

/* Opens the last listed segment for appending at `size`; a segment shorter
 * than its header gets a fresh header. On failure nothing is left open and
 * a segment file without a valid header is deleted, so no record can ever
 * be written behind a missing header. */
static int open_current(cw_store *s, uint64_t size, char *err, size_t errsz) {
  char path[1100];
  segment *sg = &s->segs[s->nsegs - 1];
  seg_path(s, sg->no, path, sizeof path);
  s->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (s->fd < 0) {
    snprintf(err, errsz, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (size < SEG_MAGIC_LEN) {
    if (ftruncate(s->fd, 0) ||
        pwrite(s->fd, SEG_MAGIC, SEG_MAGIC_LEN, 0) != SEG_MAGIC_LEN ||
        (s->o.fsync && (fdatasync(s->fd) || fsync(s->dirfd)))) {
      int e = errno ? errno : EIO;
      snprintf(err, errsz, "%s: writing the segment header: %s", path,
               strerror(e));
      close(s->fd);
      s->fd = -1;
      unlink(path);
      errno = e;
      return -1;
    }
    size = SEG_MAGIC_LEN;
  }
  if (lseek(s->fd, (off_t)size, SEEK_SET) < 0) {
    snprintf(err, errsz, "%s: %s", path, strerror(errno));
    close(s->fd);
    s->fd = -1;
    return -1;
  }
  sg->bytes = size;
  return 0;
}

/* Gives up the current segment as a write target: the next append starts
 * a new segment. With `sync`, what this group wrote there is synced first
 * (a failure fails the whole group). */
static void drop_current(cw_store *s, int sync) {
  if (s->fd < 0)
    return;
  if (sync && s->o.fsync && fdatasync(s->fd)) {
    s->group_failed = 1;
    write_failed(s, "syncing a segment", errno);
  }
  close(s->fd);
  s->fd = -1;
}

/* Starts a new segment after the last one. Called by the writer. */
static int rotate(cw_store *s) {
  char err[1200];
  uint32_t no = s->segs[s->nsegs - 1].no + 1;
  drop_current(s, 1); /* this group's records there must be durable too */
  pthread_mutex_lock(&s->mu);
  int rc = push_seg(s, no);
  if (rc == 0)
    s->st.segments++;
  pthread_mutex_unlock(&s->mu);
  if (rc) {
    write_failed(s, "starting a new segment", ENOMEM);
    return -1;
  }
  if (open_current(s, 0, err, sizeof err)) {
    write_failed(s, err, errno);
    pthread_mutex_lock(&s->mu);
    s->nsegs--;
    s->st.segments--;
    pthread_mutex_unlock(&s->mu);
    return -1;
  }
  pthread_mutex_lock(&s->mu);
  s->st.bytes += SEG_MAGIC_LEN;
  pthread_mutex_unlock(&s->mu);
  return 0;
}

/* Deletes the oldest segments while over the retention limits. */
static void apply_retention(cw_store *s) {
  for (;;) {
    pthread_mutex_lock(&s->mu);
    int over =
        s->nsegs > 1 &&
        ((s->o.retention_bytes && s->st.bytes > s->o.retention_bytes) ||
         (s->o.retention_events && s->st.events > s->o.retention_events));
    segment victim = s->segs[0];
    if (over) {
      memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
      s->nsegs--;
      s->st.bytes -= victim.bytes;
      s->st.events -= victim.events;
      s->st.segments--;
      s->st.deleted_segments++;
    }
    pthread_mutex_unlock(&s->mu);
    if (!over)
      return;
    char path[1100];
    seg_path(s, victim.no, path, sizeof path);
    unlink(path);
  }
}

/* Writes one record at the end of the current segment. */
static int write_record(cw_store *s, const cw_store_rec *r) {
  segment *sg = &s->segs[s->nsegs - 1];
  uint64_t need = HDR_LEN + r->len;
  if (s->fd < 0 ||
      (sg->bytes > SEG_MAGIC_LEN && sg->bytes + need > s->o.segment_bytes)) {
    if (rotate(s))
      return -1;
    sg = &s->segs[s->nsegs - 1];
  }
  uint8_t h[HDR_LEN];
  put32(h, (uint32_t)r->len);
  h[8] = r->type;
  h[9] = h[10] = h[11] = 0;
  put32(h + 12, r->nevents);
  uint32_t crc = cw__crc32c(0, h + 8, 8);
  put32(h + 4, cw__crc32c(crc, r->data, r->len));
  struct iovec iov[2] = {{h, HDR_LEN}, {(void *)r->data, r->len}};
  size_t left = need;
  int i = 0;
  while (left) {
    ssize_t w = writev(s->fd, iov + i, 2 - i);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int e = w < 0 ? errno : ENOSPC;
      char what[1200];
      seg_path(s, sg->no, what, sizeof what);
      size_t wl = strlen(what);
      snprintf(what + wl, sizeof what - wl, ": appending a record");
      write_failed(s, what, e);
      /* Cut the partial record so the log stays well-formed; when even
       * that fails, write no more into this segment. */
      if (ftruncate(s->fd, (off_t)sg->bytes) ||
          lseek(s->fd, (off_t)sg->bytes, SEEK_SET) < 0)
        drop_current(s, 1);
      return -1;
    }
    left -= (size_t)w;
    while (i < 2 && (size_t)w >= iov[i].iov_len) {
      w -= (ssize_t)iov[i].iov_len;
      iov[i].iov_len = 0;
      i++;
    }
    if (i < 2) {
      iov[i].iov_base = (uint8_t *)iov[i].iov_base + w;
      iov[i].iov_len -= (size_t)w;
    }
  }
  pthread_mutex_lock(&s->mu);
  sg->bytes += need;
  sg->events += r->nevents;
  s->st.bytes += need;
  s->st.records++;
  s->st.events += r->nevents;
  pthread_mutex_unlock(&s->mu);
  return 0;
}

static void *writer_main(void *arg) {
  cw_store *s = arg;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (!s->head && !s->stop)
      pthread_cond_wait(&s->work, &s->mu);
    if (!s->head)
      break;
    waiter *group = s->head;
    s->head = s->tail = NULL;
    pthread_mutex_unlock(&s->mu);
    s->group_failed = 0;
    int all_ok = 1;
    for (waiter *w = group; w; w = w->next) {
      w->rc = 0;
      for (size_t i = 0; i < w->n && w->rc == 0; i++)
        if (write_record(s, &w->recs[i]))
          w->rc = -1;
      all_ok &= w->rc == 0;
    }
    if (s->o.fsync && s->fd >= 0 && fdatasync(s->fd)) {
      write_failed(s, "syncing the current segment", errno);
      s->group_failed = 1;
      drop_current(s, 0); /* its page cache state is unknown now */
    }
    if (all_ok && !s->group_failed && s->failing) {
      store_log("writes succeed again");
      s->failing = 0;
    }
    pthread_mutex_lock(&s->mu);
    s->st.commits++;
    for (waiter *w = group; w; w = w->next) {
      if (s->group_failed)
        w->rc = -1;
      w->done = 1;
    }
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
    apply_retention(s);
    pthread_mutex_lock(&s->mu);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

int cw__store_append(cw_store *s, const cw_store_rec *recs, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (recs[i].len > CW_STORE_MAX_RECORD)
      return -1;
  if (s->memory_only) {
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++) {
      s->st.records++;
      s->st.events += recs[i].nevents;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
  }
  waiter w = {recs, n, 0, 0, NULL};
  pthread_mutex_lock(&s->mu);
  if (s->stop) {
    pthread_mutex_unlock(&s->mu);
    return -1;
  }
  if (s->tail)
    s->tail->next = &w;
  else
    s->head = &w;
  s->tail = &w;
  pthread_cond_signal(&s->work);
  while (!w.done)
    pthread_cond_wait(&s->done, &s->mu);
  pthread_mutex_unlock(&s->mu);
  return w.rc;
}

void cw__store_stats(cw_store *s, cw_store_stats *out) {
  pthread_mutex_lock(&s->mu);
  *out = s->st;
  pthread_mutex_unlock(&s->mu);
}

static cw_store *store_alloc(const cw_store_opts *o) {
  cw_store *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->o = *o;
  s->fd = -1;
  s->dirfd = -1;
  if (s->o.segment_bytes < 4096)
    s->o.segment_bytes = 4096;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->work, NULL);
  pthread_cond_init(&s->done, NULL);
  return s;
}

int cw__store_open(const cw_store_opts *o, cw_store_replay_fn fn, void *ud,
                   cw_store **out, char *err, size_t errsz) {
  *out = NULL;
  cw_store *s = store_alloc(o);
  if (!s) {
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  if (!o->dir || !o->dir[0]) {
    s->memory_only = 1;
    *out = s;
    return 0;
  }
  if (strlen(o->dir) >= sizeof s->dir) {
    snprintf(err, errsz, "data dir path too long");
    goto fail;
  }
  memcpy(s->dir, o->dir, strlen(o->dir) + 1);
  s->o.dir = s->dir;
  if (mkdir(s->dir, 0755) && errno != EEXIST) {
    snprintf(err, errsz, "data dir %s: %s", s->dir, strerror(errno));
    goto fail;
  }
  s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->dirfd < 0) {
    snprintf(err, errsz, "data dir %s: %s", s->dir, strerror(errno));
    goto fail;
  }
  if (list_segments(s, err, errsz))
    goto fail;
  uint64_t last_end = 0;
  for (size_t i = 0; i < s->nsegs; i++) {
    uint64_t good_end;
    int bad;
    int last = i + 1 == s->nsegs;
    if (scan_segment(s, &s->segs[i], last, fn, ud, &good_end, &bad, err, errsz))
      goto fail;
    s->st.corrupt_records += (uint64_t)bad;
    char path[1100];
    seg_path(s, s->segs[i].no, path, sizeof path);
    struct stat sb;
    uint64_t size = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    if (last) {
      last_end = good_end;
      if (size > good_end)
        s->st.repaired_bytes += size - good_end;
    } else {
      s->segs[i].bytes = size;
      s->st.bytes += size;
    }
  }
  if (s->nsegs == 0 && push_seg(s, 1)) {
    snprintf(err, errsz, "out of memory");
    goto fail;
  }
  if (open_current(s, last_end, err, errsz))
    goto fail;
  if (s->st.repaired_bytes) {
    /* Repair: cut the torn tail so new records follow the last good one. */
    if (ftruncate(s->fd, (off_t)s->segs[s->nsegs - 1].bytes) ||
        (s->o.fsync && fdatasync(s->fd))) {
      snprintf(err, errsz, "repairing the last segment: %s", strerror(errno));
      goto fail;
    }
  }
  s->st.bytes += s->segs[s->nsegs - 1].bytes;
  s->st.segments = s->nsegs;
  if (pthread_create(&s->writer, NULL, writer_main, s)) {
    snprintf(err, errsz, "cannot start the store writer");
    goto fail;
  }
  s->writer_started = 1;
  *out = s;
  return 0;
fail:
  cw__store_close(s);
  return -1;
}

void cw__store_close(cw_store *s) {
  if (!s)
    return;
  if (s->writer_started) {
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
  }
  if (s->fd >= 0) {
    if (s->o.fsync)
      fdatasync(s->fd);
    close(s->fd);
  }
  if (s->dirfd >= 0)
    close(s->dirfd);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->work);
  pthread_cond_destroy(&s->done);
  free(s->segs);
  free(s);
}
