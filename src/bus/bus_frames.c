/*
 * DESIGN: the frames' way out of a bus thread (docs/design/0050). The
 * hub's messages are best effort: published with is_reliable false (AMQP
 * transient without confirms, NATS core publish, MQTT QoS 0), so a frame
 * never waits for an acknowledgement and never holds the outbox behind
 * it. The subject is the adapter's for kind "frame": horus.frames.<camera>
 * on NATS and AMQP, <prefix>/<camera>/frames on MQTT.
 */
#include "bus_int.h"

#include <stdio.h>
#include <string.h>

#define SUBJECT_MAX 256

int bus_frames_pump(frames_hub *h, const char *bus_name, const struct bus_client_ops *ops,
                    void *self, int timeout_ms, char *why, size_t cap)
{
    struct frames_msg *fm[BUS_FRAMES_BATCH];
    size_t n = frames_hub_take(h, bus_name, fm, BUS_FRAMES_BATCH);
    if (n == 0)
        return 0;
    struct bus_msg msgs[BUS_FRAMES_BATCH];
    struct bus_header headers[BUS_FRAMES_BATCH][FRAMES_HEADERS_MAX];
    char subjects[BUS_FRAMES_BATCH][SUBJECT_MAX];
    for (size_t i = 0; i < n; i++) {
        if (ops->subject)
            ops->subject(self, "frame", fm[i]->camera, subjects[i], SUBJECT_MAX);
        else
            snprintf(subjects[i], SUBJECT_MAX, "horus.frames.%s", fm[i]->camera);
        for (size_t k = 0; k < fm[i]->nheaders; k++)
            headers[i][k] = (struct bus_header){fm[i]->headers[k].name, fm[i]->headers[k].value};
        msgs[i] = (struct bus_msg){.subject = subjects[i],
                                   .body = fm[i]->body,
                                   .len = fm[i]->len,
                                   .headers = headers[i],
                                   .nheaders = fm[i]->nheaders,
                                   .content_type = fm[i]->content_type,
                                   .is_reliable = false};
    }
    size_t sent = 0;
    int rc = ops->publish(self, msgs, n, timeout_ms, &sent, why, cap);
    if (sent > n)
        sent = n;
    frames_hub_done(h, bus_name, fm, n, sent);
    return rc;
}
