/*
 * DESIGN: an export checks its sources before it remuxes them. Each
 * segment file the export will read is hashed (SHA-256, the hash the
 * recorder computed while writing it and stored in its index row) and
 * compared with the row, so an export never hands over footage that
 * changed on disk since it was recorded (bit rot, a truncated copy,
 * tampering) and never reports "done" over a file that vanished. A
 * missing or mismatched file fails the job, naming the files, rather than
 * producing an export with a silent hole or altered frames; the operator
 * can export the ranges around them. Rows without a recorded hash (written
 * by `horus check --repair`) are read as they are.
 *
 * The check reads each file once more (sequentially, 1 MiB at a time) and
 * stops within one read when the job is cancelled or the daemon stops.
 *
 * Thread: a pb-export worker.
 */
#include "export_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MODULE "export"

int pb_stop_code(const atomic_bool *is_cancelled, const atomic_bool *is_stopping)
{
    if (atomic_load(is_cancelled))
        return -ECANCELED;
    if (atomic_load(is_stopping))
        return HORUS_ESTOPPED;
    return 0;
}

int pb_hash_fd(int fd, const atomic_bool *is_cancelled, const atomic_bool *is_stopping,
               char hex[65], uint64_t *size)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    size_t bufsize = 1 << 20;
    uint8_t *buf = horus_malloc(bufsize);
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        rc = pb_stop_code(is_cancelled, is_stopping);
        if (rc < 0)
            break;
        ssize_t n = read(fd, buf, bufsize);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)n);
        total += (uint64_t)n;
    }
    if (rc == 0) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned dlen = 0;
        EVP_DigestFinal_ex(md, digest, &dlen);
        for (unsigned i = 0; i < dlen && i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        if (size)
            *size = total;
    }
    free(buf);
    EVP_MD_CTX_free(md);
    return rc;
}

/* Hashes path into hex[65]. Returns 0, a stop code, or -errno. */
static int hash_path(const struct pb_verify *v, const char *path, char hex[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = pb_hash_fd(fd, v->is_cancelled, v->is_stopping, hex, NULL);
    close(fd);
    return rc;
}

/* Appends "what 'path'" to the error list, keeping it a sentence that fits. */
static void note_problem(struct pb_verify *v, const char *what, const char *path)
{
    size_t len = strlen(v->error);
    if (len + strlen(what) + strlen(path) + 8 >= sizeof(v->error) - 16) {
        if (!strstr(v->error, ", ..."))
            snprintf(v->error + len, sizeof(v->error) - len, ", ...");
        return;
    }
    snprintf(v->error + len, sizeof(v->error) - len, "%s%s '%s'", len ? ", " : "", what, path);
}

int pb_export_verify(struct pb_verify *v)
{
    v->missing = v->corrupt = 0;
    v->error[0] = '\0';
    int rc = 0;
    for (size_t i = 0; i < v->nrows && rc == 0; i++) {
        const struct sto_recording *row = &v->rows[i];
        const struct sto_recording *prev = i ? &v->rows[i - 1] : NULL;
        if (prev && strcmp(prev->path, row->path) == 0 &&
            strcmp(prev->sha256 ? prev->sha256 : "", row->sha256 ? row->sha256 : "") == 0)
            continue; /* the same file again (only synthetic indexes do this): checked */
        char path[4096], hex[65] = "";
        snprintf(path, sizeof(path), "%s/%s", v->data_dir, row->path);
        int hrc = hash_path(v, path, hex);
        if (hrc == -ECANCELED || hrc == HORUS_ESTOPPED) {
            rc = hrc;
        } else if (hrc < 0) {
            v->missing++;
            note_problem(v, hrc == -ENOENT ? "missing" : "unreadable", row->path);
            log_warn_kv(LOG_KV({"path", row->path}), "export source unreadable: %s",
                        horus_strerror(hrc));
        } else if (row->sha256 && row->sha256[0] && strcmp(hex, row->sha256) != 0) {
            v->corrupt++;
            note_problem(v, "corrupt", row->path);
            log_warn_kv(LOG_KV({"path", row->path}, {"recorded", row->sha256}, {"actual", hex}),
                        "export source does not match its recorded sha256");
        }
    }
    if (rc == 0 && (v->missing || v->corrupt)) {
        char list[sizeof(v->error)];
        snprintf(list, sizeof(list), "%s", v->error);
        int n = snprintf(v->error, sizeof(v->error),
                         "source segments changed since they were recorded (%u missing or "
                         "unreadable, %u not matching their recorded sha256): ",
                         v->missing, v->corrupt);
        if (n > 0 && (size_t)n < sizeof(v->error)) {
            size_t len = strnlen(list, sizeof(v->error) - (size_t)n - 1);
            memcpy(v->error + n, list, len);
            v->error[(size_t)n + len] = '\0';
        }
        rc = v->missing ? -ENOENT : -EBADMSG;
    }
    return rc;
}
