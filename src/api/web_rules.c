/*
 * DESIGN: the web UI's request decisions, kept pure so they are
 * unit-tested and fuzzed (fuzz_web_rules) apart from the server: which
 * content coding a client accepts, which file a path names, its type and
 * how long it may be cached. web.c does the serving.
 *
 * Paths: the router has already refused "." and ".." segments, raw or
 * decoded; web_path_normalize checks again on its own (it also serves the
 * development directory, where a miss would read outside the UI) and
 * refuses every byte a file name of a Vite build never has and a file
 * system might read specially (control bytes, backslash).
 * Thread: any.
 */
#include "web_int.h"

#include "hex.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* ---- Accept-Encoding ---- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * A qvalue (RFC 9110 §12.4.2: "0" ["." 0-3 digits] or "1" ["." 0-3 zeros])
 * of n bytes at p: 1 for q > 0, 0 for q = 0, -1 when it does not parse.
 */
static int qvalue_positive(const char *p, size_t n)
{
    if (n == 0 || (p[0] != '0' && p[0] != '1'))
        return -1;
    bool nonzero = p[0] == '1';
    if (n > 1) {
        if (p[1] != '.' || n > 5)
            return -1;
        for (size_t i = 2; i < n; i++) {
            if (p[i] < '0' || p[i] > '9' || (p[0] == '1' && p[i] != '0'))
                return -1;
            nonzero |= p[i] != '0';
        }
    }
    return nonzero ? 1 : 0;
}

enum coding { CODING_OTHER = -1, CODING_STAR = WEB_NENC };

static int coding_of(const char *p, size_t n)
{
    if (n == 4 && strncasecmp(p, "gzip", 4) == 0)
        return WEB_ENC_GZIP;
    if (n == 6 && strncasecmp(p, "x-gzip", 6) == 0)
        return WEB_ENC_GZIP;
    if (n == 2 && strncasecmp(p, "br", 2) == 0)
        return WEB_ENC_BR;
    if (n == 8 && strncasecmp(p, "identity", 8) == 0)
        return WEB_ENC_IDENTITY;
    if (n == 1 && p[0] == '*')
        return CODING_STAR;
    return CODING_OTHER;
}

/*
 * Parses one list element [p, end): "coding *( OWS ; OWS param )". Returns
 * 0 with *coding and *positive (q > 0), or -1 when it does not parse.
 * Parameters other than q are skipped; a second q is an error.
 */
static int parse_element(const char *p, const char *end, int *coding, bool *positive)
{
    while (p < end && is_ows(*p))
        p++;
    while (end > p && is_ows(end[-1]))
        end--;
    const char *c_end = p;
    while (c_end < end && *c_end != ';' && !is_ows(*c_end))
        c_end++;
    if (c_end == p)
        return -1;
    *coding = coding_of(p, (size_t)(c_end - p));
    *positive = true;
    bool has_q = false;
    p = c_end;
    while (p < end) {
        while (p < end && is_ows(*p))
            p++;
        if (p == end)
            break;
        if (*p != ';')
            return -1;
        p++;
        while (p < end && is_ows(*p))
            p++;
        const char *v_end = p;
        while (v_end < end && *v_end != ';')
            v_end++;
        const char *param_end = v_end;
        while (param_end > p && is_ows(param_end[-1]))
            param_end--;
        if (param_end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            int q = qvalue_positive(p + 2, (size_t)(param_end - p - 2));
            if (q < 0 || has_q)
                return -1;
            has_q = true;
            *positive = q == 1;
        } else if (param_end == p) {
            return -1;
        }
        p = v_end;
    }
    return 0;
}

unsigned web_accept_encoding(const char *header)
{
    if (!header)
        return WEB_ENC_BIT(WEB_ENC_IDENTITY);
    unsigned named = 0, yes = 0;
    int star = -1; /* -1 absent, 0 refused, 1 accepted */
    const char *p = header;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        int coding;
        bool positive;
        if (parse_element(p, end, &coding, &positive) == 0) {
            if (coding == CODING_STAR) {
                star = positive ? 1 : (star == 1 ? 1 : 0);
            } else if (coding != CODING_OTHER) {
                unsigned bit = WEB_ENC_BIT(coding);
                if (!(named & bit) || positive) /* repeated: the most permissive wins */
                    yes = positive ? (yes | bit) : (yes & ~bit);
                named |= bit;
            }
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    unsigned all =
        WEB_ENC_BIT(WEB_ENC_IDENTITY) | WEB_ENC_BIT(WEB_ENC_GZIP) | WEB_ENC_BIT(WEB_ENC_BR);
    if (star == 1)
        yes |= all & ~named;
    /* identity: acceptable unless refused, by name or by "*;q=0" without its name */
    if (!(named & WEB_ENC_BIT(WEB_ENC_IDENTITY)) && star != 0)
        yes |= WEB_ENC_BIT(WEB_ENC_IDENTITY);
    return yes;
}

enum web_encoding web_encoding_choose(unsigned accept, unsigned have)
{
    static const enum web_encoding order[] = {WEB_ENC_BR, WEB_ENC_GZIP};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (accept & have & WEB_ENC_BIT(order[i]))
            return order[i];
    return WEB_ENC_IDENTITY;
}

const char *web_encoding_name(enum web_encoding e)
{
    switch (e) {
    case WEB_ENC_GZIP:
        return "gzip";
    case WEB_ENC_BR:
        return "br";
    default:
        return NULL;
    }
}

/* ---- paths ---- */

/* Whether the segment [seg, end) is "." or "..". */
static bool is_dot_segment(const char *seg, const char *end)
{
    size_t n = (size_t)(end - seg);
    return (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.');
}

int web_path_normalize(const char *raw, char *out, size_t cap)
{
    if (!raw || raw[0] != '/' || cap == 0)
        return -EINVAL;
    size_t o = 0;
    size_t seg_start = 0; /* where the current segment begins in out */
    for (const char *p = raw + 1;; p++) {
        char c = *p;
        if (c == '%') {
            int hi = horus_hex_value(p[1]);
            int lo = hi < 0 ? -1 : horus_hex_value(p[2]);
            if (hi < 0 || lo < 0)
                return -EINVAL;
            c = (char)(hi << 4 | lo);
            if (c == '\0')
                return -EINVAL;
            p += 2; /* a decoded '/' separates segments like a raw one */
        }
        if (c == '\0' || c == '/') {
            if (is_dot_segment(out + seg_start, out + o))
                return -EINVAL;
            if (o > seg_start) { /* a segment with bytes: keep it and its slash */
                if (c == '\0')
                    break;
                if (o + 1 >= cap)
                    return -EINVAL;
                out[o++] = '/';
            }
            if (c == '\0')
                break;
            seg_start = o;
            continue;
        }
        unsigned char u = (unsigned char)c;
        if (u < 0x20 || u == 0x7f || c == '\\')
            return -EINVAL;
        if (o + 1 >= cap)
            return -EINVAL;
        out[o++] = c;
    }
    if (o > 0 && out[o - 1] == '/')
        o--;
    out[o] = '\0';
    return (int)o;
}

bool web_path_has_extension(const char *rel)
{
    const char *last = strrchr(rel, '/');
    return strchr(last ? last + 1 : rel, '.') != NULL;
}

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"webmanifest", "application/manifest+json"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"wasm", "application/wasm"},
};

const char *web_content_type(const char *rel)
{
    const char *last = strrchr(rel, '/');
    const char *dot = strrchr(last ? last + 1 : rel, '.');
    if (dot)
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

const char *web_cache_control(const char *rel)
{
    if (strncmp(rel, "assets/", 7) == 0 && rel[7] != '\0')
        return "public, max-age=31536000, immutable";
    return "no-cache";
}
