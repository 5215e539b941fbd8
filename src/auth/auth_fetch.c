/*
 * DESIGN: the identity module's outgoing HTTP (auth_fetch_int.h): one curl
 * easy handle per call, so no shared state and no lock. Redirects are not
 * followed (a discovery or JWKS URL that redirects is a configuration to
 * fix, not something to chase), the protocols are limited to http and
 * https, and the body is capped while it arrives. Thread: any.
 */
#include "auth_err_int.h"
#include "auth_fetch_int.h"
#include "oidc.h"

#include "mem.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sink {
    char *buf;
    size_t len, cap, max;
    int too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t add = size * n;
    if (s->len + add > s->max) {
        s->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (s->len + add + 1 > s->cap) {
        s->cap = (s->len + add + 1) * 2;
        s->buf = horus_realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

int auth_fetch_url_allowed(const char *url)
{
    if (!url)
        return 0;
    if (strncasecmp(url, "https://", 8) == 0)
        return url[8] != '\0' && url[8] != '/';
    if (strncasecmp(url, "http://", 7) != 0)
        return 0;
    const char *host = url + 7;
    size_t n = strcspn(host, "/?#");
    if (memchr(host, '@', n))
        return 0; /* no userinfo tricks: http://127.0.0.1@evil/ */
    static const char *const LOOP[] = {"127.", "[::1]", "localhost"};
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(LOOP[i]);
        if (n >= l && strncasecmp(host, LOOP[i], l) == 0) {
            if (i == 0)
                return strspn(host, "0123456789.:") >= n;
            return n == l || host[l] == ':';
        }
    }
    return 0;
}

int auth_fetch(const struct auth_fetch_req *req, char **body, size_t *len, long *status, char *err,
               size_t err_size)
{
    *body = NULL;
    if (!auth_fetch_url_allowed(req->url)) {
        auth_set_err(err, err_size, "URL is not https (plain http only to loopback)");
        return -EINVAL;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        auth_set_err(err, err_size, "curl_easy_init failed");
        return -EIO;
    }
    struct sink s = {.max = req->max_bytes};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "horus");
    if (req->form)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->form);
    if (req->basic_user && req->basic_pass) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, req->basic_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, req->basic_pass);
    }
    CURLcode cc = curl_easy_perform(c);
    int rc = 0;
    if (s.too_big) {
        auth_set_err(err, err_size, "reply is larger than %zu bytes", req->max_bytes);
        rc = -E2BIG;
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        auth_set_err(err, err_size, "no complete reply within %d ms", req->timeout_ms);
        rc = -ETIMEDOUT;
    } else if (cc != CURLE_OK) {
        auth_set_err(err, err_size, "%s", curl_easy_strerror(cc));
        rc = -EIO;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        *body = s.buf ? s.buf : horus_strdup("");
        *len = s.len;
        s.buf = NULL;
    }
    free(s.buf);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return rc;
}

int auth_oidc_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}
