/*
 * libFuzzer driver for the credential parsers of src/auth: the bearer token
 * of an Authorization header, the horus_session cookie of a Cookie header,
 * the same-origin check of Origin/Referer, an API key's shape and a camera
 * grant. The first byte picks a split point so that the Host header and
 * the public URL vary too. Checks the invariants the gate relies on: what
 * comes out fits its buffer, holds only its grammar's characters, and a
 * parsed API key has a 16-hex-digit id.
 */
#include "auth.h"
#include "auth_api_key.h"
#include "auth_http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t split = data[0] % (size);
    data++;
    size--;
    if (split > size)
        split = size;
    char *a = malloc(split + 1);
    memcpy(a, data, split);
    a[split] = '\0';
    char *b = malloc(size - split + 1);
    memcpy(b, data + split, size - split);
    b[size - split] = '\0';

    char out[AUTH_TOKEN_MAX + 1];
    if (auth_bearer_parse(a, out, sizeof(out)) == 0) {
        size_t n = strlen(out);
        if (n == 0 || n > AUTH_TOKEN_MAX || strchr(out, ' '))
            abort();
    }
    char cookie[64];
    if (auth_cookie_get(a, "horus_session", cookie, sizeof(cookie)) == 0) {
        if (strlen(cookie) >= sizeof(cookie) || strpbrk(cookie, " ;,\"\\"))
            abort();
    }
    (void)auth_origin_is_same(a, b, b);
    (void)auth_origin_is_same(b, a, NULL);
    char id[AUTH_API_KEY_ID_LEN + 1];
    const char *secret = NULL;
    if (auth_api_key_parse(a, id, &secret) == 0) {
        if (strlen(id) != AUTH_API_KEY_ID_LEN || strspn(id, "0123456789abcdef") != strlen(id))
            abort();
        if (secret < a || secret > a + split)
            abort();
    }
    char grant[1024], why[160];
    if (auth_cameras_normalize(b, grant, sizeof(grant), why, sizeof(why)) == 0) {
        struct auth_principal *p = auth_principal_new(AUTH_KIND_API_KEY, "", "", AUTH_ROLE_VIEWER);
        if (auth_principal_set_cameras(p, grant) != 0)
            abort(); /* a normalized grant parses again */
        auth_principal_free(p);
    }
    free(a);
    free(b);
    return 0;
}
