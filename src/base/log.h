/*
 * Structured logging: JSON lines (default) or text, five levels, a module
 * name per line and key=value context, size-based rotation, a level that can
 * change at run time, and masking of registered secrets and of every
 * credential form base/mask.h knows (URL userinfo, secret-named query
 * parameters, bearer tokens, JWTs) in every line.
 *
 *   #define LOG_MODULE "ingest"
 *   log_warn_kv(LOG_KV({"camera", id}, {"stream", "main"}),
 *               "reconnect in %d ms: %s", delay_ms, horus_strerror(rc));
 *
 * The level is checked before arguments are evaluated. Thread: any.
 */
#ifndef HORUS_LOG_H
#define HORUS_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
    LOG_LEVEL_ERROR,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_TRACE,
};

enum log_format {
    LOG_FORMAT_JSON,
    LOG_FORMAT_TEXT,
};

typedef struct log_field {
    const char *key;
    const char *value;
} log_field;

/* A NULL-terminated compound literal of context fields. */
#define LOG_KV(...) ((const log_field[]){__VA_ARGS__, {0, 0}})

struct log_options {
    enum log_level level;
    enum log_format format;
    const char *file; /* NULL or "" for stderr; borrowed during log_open */
    uint64_t max_bytes; /* rotate when the file would grow past this; 0 = never */
    unsigned max_files;
    /* rotated files kept: file.1 .. file.N */ /*
                                                * Write-behind for info, debug and trace lines
                                                * when the sink is not a terminal: they are
                                                * written in batches, at the latest a second
                                                * after they were logged (or at the next
                                                * log_flush). Warnings and errors flush the
                                                * batch and are written at once. Saves a
                                                * write(2) per access line.
                                                */
    bool buffered;
};

/*
 * (Re)configures the sink. Opens the file in append mode; on failure keeps
 * the previous sink and returns -errno. Thread: main only (start, reload).
 */
int log_open(const struct log_options *opt);

/* Flushes buffered lines and closes the file sink; later lines go to stderr. */
void log_close(void);

/* Writes buffered lines now. Thread: any; main calls it every second. */
void log_flush(void);

/* Writes buffered lines without locking, from the crash handler only. */
void log_crash_flush(void);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_format(enum log_format format);

/* Parses "error".."trace". Returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

/*
 * Replaces the set of secret strings that are masked as "***" wherever they
 * appear in a line. Copies the strings. Strings shorter than 3 characters
 * are ignored (masking them would mangle ordinary text).
 */
void log_secrets_set(const char *const *secrets, unsigned n);

bool log_enabled(enum log_level level);

void log_write(enum log_level level, const char *module, const log_field *fields, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));

/* The file descriptor lines go to now: for the crash handler only. */
int log_fd(void);

#define log_at(lvl, fields, ...)                                                                   \
    do {                                                                                           \
        if (log_enabled(lvl))                                                                      \
            log_write(lvl, LOG_MODULE, fields, __VA_ARGS__);                                       \
    } while (0)

#define log_error(...) log_at(LOG_LEVEL_ERROR, NULL, __VA_ARGS__)
#define log_warn(...) log_at(LOG_LEVEL_WARN, NULL, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, NULL, __VA_ARGS__)
#define log_trace(...) log_at(LOG_LEVEL_TRACE, NULL, __VA_ARGS__)
#define log_error_kv(kv, ...) log_at(LOG_LEVEL_ERROR, kv, __VA_ARGS__)
#define log_warn_kv(kv, ...) log_at(LOG_LEVEL_WARN, kv, __VA_ARGS__)
#define log_info_kv(kv, ...) log_at(LOG_LEVEL_INFO, kv, __VA_ARGS__)
#define log_debug_kv(kv, ...) log_at(LOG_LEVEL_DEBUG, kv, __VA_ARGS__)

/*
 * Rate-limited lines, for failures that can repeat per packet or per
 * second (a full disk, a camera sending garbage). Lines are limited per
 * module, cause (a short constant naming the failure, "write part") and
 * subject (the value of the first context field, normally the camera):
 * the first line of a window of LOG_LIMIT_WINDOW_MS is written, the next
 * ones in that window are only counted, and once the window is over one
 * summary line at the same level, with the first line's context fields
 * and a "repeated" field, says how many were left out:
 *   {"level":"error","module":"record","msg":"write part: repeated 57 times in the
 *    last 10 s","camera":"cam1","stream":"main","repeated":"57"}
 * The summary is written by the next line of the same key or by log_flush
 * (the main thread calls it every second), whichever comes first, so a
 * burst that ends is summarised too. About 512 keys are tracked; past
 * that the least recently used one is summarised early and reused.
 *
 *   log_error_limited("open segment", LOG_KV({"camera", id}), "open segment: %s", why);
 */
#define LOG_LIMIT_WINDOW_MS 10000

/*
 * Whether a line of (module, cause, fields[0].value) may be written now;
 * counts it when not, and writes a pending summary first. cause and module
 * are copied (cut at 47 bytes). Thread: any.
 */
bool log_limit_pass(enum log_level level, const char *module, const char *cause,
                    const log_field *fields);

struct horus_clock;

/* The clock the limiter reads, for tests; NULL restores the system clock. */
void log_limit_set_clock(const struct horus_clock *clock);

/* Forgets every limiter key without writing summaries (tests). */
void log_limit_reset(void);

#define log_limited(lvl, cause, fields, ...)                                                       \
    do {                                                                                           \
        if (log_enabled(lvl) && log_limit_pass(lvl, LOG_MODULE, cause, fields))                    \
            log_write(lvl, LOG_MODULE, fields, __VA_ARGS__);                                       \
    } while (0)

#define log_error_limited(cause, kv, ...) log_limited(LOG_LEVEL_ERROR, cause, kv, __VA_ARGS__)
#define log_warn_limited(cause, kv, ...) log_limited(LOG_LEVEL_WARN, cause, kv, __VA_ARGS__)
#define log_info_limited(cause, kv, ...) log_limited(LOG_LEVEL_INFO, cause, kv, __VA_ARGS__)

#endif
