/*
 * DESIGN: scalar text -> C values for the configuration engine, and the
 * ${NAME} / file:PATH references that may stand in for that text. Every
 * parser is strict (the whole text must match; no surrounding spaces) and
 * checks overflow itself instead of trusting strtoll/strtod wrap-around, so
 * any input yields either a value or -EINVAL/-ERANGE. Sizes and durations
 * accept a decimal fraction ("1.5GiB", "0.5s"); the fraction is truncated
 * to whole bytes or milliseconds. Thread: any (getenv only reads).
 */
#include "cfg_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_REF_MAX (64 * 1024)
#define FRACTION_DIGITS_MAX 6

/* ---- numbers ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int cfg_parse_int(const char *s, int64_t *out)
{
    bool is_negative = false;
    if (*s == '+' || *s == '-')
        is_negative = *s++ == '-';
    /* Syntax first, so "1234...x" is a bad integer rather than an overflow. */
    size_t n = strspn(s, "0123456789");
    if (n == 0 || s[n])
        return -EINVAL;
    /* Accumulate as a negative number: its range is one larger. */
    int64_t v = 0;
    for (; *s; s++) {
        int d = *s - '0';
        if (v < (INT64_MIN + d) / 10)
            return -ERANGE;
        v = v * 10 - d;
    }
    if (!is_negative) {
        if (v == INT64_MIN)
            return -ERANGE;
        v = -v;
    }
    *out = v;
    return 0;
}

int cfg_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < HORUS_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

int cfg_parse_enum(const char *s, const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -EINVAL;
}

int cfg_parse_double(const char *s, double *out)
{
    /* strtod also takes hex, "inf", "nan" and leading spaces: none belongs in a config. */
    if (!*s)
        return -EINVAL;
    for (const char *p = s; *p; p++)
        if (!is_digit(*p) && !strchr("+-.eE", *p))
            return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s)
        return -EINVAL;
    if (errno == ERANGE || !isfinite(v))
        return -ERANGE;
    *out = v;
    return 0;
}

/*
 * Parses "123", "1.5" or ".5" at *p into an integer part and up to
 * FRACTION_DIGITS_MAX fraction digits (more are ignored), then skips spaces.
 * An integer part too large for 64 bits reads as UINT64_MAX, which every
 * caller's limit rejects as -ERANGE.
 */
static int parse_decimal(const char **p, uint64_t *ip, uint64_t *frac, uint64_t *frac_scale)
{
    const char *s = *p;
    bool has_digits = false;
    bool is_overflow = false;
    uint64_t v = 0;
    for (; is_digit(*s); s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            is_overflow = true;
        else
            v = v * 10 + d;
        has_digits = true;
    }
    uint64_t f = 0, scale = 1;
    if (*s == '.') {
        s++;
        for (int n = 0; is_digit(*s); s++, n++) {
            if (n < FRACTION_DIGITS_MAX) {
                f = f * 10 + (uint64_t)(*s - '0');
                scale *= 10;
            }
            has_digits = true;
        }
    }
    if (!has_digits)
        return -EINVAL;
    while (*s == ' ')
        s++;
    *p = s;
    /* Reported after the unit is known to be valid. */
    *ip = is_overflow ? UINT64_MAX : v;
    *frac = f;
    *frac_scale = scale;
    return 0;
}

/* ip.frac * mult, truncated, or -ERANGE above limit. */
static int scale_decimal(uint64_t ip, uint64_t frac, uint64_t frac_scale, uint64_t mult,
                         uint64_t limit, uint64_t *out)
{
    if (ip > limit / mult)
        return -ERANGE;
    uint64_t v = ip * mult;
    /* frac < 10^6 and mult <= 2^40, so the product fits in 64 bits. */
    uint64_t f = frac * mult / frac_scale;
    if (v > limit - f)
        return -ERANGE;
    *out = v + f;
    return 0;
}

struct unit {
    const char *name;
    uint64_t mult;
};

static const struct unit byte_units[] = {
    {"", 1},
    {"B", 1},
    {"kB", 1000},
    {"MB", 1000 * 1000},
    {"GB", 1000ull * 1000 * 1000},
    {"TB", 1000ull * 1000 * 1000 * 1000},
    {"KiB", 1ull << 10},
    {"MiB", 1ull << 20},
    {"GiB", 1ull << 30},
    {"TiB", 1ull << 40},
};

static const struct unit duration_units[] = {
    {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000},
};

static int parse_with_units(const char *s, const struct unit *units, size_t n_units, uint64_t *out)
{
    uint64_t ip, frac, scale;
    int rc = parse_decimal(&s, &ip, &frac, &scale);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n_units; i++)
        if (strcasecmp(s, units[i].name) == 0)
            return scale_decimal(ip, frac, scale, units[i].mult, INT64_MAX, out);
    return -EINVAL;
}

int cfg_parse_bytes(const char *s, uint64_t *out)
{
    return parse_with_units(s, byte_units, HORUS_ARRAY_LEN(byte_units), out);
}

int cfg_parse_duration_ms(const char *s, int64_t *out)
{
    uint64_t v;
    int rc = parse_with_units(s, duration_units, HORUS_ARRAY_LEN(duration_units), &v);
    if (rc == 0)
        *out = (int64_t)v; /* the limit was INT64_MAX */
    return rc;
}

void cfg_format_bytes(uint64_t v, char *buf, size_t size)
{
    static const struct unit binary[] = {
        {"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}};
    for (size_t i = 0; i < HORUS_ARRAY_LEN(binary); i++) {
        if (v != 0 && v % binary[i].mult == 0) {
            snprintf(buf, size, "%" PRIu64 "%s", v / binary[i].mult, binary[i].name);
            return;
        }
    }
    snprintf(buf, size, "%" PRIu64, v);
}

void cfg_format_duration_ms(int64_t ms, char *buf, size_t size)
{
    static const struct unit units[] = {
        {"d", 86400 * 1000}, {"h", 3600 * 1000}, {"m", 60 * 1000}, {"s", 1000}};
    if (ms == 0) {
        snprintf(buf, size, "0s");
        return;
    }
    for (size_t i = 0; i < HORUS_ARRAY_LEN(units); i++) {
        if (ms % (int64_t)units[i].mult == 0) {
            snprintf(buf, size, "%" PRId64 "%s", ms / (int64_t)units[i].mult, units[i].name);
            return;
        }
    }
    snprintf(buf, size, "%" PRId64 "ms", ms);
}

/* ---- references ---- */

struct strbuf {
    char *p;
    size_t len, cap;
};

static void sb_add(struct strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = horus_realloc(b->p, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(struct strbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void add_secret(cfg_expanded *x, const char *s, size_t n)
{
    if (n == 0)
        return;
    x->secrets = horus_realloc(x->secrets, (x->n_secrets + 1) * sizeof(*x->secrets));
    x->secrets[x->n_secrets++] = horus_strndup(s, n);
}

static bool is_name_char(char c, bool is_first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (!is_first && is_digit(c));
}

/*
 * Appends raw with ${NAME} replaced into text (and "***" into masked when
 * masked is not NULL). Records resolved values as secrets when x is not NULL.
 */
static int expand_env(const char *raw, size_t len, struct strbuf *text, struct strbuf *masked,
                      cfg_expanded *x, char *err, size_t err_size)
{
    size_t i = 0;
    while (i < len) {
        if (raw[i] == '$' && i + 2 < len && raw[i + 1] == '$' && raw[i + 2] == '{') {
            sb_add(text, "${", 2);
            if (masked)
                sb_add(masked, "${", 2);
            i += 3;
            continue;
        }
        if (raw[i] != '$' || i + 1 >= len || raw[i + 1] != '{') {
            sb_add(text, raw + i, 1);
            if (masked)
                sb_add(masked, raw + i, 1);
            i++;
            continue;
        }
        const char *name = raw + i + 2;
        const char *close = memchr(name, '}', len - i - 2);
        if (!close) {
            snprintf(err, err_size, "unterminated '${' (write '$${' for a literal '${')");
            return -EINVAL;
        }
        size_t n = (size_t)(close - name);
        bool is_valid = n > 0 && n <= 128;
        for (size_t k = 0; is_valid && k < n; k++)
            is_valid = is_name_char(name[k], k == 0);
        if (!is_valid) {
            snprintf(err, err_size, "invalid environment variable name in '${%.*s}'",
                     (int)(n < 64 ? n : 64), name);
            for (char *c = err; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
                    *c = '?';
            return -EINVAL;
        }
        char key[129];
        memcpy(key, name, n);
        key[n] = '\0';
        const char *value = getenv(key);
        if (!value) {
            snprintf(err, err_size, "environment variable '%s' is not set", key);
            return -EINVAL;
        }
        sb_adds(text, value);
        if (masked)
            sb_adds(masked, "***");
        if (x)
            add_secret(x, value, strlen(value));
        i += 2 + n + 1;
    }
    return 0;
}

static int read_file_ref(const char *path, struct strbuf *out, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, err_size, "read '%.200s': %s", path, horus_strerror(-errno));
        return -EINVAL;
    }
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, err_size, "read '%.200s': %s", path, horus_strerror(-errno));
        rc = -EINVAL;
        goto out;
    }
    /* A FIFO or device could block the loader or never end. */
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "read '%.200s': not a regular file", path);
        rc = -EINVAL;
        goto out;
    }
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, err_size, "read '%.200s': %s", path, horus_strerror(-errno));
            rc = -EINVAL;
            goto out;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > FILE_REF_MAX) {
            snprintf(err, err_size, "read '%.200s': larger than %d bytes", path, FILE_REF_MAX);
            rc = -EINVAL;
            goto out;
        }
        sb_add(out, buf, (size_t)n);
    }
    if (out->p && memchr(out->p, '\0', out->len)) {
        snprintf(err, err_size, "read '%.200s': contains a NUL byte", path);
        rc = -EINVAL;
        goto out;
    }
    while (out->len && (out->p[out->len - 1] == '\n' || out->p[out->len - 1] == '\r'))
        out->p[--out->len] = '\0';
out:
    close(fd);
    return rc;
}

static int expand_file(const char *raw, size_t len, const char *base_dir, struct strbuf *text,
                       cfg_expanded *x, char *err, size_t err_size)
{
    struct strbuf name = {0}, path = {0};
    int rc = expand_env(raw, len, &name, NULL, NULL, err, err_size);
    if (rc < 0)
        goto out;
    if (name.len == 0) {
        snprintf(err, err_size, "empty path after 'file:'");
        rc = -EINVAL;
        goto out;
    }
    /* Decided after expansion: "file:${CREDENTIALS_DIRECTORY}/pw" is absolute. */
    if (name.p[0] != '/' && base_dir && *base_dir) {
        sb_adds(&path, base_dir);
        sb_add(&path, "/", 1);
    }
    sb_add(&path, name.p, name.len);
    rc = read_file_ref(path.p, text, err, err_size);
    if (rc < 0)
        goto out;
    x->is_file = true;
    add_secret(x, text->p ? text->p : "", text->len);
out:
    free(name.p);
    free(path.p);
    return rc;
}

int cfg_expand(const char *raw, size_t len, const char *base_dir, cfg_expanded *out, char *err,
               size_t err_size)
{
    memset(out, 0, sizeof(*out));
    struct strbuf text = {0}, masked = {0};
    int rc;
    err[0] = '\0';
    if (len >= 5 && memcmp(raw, "file:", 5) == 0)
        rc = expand_file(raw + 5, len - 5, base_dir, &text, out, err, err_size);
    else
        rc = expand_env(raw, len, &text, &masked, out, err, err_size);
    if (rc < 0) {
        free(text.p);
        free(masked.p);
        cfg_expanded_release(out);
        return rc;
    }
    sb_add(&text, "", 0); /* never NULL */
    out->text = text.p;
    out->len = text.len;
    if (out->is_file) {
        out->masked = horus_strdup("***");
        free(masked.p);
    } else if (out->n_secrets > 0 || (masked.p && strcmp(masked.p, text.p) != 0)) {
        out->masked = masked.p;
    } else {
        free(masked.p);
    }
    return 0;
}

void cfg_expanded_release(cfg_expanded *x)
{
    free(x->text);
    free(x->masked);
    for (size_t i = 0; i < x->n_secrets; i++)
        free(x->secrets[i]);
    free(x->secrets);
    memset(x, 0, sizeof(*x));
}

/* ---- ids ---- */

static bool is_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool cfg_is_id(const char *s, size_t n, size_t max)
{
    if (!s || n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_id_char(s[i]))
            return false;
    return true;
}

int cfg_validate_id(const void *value, char *err, size_t err_size)
{
    const char *id = *(char *const *)value;
    size_t n = id ? strlen(id) : 0;
    if (n < 1 || n > CFG_ID_MAX) {
        snprintf(err, err_size, "must be 1..%d characters of [a-z0-9_-]", CFG_ID_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_id_char(id[i])) {
            snprintf(err, err_size, "'%c' is not allowed; use [a-z0-9_-]", id[i]);
            return -EINVAL;
        }
    }
    return 0;
}
