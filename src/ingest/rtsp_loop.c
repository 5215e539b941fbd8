/*
 * DESIGN: the ing-rtsp-N threads. A pool of `ingest.threads` loops (one
 * per CPU core by default) starts with the first native stream's
 * ing_stream_start (its options carry the thread count) and stops when
 * the last one is joined. The pool is the one piece of process-wide state
 * in ingest, on purpose: every stream of the process shares its threads;
 * it is refcounted under its own lock, and nothing else about it is global
 * (the thread count travels with each acquire). Each loop is one thread with one epoll set,
 * one eventfd for commands and one receive buffer shared by all of its
 * items (streams), and it drives each item through four callbacks:
 * attach, io (epoll events of the item's socket), timer, detach, and aux
 * for the extra sockets an item may register (a UDP session's RTP and
 * RTCP). An extra socket's epoll data is its ing_loop_aux pointer with the
 * low bit set (both structures are pointer-aligned), so one epoll_wait
 * tells an item's socket, an extra socket and the command eventfd apart.
 *
 * Commands: ing_loop_add / ing_loop_remove only flag the item and queue it
 * under the loop's lock, then wake the loop; the loop applies them between
 * epoll batches, so an item is never detached while an event for it may
 * still be pending in the batch being processed. detach_cb is the last call
 * the loop makes for an item; its owner waits for it before freeing.
 *
 * Timers: each item has one due time. Setting it lowers the loop's next
 * wake-up if needed; when that passes, one sweep over the loop's items
 * fires every due item and computes the next wake-up. Items set their due
 * times seldom (deadlines, the stall and keep-alive checks, breaker
 * retries), never per packet, so sweeps are rare.
 *
 * Batched reads (`ingest.read_batch`): cameras write RTP packet by packet,
 * and a loop that woke for each of them made one epoll_wait and one recv
 * per packet. After a wake that had socket events, the loop sleeps out the
 * rest of the batch window before it waits again, so each socket is then
 * read once for everything that came meanwhile (the kernel queues it; the
 * receive buffer holds a window's worth many times over). Packets wait at
 * most one window longer; commands and timers likewise. docs/design/0056.
 *
 * An item is placed on the loop with the fewest items. Lock order: pool
 * lock, then a loop's lock; neither is held across callbacks.
 */
#define LOG_MODULE "ingest"

#include "rtsp_int.h"

#include "log.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE (256 * 1024) /* > the largest interleaved frame (64 KiB) plus a reply */
#define MAX_EVENTS 64
#define MAX_THREADS 64

enum { CMD_ADD = 1, CMD_REMOVE = 2 };

struct ing_loop {
    pthread_t thread;
    int epfd, evfd;
    atomic_bool stop;
    pthread_mutex_t mu; /* guards cmd_head and the items' cmds/is_queued */
    struct ing_loop_item *cmd_head;
    struct ing_loop_item *items; /* loop thread only */
    atomic_uint nitems; /* for placement */
    int64_t next_due_ns; /* loop thread only */
    int64_t batch_ns; /* the read batch window; 0 = read at every wake */
    uint8_t *rbuf; /* owned */
};

static struct {
    pthread_mutex_t mu;
    unsigned refs;
    unsigned nloops;
    struct ing_loop *loops; /* owned, nloops of them */
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

int64_t ing_loop_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void loop_wake(struct ing_loop *l)
{
    uint64_t one = 1;
    ssize_t r = write(l->evfd, &one, sizeof(one));
    (void)r; /* a full counter (EAGAIN) wakes the loop as well */
}

static void loop_queue(struct ing_loop *l, struct ing_loop_item *it, unsigned cmd)
{
    pthread_mutex_lock(&l->mu);
    it->cmds |= cmd;
    if (!it->is_queued) {
        it->is_queued = true;
        it->cmd_next = l->cmd_head;
        l->cmd_head = it;
    }
    pthread_mutex_unlock(&l->mu);
    loop_wake(l);
}

void ing_loop_add(struct ing_loop *loop, struct ing_loop_item *it)
{
    it->loop = loop;
    it->fd = -1;
    it->events = 0;
    it->due_ns = INT64_MAX;
    it->is_attached = false;
    atomic_fetch_add(&loop->nitems, 1);
    loop_queue(loop, it, CMD_ADD);
}

void ing_loop_remove(struct ing_loop_item *it)
{
    loop_queue(it->loop, it, CMD_REMOVE);
}

int ing_loop_fd_set(struct ing_loop_item *it, int fd, uint32_t events)
{
    struct ing_loop *l = it->loop;
    if (fd < 0) {
        if (it->fd >= 0)
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, it->fd, NULL);
        it->fd = -1;
        it->events = 0;
        return 0;
    }
    struct epoll_event ev = {.events = events, .data.ptr = it};
    int op = it->fd == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (it->fd == fd && it->events == events)
        return 0;
    if (it->fd >= 0 && it->fd != fd)
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, it->fd, NULL);
    if (epoll_ctl(l->epfd, op, fd, &ev) < 0)
        return -errno;
    it->fd = fd;
    it->events = events;
    return 0;
}

int ing_loop_aux_set(struct ing_loop_item *it, struct ing_loop_aux *a, int fd, unsigned tag)
{
    struct ing_loop *l = it->loop;
    if (fd < 0) {
        if (a->fd >= 0)
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, a->fd, NULL);
        a->fd = -1;
        return 0;
    }
    if (a->fd >= 0 && a->fd != fd)
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, a->fd, NULL);
    a->item = it;
    a->tag = tag;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(uintptr_t)a | 1};
    if (epoll_ctl(l->epfd, a->fd == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    a->fd = fd;
    return 0;
}

void ing_loop_timer_set(struct ing_loop_item *it, int64_t due_ns)
{
    it->due_ns = due_ns;
    if (due_ns < it->loop->next_due_ns)
        it->loop->next_due_ns = due_ns;
}

uint8_t *ing_loop_rbuf(struct ing_loop_item *it, size_t *size)
{
    *size = RBUF_SIZE;
    return it->loop->rbuf;
}

/* ---- the loop thread ---- */

static void loop_commands(struct ing_loop *l)
{
    pthread_mutex_lock(&l->mu);
    struct ing_loop_item *list = l->cmd_head;
    l->cmd_head = NULL;
    pthread_mutex_unlock(&l->mu);
    while (list) {
        struct ing_loop_item *it = list;
        /*
         * Until is_queued is cleared, a new command only adds bits here;
         * after, it queues the item afresh: cmd_next is read before that.
         */
        pthread_mutex_lock(&l->mu);
        list = it->cmd_next;
        unsigned cmds = it->cmds;
        it->cmds = 0;
        it->is_queued = false;
        pthread_mutex_unlock(&l->mu);
        if ((cmds & CMD_ADD) && !it->is_attached) {
            it->is_attached = true;
            it->prev = NULL;
            it->next = l->items;
            if (l->items)
                l->items->prev = it;
            l->items = it;
            it->ops->attach_cb(it);
        }
        if (cmds & CMD_REMOVE) {
            if (it->is_attached) {
                it->is_attached = false;
                if (it->prev)
                    it->prev->next = it->next;
                else
                    l->items = it->next;
                if (it->next)
                    it->next->prev = it->prev;
            }
            atomic_fetch_sub(&l->nitems, 1);
            /* The owner may free the item as soon as detach_cb returns. */
            it->ops->detach_cb(it);
        }
    }
}

static void loop_timers(struct ing_loop *l, int64_t now)
{
    l->next_due_ns = INT64_MAX;
    for (struct ing_loop_item *it = l->items; it; it = it->next) {
        if (it->due_ns <= now) {
            it->due_ns = INT64_MAX;
            it->ops->timer_cb(it);
        }
        if (it->due_ns < l->next_due_ns)
            l->next_due_ns = it->due_ns;
    }
}

/* Sleeps out the batch window that began at woke_ns (stops cut it short). */
static void batch_wait(struct ing_loop *l, int64_t woke_ns)
{
    int64_t left = woke_ns + l->batch_ns - ing_loop_now_ns();
    if (left <= 0 || atomic_load(&l->stop))
        return;
    struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void *loop_main(void *arg)
{
    struct ing_loop *l = arg;
    struct epoll_event events[MAX_EVENTS];
    while (!atomic_load(&l->stop)) {
        int timeout = -1;
        if (l->next_due_ns != INT64_MAX) {
            int64_t wait = l->next_due_ns - ing_loop_now_ns();
            timeout = wait <= 0 ? 0 : (int)((wait + 999999) / 1000000);
        }
        int n = epoll_wait(l->epfd, events, MAX_EVENTS, timeout);
        if (n < 0 && errno != EINTR) {
            log_error_limited("epoll_wait", NULL, "ing-rtsp epoll_wait: %s", strerror(errno));
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        }
        int64_t woke_ns = l->batch_ns ? ing_loop_now_ns() : 0;
        bool has_io = false, has_cmds = false;
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 & 1) {
                struct ing_loop_aux *a = (struct ing_loop_aux *)(uintptr_t)(events[i].data.u64 - 1);
                /* Closed earlier in this batch: a->fd is -1 (the owner outlives its detach). */
                if (a->fd >= 0 && a->item->is_attached && a->item->ops->aux_cb) {
                    a->item->ops->aux_cb(a->item, a->tag);
                    has_io = true;
                }
                continue;
            }
            struct ing_loop_item *it = events[i].data.ptr;
            if (!it) {
                uint64_t v;
                ssize_t r = read(l->evfd, &v, sizeof(v));
                (void)r;
                has_cmds = true;
                continue;
            }
            if (it->is_attached) {
                it->ops->io_cb(it, events[i].events);
                has_io = true;
            }
        }
        if (has_cmds)
            loop_commands(l);
        if (l->next_due_ns <= ing_loop_now_ns())
            loop_timers(l, ing_loop_now_ns());
        if (has_io)
            batch_wait(l, woke_ns);
    }
    /* Stopping: the pool only stops when no stream uses it, but detach anything queued. */
    loop_commands(l);
    return NULL;
}

/* ---- the pool ---- */

static void loop_close(struct ing_loop *l)
{
    if (l->evfd >= 0)
        close(l->evfd);
    if (l->epfd >= 0)
        close(l->epfd);
    pthread_mutex_destroy(&l->mu);
    free(l->rbuf);
}

static int loop_open(struct ing_loop *l, unsigned index, int64_t batch_ns)
{
    memset(l, 0, sizeof(*l));
    l->epfd = l->evfd = -1;
    l->batch_ns = batch_ns;
    pthread_mutex_init(&l->mu, NULL);
    l->next_due_ns = INT64_MAX;
    l->rbuf = horus_malloc(RBUF_SIZE);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->evfd < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0)
        return -errno;
    char name[16];
    snprintf(name, sizeof(name), "ing-rtsp-%u", index);
    return horus_thread_start(&l->thread, name, loop_main, l);
}

static void pool_stop(void)
{
    for (unsigned i = 0; i < pool.nloops; i++) {
        atomic_store(&pool.loops[i].stop, true);
        loop_wake(&pool.loops[i]);
    }
    for (unsigned i = 0; i < pool.nloops; i++) {
        pthread_join(pool.loops[i].thread, NULL);
        loop_close(&pool.loops[i]);
    }
    free(pool.loops);
    pool.loops = NULL;
    pool.nloops = 0;
}

static int pool_start(unsigned n, int64_t batch_ns)
{
    if (n == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (unsigned)cores : 1;
    }
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    pool.loops = horus_calloc(n, sizeof(*pool.loops));
    for (unsigned i = 0; i < n; i++) {
        int rc = loop_open(&pool.loops[i], i, batch_ns);
        if (rc < 0) {
            loop_close(&pool.loops[i]);
            pool.nloops = i;
            pool_stop();
            return rc;
        }
        pool.nloops = i + 1;
    }
    log_info("native RTSP client: %u loop thread%s, reads batched over %.1f ms", n,
             n == 1 ? "" : "s", (double)batch_ns / 1e6);
    return 0;
}

int ing_loop_acquire(unsigned threads, int batch_us, struct ing_loop **out)
{
    pthread_mutex_lock(&pool.mu);
    int rc = 0;
    if (pool.refs == 0)
        rc = pool_start(threads, batch_us > 0 ? (int64_t)batch_us * 1000 : 0);
    if (rc == 0) {
        pool.refs++;
        struct ing_loop *best = &pool.loops[0];
        for (unsigned i = 1; i < pool.nloops; i++)
            if (atomic_load(&pool.loops[i].nitems) < atomic_load(&best->nitems))
                best = &pool.loops[i];
        *out = best;
    }
    pthread_mutex_unlock(&pool.mu);
    return rc;
}

void ing_loop_release(struct ing_loop *loop)
{
    if (!loop)
        return;
    pthread_mutex_lock(&pool.mu);
    if (pool.refs > 0 && --pool.refs == 0)
        pool_stop();
    pthread_mutex_unlock(&pool.mu);
}
