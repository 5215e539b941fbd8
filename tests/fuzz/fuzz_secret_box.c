/*
 * libFuzzer driver for the stored form of secrets at rest
 * (src/storage/secret_box.c, src/storage/camera_secrets.c): the input is
 * given to sto_secret_parse, to sto_secret_open under a fixed key, and, as
 * a camera URL, to sto_camera_url_open and sto_camera_url_seal. Checks the
 * invariants callers rely on: a parse that succeeds describes a ciphertext
 * inside the input; an open of bytes nobody sealed fails with a code, never
 * a crash; a URL sealed then opened comes back unchanged.
 */
#include "err.h"
#include "secret_box.h"
#include "storage_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sto_secret_box *fuzz_box(void)
{
    static sto_secret_box *box;
    if (!box) {
        char *errmsg = NULL;
        struct sto_secret_box_options o = {
            .key_text = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            .key_file = "/nonexistent"};
        if (sto_secret_box_open(&o, &box, &errmsg) < 0)
            __builtin_trap();
    }
    return box;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sto_secret_box *box = fuzz_box();
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    struct sto_secret_parts parts;
    if (sto_secret_parse(s, size, &parts) == 0) {
        if (parts.ct_hex < s || parts.ct_hex + 2 * parts.ct_len > s + size ||
            parts.ct_len > STO_SECRET_MAX_PLAIN || strlen(parts.key_id) != STO_SECRET_KEY_ID_LEN)
            __builtin_trap();
    }
    char *plain = NULL;
    int rc = sto_secret_open(box, s, "aad", &plain, NULL);
    if (rc != 0 && rc != HORUS_EPARSE && rc != -ENOKEY && rc != -EBADMSG)
        __builtin_trap();
    free(plain);

    char *opened = NULL;
    rc = sto_camera_url_open(box, "cam", "url", s, &opened);
    if (rc != 0 && rc != HORUS_EPARSE && rc != -ENOKEY && rc != -EBADMSG)
        __builtin_trap();
    free(opened);

    char *sealed = NULL;
    rc = sto_camera_url_seal(box, "cam", "url", s, NULL, &sealed);
    if (rc == 0 && sealed) {
        char *back = NULL;
        if (sto_camera_url_open(box, "cam", "url", sealed, &back) != 0 || !back ||
            strcmp(back, s) != 0)
            __builtin_trap();
        free(back);
        /* Sealing the same URL again with the stored value as prev keeps it. */
        char *kept = NULL;
        if (sto_camera_url_seal(box, "cam", "url", s, sealed, &kept) != 0 || !kept ||
            strcmp(kept, sealed) != 0)
            __builtin_trap();
        free(kept);
    }
    free(sealed);
    free(s);
    return 0;
}
