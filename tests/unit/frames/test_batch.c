/*
 * Tests for src/frames/batch.c: the batch container written by the daemon
 * reads back frame for frame (info and bytes), and the parser refuses what a
 * consumer must not trust, naming the field or byte range: another schema, a
 * missing index line, a frame outside the body or out of order, a tail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "frames_batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t jpeg_a[] = {0xff, 0xd8, 1, 2, 3, 0xff, 0xd9};
static const uint8_t jpeg_b[] = {0xff, 0xd8, '\n', '{', 0xff, 0xd9};

static void make(uint8_t **out, size_t *len)
{
    struct frames_batch_item items[2] = {
        {.info = {.seq = 7,
                  .capture_us = 1764720000123456,
                  .width = 640,
                  .height = 360,
                  .is_keyframe = true,
                  .quality = 75},
         .jpeg = jpeg_a,
         .len = sizeof(jpeg_a)},
        {.info = {.seq = 8,
                  .capture_us = 1764720000623456,
                  .width = 320,
                  .height = 180,
                  .is_keyframe = false,
                  .quality = 37},
         .jpeg = jpeg_b,
         .len = sizeof(jpeg_b)},
    };
    assert_int_equal(frames_batch_write("door", items, 2, out, len), 0);
}

static int parse_text(const char *text, char *why, size_t cap)
{
    struct frames_batch_item items[4];
    size_t n;
    char camera[72];
    return frames_batch_parse((const uint8_t *)text, strlen(text), camera, sizeof(camera), items, 4,
                              &n, why, cap);
}

static void test_a_written_batch_reads_back_frame_for_frame(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    make(&buf, &len);
    assert_true(memchr(buf, '\n', len) != NULL);
    assert_memory_equal(buf + len - sizeof(jpeg_a) - sizeof(jpeg_b), jpeg_a, sizeof(jpeg_a));
    struct frames_batch_item items[4];
    size_t n = 0;
    char camera[72], why[160] = "";
    assert_int_equal(
        frames_batch_parse(buf, len, camera, sizeof(camera), items, 4, &n, why, sizeof(why)), 0);
    assert_string_equal(camera, "door");
    assert_int_equal(n, 2);
    assert_int_equal(items[0].info.seq, 7);
    assert_int_equal(items[0].info.capture_us, 1764720000123456);
    assert_int_equal(items[0].info.width, 640);
    assert_true(items[0].info.is_keyframe);
    assert_int_equal(items[0].info.quality, 75);
    assert_int_equal(items[0].len, sizeof(jpeg_a));
    assert_memory_equal(items[0].jpeg, jpeg_a, sizeof(jpeg_a));
    assert_int_equal(items[1].info.seq, 8);
    assert_false(items[1].info.is_keyframe);
    assert_int_equal(items[1].info.height, 180);
    assert_memory_equal(items[1].jpeg, jpeg_b, sizeof(jpeg_b));
    /* The human-readable time agrees with the microseconds. */
    assert_non_null(strstr((const char *)buf, "\"capture_time\":\"2025-12-03T00:00:00.123Z\""));
    /* Too small a table for the frames: refused, not overrun. */
    assert_int_equal(
        frames_batch_parse(buf, len, camera, sizeof(camera), items, 1, &n, why, sizeof(why)),
        -EINVAL);
    free(buf);
}

static void test_the_writer_refuses_empty_and_oversized_batches(void **state)
{
    (void)state;
    uint8_t *buf = NULL;
    size_t len = 0;
    struct frames_batch_item one = {.info = {.seq = 1, .width = 2, .height = 2, .quality = 50},
                                    .jpeg = jpeg_a,
                                    .len = sizeof(jpeg_a)};
    assert_int_equal(frames_batch_write("door", &one, 0, &buf, &len), -EINVAL);
    assert_int_equal(frames_batch_write("door", &one, FRAMES_BATCH_MAX + 1, &buf, &len), -EINVAL);
    assert_null(buf);
}

static void expect_refused(const char *text, const char *reason)
{
    char why[200] = "";
    assert_int_equal(parse_text(text, why, sizeof(why)), -EINVAL);
    if (!strstr(why, reason))
        fail_msg("'%s' does not say '%s'", why, reason);
}

#define FRAME(off, len)                                                                            \
    "{\"seq\":1,\"capture_us\":5,\"width\":2,\"height\":2,\"keyframe\":true,\"quality\":50,"       \
    "\"offset\":" #off ",\"length\":" #len "}"

static void test_the_parser_names_what_it_refuses(void **state)
{
    (void)state;
    expect_refused("{\"schema\":\"horus.frames.batch/1\"}", "no index line");
    expect_refused("[1]\nxx", "not a JSON object");
    expect_refused(
        "{\"schema\":\"horus.frames.batch/2\",\"camera\":\"a\",\"frames\":[" FRAME(0, 2) "]}\nxx",
        "schema");
    expect_refused("{\"schema\":\"horus.frames.batch/1\",\"frames\":[" FRAME(0, 2) "]}\nxx",
                   "camera");
    expect_refused("{\"schema\":\"horus.frames.batch/1\",\"camera\":\"a\",\"frames\":[]}\n",
                   "frames");
    /* A frame past the end, a gap, an overlap, a tail. */
    expect_refused(
        "{\"schema\":\"horus.frames.batch/1\",\"camera\":\"a\",\"frames\":[" FRAME(0, 3) "]}\nxx",
        "frames[0].length");
    expect_refused(
        "{\"schema\":\"horus.frames.batch/1\",\"camera\":\"a\",\"frames\":[" FRAME(1, 1) "]}\nxx",
        "frames[0]: bytes 1..2");
    expect_refused("{\"schema\":\"horus.frames.batch/1\",\"camera\":\"a\",\"frames\":[" FRAME(
                       0, 2) "," FRAME(1, 2) "]}\nxxxx",
                   "frames[1]: bytes 1..3");
    expect_refused(
        "{\"schema\":\"horus.frames.batch/1\",\"camera\":\"a\",\"frames\":[" FRAME(0, 1) "]}\nxx",
        "1 bytes after the last frame");
    expect_refused("{\"schema\":\"horus.frames.batch/1\",\"camera\":\"a\",\"frames\":["
                   "{\"seq\":1,\"capture_us\":5,\"width\":2,\"height\":2,\"keyframe\":1,"
                   "\"quality\":50,\"offset\":0,\"length\":2}]}\nxx",
                   "frames[0].keyframe");
    expect_refused("{\"schema\":\"horus.frames.batch/1\",\"camera\":\"a\",\"frames\":["
                   "{\"seq\":1,\"capture_us\":5,\"width\":2,\"height\":2,\"keyframe\":true,"
                   "\"quality\":101,\"offset\":0,\"length\":2}]}\nxx",
                   "frames[0].quality");
    char why[200];
    assert_int_equal(parse_text("{\"schema\":\"horus.frames.batch/1\",\"camera\":\"a\",\"frames\":"
                                "[" FRAME(0, 2) "]}\nxx",
                                why, sizeof(why)),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_written_batch_reads_back_frame_for_frame),
        cmocka_unit_test(test_the_writer_refuses_empty_and_oversized_batches),
        cmocka_unit_test(test_the_parser_names_what_it_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
