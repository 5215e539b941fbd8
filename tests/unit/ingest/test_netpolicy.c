/*
 * Tests for src/ingest/netpolicy.c: built-in rules, configured rules, the
 * most specific rule winning, and every address of a name being checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ingest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

static int check(const ing_netpolicy *p, const char *addr, char *why, size_t size)
{
    struct sockaddr_storage ss = {0};
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, addr, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, addr, &a->sin_addr), 1);
    }
    return ing_netpolicy_check_addr(p, (const struct sockaddr *)&ss, why, size);
}

static void expect(const ing_netpolicy *p, const char *addr, bool allowed)
{
    char why[200] = "";
    int rc = check(p, addr, why, sizeof(why));
    if (allowed && rc != 0)
        fail_msg("'%s' denied: %s", addr, why);
    if (!allowed && rc != -EACCES)
        fail_msg("'%s' allowed", addr);
}

static void test_builtin_rules_deny_link_local_and_metadata_only(void **state)
{
    (void)state;
    ing_netpolicy *p;
    char why[200];
    assert_int_equal(ing_netpolicy_new(NULL, &p, why, sizeof(why)), 0);
    static const char *const ok[] = {"127.0.0.1",    "::1",        "10.1.2.3", "172.16.0.9",
                                     "192.168.1.64", "100.64.0.1", "fd12::1",  "192.0.2.10",
                                     "2001:db8::1",  "8.8.8.8",    NULL};
    for (const char *const *a = ok; *a; a++)
        expect(p, *a, true);
    static const char *const bad[] = {
        "169.254.169.254",        "169.254.1.1", "fe80::1", "fd00:ec2::254", "100.100.100.200",
        "::ffff:169.254.169.254", "febf::1",     NULL};
    for (const char *const *a = bad; *a; a++)
        expect(p, *a, false);
    assert_int_equal(check(p, "169.254.169.254", why, sizeof(why)), -EACCES);
    assert_string_equal(why, "address 169.254.169.254 is in the denied network 169.254.169.254/32 "
                             "(cloud metadata) (ingest.networks)");
    ing_netpolicy_free(p);
}

static void test_the_most_specific_rule_wins_and_configured_rules_beat_builtin(void **state)
{
    (void)state;
    char *allow[] = {"169.254.10.0/24", "169.254.169.254"};
    char *deny[] = {"0.0.0.0/0", "::/0", "192.168.5.0/24"};
    struct ing_config c = {0};
    c.networks.allow = allow;
    c.networks.nallow = 1;
    c.networks.deny = deny;
    c.networks.ndeny = 3;
    ing_netpolicy *p;
    char why[200];
    assert_int_equal(ing_netpolicy_new(&c, &p, why, sizeof(why)), 0);
    expect(p, "169.254.10.7", true); /* allowed /24 beats the built-in /16 deny */
    expect(p, "169.254.11.7", false);
    expect(p, "169.254.169.254", false); /* the metadata /32 is more specific */
    expect(p, "8.8.8.8", false); /* configured deny /0 beats built-in allow /0 */
    expect(p, "2001:db8::1", false);
    expect(p, "192.168.1.1", true); /* built-in private /16 is more specific */
    expect(p, "192.168.5.1", false);
    expect(p, "127.0.0.1", true);
    ing_netpolicy_free(p);

    c.networks.nallow = 2; /* an explicit /32 ties the built-in deny and wins */
    assert_int_equal(ing_netpolicy_new(&c, &p, why, sizeof(why)), 0);
    expect(p, "169.254.169.254", true);
    ing_netpolicy_free(p);

    char *bad[] = {"300.1.1.1/8"};
    c.networks.allow = bad;
    c.networks.nallow = 1;
    assert_int_equal(ing_netpolicy_new(&c, &p, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "300.1.1.1/8"));
}

static void test_cidr_syntax(void **state)
{
    (void)state;
    assert_true(ing_cidr_is_valid("10.0.0.0/8"));
    assert_true(ing_cidr_is_valid("10.1.2.3"));
    assert_true(ing_cidr_is_valid("fe80::/10"));
    assert_true(ing_cidr_is_valid("::/0"));
    assert_false(ing_cidr_is_valid("10.0.0.0/33"));
    assert_false(ing_cidr_is_valid("::/129"));
    assert_false(ing_cidr_is_valid("10.0.0.0/"));
    assert_false(ing_cidr_is_valid("10.0.0.0/-1"));
    assert_false(ing_cidr_is_valid("example.com"));
    assert_false(ing_cidr_is_valid(""));
    assert_false(ing_cidr_is_valid(NULL));
}

static void test_every_address_of_a_url_host_is_checked(void **state)
{
    (void)state;
    char *deny[] = {"127.0.0.0/8"};
    struct ing_config c = {0};
    c.networks.deny = deny;
    c.networks.ndeny = 1;
    ing_netpolicy *p;
    char why[200];
    assert_int_equal(ing_netpolicy_new(&c, &p, why, sizeof(why)), 0);
    assert_int_equal(ing_netpolicy_check_url(p, "rtsp://u:pw@127.0.0.1:8554/x", why, sizeof(why)),
                     -EACCES);
    assert_non_null(strstr(why, "127.0.0.1"));
    assert_null(strstr(why, "pw"));
    /* localhost has 127.0.0.1 (and maybe ::1, allowed): one denied address refuses it. */
    assert_int_equal(ing_netpolicy_check_url(p, "rtsp://localhost/x", why, sizeof(why)), -EACCES);
    assert_int_equal(ing_netpolicy_check_url(p, "rtsp://[::1]/x", why, sizeof(why)), 0);
    assert_int_equal(ing_netpolicy_check_url(p, "rtsp://169.254.169.254/latest", why, sizeof(why)),
                     -EACCES);
    assert_int_equal(ing_netpolicy_check_url(p, "not a url", why, sizeof(why)), 0);

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    struct addrinfo *ai = NULL;
    assert_int_equal(getaddrinfo("10.0.0.1", "554", &hints, &ai), 0);
    assert_int_equal(ing_netpolicy_check_addrinfo(p, ai, why, sizeof(why)), 0);
    freeaddrinfo(ai);
    ing_netpolicy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_rules_deny_link_local_and_metadata_only),
        cmocka_unit_test(test_the_most_specific_rule_wins_and_configured_rules_beat_builtin),
        cmocka_unit_test(test_cidr_syntax),
        cmocka_unit_test(test_every_address_of_a_url_host_is_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
