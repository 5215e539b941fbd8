/*
 * DESIGN: what the MQTT adapter announced to Home Assistant, so that what
 * goes away is cleared (docs/design/0045, "Home Assistant discovery"). Each
 * round, the adapter tells which cameras exist and which config messages
 * their entities want (mqtt_discovery.c builds them); commit publishes the
 * new and changed ones, clears with an empty retained payload the configs
 * no longer wanted (a deleted camera, a label taken out of its analytics,
 * discovery turned off) and the retained state topics (snapshots, motion,
 * switch states) of cameras that no longer exist. The sets are saved in the
 * database's settings (bus_ha_dump), so a camera deleted while Horus was
 * stopped is cleared at the next connect. Pure but for bus_ha_cameras (a
 * read of the cameras): the adapter publishes and saves. Thread: the bus
 * thread only.
 */
#include "mqtt_ha_int.h"

#include "mem.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 512 /* a loaded camera id or topic longer than this is refused */

struct item {
    char *camera;
    char *topic;
    char *payload; /* a config's last published payload; NULL: not known (loaded) */
};

struct list {
    struct item *v;
    size_t n, cap;
};

struct bus_ha {
    struct list configs; /* announced to Home Assistant (retained on the broker) */
    struct list retained; /* retained state topics published for a camera */
    struct list wanted; /* this round's configs */
    char **seen; /* this round's cameras */
    size_t nseen, capseen;
    bool is_dirty;
};

static void item_free(struct item *it)
{
    free(it->camera);
    free(it->topic);
    free(it->payload);
}

static void list_clear(struct list *l)
{
    for (size_t i = 0; i < l->n; i++)
        item_free(&l->v[i]);
    l->n = 0;
}

static void list_add(struct list *l, const char *camera, const char *topic, const char *payload)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = horus_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (struct item){.camera = horus_strdup(camera),
                                 .topic = horus_strdup(topic),
                                 .payload = horus_strdup(payload)};
}

static struct item *list_find(const struct list *l, const char *topic)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].topic, topic) == 0)
            return &l->v[i];
    return NULL;
}

bus_ha *bus_ha_new(void)
{
    return horus_calloc(1, sizeof(struct bus_ha));
}

static void seen_clear(bus_ha *h)
{
    for (size_t i = 0; i < h->nseen; i++)
        free(h->seen[i]);
    h->nseen = 0;
}

void bus_ha_free(bus_ha *h)
{
    if (!h)
        return;
    list_clear(&h->configs);
    list_clear(&h->retained);
    list_clear(&h->wanted);
    free(h->configs.v);
    free(h->retained.v);
    free(h->wanted.v);
    seen_clear(h);
    free(h->seen);
    free(h);
}

/* A [camera, topic] pair of the saved text: two strings, neither empty nor too long. */
static bool pair_of(const json_t *p, const char **camera, const char **topic)
{
    *camera = json_string_value(json_array_get(p, 0));
    *topic = json_string_value(json_array_get(p, 1));
    return json_is_array(p) && json_array_size(p) == 2 && *camera && *topic && (*camera)[0] &&
           (*topic)[0] && strlen(*camera) < NAME_MAX_LEN && strlen(*topic) < NAME_MAX_LEN &&
           !strchr(*topic, '+') && !strchr(*topic, '#');
}

int bus_ha_load(bus_ha *h, const char *text, size_t len)
{
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *configs = json_object_get(doc, "configs"), *retained = json_object_get(doc, "retained");
    json_t *v = json_object_get(doc, "v");
    bool is_ok = json_is_object(doc) && json_is_integer(v) && json_integer_value(v) == 1 &&
                 json_is_array(configs) && json_is_array(retained);
    const char *camera, *topic;
    size_t i;
    json_t *p;
    json_array_foreach(configs, i, p) is_ok = is_ok && pair_of(p, &camera, &topic);
    json_array_foreach(retained, i, p) is_ok = is_ok && pair_of(p, &camera, &topic);
    if (is_ok) {
        json_array_foreach(configs, i, p)
        {
            pair_of(p, &camera, &topic);
            if (!list_find(&h->configs, topic))
                list_add(&h->configs, camera, topic, NULL);
        }
        json_array_foreach(retained, i, p)
        {
            pair_of(p, &camera, &topic);
            if (!list_find(&h->retained, topic))
                list_add(&h->retained, camera, topic, NULL);
        }
    }
    json_decref(doc);
    return is_ok ? 0 : -EINVAL;
}

static json_t *pairs(const struct list *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_pack("[s, s]", l->v[i].camera, l->v[i].topic));
    return a;
}

char *bus_ha_dump(const bus_ha *h)
{
    json_t *doc = json_pack("{s:i, s:o, s:o}", "v", 1, "configs", pairs(&h->configs), "retained",
                            pairs(&h->retained));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

void bus_ha_begin(bus_ha *h)
{
    list_clear(&h->wanted);
    seen_clear(h);
}

static bool is_seen(const bus_ha *h, const char *camera)
{
    for (size_t i = 0; i < h->nseen; i++)
        if (strcmp(h->seen[i], camera) == 0)
            return true;
    return false;
}

void bus_ha_camera(bus_ha *h, const char *camera)
{
    if (is_seen(h, camera))
        return;
    if (h->nseen == h->capseen) {
        h->capseen = h->capseen ? 2 * h->capseen : 16;
        h->seen = horus_realloc(h->seen, h->capseen * sizeof(*h->seen));
    }
    h->seen[h->nseen++] = horus_strdup(camera);
}

int bus_ha_want(bus_ha *h, const char *camera, const char *topic, const char *payload)
{
    struct item *it = list_find(&h->wanted, topic);
    if (it)
        return strcmp(it->camera, camera) == 0 ? 0 : -EEXIST;
    list_add(&h->wanted, camera, topic, payload);
    return 0;
}

size_t bus_ha_commit(bus_ha *h, bool is_all, bus_ha_publish_fn publish, void *arg)
{
    size_t sent = 0;
    for (size_t i = 0; i < h->configs.n; i++) {
        if (list_find(&h->wanted, h->configs.v[i].topic))
            continue;
        publish(h->configs.v[i].topic, "", arg);
        sent++;
        h->is_dirty = true;
    }
    for (size_t i = 0; i < h->wanted.n; i++) {
        const struct item *w = &h->wanted.v[i];
        const struct item *was = list_find(&h->configs, w->topic);
        if (!was || !was->payload || strcmp(was->payload, w->payload) != 0 || is_all) {
            publish(w->topic, w->payload, arg);
            sent++;
        }
        h->is_dirty = h->is_dirty || !was || strcmp(was->camera, w->camera) != 0;
    }
    /* The wanted configs are now the announced ones. */
    struct list old = h->configs;
    h->configs = h->wanted;
    h->wanted = old;
    list_clear(&h->wanted);
    size_t kept = 0;
    for (size_t i = 0; i < h->retained.n; i++) {
        struct item *r = &h->retained.v[i];
        if (is_seen(h, r->camera)) {
            h->retained.v[kept++] = *r;
            continue;
        }
        publish(r->topic, "", arg);
        sent++;
        item_free(r);
        h->is_dirty = true;
    }
    h->retained.n = kept;
    return sent;
}

bool bus_ha_note_retained(bus_ha *h, const char *camera, const char *topic)
{
    if (list_find(&h->retained, topic))
        return false;
    list_add(&h->retained, camera, topic, NULL);
    h->is_dirty = true;
    return true;
}

bool bus_ha_take_dirty(bus_ha *h)
{
    bool was = h->is_dirty;
    h->is_dirty = false;
    return was;
}

int bus_ha_cameras(sto_db *db, struct sto_camera **out, size_t *n, uint64_t *print)
{
    char after[128] = "";
    bool has_more = true;
    *out = NULL;
    *n = 0;
    while (has_more) {
        struct sto_camera *page = NULL;
        size_t k = 0;
        int rc = sto_camera_list(db, after[0] ? after : NULL, 100, &page, &k, &has_more);
        if (rc < 0) {
            sto_camera_list_free(*out, *n);
            *out = NULL;
            *n = 0;
            return rc;
        }
        *out = horus_realloc(*out, (*n + k + 1) * sizeof(**out));
        if (k > 0)
            memcpy(*out + *n, page, k * sizeof(*page));
        *n += k;
        free(page); /* the rows' strings moved into *out */
        if (k > 0)
            snprintf(after, sizeof(after), "%s", (*out)[*n - 1].id);
        else
            has_more = false;
    }
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < *n; i++) {
        for (const char *c = (*out)[i].id; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
        h = (h ^ (uint64_t)(*out)[i].updated_at_ms) * 1099511628211ull;
    }
    if (print)
        *print = h;
    return 0;
}
