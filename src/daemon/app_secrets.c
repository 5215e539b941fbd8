/*
 * DESIGN: the secret box at start and `horus secrets rotate`
 * (docs/design/0019). At start the key is chosen (secrets.key, else
 * <data>/secret.key), checked against what the database holds (a sealed
 * row under a key id the box lacks stops the start with a sentence naming
 * the key file, instead of cameras failing one by one), an interrupted
 * rotation is finished or undone, and plain camera URLs and TOTP secrets are sealed.
 *
 * Rotation order (crash-safe; secret_box.h): write <data>/secret.key.new,
 * re-seal every value in one transaction, rename .new over secret.key. The
 * command takes the data directory's lock like `horus check`, so the
 * daemon is stopped: a running daemon would keep sealing with the old key.
 *
 * Thread: main.
 */
#include "app.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MODULE "main"

/* Finishes (values use the pending key) or undoes an interrupted rotation. */
static int settle_pending(sto_secret_box *box, const struct sto_secret_census *census, char *why,
                          size_t size)
{
    const char *pending = sto_secret_box_pending_id(box);
    if (!pending)
        return 0;
    bool is_used = false;
    for (size_t i = 0; i < census->nkey_ids; i++)
        is_used = is_used || strcmp(census->key_ids[i], pending) == 0;
    char *errmsg = NULL;
    int rc = is_used ? sto_secret_box_rotate_commit(box, &errmsg)
                     : sto_secret_box_rotate_abort(box, &errmsg);
    if (rc < 0) {
        snprintf(why, size, "settle the interrupted key rotation: %s", errmsg);
        free(errmsg);
        return rc;
    }
    log_warn_kv(LOG_KV({"key_id", sto_secret_box_key_id(box)}),
                is_used ? "an interrupted key rotation had committed: its new key is now in use"
                        : "an interrupted key rotation had not committed: its new key is dropped");
    return 0;
}

int app_secrets_open(sto_db *db, const char *data_dir, const char *key_text, sto_secret_box **out,
                     char *why, size_t size)
{
    *out = NULL;
    struct sto_secret_census census;
    int rc = sto_secrets_census(db, &census);
    if (rc < 0) {
        snprintf(why, size, "read the secrets at rest: %s", horus_strerror(rc));
        return rc;
    }
    char key_file[PATH_MAX];
    snprintf(key_file, sizeof(key_file), "%s/secret.key", data_dir);
    bool is_new_file = !(key_text && key_text[0]) && access(key_file, F_OK) != 0;
    struct sto_secret_box_options o = {
        .key_text = key_text, .key_file = key_file, .may_create = census.sealed == 0};
    sto_secret_box *box = NULL;
    char *errmsg = NULL;
    rc = sto_secret_box_open(&o, &box, &errmsg);
    if (rc == -ENOENT)
        snprintf(why, size,
                 "%s; %zu secrets (camera URL passwords, TOTP secrets) are sealed under key id %s: "
                 "restore the key file or set secrets.key",
                 errmsg, census.sealed, census.nkey_ids ? census.key_ids[0] : "?");
    else if (rc < 0)
        snprintf(why, size, "%s", errmsg);
    free(errmsg);
    if (rc < 0)
        return rc;
    if (is_new_file)
        log_info_kv(LOG_KV({"file", key_file}, {"key_id", sto_secret_box_key_id(box)}),
                    "secret key created (back it up with the database)");
    rc = settle_pending(box, &census, why, size);
    for (size_t i = 0; rc == 0 && i < census.nkey_ids; i++) {
        if (!sto_secret_box_has_key(box, census.key_ids[i])) {
            snprintf(why, size,
                     "secrets are sealed under key id %s but '%s' holds key id %s: "
                     "wrong key?",
                     census.key_ids[i], sto_secret_box_source(box), sto_secret_box_key_id(box));
            rc = -ENOKEY;
        }
    }
    size_t changed = 0;
    if (rc == 0) {
        sto_set_secret_box(db, box);
        rc = sto_secrets_seal(db, &changed, why, size);
        if (rc < 0)
            sto_set_secret_box(db, NULL);
    }
    if (rc < 0) {
        sto_secret_box_free(box);
        return rc;
    }
    if (changed > 0)
        log_info_kv(LOG_KV({"key_id", sto_secret_box_key_id(box)}),
                    "sealed %zu secrets stored in clear (camera URL passwords, TOTP secrets)",
                    changed);
    *out = box;
    return 0;
}

/* Rotates the key of data_dir's database. Returns the exit code. */
static int rotate_run(const char *config_path, const char *data_override)
{
    cfg_snapshot *snap = NULL;
    if (app_config_load(config_path, &snap) < 0)
        return 2;
    const struct horus_config *c = cfg_snapshot_data(snap);
    char *data_dir = horus_strdup(data_override ? data_override : c->storage.path);
    int exit_code = 1, lock_fd = -1;
    sto_db *db = NULL;
    sto_secret_box *box = NULL;
    log_set_level(LOG_LEVEL_WARN);
    char why[PATH_MAX + 256];
    char *errmsg = NULL;
    if (app_data_lock(data_dir, &lock_fd, why, sizeof(why)) < 0) {
        fprintf(stderr, "horus secrets rotate: %s\n", why);
        goto out;
    }
    struct sto_open_options so = {.db = &c->database, .data_dir = data_dir};
    int rc = sto_open(&so, &db, &errmsg);
    if (rc == 0 && (rc = sto_start(db)) < 0)
        errmsg = horus_asprintf("start writer thread: %s", horus_strerror(rc));
    if (rc < 0) {
        fprintf(stderr, "horus secrets rotate: open database: %s\n",
                errmsg ? errmsg : horus_strerror(rc));
        goto out;
    }
    if (app_secrets_open(db, data_dir, c->secrets.key, &box, why, sizeof(why)) < 0) {
        fprintf(stderr, "horus secrets rotate: %s\n", why);
        goto out;
    }
    char old_id[STO_SECRET_KEY_ID_LEN + 1];
    snprintf(old_id, sizeof(old_id), "%s", sto_secret_box_key_id(box));
    if (sto_secret_box_rotate_begin(box, &errmsg) < 0) {
        fprintf(stderr, "horus secrets rotate: %s\n", errmsg);
        goto out;
    }
    size_t changed = 0;
    if (sto_secrets_seal(db, &changed, why, sizeof(why)) < 0) {
        fprintf(stderr, "horus secrets rotate: %s; the old key stays\n", why);
        char *ignored = NULL;
        sto_secret_box_rotate_abort(box, &ignored);
        free(ignored);
        goto out;
    }
    if (sto_secret_box_rotate_commit(box, &errmsg) < 0) {
        /* Values are under the new key, still in secret.key.new: the next start finishes. */
        fprintf(stderr, "horus secrets rotate: %s; the next start completes the rotation\n",
                errmsg);
        goto out;
    }
    printf("rotated the secret key %s -> %s: %zu secrets re-encrypted\n", old_id,
           sto_secret_box_key_id(box), changed);
    exit_code = 0;
out:
    free(errmsg);
    if (db)
        sto_set_secret_box(db, NULL);
    sto_close(db);
    sto_secret_box_free(box);
    if (lock_fd >= 0)
        close(lock_fd);
    cfg_snapshot_unref(snap);
    free(data_dir);
    return exit_code;
}

int app_cmd_secrets(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "rotate") != 0) {
        fprintf(stderr, "usage: horus secrets rotate [-c FILE] [--data DIR]\n");
        return 2;
    }
    const char *config_path = NULL, *data_dir = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--data") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "horus secrets rotate: option '%s' needs a value\n", a);
                return 2;
            }
            if (strcmp(a, "--data") == 0)
                data_dir = argv[++i];
            else
                config_path = argv[++i];
        } else {
            fprintf(stderr, "horus secrets rotate: unknown argument '%s'\n", a);
            return 2;
        }
    }
    return rotate_run(config_path, data_dir);
}
