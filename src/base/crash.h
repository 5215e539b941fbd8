/*
 * Crash handler: on SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT writes the
 * signal, the faulting thread's name and a backtrace to the log sink and to
 * standard error, then lets the default action run (core dump, exit code).
 */
#ifndef HORUS_CRASH_H
#define HORUS_CRASH_H

/* Installs the handlers and an alternate stack for the calling thread. Thread: main, once. */
void crash_handler_install(void);

#endif
