/*
 * DESIGN: the `bus.nats` section's schema table (docs/conventions.md §7).
 * Every key needs a restart: the bus thread builds its adapter once. The
 * password and the token are secrets, masked wherever the configuration
 * is printed. The subject prefix and the stream name are checked against
 * NATS's rules here so that a typo fails at load, not at the first
 * publish.
 */
#include "nats.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(struct bus_nats_config, f)

static int validate_url(const void *value, char *err, size_t size)
{
    const char *u = *(char *const *)value;
    if (!u || !u[0])
        return 0; /* no such bus */
    if (u && (strncmp(u, "nats://", 7) == 0 || strncmp(u, "tls://", 6) == 0) &&
        strlen(u) > (u[0] == 'n' ? 7u : 6u))
        return 0;
    snprintf(err, size, "must be a nats://host:port or tls://host:port URL");
    return -EINVAL;
}

/* Dot-separated tokens, none empty, no wildcards or white space. */
static int validate_prefix(const void *value, char *err, size_t size)
{
    const char *p = *(char *const *)value;
    size_t n = p ? strlen(p) : 0;
    bool ok = n > 0 && n <= 128 && p[0] != '.' && p[n - 1] != '.' && !strstr(p, "..") &&
              strcspn(p, " \t\r\n*>") == n;
    if (ok)
        return 0;
    snprintf(err, size,
             "must be 1..128 characters of dot-separated subject tokens without "
             "spaces, '*' or '>'");
    return -EINVAL;
}

/* JetStream stream names: no dots, wildcards, slashes or white space. */
static int validate_stream(const void *value, char *err, size_t size)
{
    const char *s = *(char *const *)value;
    size_t n = s ? strlen(s) : 0;
    if (n > 0 && n <= 64 && strcspn(s, " \t\r\n.*>/\\") == n)
        return 0;
    snprintf(err, size, "must be 1..64 characters without spaces, '.', '*', '>', '/' or '\\'");
    return -EINVAL;
}

const cfg_field bus_nats_fields[] = {
    {.name = "url",
     .type = CFG_STRING,
     .offset = OFF(url),
     .def = "",
     .validate_cb = validate_url,
     .pattern_help = "nats://host:port or tls://host:port",
     .help = "The NATS server (tls:// for TLS); empty: no NATS bus"},
    {.name = "username",
     .type = CFG_STRING,
     .offset = OFF(username),
     .def = "",
     .help = "User name for user/password authentication (empty: none)"},
    {.name = "password",
     .type = CFG_STRING,
     .offset = OFF(password),
     .def = "",
     .is_secret = true,
     .help = "Password of username (a secret: write ${ENV} or file:PATH)"},
    {.name = "token",
     .type = CFG_STRING,
     .offset = OFF(token),
     .def = "",
     .is_secret = true,
     .help = "Authentication token, instead of username and password (a secret)"},
    {.name = "tls_ca",
     .type = CFG_STRING,
     .offset = OFF(tls_ca),
     .def = "",
     .help = "PEM file of the CAs that sign the server's certificate (empty: the system's)"},
    {.name = "tls_verify",
     .type = CFG_BOOL,
     .offset = OFF(tls_verify),
     .def = "true",
     .help = "Check the server's certificate and name (false: accept any; labs only)"},
    {.name = "subject_prefix",
     .type = CFG_STRING,
     .offset = OFF(subject_prefix),
     .def = "horus",
     .validate_cb = validate_prefix,
     .help = "Subjects are <prefix>.events.<camera>, <prefix>.detections.<camera>, "
             "<prefix>.frames.<camera>"},
    {.name = "stream",
     .type = CFG_STRING,
     .offset = OFF(stream),
     .def = "HORUS",
     .validate_cb = validate_stream,
     .help = "The JetStream stream that keeps the subjects; created when missing"},
    {.name = "max_age",
     .type = CFG_DURATION,
     .offset = OFF(max_age_ms),
     .def = "7d",
     .min = 0,
     .max = 3650.0 * 86400000,
     .help = "A new stream keeps messages this long (0: no limit)"},
    {.name = "max_bytes",
     .type = CFG_BYTES,
     .offset = OFF(max_bytes),
     .def = "1GiB",
     .help = "A new stream keeps at most this many bytes, dropping the oldest (0: no limit)"},
    {.name = "replicas",
     .type = CFG_INT,
     .offset = OFF(replicas),
     .def = "1",
     .min = 1,
     .max = 5,
     .help = "Replicas of a new stream (1 on a single server)"},
    {0},
};
