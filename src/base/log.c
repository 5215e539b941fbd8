/*
 * DESIGN: every line is formatted on the calling thread into a thread-local
 * buffer, masked, and then written with a single write(2) under the sink
 * mutex, so lines from different threads never interleave and the lock is
 * held only for the write and the rotation check.
 *
 * Rotation is by size: before a write that would push the file past
 * max_bytes, file.N-1 .. file.1 shift up, the file becomes file.1 and a new
 * file is opened. After a failed write (ENOSPC, EIO) writes are skipped for
 * one second and the number of lost lines is reported in the next line, so
 * a full disk is not made worse by the logger (nginx does the same).
 *
 * Secrets registered with log_secrets_set are replaced by "***" in the
 * message and in every context value before anything is written.
 *
 * The limiter (log_limit_pass) is a fixed table of keys (module, cause,
 * subject) with linear probing, under its own mutex; it never writes while
 * holding it: summaries are copied out and written after the unlock.
 */
#include "log.h"

#include "clock.h"
#include "mask.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192
#define LOG_MAX_SECRETS 256

static _Atomic int log_level_cur = LOG_LEVEL_INFO;
static _Atomic int log_format_cur = LOG_FORMAT_JSON;

/* Lock order: sink_lock, secrets_lock and limit_lock are never held together. */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static int sink_fd = STDERR_FILENO;
static char *sink_path; /* owned; NULL for stderr */
static uint64_t sink_size; /* bytes in the current file */
static uint64_t sink_max_bytes;
static unsigned sink_max_files;
static int64_t sink_backoff_until_ns;
static uint64_t sink_lost_lines;
static bool sink_is_buffered; /* write-behind for info and below (files and pipes only) */
static char pend[64 * 1024]; /* buffered lines not yet written */
static size_t pend_len;
static uint64_t pend_lines;
static int64_t pend_since_ns;

static void flush_locked(int64_t now_ns);

static pthread_rwlock_t secrets_lock = PTHREAD_RWLOCK_INITIALIZER;
static char *secrets[LOG_MAX_SECRETS]; /* owned */
static unsigned nsecrets;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};
static const char *const level_upper[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i < (int)HORUS_ARRAY_LEN(level_names); i++) {
        if (name && strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level >= HORUS_ARRAY_LEN(level_names))
        return "unknown";
    return level_names[level];
}

void log_set_level(enum log_level level)
{
    atomic_store(&log_level_cur, (int)level);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&log_level_cur);
}

void log_set_format(enum log_format format)
{
    atomic_store(&log_format_cur, (int)format);
}

bool log_enabled(enum log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level_cur, memory_order_relaxed);
}

int log_fd(void)
{
    return sink_fd;
}

static int open_append(const char *path, uint64_t *size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    struct stat st;
    *size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return fd;
}

int log_open(const struct log_options *opt)
{
    int fd = STDERR_FILENO;
    uint64_t size = 0;
    char *path = NULL;
    if (opt->file && opt->file[0]) {
        fd = open_append(opt->file, &size);
        if (fd < 0)
            return fd;
        path = horus_strdup(opt->file);
    }
    pthread_mutex_lock(&sink_lock);
    flush_locked(clock_monotonic_ns(clock_system()));
    int old_fd = sink_fd;
    char *old_path = sink_path;
    sink_is_buffered = opt->buffered && !isatty(fd);
    sink_fd = fd;
    sink_path = path;
    sink_size = size;
    sink_max_bytes = opt->max_bytes;
    sink_max_files = opt->max_files;
    sink_backoff_until_ns = 0;
    pthread_mutex_unlock(&sink_lock);
    if (old_fd != STDERR_FILENO)
        close(old_fd);
    free(old_path);
    log_set_level(opt->level);
    log_set_format(opt->format);
    return 0;
}

void log_close(void)
{
    pthread_mutex_lock(&sink_lock);
    flush_locked(clock_monotonic_ns(clock_system()));
    sink_is_buffered = false;
    int old_fd = sink_fd;
    char *old_path = sink_path;
    sink_fd = STDERR_FILENO;
    sink_path = NULL;
    pthread_mutex_unlock(&sink_lock);
    if (old_fd != STDERR_FILENO)
        close(old_fd);
    free(old_path);
}

void log_secrets_set(const char *const *list, unsigned n)
{
    char *fresh[LOG_MAX_SECRETS];
    unsigned count = 0;
    for (unsigned i = 0; i < n && count < LOG_MAX_SECRETS; i++)
        if (list[i] && strlen(list[i]) >= 3)
            fresh[count++] = horus_strdup(list[i]);
    char *old[LOG_MAX_SECRETS];
    pthread_rwlock_wrlock(&secrets_lock);
    unsigned nold = nsecrets;
    memcpy(old, secrets, sizeof(char *) * nold);
    memcpy(secrets, fresh, sizeof(char *) * count);
    nsecrets = count;
    pthread_rwlock_unlock(&secrets_lock);
    for (unsigned i = 0; i < nold; i++)
        free(old[i]);
}

/*
 * Copies src into dst (size bytes) with every registered secret replaced by
 * "***". Returns dst.
 */
static const char *mask_secrets(const char *src, char *dst, size_t size)
{
    pthread_rwlock_rdlock(&secrets_lock);
    if (nsecrets == 0) {
        pthread_rwlock_unlock(&secrets_lock);
        return src;
    }
    size_t o = 0;
    const char *p = src;
    while (*p && o + 1 < size) {
        size_t hit = 0;
        for (unsigned i = 0; i < nsecrets; i++) {
            size_t n = strlen(secrets[i]);
            if (strncmp(p, secrets[i], n) == 0 && n > hit)
                hit = n;
        }
        if (hit) {
            for (const char *m = "***"; *m && o + 1 < size; m++)
                dst[o++] = *m;
            p += hit;
        } else {
            dst[o++] = *p++;
        }
    }
    dst[o] = '\0';
    pthread_rwlock_unlock(&secrets_lock);
    return dst;
}

/*
 * Registered secrets, then every credential form horus_mask_* knows: a
 * field value is one value (a URL with spaces stays one URL), a message is
 * text. Returns dst.
 */
static const char *mask_part(const char *src, char *dst, size_t size, bool is_value)
{
    char tmp[LOG_LINE_MAX];
    const char *s = mask_secrets(src, tmp, sizeof(tmp));
    return is_value ? horus_mask_url(s, dst, size) : horus_mask_text(s, dst, size);
}

struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
};

static void line_putc(struct line *l, char c)
{
    if (l->len + 2 < sizeof(l->buf))
        l->buf[l->len++] = c;
}

static void line_puts(struct line *l, const char *s)
{
    while (*s)
        line_putc(l, *s++);
}

static void line_put_json_string(struct line *l, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    line_putc(l, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            line_puts(l, "\\\"");
            break;
        case '\\':
            line_puts(l, "\\\\");
            break;
        case '\n':
            line_puts(l, "\\n");
            break;
        case '\r':
            line_puts(l, "\\r");
            break;
        case '\t':
            line_puts(l, "\\t");
            break;
        default:
            if (*p < 0x20) {
                line_puts(l, "\\u00");
                line_putc(l, hex[*p >> 4]);
                line_putc(l, hex[*p & 15]);
            } else {
                line_putc(l, (char)*p);
            }
        }
    }
    line_putc(l, '"');
}

/* Text values with spaces or quotes are quoted so lines stay parseable. */
static void line_put_text_value(struct line *l, const char *s)
{
    if (*s && !strpbrk(s, " \"=")) {
        line_puts(l, s);
        return;
    }
    line_put_json_string(l, s);
}

/*
 * The timestamp of every line: the date-time part is formatted once per
 * second per thread and only the milliseconds are written each time, since
 * gmtime_r and snprintf showed up in profiles of the access log.
 */
static void format_ts(char *buf, size_t size)
{
    static _Thread_local int64_t cached_s = -1;
    static _Thread_local char cached[32];
    int64_t ms = clock_realtime_ms(clock_system());
    int64_t sec = ms / 1000;
    if (sec != cached_s) {
        clock_format_rfc3339_ms(sec * 1000, cached, sizeof(cached));
        cached_s = sec;
    }
    /* cached is "YYYY-MM-DDTHH:MM:SS.000Z": patch the three millisecond digits. */
    memcpy(buf, cached, size < sizeof(cached) ? size : sizeof(cached));
    int m = (int)(ms % 1000);
    buf[20] = (char)('0' + m / 100);
    buf[21] = (char)('0' + m / 10 % 10);
    buf[22] = (char)('0' + m % 10);
}

static void format_line(struct line *l, enum log_level level, const char *module,
                        const log_field *fields, const char *msg, uint64_t lost)
{
    char ts[32];
    char masked[LOG_LINE_MAX];
    format_ts(ts, sizeof(ts));
    l->len = 0;
    if (atomic_load(&log_format_cur) == LOG_FORMAT_TEXT) {
        line_puts(l, ts);
        line_putc(l, ' ');
        line_puts(l, level_upper[level]);
        line_putc(l, ' ');
        line_puts(l, module);
        for (const log_field *f = fields; f && f->key; f++) {
            line_putc(l, ' ');
            line_puts(l, f->key);
            line_putc(l, '=');
            line_put_text_value(l,
                                mask_part(f->value ? f->value : "", masked, sizeof(masked), true));
        }
        line_putc(l, ' ');
        line_puts(l, mask_part(msg, masked, sizeof(masked), false));
        if (lost) {
            char note[64];
            snprintf(note, sizeof(note), " (%llu earlier lines lost)", (unsigned long long)lost);
            line_puts(l, note);
        }
    } else {
        line_puts(l, "{\"ts\":\"");
        line_puts(l, ts);
        line_puts(l, "\",\"level\":\"");
        line_puts(l, level_names[level]);
        line_puts(l, "\",\"module\":");
        line_put_json_string(l, module);
        line_puts(l, ",\"msg\":");
        line_put_json_string(l, mask_part(msg, masked, sizeof(masked), false));
        for (const log_field *f = fields; f && f->key; f++) {
            line_putc(l, ',');
            line_put_json_string(l, f->key);
            line_putc(l, ':');
            line_put_json_string(l,
                                 mask_part(f->value ? f->value : "", masked, sizeof(masked), true));
        }
        if (lost) {
            char note[64];
            snprintf(note, sizeof(note), ",\"lost_lines\":%llu", (unsigned long long)lost);
            line_puts(l, note);
        }
        line_putc(l, '}');
    }
    l->buf[l->len++] = '\n';
}

/* Shifts file.N-1 .. file.1 up by one and reopens. Called with sink_lock held. */
static void rotate_locked(void)
{
    size_t n = strlen(sink_path) + 16;
    char *from = horus_malloc(n);
    char *to = horus_malloc(n);
    if (sink_max_files == 0) {
        if (ftruncate(sink_fd, 0) == 0)
            sink_size = 0;
        free(from);
        free(to);
        return;
    }
    for (unsigned i = sink_max_files; i > 1; i--) {
        snprintf(from, n, "%s.%u", sink_path, i - 1);
        snprintf(to, n, "%s.%u", sink_path, i);
        rename(from, to);
    }
    snprintf(to, n, "%s.1", sink_path);
    rename(sink_path, to);
    uint64_t size = 0;
    int fd = open_append(sink_path, &size);
    if (fd >= 0) {
        close(sink_fd);
        sink_fd = fd;
        sink_size = size;
    }
    free(from);
    free(to);
}

/*
 * Writes whole lines, rotating first when the file would grow past
 * max_bytes (splitting at line boundaries so each file stays under the
 * limit). Returns false when a write failed. Called with sink_lock held.
 */
static bool write_lines_locked(const char *buf, size_t len)
{
    while (len > 0) {
        size_t n = len;
        if (sink_path && sink_max_bytes && sink_size + len > sink_max_bytes) {
            size_t room = sink_size < sink_max_bytes ? (size_t)(sink_max_bytes - sink_size) : 0;
            n = 0;
            for (size_t i = 0; i < room && i < len; i++)
                if (buf[i] == '\n')
                    n = i + 1;
            if (n == 0) {
                if (sink_size > 0) {
                    rotate_locked();
                    continue;
                }
                /* One line longer than max_bytes: it gets a file of its own. */
                const char *nl = memchr(buf, '\n', len);
                n = nl ? (size_t)(nl - buf) + 1 : len;
            }
        }
        ssize_t w = write(sink_fd, buf, n);
        if (w != (ssize_t)n)
            return false;
        sink_size += n;
        buf += n;
        len -= n;
    }
    return true;
}

static void flush_locked(int64_t now_ns)
{
    if (pend_len == 0)
        return;
    if (!write_lines_locked(pend, pend_len)) {
        sink_lost_lines += pend_lines;
        sink_backoff_until_ns = now_ns + 1000000000;
    }
    pend_len = 0;
    pend_lines = 0;
}

static void limit_sweep(void);

void log_flush(void)
{
    limit_sweep();
    pthread_mutex_lock(&sink_lock);
    flush_locked(clock_monotonic_ns(clock_system()));
    pthread_mutex_unlock(&sink_lock);
}

void log_crash_flush(void)
{
    /* No lock: the crashing thread may hold it. Best effort, async-signal-safe. */
    if (pend_len > 0 && pend_len <= sizeof(pend) && write(sink_fd, pend, pend_len) < 0)
        return;
}

static _Thread_local struct line tls_line;
static _Thread_local char tls_msg[LOG_LINE_MAX];

void log_write(enum log_level level, const char *module, const log_field *fields, const char *fmt,
               ...)
{
    if ((unsigned)level > LOG_LEVEL_TRACE)
        level = LOG_LEVEL_ERROR;
    int saved_errno = errno;
    va_list ap;
    va_start(ap, fmt);
    /* Constant messages ("request completed") skip the printf machinery. */
    int n;
    if (!strchr(fmt, '%')) {
        size_t len = strnlen(fmt, sizeof(tls_msg));
        n = (int)len;
        if (len >= sizeof(tls_msg))
            len = sizeof(tls_msg) - 1;
        memcpy(tls_msg, fmt, len);
        tls_msg[len] = '\0';
    } else {
        n = vsnprintf(tls_msg, sizeof(tls_msg), fmt, ap);
    }
    va_end(ap);
    if (n >= (int)sizeof(tls_msg))
        memcpy(tls_msg + sizeof(tls_msg) - 4, "...", 4);

    pthread_mutex_lock(&sink_lock);
    uint64_t lost = sink_lost_lines;
    int64_t now_ns = clock_monotonic_ns(clock_system());
    if (now_ns < sink_backoff_until_ns) {
        sink_lost_lines++;
        pthread_mutex_unlock(&sink_lock);
        errno = saved_errno;
        return;
    }
    pthread_mutex_unlock(&sink_lock);

    struct line *l = &tls_line;
    format_line(l, level, module ? module : "main", fields, tls_msg, lost);

    pthread_mutex_lock(&sink_lock);
    if (sink_is_buffered && level >= LOG_LEVEL_INFO && l->len <= sizeof(pend)) {
        if (pend_len + l->len > sizeof(pend))
            flush_locked(now_ns);
        if (pend_len == 0)
            pend_since_ns = now_ns;
        memcpy(pend + pend_len, l->buf, l->len);
        pend_len += l->len;
        pend_lines++;
        sink_lost_lines -= lost;
        /* Under steady traffic lines still reach the file within a second. */
        if (now_ns - pend_since_ns >= 1000000000)
            flush_locked(now_ns);
    } else {
        /* Warnings and errors go out at once, after what was buffered before them. */
        flush_locked(now_ns);
        if (write_lines_locked(l->buf, l->len)) {
            sink_lost_lines -= lost;
        } else {
            sink_lost_lines++;
            sink_backoff_until_ns = now_ns + 1000000000;
        }
    }
    pthread_mutex_unlock(&sink_lock);
    errno = saved_errno;
}

/* ---- rate-limited lines ---- */

#define LIMIT_SLOTS 512
#define LIMIT_PROBE 16 /* slots looked at per key before reusing the least recent */
#define LIMIT_FIELDS 4 /* context fields kept for the summary */
#define LIMIT_SWEEP_MAX 32 /* summaries written per log_flush */

struct limit_entry {
    bool is_used;
    bool is_started; /* a window has begun */
    enum log_level level;
    char module[48];
    char cause[48];
    char subject[96];
    int64_t window_start_ns;
    int64_t last_ns;
    uint64_t suppressed;
    unsigned nfields;
    char keys[LIMIT_FIELDS][32];
    char values[LIMIT_FIELDS][96];
};

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct limit_entry limit_table[LIMIT_SLOTS];
static const horus_clock *_Atomic limit_clock;

void log_limit_set_clock(const struct horus_clock *clock)
{
    atomic_store(&limit_clock, clock);
}

void log_limit_reset(void)
{
    pthread_mutex_lock(&limit_lock);
    memset(limit_table, 0, sizeof(limit_table));
    pthread_mutex_unlock(&limit_lock);
}

static int64_t limit_now_ns(void)
{
    const horus_clock *c = atomic_load(&limit_clock);
    return clock_monotonic_ns(c ? c : clock_system());
}

static uint64_t limit_hash(const char *module, const char *cause, const char *subject)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    const char *parts[3] = {module, cause, subject};
    for (int i = 0; i < 3; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    return h;
}

static void limit_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Starts a new window on e with this line's level and context. */
static void limit_start(struct limit_entry *e, enum log_level level, const log_field *fields,
                        int64_t now_ns)
{
    e->is_started = true;
    e->level = level;
    e->window_start_ns = now_ns;
    e->suppressed = 0;
    e->nfields = 0;
    for (const log_field *f = fields; f && f->key && e->nfields < LIMIT_FIELDS; f++) {
        limit_copy(e->keys[e->nfields], sizeof(e->keys[0]), f->key);
        limit_copy(e->values[e->nfields], sizeof(e->values[0]), f->value);
        e->nfields++;
    }
}

/* Writes "<cause>: repeated N times in the last S s" for a copy of an entry. */
static void limit_write_summary(const struct limit_entry *e, int64_t now_ns)
{
    char count[24];
    snprintf(count, sizeof(count), "%llu", (unsigned long long)e->suppressed);
    log_field fields[LIMIT_FIELDS + 2];
    unsigned n = 0;
    for (unsigned i = 0; i < e->nfields; i++)
        fields[n++] = (log_field){e->keys[i], e->values[i]};
    fields[n++] = (log_field){"repeated", count};
    fields[n] = (log_field){NULL, NULL};
    long long secs = (long long)((now_ns - e->window_start_ns + 500000000) / 1000000000);
    if (log_enabled(e->level))
        log_write(e->level, e->module, fields, "%s: repeated %llu times in the last %lld s",
                  e->cause, (unsigned long long)e->suppressed, secs);
}

/* The entry of a key: found, a free slot made its own, or the least recent reused. */
static struct limit_entry *limit_find(const char *module, const char *cause, const char *subject,
                                      struct limit_entry *evicted, bool *has_evicted)
{
    uint64_t h = limit_hash(module, cause, subject);
    struct limit_entry *oldest = NULL;
    for (unsigned i = 0; i < LIMIT_PROBE; i++) {
        struct limit_entry *e = &limit_table[(h + i) % LIMIT_SLOTS];
        if (!e->is_used) {
            oldest = e;
            break;
        }
        if (strcmp(e->cause, cause) == 0 && strcmp(e->module, module) == 0 &&
            strcmp(e->subject, subject) == 0)
            return e;
        if (!oldest || e->last_ns < oldest->last_ns)
            oldest = e;
    }
    if (oldest->is_used && oldest->suppressed > 0) {
        *evicted = *oldest;
        *has_evicted = true;
    }
    memset(oldest, 0, sizeof(*oldest));
    oldest->is_used = true;
    limit_copy(oldest->module, sizeof(oldest->module), module);
    limit_copy(oldest->cause, sizeof(oldest->cause), cause);
    limit_copy(oldest->subject, sizeof(oldest->subject), subject);
    return oldest;
}

bool log_limit_pass(enum log_level level, const char *module, const char *cause,
                    const log_field *fields)
{
    char m[48], c[48], subj[96];
    limit_copy(m, sizeof(m), module ? module : "main");
    limit_copy(c, sizeof(c), cause);
    limit_copy(subj, sizeof(subj), fields && fields->key ? fields->value : "");
    int64_t now = limit_now_ns();
    static _Thread_local struct limit_entry summary, evicted;
    bool has_summary = false, has_evicted = false, is_pass = false;

    pthread_mutex_lock(&limit_lock);
    struct limit_entry *e = limit_find(m, c, subj, &evicted, &has_evicted);
    if (!e->is_started) {
        limit_start(e, level, fields, now);
        is_pass = true;
    } else if (now - e->window_start_ns >= (int64_t)LOG_LIMIT_WINDOW_MS * 1000000) {
        if (e->suppressed > 0) {
            summary = *e;
            has_summary = true;
        }
        limit_start(e, level, fields, now);
        is_pass = true;
    } else {
        e->suppressed++;
    }
    e->last_ns = now;
    pthread_mutex_unlock(&limit_lock);

    if (has_evicted)
        limit_write_summary(&evicted, now);
    if (has_summary)
        limit_write_summary(&summary, now);
    return is_pass;
}

/* Writes the summaries of windows that are over (bursts that ended). */
static void limit_sweep(void)
{
    static _Thread_local struct limit_entry due[LIMIT_SWEEP_MAX];
    unsigned n = 0;
    int64_t now = limit_now_ns();
    pthread_mutex_lock(&limit_lock);
    for (unsigned i = 0; i < LIMIT_SLOTS && n < LIMIT_SWEEP_MAX; i++) {
        struct limit_entry *e = &limit_table[i];
        if (e->is_used && e->suppressed > 0 &&
            now - e->window_start_ns >= (int64_t)LOG_LIMIT_WINDOW_MS * 1000000) {
            due[n++] = *e;
            /* The window stays over: the next line of this key is written in full. */
            e->suppressed = 0;
        }
    }
    pthread_mutex_unlock(&limit_lock);
    for (unsigned i = 0; i < n; i++)
        limit_write_summary(&due[i], now);
}
