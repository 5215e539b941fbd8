/*
 * DESIGN: GET /api/v1/system/storage (admin; docs/design/0027-ui-api.md):
 * the data volume and each camera's part of it, for the System page. One
 * pass over the recordings index (sto_camera_usage_list: GROUP BY its
 * primary key's first column) gives every camera's bytes, segments, first
 * start, last end and bytes of the last 24 h; the cameras' settings come
 * from the cameras table, free space from statvfs now. Every camera's rate
 * counts for the split of free space (the disk is shared whoever may see
 * it), but only the cameras the caller may see (tenant and grant) are
 * listed. The arithmetic is in storage_forecast.c. Thread: http-N.
 */
#include "api_int.h"
#include "storage_forecast_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#define CAMERAS_PAGE 1000

static json_t *time_json(int64_t us)
{
    if (us <= 0)
        return json_null();
    char buf[40];
    clock_format_rfc3339_ms(us / 1000, buf, sizeof(buf));
    return json_string(buf);
}

/* Every camera, ordered by id, into a new array (sto_camera_list_free). */
static int all_cameras(sto_db *db, struct sto_camera **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    bool has_more = true;
    while (has_more) {
        struct sto_camera *page = NULL;
        size_t np = 0;
        int rc =
            sto_camera_list(db, *n ? (*out)[*n - 1].id : NULL, CAMERAS_PAGE, &page, &np, &has_more);
        if (rc < 0) {
            sto_camera_list_free(*out, *n);
            *out = NULL;
            *n = 0;
            return rc;
        }
        *out = horus_realloc(*out, (*n + np + 1) * sizeof(**out));
        memcpy(*out + *n, page, np * sizeof(*page));
        *n += np;
        free(page); /* its strings moved into *out */
        if (np == 0)
            break;
    }
    return 0;
}

/* What one camera's row needs, computed before the shares can be. */
struct cam_rate {
    const struct sto_camera_usage *usage; /* borrowed; NULL = no recordings */
    bool has_bpd;
    double bpd;
};

static int storage_get(http_request *req, void *arg)
{
    struct api *a = arg;
    int64_t now_us = clock_realtime_ms(a->clock) * 1000;
    if (!a->data_dir)
        return http_reply_error(req, HORUS_EUNAVAIL, "storage: no data directory");
    struct statvfs vfs;
    if (statvfs(a->data_dir, &vfs) < 0) {
        int err = -errno;
        return http_reply_error(req, err, "read free space of '%s': %s", a->data_dir,
                                horus_strerror(err));
    }
    uint64_t total_b = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    uint64_t free_b = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    uint64_t min_free = atomic_load(&a->health.min_free_hundredths);
    uint64_t above = api_free_above_watermark(free_b, total_b, min_free);

    struct sto_camera_usage *usage = NULL;
    size_t nusage = 0;
    struct sto_camera *cams = NULL;
    size_t ncams = 0;
    uint64_t export_b = 0;
    int rc = sto_camera_usage_list(a->db, now_us - API_DAY_US, &usage, &nusage);
    if (rc == 0)
        rc = all_cameras(a->db, &cams, &ncams);
    if (rc == 0)
        rc = sto_exports_usage(a->db, &export_b);
    if (rc < 0) {
        sto_camera_usage_list_free(usage, nusage);
        sto_camera_list_free(cams, ncams);
        return http_reply_error(req, rc, "read storage use: %s", horus_strerror(rc));
    }
    uint64_t recordings_b = 0;
    for (size_t i = 0; i < nusage; i++)
        recordings_b += usage[i].bytes;

    /* Both lists are ordered by id: one merge finds each camera's usage. */
    struct cam_rate *rates = horus_calloc(ncams ? ncams : 1, sizeof(*rates));
    double total_bpd = 0;
    for (size_t i = 0, u = 0; i < ncams; i++) {
        while (u < nusage && strcmp(usage[u].camera_id, cams[i].id) < 0)
            u++;
        if (u == nusage || strcmp(usage[u].camera_id, cams[i].id) != 0)
            continue;
        const struct sto_camera_usage *cu = &usage[u];
        rates[i].usage = cu;
        /* The open segment is not indexed yet: measure to the last end while it is recent. */
        bool is_recording =
            now_us - cu->newest_us <= 2 * cams[i].segment_seconds * INT64_C(1000000) + 5000000;
        rates[i].has_bpd = api_bytes_per_day(cu->recent_bytes, cu->oldest_us, cu->newest_us,
                                             is_recording, now_us, &rates[i].bpd);
        if (rates[i].has_bpd)
            total_bpd += rates[i].bpd;
    }

    json_t *items = json_array();
    for (size_t i = 0; i < ncams; i++) {
        const struct sto_camera *c = &cams[i];
        if (!api_may_see(req, c->id, c->tenant))
            continue;
        const struct sto_camera_usage *cu = rates[i].usage;
        double bpd = rates[i].has_bpd ? rates[i].bpd : 0;
        struct api_forecast_in in = {
            .bytes = cu ? cu->bytes : 0,
            .bytes_per_day = bpd,
            .retention_days = c->retention_days,
            .max_bytes = c->max_bytes,
            .free_share_bytes = api_free_share(above, bpd, total_bpd),
        };
        struct api_forecast f = api_forecast_days(&in);
        json_t *item = json_pack(
            "{s:s, s:s, s:I, s:o, s:o, s:I, s:I, s:I, s:o, s:f, s:s}", "camera", c->id, "name",
            c->name ? c->name : "", "bytes", (json_int_t)in.bytes, "oldest",
            time_json(cu ? cu->oldest_us : 0), "newest", time_json(cu ? cu->newest_us : 0),
            "segments", (json_int_t)(cu ? cu->segments : 0), "retention_days",
            (json_int_t)c->retention_days, "max_bytes", (json_int_t)c->max_bytes, "bytes_per_day",
            rates[i].has_bpd ? json_integer((json_int_t)(bpd + 0.5)) : json_null(), "forecast_days",
            (double)(int64_t)(f.days * 10 + 0.5) / 10, "limited_by", api_limit_name(f.limited_by));
        json_array_append_new(items, item);
    }
    free(rates);
    sto_camera_usage_list_free(usage, nusage);
    sto_camera_list_free(cams, ncams);

    json_t *j = json_pack(
        "{s:{s:s, s:I, s:I, s:I, s:I, s:f, s:I, s:I}, s:o, s:o}", "volume", "path",
        a->data_dir ? a->data_dir : "", "total_bytes", (json_int_t)total_b, "free_bytes",
        (json_int_t)free_b, "recordings_bytes", (json_int_t)recordings_b, "exports_bytes",
        (json_int_t)export_b, "min_free_percent", (double)min_free / 100.0, "watermark_bytes",
        (json_int_t)((unsigned __int128)total_b * min_free / 10000), "free_above_watermark_bytes",
        (json_int_t)above, "measured_at", time_json(now_us), "cameras", items);
    return http_reply_json(req, 200, j);
}

int api_system_storage_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/system/storage", storage_get},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
