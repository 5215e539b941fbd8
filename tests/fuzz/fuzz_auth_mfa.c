/*
 * libFuzzer driver for the stored form of TOTP secrets read back from the
 * database (auth_mfa_secret_open in src/auth/auth_mfa.c): any text either
 * opens to a secret that seals back to the same text (one canonical form,
 * so a row cannot mean two secrets), or is refused with -EINVAL / -ENOSPC;
 * the output buffer is never overrun.
 */
#include "auth_mfa.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    uint8_t secret[64];
    int n = auth_mfa_secret_open(text, secret, sizeof(secret));
    if (n > 0) {
        if ((size_t)n > sizeof(secret))
            __builtin_trap();
        char back[AUTH_MFA_SECRET_STORED_MAX];
        int m = auth_mfa_secret_seal(secret, (size_t)n, back, sizeof(back));
        if (m < 0 && m != -ENOSPC)
            __builtin_trap();
        /* Canonical: the same text up to the case of the base32 and its '=' padding. */
        size_t len = strlen(text);
        while (len > 0 && text[len - 1] == '=')
            len--;
        if (m >= 0 && ((size_t)m != len || strncasecmp(back, text, len) != 0))
            __builtin_trap();
    } else if (n != -EINVAL && n != -ENOSPC) {
        __builtin_trap();
    }
    free(text);
    return 0;
}
