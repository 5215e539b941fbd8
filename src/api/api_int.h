/* Private to src/api: each handler file registers its own routes. */
#ifndef HORUS_API_INT_H
#define HORUS_API_INT_H

#include "api.h"

int api_system_register(http_router *r, struct api_context *ctx);
int api_cameras_register(http_router *r, struct api_context *ctx);
int api_probe_register(http_router *r, struct api_context *ctx);
int api_exports_register(http_router *r, struct api_context *ctx);
int api_snapshot_register(http_router *r, struct api_context *ctx);

/*
 * Parses a time input (Unix milliseconds as a JSON integer or a string, or
 * an RFC 3339 string) into UTC microseconds. Returns 0 or -EINVAL.
 */
int api_time_parse_json(const json_t *v, int64_t *out_us);
int api_playback_register(http_router *r, struct api_context *ctx);

/* ---- media_cache.c: recording key -> file, for media range requests ---- */

struct api_media_ref {
    char path[256]; /* relative to the data directory */
    char sha256[65]; /* "" when unknown */
};

/* Copies the cached file of (camera, stream, start_us) into *out; false when not cached. */
bool api_media_cache_get(const char *camera, const char *stream, int64_t start_us,
                         struct api_media_ref *out);
/* Remembers it (replacing whatever shared its slot). */
void api_media_cache_put(const char *camera, const char *stream, int64_t start_us,
                         const struct api_media_ref *ref);
/* Forgets it (its file is gone). */
void api_media_cache_drop(const char *camera, const char *stream, int64_t start_us);
int api_live_register(http_router *r, struct api_context *ctx);

#endif
