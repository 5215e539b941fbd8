/*
 * Named threads. Every thread Horus starts has a name of at most 15
 * characters (visible in top -H, gdb and crash logs) and is listed in
 * ARCHITECTURE.md. Signals are blocked in every thread but main.
 */
#ifndef HORUS_THREAD_H
#define HORUS_THREAD_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

typedef void *(*horus_thread_fn)(void *arg);

/*
 * Starts fn(arg) on a new thread named name (truncated to 15 characters)
 * with all signals blocked. Returns 0 or -errno; on failure nothing runs.
 */
int horus_thread_start(pthread_t *out, const char *name, horus_thread_fn fn, void *arg);

/* Names the calling thread. */
void horus_thread_set_name(const char *name);

/*
 * Condition variables whose timed waits run on CLOCK_MONOTONIC, so a wall
 * clock set back (NTP, an operator) cannot stretch a wait: initialise with
 * horus_cond_init_monotonic and compute deadlines with horus_deadline_ms.
 */
void horus_cond_init_monotonic(pthread_cond_t *cond);

/* The CLOCK_MONOTONIC time ms milliseconds from now, for pthread_cond_timedwait. */
struct timespec horus_deadline_ms(int64_t ms);

#endif
