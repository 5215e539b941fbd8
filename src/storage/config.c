/*
 * DESIGN: schema tables for the `storage:` and `database:` sections
 * (docs/conventions.md §7: each module owns its tables).
 */
#include "storage.h"

#include <stddef.h>

const cfg_field sto_storage_fields[] = {
    {.name = "path",
     .type = CFG_STRING,
     .offset = offsetof(struct sto_storage_config, path),
     .def = "./horus-data",
     .help = "Directory for recordings, snapshots, exports and the SQLite file"},
    {.name = "min_free_percent",
     .type = CFG_DOUBLE,
     .offset = offsetof(struct sto_storage_config, min_free_percent),
     .def = "5",
     .min = 0,
     .max = 90,
     .is_reloadable = true,
     .help = "Global watermark: delete the oldest recordings when free space is below this"},
    {.name = "deleted_camera_grace",
     .type = CFG_DURATION,
     .offset = offsetof(struct sto_storage_config, deleted_camera_grace_ms),
     .def = "7d",
     .min = 0,
     .max = 31536000000,
     .is_reloadable = true,
     .help = "Keep the recordings of a deleted camera this long (listed as orphaned, adoptable "
             "by a new camera with the same id), then delete them"},
    {0},
};

const cfg_field sto_database_fields[] = {
    {.name = "url",
     .type = CFG_STRING,
     .offset = offsetof(struct sto_database_config, url),
     .def = "",
     .is_secret = false,
     .help = "sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB (UTF-8, LC_COLLATE 'C'); empty = "
             "sqlite:<storage.path>/horus.db"},
    {.name = "busy_timeout",
     .type = CFG_DURATION,
     .offset = offsetof(struct sto_database_config, busy_timeout_ms),
     .def = "5s",
     .min = 0,
     .max = 600000,
     .help = "How long a statement waits for a lock before failing"},
    {.name = "answer_timeout",
     .type = CFG_DURATION,
     .offset = offsetof(struct sto_database_config, answer_timeout_ms),
     .def = "30s",
     .min = 0,
     .max = 3600000,
     .help = "PostgreSQL: a server that has not answered a statement within this is taken as "
             "lost (frozen, or cut off with its sockets open): the statement fails and the "
             "connection is opened again. 0 = wait for ever. Schema migrations are not bounded"},
    {.name = "batch_max",
     .type = CFG_INT,
     .offset = offsetof(struct sto_database_config, batch_max),
     .def = "512",
     .min = 1,
     .max = 100000,
     .help = "Most writes committed in one transaction by the writer thread"},
    {.name = "queue_max",
     .type = CFG_INT,
     .offset = offsetof(struct sto_database_config, queue_max),
     .def = "65536",
     .min = 16,
     .max = 10000000,
     .help = "Pending writes before new ones are refused and counted"},
    {.name = "readers",
     .type = CFG_INT,
     .offset = offsetof(struct sto_database_config, readers),
     .def = "4",
     .min = 1,
     .max = 64,
     .help = "Reader connections for API queries"},
    {.name = "read_url",
     .type = CFG_STRING,
     .offset = offsetof(struct sto_database_config, read_url),
     .def = "",
     .is_secret = false,
     .help = "postgres://... of a hot standby of database.url that serves browsing reads "
             "(playlists, timeline, searches); empty = the primary serves every read"},
    {.name = "read_max_lag",
     .type = CFG_DURATION,
     .offset = offsetof(struct sto_database_config, read_max_lag_ms),
     .def = "5s",
     .min = 0,
     .max = 3600000,
     .help = "A read replica further behind its primary than this is not read from"},
    {0},
};

const cfg_field sto_secrets_fields[] = {
    {.name = "key",
     .type = CFG_STRING,
     .offset = offsetof(struct sto_secrets_config, key),
     .def = "",
     .is_secret = true,
     .help = "AES-256 key sealing camera passwords and TOTP secrets at rest: 64 hex digits, given "
             "as ${ENV} or "
             "file:PATH; empty = <storage.path>/secret.key, created 0600 on first start"},
    {0},
};
