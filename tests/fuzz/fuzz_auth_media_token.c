/*
 * libFuzzer driver for the media-token checker in src/auth/media_token.c.
 * The first byte picks the scope a request asks for (kind, stream, export
 * id), the rest is the `t` query value. Runs on a fixed fake clock with one
 * key ring, so the token the ring issues for that scope is fixed too.
 * Checks: never a crash or an unknown code, a reason for every refusal,
 * the token never echoed in it, and nothing but the issued token (up to
 * '=' padding) is accepted: anything else would be a forgery. The
 * expiry reader gets the same bytes.
 */
#include "media_token.h"

#include "clock.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static clock_fake fake;
static auth_media_keys *keys;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!keys) {
        clock_fake_init(&fake, INT64_C(1767225600000));
        struct auth_media_keys_options o = {.clock = &fake.base};
        if (auth_media_keys_new(&o, &keys) != 0)
            __builtin_trap();
    }
    if (size < 1)
        return 0;
    uint8_t pick = data[0];
    char *token = malloc(size);
    memcpy(token, data + 1, size - 1);
    token[size - 1] = '\0';

    struct auth_media_scope want = {
        .kind = (enum auth_media_kind)(pick % 5),
        .camera = "cam-a",
        .stream = pick & 0x10 ? "sub" : "main",
        .export_id = pick & 0x20 ? "exp-1" : NULL,
    };
    if (want.kind == AUTH_MEDIA_PLAYBACK) {
        want.from_us = INT64_C(1767225000000000);
        want.to_us = want.from_us + INT64_C(60000000);
    }
    char why[256];
    int rc = auth_media_token_check(keys, token, &want, why, sizeof(why));
    if (rc != 0 && rc != -EINVAL && rc != -EACCES && rc != -ENOKEY && rc != -EKEYEXPIRED)
        __builtin_trap();
    if (rc != 0 && (why[0] == '\0' || (token[0] && strlen(token) > 8 && strstr(why, token))))
        __builtin_trap();
    /* The expiry reader (share links) takes the same bytes: any answer, never a crash. */
    int64_t exp_s = 0;
    int erc = auth_media_token_expiry_s(token, &exp_s);
    if (erc != 0 && erc != -EINVAL)
        __builtin_trap();
    if (rc == 0 && erc != 0)
        __builtin_trap(); /* a token that opens something has an expiry to show */
    if (rc == 0) {
        char issued[AUTH_MEDIA_TOKEN_MAX];
        if (auth_media_token_issue(keys, &want, issued, sizeof(issued)) < 0)
            __builtin_trap();
        size_t n = strlen(token);
        while (n > 0 && token[n - 1] == '=')
            n--;
        if (n != strlen(issued) || memcmp(token, issued, n) != 0)
            __builtin_trap();
    }
    free(token);
    return 0;
}
