/* Tests for src/base/thread.c: monotonic condition-variable deadlines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "thread.h"

#include <errno.h>

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void test_deadlines_are_normalised_monotonic_times(void **state)
{
    (void)state;
    for (int64_t ms = 0; ms < 2500; ms += 37) {
        int64_t before = mono_us();
        struct timespec d = horus_deadline_ms(ms);
        int64_t at = (int64_t)d.tv_sec * 1000000 + d.tv_nsec / 1000;
        assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
        assert_true(at >= before + ms * 1000);
        assert_true(at <= mono_us() + ms * 1000);
    }
}

static void test_a_timed_wait_ends_at_its_monotonic_deadline(void **state)
{
    (void)state;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond;
    horus_cond_init_monotonic(&cond);
    int64_t t0 = mono_us();
    struct timespec d = horus_deadline_ms(60);
    pthread_mutex_lock(&lock);
    int rc = 0;
    while (rc == 0) /* spurious wake-ups wait again for the same deadline */
        rc = pthread_cond_timedwait(&cond, &lock, &d);
    pthread_mutex_unlock(&lock);
    int64_t waited = mono_us() - t0;
    assert_int_equal(rc, ETIMEDOUT);
    /* A cond on the realtime clock reads this deadline as 1970 plus the uptime: no wait at all. */
    assert_true(waited >= 60000);
    assert_true(waited < 5000000);
    pthread_cond_destroy(&cond);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadlines_are_normalised_monotonic_times),
        cmocka_unit_test(test_a_timed_wait_ends_at_its_monotonic_deadline),
    };
    return cmocka_run_group_tests_name("thread", tests, NULL, NULL);
}
