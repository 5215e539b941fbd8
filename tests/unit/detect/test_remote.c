/*
 * Tests for src/detect/object/remote_parse.c (the DeepStack reply parser)
 * and remote.c's failures against real sockets: a port nobody listens on,
 * a server that accepts and never answers (timeout), one that answers 500,
 * and one that answers garbage. Every error must name the provider's URL
 * with its credentials masked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "detect.h"
#include "err.h"
#include "remote.h"
#include "remote_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *const coco[] = {"person", "bicycle", "car"};

static int parse(const char *body, struct det_box *b, size_t *n, size_t *unknown, char **err)
{
    return det_remote_parse(body, strlen(body), 800, 400, coco, 3, b, 8, n, unknown, err);
}

static void test_parse_predictions_normalised_and_mapped(void **state)
{
    (void)state;
    struct det_box b[8];
    size_t n = 0, unknown = 0;
    char *err = NULL;
    const char *body =
        "{\"success\":true,\"duration\":3,\"predictions\":["
        "{\"label\":\"car\",\"confidence\":0.9,\"x_min\":80,\"y_min\":40,\"x_max\":400,\"y_max\":"
        "200},"
        "{\"label\":\"unicorn\",\"confidence\":0.8,\"x_min\":0,\"y_min\":0,\"x_max\":1,\"y_max\":1}"
        ","
        "{\"label\":\"person\",\"confidence\":0.5,\"x_min\":-1,\"y_min\":0,\"x_max\":801.5,"
        "\"y_max\":400}]}";
    assert_int_equal(parse(body, b, &n, &unknown, &err), 0);
    assert_null(err);
    assert_int_equal(n, 2);
    assert_int_equal(unknown, 1);
    assert_int_equal(b[0].label, 2);
    assert_float_equal(b[0].x0, 0.1, 1e-6);
    assert_float_equal(b[0].y0, 0.1, 1e-6);
    assert_float_equal(b[0].x1, 0.5, 1e-6);
    assert_float_equal(b[0].y1, 0.5, 1e-6);
    assert_float_equal(b[0].score, 0.9, 1e-6);
    assert_int_equal(b[1].label, 0); /* clamped within the slack */
    assert_float_equal(b[1].x0, 0, 0);
    assert_float_equal(b[1].x1, 1, 0);
}

static void expect_error(const char *body, const char *message)
{
    struct det_box b[8];
    size_t n = 9, unknown = 9;
    char *err = NULL;
    assert_int_equal(parse(body, b, &n, &unknown, &err), HORUS_EPARSE);
    assert_non_null(err);
    if (!strstr(err, message))
        fail_msg("error '%s' lacks '%s'", err, message);
    free(err);
}

static void test_parse_errors_say_why(void **state)
{
    (void)state;
    expect_error("<html>502</html>", "reply is not JSON");
    expect_error("[1]", "not a JSON object");
    expect_error("{}", "success: missing");
    expect_error("{\"success\":false,\"error\":\"No valid image file was found\"}",
                 "provider error: No valid image file was found");
    expect_error("{\"success\":true}", "predictions: missing");
    expect_error("{\"success\":true,\"predictions\":[3]}", "predictions[0]: not an object");
    expect_error("{\"success\":true,\"predictions\":[{\"confidence\":1}]}",
                 "predictions[0].label: missing");
    expect_error("{\"success\":true,\"predictions\":[{\"label\":\"car\",\"confidence\":1.5,"
                 "\"x_min\":0,\"y_min\":0,\"x_max\":1,\"y_max\":1}]}",
                 "confidence: 1.5 is outside 0..1");
    expect_error("{\"success\":true,\"predictions\":[{\"label\":\"car\",\"confidence\":1,"
                 "\"x_min\":0,\"y_min\":0,\"x_max\":900,\"y_max\":1}]}",
                 "predictions[0].x_max: outside the image (900, image 800x400)");
    expect_error("{\"success\":true,\"predictions\":[{\"label\":\"car\",\"confidence\":1,"
                 "\"x_min\":10,\"y_min\":0,\"x_max\":5,\"y_max\":1}]}",
                 "x_max/y_max before x_min/y_min");
    expect_error("{\"success\":true,\"predictions\":[{\"label\":\"car\",\"confidence\":1,"
                 "\"x_min\":\"0\",\"y_min\":0,\"x_max\":5,\"y_max\":1}]}",
                 "predictions[0].x_min: not a number");
}

/* ---- against real sockets ---- */

struct server {
    int fd, port;
    const char *reply; /* NULL: accept and never answer */
    pthread_t thread;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    char buf[65536];
    if (!s->reply) {
        /* hang: read until the client gives up */
        while (read(c, buf, sizeof(buf)) > 0)
            ;
    } else {
        /* read headers and the body (Content-Length), then answer */
        size_t got = 0;
        long want = -1;
        for (;;) {
            ssize_t r = read(c, buf + got, sizeof(buf) - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            buf[got] = 0;
            char *end = strstr(buf, "\r\n\r\n");
            if (end && want < 0) {
                char *cl = strcasestr(buf, "content-length:");
                want = (end + 4 - buf) + (cl ? atol(cl + 15) : 0);
            }
            if (want >= 0 && (long)got >= want)
                break;
        }
        if (write(c, s->reply, strlen(s->reply)) < 0)
            perror("write");
    }
    close(c);
    return NULL;
}

static void server_start(struct server *s, const char *reply)
{
    s->reply = reply;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 4), 0);
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, serve, s);
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static int run_remote(int port, int timeout_ms, char **err)
{
    char labels[] = "/tmp/horus-test-remote-labels-XXXXXX";
    int fd = mkstemp(labels);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "person\ncar\n", 11), 11);
    close(fd);
    char url[128];
    snprintf(url, sizeof(url), "http://user:hunter2@127.0.0.1:%d", port);
    struct det_remote_options o = {
        .url = url, .labels_path = labels, .api_key = "k3y", .timeout_ms = timeout_ms};
    struct det_detector *d = NULL;
    assert_int_equal(det_remote_open(&o, &d, err), 0);
    unlink(labels);
    static uint8_t px[64 * 48 * 3];
    for (size_t i = 0; i < sizeof(px); i++)
        px[i] = (uint8_t)(i * 7);
    struct det_frame f = {px, 64, 48, 64 * 3};
    struct det_box b[8];
    size_t n = 0;
    int rc = det_detector_run(d, &f, NULL, b, 8, &n, err);
    if (rc == 0)
        assert_int_equal(n, 1);
    det_detector_close(d);
    return rc;
}

static void expect_masked(const char *err, const char *cause)
{
    if (!strstr(err, "remote 'http://user:***@127.0.0.1:") || !strstr(err, cause) ||
        strstr(err, "hunter2"))
        fail_msg("error '%s' does not name the masked URL and '%s'", err, cause);
}

static void test_remote_refused_timeout_500_garbage_and_ok(void **state)
{
    (void)state;
    char *err = NULL;
    struct server s;

    server_start(&s, NULL); /* hangs */
    assert_int_equal(run_remote(s.port, 300, &err), -ETIMEDOUT);
    expect_masked(err, "timed out after 300 ms");
    free(err);
    server_stop(&s);

    int port = s.port; /* closed now: refused */
    assert_int_equal(run_remote(port, 300, &err), -ECONNREFUSED);
    expect_masked(err, "127.0.0.1");
    free(err);

    server_start(&s, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 34\r\n"
                     "Connection: close\r\n\r\n{\"success\":false,\"error\":\"oops\"}\n\n");
    assert_int_equal(run_remote(s.port, 2000, &err), -EPROTO);
    expect_masked(err, "HTTP 500: oops");
    free(err);
    server_stop(&s);

    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    assert_int_equal(run_remote(s.port, 2000, &err), HORUS_EPARSE);
    expect_masked(err, "reply is not JSON");
    free(err);
    server_stop(&s);

    static const char ok_body[] =
        "{\"success\":true,\"predictions\":[{\"label\":\"car\",\"confidence\":0.9,"
        "\"x_min\":8,\"y_min\":4,\"x_max\":40,\"y_max\":20}]}";
    char ok[512];
    snprintf(ok, sizeof(ok),
             "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(ok_body), ok_body);
    server_start(&s, ok);
    err = NULL;
    assert_int_equal(run_remote(s.port, 2000, &err), 0);
    assert_null(err);
    server_stop(&s);
}

static void test_remote_options_are_checked(void **state)
{
    (void)state;
    struct det_detector *d = NULL;
    char *err = NULL;
    struct det_remote_options o = {.url = "ftp://x", .labels_path = "/nonexistent"};
    assert_int_equal(det_remote_open(&o, &d, &err), -EINVAL);
    assert_string_equal(err, "url: must start with http:// or https://");
    free(err);
    o.url = "http://x";
    o.timeout_ms = -1;
    assert_int_equal(det_remote_open(&o, &d, &err), -EINVAL);
    assert_string_equal(err, "timeout_ms: must be 1..600000");
    free(err);
    o.timeout_ms = 0;
    assert_int_equal(det_remote_open(&o, &d, &err), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_predictions_normalised_and_mapped),
        cmocka_unit_test(test_parse_errors_say_why),
        cmocka_unit_test(test_remote_refused_timeout_500_garbage_and_ok),
        cmocka_unit_test(test_remote_options_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
