/*
 * DESIGN: the recordings' on-disk layout (path_int.h), written by the
 * recorder and the segment writer and read back by crash recovery and
 * `horus check`. Each component has one encoder (date_text, time_text)
 * and the decoder accepts exactly what they produce: a name is valid when
 * formatting its parsed value gives the same text back, so "2024-02-30"
 * or "7-00-00.mp4" never parse.
 *
 * Thread: any (no state).
 */
#include "path_int.h"

#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DATE_LEN 10 /* YYYY-MM-DD */
#define DATE_BUF 32 /* room for any int year, so the compiler sees no truncation */
#define TIME_LEN 8 /* HH-MM-SS */

static int put(char *buf, size_t size, int n)
{
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int date_text(int64_t start_s, char out[DATE_BUF])
{
    time_t secs = (time_t)start_s;
    struct tm tm;
    if (start_s < 0 || !gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 9999)
        return -EINVAL;
    snprintf(out, DATE_BUF, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return 0;
}

/* "HH-MM-SS[-seq].mp4" */
static int time_text(int64_t start_s, unsigned seq, char *out, size_t size)
{
    time_t secs = (time_t)start_s;
    struct tm tm;
    if (start_s < 0 || seq > REC_PATH_SEQ_MAX || !gmtime_r(&secs, &tm))
        return -EINVAL;
    char suffix[8] = "";
    if (seq)
        snprintf(suffix, sizeof(suffix), "-%u", seq);
    return put(
        out, size,
        snprintf(out, size, "%02d-%02d-%02d%s.mp4", tm.tm_hour, tm.tm_min, tm.tm_sec, suffix));
}

static bool is_name_valid(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n >= 1 && n <= max && !strchr(s, '/');
}

int rec_path_stream_dir(char *buf, size_t size, const char *data_dir, const char *camera,
                        const char *stream)
{
    return put(buf, size, snprintf(buf, size, "%s/recordings/%s/%s", data_dir, camera, stream));
}

int rec_path_day_dir(char *buf, size_t size, const char *stream_dir, int64_t start_s)
{
    char date[DATE_BUF];
    int rc = date_text(start_s, date);
    return rc < 0 ? rc : put(buf, size, snprintf(buf, size, "%s/%s", stream_dir, date));
}

int rec_path_file(char *buf, size_t size, const char *day_dir, int64_t start_s, unsigned seq)
{
    char name[32];
    int rc = time_text(start_s, seq, name, sizeof(name));
    return rc < 0 ? rc : put(buf, size, snprintf(buf, size, "%s/%s", day_dir, name));
}

int rec_path_format(const struct rec_path *p, char *buf, size_t size)
{
    if (!is_name_valid(p->camera, REC_PATH_CAMERA_MAX) ||
        !is_name_valid(p->stream, REC_PATH_STREAM_MAX))
        return -EINVAL;
    char date[DATE_BUF], name[32];
    int rc = date_text(p->start_s, date);
    if (rc == 0)
        rc = time_text(p->start_s, p->seq, name, sizeof(name));
    if (rc < 0)
        return rc;
    return put(buf, size,
               snprintf(buf, size, "recordings/%s/%s/%s/%s%s", p->camera, p->stream, date, name,
                        p->is_part ? ".part" : ""));
}

/* Copies the component at *s (up to the next '/', which must follow) into out. */
static bool take_component(const char **s, char *out, size_t max)
{
    const char *slash = strchr(*s, '/');
    size_t n = slash ? (size_t)(slash - *s) : 0;
    if (!slash || n < 1 || n > max)
        return false;
    memcpy(out, *s, n);
    out[n] = '\0';
    *s = slash + 1;
    return true;
}

static bool take_number(const char **s, size_t digits, int *out)
{
    int v = 0;
    for (size_t i = 0; i < digits; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *s += digits;
    *out = v;
    return true;
}

static bool take_char(const char **s, char c)
{
    if (**s != c)
        return false;
    (*s)++;
    return true;
}

/* "YYYY-MM-DD/HH-MM-SS[-N].mp4[.part]" into out's start_s, seq and is_part. */
static bool parse_file(const char *s, struct rec_path *out)
{
    int y, mo, d, h, mi, sec;
    if (!take_number(&s, 4, &y) || !take_char(&s, '-') || !take_number(&s, 2, &mo) ||
        !take_char(&s, '-') || !take_number(&s, 2, &d) || !take_char(&s, '/') ||
        !take_number(&s, 2, &h) || !take_char(&s, '-') || !take_number(&s, 2, &mi) ||
        !take_char(&s, '-') || !take_number(&s, 2, &sec))
        return false;
    unsigned seq = 0;
    if (take_char(&s, '-')) {
        /* 1..99 without a leading zero, as time_text writes it. */
        if (*s < '1' || *s > '9')
            return false;
        seq = (unsigned)(*s++ - '0');
        if (*s >= '0' && *s <= '9')
            seq = seq * 10 + (unsigned)(*s++ - '0');
    }
    if (strncmp(s, ".mp4", 4) != 0)
        return false;
    s += 4;
    bool is_part = strcmp(s, ".part") == 0;
    if (!is_part && *s)
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    int64_t start_s = (int64_t)timegm(&tm);
    /* timegm normalizes 02-30 into 03-01: the round trip rejects it. */
    char date[DATE_BUF], want[DATE_BUF], name[32], want_name[32];
    snprintf(want, sizeof(want), "%04d-%02d-%02d", y, mo, d);
    snprintf(want_name, sizeof(want_name), "%02d-%02d-%02d", h, mi, sec);
    if (date_text(start_s, date) < 0 || strcmp(date, want) != 0 ||
        time_text(start_s, 0, name, sizeof(name)) < 0 || strncmp(name, want_name, TIME_LEN) != 0)
        return false;
    out->start_s = start_s;
    out->seq = seq;
    out->is_part = is_part;
    return true;
}

int rec_path_parse(const char *rel, struct rec_path *out)
{
    memset(out, 0, sizeof(*out));
    const char *s = rel;
    if (strncmp(s, "recordings/", 11) != 0)
        return -EINVAL;
    s += 11;
    if (!take_component(&s, out->camera, REC_PATH_CAMERA_MAX) ||
        !take_component(&s, out->stream, REC_PATH_STREAM_MAX)) {
        out->camera[0] = out->stream[0] = '\0';
        return -EINVAL;
    }
    return parse_file(s, out) ? 0 : HORUS_EPARSE;
}
