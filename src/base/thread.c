/*
 * DESIGN: thread creation in one place so that naming and signal masks are
 * never forgotten. The mask is inherited, so we block around pthread_create.
 */
#include "thread.h"

#include <signal.h>
#include <string.h>

void horus_thread_set_name(const char *name)
{
    char buf[16];
    strncpy(buf, name, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = '\0';
    pthread_setname_np(pthread_self(), buf);
}

int horus_thread_start(pthread_t *out, const char *name, horus_thread_fn fn, void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    /* Crash signals stay deliverable so the backtrace handler runs in any thread. */
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGABRT);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(out, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    char buf[16];
    strncpy(buf, name, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = '\0';
    pthread_setname_np(*out, buf);
    return 0;
}
