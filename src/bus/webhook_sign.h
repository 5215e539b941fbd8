/*
 * The signature of a webhook delivery (docs/design/0049-webhooks.md):
 *   X-Horus-Timestamp: <Unix seconds>
 *   X-Horus-Signature: v1=<hex of HMAC-SHA256(key, "<timestamp>.<body>")>
 * The timestamp is inside the signed bytes, so a receiver that checks the
 * signature and rejects timestamps older than a few minutes rejects
 * replays; the body is signed byte for byte as sent. Pure functions.
 */
#ifndef HORUS_BUS_WEBHOOK_SIGN_H
#define HORUS_BUS_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define BUS_WEBHOOK_SIG_LEN (3 + 64) /* "v1=" and 64 hex digits */

/*
 * Writes "v1=<hex>" (NUL-terminated, BUS_WEBHOOK_SIG_LEN + 1 bytes) for
 * key, timestamp_s and body[0..len) into out. Returns 0 or -EINVAL (empty key).
 */
int bus_webhook_sign(const char *key, int64_t timestamp_s, const void *body, size_t len,
                     char out[BUS_WEBHOOK_SIG_LEN + 1]);

#endif
