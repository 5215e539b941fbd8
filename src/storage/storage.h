/*
 * Storage: the index database behind one interface (SQLite today,
 * PostgreSQL for scale-out), with numbered migrations applied at start,
 * one writer thread that batches writes into transactions, and readers on
 * their own connections.
 *
 * Lifecycle (every module's rule, with open/close for the handle):
 * sto_open opens connections and starts no thread; sto_start starts the
 * "sto-w" writer; sto_stop drains and joins it; sto_close closes (NULL is
 * a no-op; after stop, or on a never-started handle).
 *
 * Other modules see typed repositories only: one section per entity
 * (settings, cameras, recordings, exports, audit) with an owned row struct that
 * reads fill (free it with its _release/_list_free) and a separate input
 * struct of borrowed const fields that inserts and updates take. No SQL
 * crosses this header; the backend contract and the SQL dialect rules are
 * in storage_backend.h (private) and docs/design/0009-storage-backend.md.
 */
#ifndef HORUS_STORAGE_H
#define HORUS_STORAGE_H

#include "cfg.h"
#include "clock.h"
#include "metrics.h"
#include "secret_box.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* `storage:` section of horus.yaml. */
struct sto_storage_config {
    char *path; /* recordings, snapshots, exports, SQLite file */
    double min_free_percent; /* global watermark; used by retention */
    int64_t deleted_camera_grace_ms; /* orphaned recordings are deleted after this */
};

/* `database:` section of horus.yaml. */
struct sto_database_config {
    char *url; /* "sqlite:PATH" or "postgres://..."; empty = sqlite:<storage.path>/horus.db */
    int64_t busy_timeout_ms;
    int64_t answer_timeout_ms; /* a server silent this long is taken as lost (0: never) */
    int64_t batch_max; /* writes per transaction */
    int64_t queue_max; /* pending writes before callers are refused */
    int64_t readers; /* reader connections (and the most the read replica gets) */
    char *read_url; /* "" or postgres://...: a hot standby for browsing reads (design 0072) */
    int64_t read_max_lag_ms; /* a replica further behind is not read from */
};

/* `secrets:` section of horus.yaml (docs/design/0019). */
struct sto_secrets_config {
    char *key; /* 64 hex digits (use ${ENV} or file:); "" = <storage.path>/secret.key */
};

extern const cfg_field sto_secrets_fields[];
extern const cfg_field sto_storage_fields[];
extern const cfg_field sto_database_fields[];

typedef struct sto_db sto_db;

/* Called on the writer thread once the write's transaction has committed (rc 0) or failed. */
typedef void (*sto_done_cb)(int rc, void *arg);

struct sto_open_options {
    const struct sto_database_config *db; /* borrowed during the call */
    const char *data_dir; /* for the default SQLite path */
    metrics_registry *metrics; /* borrowed; may be NULL */
    const horus_clock *clock; /* borrowed; NULL = system clock */
};

/*
 * Opens the database named by the config and applies pending migrations;
 * starts no thread (reads work at once, writes queue until sto_start).
 * Returns 0, HORUS_ECONFIG for an unknown or unsupported URL scheme,
 * HORUS_EDB when the schema is newer than this binary or a migration
 * fails, or -errno; *errmsg (new, may be NULL) then says why in a
 * sentence. Thread: main.
 */
int sto_open(const struct sto_open_options *opt, sto_db **out, char **errmsg);

/*
 * Starts the writer thread "sto-w". Writes that wait for their commit
 * (every insert, update and delete but sto_recording_insert_async) need
 * it. Returns 0 or -errno. Thread: main.
 */
int sto_start(sto_db *db);

/*
 * Refuses new writes, runs the queued ones to completion and joins the
 * writer. Reads keep working until sto_close. A second call is a no-op.
 * Thread: main.
 */
void sto_stop(sto_db *db);

/*
 * Closes every connection and frees db, stopping the writer first if the
 * caller did not. NULL is a no-op. Thread: main.
 */
void sto_close(sto_db *db);

/* "sqlite" or "postgres". */
const char *sto_backend_name(const sto_db *db);
/* Schema version after migrations. */
int sto_schema_version(const sto_db *db);

/*
 * Checks that a reader can query and that the writer thread is alive and
 * not stuck (it has looped within the last 5 s). Returns 0 or
 * HORUS_EUNAVAIL with a reason in buf.
 */
int sto_ping(sto_db *db, char *buf, size_t size);

/*
 * Whether the index can be written, as the writer thread last saw it (no
 * I/O; cheap enough for every /health). Not ok when the database's WAL
 * file vanished or was replaced under the running daemon (reason
 * "wal_lost": committed rows are then kept safe by checkpointing after
 * every commit until a restart makes a new WAL; this wins), while the last
 * write transaction failed or index rows wait for their retry (until one
 * succeeds: an idle writer retries an empty transaction every second), or
 * while one has waited for the write lock for more than 5 s.
 */
struct sto_db_health {
    bool is_ok;
    char reason[24]; /* "ok", "wal_lost", "busy" (locked by another process), "write_failed" */
    char detail[320]; /* a sentence with the error; "" when ok */
};

/* Fills *out. Never waits for the writer or the database. Thread: any. */
void sto_db_health(sto_db *db, struct sto_db_health *out);

/* Where browsing reads go (database.read_url; docs/design/0072). */
struct sto_replica_health {
    bool is_configured; /* database.read_url is set; nothing else is filled when not */
    bool is_serving; /* browsing reads go to the replica now */
    char state[16]; /* "starting", "serving", "behind", "unreachable" */
    int64_t lag_ms; /* at the last check; -1: unknown */
    char detail[160]; /* why reads are not served there; "" when serving */
};

/* Fills *out. Never does I/O. Thread: any. */
void sto_db_replica_health(sto_db *db, struct sto_replica_health *out);

/* ---- copying a whole index (storage/copy.c; `horus migrate`, docs/design/0062) ---- */

/* Called after each table is copied, with its row count. */
typedef void (*sto_copy_progress_fn)(const char *table, uint64_t rows, void *arg);

/*
 * Copies every row of every table of from into to, which must be an empty
 * PostgreSQL database with the same schema version (both opened by
 * sto_open; to not started: the copy runs on its writer connection, on
 * this thread). Parents before children (foreign keys), multi-row inserts,
 * one transaction: to ends with every row or none, and each table's count
 * is compared on both sides before the commit. Returns 0, HORUS_ECONFIG
 * (to is not PostgreSQL), -EEXIST (to is not empty) or another error, with
 * a new sentence in *errmsg. Thread: the one that opened to.
 */
int sto_copy(sto_db *from, sto_db *to, sto_copy_progress_fn progress, void *arg, char **errmsg);

/* ---- settings (storage/settings.c): small key/value facts about this node ---- */

/* Returns a new string in *value, or -ENOENT. Thread: any. */
int sto_setting_get(sto_db *db, const char *key, char **value);
/* Inserts or replaces key, waiting for the commit. Thread: any but the writer. */
int sto_setting_put(sto_db *db, const char *key, const char *value);

/* ---- nodes (storage/nodes.c; docs/design/0064-node-identity.md) ---- */

/* A node's row. Strings are owned; release with sto_node_release. */
struct sto_node {
    char *id, *instance, *home, *hostname, *url, *version;
    int64_t started_ms, heartbeat_ms, stopped_ms; /* stopped_ms 0 = running */
    int64_t draining_ms; /* when `horus node drain` asked for its cameras; 0 = not draining */
    /* Placement (docs/design/0069): the most enabled cameras it records (0 = no limit), and
     * its labels, comma-separated ("" = none); written by sto_node_claim from me. */
    int64_t capacity;
    char *labels;
    bool is_rebalancing; /* node.rebalance: it gives cameras to less loaded nodes */
};

void sto_node_release(struct sto_node *n);
void sto_nodes_free(struct sto_node *v, size_t n);

/*
 * Claims me->id for the process me->instance describes: inserts its row,
 * or takes the row over when its holder stopped cleanly, its heartbeat is
 * older than stale_before_ms, or it has the same home (the same data
 * directory, whose lock this process holds: the previous one is dead).
 * started_ms and heartbeat_ms are set to now. Returns 0 when this instance
 * holds the id, -EBUSY with the live holder in *holder (released by the
 * caller) when another one does, or a storage error. Thread: any but the
 * writer.
 */
int sto_node_claim(sto_db *db, const struct sto_node *me, int64_t stale_before_ms,
                   struct sto_node *holder);

/*
 * Renews the heartbeat of id while instance holds it. Returns 0, -EBUSY
 * with the holder in *holder when another instance took the id over, or a
 * storage error. Thread: any but the writer.
 */
int sto_node_heartbeat(sto_db *db, const char *id, const char *instance, struct sto_node *holder);

/* Marks id stopped (stopped_ms = now) while instance holds it. Thread: any but the writer. */
int sto_node_stop(sto_db *db, const char *id, const char *instance);

/* Node id's row into *out (release it), or -ENOENT. Thread: any. */
int sto_node_get(sto_db *db, const char *id, struct sto_node *out);
/* Every node, by id, into a new array. Thread: any. */
int sto_nodes_list(sto_db *db, struct sto_node **out, size_t *n);

/*
 * Marks node id draining since draining_ms (docs/design/0067), or not
 * (0): a draining node gives its cameras up and claims none while another
 * node is alive. Kept across the node's restarts. -ENOENT: no such node.
 * Thread: any but the writer.
 */
int sto_node_drain(sto_db *db, const char *id, int64_t draining_ms);

/* ---- camera leases (storage/leases.c; docs/design/0065-camera-leases.md) ---- */

struct sto_camera_lease {
    char *camera_id, *node_id;
    int64_t expires_ms, token;
    int64_t since_ms; /* when node_id took it (its clock); 0 = before migration 0023 */
};

void sto_camera_leases_free(struct sto_camera_lease *v, size_t n);
/* Every lease, by camera id, into a new array. Thread: any. */
int sto_camera_leases_list(sto_db *db, struct sto_camera_lease **out, size_t *n);
/*
 * Takes camera's lease for node until expires_ms when it is free, expired
 * at now_ms or already node's (then only renewed). Returns 0 when node
 * holds it afterwards, -EBUSY when another node does, or a storage error;
 * *token (may be NULL) gets the lease's token either way. Thread: any but
 * the writer.
 */
int sto_camera_lease_claim(sto_db *db, const char *camera, const char *node, int64_t now_ms,
                           int64_t expires_ms, int64_t *token);
/* Camera's lease row into *out (release with sto_camera_lease_release), or -ENOENT. */
int sto_camera_lease_get(sto_db *db, const char *camera, struct sto_camera_lease *out);
void sto_camera_lease_release(struct sto_camera_lease *l);
/* Moves every lease node holds to expires_ms. Thread: any but the writer. */
int sto_camera_leases_renew(sto_db *db, const char *node, int64_t expires_ms);
/* Gives up node's leases (all when camera is NULL). Thread: any but the writer. */
int sto_camera_leases_release(sto_db *db, const char *node, const char *camera);

/* ---- cameras (storage/cameras.c) ---- */

/* A camera row as read. Strings are owned by the struct; release with sto_camera_release. */
struct sto_camera {
    char *id;
    char *name;
    char *url; /* password sealed with a box (sto_camera_urls_open); mask before printing */
    char *sub_url; /* "" when absent */
    bool enabled;
    bool record_enabled;
    int64_t segment_seconds;
    int64_t retention_days;
    uint64_t max_bytes;
    bool provisioned; /* declared in horus.yaml: read-only through the API */
    int64_t created_at_ms;
    int64_t updated_at_ms;
    char *tenant; /* "" = none; set at creation, never changed (docs/design/0024) */
    char *transport; /* "auto", "tcp", "udp"; "" = ingest.transport (docs/design/0034) */
    char *client; /* "native", "libav"; "" = ingest.client */
    bool tls_skip_verify; /* column tls_verify = 0: rtsps:// certificate not checked (0033) */
    /* The analytics document as stored, JSON checked by det_analytics_parse; "" = the
     * defaults (0039) */
    char *analytics;
    /* Placement (docs/design/0069): the one node that may record it ("" = any), and the
     * labels a node must all have, comma-separated ("" = none). */
    char *placement_node;
    char *placement_labels;
};

void sto_camera_release(struct sto_camera *c);
void sto_camera_list_free(struct sto_camera *list, size_t n);

/*
 * What inserts, updates and provisioning write: every settable field.
 * Strings are borrowed for the call; NULL name and sub_url store "".
 * Whether the row is provisioned is not an input: provisioning sets it,
 * inserts and updates clear it.
 */
struct sto_camera_input {
    const char *id;
    const char *name;
    const char *url;
    const char *sub_url;
    bool enabled;
    bool record_enabled;
    int64_t segment_seconds;
    int64_t retention_days;
    uint64_t max_bytes;
    const char *tenant; /* inserts only (NULL = ""); updates keep the row's tenant */
    /* Inserts only: refused with -EDQUOT when the tenant has this many cameras (0 = no limit). */
    uint64_t tenant_max_cameras;
    const char *transport; /* NULL or "" = ingest.transport */
    const char *client; /* NULL or "" = ingest.client */
    /* rtsps://: accept any certificate (API tls_verify false). Zero = verify, the default. */
    bool tls_skip_verify;
    /* The analytics document, already validated. Inserts and provisioning: NULL = "".
     * Updates: NULL keeps the row's (0039). */
    const char *analytics;
    const char *placement_node; /* NULL or "" = any node (0069) */
    const char *placement_labels; /* comma-separated; NULL or "" = none */
};

/* The settable fields of row c as an input borrowing c's strings (valid while c is). */
struct sto_camera_input sto_camera_input_of(const struct sto_camera *c);

/* Fills *out (new strings) or returns -ENOENT. */
int sto_camera_get(sto_db *db, const char *id, struct sto_camera *out);

/*
 * Lists cameras ordered by id, after after_id (NULL = from the start), at
 * most limit. *out is a new array of *n cameras. *has_more says whether more
 * follow.
 */
int sto_camera_list(sto_db *db, const char *after_id, size_t limit, struct sto_camera **out,
                    size_t *n, bool *has_more);

/* Counts the cameras into *n. Thread: any. */
int sto_camera_count(sto_db *db, uint64_t *n);

/*
 * Copies camera id's tenant ("" = none) into out (cut to cap). Returns 0
 * or -ENOENT. One primary-key read: the gate's per-request check. Thread: any.
 */
int sto_camera_tenant(sto_db *db, const char *id, char *out, size_t cap);

/*
 * Inserts c (created/updated times set now). Returns 0, -EEXIST, or
 * -EDQUOT when c->tenant_max_cameras is set and the tenant has that many
 * cameras at commit time (the count and the insert are one statement on
 * the writer, so concurrent creates cannot overshoot). Thread: any but the
 * writer.
 */
int sto_camera_insert(sto_db *db, const struct sto_camera_input *c);
/*
 * Replaces every field of the row c->id but created_at (to change some
 * fields, start from sto_camera_input_of(current row)). Returns 0 or
 * -ENOENT. Thread: any but the writer.
 */
int sto_camera_update(sto_db *db, const struct sto_camera_input *c);
/*
 * Deletes the row and, in the same transaction, moves its recordings (and
 * their pins) to a new orphan group "<id>~<now ms>" listed by
 * sto_orphan_list, so a camera created later with the same id starts
 * empty. Returns 0 or -ENOENT. Thread: any but the writer.
 */
int sto_camera_delete(sto_db *db, const char *id);

/* ---- camera groups (storage/camera_groups.c, migration 0011) ---- */

/* One membership of a camera in a group, as read. Strings owned. */
struct sto_camera_group {
    char *camera_id;
    char *group;
};

void sto_camera_group_list_free(struct sto_camera_group *list, size_t n);

/*
 * The memberships of the cameras whose ids lie in [first_id, last_id]
 * (one page of sto_camera_list), ordered by camera id, then group. *out is
 * a new array of *n. Thread: any.
 */
int sto_camera_groups_range(sto_db *db, const char *first_id, const char *last_id,
                            struct sto_camera_group **out, size_t *n);

/* The groups one camera should have: strings borrowed for the call. */
struct sto_camera_groups_input {
    const char *id;
    const char *const *groups; /* names the caller checked; duplicates are kept once */
    size_t ngroups;
};

/*
 * Replaces the groups of every camera cams[i].id by cams[i].groups, all in
 * one transaction. A camera that does not exist gets none (no error).
 * Returns 0 or a storage error. Thread: any but the writer.
 */
int sto_camera_groups_set(sto_db *db, const struct sto_camera_groups_input *cams, size_t n);

#define STO_CAMERA_GROUPS_QUERY_MAX 256 /* groups in one sto_camera_ids_in_groups */

/*
 * The ids of the cameras in any of groups[0..n) (n <= STO_CAMERA_GROUPS_QUERY_MAX,
 * else -EINVAL), sorted and unique: one seek per group on the group index.
 * *ids is a new array of *nids new strings (free each, then the array).
 * Thread: any.
 */
int sto_camera_ids_in_groups(sto_db *db, const char *const *groups, size_t n, char ***ids,
                             size_t *nids);

/* ---- camera secrets at rest (camera_secrets.c, secret_box.h; docs/design/0019) ---- */

/*
 * Gives db the box that seals the password of camera URLs on every write
 * (borrowed: it must outlive db's use). Reads return URLs as stored
 * ("rtsp://admin:hsb1.…@host/", masked as usual); sto_camera_urls_open
 * decrypts. Without a box, URLs are written as given. Thread: main,
 * before the cameras are used.
 */
void sto_set_secret_box(sto_db *db, const sto_secret_box *box);
/* The box given to sto_set_secret_box, or NULL (auth seals TOTP secrets with it). */
const sto_secret_box *sto_db_secrets(const sto_db *db);

/*
 * The URLs of row c with their passwords opened, as new strings (copies
 * when not sealed). For the one place that needs them: starting a
 * camera's ingest. Returns 0, -ENOKEY (no box, or not its key) or
 * -EBADMSG (tampered, or moved to another camera or host). Thread: any.
 */
int sto_camera_urls_open(sto_db *db, const struct sto_camera *c, char **url, char **sub_url);

/* What the secrets at rest are (camera URL passwords, TOTP secrets; nothing opened). */
struct sto_secret_census {
    size_t plain; /* values in clear */
    size_t sealed; /* sealed values */
    char key_ids[8][STO_SECRET_KEY_ID_LEN + 1]; /* the distinct key ids seen (first 8) */
    size_t nkey_ids;
};
int sto_secrets_census(sto_db *db, struct sto_secret_census *out);

/*
 * Brings every secret at rest (camera URL passwords, TOTP secrets) under
 * the box's primary key, in one transaction: plain values are sealed (the
 * start-up migration), values sealed under another key of the box are
 * opened and sealed again (rotation). Idempotent. *changed gets the
 * number of values written. Returns 0, -ENOKEY (no box, or a value under a
 * key the box lacks), -EBADMSG (a value that does not open), or a write
 * error; why (a sentence naming the camera or user and key id) says which.
 * Thread: main, writer started.
 */
int sto_secrets_seal(sto_db *db, size_t *changed, char *why, size_t why_size);

/* ---- orphaned recordings of deleted cameras (storage/cameras.c) ---- */

/* One orphan group as read; strings owned (free the list with sto_orphan_list_free). */
struct sto_orphan {
    char *orphan_id; /* the camera_id its recordings carry now: "<id>~<deleted ms>" */
    char *camera_id; /* the deleted camera's id */
    int64_t deleted_at_ms;
    uint64_t count, bytes; /* of its recordings */
    int64_t start_us, end_us; /* first start and last end; 0 when empty */
    char *tenant; /* the deleted camera's; only a camera of this tenant adopts the group */
};

void sto_orphan_list_free(struct sto_orphan *list, size_t n);

/* Orphan groups, oldest deletion first, at most limit; *out is new. Thread: any. */
int sto_orphan_list(sto_db *db, size_t limit, struct sto_orphan **out, size_t *n);

/* Forgets the group once it has no recordings left; 0 also when it has. Thread: any but the writer.
 */
int sto_orphan_delete_if_empty(sto_db *db, const char *orphan_id);

/*
 * Moves recordings whose camera does not exist and that belong to no
 * orphan group (a segment closed after its camera was deleted, rows from
 * before migration 0004) into new groups deleted at now_ms; *moved counts
 * the groups made. Thread: any but the writer (retention).
 */
int sto_orphans_collect(sto_db *db, int64_t now_ms, size_t *moved);

/*
 * Gives every orphan group of camera id (a deleted camera with the same
 * id) back to the camera id: its recordings and pins carry id again and
 * the groups are forgotten. *adopted (may be NULL) counts the recordings.
 * Thread: any but the writer.
 */
int sto_camera_adopt(sto_db *db, const char *id, uint64_t *adopted);

/*
 * Makes the provisioned cameras equal to cams[0..n): inserts or updates each
 * (marked provisioned; an API-made camera with the same id is taken over)
 * and deletes provisioned cameras no longer listed, all in one transaction.
 * Reports how many were added, changed and removed (any may be NULL).
 */
int sto_cameras_provision(sto_db *db, const struct sto_camera_input *cams, size_t n, size_t *added,
                          size_t *changed, size_t *removed);

/*
 * Names the node this process is (docs/design/0068): recording rows it
 * inserts carry it, and the queries of retention and horus check
 * (sto_recordings_oldest, _oldest_pinned, _usage, _foreach) see only the
 * rows of this node's files, and rows of no known node (''). Unset or "":
 * every row. Thread: before the threads that insert recordings or run
 * retention start.
 */
void sto_set_node(sto_db *db, const char *node_id);

/* ---- recordings (storage/recordings.c): one row per closed segment ---- */

/* A recording row as read. Strings and blob are owned; release with sto_recording_release. */
struct sto_recording {
    char *camera_id;
    char *stream; /* "main" or "sub" */
    int64_t start_us; /* UTC microseconds of the first sample */
    int64_t end_us; /* UTC microseconds after the last sample */
    char *path; /* relative to storage.path */
    uint64_t bytes;
    char *codec; /* RFC 6381 codecs, e.g. "avc1.64001f,mp4a.40.2" */
    int64_t width, height;
    char *sha256; /* hex of the closed file */
    uint8_t *fragments; /* the recorder's per-part index blob */
    size_t fragments_size;
    int64_t pinned_until_us; /* retention keeps the row until then (events) */
};

void sto_recording_release(struct sto_recording *r);
/*
 * The node that holds the file of recording (camera_id, stream, start_us)
 * into *node_id (new; "" for rows of no known node, docs/design/0068), or
 * -ENOENT. Thread: any.
 */
int sto_recording_node(sto_db *db, const char *camera_id, const char *stream, int64_t start_us,
                       char **node_id);
void sto_recording_list_free(struct sto_recording *list, size_t n);

/* A row to insert; every pointer is borrowed for the call (NULL codec and sha256 store ""). */
struct sto_recording_input {
    const char *camera_id;
    const char *stream;
    int64_t start_us, end_us;
    const char *path;
    uint64_t bytes;
    const char *codec;
    int64_t width, height;
    const char *sha256;
    const uint8_t *fragments; /* may be NULL */
    size_t fragments_size;
    int64_t pinned_until_us;
    bool keep_existing; /* a row with the same key stays as it is (journal replay) */
    /*
     * Fencing (docs/design/0066-fencing.md): when lease_token is not 0 the
     * row is stored only while lease_node holds camera_id's lease with that
     * token; otherwise the write fails with HORUS_EFENCED (another node
     * took the camera over since this one started recording it). 0 for rows
     * that describe the past (start-up recovery, horus check).
     */
    const char *lease_node;
    int64_t lease_token;
};

/*
 * Queues the row for the writer thread (batched with other writes); the
 * strings and blob are copied before this returns. A row with the same
 * camera, stream and start replaces the old one (recovery re-runs), unless
 * r->keep_existing: then the insert is a no-op. A transient failure
 * (database locked, disk full, I/O error) does not end the write: the
 * writer retries it with backoff (0.2 s doubling to 5 s) until it commits
 * or the writer stops. A fenced row (r->lease_token, above) is not
 * retried: done_cb gets HORUS_EFENCED. done_cb (may be NULL) is called on the writer
 * thread with the final outcome; it is not called when this returns an
 * error (-EAGAIN: the write queue is full, HORUS_ESTOPPED: closed).
 * Thread: any.
 */
int sto_recording_insert_async(sto_db *db, const struct sto_recording_input *r, sto_done_cb done_cb,
                               void *arg);

/*
 * Rows of camera/stream that overlap [from_us, to_us), by start, at most
 * limit, with their fragment blobs. *out is a new array.
 */
int sto_recordings_range(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                         int64_t to_us, size_t limit, struct sto_recording **out, size_t *n);

/*
 * The same, only this node's rows and rows of no known node (sto_set_node;
 * every row when the node is not known): what the node's own data
 * directory can hold (docs/design/0068). Thread: any.
 */
int sto_recordings_range_own(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                             int64_t to_us, size_t limit, struct sto_recording **out, size_t *n);

/*
 * Retention candidates, oldest first, without fragment blobs and never a
 * pinned row (pinned_until_us past now_us, or covered by a pin of the pins
 * table that has not expired): of one camera (camera_id) or of all cameras
 * (camera_id NULL), ending before before_us (INT64_MAX: any). *out is new.
 */
int sto_recordings_oldest(sto_db *db, const char *camera_id, int64_t before_us, int64_t now_us,
                          size_t limit, struct sto_recording **out, size_t *n);

/*
 * Watermark candidates of the last resort: rows of any camera that are
 * pinned (pinned_until_us past now_us, or covered by a row of the pins
 * table), oldest first. *out is new. Thread: any.
 */
int sto_recordings_oldest_pinned(sto_db *db, int64_t now_us, size_t limit,
                                 struct sto_recording **out, size_t *n);

/* Bytes and row count of one camera's recordings (all cameras: camera_id NULL). */
int sto_recordings_usage(sto_db *db, const char *camera_id, uint64_t *bytes, uint64_t *count);

/*
 * The start of camera/stream's newest row into *start_us, or -ENOENT when
 * the stream has none. Thread: any.
 */
int sto_recording_latest(sto_db *db, const char *camera_id, const char *stream, int64_t *start_us);

/* Deletes the rows (camera, stream, start) of list[0..n) in one transaction. */
int sto_recordings_delete(sto_db *db, const struct sto_recording *list, size_t n);

/* Deletes the row (camera_id, stream, start_us); 0 also when there is none. */
int sto_recording_delete(sto_db *db, const char *camera_id, const char *stream, int64_t start_us);

/*
 * Called per row with a borrowed row, valid during the call. Return 0 to
 * continue, non-zero to stop (the iteration then returns that value).
 */
typedef int (*sto_recording_cb)(void *arg, const struct sto_recording *row);

/*
 * Calls cb for every row, without fragment blobs, ordered by path; for
 * `horus check`. Returns 0, cb's non-zero value or a storage error.
 * Thread: any.
 */
int sto_recordings_foreach(sto_db *db, sto_recording_cb cb, void *arg);

/* ---- exports (storage/exports.c): one row per export job ---- */

/* A job's state; the text form is what the API and the database hold. */
enum sto_export_state {
    STO_EXPORT_QUEUED,
    STO_EXPORT_RUNNING,
    STO_EXPORT_DONE,
    STO_EXPORT_FAILED,
    STO_EXPORT_CANCELLED,
};

/* "queued", "running", "done", "failed", "cancelled". */
const char *sto_export_state_name(enum sto_export_state s);

/* An export row as read. Strings are owned; release with sto_export_release. */
struct sto_export {
    char *id; /* time-sortable: 12 hex digits of creation ms + 8 random hex digits */
    char *camera_id;
    char *stream;
    int64_t start_us, end_us; /* the requested range, UTC microseconds */
    enum sto_export_state state;
    double progress; /* 0..1 */
    uint64_t size_bytes;
    int64_t duration_us; /* of the written file */
    char *sha256; /* hex of the finished file, "" until done */
    char *error; /* sentence for failed jobs, "" otherwise */
    int64_t created_at_ms, started_at_ms, finished_at_ms; /* 0 = not yet */
    char *tenant; /* its camera's tenant when created; "" = none */
};

void sto_export_release(struct sto_export *e);
void sto_export_list_free(struct sto_export *list, size_t n);

/* A new job: what sto_export_insert writes. Strings are borrowed for the call. */
struct sto_export_input {
    const char *id;
    const char *camera_id;
    const char *stream;
    int64_t start_us, end_us;
    int64_t created_at_ms;
    const char *tenant; /* NULL = "" */
};

/* A job's mutable fields: what sto_export_update writes. Strings are borrowed for the call. */
struct sto_export_status {
    const char *id;
    enum sto_export_state state;
    double progress;
    uint64_t size_bytes;
    int64_t duration_us;
    const char *sha256; /* NULL stores "" */
    const char *error; /* NULL stores "" */
    int64_t started_at_ms, finished_at_ms;
};

/* The mutable fields of row e as a status borrowing e's strings (valid while e is). */
struct sto_export_status sto_export_status_of(const struct sto_export *e);

/*
 * Inserts the job e in state queued and the pin of its range, in one
 * transaction (through the writer, waiting for the commit). Returns 0 or
 * -EEXIST. Thread: any but the writer.
 */
int sto_export_insert(sto_db *db, const struct sto_export_input *e);

/*
 * Writes every field of s to the row s->id, waiting for the commit; a job
 * that ends failed or cancelled drops its pin. Returns 0 (also when the
 * row is gone: a deleted job stays deleted). Thread: any but the writer.
 */
int sto_export_update(sto_db *db, const struct sto_export_status *s);

/* Fills *out (new strings) or returns -ENOENT. */
int sto_export_get(sto_db *db, const char *id, struct sto_export *out);

/*
 * Lists exports newest first, after after_id (NULL = from the newest), at
 * most limit; *out is new, *has_more says whether more follow.
 */
int sto_export_list(sto_db *db, const char *after_id, size_t limit, struct sto_export **out,
                    size_t *n, bool *has_more);

/*
 * Rows in state (oldest first), or, when state is -1, finished rows
 * (done/failed/cancelled) that finished before before_ms. At most limit.
 */
int sto_export_select(sto_db *db, int state, int64_t before_ms, size_t limit,
                      struct sto_export **out, size_t *n);

/* Deletes the row and its pin. Returns 0 or -ENOENT. */
int sto_export_delete(sto_db *db, const char *id);

/*
 * Bytes the exports take or will take: the size of done exports plus, for
 * queued and running ones, the bytes of the recordings in their ranges (an
 * export is about as large as its sources). Thread: any.
 */
int sto_exports_usage(sto_db *db, uint64_t *bytes);

/* Bytes of camera/stream's recordings overlapping [from_us, to_us). Thread: any. */
int sto_recordings_range_bytes(sto_db *db, const char *camera_id, const char *stream,
                               int64_t from_us, int64_t to_us, uint64_t *bytes);

/* ---- pins (storage/exports.c): ranges the watermark deletes last ---- */

/*
 * A pin as read; strings owned (free the list with sto_pin_list_free).
 * sto_export_insert pins the export's range ("export:<id>", reason
 * "export") until the export is deleted or ends failed or cancelled.
 */
struct sto_pin {
    char *id;
    char *camera_id;
    char *stream;
    int64_t start_us, end_us;
    char *reason; /* "export" */
    int64_t until_us; /* 0: while its owner exists */
    int64_t created_at_ms;
    char *tenant; /* its camera's (or orphan group's) tenant, "" when none */
};

void sto_pin_list_free(struct sto_pin *list, size_t n);

/* Pins not expired at now_us, oldest first, at most limit; *out is new. Thread: any. */
int sto_pin_list(sto_db *db, int64_t now_us, size_t limit, struct sto_pin **out, size_t *n);
/* ---- recordings read by playback (storage/recordings.c) ---- */

/*
 * Rows of camera/stream overlapping [from_us, to_us), found through the
 * primary key (camera_id, stream, start_us) alone, so the cost does not
 * grow with the history before from_us or after to_us: the row containing
 * from_us is the last one starting at or before it, then every row
 * starting before to_us. (A row that starts earlier still and overlaps the
 * one containing from_us is not returned; the recorder never writes
 * overlapping rows.) Ordered by start, at most limit; with_fragments also
 * copies the part index blobs. *out is a new array (release with
 * sto_recording_list_free). Thread: any.
 */
int sto_recordings_seek(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                        int64_t to_us, size_t limit, bool with_fragments,
                        struct sto_recording **out, size_t *n);

/*
 * The same rows as sto_recordings_seek, start and end only, without
 * allocating: cb(start_us, end_us, arg) per row in start order; a
 * non-zero return stops and is returned. Thread: any.
 */
int sto_recordings_times(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                         int64_t to_us, int (*cb)(int64_t start_us, int64_t end_us, void *arg),
                         void *arg);

/*
 * The row (camera_id, stream, start_us) with its fragment blob into *out
 * (new strings; release with sto_recording_release), or -ENOENT. Thread: any.
 */
int sto_recording_get(sto_db *db, const char *camera_id, const char *stream, int64_t start_us,
                      struct sto_recording *out);

/* ---- audit chain (storage/audit.c): one row per security-relevant action ---- */

/* prev_hash of the first entry: 64 zeros. */
#define STO_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
/* Lowercase hex SHA-256 plus its NUL. */
#define STO_AUDIT_HASH_LEN 65

/*
 * An audit row as read. Strings are owned (release with
 * sto_audit_entry_release). Empty strings, never NULL, for absent fields.
 */
struct sto_audit_entry {
    int64_t id; /* 1, 2, 3, ... in append order, without gaps */
    int64_t time_us; /* when the action happened, UTC microseconds */
    char *actor_kind; /* "user", "apikey", "oidc", "system", "" = unknown */
    char *actor_id;
    char *actor_name;
    char *tenant;
    char *client; /* the client's address, "" for the daemon itself */
    char *action; /* "login.ok", "camera.created", ... (auth/audit.h) */
    char *target_kind; /* "camera", "export", "user", "config", ... */
    char *target_id;
    char *outcome; /* "ok", "denied" or "failed" */
    char *details; /* a JSON object, compact with sorted keys; "{}" when none */
    char *prev_hash; /* the previous entry's hash; STO_AUDIT_GENESIS for id 1 */
    char *hash; /* SHA-256(prev_hash || canonical form), lowercase hex */
};

void sto_audit_entry_release(struct sto_audit_entry *e);
void sto_audit_list_free(struct sto_audit_entry *list, size_t n);

/* What an append writes; strings borrowed for the call, NULL stores "" ("{}" for details). */
struct sto_audit_input {
    int64_t time_us;
    const char *actor_kind, *actor_id, *actor_name, *tenant, *client;
    const char *action; /* required */
    const char *target_kind, *target_id;
    const char *outcome; /* required: "ok", "denied" or "failed" */
    const char *details;
};

/*
 * The canonical form of e's fields (every field but prev_hash and hash),
 * as a new buffer in *out of *len bytes: the tag "horus-audit-v1" and then
 * id, time_us, actor_kind, actor_id, actor_name, tenant, client, action,
 * target_kind, target_id, outcome, details, each written as its length in
 * decimal, ':', its bytes and ';' (integers in decimal ASCII), so no two
 * different entries have the same form. Thread: any.
 */
void sto_audit_canonical(const struct sto_audit_entry *e, char **out, size_t *len);

/* The hash e must carry after prev_hash: SHA-256(prev_hash || canonical form), hex. */
void sto_audit_hash(const struct sto_audit_entry *e, const char *prev_hash,
                    char out[STO_AUDIT_HASH_LEN]);

/*
 * Queues an entry. Its id, prev_hash and hash are computed on the writer
 * thread from the entry committed before it (so entries are chained in
 * the order they commit, whatever thread sent them); the strings are
 * copied before this returns. A transient failure (database locked, disk
 * full) is retried like an index row until it commits or the writer
 * stops. done_cb (may be NULL) is called on the writer thread with the
 * final outcome; it is not called when this returns an error: -EINVAL
 * (no action, or an outcome not ok/denied/failed), -EAGAIN (the write
 * queue is full), HORUS_ESTOPPED. Never blocks. Thread: any.
 */
int sto_audit_append_async(sto_db *db, const struct sto_audit_input *e, sto_done_cb done_cb,
                           void *arg);

/*
 * Waits until every audit entry queued before the call has committed or
 * failed (a retried one may still wait). Returns 0 or HORUS_ESTOPPED.
 * Thread: any but the writer.
 */
int sto_audit_sync(sto_db *db);

/*
 * The last committed entry's id and hash as the writer knows it (0 and
 * STO_AUDIT_GENESIS when the chain is empty). No I/O. Thread: any.
 */
void sto_audit_head(sto_db *db, int64_t *id, char hash[STO_AUDIT_HASH_LEN]);

/* Which entries sto_audit_list returns; zero fields do not filter. Strings borrowed. */
struct sto_audit_filter {
    int64_t from_us; /* time_us >= from_us (when has_from) */
    int64_t to_us; /* time_us < to_us (when has_to) */
    bool has_from, has_to;
    const char *action; /* exact, or a prefix when it ends in ".*" ("login.*") */
    const char *actor; /* actor_id or actor_name equal to it */
    const char *target_kind; /* exact */
    const char *target_id; /* exact */
    const char *outcome; /* exact */
    const char *tenant; /* exact, "" included (entries of no tenant); NULL = every tenant */
    int64_t after_id; /* the cursor: entries past this id in the order asked; 0 = from the start */
    bool oldest_first; /* ascending ids; default newest first */
};

/*
 * Entries matching f, newest first (or oldest first), at most limit; *out
 * is new, *has_more says whether more follow. Thread: any.
 */
int sto_audit_list(sto_db *db, const struct sto_audit_filter *f, size_t limit,
                   struct sto_audit_entry **out, size_t *n, bool *has_more);

/* Fills *out (new strings) with entry id, or returns -ENOENT. Thread: any. */
int sto_audit_get(sto_db *db, int64_t id, struct sto_audit_entry *out);

/*
 * Called per entry with a borrowed row valid during the call. Return 0 to
 * go on, non-zero to stop (the iteration returns it).
 */
typedef int (*sto_audit_cb)(void *arg, const struct sto_audit_entry *row);

/* Calls cb for every entry by ascending id (one reader, constant memory). Thread: any. */
int sto_audit_foreach(sto_db *db, sto_audit_cb cb, void *arg);

/* The smallest id of an entry whose hash is hash into *id, or -ENOENT. Thread: any. */
int sto_audit_find_hash(sto_db *db, const char *hash, int64_t *id);

/* ---- fragment index ---------------------------------------------------- */

/*
 * One part (moof + mdat) of a segment file. Times are on the 90 kHz clock,
 * relative to the first sample of the segment's primary track (the first
 * video track, or the first track when there is no video).
 */
struct sto_part {
    uint64_t offset; /* byte offset of the moof in the file */
    uint32_t size_bytes; /* moof + mdat */
    int64_t start_90k; /* primary track's first decode time in this part */
    uint32_t duration_90k; /* primary track's summed sample durations */
    bool is_keyframe; /* the part starts with a sync sample of the primary track */
};

/*
 * Encodes parts into a new blob (*out, free with free()). The blob is
 * version 1 of the format documented in docs/design/0003-recording-files.md:
 *
 *   u8      version = 1
 *   varint  offset of the first part (= init segment size)
 *   varint  part count
 *   per part:
 *     varint  size_bytes                      (offset = previous offset + size)
 *     varint  duration_90k << 1 | is_keyframe
 *     varint  zigzag(start_90k - expected)    (expected = previous start + duration,
 *                                              0 for the first part; 1 byte when contiguous)
 *
 * varint is LEB128 (7 bits per byte, low first). About 7 bytes per 200 ms
 * part of a 4 Mbit/s stream. Parts must be contiguous in the file (each
 * offset equals the previous offset plus size) and n may be 0.
 * Returns 0, or -EINVAL when parts are not contiguous.
 */
int sto_index_encode(const struct sto_part *parts, size_t n, uint8_t **out, size_t *out_size);

/*
 * Decodes a blob made by sto_index_encode into a new array (*out, free with
 * free(); NULL when *n is 0). Returns 0, or HORUS_EPARSE for a truncated,
 * oversized or unknown-version blob (nothing is returned then).
 */
int sto_index_decode(const uint8_t *blob, size_t size, struct sto_part **out, size_t *n);

/* ---- identity (storage/identity.c): users, sessions, API keys; docs/design/0016 ---- */

/*
 * A user row. Strings are owned; release with sto_user_release. cameras is
 * the grant: "*" for every camera, else camera ids separated by commas.
 */
struct sto_user {
    char *name;
    char *password_hash; /* argon2id encoded string: never printed */
    char *role; /* "viewer", "operator", "admin", "superadmin" */
    char *cameras;
    char *tenant; /* "" = none */
    bool disabled;
    bool must_change_password;
    int64_t created_at_ms;
    int64_t updated_at_ms;
};

/* What inserts and updates write. Strings are borrowed for the call. */
struct sto_user_input {
    const char *name;
    const char *password_hash;
    const char *role;
    const char *cameras; /* NULL = "*" */
    const char *tenant; /* NULL = "" */
    bool disabled;
    bool must_change_password;
};

void sto_user_release(struct sto_user *u);
void sto_user_list_free(struct sto_user *list, size_t n);
/* The settable fields of u as an input borrowing u's strings. */
struct sto_user_input sto_user_input_of(const struct sto_user *u);
/* Fills *out or returns -ENOENT. Thread: any. */
int sto_user_get(sto_db *db, const char *name, struct sto_user *out);
/* Every user ordered by name into a new array. Thread: any. */
int sto_user_list(sto_db *db, struct sto_user **out, size_t *n);
/* Counts users into *n; role NULL counts all, else the enabled users with that role. */
int sto_user_count(sto_db *db, const char *role, uint64_t *n);
/* Whether u is the last enabled admin or superadmin (then it must stay one,
 * or nobody can manage users through the API). Thread: any. */
bool sto_user_is_last_admin(sto_db *db, const struct sto_user *u);
/* Inserts u. Returns 0 or -EEXIST. Thread: any but the writer. */
int sto_user_insert(sto_db *db, const struct sto_user_input *u);
/*
 * Replaces every field of user u->name but created_at; a disabled user's
 * sessions are deleted in the same transaction. Returns 0 (also when the
 * user vanished meanwhile). Thread: any but the writer.
 */
int sto_user_update(sto_db *db, const struct sto_user_input *u);
/* Deletes the user, its sessions and the API keys it owns. Thread: any but the writer. */
int sto_user_delete(sto_db *db, const char *name);

/* A browser session. The token itself is never stored: token_sha256 is its hash. */
struct sto_session {
    char *id; /* public handle: listing and revoking */
    char *token_sha256;
    char *csrf_token;
    char *user_name;
    char *remote;
    char *user_agent;
    int64_t created_at_ms;
    int64_t last_seen_ms;
    int64_t expires_at_ms; /* the absolute timeout */
    char *method; /* how it was opened: STO_SESSION_PASSWORD or _SSO (NULL on insert = password) */
};
#define STO_SESSION_PASSWORD "password"
#define STO_SESSION_SSO "sso"

void sto_session_release(struct sto_session *s);
void sto_session_list_free(struct sto_session *list, size_t n);
/*
 * A number that grows after every write in this process that may change
 * who a credential is or what it may see (users, sessions, API keys,
 * second factors, tenants, cameras). Caches keep it with what they read
 * and drop entries read under an older one. Writes by another process
 * (the command line) do not move it. Thread: any.
 */
uint64_t sto_access_version(sto_db *db);
/* Inserts s (borrowed strings). Thread: any but the writer. */
int sto_session_insert(sto_db *db, const struct sto_session *s);
/* Finds the session whose token hashes to token_sha256. Returns 0 or -ENOENT. Thread: any. */
int sto_session_find(sto_db *db, const char *token_sha256, struct sto_session *out);
/* Reads session id. Returns 0 or -ENOENT. Thread: any. */
int sto_session_get(sto_db *db, const char *id, struct sto_session *out);
/* The sessions of user (NULL: everyone's), newest first, into a new array. */
int sto_session_list(sto_db *db, const char *user, struct sto_session **out, size_t *n);
/* Queues last_seen = now_ms without waiting (activity). Thread: any. */
int sto_session_touch_async(sto_db *db, const char *id, int64_t now_ms);
/* Deletes session id. Thread: any but the writer. */
int sto_session_delete(sto_db *db, const char *id);
/* Deletes every session of user. Thread: any but the writer. */
int sto_session_delete_user(sto_db *db, const char *user);
/* Deletes sessions idle since before idle_before_ms or past their absolute expiry at now_ms. */
int sto_session_delete_expired(sto_db *db, int64_t idle_before_ms, int64_t now_ms);

/* An API key. Only the SHA-256 hex of its secret is stored. */
struct sto_api_key {
    char *id;
    char *name;
    char *secret_sha256;
    char *role;
    char *cameras; /* "*" or ids separated by commas */
    char *owner; /* user who created it; "" when made by the command line */
    char *tenant;
    int64_t created_at_ms;
    int64_t expires_at_ms; /* 0 = never */
    int64_t last_used_ms; /* 0 = never */
    int64_t revoked_at_ms; /* 0 = valid */
};

void sto_api_key_release(struct sto_api_key *k);
void sto_api_key_list_free(struct sto_api_key *list, size_t n);
/* Inserts k (borrowed strings; last_used and revoked ignored). Returns 0 or -EEXIST. */
int sto_api_key_insert(sto_db *db, const struct sto_api_key *k);
/* Reads key id. Returns 0 or -ENOENT. Thread: any. */
int sto_api_key_get(sto_db *db, const char *id, struct sto_api_key *out);
/* Every key (revoked ones too) ordered by creation into a new array. Thread: any. */
int sto_api_key_list(sto_db *db, struct sto_api_key **out, size_t *n);
/* Marks key id revoked at now_ms. Returns 0 or -ENOENT. Thread: any but the writer. */
int sto_api_key_revoke(sto_db *db, const char *id, int64_t now_ms);
/* Queues last_used = now_ms without waiting. Thread: any. */
int sto_api_key_touch_async(sto_db *db, const char *id, int64_t now_ms);

/* ---- RTSP Digest secrets of the re-stream (storage/rtsp_digests.c; docs/design/0077) ---- */

enum sto_digest_owner { STO_DIGEST_USER, STO_DIGEST_API_KEY };

/*
 * Keeps ha1 (32 hex digits; NULL clears) for the user named owner or the
 * API key whose id is owner, sealed by the secret box and bound to that
 * row. Returns 0 (also when no such row exists) or a seal or write error.
 * Thread: any but the writer.
 */
int sto_rtsp_digest_set(sto_db *db, enum sto_digest_owner kind, const char *owner, const char *ha1);
/*
 * The kept HA1 of owner into ha1 (33 bytes). Returns 0, -ENOENT (no such
 * row), -ENODATA (none kept), or an open error (-ENOKEY, -EBADMSG,
 * -EINVAL). Thread: any but the writer.
 */
int sto_rtsp_digest_get(sto_db *db, enum sto_digest_owner kind, const char *owner, char ha1[33]);
/* Drops every kept HA1 (Digest turned off). Thread: any but the writer. */
int sto_rtsp_digests_clear(sto_db *db);

/* ---- second factor (storage/mfa.c): TOTP secrets, recovery codes; docs/design/0023 ---- */

/*
 * The one seal/open pair of user_mfa.secret (mfa_secrets.c): b32 (the
 * base32 text of a TOTP secret) sealed by box with additional data
 * "user_mfa <user>" (no box: "b32:" and the text in clear, as rows were
 * before). _open reads both forms into a new string; returns 0, -EINVAL
 * (neither form), -ENOKEY (no box, or not its key), -EBADMSG (tampered, or
 * another user's). Thread: any.
 */
int sto_mfa_secret_seal(const sto_secret_box *box, const char *user, const char *b32, char **out);
int sto_mfa_secret_open(const sto_secret_box *box, const char *user, const char *stored,
                        char **b32);

/*
 * A user's TOTP row. secret is the stored form (sto_mfa_secret_seal). Strings owned; release with
 * sto_mfa_release.
 */
struct sto_mfa {
    char *user_name;
    char *secret; /* stored form, never printed */
    bool is_enrolled; /* false: enrolment begun, not confirmed */
    int64_t last_step; /* TOTP step of the last accepted code; -1 = none */
    int64_t created_at_ms;
    int64_t enrolled_at_ms; /* 0 while pending */
    size_t recovery_left; /* unused recovery codes */
};

void sto_mfa_release(struct sto_mfa *m);
/* Reads user's row. Returns 0 or -ENOENT. Thread: any. */
int sto_mfa_get(sto_db *db, const char *user, struct sto_mfa *out);
/*
 * Starts (or restarts) enrolment: stores secret as a pending row. Returns
 * 0, -EEXIST when user is already enrolled (nothing changes), -ENOENT when
 * the user does not exist. Thread: any but the writer.
 */
int sto_mfa_begin(sto_db *db, const char *user, const char *secret, int64_t now_ms);
/*
 * Confirms a pending enrolment, atomically: enrolled = 1, last_step =
 * step, and the recovery code hashes[0..n) replace any others. Returns 0,
 * -ENOENT (no pending row) or -EEXIST (already enrolled). Thread: any but
 * the writer.
 */
int sto_mfa_confirm(sto_db *db, const char *user, int64_t step, const char *const *hashes, size_t n,
                    int64_t now_ms);
/*
 * Records step as used, atomically with the check, on the writer thread:
 * returns 0, -EALREADY when last_step >= step (a replay, or a race with a
 * login that used the same code), -ENOENT when user has no enrolled row.
 * Thread: any but the writer.
 */
int sto_mfa_use_step(sto_db *db, const char *user, int64_t step);
/* user's unused recovery code hashes into a new array (free with sto_mfa_hashes_free). */
int sto_mfa_recovery_hashes(sto_db *db, const char *user, char ***out, size_t *n);
void sto_mfa_hashes_free(char **list, size_t n);
/*
 * Burns one recovery code: deletes (user, hash) when it exists. Returns 0,
 * or -ENOENT when it was already used (two logins racing with one code:
 * only one gets 0). Thread: any but the writer.
 */
int sto_mfa_recovery_use(sto_db *db, const char *user, const char *hash);
/* Replaces user's recovery codes with hashes[0..n) in one transaction. -ENOENT: not enrolled. */
int sto_mfa_recovery_replace(sto_db *db, const char *user, const char *const *hashes, size_t n);
/* Deletes user's row and recovery codes. Returns 0 or -ENOENT when there was none. */
int sto_mfa_delete(sto_db *db, const char *user);
/* Counts enabled users of role admin or superadmin with a confirmed second factor. */
int sto_mfa_count_enrolled_admins(sto_db *db, uint64_t *n);
/* ---- UI preferences (storage/preferences.c; docs/design/0027-ui-api.md) ---- */

#define STO_PREFERENCES_USER "user" /* owner_id: the user's name */
#define STO_PREFERENCES_API_KEY "api_key" /* owner_id: the key's id */
#define STO_PREFERENCES_MAX 16384 /* bytes of one stored body */

/*
 * The stored preferences of (owner_kind, owner_id) into *body (a new
 * string of JSON text, as it was put). Returns 0, -ENOENT when the owner
 * never saved any, -EINVAL for an unknown kind, or a read error.
 * Thread: any.
 */
int sto_preferences_get(sto_db *db, const char *owner_kind, const char *owner_id, char **body);
/*
 * Replaces the preferences of (owner_kind, owner_id) with body (borrowed;
 * at most STO_PREFERENCES_MAX bytes, not parsed). Nothing is written when
 * the owner does not exist (a user deleted, a key revoked, meanwhile).
 * Returns 0 or -EINVAL (unknown kind, body too long), or a write error.
 * Thread: any but the writer.
 */
int sto_preferences_put(sto_db *db, const char *owner_kind, const char *owner_id, const char *body);

/* ---- recordings per camera, for the storage page (storage/recordings.c) ---- */

/* What the index holds of one camera (every stream). */
struct sto_camera_usage {
    char *camera_id; /* owned */
    uint64_t bytes;
    uint64_t segments;
    int64_t oldest_us; /* the first start, UTC microseconds; 0 when none */
    int64_t newest_us; /* the last end; 0 when none */
    uint64_t recent_bytes; /* bytes of the segments that started at or after since_us */
};

void sto_camera_usage_list_free(struct sto_camera_usage *list, size_t n);
/*
 * The index's use by each camera id that has recordings (deleted cameras'
 * orphan groups too), ordered by id, into a new array: one pass over the
 * index in key order. since_us: where recent_bytes starts. Thread: any.
 */
int sto_camera_usage_list(sto_db *db, int64_t since_us, struct sto_camera_usage **out, size_t *n);

/* ---- tenants (storage/tenants.c; docs/design/0024-tenants.md) ---- */

/* A tenant as read. Strings owned; release with sto_tenant_release. */
struct sto_tenant {
    char *id;
    char *name;
    uint64_t max_cameras; /* 0 = unlimited */
    uint64_t max_storage_bytes; /* recordings + exports of its cameras; 0 = unlimited */
    int64_t created_at_ms;
    int64_t updated_at_ms;
};

/* What inserts and updates write. Strings borrowed for the call. */
struct sto_tenant_input {
    const char *id;
    const char *name; /* NULL = "" */
    uint64_t max_cameras;
    uint64_t max_storage_bytes;
};

/* What a tenant uses now. */
struct sto_tenant_usage {
    uint64_t cameras;
    uint64_t users;
    uint64_t api_keys; /* not revoked */
    uint64_t recording_bytes; /* indexed recordings of its cameras */
    uint64_t export_bytes; /* its exports, as sto_exports_usage counts them */
};

void sto_tenant_release(struct sto_tenant *t);
void sto_tenant_list_free(struct sto_tenant *list, size_t n);
/* Fills *out (new strings) or returns -ENOENT. Thread: any. */
int sto_tenant_get(sto_db *db, const char *id, struct sto_tenant *out);
/* Every tenant ordered by id into a new array. Thread: any. */
int sto_tenant_list(sto_db *db, struct sto_tenant **out, size_t *n);
/* Inserts t. Returns 0 or -EEXIST. Thread: any but the writer. */
int sto_tenant_insert(sto_db *db, const struct sto_tenant_input *t);
/* Replaces name and quotas of t->id. Returns 0 or -ENOENT. Thread: any but the writer. */
int sto_tenant_update(sto_db *db, const struct sto_tenant_input *t);
/*
 * Deletes tenant id when nothing carries it any more (cameras, users, API
 * keys that are not revoked). Returns 0, -ENOENT, or -EBUSY while something
 * does. Thread: any but the writer.
 */
int sto_tenant_delete(sto_db *db, const char *id);
/* What tenant id ("" = no tenant) uses into *out. Thread: any. */
int sto_tenant_usage_get(sto_db *db, const char *id, struct sto_tenant_usage *out);

/* ---- outbox (storage/outbox.c; docs/design/0045-bus-and-outbox.md) ---- */

/*
 * The persisted outbox: messages the buses deliver at least once, each
 * with a seq that grows by one per append and is never reused (global
 * order, hence per-camera order). Each consumer (a bus; later a webhook
 * target) keeps a cursor, the seq of the last row it delivered.
 */

/* One message to append; strings borrowed for the call. */
struct sto_outbox_input {
    const char *kind; /* "event" or "detection" */
    const char *type; /* "new", "update", "end" for events */
    const char *camera_id;
    const char *payload; /* JSON text */
};

/* One row as read; strings owned (free lists with sto_outbox_rows_free). */
struct sto_outbox_row {
    int64_t seq;
    char *kind, *type, *camera_id, *payload;
    int64_t created_us;
};

void sto_outbox_rows_free(struct sto_outbox_row *rows, size_t n);

/*
 * Appends m through the writer (its seq is the head's plus one), waits for
 * the commit and tells the watcher. Returns 0, -EINVAL (a field missing)
 * or a storage error. Thread: any but the writer.
 */
int sto_outbox_append(sto_db *db, const struct sto_outbox_input *m);

/*
 * The rows after seq after_seq, ascending, at most limit; *out new (NULL
 * when none). Thread: any.
 */
int sto_outbox_read(sto_db *db, int64_t after_seq, size_t limit, struct sto_outbox_row **out,
                    size_t *n);

/* The seq of the last row ever appended (0: none yet) into *seq. Thread: any. */
int sto_outbox_head(sto_db *db, int64_t *seq);

/* Rows after seq after_seq (the backlog of a consumer at that cursor) into *n. Thread: any. */
int sto_outbox_count_after(sto_db *db, int64_t after_seq, int64_t *n);

/* consumer's cursor into *seq, or -ENOENT when it has none. Thread: any. */
int sto_outbox_cursor_get(sto_db *db, const char *consumer, int64_t *seq);

/*
 * consumer's cursor into *seq; a consumer without one gets one at the
 * head (a new consumer does not replay old history). Thread: any but the
 * writer.
 */
int sto_outbox_cursor_open(sto_db *db, const char *consumer, int64_t *seq);

/* Sets consumer's cursor to seq through the writer, waiting. Thread: any but the writer. */
int sto_outbox_cursor_set(sto_db *db, const char *consumer, int64_t seq);
/*
 * The same for an existing cursor, only while node holds the consumer (or
 * nobody does): a node that lost it while frozen cannot move the cursor
 * back under its successor (docs/design/0071). node NULL: as
 * sto_outbox_cursor_set. Thread: any but the writer.
 */
int sto_outbox_cursor_set_held(sto_db *db, const char *consumer, int64_t seq, const char *node);
/*
 * Takes (or renews) the delivery of consumer's messages for node until
 * until_ms: when nobody holds it, node does, or the holder's time ran out
 * at now_ms. Returns 0 when node holds it after, -EBUSY when another node
 * does, -ENOENT when the consumer has no cursor, or a storage error.
 * Thread: any but the writer.
 */
int sto_outbox_consumer_claim(sto_db *db, const char *consumer, const char *node, int64_t now_ms,
                              int64_t until_ms);
/* Gives consumer up when node holds it (a clean stop). Thread: any but the writer. */
int sto_outbox_consumer_release(sto_db *db, const char *consumer, const char *node);

/* What a trim did. */
struct sto_outbox_trim {
    size_t delivered; /* rows every cursor had passed, deleted */
    size_t expired; /* rows older than the retention some consumer had not delivered, deleted */
};

/*
 * Deletes the rows every cursor has passed (every row when no consumer has
 * a cursor: a new one starts at the head anyway) and the rows created
 * before older_than_us whatever the cursors say, so a bus down for weeks
 * cannot fill the disk; *out says how many of each. Thread: any but the
 * writer.
 */
int sto_outbox_trim(sto_db *db, int64_t older_than_us, struct sto_outbox_trim *out);

/*
 * Who to tell after a commit appended outbox rows: fn(arg) runs on the
 * thread that waited for that commit, so it must only signal (a condition,
 * an eventfd). The struct is borrowed until replaced; NULL clears. Thread:
 * any (an atomic swap).
 */
struct sto_outbox_watcher {
    void (*fn)(void *arg);
    void *arg;
};
void sto_outbox_watch(sto_db *db, const struct sto_outbox_watcher *w);

/*
 * Whether some consumer (a bus, a webhook target) reads the outbox: the
 * producers (events, detections) append messages only then, since a
 * consumer starts at the head anyway. Set by the daemon as buses and
 * targets come and go. Thread: any (atomic).
 */
void sto_outbox_set_wanted(sto_db *db, bool is_wanted);
bool sto_outbox_is_wanted(sto_db *db);
/* ---- webhook targets (storage/webhooks.c; docs/design/0049-webhooks.md) ---- */

#define STO_WEBHOOK_ID_MAX 64

/* A target as read; strings owned (release with sto_webhook_release). */
struct sto_webhook {
    char *id;
    char *url;
    char *secret; /* the stored form (sealed); open with sto_webhook_secret_open; never print */
    char *cameras, *labels, *types; /* JSON arrays of strings, "[]" = every one */
    bool enabled;
    int64_t timeout_ms;
    int64_t max_attempts;
    char *tenant; /* "" = none */
    int64_t created_at_ms, updated_at_ms;
};

void sto_webhook_release(struct sto_webhook *w);
void sto_webhook_list_free(struct sto_webhook *list, size_t n);

/*
 * What insert and update write; strings borrowed. secret is the key in
 * clear: sealed here by the database's secret box (aad "webhook <id>");
 * NULL on update keeps the stored one, "" removes it.
 */
struct sto_webhook_input {
    const char *id, *url, *secret;
    const char *cameras, *labels, *types; /* NULL: "[]" */
    bool enabled;
    int64_t timeout_ms, max_attempts;
    const char *tenant;
};

/* Inserts w. Returns 0 or -EEXIST. Thread: any but the writer. */
int sto_webhook_insert(sto_db *db, const struct sto_webhook_input *w);
/* Replaces w->id's fields (not its tenant). Returns 0 or -ENOENT. Thread: any but the writer. */
int sto_webhook_update(sto_db *db, const struct sto_webhook_input *w);
/* Deletes id, its dead letters and its outbox cursor. 0 or -ENOENT. Thread: any but the writer. */
int sto_webhook_delete(sto_db *db, const char *id);
/* Fills *out or returns -ENOENT. Thread: any. */
int sto_webhook_get(sto_db *db, const char *id, struct sto_webhook *out);
/* Every target (tenant NULL) or those of one tenant, by id. Thread: any. */
int sto_webhook_list(sto_db *db, const char *tenant, struct sto_webhook **out, size_t *n);
/* w's secret in clear into *out (new; "" when unsigned). 0, -ENOKEY or -EBADMSG. Thread: any. */
int sto_webhook_secret_open(sto_db *db, const struct sto_webhook *w, char **out);

/* A message a target gave up on, as read; strings owned. */
struct sto_dead_letter {
    char *webhook_id;
    int64_t seq; /* its outbox seq */
    char *kind, *type, *camera_id, *payload;
    int64_t attempts;
    char *last_error;
    int64_t failed_at_ms;
};

void sto_dead_letter_list_free(struct sto_dead_letter *list, size_t n);

/*
 * Moves outbox row m (seq, kind, type, camera_id, payload) to webhook id's
 * dead letters and sets its cursor "webhook:<id>" to m's seq, in one
 * transaction. Thread: any but the writer.
 */
int sto_dead_letter_add(sto_db *db, const char *id, const struct sto_dead_letter *m);
/* id's dead letters, oldest first, at most limit. Thread: any. */
int sto_dead_letter_list(sto_db *db, const char *id, size_t limit, struct sto_dead_letter **out,
                         size_t *n);
/* id's dead letter seq into *out (release with sto_dead_letter_release) or -ENOENT. Thread: any. */
int sto_dead_letter_get(sto_db *db, const char *id, int64_t seq, struct sto_dead_letter *out);
void sto_dead_letter_release(struct sto_dead_letter *d);
/* id's dead-letter count into *n. Thread: any. */
int sto_dead_letter_count(sto_db *db, const char *id, int64_t *n);
/* Deletes id's dead letter seq (delivered again, or dropped). Thread: any but the writer. */
int sto_dead_letter_delete(sto_db *db, const char *id, int64_t seq);

/* ---- events (storage/events.c; docs/design/0040-events.md) ---- */

/*
 * An event as read; strings owned (release with sto_event_release, lists
 * with sto_event_list_free). end_us is 0 while the event is open.
 */
struct sto_event {
    char *id; /* "<start_us, 17 digits>-<8 hex>" */
    char *camera_id;
    char *label;
    char *sub_label; /* "" when none */
    double score; /* the score of the best view */
    double top_score; /* the highest score seen */
    int64_t start_us, end_us; /* end 0: open */
    int64_t updated_us; /* the last change */
    char *zones; /* JSON array of zone names */
    char *box; /* JSON [x0,y0,x1,y1] normalised, "" when none */
    char *details; /* JSON object: crossings, loiters */
    bool has_snapshot;
    char *source; /* "detector", "api" or "motion" */
    int64_t created_at_ms;
    int64_t pinned_until_us; /* kept (row, snapshots, recording pins) until then */
    char *tenant; /* its camera's tenant, "" when none */
};

void sto_event_release(struct sto_event *e);
void sto_event_list_free(struct sto_event *list, size_t n);

/*
 * What sto_event_put writes: the whole row (strings borrowed for the call),
 * inserted or replacing the row with the same id, and with it the pins of
 * the event's recordings on each of streams[0..nstreams) ("event:<id>:
 * <stream>", [pin_start_us, pin_end_us) until pinned_until_us), in one
 * transaction. end_us 0 stores NULL (open).
 */
struct sto_event_input {
    const char *id, *camera_id, *label, *sub_label;
    double score, top_score;
    int64_t start_us, end_us, updated_us;
    const char *zones, *box, *details; /* NULL: "[]", "", "{}" */
    bool has_snapshot;
    const char *source;
    int64_t created_at_ms;
    int64_t pinned_until_us;
    int64_t pin_start_us, pin_end_us; /* pin_end_us <= pin_start_us: no pins */
    const char *const *streams;
    size_t nstreams;
    /*
     * Outbox messages appended in the same transaction as the row (at most
     * 2; NULL/0: none): a failed event write leaves no outbox row, and a
     * committed one always has its messages.
     */
    const struct sto_outbox_input *outbox;
    size_t noutbox;
};

/*
 * Writes e through the writer, waiting for the commit; tells the outbox
 * watcher when it appended messages. Thread: any but the writer.
 */
int sto_event_put(sto_db *db, const struct sto_event_input *e);

/* Fills *out (new strings) or returns -ENOENT. Thread: any. */
int sto_event_get(sto_db *db, const char *id, struct sto_event *out);

/* The filters of sto_event_list; NULL, 0 or false: no filter. Strings borrowed. */
struct sto_event_filter {
    const char *camera_id;
    const char *label;
    const char *zone; /* events that entered this zone */
    int64_t after_us, before_us; /* start_us >= after_us, start_us < before_us (0: none) */
    double min_score; /* top_score >= min_score */
    int has_snapshot; /* -1: any, 0: without, 1: with */
    const char *cursor_id; /* list events after this one (newest first) */
};

/*
 * Events matching f, newest first (start_us, then id, descending), at most
 * limit; *out is new; *has_more says whether more follow. Thread: any.
 */
int sto_event_list(sto_db *db, const struct sto_event_filter *f, size_t limit,
                   struct sto_event **out, size_t *n, bool *has_more);

/* Deletes the row and its pins. Returns 0 or -ENOENT. Thread: any but the writer. */
int sto_event_delete(sto_db *db, const char *id);

/*
 * Ends every open event at its updated_us (the events a crash left open).
 * *n: how many. Thread: any but the writer.
 */
int sto_events_end_open(sto_db *db, size_t *n);

/* Open events (end_us NULL), oldest first, at most limit; *out new. Thread: any. */
int sto_events_open_list(sto_db *db, size_t limit, struct sto_event **out, size_t *n);

/* Events whose pinned_until_us is before now_us, oldest first, at most limit. Thread: any. */
int sto_events_expired(sto_db *db, int64_t now_us, size_t limit, struct sto_event **out, size_t *n);

/* ---- detections (detections.c; docs/design/0046-detections-ingest.md) ---- */

/* One detection to store; strings borrowed for the call. */
struct sto_detection_input {
    const char *camera_id;
    int64_t time_us; /* when the frame was seen, Unix us */
    const char *label;
    double score; /* 0..1 */
    double x0, y0, x1, y1; /* normalised box, x0 < x1, y0 < y1 */
    const char *track_id; /* NULL or "": none */
    const char *attributes; /* a JSON object's text; NULL: "{}" */
};

/*
 * Queues rows[0..n) as one write: every row stored or none, each numbered
 * after the largest id, with source (the principal id that posted them)
 * and received_us. Everything is copied. The write shares the writer's
 * transaction (and its fsync) with whatever is queued beside it; done_cb
 * (may be NULL) gets 0 once the transaction committed, or the error, on
 * the writer thread. Returns 0, -EINVAL (n 0, a row without camera or
 * label), -EAGAIN when the write queue is full or HORUS_ESTOPPED: done_cb
 * is then not called. Thread: any.
 */
int sto_detections_insert_async(sto_db *db, const struct sto_detection_input *rows, size_t n,
                                const char *source, int64_t received_us, sto_done_cb done_cb,
                                void *arg);

/* An Idempotency-Key for a batch (docs/design/0046 "Retries"); strings borrowed for the call. */
struct sto_detection_key {
    const char *key; /* the header's value */
    const char *body_hash; /* hex SHA-256 of the request body */
    int64_t since_us; /* a stored key created before this has expired: it is replaced */
};

/* What a keyed batch did, written on the writer thread before done_cb runs. */
struct sto_detection_key_result {
    enum {
        STO_DET_KEY_NEW, /* the batch was stored with the key */
        STO_DET_KEY_REPLAY, /* the key was stored with this body: nothing stored, stored says */
        STO_DET_KEY_REUSED, /* the key was stored with another body: nothing stored */
    } outcome;
    int64_t stored; /* the count the first request answered (REPLAY) */
};

/*
 * sto_detections_insert_async with key (NULL: none). Inside the write's
 * savepoint the writer first looks up (source, key->key): an unexpired
 * row with the same body hash makes a replay, one with another hash a
 * reuse, and neither stores anything; otherwise the batch is stored and
 * the key row with it. *res (caller-owned, kept until done_cb) is set
 * before done_cb. Concurrent requests with one key meet on the single
 * writer thread, so exactly one stores. Thread: any.
 */
int sto_detections_insert_keyed_async(sto_db *db, const struct sto_detection_input *rows, size_t n,
                                      const char *source, int64_t received_us,
                                      const struct sto_detection_key *key,
                                      struct sto_detection_key_result *res, sto_done_cb done_cb,
                                      void *arg);

/* A detection as read; strings owned (sto_detection_release, lists sto_detection_list_free). */
struct sto_detection {
    int64_t id;
    char *camera_id;
    int64_t time_us;
    char *label;
    double score;
    double x0, y0, x1, y1;
    char *track_id; /* "" when none */
    char *attributes; /* JSON object text */
    int64_t received_us;
    char *source;
    char *tenant; /* its camera's tenant, "" when none */
};

void sto_detection_release(struct sto_detection *d);
void sto_detection_list_free(struct sto_detection *list, size_t n);

/* The filters of sto_detection_list; NULL or 0: none. Strings borrowed. */
struct sto_detection_filter {
    const char *camera_id;
    const char *label;
    int64_t after_us, before_us; /* time_us >= after_us, time_us < before_us */
    bool has_cursor; /* list rows after (cursor_time_us, cursor_id), newest first */
    int64_t cursor_time_us, cursor_id;
};

/*
 * Detections matching f, newest first (time_us, then id, descending), at
 * most limit; *out is new; *has_more says whether more follow. Thread: any.
 */
int sto_detection_list(sto_db *db, const struct sto_detection_filter *f, size_t limit,
                       struct sto_detection **out, size_t *n, bool *has_more);

/* The outcome of a retention batch: deleted rows (0 on failure). Writer thread. */
typedef void (*sto_detections_pruned_cb)(int rc, size_t deleted, void *arg);

/*
 * Queues the deletion of at most limit detections older than before_us,
 * oldest first, and of the Idempotency-Keys created before keys_before_us
 * (all of them: one row per batch); done_cb (may be NULL) learns how many
 * detections went. Returns 0, -EAGAIN or HORUS_ESTOPPED (done_cb not
 * called). Thread: any.
 */
int sto_detections_prune_async(sto_db *db, int64_t before_us, int64_t keys_before_us, size_t limit,
                               sto_detections_pruned_cb done_cb, void *arg);

#endif
