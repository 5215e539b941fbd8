/*
 * libFuzzer driver for the credential masker (src/base/mask.c). The first
 * byte picks the output size; the rest is masked as a value and as text
 * into that size and into a large buffer. Invariants: the output is always
 * NUL-terminated inside its buffer, and any byte string placed as the
 * password of "rtsp://u:...@h/x" comes out as exactly "rtsp://u:***@h/x"
 * (the userinfo ends at the last '@', whatever the password holds).
 */
#include "mask.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void bounded(const char *in, size_t cap)
{
    char *buf = malloc(cap ? cap : 1);
    horus_mask_url(in, buf, cap);
    if (cap)
        check(memchr(buf, '\0', cap) != NULL);
    horus_mask_text(in, buf, cap);
    if (cap)
        check(memchr(buf, '\0', cap) != NULL);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cap = data[0];
    char *in = malloc(size);
    memcpy(in, data + 1, size - 1);
    in[size - 1] = '\0';
    size_t n = strlen(in);

    bounded(in, cap);
    bounded(in, n * 4 + 16);

    if (n > 0) {
        static const char head[] = "rtsp://u:", tail[] = "@h/x";
        char *url = malloc(sizeof(head) + n + sizeof(tail));
        memcpy(url, head, sizeof(head) - 1);
        memcpy(url + sizeof(head) - 1, in, n);
        memcpy(url + sizeof(head) - 1 + n, tail, sizeof(tail));
        char out[64];
        horus_mask_url(url, out, sizeof(out));
        check(strcmp(out, "rtsp://u:***@h/x") == 0);
        free(url);
    }
    free(in);
    return 0;
}
