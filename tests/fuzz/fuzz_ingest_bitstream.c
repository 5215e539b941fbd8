/*
 * libFuzzer driver for the parsers ingest runs on camera bytes: Annex B
 * splitting, SPS parsing (H.264 and H.265), decoder-config building,
 * length-prefixing and AudioSpecificConfig parsing. The first input byte
 * picks the codec; the rest is the access unit.
 */
#include "ingest_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        if (kind == ING_PS_SPS && ing_sps_parse(codec, &nals[i], &sps) == 0)
            has_sps = true;
    }
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
