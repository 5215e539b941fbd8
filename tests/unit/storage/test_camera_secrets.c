/*
 * Tests for src/storage/camera_secrets.c: camera passwords are sealed on
 * write, read back sealed and opened only by sto_camera_urls_open, a sealed
 * password is bound to its camera, user and host,
 * the start-up migration seals plain rows once, and re-sealing moves every
 * value to the box's primary key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"
#include "storage_int.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static sto_secret_box *box_of(const char *key_text)
{
    sto_secret_box *box = NULL;
    char *errmsg = NULL;
    struct sto_secret_box_options o = {.key_text = key_text, .key_file = "/nonexistent"};
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    return box;
}

static struct sto_camera_input cam(const char *id, const char *url, const char *sub_url)
{
    return (struct sto_camera_input){.id = id,
                                     .name = "Cam",
                                     .url = url,
                                     .sub_url = sub_url,
                                     .enabled = true,
                                     .record_enabled = true,
                                     .segment_seconds = 60,
                                     .retention_days = 14};
}

static int text_row(const sto_value *c, size_t n, void *arg)
{
    if (n > 0)
        *(char **)arg = sto_col_text(&c[0]);
    return 0;
}

/* The url (or sub_url) column of camera id as stored. */
static char *raw(sto_db *db, const char *id, bool is_sub)
{
    char *out = NULL;
    sto_value p[] = {STO_TEXT_V(id)};
    assert_int_equal(sto_read(db,
                              is_sub ? "SELECT sub_url FROM cameras WHERE id = $1"
                                     : "SELECT url FROM cameras WHERE id = $1",
                              p, 1, text_row, &out),
                     0);
    assert_non_null(out);
    return out;
}

static void set_raw(sto_db *db, const char *id, const char *url)
{
    sto_value p[] = {STO_TEXT_V(id), STO_TEXT_V(url)};
    assert_int_equal(sto_write(db, "UPDATE cameras SET url = $2 WHERE id = $1", p, 2), 0);
}

/* c's URLs opened by sto_camera_urls_open; asserts it succeeds. */
static void assert_opens_to(sto_db *db, const char *id, const char *url, const char *sub_url)
{
    struct sto_camera got;
    assert_int_equal(sto_camera_get(db, id, &got), 0);
    char *u = NULL, *s = NULL;
    assert_int_equal(sto_camera_urls_open(db, &got, &u, &s), 0);
    assert_string_equal(u, url);
    assert_string_equal(s, sub_url);
    free(u);
    free(s);
    sto_camera_release(&got);
}

static void test_passwords_are_sealed_on_write_and_opened_only_on_request(void **state)
{
    struct sto_fixture *f = *state;
    sto_secret_box *box = box_of(KEY_A);
    sto_set_secret_box(f->db, box);
    struct sto_camera_input c =
        cam("front", "rtsp://admin:p@ss@10.0.0.5:554/main?x=1", "rtsp://u:pw@10.0.0.5/sub");
    assert_int_equal(sto_camera_insert(f->db, &c), 0);
    char *stored = raw(f->db, "front", false);
    assert_true(strncmp(stored, "rtsp://admin:hsb1.", 18) == 0);
    assert_non_null(strstr(stored, "@10.0.0.5:554/main?x=1"));
    assert_null(strstr(stored, "p@ss"));
    free(stored);
    stored = raw(f->db, "front", true);
    assert_null(strstr(stored, "pw@"));
    free(stored);
    /* Reads return the stored form, which masks like any URL; opening is explicit. */
    struct sto_camera got;
    assert_int_equal(sto_camera_get(f->db, "front", &got), 0);
    assert_true(strncmp(got.url, "rtsp://admin:hsb1.", 18) == 0);
    sto_camera_release(&got);
    assert_opens_to(f->db, "front", c.url, c.sub_url);
    /* URLs without a password are stored as given. */
    struct sto_camera_input plain = cam("open", "rtsp://user@10.0.0.6/", "");
    assert_int_equal(sto_camera_insert(f->db, &plain), 0);
    stored = raw(f->db, "open", false);
    assert_string_equal(stored, "rtsp://user@10.0.0.6/");
    free(stored);
    assert_opens_to(f->db, "open", plain.url, "");
    /* Without the box, a sealed row does not open. */
    sto_set_secret_box(f->db, NULL);
    assert_int_equal(sto_camera_get(f->db, "front", &got), 0);
    char *u = NULL, *s = NULL;
    assert_int_equal(sto_camera_urls_open(f->db, &got, &u, &s), -ENOKEY);
    sto_camera_release(&got);
    sto_secret_box_free(box);
}

static void test_saving_the_same_url_keeps_the_stored_value(void **state)
{
    struct sto_fixture *f = *state;
    sto_secret_box *box = box_of(KEY_A);
    sto_set_secret_box(f->db, box);
    struct sto_camera_input c = cam("front", "rtsp://admin:pw@10.0.0.5/", "");
    assert_int_equal(sto_camera_insert(f->db, &c), 0);
    char *before = raw(f->db, "front", false);
    /* The plain URL again, and the stored form sent back (a PATCH of other fields). */
    assert_int_equal(sto_camera_update(f->db, &c), 0);
    char *after = raw(f->db, "front", false);
    assert_string_equal(before, after);
    struct sto_camera_input back = c;
    back.url = after;
    back.retention_days = 3;
    assert_int_equal(sto_camera_update(f->db, &back), 0);
    char *again = raw(f->db, "front", false);
    assert_string_equal(before, again);
    /* Another password is sealed anew. */
    struct sto_camera_input changed = cam("front", "rtsp://admin:other@10.0.0.5/", "");
    assert_int_equal(sto_camera_update(f->db, &changed), 0);
    char *other = raw(f->db, "front", false);
    assert_string_not_equal(before, other);
    assert_opens_to(f->db, "front", changed.url, "");
    /* Provisioning the same URL changes nothing either. */
    size_t added, nchanged, removed;
    assert_int_equal(sto_cameras_provision(f->db, &changed, 1, &added, &nchanged, &removed), 0);
    char *prov = raw(f->db, "front", false);
    assert_int_equal(sto_cameras_provision(f->db, &changed, 1, &added, &nchanged, &removed), 0);
    assert_int_equal(nchanged, 0);
    char *prov2 = raw(f->db, "front", false);
    assert_string_equal(prov, prov2);
    free(prov);
    free(prov2);
    free(before);
    free(after);
    free(again);
    free(other);
    sto_set_secret_box(f->db, NULL);
    sto_secret_box_free(box);
}

static void test_a_sealed_password_does_not_open_for_another_camera_or_host(void **state)
{
    struct sto_fixture *f = *state;
    sto_secret_box *box = box_of(KEY_A);
    sto_set_secret_box(f->db, box);
    struct sto_camera_input a = cam("a", "rtsp://admin:pw@10.0.0.5/", "");
    struct sto_camera_input b = cam("b", "rtsp://10.0.0.7/", "");
    assert_int_equal(sto_camera_insert(f->db, &a), 0);
    assert_int_equal(sto_camera_insert(f->db, &b), 0);
    char *sealed_a = raw(f->db, "a", false);
    /* Copied to camera b: refused. */
    set_raw(f->db, "b", sealed_a);
    struct sto_camera got;
    char *u = NULL, *s = NULL;
    assert_int_equal(sto_camera_get(f->db, "b", &got), 0);
    assert_int_equal(sto_camera_urls_open(f->db, &got, &u, &s), -EBADMSG);
    sto_camera_release(&got);
    /* Camera a pointed at another host, or another user: refused too. */
    char *moved = strdup(sealed_a);
    strstr(moved, "10.0.0.5")[7] = '7';
    set_raw(f->db, "a", moved);
    assert_int_equal(sto_camera_get(f->db, "a", &got), 0);
    assert_int_equal(sto_camera_urls_open(f->db, &got, &u, &s), -EBADMSG);
    sto_camera_release(&got);
    memcpy(strstr(moved, "admin"), "admix", 5);
    strstr(moved, "10.0.0.7")[7] = '5';
    set_raw(f->db, "a", moved);
    assert_int_equal(sto_camera_get(f->db, "a", &got), 0);
    assert_int_equal(sto_camera_urls_open(f->db, &got, &u, &s), -EBADMSG);
    sto_camera_release(&got);
    set_raw(f->db, "a", sealed_a);
    assert_opens_to(f->db, "a", a.url, "");
    free(moved);
    free(sealed_a);
    sto_set_secret_box(f->db, NULL);
    sto_secret_box_free(box);
}

static void test_seal_migrates_plain_rows_once_and_rotates_to_the_primary_key(void **state)
{
    struct sto_fixture *f = *state;
    /* Rows written without a box: plain, as an older Horus left them. */
    struct sto_camera_input a = cam("a", "rtsp://admin:pw@10.0.0.5/", "rtsp://s:t@10.0.0.5/2");
    struct sto_camera_input b = cam("b", "rtsp://10.0.0.7/", "");
    assert_int_equal(sto_camera_insert(f->db, &a), 0);
    assert_int_equal(sto_camera_insert(f->db, &b), 0);
    struct sto_secret_census census;
    assert_int_equal(sto_secrets_census(f->db, &census), 0);
    assert_int_equal(census.plain, 2);
    assert_int_equal(census.sealed, 0);
    char why[256];
    size_t changed = 99;
    assert_int_equal(sto_secrets_seal(f->db, &changed, why, sizeof(why)), -ENOKEY);

    sto_secret_box *box = box_of(KEY_A);
    sto_set_secret_box(f->db, box);
    assert_int_equal(sto_secrets_seal(f->db, &changed, why, sizeof(why)), 0);
    assert_int_equal(changed, 2);
    assert_int_equal(sto_secrets_census(f->db, &census), 0);
    assert_int_equal(census.plain, 0);
    assert_int_equal(census.sealed, 2);
    assert_int_equal(census.nkey_ids, 1);
    assert_string_equal(census.key_ids[0], sto_secret_box_key_id(box));
    char *first = raw(f->db, "a", false);
    assert_int_equal(sto_secrets_seal(f->db, &changed, why, sizeof(why)), 0);
    assert_int_equal(changed, 0); /* idempotent */
    char *second = raw(f->db, "a", false);
    assert_string_equal(first, second);
    free(first);
    free(second);

    /* A box whose primary key is another one re-seals everything it can open. */
    sto_secret_box *other = box_of(KEY_B);
    sto_set_secret_box(f->db, other);
    assert_int_equal(sto_secrets_seal(f->db, &changed, why, sizeof(why)), -ENOKEY);
    assert_non_null(strstr(why, "camera 'a' url"));
    assert_non_null(strstr(why, sto_secret_box_key_id(box)));
    sto_set_secret_box(f->db, NULL);
    sto_secret_box_free(other);
    sto_secret_box_free(box);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, sto_fixture_setup, sto_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_passwords_are_sealed_on_write_and_opened_only_on_request),
        T(test_saving_the_same_url_keeps_the_stored_value),
        T(test_a_sealed_password_does_not_open_for_another_camera_or_host),
        T(test_seal_migrates_plain_rows_once_and_rotates_to_the_primary_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
