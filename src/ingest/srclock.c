/*
 * DESIGN: the camera's clock from its RTCP sender reports, pure logic
 * (docs/design/0053-rtcp-clock.md).
 *
 * A sender report pairs the camera's NTP time with an RTP timestamp. The
 * timeline (timeline.c) gives the same RTP instant a server wall time
 * (ing_timeline_wall_of); their difference is one sample of the camera's
 * clock minus the server's. The samples are checked, filtered and kept as
 * `offset_us`, which the camera status shows. They never move wall_us:
 * recordings stay in server time (a camera whose NTP is off by minutes
 * must not shift its recordings by minutes), 0053 says why.
 *
 * A report is refused, and the caller counts it by reason, when:
 *   - its SSRC is not the RTP stream's (once that is known);
 *   - its NTP time is more than ING_SR_NTP_MAX_US (a day) from the
 *     server's clock when it arrived: a camera that never set its clock
 *     (1970, 2000, 2036) says nothing useful about it;
 *   - its RTP time is more than ING_SR_RTP_MAX_US from the stream's latest
 *     packet: the pair cannot describe the media being received;
 *   - its sample lies more than ING_SR_OUTLIER_US from the estimate (an
 *     outlier). ING_SR_REANCHOR outliers in a row that agree with each
 *     other (within the same bound) are a step of the camera's clock (NTP
 *     resynchronised): they replace the estimate.
 * Accepted samples are smoothed by 1/ING_SR_SMOOTH; the first one sets the
 * estimate. The same reports also give each track's epoch: the camera's NTP
 * time of the track's timeline time 0 (NTP minus the timeline time of the
 * RTP instant). Audio and video share one camera clock, so the difference
 * of their epochs is how far out of sync they are in the recordings, whose
 * A/V sync is carried by each track's dts (measured, not corrected: 0053).
 * Thread: the owner's only.
 */
#include "ingest_int.h"

#include <string.h>

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

const char *ing_sr_verdict_code(enum ing_sr_verdict v)
{
    switch (v) {
    case ING_SR_ACCEPTED:
        return "accepted";
    case ING_SR_REANCHORED:
        return "reanchored";
    case ING_SR_MALFORMED:
        return "malformed";
    case ING_SR_SSRC:
        return "ssrc";
    case ING_SR_NTP_RANGE:
        return "ntp_range";
    case ING_SR_RTP_RANGE:
        return "rtp_range";
    case ING_SR_OUTLIER:
        return "outlier";
    case ING_SR_VERDICTS:
        break;
    }
    return "unknown";
}

void ing_srclock_reset(struct ing_srclock *c)
{
    memset(c, 0, sizeof(*c));
}

/* An outlier: part of a run that may re-anchor the estimate. */
static enum ing_sr_verdict srclock_outlier(struct ing_srclock *c, int64_t sample, int64_t epoch)
{
    if (c->nout > 0 && abs64(sample - c->out_first_us) <= ING_SR_OUTLIER_US) {
        c->nout++;
        c->out_sum_us += sample;
        c->out_epoch_sum_us += epoch;
    } else {
        c->nout = 1;
        c->out_first_us = sample;
        c->out_sum_us = sample;
        c->out_epoch_sum_us = epoch;
    }
    if (c->nout < ING_SR_REANCHOR)
        return ING_SR_OUTLIER;
    c->offset_us = c->out_sum_us / (int64_t)c->nout;
    c->epoch_us = c->out_epoch_sum_us / (int64_t)c->nout;
    c->nout = 0;
    c->reanchors++;
    return ING_SR_REANCHORED;
}

enum ing_sr_verdict ing_srclock_add(struct ing_srclock *c, const struct ing_sr_input *in)
{
    if (in->has_stream_ssrc && in->ssrc != in->stream_ssrc)
        return ING_SR_SSRC;
    if (abs64(in->ntp_us - in->arrival_us) > ING_SR_NTP_MAX_US)
        return ING_SR_NTP_RANGE;
    if (abs64(in->rtp_delta_us) > ING_SR_RTP_MAX_US)
        return ING_SR_RTP_RANGE;
    int64_t sample = in->ntp_us - in->server_us;
    int64_t epoch = in->ntp_us - in->media_us;
    if (!c->has_offset) {
        c->has_offset = true;
        c->offset_us = sample;
        c->epoch_us = epoch;
        c->accepted++;
        return ING_SR_ACCEPTED;
    }
    if (abs64(sample - c->offset_us) > ING_SR_OUTLIER_US)
        return srclock_outlier(c, sample, epoch);
    c->nout = 0;
    c->offset_us += (sample - c->offset_us) / ING_SR_SMOOTH;
    c->epoch_us += (epoch - c->epoch_us) / ING_SR_SMOOTH;
    c->accepted++;
    return ING_SR_ACCEPTED;
}
