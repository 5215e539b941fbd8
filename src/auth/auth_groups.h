/*
 * Camera groups in grants: the expansion of a principal's "group:NAME"
 * entries into camera ids (docs/design/0016-identity.md, "Camera groups").
 * Thread: any (a principal belongs to one request).
 */
#ifndef HORUS_AUTH_GROUPS_H
#define HORUS_AUTH_GROUPS_H

#include "auth.h"
#include "storage.h"

/*
 * Adds to p's cameras the ids of the cameras now in the groups p's grant
 * names (one indexed query; nothing at all when the grant names no group
 * or grants every camera). Call it once per request, after the principal
 * is built and before any camera check, so that a camera added to a group
 * is visible at the next request and one removed is invisible at once.
 * Returns 0, or a storage error (p then sees only its explicit ids).
 */
int auth_principal_resolve_groups(struct auth_principal *p, sto_db *db);

#endif
