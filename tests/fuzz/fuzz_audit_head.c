/*
 * libFuzzer driver for the audit head line parser (src/auth/audit_verify.c,
 * auth_audit_head_parse), which reads the log `horus audit verify --log`
 * is given: any bytes, in both log formats. The input is not
 * NUL-terminated (the parser must respect len). Checks what the verifier
 * relies on: a parsed head has an id >= 0 and a 64-character lowercase
 * hex hash.
 */
#include "audit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so reading past len is caught by ASan. */
    char *line = malloc(size ? size : 1);
    if (size)
        memcpy(line, data, size);
    struct auth_audit_head h;
    if (auth_audit_head_parse(line, size, &h) == 1) {
        if (h.id < 0 || strlen(h.hash) != 64)
            __builtin_trap();
        for (size_t i = 0; i < 64; i++)
            if (!((h.hash[i] >= '0' && h.hash[i] <= '9') || (h.hash[i] >= 'a' && h.hash[i] <= 'f')))
                __builtin_trap();
    }
    free(line);
    return 0;
}
