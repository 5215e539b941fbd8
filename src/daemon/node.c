/*
 * DESIGN: this process as a node of the index (docs/design/0064-node-
 * identity.md). A node's id is node.id, else the one in <data>/node,
 * written on first start; that file also holds the data directory's home
 * token. At start the node claims its id in the nodes table
 * (storage/nodes.c): a live node elsewhere holding it stops this start
 * with a sentence naming that node; a holder on this data directory (the
 * process before a kill -9: this one holds the directory's lock) is taken
 * over at once. The main loop renews the heartbeat every node.ttl / 3; a
 * clean stop marks the row stopped. Thread: main.
 */
#define LOG_MODULE "node"

#include "app_int.h"

#include "cfg.h"
#include "clock.h"
#include "err.h"
#include "fs.h"
#include "log.h"
#include "mem.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define NODE_FILE "node"
#define NODE_LINE_MAX 256

const cfg_field app_node_fields[] = {
    {.name = "id",
     .type = CFG_STRING,
     .offset = offsetof(struct app_node_config, id),
     .def = "",
     .validate_cb = app_node_id_check,
     .help = "This node's id among the nodes sharing the database (1-64 of A-Z a-z 0-9 . _ -); "
             "empty = the id in <storage.path>/node, made on first start"},
    {.name = "url",
     .type = CFG_STRING,
     .offset = offsetof(struct app_node_config, url),
     .def = "",
     .help = "Where other nodes and clients reach this node's API (shown in /api/v1/nodes; the "
             "other nodes redirect media requests for this node's cameras and files here); "
             "empty = not said, no redirects"},
    {.name = "ttl",
     .type = CFG_DURATION,
     .offset = offsetof(struct app_node_config, ttl_ms),
     .def = "15s",
     .min = 3000,
     .max = 600000,
     .help = "A node whose heartbeat (every ttl / 3) is older than this is gone: another "
             "process may take its id"},
    {.name = "capacity",
     .type = CFG_INT,
     .offset = offsetof(struct app_node_config, capacity),
     .def = "0",
     .min = 0,
     .max = 100000,
     .help = "The most enabled cameras this node records; a camera no node has room for waits "
             "unrecorded (logged). 0 = no limit"},
    {.name = "labels",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct app_node_config, labels),
     .count_offset = offsetof(struct app_node_config, nlabels),
     .max = 32,
     .validate_cb = app_label_check,
     .pattern_help = "1..64 characters of [a-z0-9_-]",
     .help = "This node's labels (e.g. gpu, site-a): a camera whose placement.labels names "
             "some runs only on nodes that have them all"},
    {.name = "rebalance",
     .type = CFG_BOOL,
     .offset = offsetof(struct app_node_config, rebalance),
     .def = "true",
     .help = "Give a camera to another node that may run it when that node records two or "
             "more fewer (a node that joins, or comes back): one camera per pass, each move a "
             "gap of about a GOP. false = cameras stay until their node dies, drains or a pin "
             "moves them"},
    {0},
};

int app_label_check(const void *value, char *err, size_t size)
{
    const char *s = *(const char *const *)value;
    if (s && cfg_is_id(s, strlen(s), CFG_ID_MAX))
        return 0;
    snprintf(err, size, "'%.70s' is not a label (1..64 characters of [a-z0-9_-])", s ? s : "");
    return -EINVAL;
}

char *app_labels_join(char *const *labels, size_t n)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(labels[i]) + 1;
    char *out = horus_malloc(total), *p = out;
    *p = '\0';
    for (size_t i = 0; i < n; i++) {
        bool is_repeat = false;
        for (size_t k = 0; k < i && !is_repeat; k++)
            is_repeat = strcmp(labels[k], labels[i]) == 0;
        if (!is_repeat)
            p += sprintf(p, "%s%s", p == out ? "" : ",", labels[i]);
    }
    return out;
}

int app_node_id_check(const void *value, char *err, size_t size)
{
    const char *s = *(const char *const *)value;
    if (!s || !s[0])
        return 0;
    size_t n = strlen(s);
    if (n > 64) {
        snprintf(err, size, "at most 64 characters (got %zu)", n);
        return -EINVAL;
    }
    size_t bad = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
    if (bad < n) {
        snprintf(err, size, "'%c' at offset %zu: only A-Z a-z 0-9 . _ - are allowed", s[bad], bad);
        return -EINVAL;
    }
    return 0;
}

static char *random_hex(void)
{
    unsigned char raw[16];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        HORUS_BUG("getrandom failed");
    char *s = horus_malloc(2 * sizeof(raw) + 1);
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(s + 2 * i, 3, "%02x", raw[i]);
    return s;
}

/*
 * Reads <data>/node: "id=" and "home=" lines, '#' comments. A missing file
 * leaves both NULL. A line that is neither is an error naming file:line.
 */
static int node_file_read(const char *path, char **id, char **home, char *why, size_t size)
{
    *id = *home = NULL;
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        int rc = -errno;
        snprintf(why, size, "read '%s': %s", path, strerror(errno));
        return rc;
    }
    char line[NODE_LINE_MAX];
    int rc = 0;
    for (unsigned no = 1; rc == 0 && fgets(line, sizeof(line), f); no++) {
        line[strcspn(line, "\r\n")] = '\0';
        char **into = strncmp(line, "id=", 3) == 0     ? id
                      : strncmp(line, "home=", 5) == 0 ? home
                                                       : NULL;
        const char *v = into == id ? line + 3 : line + 5;
        if (!line[0] || line[0] == '#')
            continue;
        char err[96] = "";
        if (!into || !v[0] || app_node_id_check(&v, err, sizeof(err)) < 0) {
            snprintf(why, size, "%s:%u: expected id=NODE_ID or home=TOKEN%s%s", path, no,
                     err[0] ? ": " : "", err);
            rc = HORUS_ECONFIG;
            break;
        }
        free(*into);
        *into = horus_strdup(v);
    }
    fclose(f);
    if (rc < 0) {
        free(*id);
        free(*home);
        *id = *home = NULL;
    }
    return rc;
}

/* Writes <data>/node through a temporary file and a rename, synced. */
static int node_file_write(const char *dir, const char *path, const char *id, const char *home,
                           char *why, size_t size)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    char text[NODE_LINE_MAX * 2];
    int n = snprintf(text, sizeof(text),
                     "# This Horus node's identity among the nodes that share its database;\n"
                     "# it belongs to this data directory (docs/design/0064-node-identity.md).\n"
                     "%s%s%shome=%s\n",
                     id ? "id=" : "", id ? id : "", id ? "\n" : "", home);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -errno : fs_pwrite_all(fd, text, (size_t)n, 0);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fs_fsync_dir(dir);
    if (rc < 0)
        snprintf(why, size, "write '%s': %s", path, horus_strerror(rc));
    return rc;
}

/* A database from before 0021 kept the node's id in settings: a node that nobody claimed yet. */
static char *legacy_id(sto_db *db)
{
    char *id = NULL;
    if (sto_setting_get(db, "node_id", &id) < 0)
        return NULL;
    struct sto_node *v;
    size_t n;
    bool is_claimed = true;
    if (sto_nodes_list(db, &v, &n) == 0) {
        is_claimed = false;
        for (size_t i = 0; i < n; i++)
            is_claimed |= strcmp(v[i].id, id) == 0;
        sto_nodes_free(v, n);
    }
    if (is_claimed) {
        free(id);
        return NULL;
    }
    return id;
}

static void ago(int64_t then_ms, int64_t now_ms, char *buf, size_t size)
{
    int64_t d = now_ms - then_ms;
    snprintf(buf, size, "%lld.%03lld s ago", (long long)(d / 1000), (long long)(d % 1000));
}

char *app_node_id_of(const struct app_node_config *c, const char *data_dir)
{
    if (c->id && c->id[0])
        return horus_strdup(c->id);
    char path[PATH_MAX], why[PATH_MAX + 96];
    snprintf(path, sizeof(path), "%s/%s", data_dir, NODE_FILE);
    char *id = NULL, *home = NULL;
    if (node_file_read(path, &id, &home, why, sizeof(why)) < 0)
        return NULL;
    free(home);
    return id;
}

int app_node_start(struct app *a)
{
    const struct app_node_config *c = &app_current(a)->node;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", a->data_dir, NODE_FILE);
    char *file_id = NULL, *home = NULL;
    int rc = node_file_read(path, &file_id, &home, a->why, sizeof(a->why));
    if (rc < 0)
        return rc;
    bool is_configured = c->id && c->id[0];
    bool must_write = !home || (!is_configured && !file_id);
    char *id = is_configured ? horus_strdup(c->id) : file_id;
    if (!id && (id = legacy_id(a->db)))
        log_info_kv(LOG_KV({"node_id", id}),
                    "node id taken from the database, where versions before 0021 kept it");
    if (!id) {
        id = random_hex();
        log_info_kv(LOG_KV({"node_id", id}), "first start on this data directory: node id created");
    }
    if (!home)
        home = random_hex();
    if (must_write)
        rc = node_file_write(a->data_dir, path, is_configured ? file_id : id, home, a->why,
                             sizeof(a->why));
    if (is_configured)
        free(file_id);
    a->node_id = id;
    a->node_home = home;
    a->node_instance = random_hex();
    a->node_ttl_ms = c->ttl_ms;
    if (rc < 0)
        return rc;

    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "?");
    char *labels = app_labels_join(c->labels, c->nlabels);
    struct sto_node me = {.id = id,
                          .instance = a->node_instance,
                          .home = home,
                          .hostname = host,
                          .url = c->url ? c->url : "",
                          .version = (char *)horus_version(),
                          .capacity = c->capacity,
                          .labels = labels,
                          .is_rebalancing = c->rebalance};
    struct sto_node holder;
    const horus_clock *clk = clock_system();
    int64_t now = clock_realtime_ms(clk);
    rc = sto_node_claim(a->db, &me, now - c->ttl_ms, &holder);
    free(labels);
    if (rc == -EBUSY) {
        char beat[48];
        ago(holder.heartbeat_ms, clock_realtime_ms(clk), beat, sizeof(beat));
        snprintf(a->why, sizeof(a->why),
                 "node id '%s' is held by a running node on host '%s'%s%s (its heartbeat %s, "
                 "node.ttl %lld s): two nodes may not share an id; give each its own node.id "
                 "or data directory, or start again once that node is gone",
                 id, holder.hostname, holder.url[0] ? " at " : "", holder.url, beat,
                 (long long)(c->ttl_ms / 1000));
        sto_node_release(&holder);
        return rc;
    }
    if (rc < 0) {
        snprintf(a->why, sizeof(a->why), "register node '%s' in the database: %s", id,
                 horus_strerror(rc));
        return rc;
    }
    a->is_node_claimed = true;
    sto_set_node(a->db, id); /* its recording rows carry it; retention sees only those */
    a->node_next_beat_ms = now + c->ttl_ms / 3;
    log_info_kv(LOG_KV({"node_id", id}, {"host", host}), "node registered");
    return 0;
}

void app_node_tick(struct app *a)
{
    if (!a->is_node_claimed)
        return;
    int64_t now = clock_realtime_ms(clock_system());
    if (now < a->node_next_beat_ms)
        return;
    a->node_next_beat_ms = now + a->node_ttl_ms / 3;
    struct sto_node holder;
    int rc = sto_node_heartbeat(a->db, a->node_id, a->node_instance, &holder);
    if (rc == -EBUSY) {
        if (!a->is_node_lost)
            log_error_kv(
                LOG_KV({"node_id", a->node_id}, {"host", holder.hostname ? holder.hostname : ""}),
                "another process took this node's id over (its heartbeat missed node.ttl, "
                "or the row was changed by hand): this node no longer renews it");
        a->is_node_lost = true;
        sto_node_release(&holder);
    } else if (rc < 0) {
        log_warn_limited("node heartbeat", LOG_KV({"node_id", a->node_id}),
                         "renew node heartbeat: %s", horus_strerror(rc));
    }
}

void app_node_stop(struct app *a)
{
    if (a->is_node_claimed && !a->is_node_lost) {
        int rc = sto_node_stop(a->db, a->node_id, a->node_instance);
        if (rc < 0)
            log_warn("mark node '%s' stopped: %s", a->node_id, horus_strerror(rc));
    }
    a->is_node_claimed = a->is_node_lost = false;
    free(a->node_id);
    free(a->node_home);
    free(a->node_instance);
    a->node_id = a->node_home = a->node_instance = NULL;
}
