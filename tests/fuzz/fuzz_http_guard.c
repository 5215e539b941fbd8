/*
 * libFuzzer driver for the request guard's header parsers
 * (src/http/http_guard.c) and the ingest.networks CIDR parser. The input
 * is split at the first '\n' into a Host and an Origin, both checked with
 * a guard that has configured names, a public_url and CORS origins.
 * Invariants: any text followed by ".attacker.example" is never an allowed
 * Host, and no Origin on that name may change anything.
 */
#include "http.h"
#include "http_int.h"
#include "ingest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static http_guard *guard(void)
{
    static http_guard *g;
    if (!g) {
        static const char *const names[] = {"nvr.home.arpa", "*.cams.example", "[fd00::5]"};
        static const char *const cors[] = {"*", "https://ui.example.com"};
        struct http_server_options opt = {.listen = "127.0.0.1:8080",
                                          .hostnames = names,
                                          .nhostnames = 3,
                                          .cors_origins = cors,
                                          .ncors_origins = 2,
                                          .public_url = "https://nvr.example.com/horus"};
        g = http_guard_new(&opt);
    }
    return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    memcpy(in, data, size);
    in[size] = '\0';
    char *origin = strchr(in, '\n');
    if (origin)
        *origin++ = '\0';
    else
        origin = in;
    http_guard *g = guard();
    http_guard_host_is_allowed(g, in);
    http_guard_origin_is_allowed(g, origin, in);
    http_media_type_is_accepted(NULL, in);
    http_media_type_is_accepted(origin, in);
    http_hostname_is_valid(in);
    ing_cidr_is_valid(in);

    size_t n = strlen(in);
    static const char tail[] = ".attacker.example";
    char *host = malloc(n + sizeof(tail) + 16);
    memcpy(host, in, n);
    memcpy(host + n, tail, sizeof(tail));
    check(!http_guard_host_is_allowed(g, host));
    memmove(host + 7, host, n + sizeof(tail));
    memcpy(host, "http://", 7);
    check(!http_guard_origin_is_allowed(g, host, "127.0.0.1:8080"));
    free(host);
    free(in);
    return 0;
}
