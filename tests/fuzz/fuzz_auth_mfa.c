/*
 * libFuzzer driver for the stored form of TOTP secrets read back from the
 * database (auth_mfa_secret_open in src/auth/auth_mfa.c over
 * sto_mfa_secret_open in src/storage/mfa_secrets.c): any text either opens
 * to a secret that seals and opens back to the same bytes, or is refused
 * with -EINVAL / -ENOSPC / -ENOKEY / -EBADMSG; the output buffer is never
 * overrun. A fixed key stands for <data>/secret.key.
 */
#include "auth_mfa.h"
#include "secret_box.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sto_secret_box *box_once(void)
{
    static sto_secret_box *box;
    if (!box) {
        char *errmsg = NULL;
        struct sto_secret_box_options o = {.key_text = KEY, .key_file = "/nonexistent"};
        if (sto_secret_box_open(&o, &box, &errmsg) < 0)
            __builtin_trap();
    }
    return box;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sto_secret_box *box = box_once();
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    uint8_t secret[64], again[64];
    int n = auth_mfa_secret_open(box, "fuzz", text, secret, sizeof(secret));
    if (n > 0) {
        if ((size_t)n > sizeof(secret))
            __builtin_trap();
        char back[AUTH_MFA_SECRET_STORED_MAX * 2];
        int m = auth_mfa_secret_seal(box, "fuzz", secret, (size_t)n, back, sizeof(back));
        if (m < 0 && m != -ENOSPC)
            __builtin_trap();
        if (m >= 0 && (auth_mfa_secret_open(box, "fuzz", back, again, sizeof(again)) != n ||
                       memcmp(secret, again, (size_t)n) != 0))
            __builtin_trap();
    } else if (n != -EINVAL && n != -ENOSPC && n != -ENOKEY && n != -EBADMSG) {
        __builtin_trap();
    }
    free(text);
    return 0;
}
