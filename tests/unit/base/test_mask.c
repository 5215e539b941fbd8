/*
 * Tests for src/base/mask.c: a table of hostile URLs and texts, each with
 * the exact masked form and the secret that must not survive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mask.h"

#include <stdio.h>
#include <string.h>

struct url_case {
    const char *in;
    const char *want;
    const char *secret; /* must not appear in the output; NULL = none */
};

static const struct url_case url_cases[] = {
    {"rtsp://admin:pw@10.0.0.5/", "rtsp://admin:***@10.0.0.5/", "pw@"},
    {"rtsp://admin:p@ss@10.0.0.5:554/s?x=1", "rtsp://admin:***@10.0.0.5:554/s?x=1", "p@ss"},
    /* Unencoded '/', '?', '#' and '@' in the password: hidden whole. */
    {"rtsp://admin:pa/ss@cam/live", "rtsp://admin:***@cam/live", "pa/ss"},
    {"rtsp://admin:pa?ss@cam/live", "rtsp://admin:***@cam/live", "pa?ss"},
    {"rtsp://admin:pa#ss@cam/live", "rtsp://admin:***@cam/live", "pa#ss"},
    {"rtsp://admin:p@ss/w?#@rd@cam:554/live", "rtsp://admin:***@cam:554/live", "ss/w"},
    {"rtsp://admin:a b c@cam/", "rtsp://admin:***@cam/", "a b c"},
    /* A lone user name, an empty password or an odd user name hides the whole userinfo. */
    {"rtsp://admin@10.0.0.5/", "rtsp://***@10.0.0.5/", "admin"},
    {"rtsp://admin:@10.0.0.5/", "rtsp://***@10.0.0.5/", "admin"},
    {"rtsp://eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig@cam/", "rtsp://***@cam/", "eyJ"},
    {"rtsp://0123456789abcdef0123456789abcdef0:x@cam/", "rtsp://***@cam/", "0123456789"},
    {"rtsp://us/er:pw@cam/", "rtsp://***@cam/", "us/er"},
    {"://:x@", "://***@", ":x"},
    /* Query and fragment parameters named like secrets, any case. */
    {"rtsp://cam/live?user=admin&password=hunter2&ch=1",
     "rtsp://cam/live?user=admin&password=***&ch=1", "hunter2"},
    {"http://cam/snap.jpg?PWD=a1&Token=b2;ApiKey=c3",
     "http://cam/snap.jpg?PWD=***&Token=***;ApiKey=***", NULL},
    {"http://h/x?access_token=AAA#id_token=BBB&state=s",
     "http://h/x?access_token=***#id_token=***&state=s", NULL},
    {"https://s3/b/o?X-Amz-Signature=abc&X-Amz-Credential=k&X-Amz-Security-Token=t",
     "https://s3/b/o?X-Amz-Signature=***&X-Amz-Credential=***&X-Amz-Security-Token=***", NULL},
    {"http://h/part.m4s?t=signed&sig=zz&key=k&pass=p&secret=s&auth=a&client_secret=c",
     "http://h/part.m4s?t=***&sig=***&key=***&pass=***&secret=***&auth=***&client_secret=***",
     NULL},
    {"rtsp://u:p@cam/live?token=x?y", "rtsp://u:***@cam/live?token=***?y", NULL},
    /* A password with '?' does not start the query early. */
    {"rtsp://u:a?token=b@cam/live", "rtsp://u:***@cam/live", "a?token"},
    /* An '@' in the path or query: hidden, never shown (errs on hiding). */
    {"rtsp://10.0.0.5:554/a@b", "rtsp://10.0.0.5:***@b", NULL},
    {"http://host?u=a:b@c", "http://***@c", NULL},
    /* Nothing to hide. */
    {"rtsp://10.0.0.5:554/Streaming/Channels/101?transport=tcp",
     "rtsp://10.0.0.5:554/Streaming/Channels/101?transport=tcp", NULL},
    {"not a url", "not a url", NULL},
    {"", "", NULL},
};

static void test_every_hostile_url_is_masked_exactly(void **state)
{
    (void)state;
    char buf[512];
    for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
        const struct url_case *c = &url_cases[i];
        horus_mask_url(c->in, buf, sizeof(buf));
        if (strcmp(buf, c->want) != 0)
            fail_msg("mask '%s': got '%s', want '%s'", c->in, buf, c->want);
        if (c->secret && strstr(buf, c->secret))
            fail_msg("mask '%s': '%s' survived in '%s'", c->in, c->secret, buf);
    }
}

static const struct url_case text_cases[] = {
    {"streaming from 'rtsp://admin:pw@cam/live' (native client)",
     "streaming from 'rtsp://admin:***@cam/live' (native client)", "pw"},
    {"two rtsp://a:b@h1/ and rtsp://c:d@h2/?token=e",
     "two rtsp://a:***@h1/ and rtsp://c:***@h2/?token=***", NULL},
    {"Authorization: Bearer abc.def-ghi", "Authorization: *** ***", "abc"},
    {"header bearer\ttok123 sent", "header bearer\t*** sent", "tok123"},
    {"Authorization: Basic YWRtaW46aHVudGVyMg==", "Authorization: *** ***", "YWRt"},
    {"basic setup done", "basic setup done", NULL},
    {"login with password=hunter2 failed", "login with password=*** failed", "hunter2"},
    {"password: hunter2", "password: ***", "hunter2"},
    {"GET /api?x=1&api_key=K then", "GET /api?x=1&api_key=*** then", NULL},
    {"jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln here", "jwt *** here", "eyJ"},
    {"url=rtsp://u:p@h/", "url=rtsp://u:***@h/", NULL},
    {"duplicate key: cameras[0].id", "duplicate key: cameras[0].id", NULL},
};

static void test_every_credential_form_in_text_is_masked(void **state)
{
    (void)state;
    char buf[512];
    for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
        const struct url_case *c = &text_cases[i];
        horus_mask_text(c->in, buf, sizeof(buf));
        if (strcmp(buf, c->want) != 0)
            fail_msg("mask text '%s': got '%s', want '%s'", c->in, buf, c->want);
        if (c->secret && strstr(buf, c->secret))
            fail_msg("mask text '%s': '%s' survived in '%s'", c->in, c->secret, buf);
    }
}

static void test_a_url_value_keeps_spaces_inside_its_password(void **state)
{
    (void)state;
    char buf[128];
    /* As text, a space ends the URL; as a value the whole string is one URL. */
    assert_string_equal(horus_mask_url("rtsp://u:p w@cam/", buf, sizeof(buf)), "rtsp://u:***@cam/");
}

static void test_truncation_never_leaves_part_of_a_secret(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(horus_mask_url("rtsp://a:secret@h/", buf, 12), "rtsp://a:**");
    assert_string_equal(horus_mask_url("rtsp://a:secret@h/", buf, 1), "");
    assert_string_equal(horus_mask_url(NULL, buf, sizeof(buf)), "");
    assert_ptr_equal(horus_mask_url("x", buf, 0), buf);
    assert_string_equal(horus_mask_text("x?token=abcdef", buf, 9), "x?token=");
    /* Every prefix size of a hostile URL: the password never shows. */
    const char *url = "rtsp://admin:S3cr#t/@cam:554/live?password=Pw2&sig=Sg3";
    for (size_t n = 1; n < strlen(url) + 8; n++) {
        horus_mask_url(url, buf, n);
        assert_true(strlen(buf) < n);
        assert_null(strstr(buf, "S3"));
        assert_null(strstr(buf, "Pw"));
        assert_null(strstr(buf, "Sg"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_hostile_url_is_masked_exactly),
        cmocka_unit_test(test_every_credential_form_in_text_is_masked),
        cmocka_unit_test(test_a_url_value_keeps_spaces_inside_its_password),
        cmocka_unit_test(test_truncation_never_leaves_part_of_a_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
