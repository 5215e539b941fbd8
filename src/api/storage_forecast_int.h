/*
 * Private to src/api and its unit tests: the arithmetic of GET
 * /api/v1/system/storage (docs/design/0027-ui-api.md), pure functions of
 * numbers read elsewhere so that every branch can be tested.
 */
#ifndef HORUS_API_STORAGE_FORECAST_INT_H
#define HORUS_API_STORAGE_FORECAST_INT_H

#include <stdbool.h>
#include <stdint.h>

#define API_DAY_US (INT64_C(86400) * 1000000)

/*
 * Bytes a day a camera records, measured over [from_us, to_us): from_us is
 * the later of 24 h before now and its first recording, to_us the end of
 * its last indexed segment while it is still recording (the open segment
 * is not indexed yet) or now. recent_bytes: its segments' bytes that
 * started at or after now - 24 h. Returns false (rate unknown) when the
 * camera has no recordings or the window is shorter than a second.
 */
bool api_bytes_per_day(uint64_t recent_bytes, int64_t oldest_us, int64_t newest_us,
                       bool is_recording, int64_t now_us, double *out);

enum api_limit { API_LIMIT_RETENTION_DAYS, API_LIMIT_MAX_BYTES, API_LIMIT_DISK };

/* "retention_days", "max_bytes", "disk". */
const char *api_limit_name(enum api_limit l);

/* What decides how long a camera's footage lasts. */
struct api_forecast_in {
    uint64_t bytes; /* what the camera holds now */
    double bytes_per_day; /* as measured; 0 = it records nothing now */
    int64_t retention_days; /* 1..3650 */
    uint64_t max_bytes; /* 0 = no cap */
    uint64_t free_share_bytes; /* its share of the free space above the watermark */
};

struct api_forecast {
    double days; /* days of footage the camera will keep */
    enum api_limit limited_by;
};

/*
 * The smallest of: retention_days; max_bytes / bytes_per_day when capped;
 * (free_share_bytes + bytes) / bytes_per_day, the days its share of the
 * disk holds before the watermark starts deleting. A camera recording
 * nothing keeps retention_days (nothing new pushes the old out).
 */
struct api_forecast api_forecast_days(const struct api_forecast_in *in);

/*
 * A camera's share of the free space above the watermark: free_bytes
 * split in proportion to the cameras' bytes per day (its own: bpd, all
 * cameras on the volume: total_bpd). 0 when nothing records.
 */
uint64_t api_free_share(uint64_t free_bytes, double bpd, double total_bpd);

/*
 * The free space above the watermark: free_bytes minus min_free_hundredths
 * (1/100 %) of total_bytes, never below 0.
 */
uint64_t api_free_above_watermark(uint64_t free_bytes, uint64_t total_bytes,
                                  uint64_t min_free_hundredths);

#endif
