/*
 * libFuzzer driver for the STUN parser (src/webrtc/stun.c), the first
 * thing every datagram to the WebRTC port meets: any bytes parsed; an
 * accepted message's borrowed pointers lie inside the input, its
 * integrity check runs without reading past it, and a response built for
 * it parses back with a valid integrity.
 */
#include "stun_int.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    webrtc_demux_classify(data, size);
    struct webrtc_stun_msg m;
    if (webrtc_stun_parse(data, size, &m) != 0)
        return 0;
    if (m.username && ((const uint8_t *)m.username < data ||
                       (const uint8_t *)m.username + m.username_len > data + size))
        __builtin_trap();
    if (m.has_integrity && m.integrity_at + 24 > size)
        __builtin_trap();
    webrtc_stun_check_integrity(data, &m, "passwordpasswordpasswo", 22);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9)};
    uint8_t out[128];
    struct webrtc_stun_build_options opt = {
        .type = WEBRTC_STUN_BINDING_SUCCESS,
        .txid = m.txid,
        .mapped = (const struct sockaddr *)&sa,
        .integrity_key = "k",
        .integrity_key_len = 1,
        .fingerprint = true,
    };
    int n = webrtc_stun_build(&opt, out, sizeof(out));
    struct webrtc_stun_msg back;
    if (n <= 0 || webrtc_stun_parse(out, (size_t)n, &back) != 0 ||
        webrtc_stun_check_integrity(out, &back, "k", 1) != 0 || memcmp(back.txid, m.txid, 12))
        __builtin_trap();
    return 0;
}
