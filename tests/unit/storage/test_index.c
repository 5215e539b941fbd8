/* Tests for src/record/index.c: the compact fragment index blob. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_index_round_trips_gaps_and_keyframes_in_few_bytes(void **state)
{
    struct sto_part in[300];
    uint64_t off = 1234;
    int64_t t = 0;
    for (size_t i = 0; i < 300; i++) {
        in[i] = (struct sto_part){.offset = off,
                                  .size_bytes = 90000 + (uint32_t)i * 7,
                                  .start_90k = t,
                                  .duration_90k = 18000,
                                  .is_keyframe = i % 5 == 0};
        off += in[i].size_bytes;
        t += 18000 + (i == 100 ? 4500 : 0) - (i == 200 ? 30 : 0); /* a gap, an overlap */
    }
    uint8_t *blob;
    size_t size, n;
    assert_int_equal(sto_index_encode(in, 300, &blob, &size), 0);
    assert_true(size <= 300 * 7 + 8);
    struct sto_part *out;
    assert_int_equal(sto_index_decode(blob, size, &out, &n), 0);
    assert_int_equal(n, 300);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].offset, in[i].offset);
        assert_int_equal(out[i].size_bytes, in[i].size_bytes);
        assert_int_equal(out[i].start_90k, in[i].start_90k);
        assert_int_equal(out[i].duration_90k, in[i].duration_90k);
        assert_int_equal(out[i].is_keyframe, in[i].is_keyframe);
    }
    free(out);
    /* Every truncation and a trailing byte are refused. */
    for (size_t cut = 0; cut < size; cut++)
        assert_int_equal(sto_index_decode(blob, cut, &out, &n), HORUS_EPARSE);
    uint8_t *longer = malloc(size + 1);
    memcpy(longer, blob, size);
    longer[size] = 0;
    assert_int_equal(sto_index_decode(longer, size + 1, &out, &n), HORUS_EPARSE);
    free(longer);
    free(blob);
}

static void test_index_refuses_parts_that_are_not_contiguous(void **state)
{
    struct sto_part p[2] = {{.offset = 100, .size_bytes = 10}, {.offset = 111, .size_bytes = 1}};
    uint8_t *blob;
    size_t size, n;
    assert_int_equal(sto_index_encode(p, 2, &blob, &size), -EINVAL);
    assert_int_equal(sto_index_encode(p, 0, &blob, &size), 0);
    struct sto_part *out;
    assert_int_equal(sto_index_decode(blob, size, &out, &n), 0);
    assert_int_equal(n, 0);
    assert_null(out);
    free(blob);
    static const uint8_t v2[] = {2, 0, 0};
    assert_int_equal(sto_index_decode(v2, sizeof(v2), &out, &n), HORUS_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_round_trips_gaps_and_keyframes_in_few_bytes),
        cmocka_unit_test(test_index_refuses_parts_that_are_not_contiguous),
    };
    return cmocka_run_group_tests_name("record.index", tests, NULL, NULL);
}
