/*
 * DESIGN: two ways to feed the server, one interface.
 * Live: the encoder thread pushes access units into a mutex-protected list
 * and pokes an eventfd; the server thread drains the list. The list is
 * bounded (oldest dropped) so a stuck server cannot eat the memory.
 * Replay: the store holds the whole loop in memory, sorted by send time.
 * A timerfd (absolute CLOCK_MONOTONIC) wakes the server when the next unit
 * is due; loop k adds k * period to every timestamp, so RTP time keeps
 * growing across loops. If the server falls more than a second behind, the
 * replay clock is moved forward instead of bursting the backlog. The flood
 * fault runs the replay clock `speed` times faster than real time: the
 * schedule (and with it every timestamp) is divided by the factor.
 * Thread: server, except cs_source_push (any).
 */
#include "source.h"

#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LIVE_QUEUE_MAX 1024
#define REPLAY_MAX_LAG_NS 1000000000

struct cs_source {
    bool is_live;
    int fd; /* eventfd (live) or timerfd (replay) */

    /* live */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cs_au *head; /* owned list */
    cs_au *tail;
    size_t count;
    uint64_t dropped;

    /* replay */
    cs_store store;
    size_t pos;
    int64_t loop;
    int64_t start_ns;
    int speed; /* replay clock rate: 1 = real time; N = the flood fault */
    bool is_started;
};

void cs_store_init(cs_store *store)
{
    memset(store, 0, sizeof(*store));
}

void cs_store_append(cs_store *store, cs_au *au)
{
    if (store->n == store->cap) {
        store->cap = store->cap ? store->cap * 2 : 256;
        store->aus = horus_realloc(store->aus, store->cap * sizeof(*store->aus));
    }
    store->aus[store->n++] = au;
}

void cs_store_sort(cs_store *store)
{
    /* Insertion sort: the input is nearly sorted (two interleaved tracks). */
    for (size_t i = 1; i < store->n; i++) {
        cs_au *au = store->aus[i];
        size_t j = i;
        while (j > 0 && store->aus[j - 1]->send_ns > au->send_ns) {
            store->aus[j] = store->aus[j - 1];
            j--;
        }
        store->aus[j] = au;
    }
}

void cs_store_release(cs_store *store)
{
    for (size_t i = 0; i < store->n; i++)
        free(store->aus[i]);
    free(store->aus);
    cs_store_init(store);
}

void cs_store_trim_audio(cs_store *store, int64_t end_samples, int frame_samples)
{
    size_t kept = 0;
    for (size_t i = 0; i < store->n; i++) {
        cs_au *au = store->aus[i];
        if (au->track == CS_TRACK_AUDIO && au->pts + frame_samples > end_samples)
            free(au);
        else
            store->aus[kept++] = au;
    }
    store->n = kept;
}

cs_source *cs_source_new_live(void)
{
    cs_source *src = horus_calloc(1, sizeof(*src));
    src->is_live = true;
    src->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (src->fd < 0) {
        fprintf(stderr, "horus-camsim: eventfd: %s\n", strerror(errno));
        abort();
    }
    pthread_mutex_init(&src->lock, NULL);
    pthread_cond_init(&src->cond, NULL);
    return src;
}

cs_source *cs_source_new_replay(cs_store *store)
{
    cs_source *src = horus_calloc(1, sizeof(*src));
    src->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (src->fd < 0) {
        fprintf(stderr, "horus-camsim: timerfd: %s\n", strerror(errno));
        abort();
    }
    src->store = *store;
    src->speed = 1;
    cs_store_init(store);
    return src;
}

void cs_source_free(cs_source *src)
{
    if (!src)
        return;
    if (src->is_live) {
        while (src->head) {
            cs_au *next = src->head->next;
            free(src->head);
            src->head = next;
        }
        pthread_mutex_destroy(&src->lock);
        pthread_cond_destroy(&src->cond);
    }
    cs_store_release(&src->store);
    if (src->fd >= 0)
        close(src->fd);
    free(src);
}

void cs_source_push(cs_source *src, cs_au *au)
{
    au->next = NULL;
    pthread_mutex_lock(&src->lock);
    cs_au *drop = NULL;
    if (src->count == LIVE_QUEUE_MAX) {
        drop = src->head;
        src->head = drop->next;
        src->count--;
        src->dropped++;
        if (!src->head)
            src->tail = NULL;
    }
    bool was_empty = src->head == NULL;
    if (src->tail)
        src->tail->next = au;
    else
        src->head = au;
    src->tail = au;
    src->count++;
    pthread_cond_broadcast(&src->cond);
    pthread_mutex_unlock(&src->lock);
    free(drop);
    if (was_empty) {
        uint64_t one = 1;
        if (write(src->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            fprintf(stderr, "horus-camsim: eventfd write: %s\n", strerror(errno));
    }
}

const cs_au *cs_source_wait_video(cs_source *src, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&src->lock);
    const cs_au *found = NULL;
    for (;;) {
        for (const cs_au *au = src->head; au && !found; au = au->next) {
            if (au->track == CS_TRACK_VIDEO)
                found = au;
        }
        if (found || pthread_cond_timedwait(&src->cond, &src->lock, &deadline) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&src->lock);
    return found;
}

const cs_au *cs_source_first_video(const cs_source *src)
{
    for (size_t i = 0; i < src->store.n; i++) {
        if (src->store.aus[i]->track == CS_TRACK_VIDEO)
            return src->store.aus[i];
    }
    return NULL;
}

int cs_source_fd(const cs_source *src)
{
    return src->fd;
}

static int64_t replay_due_ns(const cs_source *src)
{
    return src->start_ns +
           (src->loop * src->store.period_ns + src->store.aus[src->pos]->send_ns) / src->speed;
}

void cs_source_set_speed(cs_source *src, int speed)
{
    if (!src->is_live && speed >= 1)
        src->speed = speed;
}

static void replay_arm(cs_source *src)
{
    int64_t due = replay_due_ns(src);
    struct itimerspec its = {0};
    its.it_value.tv_sec = due / 1000000000;
    its.it_value.tv_nsec = due % 1000000000;
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1; /* zero would disarm */
    if (timerfd_settime(src->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        fprintf(stderr, "horus-camsim: timerfd_settime: %s\n", strerror(errno));
}

void cs_source_start(cs_source *src, int64_t now_ns)
{
    if (src->is_live || src->store.n == 0)
        return;
    src->start_ns = now_ns;
    src->is_started = true;
    replay_arm(src);
}

static void drain_live(cs_source *src, cs_source_cb cb, void *ud)
{
    uint64_t count;
    if (read(src->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        fprintf(stderr, "horus-camsim: eventfd read: %s\n", strerror(errno));
    pthread_mutex_lock(&src->lock);
    cs_au *list = src->head;
    src->head = src->tail = NULL;
    src->count = 0;
    pthread_mutex_unlock(&src->lock);
    while (list) {
        cs_au *next = list->next;
        cb(ud, list, list->pts);
        free(list);
        list = next;
    }
}

static void drain_replay(cs_source *src, int64_t now_ns, cs_source_cb cb, void *ud)
{
    uint64_t expirations;
    if (read(src->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        fprintf(stderr, "horus-camsim: timerfd read: %s\n", strerror(errno));
    if (!src->is_started)
        return;
    int64_t lag_ns = now_ns - replay_due_ns(src);
    if (lag_ns > REPLAY_MAX_LAG_NS) {
        fprintf(stderr, "horus-camsim: replay %lld ms late, moving its clock on\n",
                (long long)(lag_ns / 1000000));
        src->start_ns += lag_ns; /* resume from here; don't burst the backlog */
    }
    while (replay_due_ns(src) <= now_ns) {
        const cs_au *au = src->store.aus[src->pos];
        cb(ud, au, au->pts + src->loop * src->store.period_ts[au->track]);
        if (++src->pos == src->store.n) {
            src->pos = 0;
            src->loop++;
        }
    }
    replay_arm(src);
}

void cs_source_drain(cs_source *src, int64_t now_ns, cs_source_cb cb, void *ud)
{
    if (src->is_live)
        drain_live(src, cb, ud);
    else
        drain_replay(src, now_ns, cb, ud);
}
