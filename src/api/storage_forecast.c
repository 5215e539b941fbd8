/*
 * DESIGN: the arithmetic of the storage page (storage_forecast_int.h):
 * how fast each camera fills the disk and how many days of footage it
 * keeps at that rate. Pure functions, doubles for rates and days (bytes
 * stay integers until they are divided). Thread: any.
 */
#include "storage_forecast_int.h"

bool api_bytes_per_day(uint64_t recent_bytes, int64_t oldest_us, int64_t newest_us,
                       bool is_recording, int64_t now_us, double *out)
{
    if (oldest_us <= 0 || newest_us <= 0)
        return false;
    int64_t from = now_us - API_DAY_US;
    if (oldest_us > from)
        from = oldest_us;
    int64_t to = is_recording && newest_us < now_us ? newest_us : now_us;
    if (to - from < 1000000)
        return false;
    *out = (double)recent_bytes * (double)API_DAY_US / (double)(to - from);
    return true;
}

const char *api_limit_name(enum api_limit l)
{
    switch (l) {
    case API_LIMIT_MAX_BYTES:
        return "max_bytes";
    case API_LIMIT_DISK:
        return "disk";
    case API_LIMIT_RETENTION_DAYS:
    default:
        return "retention_days";
    }
}

struct api_forecast api_forecast_days(const struct api_forecast_in *in)
{
    struct api_forecast f = {(double)in->retention_days, API_LIMIT_RETENTION_DAYS};
    if (!(in->bytes_per_day > 0))
        return f;
    if (in->max_bytes > 0) {
        double d = (double)in->max_bytes / in->bytes_per_day;
        if (d < f.days)
            f = (struct api_forecast){d, API_LIMIT_MAX_BYTES};
    }
    double d = ((double)in->free_share_bytes + (double)in->bytes) / in->bytes_per_day;
    if (d < f.days)
        f = (struct api_forecast){d, API_LIMIT_DISK};
    return f;
}

uint64_t api_free_share(uint64_t free_bytes, double bpd, double total_bpd)
{
    if (!(bpd > 0) || !(total_bpd > 0))
        return 0;
    if (bpd >= total_bpd)
        return free_bytes;
    return (uint64_t)((double)free_bytes * (bpd / total_bpd));
}

uint64_t api_free_above_watermark(uint64_t free_bytes, uint64_t total_bytes,
                                  uint64_t min_free_hundredths)
{
    uint64_t reserve = (uint64_t)((unsigned __int128)total_bytes * min_free_hundredths / 10000);
    return free_bytes > reserve ? free_bytes - reserve : 0;
}
