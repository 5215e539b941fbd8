/*
 * libFuzzer driver for the parsers ingest runs on camera bytes: Annex B
 * splitting, SPS parsing (H.264 and H.265), decoder-config building,
 * length-prefixing and AudioSpecificConfig parsing. The first input byte
 * picks the codec; the rest is the access unit. The reorder depth an SPS
 * declares (its VUI / sub-layer ordering info) then drives a timeline
 * session whose raw pts are the input's bytes, 4 at a time, through the
 * start-of-session hold, priming and burst measurement (timeline.c rules 7
 * and 8; arrival gaps from the input too, 0 being a burst): the depth must
 * be in range, dts strictly increasing, pts >= dts, wall_us never backwards
 * nor more than max_ahead ahead of arrival.
 */
#include "ingest_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drive_timeline(int reorder, const uint8_t *data, size_t size)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, 3600);
    ing_timeline_set_reorder(&tl, reorder);
    tl.max_ahead_us = 5000000;
    size_t n = size / 4 < 64 ? size / 4 : 64;
    int64_t raw[64], arrival[64];
    int64_t at = INT64_C(1767225600000000);
    for (size_t i = 0; i < n; i++) {
        raw[i] = data[4 * i] == 0xff && data[4 * i + 1] == 0xff
                     ? ING_TS_NONE
                     : (int64_t)((uint32_t)data[4 * i] << 24 | (uint32_t)data[4 * i + 1] << 16 |
                                 (uint32_t)data[4 * i + 2] << 8 | data[4 * i + 3]);
        at += (int64_t)(data[4 * i + 3] & 0x3f) * 1000; /* 0 (a burst) to 63 ms apart */
        arrival[i] = at;
    }
    /* The hold of rules 7 and 8, as stream.c runs it. */
    unsigned hold = 0;
    if (ing_timeline_hold_frames(&tl) > 0) {
        while (hold < n && (hold == 0 || arrival[hold] - arrival[0] < ING_HOLD_US)) {
            hold++;
            if (!ing_timeline_hold_more(&tl, raw, arrival, hold))
                break;
        }
        ing_timeline_prime(&tl, raw, hold);
        ing_timeline_measure_burst(&tl, raw, arrival, hold);
        if (tl.burst_lead_us < 0)
            abort();
    }
    int64_t last_dts = INT64_MIN, last_wall = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        struct ing_timestamps t = ing_timeline_map(&tl, raw[i], arrival[i], true);
        if (t.is_rejected)
            continue;
        if (t.dts <= last_dts || t.pts < t.dts || t.wall_us < last_wall ||
            t.wall_us > arrival[i] + tl.max_ahead_us || tl.jitter_us < 0) {
            fprintf(stderr, "timeline: dts %lld after %lld, pts %lld, wall %lld after %lld\n",
                    (long long)t.dts, (long long)last_dts, (long long)t.pts, (long long)t.wall_us,
                    (long long)last_wall);
            abort();
        }
        last_dts = t.dts;
        last_wall = t.wall_us;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum media_codec codec = data[0] & 1 ? MEDIA_CODEC_H265 : MEDIA_CODEC_H264;
    data++;
    size--;
    struct ing_nal nals[64];
    size_t n = ing_annexb_split(data, size, nals, 64);
    struct ing_param_sets ps = {.codec = codec};
    struct ing_sps_info sps;
    bool has_sps = false;
    bool skip[64];
    for (size_t i = 0; i < n; i++) {
        skip[i] = false;
        if (nals[i].size == 0)
            continue;
        int type = media_nal_type(codec, nals[i].data, nals[i].size);
        (void)media_nal_is_keyframe(codec, type);
        int kind = media_nal_ps_kind(codec, type);
        if (kind < 0)
            continue;
        skip[i] = true;
        ing_param_sets_update(&ps, (enum ing_ps_kind)kind, &nals[i]);
        if (kind == ING_PS_SPS && ing_sps_parse(codec, &nals[i], &sps) == 0) {
            has_sps = true;
            if (sps.max_reorder < -1 || sps.max_reorder > 16)
                abort();
        }
    }
    drive_timeline(has_sps ? sps.max_reorder : -1, data, size);
    if (has_sps && ing_param_sets_complete(&ps)) {
        uint8_t rec[4096];
        (void)ing_decoder_config_build(&ps, &sps, rec, sizeof(rec));
        char cs[32];
        (void)ing_codec_string_video(codec, &sps, cs, sizeof(cs));
    }
    uint8_t *out = malloc(size + 4 * n + 1);
    (void)ing_nals_to_length_prefixed(nals, skip, n, out);
    free(out);
    unsigned aot;
    uint32_t rate, ch;
    (void)ing_aac_config_parse(data, size, &aot, &rate, &ch);
    return 0;
}
