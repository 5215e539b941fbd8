/*
 * DESIGN: the single out-of-memory policy. Writes with write(2) only, since
 * the heap is what failed.
 */
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Noreturn void oom(size_t size)
{
    char msg[96];
    int n = snprintf(msg, sizeof(msg), "horus: out of memory allocating %zu bytes\n", size);
    if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
        abort();
    abort();
}

void *horus_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *horus_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *horus_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        oom(size);
    return q;
}

char *horus_strdup(const char *s)
{
    return s ? horus_strndup(s, strlen(s)) : NULL;
}

char *horus_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = horus_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *horus_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    return s;
}

void horus_bug(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "horus: BUG at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
