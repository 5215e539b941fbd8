/*
 * Tests the index journal: its records round-trip, a torn tail and a
 * damaged record are skipped without losing the records around them, and
 * the file keeps every unacknowledged row across a reopen (a crash) while
 * acknowledged ones let it shrink back to its header.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "journal_int.h"
#include "bytes.h"

#include "err.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t frag[] = {1, 2, 3, 4, 5};

static struct sto_recording_input row_n(int n, char *path, size_t size)
{
    snprintf(path, size, "recordings/cam/main/2026-01-01/00-00-%02d.mp4", n);
    return (struct sto_recording_input){.camera_id = "cam",
                                        .stream = "main",
                                        .start_us = 1000000LL * n,
                                        .end_us = 1000000LL * (n + 1),
                                        .path = path,
                                        .bytes = 1000u + (unsigned)n,
                                        .codec = "avc1.64001f",
                                        .width = 1280,
                                        .height = 720,
                                        .sha256 = "ab",
                                        .fragments = frag,
                                        .fragments_size = sizeof(frag)};
}

/* A file image: the header, then rows 1..n. */
static uint8_t *image(int n, size_t *len)
{
    uint8_t *buf = malloc(REC_JOURNAL_HEADER_SIZE);
    memcpy(buf, REC_JOURNAL_HEADER, REC_JOURNAL_HEADER_SIZE);
    *len = REC_JOURNAL_HEADER_SIZE;
    for (int i = 1; i <= n; i++) {
        char path[128];
        struct sto_recording_input r = row_n(i, path, sizeof(path));
        uint8_t *rec;
        size_t size;
        assert_int_equal(rec_journal_encode(&r, (uint64_t)i, &rec, &size), 0);
        buf = realloc(buf, *len + size);
        memcpy(buf + *len, rec, size);
        *len += size;
        free(rec);
    }
    return buf;
}

struct seen {
    uint64_t seqs[16];
    size_t n;
};

static int collect(void *arg, const struct rec_journal_record *rec)
{
    struct seen *s = arg;
    char path[128];
    struct sto_recording_input want = row_n((int)rec->seq, path, sizeof(path));
    assert_string_equal(rec->row.path, want.path);
    assert_string_equal(rec->row.camera_id, "cam");
    assert_string_equal(rec->row.codec, "avc1.64001f");
    assert_int_equal(rec->row.start_us, want.start_us);
    assert_int_equal(rec->row.end_us, want.end_us);
    assert_int_equal(rec->row.bytes, want.bytes);
    assert_int_equal(rec->row.fragments_size, sizeof(frag));
    assert_memory_equal(rec->row.fragments, frag, sizeof(frag));
    if (s->n < 16)
        s->seqs[s->n++] = rec->seq;
    return 0;
}

static void test_journal_records_round_trip(void **state)
{
    size_t len;
    uint8_t *buf = image(3, &len);
    struct seen s = {0};
    struct rec_journal_parse_result res;
    assert_int_equal(rec_journal_parse(buf, len, collect, &s, &res), 0);
    assert_int_equal(res.records, 3);
    assert_int_equal(res.valid_size, len);
    assert_int_equal(res.skipped_bytes, 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.seqs[2], 3);
    free(buf);
}

static void test_journal_torn_tail_keeps_the_whole_records(void **state)
{
    size_t len, len2;
    uint8_t *buf = image(3, &len);
    uint8_t *two = image(2, &len2);
    free(two);
    for (size_t cut = len2; cut < len; cut++) {
        struct seen s = {0};
        struct rec_journal_parse_result res;
        assert_int_equal(rec_journal_parse(buf, cut, collect, &s, &res), 0);
        assert_int_equal(res.records, 2);
        assert_int_equal(res.valid_size, len2);
    }
    free(buf);
}

static void test_journal_crc_mismatch_skips_only_the_damaged_record(void **state)
{
    size_t len, len1;
    uint8_t *buf = image(3, &len);
    free(image(1, &len1));
    buf[len1 + 40] ^= 0x55; /* inside record 2's payload */
    struct seen s = {0};
    struct rec_journal_parse_result res;
    assert_int_equal(rec_journal_parse(buf, len, collect, &s, &res), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seqs[0], 1);
    assert_int_equal(s.seqs[1], 3);
    assert_true(res.skipped_bytes > 0);
    assert_int_equal(res.valid_size, len);
    free(buf);
}

static void test_journal_wrong_header_is_a_parse_error(void **state)
{
    size_t len;
    uint8_t *buf = image(1, &len);
    buf[0] = 'X';
    struct rec_journal_parse_result res;
    assert_int_equal(rec_journal_parse(buf, len, NULL, NULL, &res), HORUS_EPARSE);
    assert_int_equal(rec_journal_parse(buf, 3, NULL, NULL, &res), HORUS_EPARSE);
    free(buf);
}

static void test_journal_crc_is_zlibs(void **state)
{
    assert_int_equal(horus_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

static int replay_collect(void *arg, const struct rec_journal_record *rec)
{
    return collect(arg, rec);
}

static void test_journal_file_keeps_unacknowledged_rows_across_a_reopen(void **state)
{
    char dir[] = "/tmp/horus-journal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/recordings/index.journal", dir);
    rec_journal *j;
    assert_int_equal(rec_journal_open(path, NULL, &j), 0);
    uint64_t seqs[3];
    for (int i = 0; i < 3; i++) {
        char p[128];
        struct sto_recording_input r = row_n(i + 1, p, sizeof(p));
        assert_int_equal(rec_journal_append(j, &r, &seqs[i]), 0);
    }
    assert_int_equal(seqs[0], 1);
    assert_int_equal(rec_journal_pending(j), 3);
    rec_journal_ack(j, seqs[1]);
    assert_int_equal(rec_journal_pending(j), 2);
    assert_true(rec_journal_has_path(j, "recordings/cam/main/2026-01-01/00-00-01.mp4"));
    assert_false(rec_journal_has_path(j, "recordings/cam/main/2026-01-01/00-00-02.mp4"));
    rec_journal_unref(j); /* a crash: acknowledgements are memory only */

    /* A torn tail after the last record, as a crash mid-append leaves. */
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\x49\x48\x52\x4a\x10", 5), 5);
    close(fd);

    assert_int_equal(rec_journal_open(path, NULL, &j), 0);
    assert_int_equal(rec_journal_pending(j), 3); /* all three come back; replays are no-ops */
    struct seen s = {0};
    assert_int_equal(rec_journal_replay(j, replay_collect, &s), 0);
    assert_int_equal(s.n, 3);
    for (size_t i = 0; i < s.n; i++)
        rec_journal_ack(j, s.seqs[i]);
    assert_int_equal(rec_journal_pending(j), 0);
    /* New entries continue the numbering. */
    char p[128];
    struct sto_recording_input r = row_n(4, p, sizeof(p));
    uint64_t seq;
    assert_int_equal(rec_journal_append(j, &r, &seq), 0);
    assert_int_equal(seq, 4);
    rec_journal_unref(j);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_journal_is_cut_back_when_every_row_is_acknowledged(void **state)
{
    char dir[] = "/tmp/horus-journal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/index.journal", dir);
    rec_journal *j;
    assert_int_equal(rec_journal_open(path, NULL, &j), 0);
    struct stat st;
    /* Past the compaction threshold (256 KiB) with every row acknowledged. */
    uint8_t *big = calloc(1, 64 * 1024);
    for (int i = 0; i < 6; i++) {
        char p[128];
        struct sto_recording_input r = row_n(i, p, sizeof(p));
        r.fragments = big;
        r.fragments_size = 64 * 1024;
        uint64_t seq;
        assert_int_equal(rec_journal_append(j, &r, &seq), 0);
        rec_journal_ack(j, seq);
    }
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size < 256 * 1024); /* it was cut back once on the way */
    /* With a row waiting, nothing is cut. */
    char p[128];
    struct sto_recording_input r = row_n(9, p, sizeof(p));
    r.fragments = big;
    r.fragments_size = 64 * 1024;
    uint64_t seq;
    for (int i = 0; i < 6; i++)
        assert_int_equal(rec_journal_append(j, &r, &seq), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 6 * 64 * 1024);
    rec_journal_unref(j);
    free(big);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_journal_with_a_bad_header_is_set_aside(void **state)
{
    char dir[] = "/tmp/horus-journal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], aside[300];
    snprintf(path, sizeof(path), "%s/index.journal", dir);
    snprintf(aside, sizeof(aside), "%s.corrupt", path);
    FILE *f = fopen(path, "w");
    fputs("not a journal", f);
    fclose(f);
    rec_journal *j;
    assert_int_equal(rec_journal_open(path, NULL, &j), 0);
    assert_int_equal(rec_journal_pending(j), 0);
    rec_journal_unref(j);
    struct stat st;
    assert_int_equal(stat(aside, &st), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, REC_JOURNAL_HEADER_SIZE);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal_records_round_trip),
        cmocka_unit_test(test_journal_torn_tail_keeps_the_whole_records),
        cmocka_unit_test(test_journal_crc_mismatch_skips_only_the_damaged_record),
        cmocka_unit_test(test_journal_wrong_header_is_a_parse_error),
        cmocka_unit_test(test_journal_crc_is_zlibs),
        cmocka_unit_test(test_journal_file_keeps_unacknowledged_rows_across_a_reopen),
        cmocka_unit_test(test_journal_is_cut_back_when_every_row_is_acknowledged),
        cmocka_unit_test(test_journal_with_a_bad_header_is_set_aside),
    };
    return cmocka_run_group_tests_name("record.journal", tests, NULL, NULL);
}
