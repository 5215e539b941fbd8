/* Tests for src/base/queue.c: bounds, drop-oldest, timeouts, close. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ITEM(n) ((void *)(uintptr_t)(n))

static void test_items_come_out_in_order(void **state)
{
    horus_queue *q = queue_new(3);
    assert_int_equal(queue_push(q, ITEM(1)), 0);
    assert_int_equal(queue_push(q, ITEM(2)), 0);
    void *it;
    assert_int_equal(queue_pop(q, &it, 0), 0);
    assert_ptr_equal(it, ITEM(1));
    assert_int_equal(queue_push(q, ITEM(3)), 0);
    assert_int_equal(queue_push(q, ITEM(4)), 0);
    void *batch[8];
    assert_int_equal(queue_pop_batch(q, batch, 8, 0), 3);
    assert_ptr_equal(batch[0], ITEM(2));
    assert_ptr_equal(batch[2], ITEM(4));
    queue_free(q, NULL);
}

static void test_full_queue_refuses_without_blocking(void **state)
{
    horus_queue *q = queue_new(2);
    assert_int_equal(queue_push(q, ITEM(1)), 0);
    assert_int_equal(queue_push(q, ITEM(2)), 0);
    assert_int_equal(queue_push(q, ITEM(3)), -EAGAIN);
    assert_int_equal(queue_len(q), 2);
    queue_free(q, NULL);
}

static void test_drop_oldest_hands_back_the_evicted_item(void **state)
{
    horus_queue *q = queue_new(2);
    void *dropped;
    assert_int_equal(queue_push_drop_oldest(q, ITEM(1), &dropped), 0);
    assert_null(dropped);
    assert_int_equal(queue_push_drop_oldest(q, ITEM(2), &dropped), 0);
    assert_int_equal(queue_push_drop_oldest(q, ITEM(3), &dropped), 0);
    assert_ptr_equal(dropped, ITEM(1));
    void *it;
    assert_int_equal(queue_pop(q, &it, 0), 0);
    assert_ptr_equal(it, ITEM(2));
    queue_free(q, NULL);
}

static void test_pop_on_empty_queue_times_out(void **state)
{
    horus_queue *q = queue_new(1);
    void *it;
    assert_int_equal(queue_pop(q, &it, 0), -ETIMEDOUT);
    assert_int_equal(queue_pop(q, &it, 5), -ETIMEDOUT);
    queue_free(q, NULL);
}

struct consumer {
    horus_queue *q;
    _Atomic pid_t tid; /* 0 until the thread runs */
    int rc; /* what queue_pop returned; read after the join */
};

static void *wait_pop(void *arg)
{
    struct consumer *c = arg;
    atomic_store(&c->tid, gettid());
    void *it;
    c->rc = queue_pop(c->q, &it, -1);
    return NULL;
}

/* True when thread tid sits in a futex wait (a condition variable), as /proc shows it. */
static bool is_in_futex_wait(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
    FILE *f = fopen(path, "r");
    long nr = -1;
    if (f) {
        if (fscanf(f, "%ld", &nr) != 1) /* "running" */
            nr = -1;
        fclose(f);
    }
    return nr == SYS_futex;
}

/*
 * Waits (yielding, at most 10 s) until the consumer is blocked in
 * queue_pop: seen in a futex wait several times in a row, so a brief
 * lock wait on its way in does not count.
 */
static void wait_until_blocked(struct consumer *c)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int seen = 0;
    while (seen < 20) {
        pid_t tid = atomic_load(&c->tid);
        seen = tid && is_in_futex_wait(tid) ? seen + 1 : 0;
        sched_yield();
        clock_gettime(CLOCK_MONOTONIC, &now);
        assert_true(now.tv_sec - t0.tv_sec < 10);
    }
}

static void test_close_wakes_a_blocked_consumer_and_refuses_pushes(void **state)
{
    horus_queue *q = queue_new(1);
    struct consumer c = {.q = q};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_pop, &c), 0);
    wait_until_blocked(&c); /* else close could come first and wake nobody */
    queue_close(q);
    /* Bounded, so a close that wakes nobody fails the test instead of hanging it. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    assert_int_equal(pthread_timedjoin_np(t, NULL, &deadline), 0);
    assert_int_equal(c.rc, HORUS_ESTOPPED);
    assert_int_equal(queue_push(q, ITEM(1)), HORUS_ESTOPPED);
    queue_free(q, NULL);
}

static void test_close_still_drains_queued_items(void **state)
{
    horus_queue *q = queue_new(2);
    assert_int_equal(queue_push(q, ITEM(7)), 0);
    queue_close(q);
    void *it;
    assert_int_equal(queue_pop(q, &it, -1), 0);
    assert_ptr_equal(it, ITEM(7));
    assert_int_equal(queue_pop(q, &it, -1), HORUS_ESTOPPED);
    queue_free(q, NULL);
}

static int freed;
static void count_free(void *item)
{
    freed++;
    free(item);
}

static void test_free_releases_remaining_items(void **state)
{
    horus_queue *q = queue_new(4);
    queue_push(q, malloc(8));
    queue_push(q, malloc(8));
    freed = 0;
    queue_free(q, count_free);
    assert_int_equal(freed, 2);
    queue_free(NULL, NULL);
}

struct waiting_push {
    horus_queue *q;
    void *item;
    int rc;
};

static void *push_wait_main(void *arg)
{
    struct waiting_push *w = arg;
    w->rc = queue_push_wait(w->q, w->item);
    return NULL;
}

static void test_push_wait_is_woken_by_a_pop_and_keeps_order(void **state)
{
    horus_queue *q = queue_new(1);
    int a, b;
    assert_int_equal(queue_push(q, &a), 0);
    struct waiting_push w = {.q = q, .item = &b, .rc = 1};
    pthread_t t;
    pthread_create(&t, NULL, push_wait_main, &w);
    /* The queue is full: the producer blocks until this pop makes room. */
    while (queue_producers_waiting(q) == 0)
        sched_yield();
    assert_int_equal(queue_len(q), 1);
    void *got;
    assert_int_equal(queue_pop(q, &got, -1), 0);
    assert_ptr_equal(got, &a);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_int_equal(queue_pop(q, &got, 0), 0);
    assert_ptr_equal(got, &b);
    queue_free(q, NULL);
}

static void test_push_wait_on_a_full_queue_returns_when_it_closes(void **state)
{
    horus_queue *q = queue_new(1);
    int a, b;
    assert_int_equal(queue_push(q, &a), 0);
    struct waiting_push w = {.q = q, .item = &b, .rc = 1};
    pthread_t t;
    pthread_create(&t, NULL, push_wait_main, &w);
    while (queue_producers_waiting(q) == 0)
        sched_yield();
    queue_close(q);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, HORUS_ESTOPPED);
    assert_int_equal(queue_len(q), 1);
    queue_free(q, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_come_out_in_order),
        cmocka_unit_test(test_full_queue_refuses_without_blocking),
        cmocka_unit_test(test_drop_oldest_hands_back_the_evicted_item),
        cmocka_unit_test(test_pop_on_empty_queue_times_out),
        cmocka_unit_test(test_close_wakes_a_blocked_consumer_and_refuses_pushes),
        cmocka_unit_test(test_close_still_drains_queued_items),
        cmocka_unit_test(test_free_releases_remaining_items),
        cmocka_unit_test(test_push_wait_is_woken_by_a_pop_and_keeps_order),
        cmocka_unit_test(test_push_wait_on_a_full_queue_returns_when_it_closes),
    };
    return cmocka_run_group_tests_name("core.queue", tests, NULL, NULL);
}
