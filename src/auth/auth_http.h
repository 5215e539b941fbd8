/*
 * The credential parsers of HTTP headers (fuzzed by tests/fuzz/fuzz_auth_http.c):
 * the bearer token of an Authorization header and one cookie of a Cookie
 * header. Pure; Thread: any.
 */
#ifndef HORUS_AUTH_HTTP_H
#define HORUS_AUTH_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_TOKEN_MAX 4096 /* longest bearer token or cookie value accepted */

/*
 * The token of "Bearer <token>" (scheme case-insensitive, one or more
 * spaces, no trailing spaces, token68 characters only) into out (cap >=
 * AUTH_TOKEN_MAX + 1). Returns 0, -ENOENT when header is NULL or another
 * scheme, -EINVAL when malformed or longer than AUTH_TOKEN_MAX.
 */
int auth_bearer_parse(const char *header, char *out, size_t cap);

/*
 * The value of cookie name in a Cookie header ("a=1; b=2"), copied into out
 * (surrounding double quotes removed). Returns 0, -ENOENT when absent,
 * -EINVAL when the named cookie appears twice or its value is longer than
 * cap - 1 or holds characters outside the cookie-octet set.
 */
int auth_cookie_get(const char *header, const char *name, char *out, size_t cap);

/*
 * Whether origin ("scheme://host[:port]", the Origin header, or a Referer
 * URL whose origin part is compared) is the same origin as the request's
 * Host header (over http or https) or as public_url (may be NULL or "").
 */
bool auth_origin_is_same(const char *origin, const char *host, const char *public_url);

#endif
