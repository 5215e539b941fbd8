/*
 * libFuzzer driver for the parsers of GET /api/v1/events/stream
 * (src/api/events_args.c): the input is split at '\n'; the first piece is a
 * Last-Event-ID, the rest are ?camera= values. Invariants: an accepted id
 * is all digits and prints back to the same text (leading zeros aside);
 * an accepted camera list is sorted, at most API_CAMERA_LIST_MAX ids, each
 * 1..API_CAMERA_ID_MAX bytes without a comma.
 */
#include "query_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    const char *vals[API_CAMERA_LIST_MAX + 8];
    size_t n = 0;
    char *p = text;
    for (;;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (n < sizeof(vals) / sizeof(vals[0]))
            vals[n++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    bool has;
    uint64_t id;
    if (api_event_id_parse(vals[0], &has, &id) == 0 && has) {
        const char *s = vals[0];
        while (*s == '0' && s[1])
            s++;
        char back[24];
        snprintf(back, sizeof(back), "%" PRIu64, id);
        check(strcmp(back, s) == 0);
    }
    char **ids;
    size_t nids;
    char why[128];
    if (api_camera_list_parse(vals + 1, n - 1, &ids, &nids, why, sizeof(why)) == 0) {
        check(nids <= API_CAMERA_LIST_MAX);
        for (size_t i = 0; i < nids; i++) {
            size_t len = strlen(ids[i]);
            check(len >= 1 && len <= API_CAMERA_ID_MAX && !strchr(ids[i], ','));
            check(i == 0 || strcmp(ids[i - 1], ids[i]) <= 0);
        }
        api_camera_list_release(ids, nids);
    } else {
        check(why[0] != '\0');
    }
    free(text);
    return 0;
}
