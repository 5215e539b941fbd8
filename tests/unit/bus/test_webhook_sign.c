/*
 * Tests for src/bus/webhook_sign.c: the signature a receiver checks, against
 * vectors computed with Python's hmac module (another implementation).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "webhook_sign.h"

#include <errno.h>
#include <string.h>

static void test_signatures_match_an_independent_hmac(void **state)
{
    (void)state;
    char sig[BUS_WEBHOOK_SIG_LEN + 1];
    const char *body = "{\"type\":\"new\"}";
    assert_int_equal(
        bus_webhook_sign("k3y-for-the-receiver-0123456789", 1700000000, body, strlen(body), sig),
        0);
    assert_string_equal(sig, "v1=2038e5c70bce72f71aaac1217f367a0bf8ac554958a92db880e78c81abecafa0");
    assert_int_equal(bus_webhook_sign("0123456789abcdef", 42, "", 0, sig), 0);
    assert_string_equal(sig, "v1=613eafbcaa18a21050a74c3b2dc7de673fbacf86111b1bb34a96579f64aac375");
}

static void test_the_timestamp_is_signed_and_a_key_is_needed(void **state)
{
    (void)state;
    char a[BUS_WEBHOOK_SIG_LEN + 1], b[BUS_WEBHOOK_SIG_LEN + 1];
    assert_int_equal(bus_webhook_sign("0123456789abcdef", 42, "x", 1, a), 0);
    assert_int_equal(bus_webhook_sign("0123456789abcdef", 43, "x", 1, b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(bus_webhook_sign("", 42, "x", 1, a), -EINVAL);
    assert_string_equal(a, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signatures_match_an_independent_hmac),
        cmocka_unit_test(test_the_timestamp_is_signed_and_a_key_is_needed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
