/*
 * bus_nats_subject_covers (src/bus/nats_subject.c): which existing stream
 * subjects cover the ones the NATS adapter publishes to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nats_int.h"

static void literal_subjects_cover_only_themselves(void **state)
{
    (void)state;
    assert_true(bus_nats_subject_covers("horus.events.>", "horus.events.>"));
    assert_true(bus_nats_subject_covers("a.b", "a.b"));
    assert_false(bus_nats_subject_covers("a.b", "a.c"));
    assert_false(bus_nats_subject_covers("a.b", "a.b.c"));
    assert_false(bus_nats_subject_covers("a.b.c", "a.b"));
    assert_false(bus_nats_subject_covers("ab", "a"));
}

static void wildcards_cover_what_they_match(void **state)
{
    (void)state;
    assert_true(bus_nats_subject_covers(">", "horus.events.>"));
    assert_true(bus_nats_subject_covers("horus.>", "horus.events.>"));
    assert_true(bus_nats_subject_covers("horus.*.>", "horus.frames.>"));
    assert_true(bus_nats_subject_covers("horus.*.*", "horus.events.*"));
    /* '*' is one token, the publisher's '>' one or more. */
    assert_false(bus_nats_subject_covers("horus.events.*", "horus.events.>"));
    assert_false(bus_nats_subject_covers("horus.events.>", "horus.events"));
    assert_false(bus_nats_subject_covers("other.>", "horus.events.>"));
    assert_false(bus_nats_subject_covers("horus.>x", "horus.events.>"));
}

static void malformed_subjects_cover_nothing(void **state)
{
    (void)state;
    assert_false(bus_nats_subject_covers("", "a"));
    assert_false(bus_nats_subject_covers("a.", "a."));
    assert_false(bus_nats_subject_covers("a..b", "a.c.b"));
    assert_false(bus_nats_subject_covers("horus.", "horus.events.>"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_subjects_cover_only_themselves),
        cmocka_unit_test(wildcards_cover_what_they_match),
        cmocka_unit_test(malformed_subjects_cover_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
