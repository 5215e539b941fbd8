/*
 * Annex B byte-stream helpers for H.264 and H.265 access units.
 */
#ifndef HORUS_CAMSIM_NAL_H
#define HORUS_CAMSIM_NAL_H

#include "camsim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Finds the next NAL unit in buf at or after *pos. On true, *nal and
 * *nal_len name the unit without its start code and trailing zero bytes
 * (borrowed from buf) and *pos moves past it. Returns false at the end.
 */
bool cs_annexb_next(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **nal,
                    size_t *nal_len);

/* The NAL unit type of nal (at least 1 byte for H.264, 2 for H.265). */
int cs_nal_type(enum cs_codec codec, const uint8_t *nal);

/* True for access unit delimiters, which camsim never sends. */
bool cs_nal_is_aud(enum cs_codec codec, int type);

#endif
