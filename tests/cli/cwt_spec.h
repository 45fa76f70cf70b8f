/*
 * cwt_spec: builds native trace files (.cwt) from a readable text spec, so
 * that data-driven cases and fuzz seeds are reviewable in git:
 *
 *   stream N                            later batches form stream N (0-255;
 *                                       default 90), numbered from 0
 *   batch SERVICE INSTANCE PID          start a batch (one LZ4 frame)
 *   ev SEQ ACTOR COUNTER KIND [OBJECT] [@FILE:LINE] [key=value...]
 *       keys: j=ACTOR:N,ACTOR:N (joins)  f=atomic,shared,try,full
 *             val=N  str=TEXT  wall=NS  mono=NS  dur=NS  detail=TEXT
 *             trace=HEX32 span=HEX16 pspan=HEX16 (W3C trace context)
 *   gap ACTOR DROPPED FIRST LAST
 *   retire SEQ ACTOR...
 *   truncate N                          cut the last N bytes of the file
 *
 * ACTOR is a global actor name (service#instance/actor); KIND is a
 * cw__ev_kind_name() name ("write", "lock_acquired"...); OBJECT "-" = none.
 * Without wall=, an event's wall time is its SEQ in microseconds.
 */
#ifndef CWT_SPEC_H
#define CWT_SPEC_H

#include <stddef.h>
#include <stdint.h>

/* Converts spec text to a .cwt byte image. @return a new buffer (free()) and
 * its size, or NULL with a message naming the spec line in err. */
uint8_t *cwt_from_spec(const char *spec, size_t len, size_t *out_len, char *err,
                       size_t errsz);

#endif
