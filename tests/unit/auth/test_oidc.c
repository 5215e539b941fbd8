/*
 * Tests for src/auth/oidc.c: return_to rules, configuration checks,
 * discovery checks, the code flow against a local HTTP IdP stand-in (PKCE,
 * state single use and expiry, nonce, azp, client authentication), claim
 * mapping, access tokens, the pending-login bound and the logout URL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"
#include "http_stub.h"
#include "jwt_keys.h"
#include "oidc.h"

#include <errno.h>
#include <openssl/sha.h>

struct fx {
    struct http_stub *stub;
    clock_fake clock;
    EVP_PKEY *key;
    char issuer[64];
    struct auth_oidc_config cfg;
    auth_oidc *oidc;
};

static char *admin_groups[] = {"horus-admins"};
static char *viewer_groups[] = {"horus-viewers"};

static void set_discovery(struct fx *f, const char *issuer, const char *token_endpoint,
                          const char *methods)
{
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "{\"issuer\": \"%s\", \"authorization_endpoint\": \"%s/auth?x=1\", "
             "\"token_endpoint\": \"%s\", \"jwks_uri\": \"%s/jwks\", "
             "\"end_session_endpoint\": \"%s/logout\", \"code_challenge_methods_supported\": %s}",
             issuer, f->issuer, token_endpoint, f->issuer, f->issuer, methods);
    stub_set(f->stub, "/.well-known/openid-configuration", 200, doc);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->stub = stub_start();
    clock_fake_init(&f->clock, 1800000000000LL);
    f->key = tk_rsa();
    snprintf(f->issuer, sizeof(f->issuer), "http://127.0.0.1:%d", f->stub->port);
    char token[96];
    snprintf(token, sizeof(token), "%s/token", f->issuer);
    set_discovery(f, f->issuer, token, "[\"S256\"]");
    json_t *keys[] = {tk_jwk(f->key, "k1"), NULL};
    char *jwks = tk_jwks(keys);
    stub_set(f->stub, "/jwks", 200, jwks);
    free(jwks);
    f->cfg = (struct auth_oidc_config){
        .issuer = f->issuer,
        .client_id = "horus",
        .client_secret = "s3cret:/&",
        .client_auth = AUTH_OIDC_SECRET_BASIC,
        .leeway_ms = 60000,
        .login_timeout_ms = 600000,
        .jwks_ttl_ms = 600000,
        .jwks_min_refresh_ms = 30000,
        .http_timeout_ms = 2000,
        .username_claim = "preferred_username",
        .role_claim = "realm_access.roles",
        .roles = {.admin = admin_groups, .nadmin = 1, .viewer = viewer_groups, .nviewer = 1},
        .post_logout_redirect_uri = "https://horus.example/",
    };
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    auth_oidc_free(f->oidc);
    stub_stop(f->stub);
    EVP_PKEY_free(f->key);
    free(f);
    return 0;
}

static int make(struct fx *f, const char *public_url)
{
    struct auth_oidc_opts o = {
        .config = &f->cfg, .public_url = public_url, .clock = &f->clock.base};
    char err[256];
    return auth_oidc_new(&o, &f->oidc, err, sizeof(err));
}

/* The decoded value of a query parameter of url (static buffer). */
static const char *param(const char *url, const char *name)
{
    static char out[512];
    char key[64];
    snprintf(key, sizeof(key), "%s=", name);
    const char *p = strstr(url, key);
    while (p && p[-1] != '?' && p[-1] != '&')
        p = strstr(p + 1, key);
    if (!p)
        return NULL;
    p += strlen(key);
    size_t n = 0;
    for (; *p && *p != '&' && n < sizeof(out) - 1; p++) {
        if (*p == '%') {
            unsigned v;
            sscanf(p + 1, "%2x", &v);
            out[n++] = (char)v;
            p += 2;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    return out;
}

static json_t *id_claims(struct fx *f, const char *nonce)
{
    int64_t now = clock_realtime_ms(&f->clock.base) / 1000;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:{s:[s, s]}, s:[s]}", "iss", f->issuer,
                     "aud", "horus", "sub", "u-1", "nonce", nonce, "preferred_username", "bob",
                     "exp", (json_int_t)now + 300, "iat", (json_int_t)now, "realm_access", "roles",
                     "offline", "horus-admins", "cameras", "front");
}

/* Sets the token endpoint to answer an ID token of claims (borrowed). */
static void serve_id_token(struct fx *f, json_t *claims)
{
    /* A claim "_typ" (removed here) becomes the header's typ. */
    json_t *hdr = json_object();
    json_t *typ = json_object_get(claims, "_typ");
    if (typ) {
        json_object_set(hdr, "typ", typ);
        json_object_del(claims, "_typ");
    }
    char *tok = tk_sign_full("RS256", "k1", hdr, claims, f->key, NULL, 0);
    json_decref(hdr);
    char *body = malloc(strlen(tok) + 64);
    sprintf(body, "{\"access_token\": \"opaque\", \"id_token\": \"%s\"}", tok);
    stub_set(f->stub, "/token", 200, body);
    free(body);
    free(tok);
}

/* Begins a login and returns the authorization URL (new string). */
static char *begin(struct fx *f, const char *return_to)
{
    char *url = NULL;
    char err[256];
    int rc = auth_oidc_login_begin(f->oidc, return_to, &url, err, sizeof(err));
    if (rc != 0)
        fail_msg("begin: %d %s", rc, err);
    return url;
}

static void test_return_to_accepts_only_same_origin_paths(void **state)
{
    (void)state;
    assert_true(auth_oidc_return_to_ok("/"));
    assert_true(auth_oidc_return_to_ok("/cameras/front?tab=live#x"));
    assert_true(auth_oidc_return_to_ok("/a//b"));
    static const char *const bad[] = {
        "",      "cameras", "//evil.example", "/\\evil.example",     "https://evil.example/",
        "/a\\b", "/a\nb",   "/a\tb",          "javascript:alert(1)", "\\/evil",
        NULL};
    for (int i = 0; bad[i]; i++)
        if (auth_oidc_return_to_ok(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(auth_oidc_return_to_ok(NULL));
    char long_path[AUTH_OIDC_RETURN_TO_MAX + 2];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    assert_false(auth_oidc_return_to_ok(long_path));
}

static void test_configuration_errors_are_named(void **state)
{
    struct fx *f = *state;
    char err[256];
    auth_oidc *o = NULL;
    struct auth_oidc_opts opts = {.config = &f->cfg, .public_url = NULL};
    f->cfg.issuer = "";
    assert_int_equal(auth_oidc_new(&opts, &o, err, sizeof(err)), -ENOENT);
    f->cfg.issuer = "http://idp.example";
    assert_int_equal(auth_oidc_new(&opts, &o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "https"));
    f->cfg.issuer = f->issuer;
    f->cfg.client_id = "";
    assert_int_equal(auth_oidc_new(&opts, &o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "client_id"));
    f->cfg.client_id = "horus";
    assert_int_equal(auth_oidc_new(&opts, &o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "redirect_uri"));
    char *algs[] = {"HS256"};
    f->cfg.algorithms = algs;
    f->cfg.nalgorithms = 1;
    assert_int_equal(auth_oidc_new(&opts, &o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "HS256"));
    assert_null(o);
}

static void test_authorization_url_carries_pkce_state_and_nonce(void **state)
{
    struct fx *f = *state;
    assert_int_equal(make(f, "https://horus.example:8443/"), 0);
    char *url = begin(f, NULL);
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "%s/auth?x=1&response_type=code&", f->issuer);
    assert_memory_equal(url, prefix, strlen(prefix));
    assert_string_equal(param(url, "redirect_uri"),
                        "https://horus.example:8443/api/v1/auth/oidc/callback");
    assert_string_equal(param(url, "scope"), "openid profile email");
    assert_string_equal(param(url, "code_challenge_method"), "S256");
    char state1[64], nonce[64], challenge[64];
    snprintf(state1, sizeof(state1), "%s", param(url, "state"));
    snprintf(nonce, sizeof(nonce), "%s", param(url, "nonce"));
    snprintf(challenge, sizeof(challenge), "%s", param(url, "code_challenge"));
    assert_int_equal(strlen(state1), 43);
    assert_string_not_equal(state1, nonce);

    json_t *c = id_claims(f, nonce);
    serve_id_token(f, c);
    struct auth_oidc_identity id;
    char err[256];
    assert_int_equal(
        auth_oidc_login_finish(f->oidc, state1, "the-code", NULL, &id, err, sizeof(err)), 0);
    /* The verifier sent to the token endpoint hashes to the challenge. */
    char verifier[64];
    char body[8200];
    pthread_mutex_lock(&f->stub->mu);
    snprintf(body, sizeof(body), "?%s", f->stub->last_body);
    pthread_mutex_unlock(&f->stub->mu);
    snprintf(verifier, sizeof(verifier), "%s", param(body, "code_verifier"));
    uint8_t d[32];
    SHA256((const uint8_t *)verifier, strlen(verifier), d);
    char expect[64];
    auth_b64url_encode(d, sizeof(d), expect, sizeof(expect));
    assert_string_equal(expect, challenge);
    assert_string_equal(param(body, "code"), "the-code");
    assert_string_equal(param(body, "grant_type"), "authorization_code");
    assert_null(param(body, "client_secret"));
    /* client_secret_basic, with the id and secret form-encoded first (RFC 6749 2.3.1). */
    char auth[512];
    pthread_mutex_lock(&f->stub->mu);
    snprintf(auth, sizeof(auth), "%s", f->stub->last_auth);
    pthread_mutex_unlock(&f->stub->mu);
    assert_memory_equal(auth, "Basic ", 6);
    unsigned char cred[256] = {0};
    EVP_DecodeBlock(cred, (const unsigned char *)auth + 6, (int)strlen(auth + 6));
    assert_string_equal((char *)cred, "horus:s3cret%3A%2F%26");

    assert_string_equal(id.subject, "u-1");
    assert_string_equal(id.username, "bob");
    assert_string_equal(id.role, "admin");
    assert_true(id.all_cameras); /* no cameras_claim configured */
    assert_string_equal(id.return_to, "/");
    assert_non_null(id.id_token);
    auth_oidc_identity_release(&id);

    /* The state is single use. */
    assert_int_equal(
        auth_oidc_login_finish(f->oidc, state1, "the-code", NULL, &id, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "already used"));
    json_decref(c);
    free(url);
}

/* Begins a login, serves an ID token built by edit (may be NULL), finishes; returns the code. */
static int flow(struct fx *f, void (*edit)(json_t *c), struct auth_oidc_identity *id, char *err,
                size_t err_size)
{
    char *url = begin(f, "/back");
    char st[64];
    snprintf(st, sizeof(st), "%s", param(url, "state"));
    json_t *c = id_claims(f, param(url, "nonce"));
    if (edit)
        edit(c);
    serve_id_token(f, c);
    json_decref(c);
    free(url);
    return auth_oidc_login_finish(f->oidc, st, "code", NULL, id, err, err_size);
}

static void other_nonce(json_t *c)
{
    json_object_set_new(c, "nonce", json_string("not-the-nonce"));
}
static void access_token_typ(json_t *c)
{
    json_object_set_new(c, "_typ", json_string("at+jwt"));
}
static void other_azp(json_t *c)
{
    json_object_set_new(c, "azp", json_string("someone-else"));
}
static void two_audiences(json_t *c)
{
    json_object_set_new(c, "aud", json_pack("[s, s]", "horus", "other"));
}
static void two_audiences_azp(json_t *c)
{
    two_audiences(c);
    json_object_set_new(c, "azp", json_string("horus"));
}
static void expired(json_t *c)
{
    json_object_set_new(c, "exp", json_integer(1800000000 - 3600));
}
static void wrong_aud(json_t *c)
{
    json_object_set_new(c, "aud", json_string("grafana"));
}
static void no_iat(json_t *c)
{
    json_object_del(c, "iat");
}
static void no_role(json_t *c)
{
    json_object_set_new(c, "realm_access", json_pack("{s:[s]}", "roles", "offline"));
}
static void viewer_with_cameras(json_t *c)
{
    json_object_set_new(c, "realm_access", json_pack("{s:[s]}", "roles", "horus-viewers"));
    json_object_set_new(c, "cameras", json_pack("[s, s, i]", "front", "yard", 3));
}
static void all_cameras(json_t *c)
{
    json_object_set_new(c, "cameras", json_string("*"));
}

static void test_id_token_checks_refuse_the_login(void **state)
{
    struct fx *f = *state;
    assert_int_equal(make(f, "https://horus.example"), 0);
    static const struct {
        void (*edit)(json_t *);
        const char *why;
    } cases[] = {
        {other_nonce, "nonce"},  {other_azp, "azp"},
        {two_audiences, "azp"},  {expired, "expired"},
        {wrong_aud, "audience"}, {no_iat, "iat"},
        {no_role, "no role"},    {access_token_typ, "access token"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct auth_oidc_identity id;
        char err[256] = "";
        int rc = flow(f, cases[i].edit, &id, err, sizeof(err));
        if (rc != -EACCES || !strstr(err, cases[i].why))
            fail_msg("case %zu: rc %d, '%s'", i, rc, err);
        assert_null(id.subject);
    }
    struct auth_oidc_identity id;
    char err[256];
    assert_int_equal(flow(f, two_audiences_azp, &id, err, sizeof(err)), 0);
    assert_string_equal(id.return_to, "/back");
    auth_oidc_identity_release(&id);
    assert_int_equal(auth_oidc_pending_count(f->oidc), 0);
}

static void test_claims_map_to_role_and_cameras(void **state)
{
    struct fx *f = *state;
    f->cfg.cameras_claim = "cameras";
    assert_int_equal(make(f, "https://horus.example"), 0);
    struct auth_oidc_identity id;
    char err[256];
    assert_int_equal(flow(f, viewer_with_cameras, &id, err, sizeof(err)), 0);
    assert_string_equal(id.role, "viewer");
    assert_false(id.all_cameras);
    assert_int_equal(id.ncameras, 2);
    assert_string_equal(id.cameras[0], "front");
    assert_string_equal(id.cameras[1], "yard");
    auth_oidc_identity_release(&id);
    assert_int_equal(flow(f, all_cameras, &id, err, sizeof(err)), 0);
    assert_true(id.all_cameras);
    assert_int_equal(id.ncameras, 0);
    auth_oidc_identity_release(&id);
}

static void test_default_role_applies_when_no_list_matches(void **state)
{
    struct fx *f = *state;
    f->cfg.default_role = AUTH_OIDC_DEFAULT_VIEWER;
    assert_int_equal(make(f, "https://horus.example"), 0);
    struct auth_oidc_identity id;
    char err[256];
    assert_int_equal(flow(f, no_role, &id, err, sizeof(err)), 0);
    assert_string_equal(id.role, "viewer");
    auth_oidc_identity_release(&id);
}

static void test_pending_login_expires(void **state)
{
    struct fx *f = *state;
    assert_int_equal(make(f, "https://horus.example"), 0);
    char *url = begin(f, NULL);
    char st[64];
    snprintf(st, sizeof(st), "%s", param(url, "state"));
    json_t *c = id_claims(f, param(url, "nonce"));
    serve_id_token(f, c);
    clock_fake_advance_ms(&f->clock, 600000);
    struct auth_oidc_identity id;
    char err[256];
    assert_int_equal(auth_oidc_login_finish(f->oidc, st, "code", NULL, &id, err, sizeof(err)),
                     -ENOENT);
    assert_int_equal(stub_hits(f->stub, "/token"), 0); /* refused before any exchange */
    json_decref(c);
    free(url);
}

static void test_idp_and_token_endpoint_errors_refuse_the_login(void **state)
{
    struct fx *f = *state;
    f->cfg.client_auth = AUTH_OIDC_SECRET_POST;
    assert_int_equal(make(f, "https://horus.example"), 0);
    struct auth_oidc_identity id;
    char err[256];
    char *url = begin(f, NULL);
    char st[64];
    snprintf(st, sizeof(st), "%s", param(url, "state"));
    free(url);
    assert_int_equal(
        auth_oidc_login_finish(f->oidc, st, NULL, "access_denied<script>", &id, err, sizeof(err)),
        -EACCES);
    assert_non_null(strstr(err, "access_deniedscript"));
    assert_null(strchr(err, '<'));

    url = begin(f, NULL);
    snprintf(st, sizeof(st), "%s", param(url, "state"));
    free(url);
    stub_set(f->stub, "/token", 400, "{\"error\": \"invalid_grant\"}");
    assert_int_equal(auth_oidc_login_finish(f->oidc, st, "code", NULL, &id, err, sizeof(err)),
                     -EACCES);
    assert_non_null(strstr(err, "invalid_grant"));
    /* client_secret_post: the secret travels in the body, no Authorization header. */
    pthread_mutex_lock(&f->stub->mu);
    assert_non_null(strstr(f->stub->last_body, "client_secret=s3cret%3A%2F%26"));
    assert_string_equal(f->stub->last_auth, "");
    pthread_mutex_unlock(&f->stub->mu);
    assert_null(strstr(err, "s3cret"));

    url = begin(f, NULL);
    snprintf(st, sizeof(st), "%s", param(url, "state"));
    free(url);
    stub_set(f->stub, "/token", 502, "bad gateway");
    assert_int_equal(auth_oidc_login_finish(f->oidc, st, "code", NULL, &id, err, sizeof(err)),
                     -EIO);
    assert_int_equal(auth_oidc_login_finish(f->oidc, NULL, "code", NULL, &id, err, sizeof(err)),
                     -EINVAL);
}

static void test_discovery_must_match_and_offer_s256(void **state)
{
    struct fx *f = *state;
    char token[96], err[256];
    snprintf(token, sizeof(token), "%s/token", f->issuer);
    set_discovery(f, "https://other.example", token, "[\"S256\"]");
    assert_int_equal(make(f, "https://horus.example"), 0);
    assert_int_equal(auth_oidc_discover(f->oidc, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "differs"));
    char *url = NULL;
    /* Within http_timeout of the failure, begin does not refetch. */
    assert_int_equal(auth_oidc_login_begin(f->oidc, "/", &url, err, sizeof(err)), -EAGAIN);
    assert_int_equal(stub_hits(f->stub, "/.well-known/openid-configuration"), 1);
    auth_oidc_free(f->oidc);
    f->oidc = NULL;

    set_discovery(f, f->issuer, token, "[\"plain\"]");
    assert_int_equal(make(f, "https://horus.example"), 0);
    assert_int_equal(auth_oidc_discover(f->oidc, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "S256"));
    auth_oidc_free(f->oidc);
    f->oidc = NULL;

    set_discovery(f, f->issuer, "http://token.example/token", "[\"S256\"]");
    assert_int_equal(make(f, "https://horus.example"), 0);
    assert_int_equal(auth_oidc_discover(f->oidc, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "token_endpoint"));
    /* Once the IdP is fixed and the retry delay passed, the next login discovers. */
    set_discovery(f, f->issuer, token, "[\"S256\"]");
    clock_fake_advance_ms(&f->clock, 2000);
    assert_int_equal(auth_oidc_login_begin(f->oidc, "/", &url, err, sizeof(err)), 0);
    free(url);
}

static void test_pending_logins_are_bounded(void **state)
{
    struct fx *f = *state;
    assert_int_equal(make(f, "https://horus.example"), 0);
    char *first = begin(f, NULL);
    char st[64];
    snprintf(st, sizeof(st), "%s", param(first, "state"));
    free(first);
    for (int i = 0; i < AUTH_OIDC_PENDING_MAX + 10; i++)
        free(begin(f, NULL));
    assert_int_equal(auth_oidc_pending_count(f->oidc), AUTH_OIDC_PENDING_MAX);
    /* The oldest gave way, then the next oldest: the newest stay. */
    struct auth_oidc_identity id;
    char err[256];
    assert_int_equal(auth_oidc_login_finish(f->oidc, st, "code", NULL, &id, err, sizeof(err)),
                     -ENOENT);
    char *newest = begin(f, NULL);
    char st2[64];
    snprintf(st2, sizeof(st2), "%s", param(newest, "state"));
    json_t *c = id_claims(f, param(newest, "nonce"));
    serve_id_token(f, c);
    for (int i = 0; i < 100; i++)
        free(begin(f, NULL));
    assert_int_equal(auth_oidc_login_finish(f->oidc, st2, "code", NULL, &id, err, sizeof(err)), 0);
    auth_oidc_identity_release(&id);
    json_decref(c);
    free(newest);
    /* Expired ones are purged by the next begin. */
    clock_fake_advance_ms(&f->clock, 600001);
    free(begin(f, NULL));
    assert_int_equal(auth_oidc_pending_count(f->oidc), 1);
}

static void test_access_tokens_map_like_logins(void **state)
{
    struct fx *f = *state;
    f->cfg.audience = "horus-api";
    assert_int_equal(make(f, "https://horus.example"), 0);
    int64_t now = clock_realtime_ms(&f->clock.base) / 1000;
    json_t *c =
        json_pack("{s:s, s:s, s:s, s:I, s:{s:[s]}}", "iss", f->issuer, "aud", "horus-api", "sub",
                  "robot", "exp", (json_int_t)now + 60, "realm_access", "roles", "horus-viewers");
    char *tok = tk_sign("RS256", "k1", c, f->key);
    struct auth_oidc_identity id;
    char why[256];
    assert_int_equal(
        auth_oidc_verify_access_token(f->oidc, tok, strlen(tok), &id, why, sizeof(why)),
        AUTH_JWT_OK);
    assert_string_equal(id.role, "viewer");
    assert_string_equal(id.username, "robot");
    assert_null(id.return_to);
    auth_oidc_identity_release(&id);
    free(tok);
    json_object_set_new(c, "realm_access", json_object());
    tok = tk_sign("RS256", "k1", c, f->key);
    assert_int_equal(
        auth_oidc_verify_access_token(f->oidc, tok, strlen(tok), &id, why, sizeof(why)),
        AUTH_JWT_MISSING_CLAIM);
    assert_non_null(strstr(why, "no role"));
    free(tok);
    json_object_set_new(c, "aud", json_string("horus"));
    tok = tk_sign("RS256", "k1", c, f->key);
    assert_int_equal(
        auth_oidc_verify_access_token(f->oidc, tok, strlen(tok), &id, why, sizeof(why)),
        AUTH_JWT_WRONG_AUDIENCE);
    free(tok);
    /* An ID token (it carries a nonce) for the right audience is still not a bearer token. */
    json_object_set_new(c, "aud", json_string("horus-api"));
    json_object_set_new(c, "realm_access", json_pack("{s:[s]}", "roles", "horus-viewers"));
    json_object_set_new(c, "nonce", json_string("n"));
    tok = tk_sign("RS256", "k1", c, f->key);
    assert_int_equal(
        auth_oidc_verify_access_token(f->oidc, tok, strlen(tok), &id, why, sizeof(why)),
        AUTH_JWT_WRONG_AUDIENCE);
    assert_non_null(strstr(why, "ID token"));
    free(tok);
    json_decref(c);
}

static void test_logout_url_names_the_client_and_the_way_back(void **state)
{
    struct fx *f = *state;
    assert_int_equal(make(f, "https://horus.example"), 0);
    assert_null(auth_oidc_logout_url(f->oidc, NULL)); /* not discovered yet */
    char err[256];
    assert_int_equal(auth_oidc_discover(f->oidc, err, sizeof(err)), 0);
    char *url = auth_oidc_logout_url(f->oidc, "a.b.c");
    char want[256];
    snprintf(
        want, sizeof(want),
        "%s/logout?client_id=horus&id_token_hint=a.b.c&post_logout_redirect_uri=https%%3A%%2F%%"
        "2Fhorus.example%%2F",
        f->issuer);
    assert_string_equal(url, want);
    free(url);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_return_to_accepts_only_same_origin_paths),
        T(test_configuration_errors_are_named),
        T(test_authorization_url_carries_pkce_state_and_nonce),
        T(test_id_token_checks_refuse_the_login),
        T(test_claims_map_to_role_and_cameras),
        T(test_default_role_applies_when_no_list_matches),
        T(test_pending_login_expires),
        T(test_idp_and_token_endpoint_errors_refuse_the_login),
        T(test_discovery_must_match_and_offer_s256),
        T(test_pending_logins_are_bounded),
        T(test_access_tokens_map_like_logins),
        T(test_logout_url_names_the_client_and_the_way_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
