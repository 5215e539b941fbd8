/*
 * libFuzzer driver for the second-factor parsers in src/auth/totp.c: the
 * input as base32 text (auth_base32_decode), as a typed TOTP code and as a
 * typed recovery code. Checks the invariants callers rely on: a decoded
 * secret encodes back to the same text (upper case, without padding: the
 * decoder refuses every non-canonical form but case and padding), the
 * decoder never writes more than it returns, and a code that verifies
 * names a step within one of now.
 */
#include "totp.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';

    uint8_t out[256];
    int n = auth_base32_decode(text, size, out, sizeof(out));
    if (n >= 0) {
        if ((size_t)n > sizeof(out))
            __builtin_trap();
        size_t len = size;
        while (len > 0 && text[len - 1] == '=')
            len--;
        char *back = malloc(AUTH_BASE32_LEN((size_t)n) + 1);
        int m = auth_base32_encode(out, (size_t)n, back, AUTH_BASE32_LEN((size_t)n) + 1);
        if (m < 0 || (size_t)m != len)
            __builtin_trap();
        for (size_t i = 0; i < len; i++) {
            char c = text[i] >= 'a' && text[i] <= 'z' ? (char)(text[i] - 'a' + 'A') : text[i];
            if (back[i] != c)
                __builtin_trap();
        }
        free(back);
        if (n > 0 && n <= 64) {
            int64_t step = -1;
            int rc = auth_totp_verify(out, (size_t)n, "123456", 1700000000, -1, &step);
            if (rc == 0 && (step < 56666665 || step > 56666667))
                __builtin_trap();
        }
    } else if (n != -EINVAL && n != -ENOSPC) {
        __builtin_trap();
    }

    int64_t step = -1;
    static const uint8_t key[] = "12345678901234567890";
    int rc = auth_totp_verify(key, 20, text, 1700000000, 56666665, &step);
    if (rc == 0 && step != 56666666 && step != 56666667)
        __builtin_trap();
    char hash[AUTH_SHA256_HEX_LEN];
    if (auth_recovery_code_hash(text, hash) == 0 && strlen(hash) != 64)
        __builtin_trap();
    free(text);
    return 0;
}
