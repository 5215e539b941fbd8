/*
 * Checks shared by the adapters' broker tests (test_nats.c, test_amqp.c):
 * the same batch of event messages, and the same stalled-broker case, so
 * every adapter is held to the same contract (src/bus/bus_client.h).
 * Include after cmocka.h.
 */
#ifndef HORUS_TEST_ADAPTER_CHECK_H
#define HORUS_TEST_ADAPTER_CHECK_H

#include "bus_client.h"

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

static inline int64_t adapter_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Whether every process of process group pgrp is stopped ('T' in
 * /proc/PID/stat), and at least one was seen.
 */
static inline bool adapter_group_stopped(pid_t pgrp)
{
    DIR *d = opendir("/proc");
    if (!d)
        return false;
    int seen = 0, stopped = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        char state = 0;
        int ppid = 0, group = 0;
        if (!p || sscanf(p + 1, " %c %d %d", &state, &ppid, &group) != 3 || group != pgrp)
            continue;
        seen++;
        stopped += state == 'T' || state == 't';
    }
    closedir(d);
    return seen > 0 && seen == stopped;
}

/*
 * Waits (at most 5 s) until the broker's whole process group is stopped:
 * SIGSTOP is delivered asynchronously, and on a loaded machine a broker
 * can still answer a few messages after kill() returned.
 */
static inline void adapter_wait_stopped(pid_t pgrp)
{
    for (int i = 0; i < 500 && !adapter_group_stopped(pgrp); i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/*
 * m[0..n): reliable JSON events {"n": first + i}, alternating between the
 * cameras door and yard (subject and "camera" header), with a "sequence"
 * header; their bytes live in bodies, h and seq.
 */
static inline void adapter_make_batch(struct bus_msg *m, char (*bodies)[32],
                                      struct bus_header (*h)[2], char (*seq)[16], size_t n,
                                      size_t first)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(bodies[i], sizeof bodies[i], "{\"n\":%zu}", first + i);
        snprintf(seq[i], sizeof seq[i], "%zu", first + i);
        h[i][0] = (struct bus_header){"camera", i % 2 ? "yard" : "door"};
        h[i][1] = (struct bus_header){"sequence", seq[i]};
        m[i] = (struct bus_msg){
            .subject = i % 2 ? "horus.events.yard" : "horus.events.door",
            .body = bodies[i],
            .len = strlen(bodies[i]),
            .headers = h[i],
            .nheaders = 2,
            .content_type = "application/json",
            .is_reliable = true,
        };
    }
}

/*
 * With the connected adapter self, stops the broker (SIGSTOP to the
 * process group server) and publishes 16 MiB to subject with a 1 s
 * deadline: the publish must fail with nothing acknowledged, well before
 * 10 s, and after SIGCONT the adapter must connect again. Frees self.
 */
static inline void adapter_check_stalled_publish(const struct bus_client_ops *ops, void *self,
                                                 pid_t server, const char *subject)
{
    char why[512] = "";
    /* 16 MiB: more than the socket buffers hold, so writing blocks too. */
    enum { N = 4096 };
    static char big[4096];
    static struct bus_msg m[N];
    for (size_t i = 0; i < N; i++)
        m[i] = (struct bus_msg){
            .subject = subject, .body = big, .len = sizeof big, .is_reliable = true};
    kill(-server, SIGSTOP);
    adapter_wait_stopped(server);
    int64_t t0 = adapter_mono_ms();
    size_t acked = 99;
    int rc = ops->publish(self, m, N, 1000, &acked, why, sizeof why);
    int64_t took = adapter_mono_ms() - t0;
    kill(-server, SIGCONT);
    print_message("# stopped broker: rc %d after %lld ms (%s)\n", rc, (long long)took, why);
    assert_true(rc < 0);
    assert_int_equal(acked, 0);
    assert_true(took < 10000); /* the deadline holds, give or take the close */
    ops->close(self);
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), 0);
    ops->free(self);
}

#endif
