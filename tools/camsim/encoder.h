/*
 * Encoding the generated pattern with libavcodec (libx264/libx265, AAC).
 */
#ifndef HORUS_CAMSIM_ENCODER_H
#define HORUS_CAMSIM_ENCODER_H

#include "camsim.h"
#include "source.h"

typedef struct cs_encoder cs_encoder;

/*
 * Opens the encoders the options ask for and fills the codec, size, frame
 * rate and audio fields of info (parameter sets come later, from the first
 * keyframe). Returns 0 and a new encoder in *out, or HORUS_ECODEC.
 */
int cs_encoder_open(const cs_options *opt, cs_media_info *info, cs_encoder **out);

/*
 * Live mode: starts thread "cs-enc", which draws and encodes one picture per
 * frame interval (wall clock burnt in) and pushes access units into src
 * (borrowed; must outlive cs_encoder_stop). Returns 0 or -errno.
 */
int cs_encoder_start(cs_encoder *enc, cs_source *src);

/* Asks the live thread to stop and waits for it. No-op when not started. */
void cs_encoder_stop(cs_encoder *enc);

/*
 * Loop mode: encodes seconds of pattern at once into store, as fast as the
 * CPU allows; the clock shows start time plus the frame's offset. Returns 0
 * or HORUS_ECODEC.
 */
int cs_encoder_encode_loop(cs_encoder *enc, int seconds, cs_store *store);

/* Stops (if needed) and frees. NULL is a no-op. */
void cs_encoder_free(cs_encoder *enc);

#endif
