/*
 * DESIGN: the handler only uses async-signal-safe calls (write, the
 * backtrace functions after a warm-up call made at install time so that
 * libgcc is already loaded) and then re-raises the signal with the default
 * disposition (SA_RESETHAND), so the exit status and core dump are those of
 * the original fault.
 */
#include "crash.h"

#include "log.h"

#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(int fd, const char *s)
{
    if (write(fd, s, strlen(s)) < 0)
        return;
}

static void put_num(int fd, long v)
{
    char buf[24];
    int i = (int)sizeof(buf) - 1;
    buf[i] = '\0';
    if (v == 0)
        buf[--i] = '0';
    while (v > 0 && i > 0) {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    }
    put(fd, buf + i);
}

static void report(int fd, int sig)
{
    char name[16] = "?";
    pthread_getname_np(pthread_self(), name, sizeof(name));
    put(fd, "horus: crash: signal ");
    put_num(fd, sig);
    put(fd, " (");
    put(fd, strsignal(sig));
    put(fd, ") in thread '");
    put(fd, name);
    put(fd, "'; backtrace:\n");
    void *frames[64];
    int n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, fd);
}

static void on_crash(int sig, siginfo_t *info, void *uctx)
{
    int fd = log_fd();
    log_crash_flush();
    report(fd, sig);
    if (fd != STDERR_FILENO)
        report(STDERR_FILENO, sig);
    raise(sig);
}

void crash_handler_install(void)
{
    void *warm[2];
    backtrace(warm, 2);
    static char altstack[64 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_crash;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}
