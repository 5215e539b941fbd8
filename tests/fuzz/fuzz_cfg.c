/*
 * libFuzzer driver for the configuration engine: arbitrary bytes through
 * cfg_load_string() against a small schema with every field type, a nested
 * section, a list of sections and a string list. Successful loads are also
 * rendered to JSON, diffed against themselves and passed through a holder,
 * and the input is run through cfg_mask_url(). Everything is released, so
 * LeakSanitizer catches a lost allocation on any path.
 */
#include "cfg.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct f_limits {
    int64_t count;
    double ratio;
};

struct f_item {
    char *id;
    char *url;
    bool is_on;
    int mode;
    uint64_t size;
    int64_t every_ms;
    struct f_limits limits;
};

struct f_conf {
    struct {
        char *listen;
        char *password;
        int64_t port;
    } server;
    struct f_item *items;
    size_t n_items;
    char **tags;
    size_t n_tags;
    double scale;
};

static const char *const modes[] = {"off", "motion", "always", NULL};

static const cfg_field limit_fields[] = {
    {.name = "count",
     .type = CFG_INT,
     .offset = offsetof(struct f_limits, count),
     .def = "3",
     .min = 0,
     .max = 100},
    {.name = "ratio", .type = CFG_DOUBLE, .offset = offsetof(struct f_limits, ratio)},
    {0},
};

static const cfg_field item_fields[] = {
    {.name = "id", .type = CFG_STRING, .offset = offsetof(struct f_item, id), .is_required = true},
    {.name = "url", .type = CFG_STRING, .offset = offsetof(struct f_item, url)},
    {.name = "on",
     .type = CFG_BOOL,
     .offset = offsetof(struct f_item, is_on),
     .def = "true",
     .is_reloadable = true},
    {.name = "mode",
     .type = CFG_ENUM,
     .offset = offsetof(struct f_item, mode),
     .enum_names = modes,
     .def = "motion"},
    {.name = "size",
     .type = CFG_BYTES,
     .offset = offsetof(struct f_item, size),
     .def = "1GiB",
     .min = 1024,
     .max = 1e15},
    {.name = "every",
     .type = CFG_DURATION,
     .offset = offsetof(struct f_item, every_ms),
     .def = "10s"},
    {.name = "limits",
     .type = CFG_SECTION,
     .offset = offsetof(struct f_item, limits),
     .sub = limit_fields},
    {0},
};

#define SERVER_OFF(f) (offsetof(struct f_conf, server.f) - offsetof(struct f_conf, server))

static const cfg_field server_fields[] = {
    {.name = "listen", .type = CFG_STRING, .offset = SERVER_OFF(listen), .def = "127.0.0.1:8080"},
    {.name = "password", .type = CFG_STRING, .offset = SERVER_OFF(password), .is_secret = true},
    {.name = "port",
     .type = CFG_INT,
     .offset = SERVER_OFF(port),
     .def = "8080",
     .min = 1,
     .max = 65535},
    {0},
};

static const cfg_field conf_fields[] = {
    {.name = "server",
     .type = CFG_SECTION,
     .offset = offsetof(struct f_conf, server),
     .sub = server_fields},
    {.name = "items",
     .type = CFG_LIST,
     .offset = offsetof(struct f_conf, items),
     .sub = item_fields,
     .elem_size = sizeof(struct f_item),
     .count_offset = offsetof(struct f_conf, n_items),
     .is_reloadable = true},
    {.name = "tags",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct f_conf, tags),
     .count_offset = offsetof(struct f_conf, n_tags)},
    {.name = "scale", .type = CFG_DOUBLE, .offset = offsetof(struct f_conf, scale), .def = "1.0"},
    {0},
};

static int conf_validate(void *data, cfg_errors *errs)
{
    struct f_conf *c = data;
    for (size_t i = 1; i < c->n_items; i++)
        if (strcmp(c->items[i].id, c->items[0].id) == 0)
            cfg_errors_add_field(errs, &c->items[i].id, "duplicate id");
    return 0;
}

static const cfg_schema schema = {
    .fields = conf_fields,
    .size = sizeof(struct f_conf),
    .validate_cb = conf_validate,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("HORUS_FUZZ_PASS", "fuzz-secret", 1);
    setenv("HORUS_FUZZ_PORT", "8554", 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cfg_errors errs;
    cfg_errors_init(&errs, NULL);
    cfg_snapshot *snap = NULL;
    if (cfg_load_string(&schema, "fuzz.yaml", (const char *)data, size, &snap, &errs) == 0) {
        json_t *j = cfg_snapshot_to_json(snap);
        char *text = json_dumps(j, JSON_COMPACT);
        free(text);
        json_decref(j);
        unsigned n;
        cfg_snapshot_secrets(snap, &n);
        cfg_errors diff;
        cfg_errors_init(&diff, NULL);
        if (cfg_diff_restart_needed(snap, snap, &diff) != 0)
            abort();
        cfg_errors_release(&diff);
        cfg_holder *h = cfg_holder_new(cfg_snapshot_ref(snap));
        cfg_snapshot *cur = cfg_holder_get(h);
        cfg_holder_swap(h, cur);
        cfg_holder_free(h);
        cfg_snapshot_unref(snap);
    } else if (errs.count == 0) {
        abort(); /* a failed load always says why */
    }
    cfg_errors_release(&errs);

    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = '\0';
    char small[16], big[256];
    cfg_mask_url(url, small, sizeof(small));
    cfg_mask_url(url, big, sizeof(big));
    free(url);
    return 0;
}
