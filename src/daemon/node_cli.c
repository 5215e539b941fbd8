/*
 * `horus node drain ID` and `horus node undrain ID` (docs/design/0067):
 * ask a node that shares this install's database to give its cameras to
 * the other nodes, or to take cameras again. Only the node's row changes
 * here; the node acts on it at its next lease renewal (every node.ttl / 3),
 * so the command works from any machine that reaches the database, with
 * the node running or not.
 *
 * Exit status: 0 done, 1 no such node or a database error, 2 usage.
 */
#include "app.h"

#include "clock.h"
#include "err.h"
#include "storage.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Other nodes whose heartbeat is younger than ttl_ms: who can take the cameras. */
static size_t live_peers(sto_db *db, const char *id, int64_t ttl_ms)
{
    struct sto_node *v;
    size_t n, peers = 0;
    if (sto_nodes_list(db, &v, &n) < 0)
        return 0;
    int64_t now = clock_realtime_ms(clock_system());
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].id, id) != 0 && !v[i].stopped_ms && now - v[i].heartbeat_ms <= ttl_ms)
            peers++;
    sto_nodes_free(v, n);
    return peers;
}

static int usage(void)
{
    fprintf(stderr, "usage: horus node drain|undrain NODE_ID [-c FILE] [--data DIR]\n");
    return 2;
}

int app_cmd_node(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    bool is_drain = strcmp(sub, "drain") == 0;
    if (!is_drain && strcmp(sub, "undrain") != 0)
        return usage();
    struct app_overrides ov = {0};
    const char *id = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
            ov.config_path = argv[++i];
        else if (strcmp(a, "--data") == 0 && i + 1 < argc)
            ov.data_dir = argv[++i];
        else if (a[0] != '-' && !id)
            id = a;
        else
            return usage();
    }
    if (!id)
        return usage();
    char cmd[24];
    snprintf(cmd, sizeof(cmd), "node %s", sub);
    cfg_snapshot *snap = NULL;
    sto_db *db = NULL;
    int code = app_cli_open_db(cmd, &ov, &snap, &db);
    if (code != 0) {
        cfg_snapshot_unref(snap);
        return code;
    }
    int64_t ttl_ms = ((const struct horus_config *)cfg_snapshot_data(snap))->node.ttl_ms;
    int rc = sto_node_drain(db, id, is_drain ? clock_realtime_ms(clock_system()) : 0);
    if (rc == -ENOENT) {
        fprintf(stderr,
                "horus %s: no node '%s' shares this database (GET /api/v1/nodes lists them)\n", cmd,
                id);
        code = 1;
    } else if (rc < 0) {
        fprintf(stderr, "horus %s: %s\n", cmd, horus_strerror(rc));
        code = 1;
    } else if (!is_drain) {
        printf("node '%s' takes cameras again from its next lease renewal\n", id);
    } else if (live_peers(db, id, ttl_ms) == 0) {
        printf("node '%s' is draining, but no other node is running: it keeps its cameras "
               "until another node starts\n",
               id);
    } else {
        printf("node '%s' is draining: its cameras move to the other nodes within about %lld s "
               "(GET /api/v1/nodes shows where each records); `horus node undrain %s` ends it\n",
               id, (long long)(ttl_ms / 3000 + 2), id);
    }
    sto_close(db);
    cfg_snapshot_unref(snap);
    return code;
}
