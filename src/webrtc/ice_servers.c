/*
 * DESIGN: the ICE servers a player is told about (docs/design/0079). The
 * server itself stays ICE-lite on its own sockets; a viewer whose network
 * gives it no path to them (a symmetric NAT, a firewall that allows only a
 * relay) gathers relay candidates at a TURN server and sends its checks
 * from there, which an ICE-lite agent answers like any other address. So
 * all Horus does is tell the player which servers to use, in the WHEP
 * replies' Link headers, with a credential of its own for TURN: the TURN
 * REST API scheme coturn (use-auth-secret), eturnal and Janus share, a
 * username "<expiry>:<who>" and a credential base64(HMAC-SHA1(secret,
 * username)). The shared secret never leaves the node; a credential is
 * good until its expiry, for that viewer's name only. Thread: any.
 */
#include "server_int.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static bool is_turn(const char *url)
{
    return strncmp(url, "turn:", 5) == 0 || strncmp(url, "turns:", 6) == 0;
}

int webrtc_ice_link(const char *url, const char *secret, const char *who, int64_t expires_s,
                    char *out, size_t cap)
{
    int n;
    if (!is_turn(url) || !secret || !secret[0]) {
        n = snprintf(out, cap, "<%s>; rel=\"ice-server\"", url);
        return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
    }
    char user[96];
    int u = snprintf(user, sizeof(user), "%lld:", (long long)expires_s);
    for (const char *p = who && who[0] ? who : "horus"; *p && (size_t)u < sizeof(user) - 1; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '@' || c == '-';
        user[u++] = ok ? c : '_';
    }
    user[u] = '\0';
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)user, strlen(user), mac,
         &len);
    char cred[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    EVP_EncodeBlock((unsigned char *)cred, mac, (int)len);
    n = snprintf(out, cap,
                 "<%s>; rel=\"ice-server\"; username=\"%s\"; credential=\"%s\"; "
                 "credential-type=\"password\"",
                 url, user, cred);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

size_t webrtc_server_ice_links(const webrtc_server *s, const char *who, int64_t now_s,
                               void (*fn)(void *arg, const char *link), void *arg)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_ice_servers; i++) {
        char link[512];
        if (webrtc_ice_link(s->ice_servers[i], s->turn_secret, who, now_s + s->turn_ttl_s, link,
                            sizeof(link)) < 0)
            continue;
        fn(arg, link);
        n++;
    }
    return n;
}
