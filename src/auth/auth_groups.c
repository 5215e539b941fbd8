/*
 * DESIGN: camera groups in grants (docs/design/0016-identity.md, "Camera
 * groups"). A grant keeps "group:NAME" entries as names (p->groups); once
 * per request this file asks storage which cameras are in those groups and
 * merges their ids into p->cameras, so auth_may_see_camera, the gate, the
 * lists and the media routes keep checking ids only. Nothing is cached:
 * group membership is read on each request, which is what makes a camera
 * moved out of a group invisible at once.
 * Thread: any.
 */
#include "auth_groups.h"

#include "mem.h"

#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int auth_principal_resolve_groups(struct auth_principal *p, sto_db *db)
{
    if (!p || p->is_all_cameras || p->ngroups == 0)
        return 0;
    char **ids = NULL;
    size_t nids = 0;
    int rc = sto_camera_ids_in_groups(db, (const char *const *)p->groups, p->ngroups, &ids, &nids);
    if (rc < 0)
        return rc;
    if (nids > 0) {
        p->cameras = horus_realloc(p->cameras, (p->ncameras + nids) * sizeof(*p->cameras));
        for (size_t i = 0; i < nids; i++)
            p->cameras[p->ncameras++] = ids[i];
        qsort(p->cameras, p->ncameras, sizeof(*p->cameras), cmp_str);
        size_t w = 0;
        for (size_t i = 0; i < p->ncameras; i++) {
            if (w > 0 && strcmp(p->cameras[w - 1], p->cameras[i]) == 0)
                free(p->cameras[i]);
            else
                p->cameras[w++] = p->cameras[i];
        }
        p->ncameras = w;
    }
    free(ids);
    return 0;
}
