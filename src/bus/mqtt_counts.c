/*
 * DESIGN: Frigate's object counts for MQTT (<prefix>/<camera>/<label> and
 * <prefix>/<camera>/all: how many events of that label are open now on that
 * camera). Pure: the MQTT adapter feeds it each event message the broker
 * acknowledged and publishes the counts that changed. Counting sets of open
 * event ids (not +1/-1) makes a message delivered twice (at least once)
 * harmless. A bounded number of ids is kept; an id whose "end" never came
 * (dropped by the outbox's retention) is forgotten when the set is full.
 * Thread: the bus thread only.
 */
#include "mqtt_counts_int.h"

#include "mem.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDS_MAX 4096

struct open_id {
    char id[BUS_COUNT_NAME_MAX];
    char camera[BUS_COUNT_NAME_MAX];
    char label[BUS_COUNT_NAME_MAX];
};

struct bus_counts {
    struct open_id ids[IDS_MAX];
    size_t n;
};

bus_counts *bus_counts_new(void)
{
    return horus_calloc(1, sizeof(struct bus_counts));
}

void bus_counts_free(bus_counts *c)
{
    free(c);
}

static int count_of(const bus_counts *c, const char *camera, const char *label)
{
    int n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += strcmp(c->ids[i].camera, camera) == 0 &&
             (!label || strcmp(c->ids[i].label, label) == 0);
    return n;
}

void bus_counts_topic_safe(char *out, size_t size, const char *s)
{
    size_t k = 0;
    for (; s[k] && k + 1 < size; k++) {
        unsigned char ch = (unsigned char)s[k];
        out[k] = ch < ' ' || ch == '/' || ch == '+' || ch == '#' || ch == 0x7f ? '_' : (char)ch;
    }
    out[k] = '\0';
}

size_t bus_counts_apply(bus_counts *c, const char *payload, size_t len, struct bus_count *out)
{
    json_t *doc = json_loadb(payload, len, 0, NULL);
    json_t *after = json_object_get(doc, "after");
    const char *type = json_string_value(json_object_get(doc, "type"));
    const char *id = json_string_value(json_object_get(after, "id"));
    const char *camera = json_string_value(json_object_get(after, "camera"));
    const char *label = json_string_value(json_object_get(after, "label"));
    size_t nout = 0;
    if (!type || !id || !camera || !label || strlen(id) >= BUS_COUNT_NAME_MAX ||
        strlen(camera) >= BUS_COUNT_NAME_MAX || strlen(label) >= BUS_COUNT_NAME_MAX)
        goto done;
    char safe_label[BUS_COUNT_NAME_MAX];
    bus_counts_topic_safe(safe_label, sizeof(safe_label), label);
    size_t at = c->n;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->ids[i].id, id) == 0)
            at = i;
    bool is_end = strcmp(type, "end") == 0;
    if (is_end && at < c->n) {
        c->ids[at] = c->ids[--c->n];
    } else if (!is_end && at == c->n) {
        if (c->n == IDS_MAX) /* forget the oldest: its end was lost */
            memmove(&c->ids[0], &c->ids[1], (IDS_MAX - 1) * sizeof(c->ids[0]));
        else
            c->n++;
        struct open_id *o = &c->ids[c->n - 1];
        snprintf(o->id, sizeof(o->id), "%s", id);
        bus_counts_topic_safe(o->camera, sizeof(o->camera), camera);
        snprintf(o->label, sizeof(o->label), "%s", safe_label);
    } else {
        goto done; /* an update, or a message seen before: nothing changes */
    }
    char safe_camera[BUS_COUNT_NAME_MAX];
    bus_counts_topic_safe(safe_camera, sizeof(safe_camera), camera);
    out[nout] = (struct bus_count){.count = count_of(c, safe_camera, safe_label)};
    snprintf(out[nout].camera, sizeof(out[nout].camera), "%s", safe_camera);
    snprintf(out[nout].label, sizeof(out[nout].label), "%s", safe_label);
    nout++;
    out[nout] = (struct bus_count){.count = count_of(c, safe_camera, NULL)};
    snprintf(out[nout].camera, sizeof(out[nout].camera), "%s", safe_camera);
    snprintf(out[nout].label, sizeof(out[nout].label), "all");
    nout++;
done:
    json_decref(doc);
    return nout;
}

int bus_counts_open(const bus_counts *c, const char *camera)
{
    return count_of(c, camera, NULL);
}

int bus_counts_of(const bus_counts *c, const char *camera, const char *label)
{
    char safe[BUS_COUNT_NAME_MAX];
    bus_counts_topic_safe(safe, sizeof(safe), label);
    return count_of(c, camera, safe);
}
