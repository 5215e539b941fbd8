/*
 * Annex B access units in camsim: start codes and NAL types are
 * media_bitstream.h's (src/media); this maps camsim's codecs onto it.
 */
#ifndef HORUS_CAMSIM_NAL_H
#define HORUS_CAMSIM_NAL_H

#include "camsim.h"
#include "media_bitstream.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The media_codec of a camsim video codec, for media_bitstream.h. */
static inline enum media_codec cs_media_codec(enum cs_codec codec)
{
    return codec == CS_CODEC_H264 ? MEDIA_CODEC_H264 : MEDIA_CODEC_H265;
}

#endif
