/*
 * libFuzzer driver for bus_nats_subject_covers (src/bus/nats_subject.c),
 * which reads the subjects of an existing JetStream stream as the server
 * sends them. The input is "pattern\0subject" (no NUL: both the same).
 * Checks what the adapter relies on: a pattern without wildcards covers
 * exactly itself, and a covered subject is covered by ">" too.
 */
#include "nats_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An exact-size NUL-terminated copy, so reading past it is caught by ASan. */
static char *copy(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t pn = nul ? (size_t)(nul - data) : size;
    char *pattern = copy(data, pn);
    char *subject = nul ? copy(nul + 1, size - pn - 1) : copy(data, size);
    bool covers = bus_nats_subject_covers(pattern, subject);
    if (covers && !strpbrk(pattern, "*>") && strcmp(pattern, subject) != 0)
        __builtin_trap();
    if (covers && !bus_nats_subject_covers(">", subject))
        __builtin_trap();
    free(pattern);
    free(subject);
    return 0;
}
