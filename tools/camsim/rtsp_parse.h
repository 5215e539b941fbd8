/*
 * RTSP request parsing for horus-camsim: the simulator's rules on top of
 * src/proto's RTSP grammar (rtsp_proto.h), and its URL scheme. Pure
 * functions over bytes that came from the network: no allocation, no I/O,
 * so the fuzzer (tools/camsim/fuzz) links this file with horus_proto alone.
 */
#ifndef HORUS_CAMSIM_RTSP_PARSE_H
#define HORUS_CAMSIM_RTSP_PARSE_H

#include "rtsp_proto.h"

#include <stdbool.h>
#include <stddef.h>

#define CS_RTSP_MAX_BODY_BYTES 4096

/*
 * Parses the request at the start of buf (spans in req borrowed from it).
 * Returns the number of bytes it spans (head and body) when it is
 * complete, 0 when more bytes are needed, HORUS_EPARSE when it is
 * malformed, a reply, or has a CSeq that is not a number, or HORUS_ETOOBIG
 * when its head or body is over the limits (RTSP_HEAD_MAX,
 * CS_RTSP_MAX_BODY_BYTES).
 */
int cs_rtsp_request_parse(const char *buf, size_t len, struct rtsp_msg *req);

enum {
    CS_PATH_TRACK_NONE = -1, /* aggregate URL: /camN or /camN/ */
};

/*
 * Splits a request URI (absolute rtsp://host:port/camN/trackID=T or a bare
 * path) into the camera number 1..max_cam and the track: CS_PATH_TRACK_NONE
 * or a track index 0..1. Returns 0 or -ENOENT when it names no such path.
 */
int cs_path_parse(struct rtsp_span uri, int max_cam, int *cam, int *track);

#endif
