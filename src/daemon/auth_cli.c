/*
 * DESIGN: `horus auth ...`, the operator's tools for setting up single
 * sign-on without a browser session in Horus: `oidc-login` runs the real
 * login flow of auth/oidc.c (the same code the callback route runs) with
 * the browser step done by the operator, and `verify-token` checks bearer
 * tokens the way the API will. Both read lines from stdin and answer one
 * JSON line each, so a script (the integration tests) can drive them.
 * Tokens and secrets are never printed. Thread: main only.
 */
#include "app.h"

#include "clock.h"
#include "hex.h"
#include "log.h"
#include "mem.h"
#include "oidc.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES (64 * 1024)

static void print_json(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(j);
}

static json_t *identity_json(const struct auth_oidc_identity *id)
{
    json_t *cams = json_array();
    for (size_t i = 0; i < id->ncameras; i++)
        json_array_append_new(cams, json_string(id->cameras[i]));
    json_t *j =
        json_pack("{s:b, s:s, s:s, s:s?, s:s, s:b, s:o, s:b}", "ok", 1, "subject", id->subject,
                  "username", id->username, "email", id->email, "role", id->role, "all_cameras",
                  id->all_cameras, "cameras", cams, "create_user", id->create_user);
    if (id->return_to)
        json_object_set_new(j, "return_to", json_string(id->return_to));
    return j;
}

/* The percent-decoded value of name in a URL or query string, as a new string; NULL when absent. */
static char *query_param(const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    q = q ? q + 1 : url;
    size_t nl = strlen(name);
    while (*q) {
        size_t len = strcspn(q, "&#");
        if (len > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
            char *out = horus_malloc(len);
            size_t o = 0;
            for (size_t i = nl + 1; i < len; i++) {
                int hi, lo;
                if (q[i] == '%' && i + 2 < len + 1 && (hi = horus_hex_value(q[i + 1])) >= 0 &&
                    (lo = horus_hex_value(q[i + 2])) >= 0) {
                    out[o++] = (char)(hi * 16 + lo);
                    i += 2;
                } else {
                    out[o++] = q[i] == '+' ? ' ' : q[i];
                }
            }
            out[o] = '\0';
            return out;
        }
        if (q[len] != '&')
            break;
        q += len + 1;
    }
    return NULL;
}

static json_t *begin_json(auth_oidc *oidc, const char *return_to)
{
    char *url = NULL;
    char err[256] = "";
    if (auth_oidc_login_begin(oidc, return_to, &url, err, sizeof(err)) < 0)
        return json_pack("{s:b, s:s}", "ok", 0, "error", err);
    json_t *j = json_pack("{s:b, s:s}", "ok", 1, "authorize", url);
    free(url);
    return j;
}

static json_t *finish_json(auth_oidc *oidc, const char *callback)
{
    char *state = query_param(callback, "state"), *code = query_param(callback, "code");
    char *error = query_param(callback, "error");
    struct auth_oidc_identity id;
    char err[512] = "";
    int rc = auth_oidc_login_finish(oidc, state, code, error, &id, err, sizeof(err));
    json_t *j = rc == 0 ? identity_json(&id) : json_pack("{s:b, s:s}", "ok", 0, "error", err);
    if (rc == 0) {
        char *logout = auth_oidc_logout_url(oidc, NULL);
        json_object_set_new(j, "logout_url", logout ? json_string(logout) : json_null());
        free(logout);
    }
    auth_oidc_identity_release(&id);
    free(state);
    free(code);
    free(error);
    return j;
}

static json_t *verify_json(auth_oidc *oidc, const char *token)
{
    struct auth_oidc_identity id;
    char why[512] = "";
    enum auth_jwt_reason r =
        auth_oidc_verify_access_token(oidc, token, strlen(token), &id, why, sizeof(why));
    json_t *j = r == AUTH_JWT_OK ? identity_json(&id)
                                 : json_pack("{s:b, s:s, s:s}", "ok", 0, "reason",
                                             auth_jwt_reason_name(r), "error", why);
    auth_oidc_identity_release(&id);
    struct auth_jwks_stats st = {0};
    if (auth_oidc_jwks(oidc))
        auth_jwks_stats_get(auth_oidc_jwks(oidc), &st);
    json_object_set_new(j, "jwks_fetches", json_integer((json_int_t)st.fetches));
    return j;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "horus auth: %s\nusage: horus auth oidc-login|verify-token -c FILE\n", msg);
    return 2;
}

int app_auth_cli(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing subcommand");
    const char *sub = argv[1];
    bool login = strcmp(sub, "oidc-login") == 0;
    if (!login && strcmp(sub, "verify-token") != 0)
        return usage_error("unknown subcommand");
    const char *path = NULL;
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            path = argv[++i];
        else
            return usage_error("unknown argument");
    }
    if (!path)
        return usage_error("-c FILE is required");
    cfg_snapshot *snap = NULL;
    if (app_config_load(path, &snap) < 0) {
        fprintf(stderr, "%s: configuration is invalid\n", path);
        return 2;
    }
    const struct horus_config *cfg = cfg_snapshot_data(snap);
    struct auth_oidc_opts opts = {.config = &cfg->auth.oidc, .public_url = cfg->server.public_url};
    auth_oidc *oidc = NULL;
    char err[512] = "";
    int rc = auth_oidc_new(&opts, &oidc, err, sizeof(err));
    cfg_snapshot_unref(snap);
    if (rc < 0) {
        fprintf(stderr, "horus auth: %s\n", err);
        return 2;
    }
    rc = auth_oidc_discover(oidc, err, sizeof(err));
    if (rc < 0) {
        print_json(json_pack("{s:b, s:s}", "ok", 0, "error", err));
        auth_oidc_free(oidc);
        return 1;
    }
    if (login)
        print_json(begin_json(oidc, NULL));
    char *line = horus_malloc(LINE_MAX_BYTES);
    int failures = 0;
    while (fgets(line, LINE_MAX_BYTES, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        json_t *j;
        if (login && strncmp(line, "begin", 5) == 0 && (line[5] == '\0' || line[5] == ' '))
            j = begin_json(oidc, line[5] ? line + 6 : NULL);
        else
            j = login ? finish_json(oidc, line) : verify_json(oidc, line);
        failures += !json_is_true(json_object_get(j, "ok"));
        print_json(j);
    }
    free(line);
    auth_oidc_free(oidc);
    return failures ? 1 : 0;
}
