/*
 * DESIGN: `horus user ...` and `horus api-key ...`: identity from the
 * command line, for the first admin, scripts and lost passwords
 * (docs/design/0016-identity.md). They open the database like the daemon
 * (same config, same data directory) but never take <data>/horus.lock, so
 * they work while the daemon runs: SQLite in WAL mode lets both write,
 * one at a time, each waiting up to database.busy_timeout for the other.
 * Passwords come from the terminal's stdin (--password-stdin: the first
 * line) or are generated and printed once; API keys are printed once.
 * `horus tenant add|list` manage tenants (docs/design/0024-tenants.md);
 * `--tenant T` puts a new user or key in tenant T, which must exist.
 * Thread: main.
 */
#include "app.h"

#include "auth_api_key.h"
#include "auth_password.h"
#include "auth_user.h"
#include "cfg.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options every identity command shares, and the one positional NAME. */
struct id_args {
    struct app_overrides ov;
    const char *name;
    const char *role;
    const char *cameras;
    const char *expires;
    const char *tenant;
    const char *display_name; /* tenant add --name */
    const char *max_cameras, *max_storage; /* tenant add */
    bool password_stdin;
    bool force; /* user disable: even the last admin */
};

static int parse_args(const char *cmd, int argc, char **argv, bool wants_role, struct id_args *a)
{
    memset(a, 0, sizeof(*a));
    bool is_tenant_add = strcmp(cmd, "tenant add") == 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char **dst = strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0 ? &a->ov.config_path
                           : strcmp(s, "--data") == 0                         ? &a->ov.data_dir
                           : wants_role && strcmp(s, "--role") == 0           ? &a->role
                           : wants_role && strcmp(s, "--cameras") == 0        ? &a->cameras
                           : wants_role && strcmp(s, "--expires") == 0        ? &a->expires
                           : wants_role && strcmp(s, "--tenant") == 0         ? &a->tenant
                           : is_tenant_add && strcmp(s, "--name") == 0        ? &a->display_name
                           : is_tenant_add && strcmp(s, "--max-cameras") == 0 ? &a->max_cameras
                           : is_tenant_add && strcmp(s, "--max-storage") == 0 ? &a->max_storage
                                                                              : NULL;
        if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "horus %s: option '%s' needs a value\n", cmd, s);
                return -1;
            }
            *dst = argv[++i];
        } else if (strcmp(s, "--password-stdin") == 0) {
            a->password_stdin = true;
        } else if (strcmp(cmd, "user disable") == 0 && strcmp(s, "--force") == 0) {
            a->force = true;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "horus %s: unknown option '%s'\n", cmd, s);
            return -1;
        } else if (a->name) {
            fprintf(stderr, "horus %s: unexpected argument '%s'\n", cmd, s);
            return -1;
        } else {
            a->name = s;
        }
    }
    return 0;
}

/* Opens the database of the configured data directory, with its writer. */
int app_cli_open_db(const char *cmd, const struct app_overrides *ov, cfg_snapshot **snap,
                    sto_db **db)
{
    *db = NULL;
    if (app_config_load(ov->config_path, snap) < 0)
        return 2;
    const struct horus_config *c = cfg_snapshot_data(*snap);
    const char *data_dir = ov->data_dir ? ov->data_dir : c->storage.path;
    log_set_level(LOG_LEVEL_WARN);
    char *errmsg = NULL;
    struct sto_open_options so = {.db = &c->database, .data_dir = data_dir};
    int rc = sto_open(&so, db, &errmsg);
    if (rc == 0 && (rc = sto_start(*db)) < 0)
        errmsg = horus_asprintf("start writer thread: %s", horus_strerror(rc));
    if (rc < 0) {
        fprintf(stderr, "horus %s: open database in '%s': %s\n", cmd, data_dir,
                errmsg ? errmsg : horus_strerror(rc));
        free(errmsg);
        sto_close(*db);
        *db = NULL;
        return 1;
    }
    return 0;
}

/*
 * Checks that tenant (NULL or "" = none) exists, printing why not.
 * Returns 0, or the exit code.
 */
static int check_tenant(const char *cmd, sto_db *db, const char *tenant)
{
    if (!tenant || !tenant[0])
        return 0;
    struct sto_tenant t;
    int rc = sto_tenant_get(db, tenant, &t);
    if (rc == 0) {
        sto_tenant_release(&t);
        return 0;
    }
    if (rc == -ENOENT) {
        fprintf(stderr, "horus %s: --tenant: tenant '%s' does not exist (horus tenant add %s)\n",
                cmd, tenant, tenant);
        return 2;
    }
    fprintf(stderr, "horus %s: read tenant '%s': %s\n", cmd, tenant, horus_strerror(rc));
    return 1;
}

/* Reads the first line of stdin (without its newline) into buf. */
static int read_password(char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, stdin))
        return -EINVAL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int user_add(int argc, char **argv)
{
    struct id_args a;
    if (parse_args("user add", argc, argv, true, &a) < 0)
        return 2;
    enum auth_role role;
    if (!a.name || !a.role || auth_role_parse(a.role, &role) < 0) {
        fprintf(stderr, "usage: horus user add NAME --role viewer|operator|admin|superadmin "
                        "[--cameras a,b] [--tenant T] [--password-stdin] [-c FILE] [--data DIR]\n");
        return 2;
    }
    char pw[AUTH_PASSWORD_MAX + 2];
    if (a.password_stdin && read_password(pw, sizeof(pw)) < 0) {
        fprintf(stderr, "horus user add: no password on stdin\n");
        return 2;
    }
    cfg_snapshot *snap = NULL;
    sto_db *db = NULL;
    int code = app_cli_open_db("user add", &a.ov, &snap, &db);
    if (code == 0)
        code = check_tenant("user add", db, a.tenant);
    if (code == 0) {
        char generated[32] = "", why[200];
        struct auth_user_options o = {.name = a.name,
                                      .role = role,
                                      .cameras = a.cameras,
                                      .password = a.password_stdin ? pw : NULL,
                                      .must_change_password = !a.password_stdin,
                                      .tenant = a.tenant};
        int rc = auth_user_create(db, &o, generated, why, sizeof(why));
        if (rc < 0) {
            fprintf(stderr, "horus user add: %s\n",
                    rc == -EINVAL || rc == -EEXIST ? why : horus_strerror(rc));
            code = rc == -EINVAL ? 2 : 1;
        } else if (generated[0]) {
            printf("user '%s' created; one-time password (change it at first login): %s\n", a.name,
                   generated);
        } else {
            printf("user '%s' created\n", a.name);
        }
        memset(generated, 0, sizeof(generated));
    }
    memset(pw, 0, sizeof(pw));
    sto_close(db);
    cfg_snapshot_unref(snap);
    return code;
}

static int user_passwd(int argc, char **argv)
{
    struct id_args a;
    if (parse_args("user passwd", argc, argv, false, &a) < 0)
        return 2;
    if (!a.name) {
        fprintf(stderr, "usage: horus user passwd NAME [--password-stdin] [-c FILE] "
                        "[--data DIR]\n");
        return 2;
    }
    char pw[AUTH_PASSWORD_MAX + 2] = "";
    if (a.password_stdin && read_password(pw, sizeof(pw)) < 0) {
        fprintf(stderr, "horus user passwd: no password on stdin\n");
        return 2;
    }
    bool generated = !a.password_stdin;
    if (generated && auth_password_generate(pw, sizeof(pw)) < 0)
        return 1;
    cfg_snapshot *snap = NULL;
    sto_db *db = NULL;
    int code = app_cli_open_db("user passwd", &a.ov, &snap, &db);
    if (code == 0) {
        char why[200];
        int rc = auth_user_set_password(db, a.name, pw, generated, NULL, why, sizeof(why));
        if (rc < 0) {
            fprintf(stderr, "horus user passwd: %s\n",
                    rc == -EINVAL || rc == -ENOENT ? why : horus_strerror(rc));
            code = rc == -EINVAL ? 2 : 1;
        } else if (generated) {
            printf("password of '%s' reset; one-time password (change it at next login): %s\n",
                   a.name, pw);
        } else {
            printf("password of '%s' changed; its sessions ended\n", a.name);
        }
    }
    memset(pw, 0, sizeof(pw));
    sto_close(db);
    cfg_snapshot_unref(snap);
    return code;
}

static int user_list(int argc, char **argv)
{
    struct id_args a;
    if (parse_args("user list", argc, argv, false, &a) < 0 || a.name)
        return 2;
    cfg_snapshot *snap = NULL;
    sto_db *db = NULL;
    int code = app_cli_open_db("user list", &a.ov, &snap, &db);
    struct sto_user *list = NULL;
    size_t n = 0;
    if (code == 0 && sto_user_list(db, &list, &n) < 0)
        code = 1;
    for (size_t i = 0; i < n; i++)
        printf("%-24s %-10s cameras=%s%s%s%s%s\n", list[i].name, list[i].role, list[i].cameras,
               list[i].tenant[0] ? " tenant=" : "", list[i].tenant,
               list[i].disabled ? " disabled" : "",
               list[i].must_change_password ? " must-change-password" : "");
    sto_user_list_free(list, n);
    sto_close(db);
    cfg_snapshot_unref(snap);
    return code;
}

static int user_disable(int argc, char **argv)
{
    struct id_args a;
    if (parse_args("user disable", argc, argv, false, &a) < 0 || !a.name) {
        fprintf(stderr, "usage: horus user disable NAME [--force] [-c FILE] [--data DIR]\n");
        return 2;
    }
    cfg_snapshot *snap = NULL;
    sto_db *db = NULL;
    int code = app_cli_open_db("user disable", &a.ov, &snap, &db);
    struct sto_user u;
    if (code == 0) {
        int rc = sto_user_get(db, a.name, &u);
        if (rc < 0) {
            fprintf(stderr, "horus user disable: user '%s' does not exist\n", a.name);
            code = 1;
        } else if (!a.force && sto_user_is_last_admin(db, &u)) {
            fprintf(stderr,
                    "horus user disable: '%s' is the last admin; add another first (horus user add "
                    "NAME --role admin) or pass --force\n",
                    a.name);
            sto_user_release(&u);
            code = 1;
        } else {
            struct sto_user_input in = sto_user_input_of(&u);
            in.disabled = true;
            rc = sto_user_update(db, &in);
            sto_user_release(&u);
            if (rc < 0) {
                fprintf(stderr, "horus user disable: %s\n", horus_strerror(rc));
                code = 1;
            } else {
                printf("user '%s' disabled; its sessions ended\n", a.name);
            }
        }
    }
    sto_close(db);
    cfg_snapshot_unref(snap);
    return code;
}

/* The break-glass for a lost phone when no other admin can reset it through the API. */
static int user_mfa_reset(int argc, char **argv)
{
    struct id_args a;
    if (parse_args("user mfa-reset", argc, argv, false, &a) < 0 || !a.name) {
        fprintf(stderr, "usage: horus user mfa-reset NAME [-c FILE] [--data DIR]\n");
        return 2;
    }
    cfg_snapshot *snap = NULL;
    sto_db *db = NULL;
    int code = app_cli_open_db("user mfa-reset", &a.ov, &snap, &db);
    if (code == 0) {
        int rc = sto_mfa_delete(db, a.name);
        if (rc == -ENOENT) {
            fprintf(stderr, "horus user mfa-reset: user '%s' has no second factor\n", a.name);
            code = 1;
        } else if (rc < 0) {
            fprintf(stderr, "horus user mfa-reset: %s\n", horus_strerror(rc));
            code = 1;
        } else {
            printf("second factor of '%s' removed; it signs in with its password and enrols "
                   "again if auth.mfa requires\n",
                   a.name);
        }
    }
    sto_close(db);
    cfg_snapshot_unref(snap);
    return code;
}

/* "90s", "30m", "12h", "30d": a positive integer and one unit. */
static int parse_duration_ms(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    int64_t unit = strcmp(end, "s") == 0   ? 1000
                   : strcmp(end, "m") == 0 ? 60000
                   : strcmp(end, "h") == 0 ? 3600000
                   : strcmp(end, "d") == 0 ? 86400000
                                           : 0;
    if (errno || end == s || v <= 0 || unit == 0 || v > 3650LL * 86400000 / unit)
        return -EINVAL;
    *out = v * unit;
    return 0;
}

static int api_key_add(int argc, char **argv)
{
    struct id_args a;
    if (parse_args("api-key add", argc, argv, true, &a) < 0)
        return 2;
    enum auth_role role;
    if (!a.name || !a.role || auth_role_parse(a.role, &role) < 0) {
        fprintf(stderr, "usage: horus api-key add NAME --role viewer|operator|admin|superadmin "
                        "[--cameras a,b] [--expires DURATION] [--tenant T] [-c FILE] "
                        "[--data DIR]\n");
        return 2;
    }
    int64_t expires_ms = 0;
    if (a.expires) {
        if (parse_duration_ms(a.expires, &expires_ms) < 0 || expires_ms <= 0) {
            fprintf(stderr, "horus api-key add: --expires: '%s' is not a duration such as 30d\n",
                    a.expires);
            return 2;
        }
    }
    cfg_snapshot *snap = NULL;
    sto_db *db = NULL;
    int code = app_cli_open_db("api-key add", &a.ov, &snap, &db);
    if (code == 0)
        code = check_tenant("api-key add", db, a.tenant);
    if (code == 0) {
        int64_t now = clock_realtime_ms(clock_system());
        struct auth_api_key_options o = {.name = a.name,
                                         .role = role,
                                         .cameras = a.cameras,
                                         .now_ms = now,
                                         .expires_at_ms = expires_ms ? now + expires_ms : 0,
                                         .tenant = a.tenant};
        char key[AUTH_API_KEY_MAX], id[AUTH_API_KEY_ID_LEN + 1], why[200];
        int rc = auth_api_key_create(db, &o, key, id, why, sizeof(why));
        if (rc < 0) {
            fprintf(stderr, "horus api-key add: %s\n", rc == -EINVAL ? why : horus_strerror(rc));
            code = rc == -EINVAL ? 2 : 1;
        } else {
            printf("%s\n", key); /* the only time it is shown */
        }
        memset(key, 0, sizeof(key));
    }
    sto_close(db);
    cfg_snapshot_unref(snap);
    return code;
}

int app_cmd_user(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "add") == 0)
        return user_add(argc - 1, argv + 1);
    if (strcmp(sub, "passwd") == 0)
        return user_passwd(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return user_list(argc - 1, argv + 1);
    if (strcmp(sub, "disable") == 0)
        return user_disable(argc - 1, argv + 1);
    if (strcmp(sub, "mfa-reset") == 0)
        return user_mfa_reset(argc - 1, argv + 1);
    fprintf(stderr, "usage: horus user add|passwd|list|disable|mfa-reset ...\n");
    return 2;
}

int app_cmd_api_key(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "add") == 0)
        return api_key_add(argc - 1, argv + 1);
    fprintf(stderr, "usage: horus api-key add NAME --role R [--cameras a,b] [--expires D]\n");
    return 2;
}

/* A quota option: a non-negative integer (0 = unlimited). */
static int parse_quota(const char *opt, const char *s, uint64_t *out)
{
    if (!s)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > INT64_MAX) {
        fprintf(stderr, "horus tenant add: %s: '%s' is not an integer >= 0 (0 = unlimited)\n", opt,
                s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static bool is_tenant_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    bool ok = n >= 1 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '_' ||
             id[i] == '-';
    return ok;
}

static int tenant_add(int argc, char **argv)
{
    struct id_args a;
    if (parse_args("tenant add", argc, argv, false, &a) < 0)
        return 2;
    if (!is_tenant_id(a.name)) {
        fprintf(stderr, "usage: horus tenant add ID [--name N] [--max-cameras N] "
                        "[--max-storage BYTES] [-c FILE] [--data DIR]\n"
                        "  ID: 1..64 characters of [a-z0-9_-]\n");
        return 2;
    }
    struct sto_tenant_input in = {.id = a.name, .name = a.display_name};
    if (parse_quota("--max-cameras", a.max_cameras, &in.max_cameras) < 0 ||
        parse_quota("--max-storage", a.max_storage, &in.max_storage_bytes) < 0)
        return 2;
    if (in.name && strlen(in.name) > 200) {
        fprintf(stderr, "horus tenant add: --name: at most 200 characters\n");
        return 2;
    }
    cfg_snapshot *snap = NULL;
    sto_db *db = NULL;
    int code = app_cli_open_db("tenant add", &a.ov, &snap, &db);
    if (code == 0) {
        int rc = sto_tenant_insert(db, &in);
        if (rc == -EEXIST) {
            fprintf(stderr, "horus tenant add: tenant '%s' already exists\n", a.name);
            code = 1;
        } else if (rc < 0) {
            fprintf(stderr, "horus tenant add: %s\n", horus_strerror(rc));
            code = 1;
        } else {
            /* The daemon's audit chain is its own: a command line change is logged here only. */
            printf("tenant '%s' created (max_cameras=%llu, max_storage_bytes=%llu)\n", a.name,
                   (unsigned long long)in.max_cameras, (unsigned long long)in.max_storage_bytes);
        }
    }
    sto_close(db);
    cfg_snapshot_unref(snap);
    return code;
}

static int tenant_list(int argc, char **argv)
{
    struct id_args a;
    if (parse_args("tenant list", argc, argv, false, &a) < 0 || a.name)
        return 2;
    cfg_snapshot *snap = NULL;
    sto_db *db = NULL;
    int code = app_cli_open_db("tenant list", &a.ov, &snap, &db);
    struct sto_tenant *list = NULL;
    size_t n = 0;
    if (code == 0 && sto_tenant_list(db, &list, &n) < 0)
        code = 1;
    for (size_t i = 0; i < n && code == 0; i++) {
        struct sto_tenant_usage u;
        if (sto_tenant_usage_get(db, list[i].id, &u) < 0) {
            code = 1;
            break;
        }
        printf("%-24s cameras=%llu/%llu storage=%llu/%llu users=%llu api_keys=%llu name=%s\n",
               list[i].id, (unsigned long long)u.cameras, (unsigned long long)list[i].max_cameras,
               (unsigned long long)(u.recording_bytes + u.export_bytes),
               (unsigned long long)list[i].max_storage_bytes, (unsigned long long)u.users,
               (unsigned long long)u.api_keys, list[i].name);
    }
    sto_tenant_list_free(list, n);
    sto_close(db);
    cfg_snapshot_unref(snap);
    return code;
}

int app_cmd_tenant(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "add") == 0)
        return tenant_add(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return tenant_list(argc - 1, argv + 1);
    fprintf(stderr, "usage: horus tenant add ID [--name N] [--max-cameras N] [--max-storage BYTES]"
                    " | horus tenant list\n");
    return 2;
}
