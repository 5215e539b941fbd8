/*
 * libFuzzer driver for the recorder's disk parsers: rec_fmp4_scan (what
 * crash recovery and `horus check` run on .part files) and the index blob
 * codec, and fmp4_rebase.c / media_fmp4.c on the same bytes. Any input must parse without
 * reading out of bounds, the valid prefix must rescan to itself, the index
 * it yields must round-trip, and moving decode times must stay within the
 * bytes and leave the init alone.
 */
#include "record.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rec_scan scan;
    if (rec_fmp4_scan(data, size, &scan) == 0) {
        if (scan.valid_size > size || scan.init_size > scan.valid_size)
            abort();
        struct rec_scan again;
        if (rec_fmp4_scan(data, scan.valid_size, &again) != 0 || again.n_parts != scan.n_parts ||
            again.valid_size != scan.valid_size)
            abort();
        rec_scan_release(&again);
        uint8_t *blob;
        size_t blob_size, n;
        struct sto_part *parts;
        if (sto_index_encode(scan.parts, scan.n_parts, &blob, &blob_size) != 0 ||
            sto_index_decode(blob, blob_size, &parts, &n) != 0 || n != scan.n_parts)
            abort();
        for (size_t i = 0; i < n; i++)
            if (parts[i].offset != scan.parts[i].offset ||
                parts[i].size_bytes != scan.parts[i].size_bytes ||
                parts[i].start_90k != scan.parts[i].start_90k ||
                parts[i].duration_90k != scan.parts[i].duration_90k ||
                parts[i].is_keyframe != scan.parts[i].is_keyframe)
                abort();
        free(parts);
        free(blob);
    }
    rec_scan_release(&scan);

    /*
     * The same bytes served with a playlist's offset (fmp4_rebase.c): moving
     * the decode times of a copy stays within it and leaves its init as it
     * was.
     */
    struct media_tfdt_shift rb;
    if (rec_rebase_prepare(data, size, -1234567, &rb) == 0) {
        uint8_t *copy = malloc(size ? size : 1);
        memcpy(copy, data, size);
        (void)media_fmp4_shift_tfdt(copy, size, &rb);
        struct rec_scan a, b;
        int ra = rec_fmp4_scan(data, size, &a), rb2 = rec_fmp4_scan(copy, size, &b);
        /* Parts may differ: a time moved below zero is clamped, which a scan may refuse. */
        if (ra != rb2 || a.init_size != b.init_size || a.n_tracks != b.n_tracks)
            abort();
        rec_scan_release(&a);
        rec_scan_release(&b);
        free(copy);
    }
    /* And any range of them: a byte range that does not start at a box. */
    if (size > 8) {
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        struct media_tfdt_shift any = {.n_tracks = 1, .tracks = {{.track_id = 1, .shift = -5}}};
        (void)media_fmp4_shift_tfdt(copy + data[0] % 8, size - data[0] % 8, &any);
        free(copy);
    }
    /* As a live part moved to a viewer's start (live_view_bytes): any bytes, two tracks. */
    if (size > 0) {
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        struct media_tfdt_shift view = {
            .n_tracks = 2,
            .tracks = {{.track_id = 1, .timescale = 90000, .shift = -(int64_t)data[0] * 90000},
                       {.track_id = 2, .timescale = 48000, .shift = INT64_MIN}}};
        (void)media_fmp4_shift_tfdt(copy, size, &view);
        free(copy);
    }

    /* The same bytes as an index blob (a corrupt database row). */
    struct sto_part *parts;
    size_t n;
    if (sto_index_decode(data, size, &parts, &n) == 0)
        free(parts);
    return 0;
}
