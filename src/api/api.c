/*
 * DESIGN: the API's entry point: sets the router's error mapper and lets each
 * handler file register its routes. Later resources (cameras, recordings,
 * events, users) add one register call here.
 */
#include "api_int.h"

int api_register(http_router *r, struct api_context *ctx)
{
    http_router_set_error_mapper(r, api_error_map);
    int rc = api_system_register(r, ctx);
    if (rc == 0)
        rc = api_cameras_register(r, ctx);
    if (rc == 0)
        rc = api_probe_register(r, ctx);
    if (rc == 0)
        rc = api_exports_register(r, ctx);
    if (rc == 0)
        rc = api_snapshot_register(r, ctx);
    if (rc == 0)
        rc = api_playback_register(r, ctx);
    if (rc == 0)
        rc = api_live_register(r, ctx);
    return rc;
}
