/*
 * libFuzzer driver for the recorder's disk parsers: rec_fmp4_scan (what
 * crash recovery and `horus check` run on .part files) and the index blob
 * codec. Any input must parse without reading out of bounds, the valid
 * prefix must rescan to itself, and the index it yields must round-trip.
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

    /* The same bytes as an index blob (a corrupt database row). */
    struct sto_part *parts;
    size_t n;
    if (sto_index_decode(data, size, &parts, &n) == 0)
        free(parts);
    return 0;
}
