/*
 * MP4A-LATM (RFC 6416) for --audio-payload latm and latm-inband: the
 * StreamMuxConfig written from an AudioSpecificConfig, and AudioMuxElements.
 */
#ifndef HORUS_CAMSIM_LATM_H
#define HORUS_CAMSIM_LATM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes an element of a frame of n bytes may take (in-band config included). */
#define CS_LATM_OVERHEAD(n) ((n) / 255 + 96)

/*
 * Writes the StreamMuxConfig (audioMuxVersion 0, one program and layer,
 * one subframe, frameLengthType 0, no other data, no CRC) for asc, padded
 * to whole bytes, into out (cap bytes). Returns its length or 0 when it
 * does not fit.
 */
size_t cs_latm_config(const uint8_t *asc, size_t asc_len, uint8_t *out, size_t cap);

/*
 * Writes one AudioMuxElement holding frame into out (room for n +
 * CS_LATM_OVERHEAD(n) bytes): PayloadLengthInfo and the frame, preceded
 * with is_inband (cpresent=1) by useSameStreamMux 0 and the
 * StreamMuxConfig. Returns its length.
 */
size_t cs_latm_element(bool is_inband, const uint8_t *asc, size_t asc_len, const uint8_t *frame,
                       size_t n, uint8_t *out);

#endif
