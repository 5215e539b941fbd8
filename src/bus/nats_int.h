/* The NATS adapter's pure parts, for its tests and fuzz driver. */
#ifndef HORUS_BUS_NATS_INT_H
#define HORUS_BUS_NATS_INT_H

#include <stdbool.h>

/*
 * Whether every subject that subject matches is also matched by pattern;
 * both are NATS subjects whose tokens (split at '.') may be '*' (one
 * token) or, last, '>' (one or more). pattern comes from the server (an
 * existing stream's subjects); any NUL-terminated text is taken, and
 * malformed subjects simply do not cover. Thread: any.
 */
bool bus_nats_subject_covers(const char *pattern, const char *subject);

#endif
