/* Tests for src/auth/jwks.c: fetch, TTL, refresh on unknown kid (rate-limited), failures keep keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"
#include "http_stub.h"
#include "jwks.h"
#include "jwt_keys.h"

#include <errno.h>

#define ISS "https://idp.example"

struct fx {
    struct http_stub *stub;
    clock_fake clock;
    EVP_PKEY *k1, *k2;
    char *set1, *set2; /* {"keys":[k1]} and {"keys":[k2]} */
    auth_jwks *jwks;
    char url[64];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->stub = stub_start();
    clock_fake_init(&f->clock, 1800000000000LL);
    f->k1 = tk_ec("P-256");
    f->k2 = tk_ec("P-256");
    json_t *a[] = {tk_jwk(f->k1, "k1"), NULL}, *b[] = {tk_jwk(f->k2, "k2"), NULL};
    f->set1 = tk_jwks(a);
    f->set2 = tk_jwks(b);
    stub_set(f->stub, "/jwks", 200, f->set1);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/jwks", f->stub->port);
    struct auth_jwks_opts o = {.url = f->url,
                               .ttl_ms = 600000,
                               .unknown_kid_interval_ms = 30000,
                               .retry_ms = 5000,
                               .timeout_ms = 2000,
                               .clock = &f->clock.base};
    if (auth_jwks_new(&o, &f->jwks) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    auth_jwks_free(f->jwks);
    stub_stop(f->stub);
    EVP_PKEY_free(f->k1);
    EVP_PKEY_free(f->k2);
    free(f->set1);
    free(f->set2);
    free(f);
    return 0;
}

static enum auth_jwt_reason verify(struct fx *f, const char *kid, EVP_PKEY *key)
{
    int64_t now = clock_realtime_ms(&f->clock.base) / 1000;
    json_t *c = json_pack("{s:s, s:s, s:s, s:I}", "iss", ISS, "aud", "horus", "sub", "x", "exp",
                          (json_int_t)now + 300);
    char *tok = tk_sign("ES256", kid, c, key);
    struct auth_jwt_expect e = {
        .issuer = ISS, .audience = "horus", .allowed_algs = AUTH_JWT_ES256, .now_s = now};
    struct auth_jwt jwt;
    enum auth_jwt_reason r = auth_jwks_verify(f->jwks, tok, strlen(tok), &e, &jwt, NULL, 0);
    auth_jwt_release(&jwt);
    free(tok);
    json_decref(c);
    return r;
}

static void test_first_verify_fetches_and_later_ones_use_the_cache(void **state)
{
    struct fx *f = *state;
    assert_null(auth_jwks_get(f->jwks));
    assert_int_equal(verify(f, "k1", f->k1), AUTH_JWT_OK);
    assert_int_equal(verify(f, "k1", f->k1), AUTH_JWT_OK);
    assert_int_equal(stub_hits(f->stub, "/jwks"), 1);
    /* Past the TTL the next verification refetches. */
    clock_fake_advance_ms(&f->clock, 600000);
    assert_int_equal(verify(f, "k1", f->k1), AUTH_JWT_OK);
    assert_int_equal(stub_hits(f->stub, "/jwks"), 2);
}

static void test_unknown_kid_refreshes_at_most_once_per_interval(void **state)
{
    struct fx *f = *state;
    assert_int_equal(verify(f, "k1", f->k1), AUTH_JWT_OK);
    /* The IdP rotates: a token with the new kid makes one refresh and verifies. */
    stub_set(f->stub, "/jwks", 200, f->set2);
    assert_int_equal(verify(f, "k2", f->k2), AUTH_JWT_OK);
    assert_int_equal(stub_hits(f->stub, "/jwks"), 2);
    /* A flood of random kids: no further fetch within the interval. */
    for (int i = 0; i < 50; i++) {
        char kid[16];
        snprintf(kid, sizeof(kid), "random-%d", i);
        assert_int_equal(verify(f, kid, f->k2), AUTH_JWT_UNKNOWN_KID);
    }
    assert_int_equal(stub_hits(f->stub, "/jwks"), 2);
    clock_fake_advance_ms(&f->clock, 30000);
    assert_int_equal(verify(f, "random-x", f->k2), AUTH_JWT_UNKNOWN_KID);
    assert_int_equal(stub_hits(f->stub, "/jwks"), 3);
    struct auth_jwks_stats st;
    auth_jwks_stats_get(f->jwks, &st);
    assert_int_equal(st.fetches, 3);
    assert_int_equal(st.unknown_kid_refreshes, 2);
}

static void test_failed_fetch_keeps_the_old_keys_and_waits_to_retry(void **state)
{
    struct fx *f = *state;
    char err[160];
    assert_int_equal(auth_jwks_refresh(f->jwks, err, sizeof(err)), 0);
    stub_set(f->stub, "/jwks", 500, "oops");
    clock_fake_advance_ms(&f->clock, 600000); /* stale */
    assert_int_equal(verify(f, "k1", f->k1), AUTH_JWT_OK); /* fetch failed, old set used */
    assert_int_equal(stub_hits(f->stub, "/jwks"), 2);
    assert_int_equal(verify(f, "k1", f->k1), AUTH_JWT_OK); /* within retry_ms: no fetch */
    assert_int_equal(stub_hits(f->stub, "/jwks"), 2);
    clock_fake_advance_ms(&f->clock, 5000);
    stub_set(f->stub, "/jwks", 200, "{\"keys\": [{\"kty\": \"oct\", \"k\": \"AAAA\"}]}");
    assert_int_equal(verify(f, "k1", f->k1), AUTH_JWT_OK); /* no usable key: old set kept */
    assert_int_equal(stub_hits(f->stub, "/jwks"), 3);
    assert_int_equal(auth_jwks_refresh(f->jwks, err, sizeof(err)), -ENOKEY);
    assert_non_null(strstr(err, "no usable"));
    stub_set(f->stub, "/jwks", 200, "not json");
    assert_int_equal(auth_jwks_refresh(f->jwks, err, sizeof(err)), -EINVAL);
    stub_set(f->stub, "/jwks", 404, f->set1);
    assert_int_equal(auth_jwks_refresh(f->jwks, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "404"));
    struct auth_jwks_stats st;
    auth_jwks_stats_get(f->jwks, &st);
    assert_int_equal(st.failures, 5);
    assert_int_equal(verify(f, "k1", f->k1), AUTH_JWT_OK);
}

static void test_oversized_set_is_refused(void **state)
{
    struct fx *f = *state;
    char *big = malloc(AUTH_JWKS_MAX_BYTES + 100);
    memset(big, ' ', AUTH_JWKS_MAX_BYTES + 99);
    big[AUTH_JWKS_MAX_BYTES + 99] = '\0';
    big[0] = '{';
    big[AUTH_JWKS_MAX_BYTES + 98] = '}';
    stub_set(f->stub, "/jwks", 200, big);
    free(big);
    char err[160];
    assert_int_equal(auth_jwks_refresh(f->jwks, err, sizeof(err)), -E2BIG);
    assert_null(auth_jwks_get(f->jwks));
}

static void test_only_https_or_loopback_http_urls_are_accepted(void **state)
{
    (void)state;
    static const char *const bad[] = {"http://idp.example/jwks",
                                      "ftp://127.0.0.1/jwks",
                                      "http://127.0.0.1@evil.example/jwks",
                                      "http://127.0.0.1.evil.example/jwks",
                                      "https:///jwks",
                                      "file:///etc/passwd",
                                      NULL};
    for (int i = 0; bad[i]; i++) {
        auth_jwks *j = NULL;
        struct auth_jwks_opts o = {.url = bad[i]};
        if (auth_jwks_new(&o, &j) != -EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
    }
    static const char *const good[] = {"https://idp.example/jwks", "http://127.0.0.1:8080/x",
                                       "http://localhost:9/x", "http://[::1]:9/x", NULL};
    for (int i = 0; good[i]; i++) {
        auth_jwks *j = NULL;
        struct auth_jwks_opts o = {.url = good[i]};
        assert_int_equal(auth_jwks_new(&o, &j), 0);
        auth_jwks_free(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_verify_fetches_and_later_ones_use_the_cache,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_kid_refreshes_at_most_once_per_interval, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_fetch_keeps_the_old_keys_and_waits_to_retry,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_set_is_refused, setup, teardown),
        cmocka_unit_test(test_only_https_or_loopback_http_urls_are_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
