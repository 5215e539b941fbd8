/*
 * The audit trail: every security-relevant action appended to the audit
 * chain of the index database (storage.h, "audit chain"; design record
 * docs/design/0018-audit-chain.md), its head written to the log so that a
 * rewritten database cannot also rewrite the past, and the verifier behind
 * `horus audit verify`.
 *
 * Callers describe the actor with plain strings (struct auth_audit_actor),
 * so recording an action needs nothing of the principal types. An HTTP
 * handler calls auth_audit_request, which fills the actor from the request.
 */
#ifndef HORUS_AUTH_AUDIT_H
#define HORUS_AUTH_AUDIT_H

#include "auth.h"
#include "cfg.h"
#include "clock.h"
#include "http.h"
#include "metrics.h"
#include "storage.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- action names: "<object>.<verb>", the `action` column and filter ---- */

#define AUTH_AUDIT_LOGIN_OK "login.ok"
#define AUTH_AUDIT_LOGIN_FAILED "login.failed"
#define AUTH_AUDIT_LOGOUT "logout"
#define AUTH_AUDIT_SESSION_REVOKED "session.revoked"
#define AUTH_AUDIT_PASSWORD_CHANGED "password.changed"
#define AUTH_AUDIT_MFA_ENROLLED "mfa.enrolled"
#define AUTH_AUDIT_MFA_DISABLED "mfa.disabled"
#define AUTH_AUDIT_MFA_RECOVERY_USED "mfa.recovery_used"
#define AUTH_AUDIT_MFA_RECOVERY_REGENERATED "mfa.recovery_regenerated"
#define AUTH_AUDIT_USER_CREATED "user.created"
#define AUTH_AUDIT_USER_UPDATED "user.updated"
#define AUTH_AUDIT_USER_DISABLED "user.disabled"
#define AUTH_AUDIT_USER_DELETED "user.deleted"
#define AUTH_AUDIT_APIKEY_CREATED "apikey.created"
#define AUTH_AUDIT_APIKEY_REVOKED "apikey.revoked"
#define AUTH_AUDIT_CAMERA_CREATED "camera.created"
#define AUTH_AUDIT_CAMERA_UPDATED "camera.updated"
#define AUTH_AUDIT_CAMERA_DELETED "camera.deleted"
#define AUTH_AUDIT_TENANT_CREATED "tenant.created"
#define AUTH_AUDIT_TENANT_UPDATED "tenant.updated"
#define AUTH_AUDIT_TENANT_DELETED "tenant.deleted"
#define AUTH_AUDIT_WEBHOOK_CREATED "webhook.created"
#define AUTH_AUDIT_WEBHOOK_UPDATED "webhook.updated"
#define AUTH_AUDIT_WEBHOOK_DELETED "webhook.deleted"
#define AUTH_AUDIT_CONFIG_RELOADED "config.reloaded"
#define AUTH_AUDIT_CONFIG_CHANGED "config.changed"
#define AUTH_AUDIT_LIVE_STARTED "live.started"
#define AUTH_AUDIT_PLAYBACK_REQUESTED "playback.requested"
#define AUTH_AUDIT_SNAPSHOT "snapshot"
#define AUTH_AUDIT_EXPORT_CREATED "export.created"
#define AUTH_AUDIT_EXPORT_DOWNLOADED "export.downloaded"
#define AUTH_AUDIT_EXPORT_DELETED "export.deleted"
#define AUTH_AUDIT_PERMISSION_DENIED "permission.denied"
#define AUTH_AUDIT_MEDIA_SHARED "media.shared" /* a signed media link handed out */
/* Written by the audit log itself: entries that could not be recorded ({"count": N}). */
#define AUTH_AUDIT_LOST "audit.lost"
/* The daemon started or stopped ({"head_id": N} at start). */
#define AUTH_AUDIT_DAEMON_STARTED "daemon.started"

enum auth_audit_outcome {
    AUTH_AUDIT_OK, /* "ok": the action was done */
    AUTH_AUDIT_DENIED, /* "denied": refused for lack of rights or credentials */
    AUTH_AUDIT_FAILED, /* "failed": attempted and failed (bad password, invalid input, error) */
};

/* "ok", "denied", "failed". */
const char *auth_audit_outcome_name(enum auth_audit_outcome o);

/* Who acted; every string borrowed for the call, NULL = unknown (""). */
struct auth_audit_actor {
    const char *kind; /* "user", "apikey", "oidc", "system" */
    const char *id;
    const char *name;
    const char *tenant;
    const char *client; /* the client's address */
};

/*
 * The actor of principal p (borrowed; NULL = nobody: only the client is
 * known) at address client (borrowed, may be NULL). The kind is "user"
 * (a cookie session: id and name are the user's name), "apikey" (id: the
 * key's id, name: the key's name), "oidc" (an IdP's access token: id and
 * name as the token mapped them) or "media_token"; the tenant is p's.
 * The strings borrow from p and client. Pure; Thread: any.
 */
struct auth_audit_actor auth_audit_actor_of(const struct auth_principal *p, const char *client);

/* ---- configuration: the `audit:` section ---- */

struct auth_audit_config {
    int64_t head_log_interval_ms; /* write the head to the log this often */
};

extern const cfg_field auth_audit_fields[];

/* ---- the audit log ---- */

typedef struct auth_audit_log auth_audit_log;

struct auth_audit_options {
    sto_db *db; /* borrowed; its writer must be started before the first append */
    metrics_registry *metrics; /* borrowed, may be NULL */
    const horus_clock *clock; /* borrowed; NULL = the system clock */
    int64_t head_log_interval_ms; /* 0 = one hour */
};

/*
 * Creates the audit log over db (no thread of its own: appends go through
 * the database's writer). Thread: main.
 */
int auth_audit_log_new(const struct auth_audit_options *o, auth_audit_log **out);

/* Changes the head interval (reload). Thread: main. */
void auth_audit_log_set_interval(auth_audit_log *l, int64_t head_log_interval_ms);

/*
 * Waits until every entry appended so far is written (or lost; one that
 * waits for a locked database may still wait). Returns 0 or
 * HORUS_ESTOPPED. Thread: any but the database writer, while it runs.
 */
int auth_audit_log_sync(auth_audit_log *l);

/* Frees l (entries already queued are written by the database writer). NULL is a no-op. */
void auth_audit_log_free(auth_audit_log *l);

/*
 * Records one action. details (borrowed, may be NULL) must be a JSON
 * object; it is stored compact with sorted keys and must never hold a
 * secret. target_kind and target_id may be NULL.
 *
 * Never blocks for long: the entry is copied into the database's write
 * queue and chained by the writer thread. When the queue is full the call
 * tries again for up to 50 ms; then the entry is lost, but never silently:
 * it is logged at error level with its fields, counted in
 * horus_audit_lost_total, and the next entry that gets through is preceded
 * by an "audit.lost" entry with the count, so the chain itself says that
 * entries are missing. A write that fails for good (not a locked or full
 * database, which is retried) is handled the same way.
 *
 * Returns 0, -EINVAL (no action, or details not an object), or -EAGAIN /
 * HORUS_ESTOPPED when the entry was lost. A NULL l records nothing and
 * returns 0 (tools and tests that run without an audit log). Thread: any
 * but the database writer.
 */
int auth_audit(auth_audit_log *l, const struct auth_audit_actor *actor, const char *action,
               enum auth_audit_outcome outcome, const char *target_kind, const char *target_id,
               const json_t *details);

/*
 * auth_audit for an HTTP request: the client is the request's address and
 * the actor the principal the gate attached (http_request_principal, a
 * struct auth_principal by the gate's contract; none on public routes:
 * then only the client is recorded). Thread: the handler's.
 */
int auth_audit_request(auth_audit_log *l, const http_request *req, const char *action,
                       enum auth_audit_outcome outcome, const char *target_kind,
                       const char *target_id, const json_t *details);

/*
 * Writes the chain's head to the log, whatever the log level:
 *   {"level":"info","module":"audit","msg":"audit chain head (why)",
 *    "audit_head_id":"42","audit_head_hash":"<64 hex>","audit_head_why":"interval"}
 * (text format: "... INFO audit audit_head_id=42 audit_head_hash=... ...").
 * why: "start", "stop", "interval". Thread: any.
 */
void auth_audit_log_head(auth_audit_log *l, const char *why);

/*
 * Writes the head when head_log_interval has passed since the last time.
 * Thread: main, from its one-second tick.
 */
void auth_audit_log_tick(auth_audit_log *l);

/* Entries lost since start (also horus_audit_lost_total). Thread: any. */
uint64_t auth_audit_lost(const auth_audit_log *l);

/* ---- verification (auth/audit_verify.c) ---- */

/* A head as written to the log by auth_audit_log_head. */
struct auth_audit_head {
    int64_t id;
    char hash[STO_AUDIT_HASH_LEN];
};

/*
 * Parses one log line (len bytes, no newline needed, not NUL-terminated):
 * returns 1 and fills *out when it is a head line written by
 * auth_audit_log_head in either log format, 0 when it is another line
 * (or a malformed one). Pure; Thread: any.
 */
int auth_audit_head_parse(const char *line, size_t len, struct auth_audit_head *out);

/* What auth_audit_verify found. */
enum auth_audit_problem {
    AUTH_AUDIT_INTACT,
    AUTH_AUDIT_MODIFIED, /* an entry's hash does not match its fields */
    AUTH_AUDIT_REMOVED, /* an entry is missing (a gap in ids, or a broken link) */
    AUTH_AUDIT_REORDERED, /* an entry links to an entry that comes after it */
    AUTH_AUDIT_TRUNCATED, /* a head written to the log is missing from the database */
    AUTH_AUDIT_REWRITTEN, /* a head written to the log has another hash in the database */
};

struct auth_audit_verify_result {
    enum auth_audit_problem problem;
    int64_t id; /* the first entry concerned (0 when intact) */
    uint64_t entries; /* entries checked */
    uint64_t heads; /* heads read from the log and checked */
    int64_t last_id; /* the last entry's id (0 for an empty chain) */
    char last_hash[STO_AUDIT_HASH_LEN];
    char message[512]; /* a sentence naming the entry; "" when intact */
};

/*
 * Walks the whole chain by ascending id and stops at the first problem;
 * then, when log (may be NULL) is given, checks every head line in it
 * against the database. Returns 0 with *res filled (intact or not), or a
 * negative code when the database or the log could not be read (with
 * res->message saying why). Thread: any.
 */
int auth_audit_verify(sto_db *db, FILE *log, struct auth_audit_verify_result *res);

#endif
