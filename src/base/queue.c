/*
 * DESIGN: a ring buffer under one mutex with one condition variable for
 * consumers. Media producers never wait, so recording can never be stalled
 * by a slow consumer; the drop-oldest variant keeps the freshest data,
 * which is what every consumer of live media wants. The one exception is
 * queue_push_wait, for rare control messages that must not be lost (a
 * camera's removal): it sleeps on a second condition variable that
 * consumers signal only while such a producer waits, so the media path
 * pays one branch. The condition variables use CLOCK_MONOTONIC so
 * wall-clock jumps do not stretch timeouts.
 */
#include "queue.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct horus_queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    pthread_cond_t nonfull; /* queue_push_wait's producers sleep here */
    unsigned nfull_waiters; /* producers waiting on nonfull */
    void **ring; /* owned; items are borrowed until popped */
    size_t capacity;
    size_t head; /* index of the oldest item */
    size_t len;
    bool is_closed;
};

horus_queue *queue_new(size_t capacity)
{
    horus_assert(capacity >= 1);
    horus_queue *q = horus_calloc(1, sizeof(*q));
    q->ring = horus_calloc(capacity, sizeof(void *));
    q->capacity = capacity;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->nonempty, &attr);
    pthread_cond_init(&q->nonfull, &attr);
    pthread_condattr_destroy(&attr);
    return q;
}

void queue_free(horus_queue *q, void (*free_cb)(void *item))
{
    if (!q)
        return;
    for (size_t i = 0; i < q->len; i++)
        if (free_cb)
            free_cb(q->ring[(q->head + i) % q->capacity]);
    pthread_cond_destroy(&q->nonempty);
    pthread_cond_destroy(&q->nonfull);
    pthread_mutex_destroy(&q->lock);
    free(q->ring);
    free(q);
}

static void ring_append(horus_queue *q, void *item)
{
    q->ring[(q->head + q->len) % q->capacity] = item;
    q->len++;
}

static void *ring_take(horus_queue *q)
{
    void *item = q->ring[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->len--;
    return item;
}

int queue_push(horus_queue *q, void *item)
{
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    if (q->is_closed)
        rc = HORUS_ESTOPPED;
    else if (q->len == q->capacity)
        rc = -EAGAIN;
    else
        ring_append(q, item);
    pthread_mutex_unlock(&q->lock);
    if (rc == 0)
        pthread_cond_signal(&q->nonempty);
    return rc;
}

int queue_push_wait(horus_queue *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    while (!q->is_closed && q->len == q->capacity) {
        q->nfull_waiters++;
        pthread_cond_wait(&q->nonfull, &q->lock);
        q->nfull_waiters--;
    }
    int rc = q->is_closed ? HORUS_ESTOPPED : 0;
    if (rc == 0)
        ring_append(q, item);
    pthread_mutex_unlock(&q->lock);
    if (rc == 0)
        pthread_cond_signal(&q->nonempty);
    return rc;
}

int queue_push_drop_oldest(horus_queue *q, void *item, void **dropped)
{
    *dropped = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->is_closed) {
        pthread_mutex_unlock(&q->lock);
        return HORUS_ESTOPPED;
    }
    if (q->len == q->capacity)
        *dropped = ring_take(q);
    ring_append(q, item);
    pthread_mutex_unlock(&q->lock);
    pthread_cond_signal(&q->nonempty);
    return 0;
}

int queue_pop_batch(horus_queue *q, void **items, size_t max, int timeout_ms)
{
    horus_assert(max >= 1);
    struct timespec deadline;
    if (timeout_ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
    }
    pthread_mutex_lock(&q->lock);
    while (q->len == 0 && !q->is_closed) {
        if (timeout_ms == 0)
            break;
        int rc = timeout_ms < 0 ? pthread_cond_wait(&q->nonempty, &q->lock)
                                : pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline);
        if (rc == ETIMEDOUT)
            break;
    }
    int n = 0;
    while (q->len > 0 && (size_t)n < max)
        items[n++] = ring_take(q);
    bool is_closed = q->is_closed;
    bool has_full_waiters = n > 0 && q->nfull_waiters > 0;
    pthread_mutex_unlock(&q->lock);
    if (has_full_waiters)
        pthread_cond_broadcast(&q->nonfull);
    if (n > 0)
        return n;
    return is_closed ? HORUS_ESTOPPED : -ETIMEDOUT;
}

int queue_pop(horus_queue *q, void **item, int timeout_ms)
{
    int n = queue_pop_batch(q, item, 1, timeout_ms);
    return n > 0 ? 0 : n;
}

void queue_close(horus_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->is_closed = true;
    pthread_mutex_unlock(&q->lock);
    pthread_cond_broadcast(&q->nonempty);
    pthread_cond_broadcast(&q->nonfull);
}

size_t queue_len(horus_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

unsigned queue_producers_waiting(horus_queue *q)
{
    pthread_mutex_lock(&q->lock);
    unsigned n = q->nfull_waiters;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t queue_capacity(const horus_queue *q)
{
    return q->capacity;
}
