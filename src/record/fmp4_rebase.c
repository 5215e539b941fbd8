/*
 * DESIGN: recorded media time moved when served (docs/design/0074).
 *
 * A recorded file's decode times count from the start of the camera's
 * session (the timeline is monotonic across reconnects), so a playback
 * window that starts hours into a session starts at hours of media time.
 * Players that place media by the wall clock or rebase on their own cope;
 * GStreamer's legacy hlsdemux (the default playbin of Debian 12) does not:
 * its sink waits for that media time before the first frame. A playback
 * playlist therefore names, per file, where the file's first picture
 * belongs in the window's media time (its wall-clock offset from the
 * window's first segment), and the file is served with every fragment's
 * tfdt moved by that much:
 *
 *   tfdt' = tfdt - t0 + offset, per track in its own timescale,
 *
 * where t0 is the primary (video) track's first decode time, converted for
 * the other tracks: every track of a file shares one timeline, so audio
 * keeps its place against the picture. The rest of each fragment (trun's
 * sample durations and composition offsets, the mdat) is untouched, and
 * so is the init segment. Pure; Thread: any.
 */
#include "record.h"

#include "err.h"

#include <stdint.h>
#include <string.h>

int rec_rebase_prepare(const uint8_t *head, size_t len, int64_t offset_us,
                       struct media_tfdt_shift *out)
{
    _Static_assert(REC_MAX_TRACKS <= MEDIA_FMP4_MAX_TRACKS, "a file's tracks fit a shift");
    memset(out, 0, sizeof(*out));
    struct rec_scan scan;
    int rc = rec_fmp4_scan(head, len, &scan);
    if (rc < 0 || scan.n_tracks == 0) {
        rec_scan_release(&scan);
        return HORUS_EPARSE;
    }
    out->n_tracks = scan.n_tracks;
    for (size_t i = 0; i < scan.n_tracks; i++) {
        out->tracks[i].track_id = scan.tracks[i].track_id;
        out->tracks[i].timescale = scan.tracks[i].timescale ? scan.tracks[i].timescale : 1;
    }
    size_t primary = scan.primary;
    size_t init_size = scan.init_size;
    rec_scan_release(&scan);
    /* The primary track's decode time in the first fragment. */
    int64_t t0 = media_fmp4_first_tfdt(head, len, init_size, out->tracks[primary].track_id);
    if (t0 < 0)
        return HORUS_EPARSE;
    int64_t ts0 = out->tracks[primary].timescale;
    for (size_t i = 0; i < out->n_tracks; i++) {
        __int128 ts = out->tracks[i].timescale;
        /* Exact for the usual rates; in 128 bits nothing a file can hold overflows. */
        __int128 shift = (__int128)offset_us * ts / 1000000 - (__int128)t0 * ts / ts0;
        out->tracks[i].shift = shift < INT64_MIN   ? INT64_MIN
                               : shift > INT64_MAX ? INT64_MAX
                                                   : (int64_t)shift;
    }
    return 0;
}
