/*
 * DESIGN: the index journal (format in journal_int.h, decisions in
 * docs/design/0012-index-journal.md). Job: make a closed segment's index
 * row durable on the recordings' own disk before the database is asked to
 * take it, and remember which rows the database has not confirmed yet.
 *
 * Appends come from whichever thread closes segments (the recorder's, the
 * main thread at start and stop); each one is written at the end of the
 * valid bytes with one pwrite and made durable with fdatasync before the
 * insert is queued. Acknowledgements come from the database writer's
 * callbacks and touch memory only: an entry whose acknowledgement a crash
 * lost is replayed at the next start, and a replayed insert of a row that
 * is already there does nothing. When no entry is waiting, the next append
 * first cuts the file back to its header (compaction), so in steady state
 * the file holds a handful of rows; while the database refuses rows it
 * grows, and that growth is the backlog.
 *
 * Room for appends is reserved with fallocate(KEEP_SIZE): a disk that
 * filled up with video still takes the next index rows.
 *
 * Threads: any. Two mutexes with different jobs: io_lock serialises the
 * file (appends and compaction: held across pwrite and fdatasync, which is
 * the point), lock guards the pending list and is never held across I/O,
 * so an acknowledgement never waits for a disk. Order: io_lock, then lock.
 */
#include "journal_int.h"
#include "bytes.h"

#include "err.h"
#include "fs.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "record"

#define RECORD_FRAME 12 /* magic, length, crc */
#define COMPACT_BYTES (256 * 1024) /* cut back to the header past this, when nothing waits */
#define RESERVE_BYTES (4 * 1024 * 1024) /* fallocated ahead of the appends */
#define MAX_FILE_BYTES ((size_t)1 << 30) /* a bigger file is read up to this much */

/* ---- format ---- */

static void put_u16(uint8_t **p, uint16_t v)
{
    (*p)[0] = (uint8_t)v;
    (*p)[1] = (uint8_t)(v >> 8);
    *p += 2;
}

static void put_u32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        (*p)[i] = (uint8_t)(v >> (8 * i));
    *p += 4;
}

static void put_u64(uint8_t **p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        (*p)[i] = (uint8_t)(v >> (8 * i));
    *p += 8;
}

static void put_str(uint8_t **p, const char *s, size_t len)
{
    put_u16(p, (uint16_t)len);
    if (len)
        memcpy(*p, s, len);
    (*p)[len] = '\0';
    *p += len + 1;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int rec_journal_encode(const struct sto_recording_input *row, uint64_t seq, uint8_t **out,
                       size_t *size)
{
    const char *strs[5] = {row->camera_id, row->stream, row->path, row->codec ? row->codec : "",
                           row->sha256 ? row->sha256 : ""};
    size_t lens[5];
    size_t payload = 1 + 8 + 6 * 8 + 4 + (row->fragments ? row->fragments_size : 0);
    for (int i = 0; i < 5; i++) {
        lens[i] = strlen(strs[i]);
        if (lens[i] > UINT16_MAX)
            return -EINVAL;
        payload += 2 + lens[i] + 1;
    }
    if (payload > REC_JOURNAL_MAX_PAYLOAD)
        return -EINVAL;
    uint8_t *buf = horus_malloc(RECORD_FRAME + payload);
    uint8_t *p = buf + RECORD_FRAME;
    *p++ = REC_JOURNAL_RECORD_ROW;
    put_u64(&p, seq);
    put_u64(&p, (uint64_t)row->start_us);
    put_u64(&p, (uint64_t)row->end_us);
    put_u64(&p, row->bytes);
    put_u64(&p, (uint64_t)row->width);
    put_u64(&p, (uint64_t)row->height);
    put_u64(&p, (uint64_t)row->pinned_until_us);
    for (int i = 0; i < 5; i++)
        put_str(&p, strs[i], lens[i]);
    size_t nfrag = row->fragments ? row->fragments_size : 0;
    put_u32(&p, (uint32_t)nfrag);
    if (nfrag)
        memcpy(p, row->fragments, nfrag);
    uint8_t *h = buf;
    put_u32(&h, REC_JOURNAL_MAGIC);
    put_u32(&h, (uint32_t)payload);
    put_u32(&h, horus_crc32(buf + RECORD_FRAME, payload));
    *out = buf;
    *size = RECORD_FRAME + payload;
    return 0;
}

/* A bounded reader over one payload. */
struct cursor {
    const uint8_t *p;
    size_t left;
    bool is_bad;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
    if (c->is_bad || n > c->left) {
        c->is_bad = true;
        return NULL;
    }
    const uint8_t *at = c->p;
    c->p += n;
    c->left -= n;
    return at;
}

static uint64_t take_u64(struct cursor *c)
{
    const uint8_t *p = take(c, 8);
    return p ? get_u64(p) : 0;
}

static const char *take_str(struct cursor *c)
{
    const uint8_t *p = take(c, 2);
    size_t len = p ? (size_t)p[0] | (size_t)p[1] << 8 : 0;
    const uint8_t *s = take(c, len + 1);
    if (!s || s[len] != '\0' || memchr(s, '\0', len)) {
        c->is_bad = true;
        return NULL;
    }
    return (const char *)s;
}

/* Decodes a row payload; false when it is not a whole, well-formed row. */
static bool decode_row(const uint8_t *payload, size_t len, struct rec_journal_record *rec)
{
    struct cursor c = {payload, len, false};
    const uint8_t *type = take(&c, 1);
    if (!type || *type != REC_JOURNAL_RECORD_ROW)
        return false;
    struct sto_recording_input *r = &rec->row;
    memset(r, 0, sizeof(*r));
    rec->seq = take_u64(&c);
    r->start_us = (int64_t)take_u64(&c);
    r->end_us = (int64_t)take_u64(&c);
    r->bytes = take_u64(&c);
    r->width = (int64_t)take_u64(&c);
    r->height = (int64_t)take_u64(&c);
    r->pinned_until_us = (int64_t)take_u64(&c);
    r->camera_id = take_str(&c);
    r->stream = take_str(&c);
    r->path = take_str(&c);
    r->codec = take_str(&c);
    r->sha256 = take_str(&c);
    const uint8_t *n = take(&c, 4);
    size_t nfrag = n ? get_u32(n) : 0;
    const uint8_t *frag = take(&c, nfrag);
    if (c.is_bad || c.left != 0)
        return false;
    r->fragments = nfrag ? frag : NULL;
    r->fragments_size = nfrag;
    return true;
}

/* The size of a whole, matching record at buf[0..len), or 0. */
static size_t record_at(const uint8_t *buf, size_t len)
{
    if (len < RECORD_FRAME || get_u32(buf) != REC_JOURNAL_MAGIC)
        return 0;
    uint32_t payload = get_u32(buf + 4);
    if (payload == 0 || payload > REC_JOURNAL_MAX_PAYLOAD || payload > len - RECORD_FRAME)
        return 0;
    if (horus_crc32(buf + RECORD_FRAME, payload) != get_u32(buf + 8))
        return 0;
    return RECORD_FRAME + payload;
}

int rec_journal_parse(const uint8_t *buf, size_t len, rec_journal_record_cb cb, void *arg,
                      struct rec_journal_parse_result *res)
{
    *res = (struct rec_journal_parse_result){0};
    if (len < REC_JOURNAL_HEADER_SIZE || memcmp(buf, REC_JOURNAL_HEADER, REC_JOURNAL_HEADER_SIZE))
        return HORUS_EPARSE;
    size_t pos = REC_JOURNAL_HEADER_SIZE;
    res->valid_size = pos;
    size_t skipped = 0; /* bytes skipped since the last valid record */
    while (pos < len) {
        size_t n = record_at(buf + pos, len - pos);
        if (n == 0) {
            pos++;
            skipped++;
            continue;
        }
        struct rec_journal_record rec = {.offset = pos, .size = n};
        bool is_row = decode_row(buf + pos + RECORD_FRAME, n - RECORD_FRAME, &rec);
        /* A whole record of a type this version does not know is stepped over, not damage. */
        res->skipped_bytes += skipped;
        skipped = 0;
        pos += n;
        res->valid_size = pos;
        if (!is_row)
            continue;
        res->records++;
        if (cb) {
            int rc = cb(arg, &rec);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- the file ---- */

struct pending {
    uint64_t seq;
    char *path; /* owned: relative to the data directory */
    size_t offset, size; /* in replay_buf; size 0 for entries appended since open */
};

struct rec_journal {
    _Atomic int refs;
    char *path; /* owned */
    int fd;
    pthread_mutex_t io_lock; /* serialises writes to fd; guards size */
    uint64_t size; /* valid bytes: the next append goes here */
    pthread_mutex_t lock; /* guards what follows; never held across I/O */
    uint64_t next_seq;
    struct pending *pending; /* ordered by seq */
    size_t npending, cap;
    uint8_t *replay_buf; /* owned: the file as read at open, until replayed */
    size_t replay_len;
    metrics_series *m_pending, *m_failed;
};

static void pending_add(rec_journal *j, uint64_t seq, const char *path, size_t offset, size_t size)
{
    if (j->npending == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 64;
        j->pending = horus_realloc(j->pending, j->cap * sizeof(*j->pending));
    }
    j->pending[j->npending++] =
        (struct pending){.seq = seq, .path = horus_strdup(path), .offset = offset, .size = size};
    if (j->m_pending)
        metrics_gauge_set(j->m_pending, (double)j->npending);
}

static int collect_pending(void *arg, const struct rec_journal_record *rec)
{
    rec_journal *j = arg;
    pending_add(j, rec->seq, rec->row.path, rec->offset, rec->size);
    if (rec->seq >= j->next_seq)
        j->next_seq = rec->seq + 1;
    return 0;
}

/* Cuts the file to its header and reserves room again. Caller holds io_lock. */
static int truncate_to_header(rec_journal *j)
{
    int rc = ftruncate(j->fd, REC_JOURNAL_HEADER_SIZE) < 0 ? -errno : 0;
    if (rc == 0 && fdatasync(j->fd) < 0)
        rc = -errno;
    if (rc == 0) {
        j->size = REC_JOURNAL_HEADER_SIZE;
        (void)fallocate(j->fd, FALLOC_FL_KEEP_SIZE, 0, RESERVE_BYTES);
    }
    return rc;
}

/* Reads the whole file (at most MAX_FILE_BYTES) into a new buffer. */
static int read_file(int fd, uint8_t **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    size_t want = (size_t)st.st_size < MAX_FILE_BYTES ? (size_t)st.st_size : MAX_FILE_BYTES;
    uint8_t *buf = horus_malloc(want ? want : 1);
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, buf + got, want - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    *out = buf;
    *len = got;
    return 0;
}

/* Starts a fresh file: header, fdatasync, the directory entry fsynced. */
static int create_fresh(rec_journal *j)
{
    int rc = ftruncate(j->fd, 0) < 0 ? -errno : 0;
    if (rc == 0)
        rc = fs_pwrite_all(j->fd, (const uint8_t *)REC_JOURNAL_HEADER, REC_JOURNAL_HEADER_SIZE, 0);
    if (rc == 0 && fdatasync(j->fd) < 0)
        rc = -errno;
    if (rc == 0) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", j->path);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            rc = fs_fsync_dir(dir);
        }
    }
    j->size = REC_JOURNAL_HEADER_SIZE;
    return rc;
}

static int open_file(rec_journal *j)
{
    j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0)
        return -errno;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_file(j->fd, &buf, &len);
    if (rc < 0)
        return rc;
    if (len == 0) {
        free(buf);
        return create_fresh(j);
    }
    struct rec_journal_parse_result res;
    rc = rec_journal_parse(buf, len, collect_pending, j, &res);
    if (rc == HORUS_EPARSE) {
        free(buf);
        char aside[PATH_MAX];
        snprintf(aside, sizeof(aside), "%s.corrupt", j->path);
        log_error_kv(LOG_KV({"path", j->path}),
                     "index journal has no valid header: moved to '%s', starting a new one", aside);
        if (rename(j->path, aside) < 0)
            return -errno;
        close(j->fd);
        j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        return j->fd < 0 ? -errno : create_fresh(j);
    }
    if (res.skipped_bytes || res.valid_size < len)
        log_warn_kv(LOG_KV({"path", j->path}),
                    "index journal: skipped %zu damaged bytes and a torn tail of %zu bytes",
                    res.skipped_bytes, len - res.valid_size);
    if (res.valid_size < len && ftruncate(j->fd, (off_t)res.valid_size) < 0)
        rc = -errno;
    j->size = res.valid_size;
    j->replay_buf = buf;
    j->replay_len = res.valid_size;
    return rc;
}

int rec_journal_open(const char *path, metrics_registry *metrics, rec_journal **out)
{
    rec_journal *j = horus_calloc(1, sizeof(*j));
    atomic_init(&j->refs, 1);
    j->path = horus_strdup(path);
    j->fd = -1;
    j->next_seq = 1;
    pthread_mutex_init(&j->io_lock, NULL);
    pthread_mutex_init(&j->lock, NULL);
    if (metrics) {
        j->m_pending = metrics_series_get(metrics_family_add(
            metrics,
            &(struct metrics_desc){.type = METRICS_GAUGE,
                                   .name = "horus_record_index_journal_pending",
                                   .help = "Closed segments whose index row the database has "
                                           "not confirmed yet (kept in the index journal)"}));
        j->m_failed = metrics_series_get(metrics_family_add(
            metrics, &(struct metrics_desc){
                         .type = METRICS_COUNTER,
                         .name = "horus_record_index_journal_errors_total",
                         .help = "Index rows that could not be written to the index journal"}));
    }
    int rc = fs_mkdirs_for(path);
    if (rc == 0)
        rc = open_file(j);
    if (rc == 0)
        (void)fallocate(j->fd, FALLOC_FL_KEEP_SIZE, 0, RESERVE_BYTES);
    if (rc < 0) {
        rec_journal_unref(j);
        return rc;
    }
    *out = j;
    return 0;
}

rec_journal *rec_journal_ref(rec_journal *j)
{
    atomic_fetch_add(&j->refs, 1);
    return j;
}

void rec_journal_unref(rec_journal *j)
{
    if (!j || atomic_fetch_sub(&j->refs, 1) != 1)
        return;
    /*
     * The last reference: every row is committed or has failed for good.
     * With none waiting the file forgets them all, so the next start
     * replays nothing (a clean stop leaves just the header).
     */
    if (j->fd >= 0 && j->npending == 0 && !j->replay_buf && j->size > REC_JOURNAL_HEADER_SIZE)
        (void)truncate_to_header(j);
    if (j->fd >= 0)
        close(j->fd);
    for (size_t i = 0; i < j->npending; i++)
        free(j->pending[i].path);
    free(j->pending);
    free(j->replay_buf);
    pthread_mutex_destroy(&j->io_lock);
    pthread_mutex_destroy(&j->lock);
    free(j->path);
    free(j);
}

int rec_journal_append(rec_journal *j, const struct sto_recording_input *row, uint64_t *seq)
{
    pthread_mutex_lock(&j->lock);
    uint64_t s = j->next_seq++;
    pthread_mutex_unlock(&j->lock);
    uint8_t *buf;
    size_t n;
    int rc = rec_journal_encode(row, s, &buf, &n);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&j->io_lock);
    pthread_mutex_lock(&j->lock);
    bool is_idle = j->npending == 0 && !j->replay_buf;
    pthread_mutex_unlock(&j->lock);
    /* Nothing waits: every row so far is committed, so the file may forget them. */
    if (is_idle && j->size > COMPACT_BYTES)
        (void)truncate_to_header(j);
    uint64_t at = j->size;
    rc = fs_pwrite_all(j->fd, buf, n, at);
    if (rc == 0 && fdatasync(j->fd) < 0)
        rc = -errno;
    if (rc == 0) {
        j->size = at + n;
        pthread_mutex_lock(&j->lock);
        pending_add(j, s, row->path, 0, 0);
        pthread_mutex_unlock(&j->lock);
    } else {
        (void)ftruncate(j->fd, (off_t)at); /* no half record stays behind */
    }
    pthread_mutex_unlock(&j->io_lock);
    free(buf);
    if (rc < 0 && j->m_failed)
        metrics_counter_inc(j->m_failed);
    if (rc == 0)
        *seq = s;
    return rc;
}

void rec_journal_ack(rec_journal *j, uint64_t seq)
{
    char *path = NULL;
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->npending; i++) {
        if (j->pending[i].seq != seq)
            continue;
        path = j->pending[i].path;
        memmove(&j->pending[i], &j->pending[i + 1], (j->npending - i - 1) * sizeof(*j->pending));
        j->npending--;
        break;
    }
    if (j->m_pending)
        metrics_gauge_set(j->m_pending, (double)j->npending);
    pthread_mutex_unlock(&j->lock);
    free(path);
}

int rec_journal_replay(rec_journal *j, rec_journal_record_cb cb, void *arg)
{
    /* Copy what to replay first: cb acknowledges entries, which edits the list. */
    pthread_mutex_lock(&j->lock);
    uint8_t *buf = j->replay_buf;
    j->replay_buf = NULL;
    size_t n = 0;
    struct pending *todo = horus_calloc(j->npending ? j->npending : 1, sizeof(*todo));
    for (size_t i = 0; buf && i < j->npending; i++)
        if (j->pending[i].size)
            todo[n++] = j->pending[i];
    pthread_mutex_unlock(&j->lock);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct rec_journal_record rec = {.offset = todo[i].offset, .size = todo[i].size};
        if (!decode_row(buf + todo[i].offset + RECORD_FRAME, todo[i].size - RECORD_FRAME, &rec))
            continue; /* parsed once at open: cannot happen */
        rc = cb(arg, &rec);
    }
    free(todo);
    free(buf);
    return rc;
}

size_t rec_journal_pending(rec_journal *j)
{
    pthread_mutex_lock(&j->lock);
    size_t n = j->npending;
    pthread_mutex_unlock(&j->lock);
    return n;
}

bool rec_journal_has_path(rec_journal *j, const char *path)
{
    bool found = false;
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->npending && !found; i++)
        found = strcmp(j->pending[i].path, path) == 0;
    pthread_mutex_unlock(&j->lock);
    return found;
}
