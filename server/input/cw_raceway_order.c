/*
 * cw_raceway_order: the order in which Raceway events reach the engine.
 *
 * DESIGN. Happens-before of Raceway input is rebuilt from program order and
 * from the order of lock events, so the feed order is the analysis. Two
 * signals carry it, and each is used where it is exact:
 *
 *   - buffer order: an SDK appends each event to one process-wide buffer
 *     (Python: under a lock; TypeScript: one JS thread) and posts the buffer
 *     as it is, so the events of one process within one batch are in the
 *     order they happened. Timestamps are not: the TypeScript SDK writes
 *     Date.now() milliseconds followed by unrelated process.hrtime()
 *     digits, so events within a millisecond look shuffled.
 *   - timestamps across batches: batches are disjoint slices of a process's
 *     buffer, but arrive in any order (the Python SDK flushes from several
 *     threads at once). A process's batches are chained by the timestamp of
 *     their first event, and processes are merged by event timestamp.
 *
 * So each top-level JSON value (one POST body, one line of a JSONL file) is
 * split into runs, one per process ("service#instance", instance_id or
 * process_id); a process's runs form a chain sorted by (first timestamp,
 * arrival); the chains are merged by the timestamp of their next event
 * (ties by process name), keeping each run's buffer order. This order
 * depends only on the events, not on the order the batches arrived in.
 *
 * The CLI has all input at once and feeds the whole merge. The collector
 * holds each batch for a reorder window after it arrived: a release feeds
 * the merge until every batch older than the window is fed (earlier events
 * of younger batches go first, as the merge puts them). A batch is in time
 * when it arrives less than the window after every batch that holds later
 * events; one that does not is fed anyway, and its events are counted as
 * late (`late_events`): a batch that comes after a later batch of its own
 * process was fed, or events older than the last fed event.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "cw_raceway_int.h"

/* Processes remembered for late-batch detection; past this, processes with
 * nothing held are forgotten. */
#define RW_MAX_PROCS 65536

typedef struct rw_run {
  cw_rw_event *v;
  size_t n, cap, pos; /* pos: next event to feed */
  int64_t key;        /* timestamp of its first event */
  uint64_t arrival;   /* arrival number, ties */
  int64_t arrival_ns; /* collector clock at arrival */
  uint64_t stamp;     /* the value it was built from */
} rw_run;

struct rw_proc {
  char *name;
  rw_run **runs; /* unfed runs, sorted by (key, arrival) */
  size_t n, cap;
  int64_t last_key; /* key of the last run fed */
  int fed_any;
  rw_run *stage; /* the run being built from the current value */
};

static void run_free(rw_run *r) {
  if (!r)
    return;
  for (size_t i = r->pos; i < r->n; i++)
    json_decref(r->v[i].ev);
  free(r->v);
  free(r);
}

void cw__rw_pool_free(cw_rw_pool *p) {
  for (size_t i = 0; i < p->nprocs; i++) {
    for (size_t k = 0; k < p->procs[i].n; k++)
      run_free(p->procs[i].runs[k]);
    run_free(p->procs[i].stage);
    free(p->procs[i].runs);
    free(p->procs[i].name);
  }
  free(p->procs);
  free(p->staged);
  free(p->heap);
  json_decref(p->map);
  memset(p, 0, sizeof *p);
}

/* Forgets processes with nothing held (bounded memory). */
static void forget_idle(cw_rw_pool *p) {
  size_t k = 0;
  json_object_clear(p->map);
  p->nstaged = 0;
  for (size_t i = 0; i < p->nprocs; i++) {
    rw_proc *pr = &p->procs[i];
    if (pr->n == 0 && !pr->stage) {
      free(pr->runs);
      free(pr->name);
      continue;
    }
    p->procs[k] = *pr;
    (void)json_object_set_new(p->map, pr->name, json_integer((json_int_t)k));
    if (pr->stage) /* indices moved: list the staged processes again */
      p->staged[p->nstaged++] = (uint32_t)k;
    k++;
  }
  p->nprocs = k;
}

/* The process index of a name, created on first use. @return -1 (memory). */
static long proc_index(cw_rw_pool *p, const char *name) {
  if (!p->map && !(p->map = json_object()))
    return -1;
  json_t *v = json_object_get(p->map, name);
  if (v)
    return (long)json_integer_value(v);
  if (p->nprocs >= RW_MAX_PROCS)
    forget_idle(p);
  if (p->nprocs == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 16;
    rw_proc *np = realloc(p->procs, cap * sizeof *np);
    if (!np)
      return -1;
    p->procs = np;
    p->cap = cap;
  }
  rw_proc *pr = &p->procs[p->nprocs];
  memset(pr, 0, sizeof *pr);
  pr->name = strdup(name);
  if (!pr->name ||
      json_object_set_new(p->map, name, json_integer((json_int_t)p->nprocs))) {
    free(pr->name);
    return -1;
  }
  return (long)p->nprocs++;
}

int cw__rw_pool_add(cw_rw_pool *p, json_t *ev, int64_t ts_ns,
                    int64_t arrival_ns, uint64_t stamp) {
  char name[CW_RW_PROC_NAME_MAX];
  cw__rw_process_name(ev, name, sizeof name);
  long pi = proc_index(p, name);
  if (pi < 0)
    return -1;
  rw_proc *pr = &p->procs[pi];
  rw_run *r = pr->stage;
  if (r && r->stamp != stamp) {
    /* A stale stage can only exist after a failed add; drop it. */
    run_free(r);
    r = pr->stage = NULL;
  }
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r)
      return -1;
    r->key = ts_ns;
    r->arrival = p->arrivals++;
    r->arrival_ns = arrival_ns;
    r->stamp = stamp;
    pr->stage = r;
    if (p->nstaged == p->capstaged) {
      size_t cap = p->capstaged ? p->capstaged * 2 : 16;
      uint32_t *ns = realloc(p->staged, cap * sizeof *ns);
      if (!ns)
        return -1;
      p->staged = ns;
      p->capstaged = cap;
    }
    p->staged[p->nstaged++] = (uint32_t)pi;
  }
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    cw_rw_event *nv = realloc(r->v, cap * sizeof *nv);
    if (!nv)
      return -1;
    r->v = nv;
    r->cap = cap;
  }
  r->v[r->n].ev = json_incref(ev);
  r->v[r->n].ts_ns = ts_ns;
  r->v[r->n].idx = p->events_added++;
  r->n++;
  p->held++;
  return 0;
}

static int run_before(const rw_run *a, const rw_run *b) {
  if (a->key != b->key)
    return a->key < b->key;
  return a->arrival < b->arrival;
}

int cw__rw_pool_end_value(cw_rw_pool *p, cw_input_stats *st) {
  int rc = 0;
  for (size_t s = 0; s < p->nstaged; s++) {
    rw_proc *pr = &p->procs[p->staged[s]];
    rw_run *r = pr->stage;
    if (!r)
      continue;
    pr->stage = NULL;
    /* Late: the process already fed a later slice of its buffer, or the
     * merge already went past these events' time. */
    uint64_t late = 0;
    if (pr->fed_any && r->key < pr->last_key)
      late = r->n;
    else if (p->fed_any)
      for (size_t i = 0; i < r->n; i++)
        late += r->v[i].ts_ns < p->watermark;
    st->late_events += late;
    if (pr->n == pr->cap) {
      size_t cap = pr->cap ? pr->cap * 2 : 4;
      rw_run **nr = realloc(pr->runs, cap * sizeof *nr);
      if (!nr) {
        p->held -= r->n;
        run_free(r);
        rc = -1;
        continue;
      }
      pr->runs = nr;
      pr->cap = cap;
    }
    size_t at = pr->n;
    while (at > 0 && run_before(r, pr->runs[at - 1]))
      at--;
    memmove(pr->runs + at + 1, pr->runs + at, (pr->n - at) * sizeof *pr->runs);
    pr->runs[at] = r;
    pr->n++;
  }
  p->nstaged = 0;
  return rc;
}

/* ---- The merge ---------------------------------------------------------- */

static const cw_rw_event *head(const cw_rw_pool *p, uint32_t pi) {
  const rw_run *r = p->procs[pi].runs[0];
  return &r->v[r->pos];
}

static int proc_less(const cw_rw_pool *p, uint32_t a, uint32_t b) {
  const cw_rw_event *x = head(p, a), *y = head(p, b);
  if (x->ts_ns != y->ts_ns)
    return x->ts_ns < y->ts_ns;
  int c = strcmp(p->procs[a].name, p->procs[b].name);
  return c != 0 ? c < 0 : x->idx < y->idx;
}

static void sift_down(cw_rw_pool *p, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < p->nheap && proc_less(p, p->heap[l], p->heap[m]))
      m = l;
    if (r < p->nheap && proc_less(p, p->heap[r], p->heap[m]))
      m = r;
    if (m == i)
      return;
    uint32_t t = p->heap[i];
    p->heap[i] = p->heap[m];
    p->heap[m] = t;
    i = m;
  }
}

int cw__rw_pool_release(cw_rw_pool *p, cw_rw_feeder *f, int64_t now_ns,
                        int64_t window_ns, int all) {
  /* Events of batches older than the window (all: every event). */
  uint64_t due = 0;
  for (size_t i = 0; i < p->nprocs; i++)
    for (size_t k = 0; k < p->procs[i].n; k++) {
      const rw_run *r = p->procs[i].runs[k];
      if (all || now_ns - r->arrival_ns >= window_ns)
        due += r->n - r->pos;
    }
  /* Memory bound: past CW_RW_MAX_HELD held events, feed down to half. */
  size_t floor = p->held > CW_RW_MAX_HELD ? CW_RW_MAX_HELD / 2 : p->held;
  if (due == 0 && p->held <= floor)
    return 0;
  if (p->capheap < p->nprocs) {
    uint32_t *h = realloc(p->heap, p->nprocs * sizeof *h);
    if (!h)
      return -1;
    p->heap = h;
    p->capheap = p->nprocs;
  }
  p->nheap = 0;
  for (size_t i = 0; i < p->nprocs; i++)
    if (p->procs[i].n)
      p->heap[p->nheap++] = (uint32_t)i;
  for (size_t i = p->nheap / 2; i-- > 0;)
    sift_down(p, i);
  int rc = 0;
  while (p->nheap > 0 && (due > 0 || p->held > floor)) {
    uint32_t pi = p->heap[0];
    rw_proc *pr = &p->procs[pi];
    rw_run *r = pr->runs[0];
    cw_rw_event *ev = &r->v[r->pos++];
    if (due > 0 && (all || now_ns - r->arrival_ns >= window_ns))
      due--;
    p->held--;
    if (!p->fed_any || ev->ts_ns > p->watermark)
      p->watermark = ev->ts_ns;
    p->fed_any = 1;
    int frc = cw__rw_feed(f, ev);
    json_decref(ev->ev);
    if (frc > 0) {
      f->st->skipped[frc]++;
      f->st->skipped_events++;
    } else if (frc < 0) {
      rc = -1;
    }
    if (r->pos == r->n) {
      pr->last_key =
          pr->fed_any && pr->last_key > r->key ? pr->last_key : r->key;
      pr->fed_any = 1;
      run_free(r);
      memmove(pr->runs, pr->runs + 1, (pr->n - 1) * sizeof *pr->runs);
      pr->n--;
      if (pr->n == 0) {
        p->heap[0] = p->heap[--p->nheap];
        if (p->nheap)
          sift_down(p, 0);
        continue;
      }
    }
    sift_down(p, 0);
  }
  return rc;
}
