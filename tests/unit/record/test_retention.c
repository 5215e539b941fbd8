/*
 * Tests for src/record/retention.c: age, per-camera cap, watermark (just
 * enough, pinned last), orphaned recordings of deleted cameras, failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "retention.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_US INT64_C(86400000000)
#define NOW_MS INT64_C(1800000000000) /* 2027-01-15 */

struct fixture {
    char dir[64];
    sto_db *db;
    metrics_registry *metrics;
    clock_fake clock;
    uint64_t total_bytes, free_bytes; /* the fake volume */
};

static int fake_space(const char *path, uint64_t *free_b, uint64_t *total_b, void *arg)
{
    struct fixture *f = arg;
    *free_b = f->free_bytes;
    *total_b = f->total_bytes;
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/horus-ret-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct sto_database_config cfg = {
        .url = "", .busy_timeout_ms = 5000, .batch_max = 64, .queue_max = 1024, .readers = 2};
    f->metrics = metrics_registry_new();
    struct sto_open_options o = {.db = &cfg, .data_dir = f->dir, .metrics = f->metrics};
    char *err = NULL;
    assert_int_equal(sto_open(&o, &f->db, &err), 0);
    assert_int_equal(sto_start(f->db), 0);
    clock_fake_init(&f->clock, NOW_MS);
    f->total_bytes = 1000000;
    f->free_bytes = 500000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sto_close(f->db);
    metrics_registry_free(f->metrics);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void camera(struct fixture *f, const char *id, int64_t days, uint64_t max_bytes)
{
    struct sto_camera_input c = {.id = id,
                                 .name = "",
                                 .url = "rtsp://h/",
                                 .sub_url = "",
                                 .enabled = true,
                                 .record_enabled = true,
                                 .segment_seconds = 60,
                                 .retention_days = days,
                                 .max_bytes = max_bytes};
    assert_int_equal(sto_camera_insert(f->db, &c), 0);
}

/* A segment of cam that ended age_days ago, with a real file of size bytes. */
static void segment(struct fixture *f, const char *cam, double age_days, uint64_t size,
                    int64_t pinned_until_us)
{
    static int seq;
    char rel[128], path[256];
    snprintf(rel, sizeof(rel), "%s-%d.mp4", cam, seq++);
    snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(truncate(path, (off_t)size), 0);
    int64_t end = NOW_MS * 1000 - (int64_t)(age_days * (double)DAY_US);
    struct sto_recording_input r = {.camera_id = cam,
                                    .stream = "main",
                                    .start_us = end - 60000000,
                                    .end_us = end,
                                    .path = rel,
                                    .bytes = size,
                                    .codec = "avc1",
                                    .sha256 = "",
                                    .pinned_until_us = pinned_until_us};
    assert_int_equal(sto_recording_insert_async(f->db, &r, NULL, NULL), 0);
    assert_int_equal(sto_setting_put(f->db, "barrier", "x"), 0);
}

static rec_retention *make(struct fixture *f, double min_free)
{
    struct rec_retention_options o = {.db = f->db,
                                      .data_dir = f->dir,
                                      .min_free_percent = min_free,
                                      .metrics = f->metrics,
                                      .clock = &f->clock.base,
                                      .fs_space_cb = fake_space,
                                      .fs_space_arg = f};
    return rec_retention_new(&o);
}

static uint64_t rows(struct fixture *f, const char *cam)
{
    uint64_t bytes, count;
    assert_int_equal(sto_recordings_usage(f->db, cam, &bytes, &count), 0);
    return count;
}

static void test_age_deletes_segments_older_than_retention_but_not_pinned_ones(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 7, 0);
    segment(f, "a", 10, 100, 0);
    segment(f, "a", 8, 100, 0);
    segment(f, "a", 9, 100, NOW_MS * 1000 + DAY_US); /* pinned by an event */
    segment(f, "a", 1, 100, 0);
    rec_retention *r = make(f, 0);
    struct rec_retention_stats st;
    assert_int_equal(rec_retention_run_once(r, &st), 0);
    assert_int_equal(st.segments[REC_RETENTION_AGE], 2);
    assert_int_equal(st.bytes[REC_RETENTION_AGE], 200);
    assert_int_equal(rows(f, "a"), 2);
    char path[128];
    snprintf(path, sizeof(path), "%s/a-0.mp4", f->dir);
    assert_int_equal(access(path, F_OK), -1);
    rec_retention_free(r);
}

static void test_cap_deletes_oldest_until_the_camera_fits(void **state)
{
    struct fixture *f = *state;
    camera(f, "b", 30, 2500);
    camera(f, "c", 30, 0);
    for (int i = 0; i < 4; i++)
        segment(f, "b", 4 - i, 1000, 0);
    segment(f, "c", 5, 5000, 0);
    rec_retention *r = make(f, 0);
    struct rec_retention_stats st;
    assert_int_equal(rec_retention_run_once(r, &st), 0);
    assert_int_equal(st.segments[REC_RETENTION_CAP], 2);
    uint64_t bytes, count;
    assert_int_equal(sto_recordings_usage(f->db, "b", &bytes, &count), 0);
    assert_true(bytes == 2000);
    assert_int_equal(rows(f, "c"), 1); /* no cap: untouched */
    rec_retention_free(r);
}

/* Deleting files frees space on the fake volume too. */
static int shrinking_space(const char *path, uint64_t *free_b, uint64_t *total_b, void *arg)
{
    struct fixture *f = arg;
    uint64_t used, count;
    sto_recordings_usage(f->db, NULL, &used, &count);
    *total_b = f->total_bytes;
    *free_b = f->total_bytes - used;
    return 0;
}

static void test_watermark_deletes_oldest_across_cameras_with_hysteresis(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 3650, 0);
    camera(f, "b", 3650, 0);
    f->total_bytes = 10000;
    /* 9,500 bytes used: 5% free, watermark 10% -> free at least 11%. */
    for (int i = 0; i < 19; i++)
        segment(f, i % 2 ? "a" : "b", 40 - i, 500, 0);
    struct rec_retention_options o = {.db = f->db,
                                      .data_dir = f->dir,
                                      .min_free_percent = 10,
                                      .metrics = f->metrics,
                                      .clock = &f->clock.base,
                                      .fs_space_cb = shrinking_space,
                                      .fs_space_arg = f};
    rec_retention *r = rec_retention_new(&o);
    struct rec_retention_stats st;
    assert_int_equal(rec_retention_run_once(r, &st), 0);
    uint64_t used, count;
    assert_int_equal(sto_recordings_usage(f->db, NULL, &used, &count), 0);
    assert_true(10000 - used >= 1100);
    assert_true(st.segments[REC_RETENTION_WATERMARK] >= 2);
    /* The oldest went first: the newest segment (b, 22 days) is still there. */
    struct sto_recording *list;
    size_t n;
    assert_int_equal(sto_recordings_oldest(f->db, NULL, INT64_MAX, 0, 100, &list, &n), 0);
    assert_true(list[n - 1].end_us == NOW_MS * 1000 - 22 * DAY_US);
    sto_recording_list_free(list, n);
    rec_retention_free(r);
}

static void test_a_file_that_cannot_be_removed_keeps_its_row_and_missing_ones_count(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 1, 0);
    segment(f, "a", 5, 100, 0); /* a-N.mp4: replace the file with a directory */
    segment(f, "a", 6, 100, 0);
    struct sto_recording *list;
    size_t n;
    assert_int_equal(sto_recordings_oldest(f->db, "a", INT64_MAX, 0, 10, &list, &n), 0);
    assert_int_equal(n, 2);
    char p0[256], p1[256];
    snprintf(p0, sizeof(p0), "%s/%s", f->dir, list[0].path);
    snprintf(p1, sizeof(p1), "%s/%s", f->dir, list[1].path);
    assert_int_equal(unlink(p0), 0);
    assert_int_equal(mkdir(p0, 0700), 0); /* unlink() of a directory fails */
    assert_int_equal(unlink(p1), 0); /* already gone: counts as removed */
    sto_recording_list_free(list, n);
    rec_retention *r = make(f, 0);
    struct rec_retention_stats st;
    assert_int_equal(rec_retention_run_once(r, &st), 0);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.segments[REC_RETENTION_AGE], 1);
    assert_int_equal(rows(f, "a"), 1);
    rmdir(p0);
    rec_retention_free(r);
}

static void test_counters_are_exported_by_reason(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 1, 0);
    segment(f, "a", 3, 123, 0);
    rec_retention *r = make(f, 0);
    assert_int_equal(rec_retention_run_once(r, NULL), 0);
    char *text = metrics_render(f->metrics, NULL);
    assert_non_null(strstr(text, "horus_retention_deleted_segments_total{reason=\"age\"} 1\n"));
    assert_non_null(strstr(text, "horus_retention_deleted_bytes_total{reason=\"age\"} 123\n"));
    free(text);
    rec_retention_free(r);
}

static void test_the_thread_runs_a_pass_when_kicked(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 1, 0);
    segment(f, "a", 3, 10, 0);
    struct rec_retention_options o = {.db = f->db,
                                      .data_dir = f->dir,
                                      .metrics = f->metrics,
                                      .clock = &f->clock.base,
                                      .interval_ms = 3600000,
                                      .fs_space_cb = fake_space,
                                      .fs_space_arg = f};
    rec_retention *r = rec_retention_new(&o);
    assert_int_equal(rec_retention_start(r), 0);
    rec_retention_kick(r);
    for (int i = 0; i < 500 && rows(f, "a") != 0; i++)
        usleep(10000); /* waits on a real thread; bounded to 5 s */
    assert_int_equal(rows(f, "a"), 0);
    rec_retention_stop(r);
    rec_retention_stop(r); /* a second stop is a no-op */
    rec_retention_free(r);
}

static void test_plan_takes_the_shortest_prefix_that_covers_the_need(void **state)
{
    (void)state;
    struct sto_recording list[4] = {{.bytes = 100}, {.bytes = 300}, {.bytes = 50}, {.bytes = 10}};
    assert_int_equal(rec_retention_plan(list, 4, 0), 0);
    assert_int_equal(rec_retention_plan(list, 4, 1), 1);
    assert_int_equal(rec_retention_plan(list, 4, 100), 1);
    assert_int_equal(rec_retention_plan(list, 4, 101), 2);
    assert_int_equal(rec_retention_plan(list, 4, 400), 2);
    assert_int_equal(rec_retention_plan(list, 4, 401), 3);
    assert_int_equal(rec_retention_plan(list, 4, 100000), 4); /* all there is */
    assert_int_equal(rec_retention_plan(list, 0, 10), 0);
}

static rec_retention *make_shrinking(struct fixture *f, double min_free)
{
    struct rec_retention_options o = {.db = f->db,
                                      .data_dir = f->dir,
                                      .min_free_percent = min_free,
                                      .metrics = f->metrics,
                                      .clock = &f->clock.base,
                                      .deleted_camera_grace_ms = 86400000,
                                      .fs_space_cb = shrinking_space,
                                      .fs_space_arg = f};
    return rec_retention_new(&o);
}

static void test_watermark_deletes_just_enough_not_a_fixed_batch(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 3650, 0);
    f->total_bytes = 100000;
    /* 95,000 bytes in 190 segments: 5% free; watermark 10% -> low mark 11% = 11,000 free. */
    for (int i = 0; i < 190; i++)
        segment(f, "a", 200 - i * 0.5, 500, 0);
    rec_retention *r = make_shrinking(f, 10);
    struct rec_retention_stats st;
    assert_int_equal(rec_retention_run_once(r, &st), 0);
    /* Needed 6,000 bytes: exactly 12 segments of 500, not a batch of 16 (or 256). */
    assert_int_equal(st.watermark_needed_bytes, 6000);
    assert_int_equal(st.segments[REC_RETENTION_WATERMARK], 12);
    assert_int_equal(st.bytes[REC_RETENTION_WATERMARK], 6000);
    assert_int_equal(rows(f, "a"), 178);
    /* Above the watermark now: a second pass deletes nothing. */
    assert_int_equal(rec_retention_run_once(r, &st), 0);
    assert_int_equal(st.segments[REC_RETENTION_WATERMARK], 0);
    rec_retention_free(r);
}

/* An export of camera/stream over the segments that ended between the two ages (days). */
static void export_pin(struct fixture *f, const char *id, const char *cam, double from_days,
                       double to_days)
{
    int64_t now_us = NOW_MS * 1000;
    struct sto_export_input e = {.id = id,
                                 .camera_id = cam,
                                 .stream = "main",
                                 .start_us = now_us - (int64_t)(from_days * (double)DAY_US),
                                 .end_us = now_us - (int64_t)(to_days * (double)DAY_US),
                                 .created_at_ms = NOW_MS};
    assert_int_equal(sto_export_insert(f->db, &e), 0);
}

static void test_watermark_deletes_exported_ranges_only_after_every_unpinned_one(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 3650, 0);
    f->total_bytes = 10000;
    for (int i = 0; i < 19; i++) /* ages 40..22 days, 9,500 bytes: 5% free */
        segment(f, "a", 40 - i, 500, 0);
    /* The 10 oldest (ages 40..31) are exported. */
    export_pin(f, "00000000000100000000", "a", 41, 30.5);
    struct sto_pin *pins;
    size_t npins;
    assert_int_equal(sto_pin_list(f->db, NOW_MS * 1000, 10, &pins, &npins), 0);
    assert_int_equal(npins, 1);
    assert_string_equal(pins[0].id, "export:00000000000100000000");
    sto_pin_list_free(pins, npins);
    rec_retention *r = make_shrinking(f, 10);
    struct rec_retention_stats st;
    assert_int_equal(rec_retention_run_once(r, &st), 0);
    assert_int_equal(st.segments[REC_RETENTION_WATERMARK], 2);
    assert_int_equal(st.watermark_pinned, 0);
    /* The exported ten are all there; the two oldest unpinned ones (30, 29 days) are gone. */
    struct sto_recording *list;
    size_t n;
    assert_int_equal(sto_recordings_range(f->db, "a", "main", 0, INT64_MAX, 100, &list, &n), 0);
    assert_int_equal(n, 17);
    assert_true(list[9].end_us == NOW_MS * 1000 - 31 * DAY_US);
    assert_true(list[10].end_us == NOW_MS * 1000 - 28 * DAY_US);
    sto_recording_list_free(list, n);

    /* Nothing unpinned left but the newest: the watermark takes pinned ones last. */
    f->total_bytes = 8600; /* 8,500 used; at 50% the low mark is 51% = 4,386 bytes free */
    rec_retention_set_min_free(r, 50);
    assert_int_equal(rec_retention_run_once(r, &st), 0);
    assert_int_equal(st.watermark_needed_bytes, 4286);
    assert_int_equal(st.segments[REC_RETENTION_WATERMARK], 9); /* 7 unpinned, then 2 pinned */
    assert_int_equal(st.watermark_pinned, 2);
    assert_int_equal(rows(f, "a"), 8);
    rec_retention_free(r);
}

static void test_an_export_that_ends_failed_or_deleted_unpins_its_range(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 3650, 0);
    segment(f, "a", 5, 100, 0);
    export_pin(f, "00000000000100000000", "a", 6, 4);
    export_pin(f, "00000000000200000000", "a", 6, 4);
    struct sto_recording *list;
    size_t n;
    assert_int_equal(sto_recordings_oldest(f->db, "a", INT64_MAX, NOW_MS * 1000, 10, &list, &n), 0);
    assert_int_equal(n, 0); /* pinned */
    sto_recording_list_free(list, n);
    struct sto_export_status s = {.id = "00000000000100000000", .state = STO_EXPORT_FAILED};
    assert_int_equal(sto_export_update(f->db, &s), 0);
    assert_int_equal(sto_export_delete(f->db, "00000000000200000000"), 0);
    assert_int_equal(sto_recordings_oldest(f->db, "a", INT64_MAX, NOW_MS * 1000, 10, &list, &n), 0);
    assert_int_equal(n, 1);
    sto_recording_list_free(list, n);
    uint64_t usage;
    assert_int_equal(sto_exports_usage(f->db, &usage), 0);
    assert_true(usage == 0);
}

/* The only orphan group's deletion time (ms); asserts there is exactly one. */
static int64_t only_orphan(struct fixture *f, uint64_t *count)
{
    struct sto_orphan *list;
    size_t n;
    assert_int_equal(sto_orphan_list(f->db, 10, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].camera_id, "a");
    int64_t at = list[0].deleted_at_ms;
    *count = list[0].count;
    sto_orphan_list_free(list, n);
    return at;
}

static void test_a_deleted_camera_s_recordings_expire_after_the_grace(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 3650, 0);
    segment(f, "a", 2, 100, 0);
    segment(f, "a", 1, 100, 0);
    assert_int_equal(sto_camera_delete(f->db, "a"), 0);
    camera(f, "a", 3650, 0); /* the same id again: an empty timeline */
    assert_int_equal(rows(f, "a"), 0);
    uint64_t count;
    int64_t deleted_at = only_orphan(f, &count);
    assert_int_equal(count, 2);
    clock_fake_init(&f->clock, deleted_at + 1000);
    rec_retention *r = make(f, 0); /* grace 0 in make(): set a day */
    rec_retention_set_deleted_camera_grace(r, 86400000);
    struct rec_retention_stats st;
    assert_int_equal(rec_retention_run_once(r, &st), 0);
    assert_int_equal(st.segments[REC_RETENTION_ORPHANED], 0);
    clock_fake_advance_ms(&f->clock, 86400000);
    assert_int_equal(rec_retention_run_once(r, &st), 0);
    assert_int_equal(st.segments[REC_RETENTION_ORPHANED], 2);
    struct sto_orphan *list;
    size_t n;
    assert_int_equal(sto_orphan_list(f->db, 10, &list, &n), 0);
    assert_int_equal(n, 0); /* the group is forgotten once empty */
    sto_orphan_list_free(list, n);
    uint64_t bytes, all;
    assert_int_equal(sto_recordings_usage(f->db, NULL, &bytes, &all), 0);
    assert_int_equal(all, 0);
    rec_retention_free(r);
}

static void test_a_new_camera_adopts_the_orphans_of_its_id(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 3650, 0);
    segment(f, "a", 2, 100, 0);
    assert_int_equal(sto_camera_delete(f->db, "a"), 0);
    camera(f, "a", 3650, 0);
    uint64_t adopted = 0;
    assert_int_equal(sto_camera_adopt(f->db, "a", &adopted), 0);
    assert_int_equal(adopted, 1);
    assert_int_equal(rows(f, "a"), 1);
    struct sto_orphan *list;
    size_t n;
    assert_int_equal(sto_orphan_list(f->db, 10, &list, &n), 0);
    assert_int_equal(n, 0);
    sto_orphan_list_free(list, n);
}

static void test_rows_of_a_camera_that_no_longer_exists_become_orphans(void **state)
{
    struct fixture *f = *state;
    segment(f, "a", 2, 100, 0); /* no camera "a": a segment closed after the delete */
    rec_retention *r = make(f, 0);
    rec_retention_set_deleted_camera_grace(r, INT64_C(86400000) * 365);
    assert_int_equal(rec_retention_run_once(r, NULL), 0);
    uint64_t count;
    only_orphan(f, &count);
    assert_int_equal(count, 1);
    assert_int_equal(rows(f, "a"), 0);
    rec_retention_free(r);
}

static void test_a_camera_created_over_stray_rows_starts_empty(void **state)
{
    struct fixture *f = *state;
    segment(f, "a", 2, 100, 0); /* closed after camera "a" was deleted */
    camera(f, "a", 3650, 0);
    assert_int_equal(rows(f, "a"), 0);
    uint64_t count;
    only_orphan(f, &count);
    assert_int_equal(count, 1);
}

static void test_a_segment_closed_after_the_delete_joins_the_camera_s_orphans(void **state)
{
    struct fixture *f = *state;
    camera(f, "a", 3650, 0);
    segment(f, "a", 2, 100, 0);
    assert_int_equal(sto_camera_delete(f->db, "a"), 0);
    segment(f, "a", 1, 100, 0); /* the open segment, indexed after the delete */
    rec_retention *r = make(f, 0);
    rec_retention_set_deleted_camera_grace(r, INT64_C(86400000) * 365);
    assert_int_equal(rec_retention_run_once(r, NULL), 0);
    uint64_t count;
    only_orphan(f, &count); /* one group, not one per late segment */
    assert_int_equal(count, 2);
    rec_retention_free(r);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_age_deletes_segments_older_than_retention_but_not_pinned_ones),
        T(test_cap_deletes_oldest_until_the_camera_fits),
        T(test_watermark_deletes_oldest_across_cameras_with_hysteresis),
        T(test_a_file_that_cannot_be_removed_keeps_its_row_and_missing_ones_count),
        T(test_counters_are_exported_by_reason),
        T(test_the_thread_runs_a_pass_when_kicked),
        T(test_plan_takes_the_shortest_prefix_that_covers_the_need),
        T(test_watermark_deletes_just_enough_not_a_fixed_batch),
        T(test_watermark_deletes_exported_ranges_only_after_every_unpinned_one),
        T(test_an_export_that_ends_failed_or_deleted_unpins_its_range),
        T(test_a_deleted_camera_s_recordings_expire_after_the_grace),
        T(test_a_new_camera_adopts_the_orphans_of_its_id),
        T(test_rows_of_a_camera_that_no_longer_exists_become_orphans),
        T(test_a_camera_created_over_stray_rows_starts_empty),
        T(test_a_segment_closed_after_the_delete_joins_the_camera_s_orphans),
    };
    return cmocka_run_group_tests_name("record.retention", tests, NULL, NULL);
}
