/*
 * libFuzzer driver for the tracker (src/detect/track.c, with the Kalman
 * filter and the assignment solver): random options, boxes (also NaN,
 * infinite, inverted, outside the frame), scores, labels and times that
 * jump, stall and go back, then a flush.
 * Invariants: ids are non-zero, each reported NEW once and REMOVED at most
 * once, never reported after REMOVED nor before NEW; ids grow; boxes are
 * inside [0,1] with x0 <= x1 and y0 <= y1; states are valid; only NEW and
 * ACTIVE carry a score (in [low_score, 1]) or is_best; the report fits
 * det_tracker_report_max; every open track is REMOVED by the flush.
 */
#include "track.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

struct cursor {
    const uint8_t *p;
    size_t left;
};

static uint8_t byte(struct cursor *c)
{
    if (!c->left)
        return 0;
    c->left--;
    return *c->p++;
}

static float coord(struct cursor *c, int raw)
{
    if (raw && c->left >= 4) { /* any float at all */
        float f;
        memcpy(&f, c->p, 4);
        c->p += 4;
        c->left -= 4;
        return f;
    }
    return ((float)byte(c) - 16.0f) / 224.0f; /* a little outside [0,1] too */
}

#define IDS 512 /* ids tracked for the invariants; max_tracks and frames keep us under */
enum { UNSEEN, OPEN, ENDED };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = {data, size};
    uint8_t o1 = byte(&c), o2 = byte(&c), o3 = byte(&c);
    struct det_tracker_options o = {
        .max_tracks = 1 + o1 % 8,
        .confirm_hits = 1 + o2 % 3,
        .lost_seconds = 0.1 + (o2 >> 4) * 0.2,
        .stationary_seconds = 0.1 + (o3 % 16) * 0.1,
        .high_score = 0.3f + (float)(o3 >> 4) * 0.04f,
    };
    static const char *const names[] = {"person", "car"};
    o.label_names = names;
    o.label_count = 2;
    det_tracker *t = NULL;
    if (det_tracker_new(&o, &t, NULL) != 0)
        return 0;
    size_t cap = det_tracker_report_max(t);
    struct det_track *out = calloc(cap, sizeof(*out));
    uint8_t st[IDS] = {0};
    uint64_t max_id = 0;
    int64_t now = 0;
    struct det_box dets[40];

    for (int frame = 0; frame < 60 && c.left; frame++) {
        uint8_t h = byte(&c);
        int raw = h & 1;
        size_t n = (h >> 1) % 40;
        switch (byte(&c) % 8) { /* time: mostly forward, sometimes odd */
        case 0:
            now -= 100000;
            break;
        case 1:
            break;
        case 2:
            now += 5000000;
            break;
        default:
            now += (int64_t)byte(&c) * 4000;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            dets[i].x0 = coord(&c, raw);
            dets[i].y0 = coord(&c, raw);
            dets[i].x1 = coord(&c, raw);
            dets[i].y1 = coord(&c, raw);
            uint8_t s = byte(&c);
            dets[i].score = (float)s / 200.0f;
            dets[i].label = s & 1 ? 0 : (s & 2 ? 1 : 5);
        }
        size_t no = 0;
        check(det_tracker_update(t, dets, n, now, out, cap - 1, &no) == -ENOSPC);
        check(det_tracker_update(t, dets, n, now, out, cap, &no) == 0);
        check(no <= cap);
        for (size_t i = 0; i < no; i++) {
            const struct det_track *k = &out[i];
            check(k->id != 0 && k->id < IDS);
            check(k->state >= DET_TRACK_NEW && k->state <= DET_TRACK_REMOVED);
            check(k->box.x0 >= 0 && k->box.x0 <= k->box.x1 && k->box.x1 <= 1);
            check(k->box.y0 >= 0 && k->box.y0 <= k->box.y1 && k->box.y1 <= 1);
            check(k->label_name != NULL && k->zones == 0);
            int matched = k->state == DET_TRACK_NEW || k->state == DET_TRACK_ACTIVE;
            if (matched)
                check(k->score >= 0.1f && k->score <= 1);
            else
                check(k->score == 0 && !k->is_best);
            if (k->state == DET_TRACK_NEW) {
                check(st[k->id] == UNSEEN && k->id > max_id && k->is_best);
                max_id = k->id;
                st[k->id] = OPEN;
            } else {
                check(st[k->id] == OPEN);
            }
            if (k->state == DET_TRACK_REMOVED)
                st[k->id] = ENDED;
        }
    }
    size_t no = 0;
    check(det_tracker_flush(t, out, cap, &no) == 0);
    for (size_t i = 0; i < no; i++) {
        check(out[i].state == DET_TRACK_REMOVED && st[out[i].id] == OPEN);
        st[out[i].id] = ENDED;
    }
    for (size_t id = 0; id < IDS; id++)
        check(st[id] != OPEN);
    check(det_tracker_next_id(t) == max_id + 1);
    free(out);
    det_tracker_free(t);
    return 0;
}
