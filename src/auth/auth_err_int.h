/*
 * Error-text helper shared by the identity module's parsers and fetchers
 * (private): callers hand a caller-owned buffer that may be NULL or empty.
 * Thread: any (writes only the caller's buffer).
 */
#ifndef HORUS_AUTH_ERR_INT_H
#define HORUS_AUTH_ERR_INT_H

#include <stddef.h>

/* Formats fmt into err (err_size bytes, truncated); does nothing when err is NULL or err_size 0. */
void auth_set_err(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
