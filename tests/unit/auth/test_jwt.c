/* Tests for src/auth/jwt.c and jwk.c: good tokens, every refusal reason, alg pinning, bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "jwt.h"
#include "jwt_keys.h"

#include <errno.h>

#define NOW 1800000000
#define ISS "https://idp.example"
#define AUD "horus"

static EVP_PKEY *rsa, *ec256, *ec384;
static auth_jwk_set *keys;

static int setup(void **state)
{
    (void)state;
    rsa = tk_rsa();
    ec256 = tk_ec("P-256");
    ec384 = tk_ec("P-384");
    json_t *jwks[] = {tk_jwk(rsa, "r1"), tk_jwk(ec256, "e1"), tk_jwk(ec384, "e2"), NULL};
    char *doc = tk_jwks(jwks);
    char err[128];
    int rc = auth_jwk_set_parse(doc, strlen(doc), &keys, err, sizeof(err));
    free(doc);
    return rc == 0 && auth_jwk_set_count(keys) == 3 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    auth_jwk_set_unref(keys);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec256);
    EVP_PKEY_free(ec384);
    return 0;
}

static json_t *claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "iss", ISS, "aud", AUD, "sub", "alice",
                     "exp", (json_int_t)NOW + 300, "iat", (json_int_t)NOW - 10, "nbf",
                     (json_int_t)NOW - 10);
}

static struct auth_jwt_expect expect(void)
{
    return (struct auth_jwt_expect){.issuer = ISS,
                                    .audience = AUD,
                                    .allowed_algs = AUTH_JWT_ALGS_ALL,
                                    .now_s = NOW,
                                    .leeway_s = 60,
                                    .require_iat = true};
}

/* Verifies tok with the default expectation (or e) and returns the reason. */
static enum auth_jwt_reason check_with(char *tok, struct auth_jwt_expect e)
{
    struct auth_jwt jwt;
    char why[256] = "";
    enum auth_jwt_reason r = auth_jwt_verify(tok, strlen(tok), keys, &e, &jwt, why, sizeof(why));
    if (r == AUTH_JWT_OK) {
        assert_non_null(jwt.claims);
        assert_string_equal(json_string_value(json_object_get(jwt.claims, "sub")), "alice");
    } else {
        assert_null(jwt.claims);
        assert_true(why[0] != '\0');
        assert_null(strstr(why, tok)); /* the reason never quotes the token */
    }
    auth_jwt_release(&jwt);
    free(tok);
    return r;
}

static enum auth_jwt_reason check(char *tok)
{
    return check_with(tok, expect());
}

static void test_good_tokens_of_each_key_type_verify(void **state)
{
    (void)state;
    json_t *c = claims();
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_OK);
    assert_int_equal(check(tk_sign("RS384", "r1", c, rsa)), AUTH_JWT_OK);
    assert_int_equal(check(tk_sign("RS512", "r1", c, rsa)), AUTH_JWT_OK);
    assert_int_equal(check(tk_sign("PS256", "r1", c, rsa)), AUTH_JWT_OK);
    assert_int_equal(check(tk_sign("ES256", "e1", c, ec256)), AUTH_JWT_OK);
    assert_int_equal(check(tk_sign("ES384", "e2", c, ec384)), AUTH_JWT_OK);
    /* Without kid every key whose type fits is tried. */
    assert_int_equal(check(tk_sign("ES256", NULL, c, ec256)), AUTH_JWT_OK);
    json_decref(c);
}

static void test_verified_token_reports_its_alg_and_kid(void **state)
{
    (void)state;
    json_t *c = claims();
    char *tok = tk_sign("ES256", "e1", c, ec256);
    struct auth_jwt_expect e = expect();
    struct auth_jwt jwt;
    assert_int_equal(auth_jwt_verify(tok, strlen(tok), keys, &e, &jwt, NULL, 0), AUTH_JWT_OK);
    assert_int_equal(jwt.alg, AUTH_JWT_ES256);
    assert_string_equal(jwt.kid, "e1");
    assert_string_equal(jwt.typ, "JWT");
    char kid[AUTH_JWK_KID_MAX + 1];
    assert_int_equal(auth_jwt_peek_kid(tok, strlen(tok), kid), 0);
    assert_string_equal(kid, "e1");
    auth_jwt_release(&jwt);
    free(tok);
    json_decref(c);
}

static void test_alg_none_is_refused(void **state)
{
    (void)state;
    struct auth_jwt_expect e = expect();
    struct auth_jwt jwt;
    /* A header without any alg: {} */
    assert_int_equal(auth_jwt_verify("e30.e30.c2ln", 12, keys, &e, &jwt, NULL, 0),
                     AUTH_JWT_ALG_REFUSED);
    json_t *c = claims();
    /* With an empty signature (the real "none" form) and with a dummy one. */
    char *tok = tk_sign("none", "r1", c, NULL);
    *strrchr(tok, '.') = '\0';
    size_t n = strlen(tok);
    tok[n] = '.';
    tok[n + 1] = '\0';
    assert_int_equal(check(tok), AUTH_JWT_MALFORMED);
    assert_int_equal(check(tk_sign("none", "r1", c, NULL)), AUTH_JWT_ALG_REFUSED);
    assert_int_equal(check(tk_sign("None", NULL, c, NULL)), AUTH_JWT_ALG_REFUSED);
    json_decref(c);
}

static void test_hs256_signed_with_the_rsa_public_key_is_refused(void **state)
{
    (void)state;
    json_t *c = claims();
    char *pem = tk_public_pem(rsa);
    assert_int_equal(check(tk_sign_full("HS256", "r1", NULL, c, NULL, pem, strlen(pem))),
                     AUTH_JWT_ALG_REFUSED);
    /* Also with the raw JWK "n" bytes as the HMAC secret. */
    assert_int_equal(check(tk_sign_full("HS512", "r1", NULL, c, NULL, pem, 10)),
                     AUTH_JWT_ALG_REFUSED);
    free(pem);
    json_decref(c);
}

static void test_alg_must_fit_the_key_type(void **state)
{
    (void)state;
    json_t *c = claims();
    /* ES256 claimed against the RSA key, RS256 against an EC key, ES384 against P-256. */
    assert_int_equal(check(tk_sign("ES256", "r1", c, ec256)), AUTH_JWT_KEY_MISMATCH);
    assert_int_equal(check(tk_sign("RS256", "e1", c, rsa)), AUTH_JWT_KEY_MISMATCH);
    assert_int_equal(check(tk_sign("ES384", "e1", c, ec384)), AUTH_JWT_KEY_MISMATCH);
    json_decref(c);
}

static void test_alg_outside_the_configured_set_is_refused(void **state)
{
    (void)state;
    json_t *c = claims();
    struct auth_jwt_expect e = expect();
    e.allowed_algs = AUTH_JWT_RS256;
    assert_int_equal(check_with(tk_sign("PS256", "r1", c, rsa), e), AUTH_JWT_ALG_REFUSED);
    assert_int_equal(check_with(tk_sign("RS256", "r1", c, rsa), e), AUTH_JWT_OK);
    e.allowed_algs = 0;
    assert_int_equal(check_with(tk_sign("RS256", "r1", c, rsa), e), AUTH_JWT_ALG_REFUSED);
    json_decref(c);
}

static void test_expiry_honours_the_leeway_to_the_second(void **state)
{
    (void)state;
    json_t *c = claims();
    json_object_set_new(c, "exp", json_integer(NOW - 60));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_OK);
    json_object_set_new(c, "exp", json_integer(NOW - 61));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_EXPIRED);
    json_object_del(c, "exp");
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_MISSING_CLAIM);
    json_object_set_new(c, "exp", json_string("tomorrow"));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_MISSING_CLAIM);
    json_decref(c);
}

static void test_nbf_and_iat_in_the_future_are_refused(void **state)
{
    (void)state;
    json_t *c = claims();
    json_object_set_new(c, "nbf", json_integer(NOW + 61));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_NOT_YET_VALID);
    json_object_set_new(c, "nbf", json_integer(NOW + 60));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_OK);
    json_object_set_new(c, "iat", json_integer(NOW + 3600));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_ISSUED_IN_FUTURE);
    json_object_del(c, "iat");
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_MISSING_CLAIM);
    struct auth_jwt_expect e = expect();
    e.require_iat = false;
    assert_int_equal(check_with(tk_sign("RS256", "r1", c, rsa), e), AUTH_JWT_OK);
    json_decref(c);
}

static void test_issuer_and_audience_must_match(void **state)
{
    (void)state;
    json_t *c = claims();
    json_object_set_new(c, "iss", json_string("https://evil.example"));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_WRONG_ISSUER);
    json_object_del(c, "iss");
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_WRONG_ISSUER);
    json_object_set_new(c, "iss", json_string(ISS));
    json_object_set_new(c, "aud", json_string("other"));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_WRONG_AUDIENCE);
    json_object_set_new(c, "aud", json_pack("[s, s]", "other", AUD));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_OK);
    json_object_set_new(c, "aud", json_pack("[s, i]", "other", 5));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_WRONG_AUDIENCE);
    /* "horus" is not a prefix match of "horus-admin". */
    json_object_set_new(c, "aud", json_string(AUD "-admin"));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_WRONG_AUDIENCE);
    json_decref(c);
}

static void test_tampered_payload_fails_the_signature(void **state)
{
    (void)state;
    json_t *c = claims();
    char *good = tk_sign("RS256", "r1", c, rsa);
    json_object_set_new(c, "sub", json_string("admin"));
    char *evil = tk_sign("RS256", "r1", c, rsa);
    /* Header and signature of the good token around the claims of the evil one. */
    char *g1 = strchr(good, '.'), *g2 = strrchr(good, '.');
    char *e1 = strchr(evil, '.'), *e2 = strrchr(evil, '.');
    char *tok = malloc(strlen(good) + strlen(evil));
    sprintf(tok, "%.*s%.*s%s", (int)(g1 - good), good, (int)(e2 - e1), e1, g2);
    struct auth_jwt_expect e = expect();
    struct auth_jwt jwt;
    assert_int_equal(auth_jwt_verify(tok, strlen(tok), keys, &e, &jwt, NULL, 0),
                     AUTH_JWT_BAD_SIGNATURE);
    /* An ES256 signature with one bit flipped. */
    char *es = tk_sign("ES256", "e1", c, ec256);
    char *last = es + strlen(es) - 2;
    *last = *last == 'A' ? 'B' : 'A';
    assert_int_equal(auth_jwt_verify(es, strlen(es), keys, &e, &jwt, NULL, 0),
                     AUTH_JWT_BAD_SIGNATURE);
    /* An ES256 signature of the wrong length. */
    free(es);
    es = tk_sign("ES256", "e1", c, ec256);
    uint8_t short_sig[63] = {1};
    char *sb = tk_b64(short_sig, sizeof(short_sig));
    strcpy(strrchr(es, '.') + 1, sb); /* 84 characters where there were 86 */
    free(sb);
    assert_int_equal(auth_jwt_verify(es, strlen(es), keys, &e, &jwt, NULL, 0),
                     AUTH_JWT_BAD_SIGNATURE);
    free(es);
    free(tok);
    free(good);
    free(evil);
    json_decref(c);
}

static void test_malformed_tokens_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "..",
        "eyJhbGciOiJSUzI1NiJ9..c2ln",
        "eyJhbGciOiJSUzI1NiJ9.e30=.c2ln",
        "eyJhbGciOiJSUzI1NiJ9.e3 0.c2ln",
        "eyJhbGciOiJSUzI1NiJ9.e30.c2l+",
        "W10.e30.c2ln", /* header is an array */
        "eyJhbGciOiJSUzI1NiJ9.bnVsbA.c2ln", /* claims are null */
    };
    struct auth_jwt_expect e = expect();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct auth_jwt jwt;
        enum auth_jwt_reason r = auth_jwt_verify(bad[i], strlen(bad[i]), keys, &e, &jwt, NULL, 0);
        if (r != AUTH_JWT_MALFORMED)
            fail_msg("'%s' gave %s", bad[i], auth_jwt_reason_name(r));
    }
}

static void test_duplicate_members_and_crit_are_refused(void **state)
{
    (void)state;
    json_t *c = claims();
    /* {"alg":"RS256","alg":"none"}: parsers disagree on which one wins. */
    const char *hdr = "{\"alg\":\"RS256\",\"kid\":\"r1\",\"alg\":\"none\"}";
    char *hb = tk_b64(hdr, strlen(hdr));
    char *good = tk_sign("RS256", "r1", c, rsa);
    char *tok = malloc(strlen(good) + strlen(hb) + 1);
    sprintf(tok, "%s%s", hb, strchr(good, '.'));
    assert_int_equal(check(tok), AUTH_JWT_MALFORMED);
    json_t *crit = json_pack("{s:[s], s:b}", "crit", "b64", "b64", 0);
    assert_int_equal(check(tk_sign_full("RS256", "r1", crit, c, rsa, NULL, 0)), AUTH_JWT_CRIT);
    json_decref(crit);
    free(hb);
    free(good);
    json_decref(c);
}

static void test_huge_tokens_and_headers_are_refused(void **state)
{
    (void)state;
    json_t *c = claims();
    json_t *extra = json_object();
    for (int i = 0; i < AUTH_JWT_MAX_HEADER_MEMBERS; i++) {
        char k[16];
        snprintf(k, sizeof(k), "x%d", i);
        json_object_set_new(extra, k, json_true());
    }
    assert_int_equal(check(tk_sign_full("RS256", "r1", extra, c, rsa, NULL, 0)),
                     AUTH_JWT_MALFORMED);
    json_decref(extra);
    char *pad = malloc(AUTH_JWT_MAX_BYTES);
    memset(pad, 'a', AUTH_JWT_MAX_BYTES - 1);
    pad[AUTH_JWT_MAX_BYTES - 1] = '\0';
    json_object_set_new(c, "pad", json_string(pad));
    assert_int_equal(check(tk_sign("RS256", "r1", c, rsa)), AUTH_JWT_MALFORMED);
    free(pad);
    json_decref(c);
}

static void test_unknown_kid_is_reported_as_such(void **state)
{
    (void)state;
    json_t *c = claims();
    assert_int_equal(check(tk_sign("RS256", "rotated", c, rsa)), AUTH_JWT_UNKNOWN_KID);
    char long_kid[AUTH_JWK_KID_MAX + 2];
    memset(long_kid, 'k', sizeof(long_kid) - 1);
    long_kid[sizeof(long_kid) - 1] = '\0';
    assert_int_equal(check(tk_sign("RS256", long_kid, c, rsa)), AUTH_JWT_MALFORMED);
    json_decref(c);
}

/* Parses a one-key set from jwk (stolen) and returns its number of usable keys. */
static size_t usable(json_t *jwk)
{
    json_t *list[] = {jwk, NULL};
    char *doc = tk_jwks(list);
    auth_jwk_set *set = NULL;
    assert_int_equal(auth_jwk_set_parse(doc, strlen(doc), &set, NULL, 0), 0);
    size_t n = auth_jwk_set_count(set);
    auth_jwk_set_unref(set);
    free(doc);
    return n;
}

static void test_jwks_skips_keys_it_must_not_use(void **state)
{
    (void)state;
    assert_int_equal(usable(tk_jwk(rsa, "a")), 1);
    assert_int_equal(usable(json_pack("{s:s, s:s}", "kty", "oct", "k", "c2VjcmV0")), 0);
    json_t *j = tk_jwk(rsa, "a");
    json_object_set_new(j, "use", json_string("enc"));
    assert_int_equal(usable(j), 0);
    j = tk_jwk(rsa, "a");
    json_object_set_new(j, "d", json_string("AQAB"));
    assert_int_equal(usable(j), 0);
    j = tk_jwk(rsa, "a");
    json_object_set_new(j, "alg", json_string("ES256"));
    assert_int_equal(usable(j), 0);
    /* An RSA modulus of 1024 bits. */
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_int_equal(usable(tk_jwk(small, "s")), 0);
    EVP_PKEY_free(small);
    /* An EC point moved off the curve. */
    j = tk_jwk(ec256, "e");
    char x[64];
    snprintf(x, sizeof(x), "%s", json_string_value(json_object_get(j, "x")));
    x[5] = x[5] == 'A' ? 'B' : 'A';
    json_object_set_new(j, "x", json_string(x));
    assert_int_equal(usable(j), 0);
    j = tk_jwk(ec256, "e");
    json_object_set_new(j, "crv", json_string("P-384"));
    assert_int_equal(usable(j), 0);
}

static void test_jwk_alg_narrows_the_key(void **state)
{
    (void)state;
    json_t *j = tk_jwk(rsa, "only-ps");
    json_object_set_new(j, "alg", json_string("PS256"));
    json_t *list[] = {j, NULL};
    char *doc = tk_jwks(list);
    auth_jwk_set *set = NULL;
    assert_int_equal(auth_jwk_set_parse(doc, strlen(doc), &set, NULL, 0), 0);
    json_t *c = claims();
    struct auth_jwt_expect e = expect();
    struct auth_jwt jwt;
    char *tok = tk_sign("RS256", "only-ps", c, rsa);
    assert_int_equal(auth_jwt_verify(tok, strlen(tok), set, &e, &jwt, NULL, 0),
                     AUTH_JWT_KEY_MISMATCH);
    free(tok);
    tok = tk_sign("PS256", "only-ps", c, rsa);
    assert_int_equal(auth_jwt_verify(tok, strlen(tok), set, &e, &jwt, NULL, 0), AUTH_JWT_OK);
    auth_jwt_release(&jwt);
    free(tok);
    json_decref(c);
    auth_jwk_set_unref(set);
    free(doc);
}

static void test_jwks_documents_out_of_bounds_are_refused(void **state)
{
    (void)state;
    auth_jwk_set *set = NULL;
    char err[128];
    assert_int_equal(auth_jwk_set_parse("[]", 2, &set, err, sizeof(err)), -EINVAL);
    assert_int_equal(auth_jwk_set_parse("{\"keys\":{}}", 11, &set, err, sizeof(err)), -EINVAL);
    assert_int_equal(auth_jwk_set_parse("{\"keys\":[], \"keys\":[]}", 22, &set, err, sizeof(err)),
                     -EINVAL);
    json_t *many = json_array();
    for (int i = 0; i <= AUTH_JWKS_MAX_KEYS; i++)
        json_array_append_new(many, json_object());
    json_t *doc = json_pack("{s:o}", "keys", many);
    char *s = json_dumps(doc, JSON_COMPACT);
    assert_int_equal(auth_jwk_set_parse(s, strlen(s), &set, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "more than"));
    free(s);
    json_decref(doc);
    assert_int_equal(auth_jwk_set_parse("x", AUTH_JWKS_MAX_BYTES + 1, &set, err, sizeof(err)),
                     -E2BIG);
    assert_null(set);
}

static void test_alg_names_round_trip(void **state)
{
    (void)state;
    assert_int_equal(auth_jwt_alg_from_name("ES256"), AUTH_JWT_ES256);
    assert_int_equal(auth_jwt_alg_from_name("HS256"), 0);
    assert_int_equal(auth_jwt_alg_from_name("none"), 0);
    assert_int_equal(auth_jwt_alg_from_name(NULL), 0);
    assert_string_equal(auth_jwt_alg_name(AUTH_JWT_PS512), "PS512");
    assert_string_equal(auth_jwt_alg_name(AUTH_JWT_RS256 | AUTH_JWT_RS384), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_tokens_of_each_key_type_verify),
        cmocka_unit_test(test_verified_token_reports_its_alg_and_kid),
        cmocka_unit_test(test_alg_none_is_refused),
        cmocka_unit_test(test_hs256_signed_with_the_rsa_public_key_is_refused),
        cmocka_unit_test(test_alg_must_fit_the_key_type),
        cmocka_unit_test(test_alg_outside_the_configured_set_is_refused),
        cmocka_unit_test(test_expiry_honours_the_leeway_to_the_second),
        cmocka_unit_test(test_nbf_and_iat_in_the_future_are_refused),
        cmocka_unit_test(test_issuer_and_audience_must_match),
        cmocka_unit_test(test_tampered_payload_fails_the_signature),
        cmocka_unit_test(test_malformed_tokens_are_refused),
        cmocka_unit_test(test_duplicate_members_and_crit_are_refused),
        cmocka_unit_test(test_huge_tokens_and_headers_are_refused),
        cmocka_unit_test(test_unknown_kid_is_reported_as_such),
        cmocka_unit_test(test_jwks_skips_keys_it_must_not_use),
        cmocka_unit_test(test_jwk_alg_narrows_the_key),
        cmocka_unit_test(test_jwks_documents_out_of_bounds_are_refused),
        cmocka_unit_test(test_alg_names_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
