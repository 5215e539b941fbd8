/*
 * Tests for src/ingest/rtsp_depack.c and rtsp_latm.c: RTP payloads (RFC 6184, 7798, 3640, 6416)
 * into length-prefixed access units, with parameter sets stripped or
 * reported, keyframes flagged and losses dropping what they damaged.
 * Every test ends with no packet or stream left alive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_OUT 16

struct out {
    media_packet *au[MAX_OUT];
    uint32_t ts[MAX_OUT];
    unsigned n;
    unsigned params_calls;
    struct ing_depack *d;
    media_stream *next_stream; /* what params_cb switches to */
};

static void au_cb(void *arg, media_packet *au, uint32_t ts)
{
    struct out *o = arg;
    assert_true(o->n < MAX_OUT);
    o->au[o->n] = au;
    o->ts[o->n] = ts;
    o->n++;
}

static void params_cb(void *arg)
{
    struct out *o = arg;
    o->params_calls++;
    if (o->next_stream)
        o->d->stream = o->next_stream;
}

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static const char SPS[] = "6742c01eda0280bfe5c044000003000400000300ca3c58ba80";
static const char PPS[] = "68ce0fc8";

struct fixture {
    struct ing_param_sets ps;
    struct ing_depack d;
    struct out o;
    media_stream *stream, *stream2;
};

static void push(struct ing_depack *d, uint16_t seq, uint32_t ts, bool marker, const uint8_t *p,
                 size_t n)
{
    struct rtp_packet r = {
        .seq = seq, .timestamp = ts, .marker = marker, .payload = p, .payload_len = n};
    ing_depack_push(d, &r);
}

static void push_hex(struct ing_depack *d, uint16_t seq, uint32_t ts, bool marker, const char *hex)
{
    uint8_t buf[512];
    push(d, seq, ts, marker, buf, unhex(hex, buf));
}

static int setup_h264(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->ps.codec = MEDIA_CODEC_H264;
    uint8_t b[64];
    struct ing_nal nal = {b, unhex(SPS, b)};
    ing_param_sets_update(&f->ps, ING_PS_SPS, &nal);
    nal.size = unhex(PPS, b);
    ing_param_sets_update(&f->ps, ING_PS_PPS, &nal);
    ing_depack_init(&f->d, MEDIA_CODEC_H264, &f->ps, au_cb, params_cb, &f->o);
    f->stream = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    f->stream2 = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    f->d.stream = f->stream;
    f->o.d = &f->d;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (unsigned i = 0; i < f->o.n; i++)
        media_packet_unref(f->o.au[i]);
    ing_depack_release(&f->d);
    media_stream_unref(f->stream);
    media_stream_unref(f->stream2);
    free(f);
    assert_int_equal(media_live_packets(), 0);
    assert_int_equal(media_live_streams(), 0);
    return 0;
}

static void assert_au(const struct out *o, unsigned i, const char *hex, bool is_key)
{
    uint8_t want[1024];
    size_t n = unhex(hex, want);
    assert_true(i < o->n);
    assert_int_equal(o->au[i]->size, n);
    assert_memory_equal(o->au[i]->data, want, n);
    assert_int_equal(o->au[i]->is_keyframe, is_key);
}

static void test_h264_stap_a_and_fu_a_make_one_keyframe_without_equal_parameter_sets(void **s)
{
    struct fixture *f = *s;
    char stap[256];
    /* STAP-A: the SPS and PPS we already have, then an SEI. */
    snprintf(stap, sizeof(stap), "18%04zx%s%04zx%s0003060102", strlen(SPS) / 2, SPS,
             strlen(PPS) / 2, PPS);
    push_hex(&f->d, 100, 9000, false, stap);
    push_hex(&f->d, 101, 9000, false, "7c85aabb"); /* FU-A start, NRI 3, IDR */
    push_hex(&f->d, 102, 9000, false, "7c05cc");
    push_hex(&f->d, 103, 9000, true, "7c45dd"); /* end */
    assert_int_equal(f->o.n, 1);
    assert_au(&f->o, 0,
              "00000003060102"
              "0000000565aabbccdd",
              true);
    assert_int_equal(f->o.ts[0], 9000);
    assert_ptr_equal(f->o.au[0]->stream, f->stream);
    assert_int_equal(f->o.params_calls, 0);
    /* Then a P-frame as one single-NAL packet. */
    push_hex(&f->d, 104, 12600, true, "419a0102");
    assert_int_equal(f->o.n, 2);
    assert_au(&f->o, 1, "00000004419a0102", false);
    assert_int_equal(f->d.lost_packets, 0);
    assert_int_equal(f->d.dropped_units, 0);
}

static void test_h264_waits_for_a_keyframe_and_a_timestamp_change_ends_a_unit(void **s)
{
    struct fixture *f = *s;
    push_hex(&f->d, 1, 0, true, "419a01"); /* before any keyframe: dropped */
    assert_int_equal(f->o.n, 0);
    assert_int_equal(f->d.dropped_units, 1);
    push_hex(&f->d, 2, 3600, false, "6588"); /* IDR without a marker ... */
    push_hex(&f->d, 3, 7200, true, "419a02"); /* ... ends when the timestamp moves on */
    assert_int_equal(f->o.n, 2);
    assert_au(&f->o, 0, "000000026588", true);
    assert_int_equal(f->o.ts[0], 3600);
    assert_au(&f->o, 1, "00000003419a02", false);
    assert_int_equal(f->o.ts[1], 7200);
}

static void test_a_loss_drops_the_damaged_unit_and_waits_for_the_next_keyframe(void **s)
{
    struct fixture *f = *s;
    push_hex(&f->d, 10, 0, true, "6588");
    push_hex(&f->d, 11, 3600, false, "5c81aa"); /* FU-A start of a P-frame (NRI 2) */
    /* seq 12 is lost */
    push_hex(&f->d, 13, 3600, true, "5c41cc");
    push_hex(&f->d, 14, 7200, true, "419a03"); /* undamaged, but its reference is gone */
    push_hex(&f->d, 15, 10800, true, "6589"); /* the next keyframe resumes */
    push_hex(&f->d, 14, 10800, true, "419a04"); /* a duplicate from the past: ignored */
    assert_int_equal(f->o.n, 2);
    assert_au(&f->o, 0, "000000026588", true);
    assert_au(&f->o, 1, "000000026589", true);
    assert_int_equal(f->d.lost_packets, 1);
    assert_int_equal(f->d.dropped_units, 2);
}

static void test_new_parameter_sets_are_reported_before_the_slice_that_uses_them(void **s)
{
    struct fixture *f = *s;
    f->o.next_stream = f->stream2;
    push_hex(&f->d, 1, 0, false, "6742c01f00"); /* a different SPS */
    push_hex(&f->d, 2, 0, false, PPS); /* the same PPS: no change by itself */
    push_hex(&f->d, 3, 0, true, "6588");
    assert_int_equal(f->o.params_calls, 1);
    assert_int_equal(f->ps.size[ING_PS_SPS], 5);
    assert_int_equal(f->o.n, 1);
    assert_ptr_equal(f->o.au[0]->stream, f->stream2);
    assert_au(&f->o, 0, "000000026588", true);
    /* An AUD is dropped, a bad STAP-A damages its unit. */
    push_hex(&f->d, 4, 3600, false, "0910");
    push_hex(&f->d, 5, 3600, true, "419a05");
    push_hex(&f->d, 6, 7200, true, "180009419a");
    assert_int_equal(f->o.n, 2);
    assert_au(&f->o, 1, "00000003419a05", false);
    assert_int_equal(f->d.bad_packets, 1);
}

static void test_without_a_stream_units_are_dropped(void **s)
{
    struct fixture *f = *s;
    f->d.stream = NULL;
    push_hex(&f->d, 1, 0, true, "6588");
    assert_int_equal(f->o.n, 0);
    assert_int_equal(f->d.dropped_units, 1);
}

static void test_big_units_grow_the_packet(void **s)
{
    struct fixture *f = *s;
    f->d.hint_key = 16; /* force growth */
    uint8_t frag[1402];
    frag[0] = 0x7c;
    frag[1] = 0x85;
    memset(frag + 2, 0xab, 1400);
    for (int i = 0; i < 200; i++) {
        frag[1] = (uint8_t)((i == 0 ? 0x80 : 0) | (i == 199 ? 0x40 : 0) | 5);
        push(&f->d, (uint16_t)i, 0, i == 199, frag, sizeof(frag));
    }
    assert_int_equal(f->o.n, 1);
    assert_int_equal(f->o.au[0]->size, 4 + 1 + 200 * 1400);
    assert_int_equal(f->o.au[0]->data[4], 0x65);
    assert_int_equal(f->o.au[0]->data[4 + 1 + 200 * 1400 - 1], 0xab);
}

static int setup_h265(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->ps.codec = MEDIA_CODEC_H265;
    ing_depack_init(&f->d, MEDIA_CODEC_H265, &f->ps, au_cb, params_cb, &f->o);
    f->stream = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H265, 90000, NULL, 0);
    f->d.stream = f->stream;
    f->o.d = &f->d;
    *state = f;
    return 0;
}

static void test_h265_aggregation_and_fragments(void **s)
{
    struct fixture *f = *s;
    /* AP (type 48) with a VPS (32), SPS (33) and PPS (34) - all new. */
    push_hex(&f->d, 7, 0, false,
             "6001"
             "0003400101"
             "0003420101"
             "0003440101");
    assert_int_equal(f->ps.size[ING_PS_VPS], 3);
    assert_int_equal(f->ps.size[ING_PS_SPS], 3);
    assert_int_equal(f->ps.size[ING_PS_PPS], 3);
    /* FU (type 49) of an IDR_W_RADL (19): header 2601 rebuilt from 6201 + type. */
    push_hex(&f->d, 8, 0, false, "620193aa");
    push_hex(&f->d, 9, 0, true, "620153bb");
    assert_int_equal(f->o.params_calls, 1);
    assert_int_equal(f->o.n, 1);
    assert_au(&f->o, 0, "000000042601aabb", true);
    /* A single NAL TRAIL_R (1) is not a keyframe; a PACI (50) is refused. */
    push_hex(&f->d, 10, 3000, true, "0201cc");
    push_hex(&f->d, 11, 6000, true, "640100");
    assert_int_equal(f->o.n, 2);
    assert_au(&f->o, 1, "000000030201cc", false);
    assert_int_equal(f->d.bad_packets, 1);
}

static int setup_aac(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    ing_depack_init(&f->d, MEDIA_CODEC_AAC, NULL, au_cb, NULL, &f->o);
    f->stream = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, 48000, NULL, 0);
    f->d.stream = f->stream;
    f->o.d = &f->d;
    *state = f;
    return 0;
}

static void test_aac_hbr_frames_in_one_packet_and_across_packets(void **s)
{
    struct fixture *f = *s;
    /* Two AU headers (13-bit size, 3-bit index): sizes 2 and 3. */
    push_hex(&f->d, 1, 1000, true,
             "0020"
             "0010"
             "0018"
             "aabb"
             "ccddee");
    assert_int_equal(f->o.n, 2);
    assert_au(&f->o, 0, "aabb", true);
    assert_au(&f->o, 1, "ccddee", true);
    assert_int_equal(f->o.ts[0], 1000);
    assert_int_equal(f->o.ts[1], 2024);
    /* One frame of 4 bytes split over two packets of one timestamp. */
    push_hex(&f->d, 2, 3048, false,
             "0010"
             "0020"
             "0102");
    push_hex(&f->d, 3, 3048, true,
             "0010"
             "0020"
             "0304");
    assert_int_equal(f->o.n, 3);
    assert_au(&f->o, 2, "01020304", true);
    /* A loss in the middle of a split frame drops it. */
    push_hex(&f->d, 4, 4072, false,
             "0010"
             "0020"
             "0102");
    push_hex(&f->d, 6, 4072, true,
             "0010"
             "0020"
             "0304");
    assert_int_equal(f->o.n, 3);
    assert_int_equal(f->d.lost_packets, 1);
    assert_true(f->d.dropped_units >= 1);
    /* A size beyond the data is refused. */
    push_hex(&f->d, 7, 5096, true,
             "0010"
             "0100"
             "aa");
    assert_int_equal(f->o.n, 3);
}

static int setup_latm(void **state)
{
    setup_aac(state);
    struct fixture *f = *state;
    f->d.is_latm = true;
    f->d.latm_subframes = 1;
    return 0;
}

static void test_latm_elements_whole_escaped_and_several_per_packet(void **s)
{
    struct fixture *f = *s;
    push_hex(&f->d, 1, 1000, true, "03aabbcc");
    assert_int_equal(f->o.n, 1);
    assert_au(&f->o, 0, "aabbcc", true);
    assert_int_equal(f->o.ts[0], 1000);
    /* Two AudioMuxElements in one packet: consecutive frames. */
    push_hex(&f->d, 2, 2024, true, "0211220133");
    assert_int_equal(f->o.n, 3);
    assert_au(&f->o, 1, "1122", true);
    assert_au(&f->o, 2, "33", true);
    assert_int_equal(f->o.ts[2], 3048);
    /* PayloadLengthInfo escaped with 0xff: 255 + 45 = 300 bytes. */
    uint8_t big[302];
    big[0] = 0xff;
    big[1] = 45;
    for (int i = 0; i < 300; i++)
        big[2 + i] = (uint8_t)i;
    push(&f->d, 3, 4072, true, big, sizeof(big));
    assert_int_equal(f->o.n, 4);
    assert_int_equal(f->o.au[3]->size, 300);
    assert_memory_equal(f->o.au[3]->data, big + 2, 300);
    /* A length beyond the bytes: nothing emitted, counted. */
    push_hex(&f->d, 4, 5096, true, "05aabb");
    assert_int_equal(f->o.n, 4);
    assert_int_equal(f->d.bad_packets, 1);
    assert_int_equal(f->d.lost_packets, 0);
}

static void test_latm_element_across_packets_and_losses(void **s)
{
    struct fixture *f = *s;
    /* One element over three packets; the marker ends it. */
    push_hex(&f->d, 10, 7000, false, "0601");
    push_hex(&f->d, 11, 7000, false, "0203");
    push_hex(&f->d, 12, 7000, true, "040506");
    assert_int_equal(f->o.n, 1);
    assert_au(&f->o, 0, "010203040506", true);
    /* A loss inside an element drops it; the next one is taken. */
    push_hex(&f->d, 13, 8024, false, "0601");
    push_hex(&f->d, 15, 8024, true, "040506");
    assert_int_equal(f->o.n, 1);
    /* A lost first fragment: its fragments up to the marker are not parsed, though they could. */
    push_hex(&f->d, 17, 8536, false, "01aa");
    push_hex(&f->d, 18, 8536, true, "01bb");
    assert_int_equal(f->o.n, 1);
    assert_int_equal(f->d.lost_packets, 2);
    assert_int_equal(f->d.dropped_units, 2);
    push_hex(&f->d, 19, 9048, true, "01ee");
    assert_int_equal(f->o.n, 2);
    assert_au(&f->o, 1, "ee", true);
    /* A sender that never sets the marker: a timestamp change ends a whole element. */
    push_hex(&f->d, 20, 10072, false, "02abcd");
    assert_int_equal(f->o.n, 2);
    push_hex(&f->d, 21, 11096, false, "01ef");
    assert_int_equal(f->o.n, 3);
    assert_au(&f->o, 2, "abcd", true);
    assert_int_equal(f->o.ts[2], 10072);
    /* ... but not an incomplete one. */
    push_hex(&f->d, 22, 12120, false, "0501");
    push_hex(&f->d, 23, 13144, true, "01aa");
    assert_int_equal(f->o.n, 5);
    assert_au(&f->o, 3, "ef", true);
    assert_au(&f->o, 4, "aa", true);
    assert_int_equal(f->d.bad_packets, 1);
}

static void test_latm_subframes_and_other_data(void **s)
{
    struct fixture *f = *s;
    f->d.latm_subframes = 2;
    f->d.latm_other_bits = 8;
    f->d.frame_samples = 2090; /* a 90 kHz clock */
    push_hex(&f->d, 1, 100, true, "01aa02bbcc99");
    assert_int_equal(f->o.n, 2);
    assert_au(&f->o, 0, "aa", true);
    assert_au(&f->o, 1, "bbcc", true);
    assert_int_equal(f->o.ts[1], 2190);
    /* The other data byte missing: the element is not whole. */
    push_hex(&f->d, 2, 4280, true, "01aa02bbcc");
    assert_int_equal(f->o.n, 2);
    assert_int_equal(f->d.bad_packets, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_h264_stap_a_and_fu_a_make_one_keyframe_without_equal_parameter_sets, setup_h264,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_h264_waits_for_a_keyframe_and_a_timestamp_change_ends_a_unit, setup_h264,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_a_loss_drops_the_damaged_unit_and_waits_for_the_next_keyframe, setup_h264,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_new_parameter_sets_are_reported_before_the_slice_that_uses_them, setup_h264,
            teardown),
        cmocka_unit_test_setup_teardown(test_without_a_stream_units_are_dropped, setup_h264,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_big_units_grow_the_packet, setup_h264, teardown),
        cmocka_unit_test_setup_teardown(test_h265_aggregation_and_fragments, setup_h265, teardown),
        cmocka_unit_test_setup_teardown(test_aac_hbr_frames_in_one_packet_and_across_packets,
                                        setup_aac, teardown),
        cmocka_unit_test_setup_teardown(test_latm_elements_whole_escaped_and_several_per_packet,
                                        setup_latm, teardown),
        cmocka_unit_test_setup_teardown(test_latm_element_across_packets_and_losses, setup_latm,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_latm_subframes_and_other_data, setup_latm, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
