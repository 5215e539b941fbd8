/*
 * One hex digit's value, for every decoder of %XX escapes and hex strings
 * (URLs, paths, SDP fmtp values). Thread: any (pure).
 */
#ifndef HORUS_HEX_H
#define HORUS_HEX_H

/* 0..15 for 0-9, a-f and A-F; -1 for anything else. */
static inline int horus_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
