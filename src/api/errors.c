/*
 * DESIGN: the only place that maps internal error codes to HTTP statuses
 * and the stable machine-readable codes of the error envelope
 * {"error": {"code": ..., "message": ...}} (docs/conventions.md §4).
 */
#include "api.h"

#include "err.h"

#include <errno.h>

struct http_error_map api_error_map(int rc)
{
    switch (rc) {
    case -ENOENT:
        return (struct http_error_map){.status = 404, .code = "not_found"};
    case -EINVAL:
    case -ERANGE:
        return (struct http_error_map){.status = 400, .code = "invalid"};
    case HORUS_EPARSE:
        return (struct http_error_map){.status = 400, .code = "invalid_json"};
    case HORUS_ECONFIG:
        return (struct http_error_map){.status = 400, .code = "invalid_config"};
    case HORUS_EAUTH:
        return (struct http_error_map){.status = 401, .code = "unauthenticated"};
    case -EACCES:
    case -EPERM:
        return (struct http_error_map){.status = 403, .code = "forbidden"};
    case HORUS_EMETHOD:
        return (struct http_error_map){.status = 405, .code = "method_not_allowed"};
    case -EBUSY:
    case -EEXIST:
        return (struct http_error_map){.status = 409, .code = "conflict"};
    case -EDQUOT: /* a tenant quota (docs/design/0024): the message names it */
        return (struct http_error_map){.status = 409, .code = "quota_exceeded"};
    case -ENODATA:
        return (struct http_error_map){.status = 422, .code = "unprocessable"};
    case HORUS_ETOOBIG:
        return (struct http_error_map){.status = 413, .code = "too_large"};
    case HORUS_ELIMIT: /* Retry-After comes from the limiter, which knows the wait */
        return (struct http_error_map){.status = 429, .code = "rate_limited"};
    case HORUS_EMEDIATYPE:
        return (struct http_error_map){.status = 415, .code = "unsupported_media_type"};
    case HORUS_EMISDIRECTED:
        return (struct http_error_map){.status = 421, .code = "misdirected"};
    case -ENOSPC:
        return (struct http_error_map){.status = 507, .code = "insufficient_storage"};
    case HORUS_EDBBUSY: /* the lock passes: say when to come back */
        return (struct http_error_map){.status = 503, .code = "unavailable", .retry_after_s = 1};
    case HORUS_EDISABLED: /* a client can tell "off here" from "not now" (the UI's WHEP) */
        return (struct http_error_map){.status = 503, .code = "disabled"};
    case HORUS_EUNAVAIL:
    case HORUS_ESTOPPED:
    case -EAGAIN:
        return (struct http_error_map){.status = 503, .code = "unavailable"};
    default:
        return (struct http_error_map){.status = 500, .code = "internal"};
    }
}
