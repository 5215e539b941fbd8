/*
 * libFuzzer driver for bus_url_parse (src/bus/config.c), the parser of
 * broker URLs from horus.yaml. Checks what the adapters rely on: a parsed
 * URL has a lower-case scheme, a non-empty host with no credentials and a
 * port in 0..65535, and formatting it back gives a URL that parses to the
 * same parts; a refused one always says why.
 */
#include "bus.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = '\0';
    struct bus_url u;
    char why[160] = "";
    if (bus_url_parse(url, &u, why, sizeof(why)) != 0) {
        if (!why[0])
            __builtin_trap();
        free(url);
        return 0;
    }
    if (!u.host[0] || strchr(u.host, '@') || u.port < 0 || u.port > 65535 || !u.scheme[0])
        __builtin_trap();
    for (const char *s = u.scheme; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            __builtin_trap();
    char again[512];
    bool is_v6 = strchr(u.host, ':') != NULL;
    if (u.port)
        snprintf(again, sizeof(again), "%s://%s%s%s:%d", u.scheme, is_v6 ? "[" : "", u.host,
                 is_v6 ? "]" : "", u.port);
    else
        snprintf(again, sizeof(again), "%s://%s%s%s", u.scheme, is_v6 ? "[" : "", u.host,
                 is_v6 ? "]" : "");
    struct bus_url back;
    if (bus_url_parse(again, &back, why, sizeof(why)) != 0 || memcmp(&back, &u, sizeof(u)) != 0)
        __builtin_trap();
    free(url);
    return 0;
}
