/*
 * DESIGN: MP4A-LATM (ISO/IEC 14496-3 1.7.3): one AudioMuxElement per AAC
 * frame, as GStreamer's rtpmp4apay frames them. The StreamMuxConfig is the
 * standard's whole one, tail included (frameLengthType, buffer fullness,
 * the two flags), which rtpmp4apay leaves out; the interop tests meet that
 * form from GStreamer itself. The AudioSpecificConfig is written with all
 * its bits, so it must be plain AAC (camsim's encoder's and most files'
 * are). Thread: any.
 */
#include "latm.h"

#include <string.h>

struct bitw {
    uint8_t *p;
    size_t pos; /* bits written */
};

static void put(struct bitw *w, uint32_t v, unsigned bits)
{
    for (unsigned i = bits; i-- > 0;) {
        uint8_t *b = &w->p[w->pos / 8];
        if (w->pos % 8 == 0)
            *b = 0;
        if ((v >> i) & 1)
            *b |= (uint8_t)(0x80 >> (w->pos % 8));
        w->pos++;
    }
}

static void config_write(struct bitw *w, const uint8_t *asc, size_t asc_len)
{
    put(w, 0, 1); /* audioMuxVersion */
    put(w, 1, 1); /* allStreamsSameTimeFraming */
    put(w, 0, 6); /* numSubFrames */
    put(w, 0, 4); /* numProgram */
    put(w, 0, 3); /* numLayer */
    for (size_t i = 0; i < asc_len; i++)
        put(w, asc[i], 8);
    put(w, 0, 3); /* frameLengthType */
    put(w, 0xff, 8); /* latmBufferFullness */
    put(w, 0, 1); /* otherDataPresent */
    put(w, 0, 1); /* crcCheckPresent */
}

size_t cs_latm_config(const uint8_t *asc, size_t asc_len, uint8_t *out, size_t cap)
{
    if (asc_len + 6 > cap)
        return 0;
    struct bitw w = {out, 0};
    config_write(&w, asc, asc_len);
    return (w.pos + 7) / 8;
}

size_t cs_latm_element(bool is_inband, const uint8_t *asc, size_t asc_len, const uint8_t *frame,
                       size_t n, uint8_t *out)
{
    struct bitw w = {out, 0};
    if (is_inband) {
        put(&w, 0, 1); /* useSameStreamMux */
        config_write(&w, asc, asc_len);
    }
    size_t left = n;
    while (left >= 255) {
        put(&w, 255, 8);
        left -= 255;
    }
    put(&w, (uint32_t)left, 8);
    if (w.pos % 8 == 0) {
        memcpy(out + w.pos / 8, frame, n);
        w.pos += 8 * n;
    } else {
        for (size_t i = 0; i < n; i++)
            put(&w, frame[i], 8);
    }
    return (w.pos + 7) / 8;
}
