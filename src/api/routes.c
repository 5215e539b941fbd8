/*
 * Route tables of the handler files (api_int.h): one loop that registers
 * a file's rows on the router. Thread: main, while the api is built.
 */
#include "api_int.h"

int api_routes_add(http_router *r, const struct api_route *routes, size_t n, struct api *ctx)
{
    for (size_t i = 0; i < n; i++) {
        int rc = http_router_add(r, routes[i].method, routes[i].tmpl, routes[i].cb, ctx);
        if (rc < 0)
            return rc;
    }
    return 0;
}
