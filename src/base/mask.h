/*
 * Masking of credentials in text: the one function every place that prints
 * a URL, a configuration value, an error or a log line goes through, so
 * that a password, a token or a key never reaches a log, an API reply, a
 * metric label or printed configuration (docs/design/0017 §5).
 *
 * What is masked (replaced by "***"):
 *   - the userinfo of "scheme://userinfo@host": the userinfo ends at the
 *     LAST '@' of the URL, so a password with unencoded '/', '?', '#' or
 *     '@' is hidden whole. "user:password" keeps a plain short user name
 *     ("rtsp://admin:***@host/"); a user name alone, an empty password or
 *     an odd user name hides the whole userinfo (shown as "***@host"),
 *     since a lone user name is often a token;
 *   - the value of query or fragment parameters named like secrets
 *     (password, pass, pwd, token, access_token, key, apikey, api_key,
 *     secret, auth, signature, sig, t, ... and names ending in _token,
 *     _key, secret, password, signature, credential; case-insensitive);
 *   - in text: the word after "Bearer" (and after "Basic" when it looks
 *     like base64), "name=value" and "name: value" for those names, and
 *     JSON Web Tokens ("eyJ...x.y") wherever they stand.
 * Masking errs on the side of hiding: an '@' in a path or query hides
 * everything between "://" and it. Output is truncated to size - 1 bytes;
 * secrets are replaced before truncation, so no part of one is left.
 */
#ifndef HORUS_MASK_H
#define HORUS_MASK_H

#include <stddef.h>

/*
 * Masks a single value (a camera URL, a configuration string): the whole
 * string is one URL, spaces included; a value without "://" is masked as
 * text. Writes into buf (size bytes, NUL-terminated when size > 0); NULL
 * in writes "". Returns buf. Thread: any.
 */
char *horus_mask_url(const char *in, char *buf, size_t size);

/*
 * Masks free text (a log line, a libav message, an error): URLs end at
 * white space. Same contract as horus_mask_url. Thread: any.
 */
char *horus_mask_text(const char *in, char *buf, size_t size);

#endif
