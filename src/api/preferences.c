/*
 * DESIGN: what the web UI needs of the API besides the resources
 * (docs/design/0027-ui-api.md): GET /api/v1/auth/methods (public: the
 * sign-in page's buttons; never the issuer or a secret) and the caller's
 * own UI preferences, GET and PUT /api/v1/auth/preferences (self): one
 * JSON object per principal that the server stores without reading it
 * (grid layout, tile order, chosen group), at most STO_PREFERENCES_MAX
 * bytes once compacted. A browser session keeps its user's preferences
 * (all of that user's sessions share them), an API key its own; a bearer
 * token of the identity provider has no row to keep them in.
 * Thread: http-N.
 */
#include "api_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Bodies larger than this are refused before they are parsed (whitespace allowed for). */
#define PREFERENCES_BODY_MAX (4 * STO_PREFERENCES_MAX)

static int methods_get(http_request *req, void *arg)
{
    struct api *a = arg;
    /* The relying party exists only when auth.oidc.issuer is set and valid. */
    json_t *j = json_pack("{s:b, s:{s:b, s:s}}", "password", 1, "sso", "enabled", a->oidc != NULL,
                          "label", a->sso_label ? a->sso_label : "SSO");
    return http_reply_json(req, 200, j);
}

/*
 * The stored owner of p's preferences: its user (sessions) or its key.
 * Returns false for principals without a row to own them (IdP tokens).
 */
static bool owner_of(const struct auth_principal *p, const char **kind, const char **id)
{
    if (p->kind == AUTH_KIND_SESSION && p->user[0]) {
        *kind = STO_PREFERENCES_USER;
        *id = p->user;
        return true;
    }
    if (p->kind == AUTH_KIND_API_KEY && p->id[0]) {
        *kind = STO_PREFERENCES_API_KEY;
        *id = p->id;
        return true;
    }
    return false;
}

static int preferences_get(http_request *req, void *arg)
{
    struct api *a = arg;
    const char *kind, *id;
    if (!owner_of(api_principal(req), &kind, &id))
        return http_reply(req, 200, "application/json", "{}", 2);
    char *body = NULL;
    int rc = sto_preferences_get(a->db, kind, id, &body);
    if (rc == -ENOENT)
        return http_reply(req, 200, "application/json", "{}", 2);
    if (rc < 0)
        return http_reply_error(req, rc, "read preferences: %s", horus_strerror(rc));
    return http_reply_owned(req, 200, "application/json", body, strlen(body));
}

static int preferences_put(http_request *req, void *arg)
{
    struct api *a = arg;
    const char *kind, *id;
    if (!owner_of(api_principal(req), &kind, &id))
        return http_reply_error(req, -EINVAL,
                                "preferences: only a signed-in user or an API key can store "
                                "preferences (an identity provider's token has no place for them)");
    size_t len = 0;
    const char *raw = http_request_body(req, &len);
    if (len > PREFERENCES_BODY_MAX)
        return http_reply_error(req, HORUS_ETOOBIG, "preferences: %zu bytes; at most %d", len,
                                STO_PREFERENCES_MAX);
    json_error_t err;
    json_t *j = len ? json_loadb(raw, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err) : NULL;
    if (!j)
        return len ? http_reply_error(req, -EINVAL,
                                      "preferences: invalid JSON at line %d column %d: %s",
                                      err.line, err.column, err.text)
                   : http_reply_error(req, -EINVAL, "preferences: must be a JSON object");
    if (!json_is_object(j)) {
        json_decref(j);
        return http_reply_error(req, -EINVAL, "preferences: must be a JSON object");
    }
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    if (!text)
        return http_reply_error(req, -EINVAL, "preferences: cannot be stored as JSON text");
    size_t n = strlen(text);
    if (n > STO_PREFERENCES_MAX) {
        free(text);
        return http_reply_error(req, HORUS_ETOOBIG,
                                "preferences: %zu bytes once compacted; at most %d", n,
                                STO_PREFERENCES_MAX);
    }
    int rc = sto_preferences_put(a->db, kind, id, text);
    if (rc < 0) {
        free(text);
        return http_reply_error(req, rc, "store preferences: %s", horus_strerror(rc));
    }
    return http_reply_owned(req, 200, "application/json", text, n);
}

int api_preferences_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/auth/methods", methods_get},
        {"GET", "/api/v1/auth/preferences", preferences_get},
        {"PUT", "/api/v1/auth/preferences", preferences_put},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
