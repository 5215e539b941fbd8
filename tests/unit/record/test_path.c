/*
 * Tests the recordings' path layout: what the recorder writes parses back
 * to the same value, and names it never writes are rejected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "path_int.h"

#include "err.h"

#include <errno.h>
#include <string.h>

/* 2024-03-09T07:05:03Z */
#define T0 1709967903

static void test_path_formats_the_documented_layout(void **state)
{
    char buf[256];
    struct rec_path p = {.camera = "front", .stream = "main", .start_s = T0};
    assert_int_equal(rec_path_format(&p, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "recordings/front/main/2024-03-09/07-05-03.mp4");
    p.seq = 12;
    p.is_part = true;
    assert_int_equal(rec_path_format(&p, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "recordings/front/main/2024-03-09/07-05-03-12.mp4.part");
}

static void test_path_pieces_compose_the_same_path_as_format(void **state)
{
    char dir[256], day[256], file[256], rel[256];
    assert_int_equal(rec_path_stream_dir(dir, sizeof(dir), "/data", "cam-1", "sub"), 0);
    assert_string_equal(dir, "/data/recordings/cam-1/sub");
    assert_int_equal(rec_path_day_dir(day, sizeof(day), dir, T0), 0);
    assert_int_equal(rec_path_file(file, sizeof(file), day, T0, 3), 0);
    struct rec_path p = {.camera = "cam-1", .stream = "sub", .start_s = T0, .seq = 3};
    assert_int_equal(rec_path_format(&p, rel, sizeof(rel)), 0);
    assert_string_equal(file + strlen("/data/"), rel);
}

static void test_path_round_trips(void **state)
{
    static const int64_t times[] = {0, T0, 951782400 /* 2000-02-29 */, 4102444799 /* 2099 */};
    static const unsigned seqs[] = {0, 1, 9, 10, 99};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        for (size_t j = 0; j < sizeof(seqs) / sizeof(seqs[0]); j++) {
            for (int part = 0; part < 2; part++) {
                struct rec_path in = {.camera = "a_b-9",
                                      .stream = "main",
                                      .start_s = times[i],
                                      .seq = seqs[j],
                                      .is_part = part};
                char buf[256];
                assert_int_equal(rec_path_format(&in, buf, sizeof(buf)), 0);
                struct rec_path out;
                assert_int_equal(rec_path_parse(buf, &out), 0);
                assert_string_equal(out.camera, in.camera);
                assert_string_equal(out.stream, in.stream);
                assert_int_equal(out.start_s, in.start_s);
                assert_int_equal(out.seq, in.seq);
                assert_int_equal(out.is_part, in.is_part);
            }
        }
    }
}

static void test_path_accepts_the_longest_camera_id(void **state)
{
    struct rec_path in = {.stream = "main", .start_s = T0};
    memset(in.camera, 'c', REC_PATH_CAMERA_MAX);
    char buf[256];
    assert_int_equal(rec_path_format(&in, buf, sizeof(buf)), 0);
    struct rec_path out;
    assert_int_equal(rec_path_parse(buf, &out), 0);
    assert_string_equal(out.camera, in.camera);
}

static void test_path_rejects_paths_outside_a_stream_folder(void **state)
{
    static const char *const bad[] = {
        "",
        "recordings",
        "recordings/front/07-05-03.mp4",
        "recordings//main/2024-03-09/07-05-03.mp4",
        "recordings/front//2024-03-09/07-05-03.mp4",
        "exports/front/main/2024-03-09/07-05-03.mp4",
        "recordings/front/a-stream-name-too-long/2024-03-09/07-05-03.mp4",
        "/data/recordings/front/main/2024-03-09/07-05-03.mp4",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rec_path out;
        if (rec_path_parse(bad[i], &out) != -EINVAL)
            fail_msg("'%s' parsed", bad[i]);
        assert_string_equal(out.camera, "");
    }
    char longer[256];
    memset(longer, 0, sizeof(longer));
    strcpy(longer, "recordings/");
    memset(longer + strlen(longer), 'c', REC_PATH_CAMERA_MAX + 1);
    strcat(longer, "/main/2024-03-09/07-05-03.mp4");
    struct rec_path out;
    assert_int_equal(rec_path_parse(longer, &out), -EINVAL);
}

static void test_path_rejects_bad_names_in_a_stream_folder(void **state)
{
    static const char *const bad[] = {
        "recordings/front/main/07-05-03.mp4",
        "recordings/front/main/2024-03-09/07-05-03.mp4.tmp",
        "recordings/front/main/2024-03-09/07-05-03.MP4",
        "recordings/front/main/2024-03-09/07-05-03",
        "recordings/front/main/2024-3-09/07-05-03.mp4",
        "recordings/front/main/2024-02-30/07-05-03.mp4",
        "recordings/front/main/2024-13-01/07-05-03.mp4",
        "recordings/front/main/2024-03-09/24-00-00.mp4",
        "recordings/front/main/2024-03-09/07-60-00.mp4",
        "recordings/front/main/2024-03-09/7-05-03.mp4",
        "recordings/front/main/2024-03-09/07-05-03-0.mp4",
        "recordings/front/main/2024-03-09/07-05-03-05.mp4",
        "recordings/front/main/2024-03-09/07-05-03-100.mp4",
        "recordings/front/main/2024-03-09/07-05-03-.mp4",
        "recordings/front/main/2024-03-09/sub/07-05-03.mp4",
        "recordings/front/main/2024-03-09/07-05-03.mp4.part.part",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rec_path out;
        if (rec_path_parse(bad[i], &out) != HORUS_EPARSE)
            fail_msg("'%s' parsed", bad[i]);
        assert_string_equal(out.camera, "front");
        assert_string_equal(out.stream, "main");
    }
}

static void test_path_format_rejects_what_it_could_not_parse(void **state)
{
    char buf[256];
    struct rec_path p = {.camera = "front", .stream = "main", .start_s = T0};
    p.seq = REC_PATH_SEQ_MAX + 1;
    assert_int_equal(rec_path_format(&p, buf, sizeof(buf)), -EINVAL);
    p.seq = 0;
    p.start_s = -1;
    assert_int_equal(rec_path_format(&p, buf, sizeof(buf)), -EINVAL);
    p.start_s = T0;
    strcpy(p.camera, "a/b");
    assert_int_equal(rec_path_format(&p, buf, sizeof(buf)), -EINVAL);
    p.camera[0] = '\0';
    assert_int_equal(rec_path_format(&p, buf, sizeof(buf)), -EINVAL);
    strcpy(p.camera, "front");
    assert_int_equal(rec_path_format(&p, buf, 20), -ENAMETOOLONG);
    assert_int_equal(rec_path_stream_dir(buf, 10, "/data", "front", "main"), -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_formats_the_documented_layout),
        cmocka_unit_test(test_path_pieces_compose_the_same_path_as_format),
        cmocka_unit_test(test_path_round_trips),
        cmocka_unit_test(test_path_accepts_the_longest_camera_id),
        cmocka_unit_test(test_path_rejects_paths_outside_a_stream_folder),
        cmocka_unit_test(test_path_rejects_bad_names_in_a_stream_folder),
        cmocka_unit_test(test_path_format_rejects_what_it_could_not_parse),
    };
    return cmocka_run_group_tests_name("record.path", tests, NULL, NULL);
}
