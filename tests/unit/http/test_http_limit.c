/*
 * Tests for src/http/http_limit.c with a fake clock: token buckets per
 * address (burst, refill, Retry-After, separate API and media budgets),
 * exemptions, per-principal buckets, the bounded table under many
 * addresses, the refusal counters, and a real server answering 429
 * before the handler on a kept-alive connection. A micro-benchmark of the cost per
 * call (one thread and all CPUs) runs with HORUS_BENCH=1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "http.h"
#include "http_limit.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct http_addr addr(const char *s)
{
    struct http_addr a;
    assert_int_equal(http_addr_parse(s, strlen(s), &a), 0);
    return a;
}

struct fixture {
    clock_fake clock;
    metrics_registry *metrics;
    http_limiter *l;
};

static struct fixture *make(unsigned api_per_min, unsigned api_burst, unsigned max_entries,
                            const char *const *exempt, size_t nexempt)
{
    struct fixture *f = calloc(1, sizeof(*f));
    clock_fake_init(&f->clock, 1700000000000);
    f->metrics = metrics_registry_new();
    struct http_limiter_options o = {
        .per_address =
            {[HTTP_LIMIT_API] = {api_per_min, api_burst}, [HTTP_LIMIT_MEDIA] = {6000, 100}},
        .per_principal = {120, 3},
        .max_entries = max_entries,
        .exempt = exempt,
        .nexempt = nexempt,
        .clock = &f->clock.base,
        .metrics = f->metrics,
    };
    assert_int_equal(http_limiter_new(&o, &f->l), 0);
    return f;
}

static void destroy(struct fixture *f)
{
    http_limiter_free(f->l);
    metrics_registry_free(f->metrics);
    free(f);
}

static double refused(struct fixture *f, const char *cls)
{
    size_t len;
    char *text = metrics_render(f->metrics, &len);
    char want[128];
    snprintf(want, sizeof(want), "horus_http_rate_limited_total{class=\"%s\"} ", cls);
    const char *p = strstr(text, want);
    double v = p ? strtod(p + strlen(want), NULL) : -1;
    free(text);
    return v;
}

static int take(struct fixture *f, const char *ip, enum http_limit_class cls, unsigned *retry)
{
    struct http_addr a = addr(ip);
    return http_limiter_take_addr(f->l, &a, cls, retry);
}

static void test_a_burst_passes_then_requests_wait_for_the_next_token(void **state)
{
    (void)state;
    struct fixture *f = make(100, 5, 0, NULL, 0);
    unsigned retry = 0;
    for (int i = 0; i < 5; i++)
        assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), 0);
    assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    assert_int_equal(retry, 1); /* 100/min: a token every 0.6 s, rounded up */
    /* 0.5 s later still none; 0.1 s more and one is back, but only one. */
    clock_fake_advance_ms(&f->clock, 500);
    assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    clock_fake_advance_ms(&f->clock, 101);
    assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), 0);
    assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    /* A long pause refills to the burst, not beyond. */
    clock_fake_advance_ms(&f->clock, 3600 * 1000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), 0);
    assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    assert_true(refused(f, "api") == 4);
    assert_true(refused(f, "media") == 0);
    destroy(f);
}

static void test_retry_after_counts_the_seconds_to_the_next_token(void **state)
{
    (void)state;
    struct fixture *f = make(2, 1, 0, NULL, 0); /* a token every 30 s */
    unsigned retry = 0;
    assert_int_equal(take(f, "2001:db8::1", HTTP_LIMIT_API, &retry), 0);
    assert_int_equal(take(f, "2001:db8::2", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    assert_int_equal(retry, 30);
    clock_fake_advance_ms(&f->clock, 10500);
    assert_int_equal(take(f, "2001:db8::1", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    assert_int_equal(retry, 20); /* 19.5 s rounded up */
    clock_fake_advance_ms(&f->clock, 19500);
    assert_int_equal(take(f, "2001:db8::1", HTTP_LIMIT_API, &retry), 0);
    destroy(f);
}

static void test_media_and_api_budgets_and_addresses_are_separate(void **state)
{
    (void)state;
    struct fixture *f = make(60, 2, 0, NULL, 0);
    unsigned retry;
    assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), 0);
    assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), 0);
    assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    /* The same address still fetches its media: 100 at once. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_MEDIA, &retry), 0);
    assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_MEDIA, &retry), HORUS_ELIMIT);
    assert_true(refused(f, "media") == 1);
    /* Exempt routes and other addresses are untouched; v4-mapped is the same address. */
    assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_EXEMPT, &retry), 0);
    assert_int_equal(take(f, "::ffff:192.0.2.1", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    assert_int_equal(take(f, "192.0.2.2", HTTP_LIMIT_API, &retry), 0);
    struct http_addr unknown = {0};
    assert_int_equal(http_limiter_take_addr(f->l, &unknown, HTTP_LIMIT_API, &retry), 0);
    destroy(f);
}

static void test_exempt_networks_and_unlimited_budgets_always_pass(void **state)
{
    (void)state;
    const char *const exempt[] = {"10.0.0.0/8", "::1"};
    struct fixture *f = make(60, 1, 0, exempt, 2);
    unsigned retry;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(take(f, "10.20.30.40", HTTP_LIMIT_API, &retry), 0);
        assert_int_equal(take(f, "::1", HTTP_LIMIT_API, &retry), 0);
    }
    assert_int_equal(take(f, "11.0.0.1", HTTP_LIMIT_API, &retry), 0);
    assert_int_equal(take(f, "11.0.0.1", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    destroy(f);

    f = make(0, 0, 0, NULL, 0); /* per_minute 0: no API limit */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(take(f, "192.0.2.1", HTTP_LIMIT_API, &retry), 0);
    destroy(f);

    const char *const bad[] = {"10.0.0.0/40"};
    struct http_limiter_options o = {.exempt = bad, .nexempt = 1};
    http_limiter *l = (http_limiter *)&o; /* must stay untouched */
    assert_int_equal(http_limiter_new(&o, &l), -EINVAL);
    assert_ptr_equal(l, (http_limiter *)&o);
}

static void test_principals_have_their_own_buckets(void **state)
{
    (void)state;
    struct fixture *f = make(60, 2, 0, NULL, 0);
    unsigned retry = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(http_limiter_take_principal(f->l, "user:12", &retry), 0);
    assert_int_equal(http_limiter_take_principal(f->l, "user:12", &retry), HORUS_ELIMIT);
    assert_int_equal(retry, 1); /* 120/min */
    assert_int_equal(http_limiter_take_principal(f->l, "key:12", &retry), 0);
    assert_true(refused(f, "principal") == 1);
    assert_true(refused(f, "api") == 0);
    /* Keys longer than the stored prefix are told apart by their hash. */
    char a[200], b[200];
    memset(a, 'x', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[150] = 'y';
    for (int i = 0; i < 3; i++)
        assert_int_equal(http_limiter_take_principal(f->l, a, &retry), 0);
    assert_int_equal(http_limiter_take_principal(f->l, a, &retry), HORUS_ELIMIT);
    assert_int_equal(http_limiter_take_principal(f->l, b, &retry), 0);
    clock_fake_advance_ms(&f->clock, 500);
    assert_int_equal(http_limiter_take_principal(f->l, "user:12", &retry), 0);
    assert_int_equal(http_limiter_take_principal(f->l, NULL, &retry), 0);
    destroy(f);
}

static void test_many_addresses_cannot_grow_the_table_or_free_a_spent_one(void **state)
{
    (void)state;
    struct fixture *f = make(60, 3, 256, NULL, 0);
    unsigned retry;
    /* The victim spends its budget, then a flood of addresses arrives. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(take(f, "198.51.100.7", HTTP_LIMIT_API, &retry), 0);
    char ip[64];
    for (unsigned i = 0; i < 200000; i++) {
        snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
        take(f, ip, HTTP_LIMIT_API, &retry);
        if (i % 1000 == 0)
            assert_int_equal(take(f, "198.51.100.7", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    }
    /*
     * 200000 addresses went through 256 slots sized once; every flood
     * entry kept tokens, so the spent victim was never the one forgotten.
     */
    assert_int_equal(take(f, "198.51.100.7", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    /* A forgotten address starts full, as a new one does: no lockout either way. */
    assert_int_equal(take(f, "2001:db8:0:1::1", HTTP_LIMIT_API, &retry), 0);
    destroy(f);
}

static void test_ipv6_addresses_count_per_slash_64(void **state)
{
    (void)state;
    struct fixture *f = make(60, 2, 0, NULL, 0);
    unsigned retry;
    assert_int_equal(take(f, "2001:db8:1:2::1", HTTP_LIMIT_API, &retry), 0);
    assert_int_equal(take(f, "2001:db8:1:2:ffff::9", HTTP_LIMIT_API, &retry), 0);
    assert_int_equal(take(f, "2001:db8:1:2::77", HTTP_LIMIT_API, &retry), HORUS_ELIMIT);
    assert_int_equal(take(f, "2001:db8:1:3::1", HTTP_LIMIT_API, &retry), 0);
    destroy(f);
}

/* ---- on a real server: 429 before the handler, keep-alive kept, principals ---- */

static struct http_error_map limit_mapper(int rc)
{
    if (rc == HORUS_ELIMIT)
        return (struct http_error_map){.status = 429, .code = "rate_limited"};
    return (struct http_error_map){.status = rc == -ENOENT ? 404 : 500, .code = "other"};
}

static int h_api(http_request *req, void *arg)
{
    (void)arg;
    const char *who = http_request_query(req, "as");
    if (who) {
        int rc = http_request_limit_principal(req, who);
        if (rc < 0)
            return rc;
    }
    return http_reply(req, 200, "text/plain", "ok", 2);
}

/* Sends one GET on fd and reads the reply: returns the status; head gets the headers. */
static int get(int fd, const char *path, char *head, size_t size)
{
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0;
    char *end = NULL;
    while (!end) {
        assert_true(got + 1 < size);
        ssize_t r = read(fd, head + got, size - got - 1);
        assert_true(r > 0);
        got += (size_t)r;
        head[got] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    const char *cl = strcasestr(head, "Content-Length: ");
    size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
    size_t have = got - (size_t)(end + 4 - head);
    char sink[4096];
    while (have < body) {
        ssize_t r = read(fd, sink, sizeof(sink));
        assert_true(r > 0);
        have += (size_t)r;
    }
    *end = '\0';
    return atoi(head + 9);
}

static void test_a_server_answers_429_before_the_handler_and_keeps_the_connection(void **state)
{
    (void)state;
    struct fixture *f = make(60, 5, 0, NULL, 0); /* principals: 3 at once */
    http_server *srv;
    struct http_server_options o = {.listen = "127.0.0.1:0", .threads = 2, .limiter = f->l};
    assert_int_equal(http_server_new(&o, &srv), 0);
    http_router *r = http_server_router(srv);
    http_router_set_error_mapper(r, limit_mapper);
    assert_int_equal(http_router_add(r, "GET", "/api", h_api, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/media", h_api, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/health", h_api, NULL), 0);
    assert_int_equal(http_router_set_limit_class(r, "/media", HTTP_LIMIT_MEDIA), 0);
    assert_int_equal(http_router_set_limit_class(r, "/health", HTTP_LIMIT_EXEMPT), 0);
    assert_int_equal(http_server_start(srv), 0);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)http_server_port(srv))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char head[8192];
    assert_int_equal(get(fd, "/api", head, sizeof(head)), 200);
    assert_int_equal(get(fd, "/nowhere", head, sizeof(head)), 404); /* unmatched: API budget */
    for (int i = 0; i < 3; i++)
        assert_int_equal(get(fd, "/api", head, sizeof(head)), 200);
    assert_int_equal(get(fd, "/api", head, sizeof(head)), 429);
    assert_non_null(strstr(head, "Retry-After: 1\r\n"));
    /* The same connection goes on: media and health are served, the API is still refused. */
    assert_int_equal(get(fd, "/media", head, sizeof(head)), 200);
    assert_int_equal(get(fd, "/health", head, sizeof(head)), 200);
    assert_int_equal(get(fd, "/nowhere", head, sizeof(head)), 429);
    clock_fake_advance_ms(&f->clock, 60000);
    /* A principal's budget (3 at once here) applies on top, in the handler. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(get(fd, "/api?as=user:1", head, sizeof(head)), 200);
    assert_int_equal(get(fd, "/api?as=user:1", head, sizeof(head)), 429);
    assert_non_null(strstr(head, "Retry-After: 1\r\n"));
    assert_int_equal(get(fd, "/media?as=user:1", head, sizeof(head)), 200); /* media: no */
    close(fd);
    http_server_free(srv);
    assert_true(refused(f, "api") == 2);
    assert_true(refused(f, "principal") == 1);
    destroy(f);
}

/* ---- micro-benchmark (HORUS_BENCH=1) ---- */

struct bench_arg {
    http_limiter *l;
    unsigned seed;
    long n;
    double ns_per_call;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *bench_thread(void *p)
{
    struct bench_arg *a = p;
    struct http_addr ad = {.family = 4};
    unsigned retry;
    double t0 = now_s();
    for (long i = 0; i < a->n; i++) {
        uint32_t v = (uint32_t)(a->seed * 2654435761u + (uint32_t)(i % 4096));
        memcpy(ad.bytes, &v, 4);
        http_limiter_take_addr(a->l, &ad, HTTP_LIMIT_API, &retry);
    }
    a->ns_per_call = (now_s() - t0) * 1e9 / (double)a->n;
    return NULL;
}

static void test_benchmark_cost_per_request(void **state)
{
    (void)state;
    const char *on = getenv("HORUS_BENCH");
    if (!on || strcmp(on, "1") != 0)
        skip();
    http_limiter *l;
    struct http_limiter_options o = {.per_address = {{100, 50}, {12000, 1000}}};
    assert_int_equal(http_limiter_new(&o, &l), 0);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned counts[] = {1, ncpu > 1 ? (unsigned)ncpu : 2};
    for (size_t c = 0; c < 2; c++) {
        unsigned nt = counts[c];
        pthread_t th[256];
        struct bench_arg args[256];
        for (unsigned i = 0; i < nt && i < 256; i++) {
            args[i] = (struct bench_arg){.l = l, .seed = i + 1, .n = 2000000};
            pthread_create(&th[i], NULL, bench_thread, &args[i]);
        }
        double sum = 0;
        for (unsigned i = 0; i < nt && i < 256; i++) {
            pthread_join(th[i], NULL);
            sum += args[i].ns_per_call;
        }
        printf("bench: http_limiter_take_addr, %u thread(s), 4096 addresses each: %.0f ns/call\n",
               nt, sum / nt);
    }
    http_limiter_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_burst_passes_then_requests_wait_for_the_next_token),
        cmocka_unit_test(test_retry_after_counts_the_seconds_to_the_next_token),
        cmocka_unit_test(test_media_and_api_budgets_and_addresses_are_separate),
        cmocka_unit_test(test_exempt_networks_and_unlimited_budgets_always_pass),
        cmocka_unit_test(test_principals_have_their_own_buckets),
        cmocka_unit_test(test_many_addresses_cannot_grow_the_table_or_free_a_spent_one),
        cmocka_unit_test(test_ipv6_addresses_count_per_slash_64),
        cmocka_unit_test(test_a_server_answers_429_before_the_handler_and_keeps_the_connection),
        cmocka_unit_test(test_benchmark_cost_per_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
