/*
 * Tests for src/ingest/rtsp_udp.c and the loop's extra sockets
 * (rtsp_loop.c): port pairs, the camera-only filter, truncated datagrams,
 * and a datagram waking its item's aux_cb on a real loop thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage loopback(const char *ip, int port)
{
    struct sockaddr_storage a;
    memset(&a, 0, sizeof(a));
    struct sockaddr_in *in = (struct sockaddr_in *)&a;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &in->sin_addr);
    return a;
}

static int local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

/* A UDP socket bound to ip (any port) that sends n bytes of fill to port on 127.0.0.1. */
static void send_from(const char *ip, int port, size_t n, uint8_t fill)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_storage me = loopback(ip, 0), to = loopback("127.0.0.1", port);
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(struct sockaddr_in)), 0);
    uint8_t buf[512];
    memset(buf, fill, sizeof(buf));
    assert_int_equal(sendto(fd, buf, n, 0, (struct sockaddr *)&to, sizeof(struct sockaddr_in)),
                     (ssize_t)n);
    close(fd);
}

struct got {
    unsigned n;
    size_t len;
    uint8_t first;
};

static void on_datagram(void *arg, const uint8_t *data, size_t len)
{
    struct got *g = arg;
    g->n++;
    g->len = len;
    g->first = data[0];
}

static void test_a_pair_is_an_even_port_and_the_next(void **state)
{
    (void)state;
    struct sockaddr_storage local = loopback("127.0.0.1", 9); /* the port is ignored */
    for (int i = 0; i < 8; i++) {
        struct ing_udp_pair p;
        ing_udp_pair_init(&p);
        char err[160];
        assert_int_equal(
            ing_udp_pair_open(&p, &local, sizeof(struct sockaddr_in), err, sizeof(err)), 0);
        assert_int_equal(p.port % 2, 0);
        assert_int_equal(local_port(p.fd[0]), p.port);
        assert_int_equal(local_port(p.fd[1]), p.port + 1);
        close(p.fd[0]);
        close(p.fd[1]);
    }
    struct sockaddr_storage nowhere = loopback("192.0.2.1", 0); /* not an address of ours */
    struct ing_udp_pair p;
    ing_udp_pair_init(&p);
    char err[160];
    assert_true(ing_udp_pair_open(&p, &nowhere, sizeof(struct sockaddr_in), err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "cannot open UDP ports for RTP and RTCP: "));
    assert_int_equal(p.fd[0], -1);
}

static void test_only_the_camera_s_whole_datagrams_are_read(void **state)
{
    (void)state;
    struct sockaddr_storage local = loopback("127.0.0.1", 0);
    struct ing_udp_pair p;
    ing_udp_pair_init(&p);
    char err[160];
    assert_int_equal(ing_udp_pair_open(&p, &local, sizeof(struct sockaddr_in), err, sizeof(err)),
                     0);
    send_from("127.0.0.2", p.port, 100, 0xee); /* another host: injected */
    send_from("127.0.0.1", p.port, 120, 0x80);
    send_from("127.0.0.1", p.port, 300, 0x81); /* over the slot below */
    usleep(20000);
    struct sockaddr_storage camera = loopback("127.0.0.1", 554);
    static uint8_t buf[64 * 256]; /* 64 slots of 256 bytes */
    struct got g = {0};
    struct ing_udp_counts counts = {0};
    assert_int_equal(ing_udp_read(p.fd[0], &camera, buf, sizeof(buf), on_datagram, &g, &counts), 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.len, 120);
    assert_int_equal(g.first, 0x80);
    assert_int_equal(counts.foreign, 1);
    assert_int_equal(counts.truncated, 1);
    assert_int_equal(ing_udp_read(p.fd[0], &camera, buf, sizeof(buf), on_datagram, &g, &counts), 0);

    /* Our reports go to the camera's RTCP port. */
    int cam = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_storage at = loopback("127.0.0.1", 0);
    assert_int_equal(bind(cam, (struct sockaddr *)&at, sizeof(struct sockaddr_in)), 0);
    static const uint8_t rr[] = {0x81, 201, 0, 7};
    assert_int_equal(
        ing_udp_send(p.fd[1], &camera, sizeof(struct sockaddr_in), local_port(cam), rr, sizeof(rr)),
        0);
    uint8_t in[16];
    assert_int_equal(recv(cam, in, sizeof(in), 0), (ssize_t)sizeof(rr));
    assert_memory_equal(in, rr, sizeof(rr));
    close(cam);
    close(p.fd[0]);
    close(p.fd[1]);
}

struct owner {
    struct ing_loop_item item;
    struct ing_udp_pair pair;
    sem_t attached, read, detached;
    atomic_uint tag, datagrams;
};

static void o_attach(struct ing_loop_item *it)
{
    struct owner *o = (struct owner *)it;
    assert_int_equal(ing_loop_aux_set(it, &o->pair.aux[1], o->pair.fd[1], 7), 0);
    sem_post(&o->attached);
}

static void o_io(struct ing_loop_item *it, uint32_t events)
{
    (void)it;
    (void)events;
}

static void o_timer(struct ing_loop_item *it)
{
    (void)it;
}

static void o_detach(struct ing_loop_item *it)
{
    struct owner *o = (struct owner *)it;
    ing_udp_pair_close(&o->pair, it);
    sem_post(&o->detached);
}

static void o_aux(struct ing_loop_item *it, unsigned tag)
{
    struct owner *o = (struct owner *)it;
    uint8_t buf[64];
    while (recv(o->pair.fd[tag % 2], buf, sizeof(buf), MSG_DONTWAIT) > 0)
        atomic_fetch_add(&o->datagrams, 1);
    atomic_store(&o->tag, tag);
    sem_post(&o->read);
}

static const struct ing_loop_ops owner_ops = {o_attach, o_io, o_timer, o_detach, o_aux};

static void wait_sem(sem_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    assert_int_equal(sem_timedwait(s, &ts), 0);
}

static void test_a_datagram_wakes_its_item_on_the_loop_thread(void **state)
{
    (void)state;
    static struct owner o; /* pointer-aligned, as the loop needs */
    memset(&o, 0, sizeof(o));
    o.item.ops = &owner_ops;
    sem_init(&o.attached, 0, 0);
    sem_init(&o.read, 0, 0);
    sem_init(&o.detached, 0, 0);
    ing_udp_pair_init(&o.pair);
    struct sockaddr_storage local = loopback("127.0.0.1", 0);
    char err[160];
    assert_int_equal(
        ing_udp_pair_open(&o.pair, &local, sizeof(struct sockaddr_in), err, sizeof(err)), 0);
    struct ing_loop *loop = NULL;
    assert_int_equal(ing_loop_acquire(1, 0, &loop), 0);
    ing_loop_add(loop, &o.item);
    wait_sem(&o.attached);
    send_from("127.0.0.1", o.pair.port + 1, 40, 0x81);
    wait_sem(&o.read);
    assert_int_equal(atomic_load(&o.tag), 7);
    assert_int_equal(atomic_load(&o.datagrams), 1);
    ing_loop_remove(&o.item);
    wait_sem(&o.detached);
    assert_int_equal(o.pair.fd[0], -1);
    assert_int_equal(o.pair.aux[1].fd, -1);
    ing_loop_release(loop);
    sem_destroy(&o.attached);
    sem_destroy(&o.read);
    sem_destroy(&o.detached);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_pair_is_an_even_port_and_the_next),
        cmocka_unit_test(test_only_the_camera_s_whole_datagrams_are_read),
        cmocka_unit_test(test_a_datagram_wakes_its_item_on_the_loop_thread),
    };
    return cmocka_run_group_tests_name("rtsp_udp", tests, NULL, NULL);
}
