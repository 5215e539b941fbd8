/*
 * Tests for src/webrtc/tcp_frame.c, the RFC 4571 reassembler of ICE-TCP:
 * frames split across reads (down to one byte a read), several frames in
 * one read, the zero-length frame, the largest frame (65535 bytes), a
 * callback that stops the stream, and the space a reader may recv into.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tcp_frame_int.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_SEEN = 64 };

struct seen {
    size_t n;
    size_t len[MAX_SEEN];
    uint8_t first[MAX_SEEN], last[MAX_SEEN];
    int stop_at; /* return 7 on this frame (1-based); 0: never */
};

static int collect(void *arg, uint8_t *frame, size_t len)
{
    struct seen *s = arg;
    assert_true(s->n < MAX_SEEN);
    s->len[s->n] = len;
    s->first[s->n] = len ? frame[0] : 0;
    s->last[s->n] = len ? frame[len - 1] : 0;
    s->n++;
    return s->stop_at && (int)s->n == s->stop_at ? 7 : 0;
}

/* Appends a frame of len bytes: the first is tag, the rest count up from it. */
static size_t put_frame(uint8_t *out, size_t len, uint8_t tag)
{
    webrtc_tcp_frame_header(out, len);
    for (size_t i = 0; i < len; i++)
        out[2 + i] = (uint8_t)(tag + i);
    return 2 + len;
}

static struct webrtc_tcp_framer *framer(void)
{
    struct webrtc_tcp_framer *f = malloc(sizeof(*f));
    assert_non_null(f);
    webrtc_tcp_framer_init(f);
    return f;
}

static void test_several_frames_in_one_read_come_out_in_order(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = put_frame(buf, 20, 0x00); /* STUN-ish */
    n += put_frame(buf + n, 0, 0); /* empty: allowed, handed out as such */
    n += put_frame(buf + n, 30, 0x16); /* DTLS-ish */
    n += put_frame(buf + n, 1, 0x80);
    struct webrtc_tcp_framer *f = framer();
    struct seen s = {0};
    assert_int_equal(webrtc_tcp_framer_push(f, buf, n, collect, &s), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.len[0], 20);
    assert_int_equal(s.len[1], 0);
    assert_int_equal(s.len[2], 30);
    assert_int_equal(s.first[2], 0x16);
    assert_int_equal(s.last[2], 0x16 + 29);
    assert_int_equal(s.len[3], 1);
    assert_int_equal(s.first[3], 0x80);
    assert_int_equal(f->have, 0);
    free(f);
}

static void test_frames_split_across_reads_are_reassembled(void **state)
{
    (void)state;
    uint8_t buf[600];
    size_t n = put_frame(buf, 300, 0x10);
    n += put_frame(buf + n, 200, 0x20);
    /* Every split point, and one byte a read. */
    for (size_t cut = 0; cut <= n; cut++) {
        struct webrtc_tcp_framer *f = framer();
        struct seen s = {0};
        assert_int_equal(webrtc_tcp_framer_push(f, buf, cut, collect, &s), 0);
        assert_int_equal(webrtc_tcp_framer_push(f, buf + cut, n - cut, collect, &s), 0);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.len[0], 300);
        assert_int_equal(s.last[0], (uint8_t)(0x10 + 299));
        assert_int_equal(s.len[1], 200);
        assert_int_equal(s.first[1], 0x20);
        free(f);
    }
    struct webrtc_tcp_framer *f = framer();
    struct seen s = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(webrtc_tcp_framer_push(f, buf + i, 1, collect, &s), 0);
        assert_int_equal(s.n, i + 1 < 302 ? 0 : i + 1 < n ? 1 : 2);
    }
    assert_int_equal(s.n, 2);
    free(f);
}

static void test_the_largest_frame_fits_and_leaves_room_to_read(void **state)
{
    (void)state;
    size_t big = WEBRTC_TCP_FRAME_MAX;
    uint8_t *buf = malloc(2 * (2 + big));
    assert_non_null(buf);
    size_t n = put_frame(buf, big, 0x80);
    n += put_frame(buf + n, big, 0x17);
    struct webrtc_tcp_framer *f = framer();
    struct seen s = {0};
    /* A reader recvs into the space the framer offers: never none while a frame is partial. */
    size_t at = 0;
    while (at < n) {
        size_t cap;
        uint8_t *dst = webrtc_tcp_framer_space(f, &cap);
        assert_true(cap > 0);
        size_t k = n - at < cap ? n - at : cap;
        if (k > 40000)
            k = 40000;
        memcpy(dst, buf + at, k);
        assert_int_equal(webrtc_tcp_framer_commit(f, k, collect, &s), 0);
        at += k;
    }
    assert_int_equal(s.n, 2);
    assert_int_equal(s.len[0], 65535);
    assert_int_equal(s.first[0], 0x80);
    assert_int_equal(s.last[0], (uint8_t)(0x80 + 65534));
    assert_int_equal(s.len[1], 65535);
    assert_int_equal(s.first[1], 0x17);
    /* A header saying 65535 with one byte missing stays partial, with room for that byte. */
    assert_int_equal(webrtc_tcp_framer_push(f, buf, 2 + big - 1, collect, &s), 0);
    assert_int_equal(s.n, 2);
    size_t cap;
    webrtc_tcp_framer_space(f, &cap);
    assert_int_equal(cap, 1);
    assert_int_equal(webrtc_tcp_framer_push(f, buf + 2 + big - 1, 1, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(f->have, 0);
    free(f);
    free(buf);
}

static void test_a_callback_that_stops_stops_the_stream(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = put_frame(buf, 4, 1);
    n += put_frame(buf + n, 4, 2);
    n += put_frame(buf + n, 4, 3);
    struct webrtc_tcp_framer *f = framer();
    struct seen s = {.stop_at = 2};
    assert_int_equal(webrtc_tcp_framer_push(f, buf, n, collect, &s), 7);
    assert_int_equal(s.n, 2); /* the third is never handed out */
    free(f);
}

static void test_the_header_is_big_endian(void **state)
{
    (void)state;
    uint8_t h[2];
    webrtc_tcp_frame_header(h, 0x1234);
    assert_int_equal(h[0], 0x12);
    assert_int_equal(h[1], 0x34);
    webrtc_tcp_frame_header(h, 65535);
    assert_int_equal(h[0], 0xff);
    assert_int_equal(h[1], 0xff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_several_frames_in_one_read_come_out_in_order),
        cmocka_unit_test(test_frames_split_across_reads_are_reassembled),
        cmocka_unit_test(test_the_largest_frame_fits_and_leaves_room_to_read),
        cmocka_unit_test(test_a_callback_that_stops_stops_the_stream),
        cmocka_unit_test(test_the_header_is_big_endian),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
