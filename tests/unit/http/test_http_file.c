/*
 * Tests for src/http/http_file.c and http_cors.c on a real server over
 * loopback: whole files, byte ranges with exact bytes, 416 for ranges
 * past the end and malformed ones, conditional requests (If-None-Match,
 * If-Modified-Since, If-Range), HEAD, a client that disconnects in the
 * middle of a large body (no fd left open), and CORS replies and
 * preflights.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "http.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SMALL_BYTES 10000
#define BIG_BYTES (16 * 1024 * 1024)

struct fixture {
    http_server *srv;
    unsigned port;
    char small[64];
    char big[64];
};

struct resp {
    int status;
    char head[8192];
    char *body;
    size_t body_len;
};

static struct fixture *g_fixture; /* handlers read the file names */

static struct http_error_map mapper(int rc)
{
    if (rc == -ENOENT)
        return (struct http_error_map){.status = 404, .code = "not_found"};
    if (rc == HORUS_EMETHOD)
        return (struct http_error_map){.status = 405, .code = "method_not_allowed"};
    return (struct http_error_map){.status = 500, .code = "internal"};
}

static int serve(http_request *req, const char *path, const char *etag)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return http_reply_file(req, fd,
                           &(struct http_file_options){.content_type = "video/mp4",
                                                       .etag = etag,
                                                       .cache_control = "max-age=60"},
                           NULL);
}

static int h_small(http_request *req, void *arg)
{
    return serve(req, g_fixture->small, NULL);
}

static int h_tagged(http_request *req, void *arg)
{
    return serve(req, g_fixture->small, "0123abcd");
}

static int h_big(http_request *req, void *arg)
{
    return serve(req, g_fixture->big, NULL);
}

static int h_notfile(http_request *req, void *arg)
{
    int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = http_reply_file(req, fd, &(struct http_file_options){.content_type = "x/y"}, NULL);
    assert_int_equal(rc, -EINVAL);
    return http_reply(req, 200, "text/plain", "refused", 7);
}

static void write_pattern(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc((int)((i * 7 + i / 251) & 0xff), f);
    fclose(f);
}

static unsigned char pattern_at(size_t i)
{
    return (unsigned char)((i * 7 + i / 251) & 0xff);
}

static int start_server(struct fixture *f, const char *const *origins, size_t norigins)
{
    struct http_server_options opt = {
        .listen = "127.0.0.1:0",
        .threads = 2,
        .cors_origins = origins,
        .ncors_origins = norigins,
    };
    assert_int_equal(http_server_new(&opt, &f->srv), 0);
    http_router *r = http_server_router(f->srv);
    http_router_set_error_mapper(r, mapper);
    assert_int_equal(http_router_add(r, "GET", "/small.mp4", h_small, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/tagged.mp4", h_tagged, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/big.mp4", h_big, NULL), 0);
    assert_int_equal(http_router_add(r, "DELETE", "/big.mp4", h_big, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/notfile", h_notfile, NULL), 0);
    assert_int_equal(http_server_start(f->srv), 0);
    f->port = http_server_port(f->srv);
    return 0;
}

static int setup_with(void **state, const char *const *origins, size_t n)
{
    struct fixture *f = calloc(1, sizeof(*f));
    g_fixture = f;
    snprintf(f->small, sizeof(f->small), "/tmp/horus-file-%d-small", (int)getpid());
    snprintf(f->big, sizeof(f->big), "/tmp/horus-file-%d-big", (int)getpid());
    write_pattern(f->small, SMALL_BYTES);
    write_pattern(f->big, BIG_BYTES);
    start_server(f, origins, n);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL, 0);
}

static int setup_cors_list(void **state)
{
    static const char *const origins[] = {"https://ui.example", "http://localhost:5173"};
    return setup_with(state, origins, 2);
}

static int setup_cors_any(void **state)
{
    static const char *const origins[] = {"*"};
    return setup_with(state, origins, 1);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    http_server_free(f->srv);
    unlink(f->small);
    unlink(f->big);
    free(f);
    return 0;
}

/* ---- a tiny client ---- */

static int client_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_text(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        s += n;
        len -= (size_t)n;
    }
}

static const char *resp_header(const struct resp *r, const char *name)
{
    static char value[1024];
    size_t nlen = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line && line[2];) {
        line += 2;
        const char *end = strstr(line, "\r\n");
        if (!end)
            break;
        if ((size_t)(end - line) > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            size_t vlen = (size_t)(end - v) < sizeof(value) ? (size_t)(end - v) : sizeof(value) - 1;
            memcpy(value, v, vlen);
            value[vlen] = '\0';
            return value;
        }
        line = end;
    }
    return NULL;
}

static void read_response(int fd, bool is_head, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        ssize_t n = recv(fd, r->head + len, 1, 0); /* byte by byte: the head is small */
        assert_true(n == 1);
        len++;
        assert_true(len < sizeof(r->head) - 1);
        r->head[len] = '\0';
        end = strstr(r->head, "\r\n\r\n");
    }
    assert_int_equal(sscanf(r->head, "HTTP/1.%*d %d", &r->status), 1);
    const char *cl = resp_header(r, "Content-Length");
    size_t want = cl && !is_head ? strtoull(cl, NULL, 10) : 0;
    r->body = malloc(want + 1);
    while (r->body_len < want) {
        ssize_t n = recv(fd, r->body + r->body_len, want - r->body_len, 0);
        if (n <= 0)
            break;
        r->body_len += (size_t)n;
    }
    r->body[r->body_len] = '\0';
}

/* GET (or another method) of path with extra header lines ("Name: v\r\n..."). */
static void request(struct fixture *f, const char *method, const char *path, const char *headers,
                    struct resp *r)
{
    char raw[2048];
    snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, path,
             headers ? headers : "");
    int fd = client_connect(f->port);
    send_text(fd, raw);
    read_response(fd, strcmp(method, "HEAD") == 0, r);
    close(fd);
}

static void assert_pattern(const struct resp *r, size_t first, size_t len)
{
    assert_int_equal(r->body_len, len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)r->body[i] != pattern_at(first + i))
            fail_msg("byte %zu differs", first + i);
}

/* ---- tests ---- */

static void test_whole_file_with_validators(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/small.mp4", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_pattern(&r, 0, SMALL_BYTES);
    assert_string_equal(resp_header(&r, "Content-Type"), "video/mp4");
    assert_string_equal(resp_header(&r, "Accept-Ranges"), "bytes");
    assert_string_equal(resp_header(&r, "Cache-Control"), "max-age=60");
    assert_non_null(resp_header(&r, "Last-Modified"));
    const char *etag = resp_header(&r, "ETag");
    assert_non_null(etag);
    assert_true(etag[0] == '"' && etag[strlen(etag) - 1] == '"');
    assert_null(resp_header(&r, "Access-Control-Allow-Origin"));
    free(r.body);
}

static void test_one_range_returns_206_with_exactly_those_bytes(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/small.mp4", "Range: bytes=100-1099\r\n", &r);
    assert_int_equal(r.status, 206);
    assert_string_equal(resp_header(&r, "Content-Range"), "bytes 100-1099/10000");
    assert_pattern(&r, 100, 1000);
    free(r.body);
    request(f, "GET", "/small.mp4", "Range: bytes=-10\r\n", &r);
    assert_int_equal(r.status, 206);
    assert_string_equal(resp_header(&r, "Content-Range"), "bytes 9990-9999/10000");
    assert_pattern(&r, 9990, 10);
    free(r.body);
    request(f, "GET", "/small.mp4", "Range: bytes=9000-20000\r\n", &r);
    assert_int_equal(r.status, 206);
    assert_string_equal(resp_header(&r, "Content-Range"), "bytes 9000-9999/10000");
    assert_pattern(&r, 9000, 1000);
    free(r.body);
}

static void test_range_past_the_end_is_416_with_the_size(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/small.mp4", "Range: bytes=10000-\r\n", &r);
    assert_int_equal(r.status, 416);
    assert_string_equal(resp_header(&r, "Content-Range"), "bytes */10000");
    assert_non_null(strstr(r.body, "range_not_satisfiable"));
    assert_non_null(strstr(r.body, "Range: 'bytes=10000-' is outside the 10000 bytes"));
    free(r.body);
}

static void test_malformed_range_is_416_naming_the_header(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/small.mp4", "Range: bytes=9-2\r\n", &r);
    assert_int_equal(r.status, 416);
    assert_non_null(strstr(r.body, "Range: malformed byte range 'bytes=9-2'"));
    free(r.body);
}

static void test_several_ranges_or_another_unit_get_the_whole_file(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/small.mp4", "Range: bytes=0-1,5-6\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_pattern(&r, 0, SMALL_BYTES);
    free(r.body);
    request(f, "GET", "/small.mp4", "Range: items=0-1\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_if_none_match_with_the_etag_is_304(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/tagged.mp4", NULL, &r);
    assert_string_equal(resp_header(&r, "ETag"), "\"0123abcd\"");
    free(r.body);
    request(f, "GET", "/tagged.mp4", "If-None-Match: \"zz\", W/\"0123abcd\"\r\n", &r);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(resp_header(&r, "ETag"), "\"0123abcd\"");
    assert_string_equal(resp_header(&r, "Cache-Control"), "max-age=60");
    free(r.body);
    request(f, "GET", "/tagged.mp4", "If-None-Match: \"other\"\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, SMALL_BYTES);
    free(r.body);
    /* If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2). */
    request(f, "GET", "/tagged.mp4",
            "If-None-Match: \"other\"\r\nIf-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_if_modified_since_compares_the_mtime(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/small.mp4", NULL, &r);
    char lm[64];
    snprintf(lm, sizeof(lm), "%s", resp_header(&r, "Last-Modified"));
    free(r.body);
    char h[128];
    snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", lm);
    request(f, "GET", "/small.mp4", h, &r);
    assert_int_equal(r.status, 304);
    free(r.body);
    request(f, "GET", "/small.mp4", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    request(f, "GET", "/small.mp4", "If-Modified-Since: yesterday\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_if_range_applies_the_range_only_when_it_matches(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/tagged.mp4", "Range: bytes=0-9\r\nIf-Range: \"0123abcd\"\r\n", &r);
    assert_int_equal(r.status, 206);
    assert_pattern(&r, 0, 10);
    free(r.body);
    request(f, "GET", "/tagged.mp4", "Range: bytes=0-9\r\nIf-Range: \"stale\"\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_pattern(&r, 0, SMALL_BYTES);
    free(r.body);
    request(f, "GET", "/tagged.mp4", "Range: bytes=0-9\r\nIf-Range: W/\"0123abcd\"\r\n", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    request(f, "GET", "/small.mp4", NULL, &r);
    char h[160];
    snprintf(h, sizeof(h), "Range: bytes=5-6\r\nIf-Range: %s\r\n",
             resp_header(&r, "Last-Modified"));
    free(r.body);
    request(f, "GET", "/small.mp4", h, &r);
    assert_int_equal(r.status, 206);
    assert_pattern(&r, 5, 2);
    free(r.body);
}

static void test_head_has_the_headers_of_the_whole_file_and_no_body(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "HEAD", "/small.mp4", "Range: bytes=0-9\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_header(&r, "Content-Length"), "10000");
    assert_string_equal(resp_header(&r, "Accept-Ranges"), "bytes");
    assert_null(resp_header(&r, "Content-Range"));
    free(r.body);
}

static void test_a_directory_is_refused_without_a_reply(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/notfile", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "refused");
    free(r.body);
}

static size_t open_fds(void)
{
    size_t n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void test_big_file_is_sent_whole_and_a_client_leaving_early_leaks_nothing(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/big.mp4", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_pattern(&r, 0, BIG_BYTES);
    free(r.body);
    request(f, "GET", "/big.mp4", "Range: bytes=1000000-\r\n", &r);
    assert_int_equal(r.status, 206);
    assert_pattern(&r, 1000000, BIG_BYTES - 1000000);
    free(r.body);

    size_t before = open_fds();
    for (int i = 0; i < 20; i++) {
        int fd = client_connect(f->port);
        send_text(fd, "GET /big.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        char buf[4096];
        assert_true(recv(fd, buf, sizeof(buf), 0) > 0);
        /* A reset instead of a FIN: the server sees the error on its next write. */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
    }
    /* The server notices each abort on its next send; wait for the files to be closed. */
    size_t now = open_fds();
    for (int i = 0; i < 500 && now > before; i++) {
        struct timespec ts = {.tv_nsec = 10 * 1000000};
        nanosleep(&ts, NULL);
        now = open_fds();
    }
    assert_true(now <= before);
    request(f, "GET", "/small.mp4", "Range: bytes=0-0\r\n", &r);
    assert_int_equal(r.status, 206);
    free(r.body);
}

static void test_without_cors_preflight_is_405(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "OPTIONS", "/small.mp4",
            "Origin: https://ui.example\r\nAccess-Control-Request-Method: GET\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_null(resp_header(&r, "Access-Control-Allow-Origin"));
    free(r.body);
}

static void test_cors_list_echoes_allowed_origins_only(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/small.mp4", "Origin: https://ui.example\r\nRange: bytes=0-1\r\n", &r);
    assert_int_equal(r.status, 206);
    assert_string_equal(resp_header(&r, "Access-Control-Allow-Origin"), "https://ui.example");
    assert_string_equal(resp_header(&r, "Vary"), "Origin");
    assert_non_null(strstr(resp_header(&r, "Access-Control-Expose-Headers"), "Content-Range"));
    free(r.body);
    request(f, "GET", "/small.mp4", "Origin: https://evil.example\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_null(resp_header(&r, "Access-Control-Allow-Origin"));
    assert_string_equal(resp_header(&r, "Vary"), "Origin");
    free(r.body);
    /* Errors carry it too, so that a page can read the message. */
    request(f, "GET", "/nothing", "Origin: http://localhost:5173\r\n", &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(resp_header(&r, "Access-Control-Allow-Origin"), "http://localhost:5173");
    free(r.body);
}

static void test_cors_preflight_lists_the_paths_methods(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "OPTIONS", "/big.mp4",
            "Origin: https://ui.example\r\nAccess-Control-Request-Method: GET\r\n"
            "Access-Control-Request-Headers: range, if-none-match\r\n",
            &r);
    assert_int_equal(r.status, 204);
    assert_string_equal(resp_header(&r, "Access-Control-Allow-Origin"), "https://ui.example");
    const char *methods = resp_header(&r, "Access-Control-Allow-Methods");
    assert_non_null(strstr(methods, "GET"));
    assert_non_null(strstr(methods, "DELETE"));
    assert_string_equal(resp_header(&r, "Access-Control-Allow-Headers"), "range, if-none-match");
    assert_string_equal(resp_header(&r, "Access-Control-Max-Age"), "600");
    free(r.body);
    /* Not an allowed origin: an ordinary OPTIONS, which has no route. */
    request(f, "OPTIONS", "/big.mp4",
            "Origin: https://evil.example\r\nAccess-Control-Request-Method: GET\r\n", &r);
    assert_int_equal(r.status, 405);
    free(r.body);
}

static void test_cors_any_allows_every_origin_without_vary(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request(f, "GET", "/small.mp4", "Origin: https://anything.example\r\n", &r);
    assert_string_equal(resp_header(&r, "Access-Control-Allow-Origin"), "*");
    assert_null(resp_header(&r, "Vary"));
    free(r.body);
    request(f, "GET", "/small.mp4", NULL, &r);
    assert_null(resp_header(&r, "Access-Control-Allow-Origin"));
    free(r.body);
}

static void test_origin_validation(void **state)
{
    assert_true(http_cors_origin_is_valid("*"));
    assert_true(http_cors_origin_is_valid("https://ui.example"));
    assert_true(http_cors_origin_is_valid("http://localhost:5173"));
    assert_true(http_cors_origin_is_valid("http://[::1]:8080"));
    assert_false(http_cors_origin_is_valid("https://ui.example/"));
    assert_false(http_cors_origin_is_valid("https://ui.example/path"));
    assert_false(http_cors_origin_is_valid("ui.example"));
    assert_false(http_cors_origin_is_valid("https://UI.example"));
    assert_false(http_cors_origin_is_valid("https://"));
    assert_false(http_cors_origin_is_valid("ftp://x"));
    assert_false(http_cors_origin_is_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_file_with_validators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_range_returns_206_with_exactly_those_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_range_past_the_end_is_416_with_the_size, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_range_is_416_naming_the_header, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_several_ranges_or_another_unit_get_the_whole_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_none_match_with_the_etag_is_304, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_modified_since_compares_the_mtime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_range_applies_the_range_only_when_it_matches, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_head_has_the_headers_of_the_whole_file_and_no_body,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_directory_is_refused_without_a_reply, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_big_file_is_sent_whole_and_a_client_leaving_early_leaks_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_cors_preflight_is_405, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cors_list_echoes_allowed_origins_only, setup_cors_list,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cors_preflight_lists_the_paths_methods,
                                        setup_cors_list, teardown),
        cmocka_unit_test_setup_teardown(test_cors_any_allows_every_origin_without_vary,
                                        setup_cors_any, teardown),
        cmocka_unit_test(test_origin_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
