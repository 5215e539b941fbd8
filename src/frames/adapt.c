/*
 * DESIGN: see adapt_int.h. The order of the steps follows what costs a
 * consumer least: a lower JPEG quality keeps every frame and its size,
 * a smaller picture keeps every frame, a lower rate loses frames. Going
 * down is quick (one step a second) because a backlog grows while we
 * wait; going up is slow (five clear seconds a step) and needs bytes well
 * under the budget, so that the controller does not flap between two
 * steps at its edge.
 */
#include "adapt_int.h"

static const struct frames_adapt_level levels[FRAMES_ADAPT_STEPS] = {
    {100, 100, 100}, {75, 100, 100}, {50, 100, 100}, {50, 75, 100},
    {50, 50, 100},   {50, 50, 50},   {50, 50, 25},
};

void frames_adapt_init(struct frames_adapt *a)
{
    *a = (struct frames_adapt){.step = 0, .clear_s = 0, .last_change_ms = INT64_MIN};
}

int frames_adapt_update(struct frames_adapt *a, const struct frames_adapt_input *in, int64_t now_ms)
{
    bool is_over = in->budget > 0 && in->bytes_per_s > in->budget;
    bool is_pressed = in->dropped > 0 || in->fill > 0.75 || is_over;
    bool is_clear = in->dropped == 0 && in->fill <= 0.25 &&
                    (in->budget <= 0 || in->bytes_per_s <= 0.7 * in->budget);
    if (is_pressed) {
        a->clear_s = 0;
        if (a->step + 1 < FRAMES_ADAPT_STEPS &&
            (a->last_change_ms == INT64_MIN || now_ms - a->last_change_ms >= 1000)) {
            a->step++;
            a->last_change_ms = now_ms;
            return 1;
        }
        return 0;
    }
    if (!is_clear || a->step == 0) {
        a->clear_s = 0;
        return 0;
    }
    if (++a->clear_s < FRAMES_ADAPT_CLEAR_S)
        return 0;
    a->clear_s = 0;
    a->step--;
    a->last_change_ms = now_ms;
    return -1;
}

struct frames_adapt_level frames_adapt_level_of(int step)
{
    if (step < 0)
        step = 0;
    if (step >= FRAMES_ADAPT_STEPS)
        step = FRAMES_ADAPT_STEPS - 1;
    return levels[step];
}

void frames_adapt_apply(int step, int quality, int max_width, double fps, int *quality_out,
                        int *width_out, double *fps_out)
{
    struct frames_adapt_level l = frames_adapt_level_of(step);
    int q = quality * l.quality_pct / 100;
    int qmin = quality < FRAMES_ADAPT_MIN_QUALITY ? quality : FRAMES_ADAPT_MIN_QUALITY;
    *quality_out = q < qmin ? qmin : q > 100 ? 100 : q;
    int w = max_width * l.width_pct / 100;
    int wmin = max_width < FRAMES_ADAPT_MIN_WIDTH ? max_width : FRAMES_ADAPT_MIN_WIDTH;
    *width_out = w < wmin ? wmin : w;
    *fps_out = fps * l.fps_pct / 100.0;
}

int frames_quality_to_qscale(int quality)
{
    if (quality < 1)
        quality = 1;
    if (quality > 100)
        quality = 100;
    return 2 + (100 - quality) * 29 / 99;
}
