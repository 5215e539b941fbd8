/*
 * Allocation wrappers. Out of memory is not recoverable in a recorder that
 * must keep its promises, so these log once and abort in one place; callers
 * never check for NULL (docs/conventions.md §4).
 */
#ifndef HORUS_MEM_H
#define HORUS_MEM_H

#include <stddef.h>

void *horus_malloc(size_t size);
void *horus_calloc(size_t n, size_t size);
void *horus_realloc(void *p, size_t size);
/* Returns a new copy of s, or NULL when s is NULL. */
char *horus_strdup(const char *s);
char *horus_strndup(const char *s, size_t n);
/* Returns a new string formatted like printf. */
char *horus_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Aborts with file:line: for programmer mistakes only, never for I/O errors. */
_Noreturn void horus_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define HORUS_BUG(...) horus_bug(__FILE__, __LINE__, __VA_ARGS__)
#define horus_assert(cond)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            horus_bug(__FILE__, __LINE__, "assertion failed: %s", #cond);                          \
    } while (0)

#define HORUS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
