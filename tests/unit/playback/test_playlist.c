/*
 * Tests for src/playback/playlist.c on synthetic part indexes: grouping
 * parts into keyframe-aligned byte-range segments, exact EXTINF, start
 * snapping and end at part granularity, discontinuities at holes and at
 * codec changes, EVENT playlists, empty answers, a media token on every
 * URI; then pb_playlist_read over a real SQLite index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "playback.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((int64_t)((x)*1000000.0))
/* 2026-03-04T00:00:00Z */
#define T0 INT64_C(1772582400000000)
#define INIT 1000
#define PART 100

/* n parts of 1 s each, 100 bytes, a keyframe every gop parts (gop 0: none but the first). */
static struct sto_part *make_parts(size_t n, size_t gop)
{
    struct sto_part *p = calloc(n, sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        p[i].offset = INIT + i * PART;
        p[i].size_bytes = PART;
        p[i].start_90k = (int64_t)i * 90000;
        p[i].duration_90k = 90000;
        p[i].is_keyframe = gop ? i % gop == 0 : i == 0;
    }
    return p;
}

static struct pb_file make_file(int64_t start_us, const char *uri, struct sto_part *parts, size_t n)
{
    return (struct pb_file){
        .start_us = start_us,
        .end_us = start_us + (int64_t)n * 1000000,
        .uri = uri,
        .codec = "avc1.64001f",
        .width = 640,
        .height = 360,
        .init_bytes = INIT,
        .parts = parts,
        .nparts = n,
    };
}

static char *render(const struct pb_file *f, size_t n, int64_t start, int64_t end, bool is_event,
                    struct pb_playlist_info *info)
{
    char *out = NULL;
    size_t len = 0;
    struct pb_playlist_options o = {.start_us = start, .end_us = end, .is_event = is_event};
    pb_playlist_render(f, n, &o, &out, &len, info);
    assert_int_equal(strlen(out), len);
    return out;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_parts_group_into_keyframe_segments_of_about_four_seconds(void **state)
{
    struct sto_part *p = make_parts(10, 2);
    struct pb_file f = make_file(T0, "recordings/main/1.mp4", p, 10);
    struct pb_playlist_info info;
    char *text = render(&f, 1, T0, T0 + S(60), false, &info);
    const char *want = "#EXTM3U\n"
                       "#EXT-X-VERSION:6\n"
                       "#EXT-X-TARGETDURATION:4\n"
                       "#EXT-X-MEDIA-SEQUENCE:0\n"
                       "#EXT-X-PLAYLIST-TYPE:VOD\n"
                       "#EXT-X-INDEPENDENT-SEGMENTS\n"
                       "#EXT-X-MAP:URI=\"recordings/main/1.mp4?m=0\",BYTERANGE=\"1000@0\"\n"
                       "#EXT-X-PROGRAM-DATE-TIME:2026-03-04T00:00:00.000Z\n"
                       "#EXTINF:4.000000,\n"
                       "#EXT-X-BYTERANGE:400@1000\n"
                       "recordings/main/1.mp4?m=0\n"
                       "#EXTINF:4.000000,\n"
                       "#EXT-X-BYTERANGE:400@1400\n"
                       "recordings/main/1.mp4?m=0\n"
                       "#EXTINF:2.000000,\n"
                       "#EXT-X-BYTERANGE:200@1800\n"
                       "recordings/main/1.mp4?m=0\n"
                       "#EXT-X-ENDLIST\n";
    assert_string_equal(text, want);
    assert_int_equal(info.segments, 3);
    assert_int_equal(info.files, 1);
    assert_int_equal(info.discontinuities, 0);
    assert_int_equal(info.duration_90k, 10 * 90000);
    assert_int_equal(info.first_us, T0);
    free(text);
    free(p);
}

static void test_start_snaps_back_to_a_keyframe_and_end_cuts_at_parts(void **state)
{
    struct sto_part *p = make_parts(10, 2);
    struct pb_file f = make_file(T0, "f.mp4", p, 10);
    struct pb_playlist_info info;
    /* 5.5 s is inside the GOP that starts at 4 s; 7.5 s keeps parts starting at 5, 6 and 7. */
    char *text = render(&f, 1, T0 + S(5.5), T0 + S(7.5), false, &info);
    assert_non_null(strstr(text, "#EXT-X-PROGRAM-DATE-TIME:2026-03-04T00:00:04.000Z\n"
                                 "#EXTINF:4.000000,\n#EXT-X-BYTERANGE:400@1400\n"));
    assert_int_equal(info.segments, 1);
    assert_int_equal(info.first_us, T0 + S(4));
    free(text);
    /* End on a part boundary excludes the part that starts there. */
    text = render(&f, 1, T0, T0 + S(3), false, &info);
    assert_non_null(strstr(text, "#EXTINF:3.000000,\n#EXT-X-BYTERANGE:300@1000\n"));
    free(text);
    free(p);
}

static void test_a_start_before_the_first_recording_begins_with_it(void **state)
{
    struct sto_part *p = make_parts(4, 2);
    struct pb_file f = make_file(T0 + S(30), "f.mp4", p, 4);
    struct pb_playlist_info info;
    char *text = render(&f, 1, T0, T0 + S(60), false, &info);
    assert_int_equal(info.segments, 1);
    assert_int_equal(info.first_us, T0 + S(30));
    assert_int_equal(count(text, "#EXT-X-DISCONTINUITY"), 0);
    free(text);
    free(p);
}

static void test_contiguous_files_continue_and_holes_are_discontinuities(void **state)
{
    struct sto_part *p = make_parts(4, 4);
    struct pb_file f[3] = {
        make_file(T0, "a.mp4", p, 4), make_file(T0 + S(4), "b.mp4", p, 4), /* contiguous */
        make_file(T0 + S(8.5), "c.mp4", p, 4), /* a 500 ms hole */
    };
    struct pb_playlist_info info;
    char *text = render(f, 3, T0, T0 + S(60), false, &info);
    assert_int_equal(info.segments, 3);
    assert_int_equal(info.files, 3);
    assert_int_equal(info.discontinuities, 1);
    assert_int_equal(count(text, "#EXT-X-MAP:"), 3);
    assert_int_equal(count(text, "#EXT-X-PROGRAM-DATE-TIME:"), 3);
    const char *disc = strstr(text, "#EXT-X-DISCONTINUITY\n");
    assert_non_null(disc);
    assert_true(disc > strstr(text, "b.mp4") && disc < strstr(text, "c.mp4"));
    assert_non_null(strstr(disc, "#EXT-X-PROGRAM-DATE-TIME:2026-03-04T00:00:08.500Z\n"));
    free(text);
    free(p);
}

static void test_a_codec_or_size_change_is_a_discontinuity(void **state)
{
    struct sto_part *p = make_parts(4, 4);
    struct pb_file f[3] = {
        make_file(T0, "a.mp4", p, 4),
        make_file(T0 + S(4), "b.mp4", p, 4),
        make_file(T0 + S(8), "c.mp4", p, 4),
    };
    f[1].codec = "hvc1.1.6.L93.B0";
    f[2].codec = "hvc1.1.6.L93.B0";
    f[2].width = 1280;
    struct pb_playlist_info info;
    char *text = render(f, 3, T0, T0 + S(60), false, &info);
    assert_int_equal(info.discontinuities, 2);
    free(text);
    free(p);
}

static void test_a_hole_inside_a_file_skips_to_the_next_keyframe(void **state)
{
    struct sto_part *p = make_parts(8, 2);
    for (size_t i = 3; i < 8; i++) /* parts from 3 on start 2 s late */
        p[i].start_90k += 2 * 90000;
    struct pb_file f = make_file(T0, "f.mp4", p, 8);
    struct pb_playlist_info info;
    char *text = render(&f, 1, T0, T0 + S(60), false, &info);
    /* Parts 0-2, then part 3 (no keyframe) is skipped, then 4-7 after a discontinuity. */
    assert_int_equal(info.discontinuities, 1);
    assert_non_null(strstr(text, "#EXTINF:3.000000,\n#EXT-X-BYTERANGE:300@1000\n"));
    assert_non_null(strstr(text, "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:"
                                 "2026-03-04T00:00:06.000Z\n#EXTINF:4.000000,\n"
                                 "#EXT-X-BYTERANGE:400@1400\n"));
    assert_int_equal(info.duration_90k, 7 * 90000);
    free(text);
    free(p);
}

static void test_without_keyframe_parts_a_file_is_one_segment(void **state)
{
    struct sto_part *p = make_parts(12, 0);
    struct pb_file f = make_file(T0, "f.mp4", p, 12);
    struct pb_playlist_info info;
    char *text = render(&f, 1, T0 + S(7), T0 + S(60), false, &info);
    assert_int_equal(info.segments, 1);
    assert_non_null(strstr(text, "#EXT-X-TARGETDURATION:12\n"));
    assert_non_null(strstr(text, "#EXTINF:12.000000,\n#EXT-X-BYTERANGE:1200@1000\n"));
    free(text);
    free(p);
}

static void test_target_duration_is_the_rounded_longest_segment(void **state)
{
    struct sto_part *p = make_parts(10, 8);
    for (size_t i = 0; i < 10; i++) {
        p[i].duration_90k = 49500; /* 0.55 s */
        p[i].start_90k = (int64_t)i * 49500;
    }
    struct pb_file f = make_file(T0, "f.mp4", p, 10);
    char *text = render(&f, 1, T0, T0 + S(60), false, NULL);
    /* A GOP of 8 parts is 4.4 s, which rounds to 4 (RFC 8216 §4.3.3.1). */
    assert_non_null(strstr(text, "#EXT-X-TARGETDURATION:4\n"));
    assert_non_null(strstr(text, "#EXTINF:4.400000,\n#EXT-X-BYTERANGE:800@1000\n"));
    assert_non_null(strstr(text, "#EXTINF:1.100000,\n#EXT-X-BYTERANGE:200@1800\n"));
    free(text);
    free(p);
}

static void test_event_playlists_have_no_endlist_and_a_stable_target(void **state)
{
    struct sto_part *p = make_parts(4, 2);
    struct pb_file f = make_file(T0, "f.mp4", p, 4);
    char *text = render(&f, 1, T0, T0 + S(3600), true, NULL);
    assert_non_null(strstr(text, "#EXT-X-PLAYLIST-TYPE:EVENT\n"));
    assert_non_null(strstr(text, "#EXT-X-TARGETDURATION:10\n"));
    assert_null(strstr(text, "ENDLIST"));
    free(text);
    free(p);
}

static void test_no_recording_in_range_renders_no_segment(void **state)
{
    struct pb_playlist_info info;
    char *text = render(NULL, 0, T0, T0 + S(60), false, &info);
    assert_int_equal(info.segments, 0);
    assert_int_equal(info.first_us, 0);
    assert_non_null(strstr(text, "#EXT-X-ENDLIST\n"));
    free(text);
    struct sto_part *p = make_parts(4, 2);
    struct pb_file f = make_file(T0 + S(100), "f.mp4", p, 4);
    text = render(&f, 1, T0, T0 + S(60), false, &info); /* the file starts after the end */
    assert_int_equal(info.segments, 0);
    free(text);
    free(p);
}

/* ---- over a real index ---- */

static void insert(struct sto_fixture *f, int64_t start_us, const char *codec, size_t nparts)
{
    struct sto_part *p = make_parts(nparts, 2);
    uint8_t *blob;
    size_t blob_size;
    assert_int_equal(sto_index_encode(p, nparts, &blob, &blob_size), 0);
    struct sto_recording_input r = {.camera_id = "cam",
                                    .stream = "main",
                                    .start_us = start_us,
                                    .end_us = start_us + (int64_t)nparts * 1000000,
                                    .path = "recordings/x.mp4",
                                    .bytes = INIT + nparts * PART,
                                    .codec = codec,
                                    .width = 640,
                                    .height = 360,
                                    .sha256 = "00",
                                    .fragments = blob,
                                    .fragments_size = blob_size};
    assert_int_equal(sto_recording_insert_async(f->db, &r, NULL, NULL), 0);
    free(blob);
    free(p);
}

static void test_read_renders_rows_of_the_index_with_their_uris(void **state)
{
    struct sto_fixture *f = *state;
    insert(f, T0, "avc1.64001f", 6);
    insert(f, T0 + S(6), "avc1.64001f", 6);
    insert(f, T0 + S(20), "avc1.64001f", 6);
    /* A row whose index is garbage is left out. */
    struct sto_recording_input bad = {.camera_id = "cam",
                                      .stream = "main",
                                      .start_us = T0 + S(30),
                                      .end_us = T0 + S(36),
                                      .path = "recordings/y.mp4",
                                      .codec = "avc1.64001f",
                                      .sha256 = "",
                                      .fragments = (const uint8_t *)"\x09zz",
                                      .fragments_size = 3};
    assert_int_equal(sto_recording_insert_async(f->db, &bad, NULL, NULL), 0);
    assert_int_equal(sto_setting_put(f->db, "barrier", "1"), 0);
    char *text;
    size_t len;
    struct pb_playlist_info info;
    struct pb_playlist_options o = {.start_us = T0 + S(7.5), .end_us = T0 + S(40)};
    assert_int_equal(pb_playlist_read(f->db, "cam", "main", &o, &text, &len, &info), 0);
    char uri[64];
    snprintf(uri, sizeof(uri),
             "#EXT-X-MAP:URI=\"recordings/main/%lld.mp4?m=", (long long)(T0 + S(6)));
    assert_non_null(strstr(text, uri));
    assert_int_equal(info.files, 2);
    assert_int_equal(info.discontinuities, 1);
    assert_int_equal(info.first_us, T0 + S(6)); /* the keyframe at or before 7.5 s */
    free(text);
    o = (struct pb_playlist_options){.start_us = T0 - S(100), .end_us = T0 - S(50)};
    assert_int_equal(pb_playlist_read(f->db, "cam", "main", &o, &text, &len, &info), 0);
    assert_int_equal(info.segments, 0);
    free(text);
}

/* ---- the segment being written (docs/design/0032) ---- */

static void test_an_open_file_lists_only_segments_that_cannot_grow(void **state)
{
    /* 10 s written so far, keyframe every 2 s: segments [0,4) and [4,8) are cut by a
     * keyframe part; [8,10) may still grow and is held back. */
    struct sto_part *p = make_parts(10, 2);
    struct pb_file f = make_file(T0, "f.mp4", p, 10);
    f.is_open = true;
    struct pb_playlist_info info;
    char *text = render(&f, 1, T0, T0 + S(3600), true, &info);
    assert_int_equal(info.segments, 2);
    assert_int_equal(info.files, 1);
    assert_int_equal(info.duration_90k, 8 * 90000);
    assert_null(strstr(text, "#EXT-X-BYTERANGE:200@1800\n"));
    assert_null(strstr(text, "#EXT-X-ENDLIST"));
    /* Three seconds later the file has grown: the old lines stay, in order, and more follow. */
    struct sto_part *p2 = make_parts(13, 2);
    struct pb_file f2 = make_file(T0, "f.mp4", p2, 13);
    f2.is_open = true;
    char *text2 = render(&f2, 1, T0, T0 + S(3600), true, &info);
    assert_int_equal(info.segments, 3);
    const char *tail = strstr(text, "#EXT-X-MAP");
    assert_non_null(tail);
    assert_non_null(strstr(text2, tail)); /* everything listed before is a prefix */
    assert_non_null(strstr(text2, "#EXTINF:4.000000,\n#EXT-X-BYTERANGE:400@1800\n"));
    free(text2);
    free(p2);
    /* Once a part starts at or after the range's end, the last segment is complete. */
    text2 = render(&f, 1, T0, T0 + S(9), false, &info);
    assert_int_equal(info.segments, 3);
    assert_int_equal(info.duration_90k, 9 * 90000);
    free(text2);
    /* Closed, the same file lists its last segment whole. */
    f.is_open = false;
    text2 = render(&f, 1, T0, T0 + S(3600), false, &info);
    assert_int_equal(info.segments, 3);
    free(text2);
    free(text);
    free(p);
}

static void test_an_open_file_reaches_an_end_once_a_part_starts_there(void **state)
{
    struct sto_part *p = make_parts(10, 2); /* parts start at 0..9 s */
    struct pb_file f = make_file(T0, "f.mp4", p, 10);
    f.is_open = true;
    assert_true(pb_file_reaches(&f, T0 + S(9)));
    assert_true(pb_file_reaches(&f, T0 + S(5)));
    assert_false(pb_file_reaches(&f, T0 + S(9.5)));
    assert_false(pb_file_reaches(&f, T0 + S(60)));
    assert_true(pb_file_reaches(&f, T0)); /* the file itself starts there */
    assert_true(pb_file_reaches(&f, T0 - S(1)));
    f.nparts = 0;
    assert_false(pb_file_reaches(&f, T0 + S(1)));
    free(p);
}

static void test_read_lists_pending_files_after_the_rows_once(void **state)
{
    struct sto_fixture *fx = *state;
    insert(fx, T0, "avc1.64001f", 6);
    assert_int_equal(sto_setting_put(fx->db, "barrier", "1"), 0);
    /* The segment just closed is in the index already (listed once), the open one is not. */
    struct sto_part *closed = make_parts(6, 2), *open = make_parts(7, 2);
    struct pb_file pending[2] = {make_file(T0, "ignored", closed, 6),
                                 make_file(T0 + S(6), "ignored", open, 7)};
    pending[0].path = "recordings/cam/main/a.mp4";
    pending[1].path = "recordings/cam/main/b.mp4.part";
    pending[1].is_open = true;
    struct pb_playlist_options o = {.start_us = T0 + S(1),
                                    .end_us = T0 + S(3600),
                                    .is_event = true,
                                    .pending = pending,
                                    .npending = 2};
    char *text;
    size_t len;
    struct pb_playlist_info info;
    assert_int_equal(pb_playlist_read(fx->db, "cam", "main", &o, &text, &len, &info), 0);
    char uri[64];
    snprintf(uri, sizeof(uri),
             "#EXT-X-MAP:URI=\"recordings/main/%lld.mp4?m=", (long long)(T0 + S(6)));
    assert_non_null(strstr(text, uri));
    assert_int_equal(count(text, "#EXT-X-MAP"), 2);
    assert_int_equal(info.files, 2);
    assert_int_equal(info.discontinuities, 0); /* contiguous: tfdt continues */
    /* Row: [0,4) [4,6); open file: [6,10) cut by a keyframe part, [10,13) held back. */
    assert_int_equal(info.segments, 3);
    assert_int_equal(info.first_us, T0);
    free(text);
    /* A pending file outside the range is not listed. */
    o.start_us = T0 - S(100);
    o.end_us = T0 - S(50);
    assert_int_equal(pb_playlist_read(fx->db, "cam", "main", &o, &text, &len, &info), 0);
    assert_int_equal(info.segments, 0);
    free(text);
    free(closed);
    free(open);
}

static void test_a_range_at_the_ends_of_time_neither_overflows_nor_loses_files(void **state)
{
    /* start - file start and end - file start, in 90 kHz ticks, would overflow: they saturate. */
    struct sto_part *p = make_parts(4, 2);
    struct pb_file f = make_file(T0, "f.mp4", p, 4);
    struct pb_playlist_info info;
    char *text = render(&f, 1, INT64_MIN, INT64_MAX, false, &info);
    assert_int_equal(info.segments, 1);
    assert_int_equal(info.first_us, T0);
    free(text);
    text = render(&f, 1, INT64_C(-9000000000000000000), INT64_C(9000000000000000000), false, &info);
    assert_int_equal(info.segments, 1);
    free(text);
    free(p);
}

static void test_reading_a_range_that_overflows_or_is_too_long_is_refused(void **state)
{
    char *out = NULL;
    size_t len = 0;
    struct pb_playlist_info info;
    /* Refused before the database is touched, so no database is needed. */
    struct pb_playlist_options o = {.start_us = INT64_C(-9000000000000000000),
                                    .end_us = INT64_C(9000000000000000000)};
    assert_int_equal(pb_playlist_read(NULL, "cam", "main", &o, &out, &len, &info), -EINVAL);
    o = (struct pb_playlist_options){.start_us = T0, .end_us = T0 + PB_PLAYLIST_MAX_US + 1};
    assert_int_equal(pb_playlist_read(NULL, "cam", "main", &o, &out, &len, &info), -EINVAL);
    o = (struct pb_playlist_options){.start_us = T0, .end_us = T0};
    assert_int_equal(pb_playlist_read(NULL, "cam", "main", &o, &out, &len, &info), -EINVAL);
    assert_null(out);
}

/* Every line that is a URI, and every URI="..." attribute, ends with query; returns how many. */
static size_t uris_ending_with(const char *text, const char *query)
{
    size_t uris = 0, qlen = strlen(query);
    const char *line = text;
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        if (line[0] == '#') {
            const char *u = strstr(line, "URI=\"");
            if (u && u < line + n) {
                const char *end = strchr(u + 5, '"');
                assert_true(end && end < line + n && (size_t)(end - u - 5) >= qlen);
                assert_memory_equal(end - qlen, query, qlen);
                uris++;
            }
        } else if (n) {
            assert_true(n >= qlen);
            assert_memory_equal(line + n - qlen, query, qlen);
            uris++;
        }
        line += n + (eol ? 1 : 0);
    }
    return uris;
}

static void test_a_token_is_appended_to_every_uri(void **state)
{
    (void)state;
    struct sto_part *p = make_parts(10, 2);
    struct pb_file f[3] = {
        make_file(T0, "recordings/main/1.mp4", p, 10),
        make_file(T0 + S(10), "recordings/main/2.mp4?x=1", p, 10), /* a URI with a query */
        make_file(T0 + S(30), "recordings/main/3.mp4", p, 10), /* after a hole */
    };
    f[1].codec = "hvc1.1.6.L93.B0";
    struct pb_playlist_options o = {.start_us = T0, .end_us = T0 + S(60), .token = "Tok_-9.~"};
    char *text = NULL;
    size_t len = 0;
    struct pb_playlist_info info;
    pb_playlist_render(f, 3, &o, &text, &len, &info);
    assert_int_equal(info.files, 3);
    /* Each file's offset from the window's first picture, then the token. */
    assert_int_equal(count(text, "#EXT-X-MAP:URI=\"recordings/main/1.mp4?m=0&t=Tok_-9.~\""), 1);
    assert_int_equal(
        count(text, "#EXT-X-MAP:URI=\"recordings/main/2.mp4?x=1&m=10000000&t=Tok_-9.~\""), 1);
    assert_int_equal(count(text, "\nrecordings/main/3.mp4?m=30000000&t=Tok_-9.~\n"),
                     info.segments / 3);
    assert_int_equal(uris_ending_with(text, "t=Tok_-9.~"), info.segments + 3);
    /* Without one the playlist is what it always was: the same text less the tokens. */
    for (char *t = strstr(text, "t=Tok_-9.~"); t; t = strstr(t, "t=Tok_-9.~"))
        memmove(t - 1, t + 10, strlen(t + 10) + 1);
    o.token = NULL;
    char *plain = NULL;
    pb_playlist_render(f, 3, &o, &plain, &len, &info);
    assert_null(strstr(plain, "&t="));
    assert_string_equal(text, plain);
    free(plain);
    free(text);
    free(p);
}

/*
 * ?m= is each file's start less the window's first picture (docs/design/0074):
 * negative for a window that starts inside its first file, the wall-clock
 * distance for the files after it, gaps included.
 */
static void test_each_file_names_its_offset_from_the_window_s_first_picture(void **state)
{
    (void)state;
    struct sto_part *p = make_parts(10, 2);
    struct pb_file f[2] = {
        make_file(T0, "recordings/main/1.mp4", p, 10),
        make_file(T0 + S(25), "recordings/main/2.mp4", p, 10), /* after a 15 s hole */
    };
    struct pb_playlist_options o = {.start_us = T0 + S(4.5), .end_us = T0 + S(60)};
    char *text = NULL;
    size_t len = 0;
    pb_playlist_render(f, 2, &o, &text, &len, NULL);
    assert_int_equal(count(text, "recordings/main/1.mp4?m=-4000000"), 3); /* map, 4-8 s, 8-10 s */
    assert_int_equal(count(text, "recordings/main/2.mp4?m=21000000"), 4);
    assert_int_equal(count(text, "?m="), 7);
    free(text);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parts_group_into_keyframe_segments_of_about_four_seconds),
        cmocka_unit_test(test_start_snaps_back_to_a_keyframe_and_end_cuts_at_parts),
        cmocka_unit_test(test_a_start_before_the_first_recording_begins_with_it),
        cmocka_unit_test(test_contiguous_files_continue_and_holes_are_discontinuities),
        cmocka_unit_test(test_a_codec_or_size_change_is_a_discontinuity),
        cmocka_unit_test(test_a_hole_inside_a_file_skips_to_the_next_keyframe),
        cmocka_unit_test(test_without_keyframe_parts_a_file_is_one_segment),
        cmocka_unit_test(test_target_duration_is_the_rounded_longest_segment),
        cmocka_unit_test(test_event_playlists_have_no_endlist_and_a_stable_target),
        cmocka_unit_test(test_no_recording_in_range_renders_no_segment),
        cmocka_unit_test(test_a_range_at_the_ends_of_time_neither_overflows_nor_loses_files),
        cmocka_unit_test(test_reading_a_range_that_overflows_or_is_too_long_is_refused),
        cmocka_unit_test(test_a_token_is_appended_to_every_uri),
        cmocka_unit_test(test_each_file_names_its_offset_from_the_window_s_first_picture),
        cmocka_unit_test_setup_teardown(test_read_renders_rows_of_the_index_with_their_uris,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test(test_an_open_file_lists_only_segments_that_cannot_grow),
        cmocka_unit_test(test_an_open_file_reaches_an_end_once_a_part_starts_there),
        cmocka_unit_test_setup_teardown(test_read_lists_pending_files_after_the_rows_once,
                                        sto_fixture_setup, sto_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
