/*
 * DESIGN: the watcher of suspended connections, shared by deferred replies
 * (http_defer.c) and streamed replies (http_stream.c).
 *
 * libmicrohttpd does not watch a suspended socket, so a client that hangs
 * up while its request waits would go unnoticed until the owner replies.
 * The watcher holds an epoll set with each suspended socket registered for
 * EPOLLRDHUP (not EPOLLIN: a pipelined next request is not a hang-up) and
 * an eventfd that wakes it. Before each wait it calls tick, which does the
 * owner's timed work (deadlines, keep-alives) and says how long to sleep;
 * each hang-up is handed to hangup with the id the socket was added with
 * (the owner looks the id up, so a request completed meanwhile is simply
 * not found). The id WAKE_ID (0) is the eventfd's: owners count from 1.
 */
#include "http_int.h"

#include "log.h"
#include "thread.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "http"

#define WAKE_ID 0
#define NEVENTS 64

static void *watch_main(void *arg)
{
    struct http_watch *w = arg;
    struct epoll_event evs[NEVENTS];
    while (!atomic_load(&w->is_quitting)) {
        int timeout_ms = w->tick(w->arg);
        int n = epoll_wait(w->epfd, evs, NEVENTS, timeout_ms);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == WAKE_ID) {
                uint64_t v;
                ssize_t r = read(w->evfd, &v, sizeof(v));
                (void)r;
            } else {
                w->hangup(w->arg, evs[i].data.u64);
            }
        }
    }
    return NULL;
}

int http_watch_start(struct http_watch *w, const char *name, int (*tick)(void *arg),
                     void (*hangup)(void *arg, uint64_t id), void *arg)
{
    w->tick = tick;
    w->hangup = hangup;
    w->arg = arg;
    w->has_thread = false;
    atomic_init(&w->is_quitting, false);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = w->epfd < 0 || w->evfd < 0 ? -errno : 0;
    if (rc == 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_ID};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev) < 0)
            rc = -errno;
    }
    if (rc == 0)
        rc = horus_thread_start(&w->thread, name, watch_main, w);
    if (rc == 0)
        w->has_thread = true;
    return rc;
}

void http_watch_wake(struct http_watch *w)
{
    uint64_t one = 1;
    ssize_t n = write(w->evfd, &one, sizeof(one));
    (void)n; /* a full counter already means "wake up" */
}

void http_watch_stop(struct http_watch *w)
{
    if (w->has_thread) {
        atomic_store(&w->is_quitting, true);
        http_watch_wake(w);
        pthread_join(w->thread, NULL);
        w->has_thread = false;
    }
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->evfd >= 0)
        close(w->evfd);
    w->epfd = w->evfd = -1;
}

void http_watch_suspend(struct http_watch *w, struct MHD_Connection *mhd, int fd, uint64_t id)
{
    MHD_suspend_connection(mhd);
    if (fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLRDHUP, .data.u64 = id};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        log_debug("watch a suspended connection: %s", strerror(errno));
}

void http_watch_unwatch(struct http_watch *w, int fd)
{
    if (fd >= 0)
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void http_watch_resume(struct http_watch *w, struct MHD_Connection *mhd, int fd)
{
    http_watch_unwatch(w, fd);
    MHD_resume_connection(mhd);
}

int http_watch_conn_fd(struct MHD_Connection *mhd)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}
