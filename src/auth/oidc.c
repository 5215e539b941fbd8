/*
 * DESIGN: the OIDC relying party (oidc.h). Configuration is copied at
 * _new; discovery results are written once (under mu) and never changed
 * after, so readers take a pointer to them under the lock and use it
 * without. Pending logins live in a bounded array under the same mutex:
 * a login_begin purges the expired ones and, when the array is full,
 * replaces the oldest; login_finish removes its entry before anything
 * else, so a state is used at most once even when the exchange fails.
 * Network calls (discovery, JWKS, token exchange) never run under mu.
 * Secrets (client secret, codes, verifiers, tokens) are never logged and
 * never copied into error texts.
 * Thread: any.
 */
#include "oidc.h"

#include "auth_err_int.h"
#include "auth_fetch_int.h"
#include "auth_token.h"
#include "clock.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "auth"

#define TOKEN_LEN 64 /* room for a 32-byte random token in base64url (43) */
#define DISCOVERY_MAX_BYTES (64u * 1024)
#define TOKEN_REPLY_MAX_BYTES (64u * 1024)
#define CLAIM_VALUES_MAX 256

struct disco {
    char *authorization_endpoint, *token_endpoint, *end_session_endpoint; /* owned */
    auth_jwks *jwks; /* owned */
};

struct pending {
    char state[TOKEN_LEN], nonce[TOKEN_LEN], verifier[TOKEN_LEN];
    char return_to[AUTH_OIDC_RETURN_TO_MAX + 1];
    int64_t expires_ms; /* monotonic */
    uint64_t seq; /* order of creation, to find the oldest */
};

struct auth_oidc {
    /* Copied configuration (owned strings). */
    char *issuer, *client_id, *client_secret, *redirect_uri, *scope, *audience;
    char *username_claim, *role_claim, *cameras_claim, *post_logout_redirect_uri;
    struct auth_oidc_role_lists roles; /* owned copies */
    int client_auth, default_role;
    bool create_users;
    unsigned algs;
    int64_t leeway_s, login_timeout_ms, jwks_ttl_ms, jwks_min_refresh_ms;
    int http_timeout_ms;
    const horus_clock *clock; /* borrowed */

    pthread_mutex_t mu;
    struct disco *disco; /* owned; set once; guarded by mu */
    bool discovering; /* guarded by mu */
    int64_t disco_failed_ms; /* guarded by mu; INT64_MIN when none */
    struct pending *pending; /* owned array of AUTH_OIDC_PENDING_MAX; guarded by mu */
    size_t npending;
    uint64_t next_seq; /* guarded by mu */
};

static int64_t mono_ms(const auth_oidc *o)
{
    return clock_monotonic_ns(o->clock) / 1000000;
}

/* Copies at most 64 characters of an IdP-supplied word for an error text: [A-Za-z0-9_.-]. */
static void safe_word(const char *in, char out[65])
{
    size_t n = 0;
    for (; in && *in && n < 64; in++) {
        char c = *in;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-')
            out[n++] = c;
    }
    out[n] = '\0';
}

/* Appends "&name=value" (or "?"/"" for the first) with value percent-encoded (RFC 3986 unreserved
 * kept). */
static void append_param(char **buf, size_t *len, size_t *cap, char sep, const char *name,
                         const char *value)
{
    size_t need = *len + strlen(name) + 3 * strlen(value) + 3;
    if (need > *cap) {
        *cap = need * 2;
        *buf = horus_realloc(*buf, *cap);
    }
    char *p = *buf + *len;
    if (sep)
        *p++ = sep;
    p += sprintf(p, "%s=", name);
    for (const unsigned char *v = (const unsigned char *)value; *v; v++) {
        if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
            *v == '-' || *v == '.' || *v == '_' || *v == '~')
            *p++ = (char)*v;
        else
            p += sprintf(p, "%%%02X", *v);
    }
    *p = '\0';
    *len = (size_t)(p - *buf);
}

/* A new percent-encoded copy of s (for HTTP Basic credentials, RFC 6749 §2.3.1). */
static char *form_encode(const char *s)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    append_param(&buf, &len, &cap, 0, "x", s);
    char *out = horus_strdup(buf + 2);
    free(buf);
    return out;
}

bool auth_oidc_return_to_ok(const char *p)
{
    if (!p || p[0] != '/' || p[1] == '/' || p[1] == '\\')
        return false;
    size_t n = 0;
    for (; p[n]; n++) {
        unsigned char c = (unsigned char)p[n];
        if (c < 0x20 || c == 0x7f || c == '\\' || n >= AUTH_OIDC_RETURN_TO_MAX)
            return false;
    }
    return true;
}

static char **copy_list(char *const *in, size_t n)
{
    char **out = n ? horus_calloc(n, sizeof(*out)) : NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = horus_strdup(in[i]);
    return out;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static char *nonempty(const char *s)
{
    return s && *s ? horus_strdup(s) : NULL;
}

int auth_oidc_new(const struct auth_oidc_opts *opts, auth_oidc **out, char *err, size_t err_size)
{
    const struct auth_oidc_config *c = opts->config;
    if (!c->issuer || !*c->issuer) {
        auth_set_err(err, err_size, "auth.oidc.issuer is empty: single sign-on is off");
        return -ENOENT;
    }
    if (!auth_fetch_url_allowed(c->issuer)) {
        auth_set_err(err, err_size, "auth.oidc.issuer must be https (plain http only on loopback)");
        return -EINVAL;
    }
    if (!c->client_id || !*c->client_id) {
        auth_set_err(err, err_size, "auth.oidc.client_id is required when an issuer is set");
        return -EINVAL;
    }
    unsigned algs = 0;
    for (size_t i = 0; i < c->nalgorithms; i++) {
        unsigned bit = auth_jwt_alg_from_name(c->algorithms[i]);
        if (!bit) {
            auth_set_err(err, err_size, "auth.oidc.algorithms: '%.40s' is not accepted",
                         c->algorithms[i]);
            return -EINVAL;
        }
        algs |= bit;
    }
    char *redirect = NULL;
    if (c->redirect_uri && *c->redirect_uri) {
        redirect = horus_strdup(c->redirect_uri);
    } else if (opts->public_url && *opts->public_url) {
        size_t n = strlen(opts->public_url);
        while (n > 0 && opts->public_url[n - 1] == '/')
            n--;
        redirect = horus_asprintf("%.*s%s", (int)n, opts->public_url, AUTH_OIDC_CALLBACK_PATH);
    } else {
        auth_set_err(
            err, err_size,
            "auth.oidc.redirect_uri is empty and server.public_url is not set to derive it");
        return -EINVAL;
    }

    auth_oidc *o = horus_calloc(1, sizeof(*o));
    o->issuer = horus_strdup(c->issuer);
    o->client_id = horus_strdup(c->client_id);
    o->client_secret = nonempty(c->client_secret);
    o->redirect_uri = redirect;
    /* The scope string: configured scopes with openid first, once. */
    char *scope = horus_strdup("openid");
    if (c->nscopes == 0) {
        free(scope);
        scope = horus_strdup("openid profile email");
    }
    for (size_t i = 0; i < c->nscopes; i++) {
        if (strcmp(c->scopes[i], "openid") == 0)
            continue;
        char *next = horus_asprintf("%s %s", scope, c->scopes[i]);
        free(scope);
        scope = next;
    }
    o->scope = scope;
    o->audience = horus_strdup(c->audience && *c->audience ? c->audience : c->client_id);
    o->username_claim = horus_strdup(
        c->username_claim && *c->username_claim ? c->username_claim : "preferred_username");
    o->role_claim = nonempty(c->role_claim);
    o->cameras_claim = nonempty(c->cameras_claim);
    o->post_logout_redirect_uri = nonempty(c->post_logout_redirect_uri);
    o->roles.superadmin = copy_list(c->roles.superadmin, c->roles.nsuperadmin);
    o->roles.nsuperadmin = c->roles.nsuperadmin;
    o->roles.admin = copy_list(c->roles.admin, c->roles.nadmin);
    o->roles.nadmin = c->roles.nadmin;
    o->roles.operator= copy_list(c->roles.operator, c->roles.noperator);
    o->roles.noperator = c->roles.noperator;
    o->roles.viewer = copy_list(c->roles.viewer, c->roles.nviewer);
    o->roles.nviewer = c->roles.nviewer;
    o->client_auth = c->client_auth;
    o->default_role = c->default_role;
    o->create_users = c->create_users;
    o->algs = algs ? algs : AUTH_JWT_ALGS_ALL;
    o->leeway_s = c->leeway_ms / 1000;
    o->login_timeout_ms = c->login_timeout_ms > 0 ? c->login_timeout_ms : 600000;
    o->jwks_ttl_ms = c->jwks_ttl_ms;
    o->jwks_min_refresh_ms = c->jwks_min_refresh_ms;
    o->http_timeout_ms = c->http_timeout_ms > 0 ? (int)c->http_timeout_ms : 5000;
    o->clock = opts->clock ? opts->clock : clock_system();
    o->disco_failed_ms = INT64_MIN;
    o->pending = horus_calloc(AUTH_OIDC_PENDING_MAX, sizeof(*o->pending));
    pthread_mutex_init(&o->mu, NULL);
    *out = o;
    return 0;
}

static void disco_free(struct disco *d)
{
    if (!d)
        return;
    free(d->authorization_endpoint);
    free(d->token_endpoint);
    free(d->end_session_endpoint);
    auth_jwks_free(d->jwks);
    free(d);
}

void auth_oidc_free(auth_oidc *o)
{
    if (!o)
        return;
    disco_free(o->disco);
    pthread_mutex_destroy(&o->mu);
    /* The pending logins hold verifiers: wipe them before the memory goes back. */
    OPENSSL_cleanse(o->pending, AUTH_OIDC_PENDING_MAX * sizeof(*o->pending));
    free(o->pending);
    free(o->issuer);
    free(o->client_id);
    if (o->client_secret)
        OPENSSL_cleanse(o->client_secret, strlen(o->client_secret));
    free(o->client_secret);
    free(o->redirect_uri);
    free(o->scope);
    free(o->audience);
    free(o->username_claim);
    free(o->role_claim);
    free(o->cameras_claim);
    free(o->post_logout_redirect_uri);
    free_list(o->roles.superadmin, o->roles.nsuperadmin);
    free_list(o->roles.admin, o->roles.nadmin);
    free_list(o->roles.operator, o->roles.noperator);
    free_list(o->roles.viewer, o->roles.nviewer);
    free(o);
}

/* Reads an endpoint member of the discovery document; NULL (with err) when absent or not allowed.
 */
static char *endpoint(const json_t *doc, const char *name, bool required, char *err,
                      size_t err_size)
{
    const char *v = json_string_value(json_object_get(doc, name));
    if (!v) {
        if (required)
            auth_set_err(err, err_size, "discovery document has no '%s'", name);
        return NULL;
    }
    if (!auth_fetch_url_allowed(v)) {
        auth_set_err(err, err_size, "discovery '%s' is not https (plain http only on loopback)",
                     name);
        return NULL;
    }
    return horus_strdup(v);
}

static bool has_string(const json_t *arr, const char *want)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

static int discover_now(auth_oidc *o, struct disco **out, char *err, size_t err_size)
{
    size_t n = strlen(o->issuer);
    while (n > 0 && o->issuer[n - 1] == '/')
        n--;
    char *url = horus_asprintf("%.*s/.well-known/openid-configuration", (int)n, o->issuer);
    struct auth_fetch_req req = {
        .url = url, .timeout_ms = o->http_timeout_ms, .max_bytes = DISCOVERY_MAX_BYTES};
    char *body = NULL;
    size_t len = 0;
    long status = 0;
    int rc = auth_fetch(&req, &body, &len, &status, err, err_size);
    free(url);
    if (rc < 0)
        return rc;
    json_t *doc = status == 200 ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(body);
    if (!json_is_object(doc)) {
        auth_set_err(err, err_size, "discovery answered HTTP %ld without a JSON object", status);
        json_decref(doc);
        return -EIO;
    }
    struct disco *d = horus_calloc(1, sizeof(*d));
    char *jwks_uri = NULL;
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    const json_t *methods = json_object_get(doc, "code_challenge_methods_supported");
    rc = -EIO;
    if (!iss || strcmp(iss, o->issuer) != 0) {
        auth_set_err(err, err_size, "discovery issuer '%.200s' differs from auth.oidc.issuer",
                     iss ? iss : "(none)");
    } else if (json_is_array(methods) && !has_string(methods, "S256")) {
        auth_set_err(err, err_size, "the IdP does not offer PKCE with S256");
    } else if ((d->authorization_endpoint =
                    endpoint(doc, "authorization_endpoint", true, err, err_size)) &&
               (d->token_endpoint = endpoint(doc, "token_endpoint", true, err, err_size)) &&
               (jwks_uri = endpoint(doc, "jwks_uri", true, err, err_size))) {
        d->end_session_endpoint = endpoint(doc, "end_session_endpoint", false, NULL, 0);
        struct auth_jwks_opts jo = {.url = jwks_uri,
                                    .ttl_ms = o->jwks_ttl_ms,
                                    .unknown_kid_interval_ms = o->jwks_min_refresh_ms,
                                    .timeout_ms = o->http_timeout_ms,
                                    .clock = o->clock};
        rc = auth_jwks_new(&jo, &d->jwks);
        if (rc == 0)
            rc = auth_jwks_refresh(d->jwks, err, err_size);
    }
    free(jwks_uri);
    json_decref(doc);
    if (rc < 0) {
        disco_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int auth_oidc_discover(auth_oidc *o, char *err, size_t err_size)
{
    pthread_mutex_lock(&o->mu);
    if (o->disco || o->discovering) {
        int rc = o->disco ? 0 : -EAGAIN;
        pthread_mutex_unlock(&o->mu);
        if (rc < 0)
            auth_set_err(err, err_size, "discovery is running");
        return rc;
    }
    o->discovering = true;
    pthread_mutex_unlock(&o->mu);

    struct disco *d = NULL;
    int rc = discover_now(o, &d, err, err_size);

    pthread_mutex_lock(&o->mu);
    o->disco = d;
    o->discovering = false;
    o->disco_failed_ms = rc < 0 ? mono_ms(o) : INT64_MIN;
    pthread_mutex_unlock(&o->mu);
    if (rc == 0)
        log_info_kv(LOG_KV({"issuer", o->issuer}), "oidc: discovery done");
    else
        log_warn_kv(LOG_KV({"issuer", o->issuer}), "oidc: discovery failed: %s", err);
    return rc;
}

/* The discovery results, discovering first when needed (at most once per http_timeout). */
static struct disco *disco_get(auth_oidc *o, char *err, size_t err_size)
{
    pthread_mutex_lock(&o->mu);
    struct disco *d = o->disco;
    bool retry =
        !d && !o->discovering &&
        (o->disco_failed_ms == INT64_MIN || mono_ms(o) - o->disco_failed_ms >= o->http_timeout_ms);
    pthread_mutex_unlock(&o->mu);
    if (d)
        return d;
    if (retry && auth_oidc_discover(o, err, err_size) == 0) {
        pthread_mutex_lock(&o->mu);
        d = o->disco;
        pthread_mutex_unlock(&o->mu);
        return d;
    }
    if (!retry)
        auth_set_err(err, err_size, "the IdP's discovery document is not available yet");
    return NULL;
}

auth_jwks *auth_oidc_jwks(auth_oidc *o)
{
    pthread_mutex_lock(&o->mu);
    auth_jwks *j = o->disco ? o->disco->jwks : NULL;
    pthread_mutex_unlock(&o->mu);
    return j;
}

size_t auth_oidc_pending_count(auth_oidc *o)
{
    pthread_mutex_lock(&o->mu);
    size_t n = o->npending;
    pthread_mutex_unlock(&o->mu);
    return n;
}

/* Drops expired pending logins. Called with mu held. */
static void pending_purge(auth_oidc *o, int64_t now)
{
    size_t w = 0;
    for (size_t r = 0; r < o->npending; r++) {
        if (o->pending[r].expires_ms > now)
            o->pending[w++] = o->pending[r];
    }
    OPENSSL_cleanse(o->pending + w, (o->npending - w) * sizeof(*o->pending));
    o->npending = w;
}

int auth_oidc_login_begin(auth_oidc *o, const char *return_to, char **url, char *err,
                          size_t err_size)
{
    *url = NULL;
    if (!return_to || !*return_to)
        return_to = "/";
    if (!auth_oidc_return_to_ok(return_to)) {
        auth_set_err(err, err_size, "return_to is not a same-origin path");
        return -EINVAL;
    }
    struct disco *d = disco_get(o, err, err_size);
    if (!d)
        return -EAGAIN;
    struct pending p = {0};
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char challenge[TOKEN_LEN];
    if (auth_random_token(32, p.state, sizeof(p.state)) < 0 ||
        auth_random_token(32, p.nonce, sizeof(p.nonce)) < 0 ||
        auth_random_token(32, p.verifier, sizeof(p.verifier)) < 0) {
        auth_set_err(err, err_size, "random generator failed");
        return -EIO;
    }
    SHA256((const uint8_t *)p.verifier, strlen(p.verifier), digest);
    auth_b64url_encode(digest, sizeof(digest), challenge, sizeof(challenge));
    snprintf(p.return_to, sizeof(p.return_to), "%s", return_to);

    char *buf = horus_strdup(d->authorization_endpoint);
    size_t len = strlen(buf), cap = len + 1;
    char sep = strchr(buf, '?') ? '&' : '?';
    append_param(&buf, &len, &cap, sep, "response_type", "code");
    append_param(&buf, &len, &cap, '&', "client_id", o->client_id);
    append_param(&buf, &len, &cap, '&', "redirect_uri", o->redirect_uri);
    append_param(&buf, &len, &cap, '&', "scope", o->scope);
    append_param(&buf, &len, &cap, '&', "state", p.state);
    append_param(&buf, &len, &cap, '&', "nonce", p.nonce);
    append_param(&buf, &len, &cap, '&', "code_challenge", challenge);
    append_param(&buf, &len, &cap, '&', "code_challenge_method", "S256");

    int64_t now = mono_ms(o);
    p.expires_ms = now + o->login_timeout_ms;
    pthread_mutex_lock(&o->mu);
    pending_purge(o, now);
    size_t slot = o->npending;
    if (slot == AUTH_OIDC_PENDING_MAX) {
        /* Full of live logins (a flood): the oldest gives way. */
        slot = 0;
        for (size_t i = 1; i < o->npending; i++)
            if (o->pending[i].seq < o->pending[slot].seq)
                slot = i;
    } else {
        o->npending++;
    }
    p.seq = o->next_seq++;
    o->pending[slot] = p;
    pthread_mutex_unlock(&o->mu);
    OPENSSL_cleanse(&p, sizeof(p));
    *url = buf;
    return 0;
}

/* Removes and returns the pending login of state. Returns 0, or -ENOENT (unknown, expired). */
static int pending_take(auth_oidc *o, const char *state, struct pending *out)
{
    int rc = -ENOENT;
    int64_t now = mono_ms(o);
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->npending; i++) {
        if (!auth_streq_ct(o->pending[i].state, state))
            continue;
        *out = o->pending[i];
        o->pending[i] = o->pending[--o->npending]; /* order does not matter */
        OPENSSL_cleanse(&o->pending[o->npending], sizeof(*o->pending));
        rc = out->expires_ms > now ? 0 : -ENOENT;
        break;
    }
    pthread_mutex_unlock(&o->mu);
    return rc;
}

/* Follows a dotted claim path ("realm_access.roles"); borrowed from claims, NULL when absent. */
static const json_t *claim_at(const json_t *claims, const char *path)
{
    if (!path)
        return NULL;
    const json_t *v = claims;
    char part[128];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        path += n + (path[n] == '.');
    }
    return v;
}

/* Calls back for each string value of a claim (a string or an array of strings), up to a bound. */
static bool claim_has(const json_t *v, char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (json_is_string(v) && strcmp(json_string_value(v), list[i]) == 0)
            return true;
        size_t k;
        const json_t *e;
        if (json_is_array(v)) {
            json_array_foreach(v, k, e)
            {
                if (k >= CLAIM_VALUES_MAX)
                    break;
                if (json_is_string(e) && strcmp(json_string_value(e), list[i]) == 0)
                    return true;
            }
        }
    }
    return false;
}

void auth_oidc_identity_release(struct auth_oidc_identity *id)
{
    if (!id)
        return;
    free(id->subject);
    free(id->username);
    free(id->email);
    free_list(id->cameras, id->ncameras);
    free(id->return_to);
    if (id->id_token)
        OPENSSL_cleanse(id->id_token, strlen(id->id_token));
    free(id->id_token);
    memset(id, 0, sizeof(*id));
}

/* Maps verified claims to an identity. Returns 0, or -EACCES (no subject, no role). */
static int map_claims(const auth_oidc *o, const json_t *claims, struct auth_oidc_identity *id,
                      char *err, size_t err_size)
{
    memset(id, 0, sizeof(*id));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (!sub || !*sub || strlen(sub) > 255) {
        auth_set_err(err, err_size, "token has no usable 'sub'");
        return -EACCES;
    }
    const json_t *rv = claim_at(claims, o->role_claim);
    const char *role = NULL;
    if (claim_has(rv, o->roles.superadmin, o->roles.nsuperadmin))
        role = "superadmin";
    else if (claim_has(rv, o->roles.admin, o->roles.nadmin))
        role = "admin";
    else if (claim_has(rv, o->roles.operator, o->roles.noperator))
        role = "operator";
    else if (claim_has(rv, o->roles.viewer, o->roles.nviewer))
        role = "viewer";
    else if (o->default_role == AUTH_OIDC_DEFAULT_VIEWER)
        role = "viewer";
    else if (o->default_role == AUTH_OIDC_DEFAULT_OPERATOR)
        role = "operator";
    if (!role) {
        char s[65];
        safe_word(sub, s);
        auth_set_err(err, err_size,
                     "no role for subject '%s': claim '%s' matches no auth.oidc.roles list", s,
                     o->role_claim ? o->role_claim : "(none)");
        return -EACCES;
    }
    id->role = role;
    id->subject = horus_strdup(sub);
    const char *user = json_string_value(claim_at(claims, o->username_claim));
    id->username = horus_strdup(user && *user && strlen(user) <= 255 ? user : sub);
    const char *email = json_string_value(json_object_get(claims, "email"));
    id->email = email && strlen(email) <= 255 ? horus_strdup(email) : NULL;
    id->create_user = o->create_users;
    if (!o->cameras_claim) {
        id->all_cameras = true;
        return 0;
    }
    const json_t *cv = claim_at(claims, o->cameras_claim);
    size_t n = json_is_string(cv) ? 1 : json_is_array(cv) ? json_array_size(cv) : 0;
    if (n > CLAIM_VALUES_MAX)
        n = CLAIM_VALUES_MAX;
    id->cameras = n ? horus_calloc(n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *c =
            json_is_string(cv) ? json_string_value(cv) : json_string_value(json_array_get(cv, i));
        if (!c || !*c)
            continue;
        if (strcmp(c, "*") == 0)
            id->all_cameras = true;
        else
            id->cameras[id->ncameras++] = horus_strdup(c);
    }
    return 0;
}

/* RFC 9068 access tokens say so in their header. */
static bool is_access_token_typ(const char *typ)
{
    return strcasecmp(typ, "at+jwt") == 0 || strcasecmp(typ, "application/at+jwt") == 0;
}

/* An ID token (ours carry a nonce; Keycloak's say typ "ID") must not pass as a bearer token. */
static bool looks_like_id_token(const json_t *claims)
{
    const char *typ = json_string_value(json_object_get(claims, "typ"));
    return json_object_get(claims, "nonce") || (typ && strcmp(typ, "ID") == 0);
}

static struct auth_jwt_expect expect_for(const auth_oidc *o, const char *audience)
{
    return (struct auth_jwt_expect){.issuer = o->issuer,
                                    .audience = audience,
                                    .allowed_algs = o->algs,
                                    .now_s = clock_realtime_ms(o->clock) / 1000,
                                    .leeway_s = o->leeway_s};
}

/* POSTs the code to the token endpoint; stores the ID token (new string) in *id_token. */
static int exchange_code(auth_oidc *o, const struct disco *d, const char *code,
                         const struct pending *p, char **id_token, char *err, size_t err_size)
{
    char *form = NULL;
    size_t len = 0, cap = 0;
    append_param(&form, &len, &cap, 0, "grant_type", "authorization_code");
    append_param(&form, &len, &cap, '&', "code", code);
    append_param(&form, &len, &cap, '&', "redirect_uri", o->redirect_uri);
    append_param(&form, &len, &cap, '&', "code_verifier", p->verifier);
    char *user = NULL, *pass = NULL;
    if (o->client_secret && o->client_auth == AUTH_OIDC_SECRET_BASIC) {
        user = form_encode(o->client_id);
        pass = form_encode(o->client_secret);
    } else {
        append_param(&form, &len, &cap, '&', "client_id", o->client_id);
        if (o->client_secret)
            append_param(&form, &len, &cap, '&', "client_secret", o->client_secret);
    }
    struct auth_fetch_req req = {.url = d->token_endpoint,
                                 .form = form,
                                 .basic_user = user,
                                 .basic_pass = pass,
                                 .timeout_ms = o->http_timeout_ms,
                                 .max_bytes = TOKEN_REPLY_MAX_BYTES};
    char *body = NULL;
    size_t blen = 0;
    long status = 0;
    int rc = auth_fetch(&req, &body, &blen, &status, err, err_size);
    OPENSSL_cleanse(form, len);
    free(form);
    if (pass)
        OPENSSL_cleanse(pass, strlen(pass));
    free(user);
    free(pass);
    if (rc < 0)
        return -EIO;
    json_t *doc = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL);
    OPENSSL_cleanse(body, blen);
    free(body);
    const char *tok = json_string_value(json_object_get(doc, "id_token"));
    if (status != 200 || !tok) {
        char word[65];
        safe_word(json_string_value(json_object_get(doc, "error")), word);
        auth_set_err(err, err_size, "token endpoint answered HTTP %ld%s%s", status,
                     word[0] ? " error " : " without an id_token", word);
        rc = status >= 400 && status < 500 ? -EACCES : -EIO;
    } else {
        *id_token = horus_strdup(tok);
    }
    json_decref(doc);
    return rc;
}

int auth_oidc_login_finish(auth_oidc *o, const char *state, const char *code, const char *idp_error,
                           struct auth_oidc_identity *id, char *err, size_t err_size)
{
    memset(id, 0, sizeof(*id));
    if (!state || !*state || strlen(state) >= TOKEN_LEN) {
        auth_set_err(err, err_size, "callback without a valid state");
        return -EINVAL;
    }
    struct pending p;
    if (pending_take(o, state, &p) < 0) {
        auth_set_err(err, err_size, "state is unknown, already used or expired");
        return -ENOENT;
    }
    int rc = 0;
    char *id_token = NULL;
    struct disco *d = NULL;
    if (idp_error) {
        char word[65];
        safe_word(idp_error, word);
        auth_set_err(err, err_size, "the IdP refused the login: %s", word);
        rc = -EACCES;
    } else if (!code || !*code || strlen(code) > 2048) {
        auth_set_err(err, err_size, "callback without a valid code");
        rc = -EINVAL;
    } else if (!(d = disco_get(o, err, err_size))) {
        rc = -EIO;
    } else {
        rc = exchange_code(o, d, code, &p, &id_token, err, err_size);
    }
    struct auth_jwt jwt = {0};
    if (rc == 0) {
        struct auth_jwt_expect e = expect_for(o, o->client_id);
        e.require_iat = true;
        char why[256];
        enum auth_jwt_reason r =
            auth_jwks_verify(d->jwks, id_token, strlen(id_token), &e, &jwt, why, sizeof(why));
        if (r != AUTH_JWT_OK) {
            auth_set_err(err, err_size, "ID token refused (%s): %s", auth_jwt_reason_name(r), why);
            rc = -EACCES;
        }
    }
    if (rc == 0) {
        const char *nonce = json_string_value(json_object_get(jwt.claims, "nonce"));
        const json_t *aud = json_object_get(jwt.claims, "aud");
        const json_t *azp = json_object_get(jwt.claims, "azp");
        if (is_access_token_typ(jwt.typ)) {
            auth_set_err(err, err_size, "an access token (typ %s) was given as the ID token",
                         jwt.typ);
            rc = -EACCES;
        } else if (!nonce || !auth_streq_ct(nonce, p.nonce)) {
            auth_set_err(err, err_size, "ID token nonce does not match the login's");
            rc = -EACCES;
        } else if ((azp || (json_is_array(aud) && json_array_size(aud) > 1)) &&
                   !(json_is_string(azp) && strcmp(json_string_value(azp), o->client_id) == 0)) {
            auth_set_err(err, err_size, "ID token azp is not our client_id");
            rc = -EACCES;
        } else {
            rc = map_claims(o, jwt.claims, id, err, err_size);
        }
    }
    if (rc == 0) {
        id->return_to = horus_strdup(p.return_to);
        id->id_token = id_token;
        id_token = NULL;
    }
    auth_jwt_release(&jwt);
    if (id_token)
        OPENSSL_cleanse(id_token, strlen(id_token));
    free(id_token);
    OPENSSL_cleanse(&p, sizeof(p));
    return rc;
}

enum auth_jwt_reason auth_oidc_verify_access_token(auth_oidc *o, const char *token, size_t len,
                                                   struct auth_oidc_identity *id, char *why,
                                                   size_t why_size)
{
    memset(id, 0, sizeof(*id));
    struct disco *d = disco_get(o, why, why_size);
    if (!d)
        return AUTH_JWT_UNKNOWN_KID; /* no keys yet: nothing can verify */
    struct auth_jwt_expect e = expect_for(o, o->audience);
    struct auth_jwt jwt;
    enum auth_jwt_reason r = auth_jwks_verify(d->jwks, token, len, &e, &jwt, why, why_size);
    if (r != AUTH_JWT_OK)
        return r;
    if (looks_like_id_token(jwt.claims)) {
        snprintf(why, why_size, "an ID token was given as a bearer token");
        r = AUTH_JWT_WRONG_AUDIENCE;
    } else if (map_claims(o, jwt.claims, id, why, why_size) < 0) {
        r = AUTH_JWT_MISSING_CLAIM;
    } else {
        /* auth_jwt_verify required a numeric exp. */
        id->expires_at_s = (int64_t)json_number_value(json_object_get(jwt.claims, "exp"));
    }
    auth_jwt_release(&jwt);
    return r;
}

char *auth_oidc_logout_url(auth_oidc *o, const char *id_token)
{
    pthread_mutex_lock(&o->mu);
    struct disco *d = o->disco;
    pthread_mutex_unlock(&o->mu);
    if (!d || !d->end_session_endpoint)
        return NULL;
    char *buf = horus_strdup(d->end_session_endpoint);
    size_t len = strlen(buf), cap = len + 1;
    char sep = strchr(buf, '?') ? '&' : '?';
    append_param(&buf, &len, &cap, sep, "client_id", o->client_id);
    if (id_token)
        append_param(&buf, &len, &cap, '&', "id_token_hint", id_token);
    if (o->post_logout_redirect_uri)
        append_param(&buf, &len, &cap, '&', "post_logout_redirect_uri",
                     o->post_logout_redirect_uri);
    return buf;
}
