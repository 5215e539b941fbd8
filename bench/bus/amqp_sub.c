/*
 * A minimal AMQP 0-9-1 consumer for bench/bus/latency: binds a private,
 * exclusive queue to a topic exchange and prints, for each delivery, the
 * CLOCK_MONOTONIC time of its arrival (seconds) and its body on one line
 * (newlines in the body become spaces). `amqp-consume` starts a process per
 * message, which is far too slow to time arrivals with.
 *
 *   amqp-sub URL EXCHANGE BINDING_KEY
 *
 * Prints "ready" once the queue is bound and the consumer registered, then
 * "<monotonic s> <body>" per message, flushed each time. Runs until killed.
 * Built by bench/bus/latency with cc -O2 ... -lrabbitmq.
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(amqp_connection_state_t c, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "amqp-sub: %s failed (reply type %d)\n", what, (int)r.reply_type);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: amqp-sub URL EXCHANGE BINDING_KEY\n");
        return 2;
    }
    char *url = strdup(argv[1]);
    struct amqp_connection_info ci;
    amqp_default_connection_info(&ci);
    if (!url || amqp_parse_url(url, &ci) != AMQP_STATUS_OK) {
        fprintf(stderr, "amqp-sub: bad URL\n");
        return 2;
    }
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (!s || amqp_socket_open(s, ci.host, ci.port) != AMQP_STATUS_OK) {
        fprintf(stderr, "amqp-sub: cannot connect to %s:%d\n", ci.host, ci.port);
        return 1;
    }
    amqp_rpc_reply_t login =
        amqp_login(c, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "amqp-sub: login refused\n");
        return 1;
    }
    amqp_channel_open(c, 1);
    check(c, "channel.open");
    amqp_queue_declare_ok_t *q =
        amqp_queue_declare(c, 1, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    check(c, "queue.declare");
    amqp_bytes_t queue = amqp_bytes_malloc_dup(q->queue);
    amqp_queue_bind(c, 1, queue, amqp_cstring_bytes(argv[2]), amqp_cstring_bytes(argv[3]),
                    amqp_empty_table);
    check(c, "queue.bind (does the exchange exist yet?)");
    amqp_basic_consume(c, 1, queue, amqp_empty_bytes, 0, 1, 1, amqp_empty_table);
    check(c, "basic.consume");
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        amqp_envelope_t env;
        amqp_maybe_release_buffers(c);
        amqp_rpc_reply_t r = amqp_consume_message(c, &env, NULL, 0);
        double t = now_s();
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            fprintf(stderr, "amqp-sub: consume ended (reply type %d)\n", (int)r.reply_type);
            return 1;
        }
        char *b = env.message.body.bytes;
        for (size_t i = 0; i < env.message.body.len; i++)
            if (b[i] == '\n' || b[i] == '\r')
                b[i] = ' ';
        printf("%.6f %.*s\n", t, (int)env.message.body.len, b);
        fflush(stdout);
        amqp_destroy_envelope(&env);
    }
}
