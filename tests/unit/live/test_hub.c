/*
 * Tests for src/live/hub.c and playlist.c without sockets: segmentation
 * on keyframe parts, numbering, discontinuities and new maps, eviction by
 * count and by bytes, the plain playlist, detach/attach, and the exact
 * playlist text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "live_fake.h"

#include <stdlib.h>

struct fixture {
    metrics_registry *reg;
    live_hub *hub;
    media_part_sink *sink;
    struct live_stream *s;
    struct fake_src src;
};

static int setup_with(void **state, size_t max_bytes)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->reg = metrics_registry_new();
    struct live_hub_options o = {.part_target_ms = 200,
                                 .segment_target_ms = 2000,
                                 .segments_kept = 3,
                                 .max_stream_bytes = max_bytes,
                                 .metrics = f->reg};
    assert_int_equal(live_hub_new(&o, &f->hub), 0);
    assert_int_equal(live_hub_start(f->hub), 0);
    f->sink = live_hub_attach(f->hub, "cam1", "main");
    f->s = live_hub_find(f->hub, "cam1", "main");
    assert_non_null(f->s);
    live_camera_seen(f->s->cam, "127.0.0.1", clock_monotonic_ns(clock_system())); /* watched */
    fake_src_init(&f->src, 1, 'a');
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 0);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    live_hub_stop(f->hub);
    live_hub_free(f->hub);
    fake_src_release(&f->src);
    metrics_registry_free(f->reg);
    free(f);
    assert_int_equal(media_live_parts(), 0);
    assert_int_equal(media_live_inits(), 0);
    assert_int_equal(media_live_streams(), 0);
    assert_int_equal(live_live_blobs(), 0);
    return 0;
}

static char *render(struct fixture *f, bool is_legacy)
{
    pthread_mutex_lock(&f->s->lock);
    struct live_blob *b = live_playlist_render(f->hub, f->s, is_legacy, NULL, NULL);
    pthread_mutex_unlock(&f->s->lock);
    char *text = strdup(b->data);
    assert_int_equal(strlen(text), b->len);
    live_blob_unref(b);
    return text;
}

static void assert_has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("playlist lacks '%s':\n%s", needle, text);
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_segments_start_on_keyframe_parts_after_the_target(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 15); /* 3 s: GOPs at 0, 1, 2 s */
    struct live_stream *s = f->s;
    assert_int_equal(s->n_segs, 2);
    assert_int_equal(s->segs[0].msn, 0);
    assert_true(s->segs[0].is_complete);
    assert_int_equal(s->segs[0].n_parts, 10);
    assert_int_equal(s->segs[0].duration, 2 * 90000);
    assert_int_equal(s->segs[1].msn, 1);
    assert_false(s->segs[1].is_complete);
    assert_int_equal(s->segs[1].n_parts, 5);
    assert_int_equal(s->segs[1].first_seq, 10);
    for (size_t i = 0; i < s->n_parts; i++) {
        assert_int_equal(s->parts[i].seq, i);
        assert_int_equal(s->parts[i].index, i % 10);
    }
    assert_int_equal(s->next_seq, 15);
    assert_int_equal(live_stream_last_msn(s), 1);
    /* What a blocking reload waits for. */
    assert_true(live_stream_has(s, 0, -1));
    assert_true(live_stream_has(s, 0, 12)); /* a later segment exists */
    assert_true(live_stream_has(s, 1, 4));
    assert_false(live_stream_has(s, 1, 5));
    assert_false(live_stream_has(s, 1, -1));
    assert_false(live_stream_has(s, 2, 0));
}

static void test_ll_playlist_text(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 13);
    char *t = render(f, false);
    char want[4096];
    snprintf(want, sizeof(want),
             "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n"
             "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600\n"
             "#EXT-X-PART-INF:PART-TARGET=0.200\n"
             "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
             "#EXT-X-INDEPENDENT-SEGMENTS\n"
             "#EXT-X-MAP:URI=\"init/%s-1.mp4\"\n"
             "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"part/%s-0.m4s\",INDEPENDENT=YES\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"part/%s-1.m4s\"\n",
             f->hub->run, f->hub->run, f->hub->run);
    if (strncmp(t, want, strlen(want)) != 0)
        fail_msg("playlist starts differently:\n%s\nwanted:\n%s", t, want);
    char line[256];
    snprintf(line, sizeof(line), "#EXTINF:2.00000,\nsegment/%s-0.m4s\n", f->hub->run);
    assert_has(t, line);
    assert_has(t, "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:02.000Z\n");
    snprintf(line, sizeof(line), "URI=\"part/%s-10.m4s\",INDEPENDENT=YES\n", f->hub->run);
    assert_has(t, line);
    snprintf(line, sizeof(line), "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part/%s-13.m4s\"\n",
             f->hub->run);
    assert_has(t, line);
    assert_int_equal(count(t, "#EXT-X-PART:"), 13);
    assert_int_equal(count(t, "INDEPENDENT=YES"), 3);
    assert_int_equal(count(t, "#EXTINF"), 1); /* the open segment has parts only */
    assert_int_equal(count(t, "#EXT-X-MAP"), 1);
    assert_int_equal(count(t, "#EXT-X-DISCONTINUITY\n"), 0);
    free(t);
}

static void test_plain_playlist_lists_complete_segments_only(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 25);
    char *t = render(f, true);
    assert_has(t, "#EXT-X-VERSION:7\n");
    assert_int_equal(count(t, "#EXTINF:2.00000,"), 2);
    assert_int_equal(count(t, "#EXT-X-PART"), 0);
    assert_int_equal(count(t, "PRELOAD-HINT"), 0);
    assert_int_equal(count(t, "SERVER-CONTROL"), 0);
    assert_int_equal(count(t, "#EXT-X-PROGRAM-DATE-TIME"), 2);
    free(t);
}

static void test_parts_before_the_first_keyframe_are_dropped(void **state)
{
    struct fixture *f = *state;
    f->src.n = 2; /* start mid-GOP */
    fake_publish(&f->src, f->sink, 3);
    assert_int_equal(f->s->n_segs, 0);
    assert_int_equal(f->s->parts_dropped, 3);
    fake_publish(&f->src, f->sink, 1); /* the keyframe part */
    assert_int_equal(f->s->n_segs, 1);
    assert_int_equal(f->s->parts[0].seq, 0);
    assert_true(f->s->parts[0].mp->is_independent);
}

static void test_new_init_bytes_bring_a_discontinuity_and_a_new_map(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 7); /* open segment 0 with 7 parts */
    struct fake_src other;
    fake_src_init(&other, 1, 'b'); /* same epoch, new codec parameters */
    other.dts = f->src.dts; /* continuous in time */
    fake_publish(&other, f->sink, 5);
    assert_int_equal(f->s->n_segs, 2);
    assert_true(f->s->segs[0].is_complete); /* closed early at the change */
    assert_int_equal(f->s->segs[0].n_parts, 7);
    assert_int_equal(f->s->segs[1].init_id, 2);
    assert_int_equal(f->s->segs[1].disc_seq, 1);
    char *t = render(f, false);
    assert_int_equal(count(t, "#EXT-X-DISCONTINUITY\n"), 1);
    assert_int_equal(count(t, "#EXT-X-MAP"), 2);
    char map[128];
    snprintf(map, sizeof(map), "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init/%s-2.mp4\"\n",
             f->hub->run);
    assert_has(t, map);
    free(t);
    fake_src_release(&other);
}

/* ftyp + moov{free(tag), udta{hrst(start_us)}}: the shape of a recorded file's init. */
static media_init *init_with_start(media_stream *video, char tag, uint64_t start_us)
{
    uint8_t b[64] = {0,   0,   0,   16,  'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0,   0,
                     2,   0,   0,   0,   0,   48,  'm', 'o', 'o', 'v', 0,   0,   0,   12,
                     'f', 'r', 'e', 'e', 0,   0,   0,   0,   0,   0,   0,   28,  'u', 'd',
                     't', 'a', 0,   0,   0,   20,  'h', 'r', 's', 't', 0,   0,   0,   0};
    b[35] = (uint8_t)tag;
    for (int i = 0; i < 8; i++)
        b[56 + i] = (uint8_t)(start_us >> (56 - 8 * i));
    return media_init_new(b, sizeof(b), &video, 1);
}

static void use_init(struct fake_src *src, media_init *init)
{
    media_init_unref(src->init);
    src->init = init;
}

static void test_a_new_file_of_the_same_codec_keeps_the_map(void **state)
{
    struct fixture *f = *state;
    /* Each recorded file brings its own init, differing only in hrst (its start time). */
    use_init(&f->src, init_with_start(f->src.video, 'a', 1000000));
    fake_publish(&f->src, f->sink, 7);
    use_init(&f->src, init_with_start(f->src.video, 'a', 2400000));
    fake_publish(&f->src, f->sink, 8);
    use_init(&f->src, init_with_start(f->src.video, 'a', 4400000));
    fake_publish(&f->src, f->sink, 10);
    assert_int_equal(f->s->n_segs, 3);
    assert_int_equal(f->s->segs[0].n_parts, 10); /* not closed early at a new file */
    for (size_t i = 0; i < f->s->n_segs; i++) {
        assert_int_equal(f->s->segs[i].init_id, 1);
        assert_int_equal(f->s->segs[i].disc_seq, 0);
    }
    char *t = render(f, false);
    assert_int_equal(count(t, "#EXT-X-DISCONTINUITY\n"), 0);
    assert_int_equal(count(t, "#EXT-X-MAP"), 1);
    free(t);
    /* Other bytes outside hrst (codec data): a new map and a discontinuity. */
    use_init(&f->src, init_with_start(f->src.video, 'b', 4400000));
    fake_publish(&f->src, f->sink, 5);
    assert_int_equal(f->s->segs[f->s->n_segs - 1].init_id, 2);
    t = render(f, false);
    assert_int_equal(count(t, "#EXT-X-DISCONTINUITY\n"), 1);
    assert_int_equal(count(t, "#EXT-X-MAP"), 2);
    free(t);
}

static double part_target_of(const char *t)
{
    const char *p = strstr(t, "PART-TARGET=");
    assert_non_null(p);
    return strtod(p + strlen("PART-TARGET="), NULL);
}

static void test_part_target_keeps_regular_parts_within_85_percent(void **state)
{
    struct fixture *f = *state;
    /* 0.2 s parts, and one of 0.32 s (frames missing) in the middle of a GOP. */
    fake_publish(&f->src, f->sink, 7);
    media_part *p = fake_part_next(&f->src);
    p->duration = 28800;
    f->src.dts += 28800 - FAKE_PART_TICKS;
    f->sink->ops->part_cb(f->sink, p);
    media_part_unref(p);
    fake_publish(&f->src, f->sink, 7);
    char *t = render(f, false);
    double target = part_target_of(t);
    /* Before: the longest part ever (0.320), so every 0.2 s part fell under 85% of it. */
    assert_true(target * 0.85 <= 0.2 + 1e-9);
    assert_true(target >= 0.2);
    free(t);
    /* Once that part leaves the listed segments, the target is the parts' own 0.200. */
    fake_publish(&f->src, f->sink, 40);
    t = render(f, false);
    assert_has(t, "#EXT-X-PART-INF:PART-TARGET=0.200\n");
    free(t);
}

static void test_a_reconnect_or_a_time_jump_is_a_discontinuity_without_a_new_map(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 5);
    /* Same parameters, new epoch (a reconnect): same init bytes. */
    struct fake_src again;
    fake_src_init(&again, 2, 'a');
    again.dts = f->src.dts;
    fake_publish(&again, f->sink, 5);
    /* Same epoch, a 3 s hole in time. */
    again.dts += 3 * 90000;
    again.n = 0;
    fake_publish(&again, f->sink, 5);
    assert_int_equal(f->s->n_segs, 3);
    assert_int_equal(f->s->segs[1].disc_seq, 1);
    assert_int_equal(f->s->segs[2].disc_seq, 2);
    assert_int_equal(f->s->segs[2].init_id, 1);
    char *t = render(f, false);
    assert_int_equal(count(t, "#EXT-X-DISCONTINUITY\n"), 2);
    assert_int_equal(count(t, "#EXT-X-MAP"), 1);
    assert_has(t, "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:05.000Z\n");
    free(t);
    fake_src_release(&again);
}

static void test_old_segments_are_evicted_and_numbers_keep_growing(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 100); /* 20 s */
    struct live_stream *s = f->s;
    assert_int_equal(s->n_segs, 4); /* 3 kept + the open one */
    assert_int_equal(s->segs[0].msn, 6);
    assert_int_equal(s->parts[0].seq, 60);
    assert_int_equal(s->n_parts, 40);
    assert_int_equal(media_live_parts(), 40);
    char *t = render(f, false);
    assert_has(t, "#EXT-X-MEDIA-SEQUENCE:6\n");
    assert_int_equal(count(t, "#EXTINF"), 3);
    /* Parts are listed for the last three segments only. */
    assert_int_equal(count(t, "#EXT-X-PART:"), 30);
    free(t);
}

static void test_detach_drops_media_and_attach_continues_numbering(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 12);
    live_hub_detach(f->hub, "cam1", "main");
    assert_int_equal(f->s->n_segs, 0);
    assert_int_equal(media_live_parts(), 0);
    fake_publish(&f->src, f->sink, 5); /* ignored while detached */
    assert_int_equal(f->s->n_segs, 0);
    f->sink = live_hub_attach(f->hub, "cam1", "main");
    f->src.n = 0;
    fake_publish(&f->src, f->sink, 3);
    assert_int_equal(f->s->segs[0].msn, 2);
    assert_int_equal(f->s->parts[0].seq, 12);
    assert_int_equal(f->s->segs[0].disc_seq, 1);
}

static void test_a_restart_never_publishes_old_parts_to_new_viewers(void **state)
{
    struct fixture *f = *state;
    /* The recorder's segment opened under the first attachment and kept its sink. */
    media_part_sink *old = f->sink;
    fake_publish(&f->src, old, 7);
    /* The camera restarts: detach, then the new pipeline attaches. */
    live_hub_detach(f->hub, "cam1", "main");
    media_part_sink *fresh = live_hub_attach(f->hub, "cam1", "main");
    assert_ptr_not_equal(fresh, old);
    /* The old segment closes on the recorder thread and publishes its last parts. */
    f->src.n = 0; /* a keyframe part: it would open a segment if it got in */
    fake_publish(&f->src, old, 3);
    assert_int_equal(f->s->n_parts, 0);
    assert_int_equal(f->s->n_segs, 0);
    assert_int_equal(f->s->parts_stale, 3);
    assert_int_equal(media_live_parts(), 0);
    /* The new segment's parts do get through. */
    struct fake_src src;
    fake_src_init(&src, 2, 'b');
    fake_publish(&src, fresh, 3);
    assert_int_equal(f->s->n_parts, 3);
    assert_int_equal(f->s->parts_stale, 3);
    fake_src_release(&src);
}

static void test_sub_stream_uris_carry_the_stream(void **state)
{
    struct fixture *f = *state;
    media_part_sink *sub = live_hub_attach(f->hub, "cam1", "sub");
    assert_ptr_not_equal(sub, f->sink);
    struct fake_src src;
    fake_src_init(&src, 1, 's');
    fake_publish(&src, sub, 3);
    struct live_stream *s = live_hub_find(f->hub, "cam1", "sub");
    pthread_mutex_lock(&s->lock);
    struct live_blob *b = live_playlist_render(f->hub, s, false, NULL, NULL);
    pthread_mutex_unlock(&s->lock);
    char want[128];
    snprintf(want, sizeof(want), "URI=\"part/%s-0.m4s?stream=sub\",INDEPENDENT=YES", f->hub->run);
    assert_has(b->data, want);
    assert_has(b->data, ".mp4?stream=sub\"");
    live_blob_unref(b);
    fake_src_release(&src);
    assert_null(live_hub_find(f->hub, "cam1", "other"));
    assert_null(live_hub_find(f->hub, "cam2", "main"));
}

static void test_an_unwatched_camera_keeps_one_segment(void **state)
{
    struct fixture *f = *state;
    atomic_store(&f->s->cam->last_seen_ns, 0);
    fake_publish(&f->src, f->sink, 40);
    assert_int_equal(f->s->n_segs, 2); /* one complete and the open one */
    assert_true(f->s->segs[0].is_complete);
    live_camera_seen(f->s->cam, "10.0.0.1", clock_monotonic_ns(clock_system()));
    fake_publish(&f->src, f->sink, 40);
    assert_int_equal(f->s->n_segs, 4); /* watched: three again */
}

static void test_memory_cap_drops_oldest_segments(void **state)
{
    struct fixture *f = *state;
    /* Each fake part is ~20 bytes: 10 parts per segment, so a 500-byte cap keeps ~2. */
    fake_publish(&f->src, f->sink, 60);
    assert_true(f->s->bytes <= 500);
    assert_true(f->s->n_segs >= 2);
    assert_true(f->s->segs[f->s->n_segs - 2].is_complete);
}

static int setup_small(void **state)
{
    return setup_with(state, 500);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_segments_start_on_keyframe_parts_after_the_target),
        T(test_ll_playlist_text),
        T(test_plain_playlist_lists_complete_segments_only),
        T(test_parts_before_the_first_keyframe_are_dropped),
        T(test_new_init_bytes_bring_a_discontinuity_and_a_new_map),
        T(test_a_reconnect_or_a_time_jump_is_a_discontinuity_without_a_new_map),
        T(test_a_new_file_of_the_same_codec_keeps_the_map),
        T(test_part_target_keeps_regular_parts_within_85_percent),
        T(test_old_segments_are_evicted_and_numbers_keep_growing),
        T(test_detach_drops_media_and_attach_continues_numbering),
        T(test_a_restart_never_publishes_old_parts_to_new_viewers),
        T(test_sub_stream_uris_carry_the_stream),
        T(test_an_unwatched_camera_keeps_one_segment),
        cmocka_unit_test_setup_teardown(test_memory_cap_drops_oldest_segments, setup_small,
                                        teardown),
    };
    return cmocka_run_group_tests_name("live.hub", tests, NULL, NULL);
}
