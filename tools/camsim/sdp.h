/*
 * Session description for DESCRIBE replies.
 */
#ifndef HORUS_CAMSIM_SDP_H
#define HORUS_CAMSIM_SDP_H

#include "camsim.h"

/*
 * Returns a new NUL-terminated SDP describing info: one H.264/H.265 video
 * track (control trackID=0) with its parameter sets, and an AAC track
 * (trackID=1) when info->has_audio. Free with free().
 */
char *cs_sdp_new(const cs_media_info *info);

#endif
