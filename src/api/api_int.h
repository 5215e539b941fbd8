/* Private to src/api: each handler file registers its own routes. */
#ifndef HORUS_API_INT_H
#define HORUS_API_INT_H

#include "api.h"

int api_system_register(http_router *r, struct api_context *ctx);
int api_cameras_register(http_router *r, struct api_context *ctx);
int api_live_register(http_router *r, struct api_context *ctx);

#endif
