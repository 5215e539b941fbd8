/*
 * Named threads. Every thread Horus starts has a name of at most 15
 * characters (visible in top -H, gdb and crash logs) and is listed in
 * ARCHITECTURE.md. Signals are blocked in every thread but main.
 */
#ifndef HORUS_THREAD_H
#define HORUS_THREAD_H

#include <pthread.h>

typedef void *(*horus_thread_fn)(void *arg);

/*
 * Starts fn(arg) on a new thread named name (truncated to 15 characters)
 * with all signals blocked. Returns 0 or -errno; on failure nothing runs.
 */
int horus_thread_start(pthread_t *out, const char *name, horus_thread_fn fn, void *arg);

/* Names the calling thread. */
void horus_thread_set_name(const char *name);

#endif
