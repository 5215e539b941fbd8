/*
 * The re-stream server's private parts: the pure parsers of what clients
 * send (request.c, fuzzed by tests/fuzz/fuzz_restream_request.c) and the
 * pieces of the server that session.c and server.c share.
 */
#ifndef HORUS_RESTREAM_INT_H
#define HORUS_RESTREAM_INT_H

#include "cfg.h"
#include "rtsp_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RS_HOST_MAX 256
#define RS_TOKEN_MAX 1024 /* a ?t= media token */
#define RS_BODY_MAX 4096 /* a request's body (SET_PARAMETER, GET_PARAMETER) */

enum { RS_TRACK_VIDEO = 0, RS_TRACK_AUDIO = 1, RS_TRACKS = 2, RS_TRACK_NONE = -1 };

/*
 * "HOST:PORT" or "[IPv6]:PORT" into host (cap bytes, brackets removed) and
 * port 0..65535. Returns 0 or -EINVAL. Pure.
 */
int rs_listen_parse(const char *s, char *host, size_t cap, int *port);

/* What a request URI names. */
struct rs_target {
    char camera[CFG_ID_MAX + 1];
    char stream[8]; /* "main" or "sub" */
    int track; /* RS_TRACK_NONE for the aggregate URL, else 0 (video) or 1 (audio) */
    bool has_token;
    char token[RS_TOKEN_MAX]; /* ?t= */
};

/*
 * Parses a request URI: rtsp://HOST[:PORT]/<camera>[/main|/sub][/trackID=N]
 * or the bare path, with an optional query "?t=TOKEN" (other parameters are
 * ignored), also when a client appended the track's control after the
 * query ("...?t=X/trackID=0"). Returns 0, or -ENOENT when it names nothing
 * the server serves. Pure: bounded by uri.len, no allocation.
 */
int rs_target_parse(struct rtsp_span uri, struct rs_target *out);

#endif
