/*
 * DESIGN: what an MQTT command does to a camera (bus.mqtt.commands;
 * docs/design/0045, "Commands"). The bus module takes the command apart
 * and calls app_bus_command on its bus thread; this file changes the
 * camera the way the API does: the stored row through the writer
 * (sto_camera_update from the current row, so every other field stays),
 * and the supervisor follows it at its next sync on the main thread, about
 * a second later, as it follows an API update. recordings is the
 * camera's record.enabled; detect and motion are the analytics document's
 * enabled and motion.enabled, rewritten in the canonical form the API
 * stores. A camera provisioned from horus.yaml is read-only here as in the
 * API: the command is refused (-EBUSY) and its state reported unchanged.
 * Setting a switch to the state it has writes nothing. A change is audited
 * like the API's (camera.updated, with the field it set), its actor the
 * system named "mqtt": the broker does not say which client published.
 *
 * Thread: a bus thread (it waits for the writer, never for a broker).
 */
#include "app.h"

#include "analytics_cfg.h"
#include "audit.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int app_bus_command(void *arg, const char *camera_id, enum bus_switch what, const bool *set,
                    bool *is_on, char *why, size_t cap)
{
    const struct app_bus_commands *ctx = arg;
    sto_db *db = ctx->db;
    struct sto_camera c;
    int rc = sto_camera_get(db, camera_id, &c);
    if (rc < 0) {
        snprintf(why, cap, "read camera '%s': %s", camera_id, horus_strerror(rc));
        return rc;
    }
    struct det_analytics *a = NULL;
    char *err = NULL;
    if (what != BUS_SWITCH_RECORDINGS) {
        const char *text = c.analytics ? c.analytics : "";
        rc = det_analytics_parse(text, strlen(text), NULL, 0, &a, &err);
        if (rc < 0) {
            snprintf(why, cap, "camera '%s': stored analytics document: %s", camera_id,
                     err ? err : "invalid");
            goto done;
        }
    }
    bool *field = what == BUS_SWITCH_RECORDINGS ? &c.record_enabled
                  : what == BUS_SWITCH_DETECT   ? &a->enabled
                                                : &a->motion.enabled;
    *is_on = *field;
    if (!set || *set == *field)
        goto done; /* a read, or nothing to change */
    if (c.provisioned) {
        snprintf(why, cap, "camera '%s' is provisioned from horus.yaml; change it there",
                 camera_id);
        rc = -EBUSY;
        goto done;
    }
    *field = *set;
    struct sto_camera_input in = sto_camera_input_of(&c);
    char *doc = NULL;
    if (a) {
        json_t *j = det_analytics_to_json(a);
        doc = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
        json_decref(j);
        in.analytics = doc;
    }
    rc = doc || !a ? sto_camera_update(db, &in) : -ENOMEM;
    free(doc);
    if (rc < 0) {
        snprintf(why, cap, "update camera '%s': %s", camera_id, horus_strerror(rc));
    } else {
        *is_on = *set;
        json_t *d = json_pack("{s:s, s:[s]}", "method", "MQTT", "fields",
                              what == BUS_SWITCH_RECORDINGS ? "record" : "analytics");
        auth_audit(ctx->audit, &(struct auth_audit_actor){.kind = "system", .name = "mqtt"},
                   AUTH_AUDIT_CAMERA_UPDATED, AUTH_AUDIT_OK, "camera", camera_id, d);
        json_decref(d);
    }
done:
    free(err);
    det_analytics_free(a);
    sto_camera_release(&c);
    return rc;
}
