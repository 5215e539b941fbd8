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
        return (struct http_error_map){404, "not_found"};
    case -EINVAL:
    case -ERANGE:
        return (struct http_error_map){400, "invalid"};
    case HORUS_EPARSE:
        return (struct http_error_map){400, "invalid_json"};
    case HORUS_ECONFIG:
        return (struct http_error_map){400, "invalid_config"};
    case HORUS_EAUTH:
        return (struct http_error_map){401, "unauthenticated"};
    case -EACCES:
    case -EPERM:
        return (struct http_error_map){403, "forbidden"};
    case HORUS_EMETHOD:
        return (struct http_error_map){405, "method_not_allowed"};
    case -EBUSY:
    case -EEXIST:
        return (struct http_error_map){409, "conflict"};
    case -ENODATA:
        return (struct http_error_map){422, "unprocessable"};
    case HORUS_ETOOBIG:
        return (struct http_error_map){413, "too_large"};
    case -ENOSPC:
        return (struct http_error_map){507, "insufficient_storage"};
    case HORUS_EUNAVAIL:
    case HORUS_EDBBUSY:
    case HORUS_ESTOPPED:
    case -EAGAIN:
        return (struct http_error_map){503, "unavailable"};
    default:
        return (struct http_error_map){500, "internal"};
    }
}
