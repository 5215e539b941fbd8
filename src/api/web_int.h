/*
 * Private to src/api: the web UI's request decisions (web_rules.c, pure:
 * unit-tested and fuzzed by fuzz_web_rules) and its embedded files
 * (web_assets.h). web.c serves them. Decisions: docs/design/0026-web-ui.md.
 */
#ifndef HORUS_WEB_INT_H
#define HORUS_WEB_INT_H

#include <stdbool.h>
#include <stddef.h>

/* Content codings the UI can send, in the order of the embedded variants. */
enum web_encoding {
    WEB_ENC_IDENTITY,
    WEB_ENC_GZIP,
    WEB_ENC_BR,
    WEB_NENC,
};

#define WEB_ENC_BIT(e) (1u << (e))

/*
 * The codings an Accept-Encoding value (RFC 9110 §12.5.3) accepts, as
 * WEB_ENC_BIT()s. Codings are case-insensitive ("x-gzip" is gzip); a
 * coding with q=0 is refused; "*" stands for every coding not named;
 * identity is acceptable unless refused by "identity;q=0" or by "*;q=0"
 * without identity named. A list element that does not parse is skipped.
 * NULL (no header) accepts identity only. Pure; Thread: any.
 */
unsigned web_accept_encoding(const char *header);

/*
 * The coding to send among have (bits of the variants a file has;
 * identity always): br, then gzip, then identity, the first accept allows.
 * Identity when accept allows none of them (a server may send it anyway:
 * RFC 9110 §12.5.3). Pure.
 */
enum web_encoding web_encoding_choose(unsigned accept, unsigned have);

/* The Content-Encoding value of e; NULL for identity. */
const char *web_encoding_name(enum web_encoding e);

#define WEB_PATH_MAX 1024

/*
 * Turns a raw request path ("/assets/x%2Djs.js", still percent-encoded,
 * no query) into the file name it asks for, relative to the UI root
 * ("assets/x-js.js"; "" for "/"), into out (cap bytes). %XX escapes are
 * decoded once; repeated and trailing slashes are dropped. Returns the
 * length, or -EINVAL naming no file at all: not starting with '/', an
 * invalid escape, a decoded NUL, control byte or backslash, a "." or
 * ".." segment (also when spelt "%2e" or reached through "%2F"), or a
 * result of cap bytes or more. Pure; Thread: any.
 */
int web_path_normalize(const char *raw, char *out, size_t cap);

/* Whether the last segment of rel has a '.': a file, not a page of the app. */
bool web_path_has_extension(const char *rel);

/* Content-Type of rel by its extension; "application/octet-stream" when unknown. */
const char *web_content_type(const char *rel);

/*
 * Cache-Control of rel: content-hashed files under assets/ never change
 * ("public, max-age=31536000, immutable"); everything else, index.html
 * first, is revalidated on every use ("no-cache").
 */
const char *web_cache_control(const char *rel);

/* The Content-Security-Policy of every UI reply (docs/design/0026 says why each directive). */
#define WEB_CSP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "        \
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "     \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

#endif
