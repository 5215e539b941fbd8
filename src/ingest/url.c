/*
 * DESIGN: the one answer to "would the RTSP client accept this camera
 * URL?", for the places that take URLs from people (the REST API, the
 * cameras of horus.yaml) so that a URL no client can use is refused with
 * a reason when it is given, not found out at connect time. The verdict
 * is the native client's own parser (ing_rtsp_url_parse); the checks
 * before it only pick a reason a person can act on. Reasons never quote
 * the URL, which may hold a password.
 * Thread: any (no state).
 */
#include "ingest.h"
#include "rtsp_int.h"

#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int refuse(char *why, size_t size, const char *reason)
{
    if (why && size > 0)
        snprintf(why, size, "%s", reason);
    return -EINVAL;
}

int ing_url_check(const char *url, char *why, size_t size)
{
    if (why && size > 0)
        why[0] = '\0';
    if (!url || !url[0])
        return refuse(why, size, "is empty");
    size_t len = strlen(url);
    if (len > ING_URL_MAX) {
        char reason[64];
        snprintf(reason, sizeof(reason), "is longer than %d characters", ING_URL_MAX);
        return refuse(why, size, reason);
    }
    size_t skip;
    if (strncmp(url, "rtsp://", 7) == 0)
        skip = 7;
    else if (strncmp(url, "rtsps://", 8) == 0)
        skip = 8;
    else
        return refuse(why, size, "must start with rtsp:// or rtsps://");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return refuse(why, size, "must not contain spaces or control characters");
    const char *auth = url + skip;
    size_t alen = strcspn(auth, "/?#");
    const char *host = auth;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            host = auth + i + 1;
    size_t hlen = (size_t)(auth + alen - host);
    if (hlen == 0 || host[0] == ':')
        return refuse(why, size, "has no host");
    const char *port = NULL;
    if (host[0] == '[') {
        const char *close = memchr(host, ']', hlen);
        if (!close)
            return refuse(why, size, "has an IPv6 host without its closing ']'");
        if (close == host + 1)
            return refuse(why, size, "has no host");
        if (close + 1 < host + hlen) {
            if (close[1] != ':')
                return refuse(why, size, "has text after the IPv6 host where ':port' belongs");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', hlen);
        if (colon)
            port = colon + 1;
    }
    if (port) {
        const char *end = auth + alen;
        long p = 0;
        bool is_number = port < end;
        for (const char *c = port; c < end && is_number; c++) {
            if (*c < '0' || *c > '9')
                is_number = false;
            else if (p <= 65535)
                p = p * 10 + (*c - '0');
        }
        if (!is_number || p < 1 || p > 65535)
            return refuse(why, size, "port must be a number 1..65535");
    }
    struct ing_rtsp_url parsed;
    if (ing_rtsp_url_parse(url, &parsed) < 0) {
        if (host != auth)
            return refuse(why, size,
                          "cannot be parsed (check the user info: a bad %-escape, or too long)");
        return refuse(why, size, "cannot be parsed (host or path too long, or a bad character)");
    }
    return 0;
}
