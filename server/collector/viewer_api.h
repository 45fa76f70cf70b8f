/*
 * viewer_api: the collector routes the viewer and tools built on it need
 * (docs/http-api.md): the timeline query, marks and findings since a mark,
 * and short-lived stream tokens for the live stream when API keys are
 * configured (EventSource cannot send headers).
 *
 * Thread-safety: every function may be called from any HTTP worker thread.
 */
#ifndef CW_VIEWER_API_H
#define CW_VIEWER_API_H

#include <civetweb.h>

typedef struct cw_server cw_server;
typedef struct cw_viewer_state cw_viewer_state;

/* @return new state (marks, stream tokens) or NULL. */
cw_viewer_state *cw__viewer_new(void);
void cw__viewer_free(cw_viewer_state *v); /* NULL ok */

/* @return 1 when `path` is a viewer route answering POST. */
int cw__viewer_post_route(const char *path);

/* @return 1 when the query string carries a valid, unexpired stream token
 * (GET /v1/stream?token=...). */
int cw__viewer_stream_token_ok(cw_server *s, const char *query_string);

/* Handles an authenticated request for a viewer route: POST /v1/marks,
 * POST /v1/stream-token, GET /v1/timeline, and the query routes with
 * ?since=MARK. @return the HTTP status answered, or 0 when the request is
 * not the viewer's (the caller routes it on). */
int cw__viewer_handle(cw_server *s, struct mg_connection *c, const char *path);

#endif /* CW_VIEWER_API_H */
