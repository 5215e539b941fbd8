/*
 * Fragmented MP4 decode times moved in place: every moof's tfdt, per
 * track, by a signed number of ticks, nothing else touched (trun holds
 * durations and composition offsets, not times; data offsets are relative
 * to the moof). Recorded playback windows (docs/design/0074) and live
 * viewers (0075) are served this way so that a player's media time starts
 * near zero. Pure; Thread: any.
 */
#ifndef HORUS_MEDIA_FMP4_H
#define HORUS_MEDIA_FMP4_H

#include "media_part.h"

#include <stddef.h>
#include <stdint.h>

#define MEDIA_FMP4_MAX_TRACKS MEDIA_INIT_MAX_STREAMS

struct media_tfdt_shift {
    size_t n_tracks;
    struct {
        uint32_t track_id;
        uint32_t timescale;
        int64_t shift; /* added to each tfdt of the track, in its timescale */
    } tracks[MEDIA_FMP4_MAX_TRACKS];
};

/*
 * The first decode time of track_id in the moof boxes of buf[from..len),
 * which starts at a box; -1 when there is none (or it does not fit 63 bits).
 */
int64_t media_fmp4_first_tfdt(const uint8_t *buf, size_t len, size_t from, uint32_t track_id);

/*
 * Moves the tfdt of every moof in buf, a byte range that starts at a box
 * (an init has none); times that would fall before zero become zero, past
 * the field's width its maximum. Stops at the first box that does not fit.
 * Returns the tfdt boxes moved.
 */
size_t media_fmp4_shift_tfdt(uint8_t *buf, size_t len, const struct media_tfdt_shift *s);

/*
 * The shift that makes base_us of media time zero, for the tracks of init
 * (ids 1..n, each in its own timescale). Exact for the usual rates.
 */
void media_fmp4_shift_for(const media_init *init, int64_t base_us, struct media_tfdt_shift *out);

#endif
