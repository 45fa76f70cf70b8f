/*
 * metrics: Prometheus text rendering of the collector's counters.
 */
#include "metrics.h"

#include "native_feed.h"

const char *cw__refusal_name(cw_refusal r) {
  static const char *const names[CW_REFUSE_COUNT_] = {
      "malformed",    "too_large",  "unsupported_encoding", "unauthorized",
      "rate_limited", "overloaded", "store_error",          "timeout"};
  return (unsigned)r < CW_REFUSE_COUNT_ ? names[r] : "unknown";
}

static unsigned long long ld(const atomic_uint_fast64_t *a) {
  return (unsigned long long)atomic_load_explicit(a, memory_order_relaxed);
}

static void head(cw_sbuf *o, const char *name, const char *type,
                 const char *help) {
  cw__sbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value that only grows while the collector runs (name ends in _total). */
static void counter(cw_sbuf *o, const char *name, const char *help,
                    unsigned long long v) {
  head(o, name, "counter", help);
  cw__sbuf_printf(o, "%s %llu\n", name, v);
}

static void gauge(cw_sbuf *o, const char *name, const char *help,
                  unsigned long long v) {
  head(o, name, "gauge", help);
  cw__sbuf_printf(o, "%s %llu\n", name, v);
}

void cw__metrics_render(const cw_metrics *m, const cw_metrics_gauges *g,
                        cw_sbuf *o) {
  head(o, "causeway_events_ingested_total", "counter",
       "Events accepted (stored and analysed), by input format.");
  cw__sbuf_printf(o,
                  "causeway_events_ingested_total{format=\"native\"} %llu\n"
                  "causeway_events_ingested_total{format=\"raceway\"} %llu\n",
                  ld(&m->events_native), ld(&m->events_raceway));
  head(o, "causeway_events_rejected_total", "counter",
       "Events of accepted batches that are not analysed, by reason.");
  for (int r = 0; r < CW_METRICS_REJECT_REASONS; r++)
    cw__sbuf_printf(o, "causeway_events_rejected_total{reason=\"%s\"} %llu\n",
                    cw__reject_reason_name((cw_reject_reason)r),
                    ld(&m->rejected_events[r]));
  for (uint64_t i = 0; i < g->nraceway_skips; i++)
    cw__sbuf_printf(o,
                    "causeway_events_rejected_total{reason=\"raceway_%s\"} "
                    "%llu\n",
                    g->raceway_skip_names[i],
                    (unsigned long long)g->raceway_skips[i]);
  cw__sbuf_printf(o,
                  "causeway_events_rejected_total{reason=\"invalid\"} %llu\n",
                  (unsigned long long)g->invalid_events);
  head(o, "causeway_events_dropped_total", "counter",
       "Events lost before they reached the collector, by reason.");
  cw__sbuf_printf(o,
                  "causeway_events_dropped_total{reason=\"sdk_gap\"} %llu\n"
                  "causeway_events_dropped_total{reason=\"refused_body\"} "
                  "%llu\n",
                  ld(&m->sdk_dropped), ld(&m->refused_events));
  head(o, "causeway_batches_total", "counter", "Batches received, by result.");
  cw__sbuf_printf(o,
                  "causeway_batches_total{result=\"stored\"} %llu\n"
                  "causeway_batches_total{result=\"duplicate\"} %llu\n",
                  ld(&m->batches_stored), ld(&m->batches_duplicate));
  head(o, "causeway_requests_refused_total", "counter",
       "Ingest requests refused as a whole, by reason.");
  for (int r = 0; r < CW_REFUSE_COUNT_; r++)
    cw__sbuf_printf(o, "causeway_requests_refused_total{reason=\"%s\"} %llu\n",
                    cw__refusal_name((cw_refusal)r), ld(&m->refusals[r]));
  head(o, "causeway_http_requests_total", "counter", "HTTP requests served.");
  cw__sbuf_printf(o, "causeway_http_requests_total %llu\n", ld(&m->requests));
  head(o, "causeway_ingest_bytes_total", "counter",
       "Request body bytes received on ingest routes.");
  cw__sbuf_printf(o, "causeway_ingest_bytes_total %llu\n",
                  ld(&m->ingest_bytes));
  gauge(o, "causeway_queue_batches", "Batches waiting for the analysis.",
        g->queue_batches);
  gauge(o, "causeway_queue_bytes",
        "Bytes reserved in the analysis queue (queued and held batches).",
        g->queue_bytes);
  gauge(o, "causeway_held_batches",
        "Batches held until their predecessor from the same process.",
        g->held_batches);
  head(o, "causeway_analysis_lag_seconds", "gauge",
       "Age of the oldest batch waiting for the analysis.");
  cw__sbuf_printf(o, "causeway_analysis_lag_seconds %.6f\n", g->lag_seconds);
  counter(o, "causeway_analysed_events_total",
          "Events handed to the analysis engine.", g->fed_events);
  gauge(o, "causeway_pending_events",
        "Events the engine holds until the events their clocks name arrive.",
        g->pending_events);
  head(o, "causeway_findings", "gauge", "Current findings, by kind.");
  cw__sbuf_printf(
      o,
      "causeway_findings{kind=\"race_groups\"} %llu\n"
      "causeway_findings{kind=\"racy_variables\"} %llu\n"
      "causeway_findings{kind=\"racy_location_pairs\"} %llu\n"
      "causeway_findings{kind=\"potential_deadlocks\"} %llu\n"
      "causeway_findings{kind=\"deadlocks\"} %llu\n"
      "causeway_findings{kind=\"contended_locks\"} %llu\n"
      "causeway_findings{kind=\"anomalies\"} %llu\n",
      (unsigned long long)g->races, (unsigned long long)g->racy_variables,
      (unsigned long long)g->racy_location_pairs,
      (unsigned long long)g->potential_deadlocks,
      (unsigned long long)g->deadlocks, (unsigned long long)g->contended_locks,
      (unsigned long long)g->anomalies);
  gauge(o, "causeway_analysis_exact",
        "1 when no analysis bound changed or may have changed a count "
        "(summary.exact).",
        g->exact);
  gauge(o, "causeway_analysis_cut",
        "Checks a bound cut short: search_truncated + instances_cut + "
        "handoffs_cut + early_orders + retired_skips.",
        g->analysis_cut);
  gauge(o, "causeway_store_bytes", "Size of the embedded store on disk.",
        g->store_bytes);
  gauge(o, "causeway_store_segments", "Segment files in the store.",
        g->store_segments);
  gauge(o, "causeway_store_records", "Batches in the store.", g->store_records);
  gauge(o, "causeway_store_events", "Events in the store.", g->store_events);
  counter(o, "causeway_store_commits_total",
          "Group commits (fdatasync calls) since start.", g->store_commits);
  gauge(o, "causeway_store_repaired_bytes",
        "Torn bytes cut from the last segment at startup.",
        g->store_repaired_bytes);
  gauge(o, "causeway_live_subscribers", "Open live-push (SSE) connections.",
        g->sse_clients);
  gauge(o, "causeway_ready", "1 once the store was replayed.",
        (unsigned long long)g->ready);
}
