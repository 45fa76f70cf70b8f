/*
 * test_analysis_util.h: helpers shared by the analysis engine's tests: a
 * tiny STD-like trace feeder (test-only; the real STD parser lives in
 * server/input) and file loading.
 */
#ifndef TEST_ANALYSIS_UTIL_H
#define TEST_ANALYSIS_UTIL_H

#include "cw_analysis.h"

/* Feeds `text`, one event per line `THREAD|OP(ARG)|LOC`, to `e`.
 * OPs: r w (plain), ra wa (atomic), acq rel req (exclusive), racq rreq
 * (read mode), tacq (trylock success), fork join, arel aacq (annotation
 * release/acquire), begin end sbeg send (span begin/end), retire, gap(N).
 * Blank lines and '#' comments are skipped. Each event's seq is its line
 * number. @return the number of events the engine rejected, or -1 on a
 * malformed line. */
int tstd_feed(cw_engine *e, const char *text);

/* @return the actor id of THREAD name `name` (registering it). */
cw_actor_id tstd_actor(cw_engine *e, const char *name);
/* @return the symbol of `s`. */
cw_sym tstd_sym(cw_engine *e, const char *s);

/* Reads a whole file (NUL-terminated, caller frees) or NULL. */
char *tstd_read_file(const char *path);

#endif
