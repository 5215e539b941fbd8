/*
 * libFuzzer driver for src/http/http_addr.c, the parsers of client
 * addresses: the input is split at its first two NUL bytes into an
 * X-Forwarded-For value, a network for http_cidr_parse and an address for
 * http_addr_parse. Checks the invariants callers rely on: the resolved
 * client is the peer, a trusted address, or an address that appears in
 * the header; a parsed network contains its own address and formats to
 * text that parses back to the same address.
 */
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_cidr(const char *s)
{
    struct http_cidr c;
    if (http_cidr_parse(s, &c) != 0)
        return;
    if (!http_cidr_list_match(&c, 1, &c.addr))
        __builtin_trap();
    char text[64];
    http_addr_format(&c.addr, text, sizeof(text));
    struct http_addr back;
    if (http_addr_parse(text, strlen(text), &back) != 0 ||
        memcmp(&back, &c.addr, sizeof(back)) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 3);
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    const char *xff = buf;
    const char *cidr = xff + strlen(xff) + 1;
    if (cidr > buf + size)
        cidr = buf + size + 1;
    const char *addr = cidr + strlen(cidr) + 1;
    if (addr > buf + size + 1)
        addr = buf + size + 2;

    check_cidr(cidr);
    struct http_addr a;
    if (http_addr_parse(addr, strlen(addr), &a) == 0 && a.family != 4 && a.family != 6)
        __builtin_trap();

    static const char *const nets[] = {"127.0.0.1", "10.0.0.0/8", "fd00::/8", "::1"};
    struct http_cidr trusted[4];
    for (size_t i = 0; i < 4; i++)
        http_cidr_parse(nets[i], &trusted[i]);
    struct http_addr peer = {.family = 4, .bytes = {127, 0, 0, 1}};
    /* The value as one header line, and split at its middle into two. */
    struct http_addr c = http_client_addr_resolve(&peer, &xff, 1, trusted, 4);
    if (c.family != 4 && c.family != 6)
        __builtin_trap();
    if (memcmp(&c, &peer, sizeof(c)) != 0 && !http_cidr_list_match(trusted, 4, &c)) {
        /* An untrusted client must have been named in the header, as text we can find. */
        char text[64];
        http_addr_format(&c, text, sizeof(text));
        if (c.family == 4 && !strstr(xff, text) && !strstr(xff, "::"))
            __builtin_trap();
    }
    size_t n = strlen(xff);
    char *left = strndup(xff, n / 2);
    const char *two[] = {left, xff + n / 2};
    http_client_addr_resolve(&peer, two, 2, trusted, 4);
    free(left);
    free(buf);
    return 0;
}
