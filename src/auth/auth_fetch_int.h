/*
 * HTTP client calls of the identity module (private): GET of JSON
 * documents (OIDC discovery, JWKS) and the form POST of the token
 * exchange, through libcurl with a deadline, a size cap, no redirects and
 * only http/https. Plain http is accepted for loopback hosts only (a test
 * IdP or a sidecar); anything else must be https with certificate checks.
 * Thread: any (one easy handle per call).
 */
#ifndef HORUS_AUTH_FETCH_INT_H
#define HORUS_AUTH_FETCH_INT_H

#include <stddef.h>

struct auth_fetch_req {
    const char *url; /* borrowed */
    const char *form; /* borrowed: x-www-form-urlencoded body; NULL for a GET */
    const char *basic_user, *basic_pass; /* borrowed: HTTP Basic when both are set */
    int timeout_ms; /* whole transfer */
    size_t max_bytes; /* larger replies fail with -E2BIG */
};

/*
 * Runs req. On success stores a new NUL-terminated body in *body (free()
 * it), its length in *len and the HTTP status in *status, and returns 0 (a
 * 4xx or 5xx reply is a success of the transfer). Returns -EINVAL for a URL
 * that is not https (or http on loopback), -ETIMEDOUT, -E2BIG, or -EIO,
 * with the reason in err (err_size bytes, may be 0). Never logs.
 */
int auth_fetch(const struct auth_fetch_req *req, char **body, size_t *len, long *status, char *err,
               size_t err_size);

/* True when url is https://..., or http:// to 127.0.0.0/8, [::1] or localhost. */
int auth_fetch_url_allowed(const char *url);

#endif
