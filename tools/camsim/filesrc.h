/*
 * --source FILE: demux a media file into memory for replay, no re-encode.
 */
#ifndef HORUS_CAMSIM_FILESRC_H
#define HORUS_CAMSIM_FILESRC_H

#include "camsim.h"
#include "source.h"

/*
 * Reads every packet of the file's H.264/H.265 video stream (and its AAC
 * stream when want_audio) into store, in Annex B / raw AAC form, with
 * times relative to the first keyframe, and fills info (parameter sets
 * included). Returns 0, -errno or a libav failure as HORUS_ECODEC (with a
 * message on stderr naming the file).
 */
int cs_filesrc_load(const char *path, bool want_audio, cs_media_info *info, cs_store *store);

#endif
