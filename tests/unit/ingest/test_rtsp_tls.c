/*
 * Tests for src/ingest/rtsp_tls.c: the sentence and kind a refused
 * certificate gets (ing_tls_explain, pure), the order in which causes are
 * told, and the trust store cache's error for an unreadable CA file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_int.h"

#include <gnutls/gnutls.h>
#include <string.h>

static const struct ing_tls_cert_facts cert = {
    .has_cert = true,
    .is_self_signed = false,
    .not_before = 1704067200, /* 2024-01-01 */
    .not_after = 1735689600, /* 2025-01-01 */
    .name = "camera.example",
    .issuer = "Horus Test CA",
};

static void expect(unsigned status, const struct ing_tls_cert_facts *f, enum ing_tls_failure kind,
                   const char *text)
{
    char out[160];
    assert_int_equal(ing_tls_explain(status, f, "10.0.0.5", out, sizeof(out)), kind);
    assert_string_equal(out, text);
}

static void test_each_cause_has_its_sentence(void **state)
{
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED, &cert, ING_TLS_EXPIRED,
           "TLS: certificate expired (notAfter 2025-01-01)");
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_NOT_ACTIVATED, &cert, ING_TLS_NOT_YET_VALID,
           "TLS: certificate not valid yet (notBefore 2024-01-01)");
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_UNEXPECTED_OWNER, &cert, ING_TLS_WRONG_HOST,
           "TLS: certificate is for 'camera.example', not '10.0.0.5'");
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND, &cert, ING_TLS_UNTRUSTED,
           "TLS: certificate not trusted (unknown CA 'Horus Test CA')");
    struct ing_tls_cert_facts self = cert;
    self.is_self_signed = true;
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND, &self, ING_TLS_SELF_SIGNED,
           "TLS: certificate not trusted (self-signed)");
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_REVOKED, &cert, ING_TLS_REVOKED,
           "TLS: certificate revoked");
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNATURE_FAILURE, &cert, ING_TLS_UNTRUSTED,
           "TLS: certificate not trusted (bad or insecure signature)");
}

static void test_trust_is_told_before_dates_and_dates_before_the_name(void **state)
{
    struct ing_tls_cert_facts self = cert;
    self.is_self_signed = true;
    unsigned all = GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_EXPIRED |
                   GNUTLS_CERT_UNEXPECTED_OWNER;
    expect(all, &self, ING_TLS_SELF_SIGNED, "TLS: certificate not trusted (self-signed)");
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED | GNUTLS_CERT_UNEXPECTED_OWNER, &cert,
           ING_TLS_EXPIRED, "TLS: certificate expired (notAfter 2025-01-01)");
}

static void test_without_a_certificate_the_sentence_stays_clear(void **state)
{
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED, NULL, ING_TLS_EXPIRED,
           "TLS: certificate expired (notAfter unknown)");
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_UNEXPECTED_OWNER, NULL, ING_TLS_WRONG_HOST,
           "TLS: certificate is for 'another host', not '10.0.0.5'");
    expect(GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND, NULL, ING_TLS_UNTRUSTED,
           "TLS: certificate not trusted (unknown CA)");
    char small[16];
    ing_tls_explain(GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED, &cert, "h", small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_failure_codes_are_metric_labels(void **state)
{
    assert_string_equal(ing_tls_failure_code(ING_TLS_EXPIRED), "expired");
    assert_string_equal(ing_tls_failure_code(ING_TLS_WRONG_HOST), "wrong_host");
    assert_string_equal(ing_tls_failure_code(ING_TLS_SELF_SIGNED), "self_signed");
    assert_string_equal(ing_tls_failure_code(ING_TLS_UNTRUSTED), "untrusted");
    assert_string_equal(ing_tls_failure_code(ING_TLS_CA_FILE), "ca_file");
    assert_string_equal(ing_tls_failure_code(ING_TLS_FAILURES), "handshake");
}

static void test_an_unreadable_ca_file_is_named(void **state)
{
    struct ing_tls_creds *c = NULL;
    char err[160] = "";
    assert_true(ing_tls_creds_acquire("/nonexistent/ca.pem", &c, err, sizeof(err)) < 0);
    assert_null(c);
    assert_non_null(strstr(err, "TLS: no CA certificate in '/nonexistent/ca.pem' (ingest.tls_ca)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_cause_has_its_sentence),
        cmocka_unit_test(test_trust_is_told_before_dates_and_dates_before_the_name),
        cmocka_unit_test(test_without_a_certificate_the_sentence_stays_clear),
        cmocka_unit_test(test_failure_codes_are_metric_labels),
        cmocka_unit_test(test_an_unreadable_ca_file_is_named),
    };
    return cmocka_run_group_tests_name("ingest.rtsp_tls", tests, NULL, NULL);
}
