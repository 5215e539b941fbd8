/*
 * libFuzzer driver for the RTCP feedback parser (src/webrtc/rtp_out.c):
 * any bytes as a viewer's compound RTCP packet, for the SSRC in its first
 * four bytes. The NACK list stays within its bound and a loss fraction
 * within a byte.
 */
#include "rtp_out_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t ssrc = 0;
    if (size >= 4) {
        memcpy(&ssrc, data, 4);
        data += 4;
        size -= 4;
    }
    struct webrtc_rtcp_feedback fb;
    webrtc_rtcp_parse(data, size, ssrc, &fb);
    if (fb.n_nacks > WEBRTC_RTCP_MAX_NACKS || fb.fraction_lost > 255)
        __builtin_trap();
    return 0;
}
