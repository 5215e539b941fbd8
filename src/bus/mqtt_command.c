/*
 * DESIGN: the topics and payloads of MQTT commands (docs/design/0045,
 * "Commands"): Frigate's <prefix>/<camera>/recordings/set, detect/set and
 * motion/set with ON or OFF. Pure: the MQTT adapter hands it what the
 * broker delivered and applies what it accepts; everything else is refused
 * with a reason that names the part at fault. The payload is compared as
 * bytes (no trimming, no case folding): the one form Home Assistant sends
 * is the one accepted, so nothing ambiguous switches a camera. Thread: any.
 */
#include "mqtt_command_int.h"

#include "cfg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {
    [BUS_SWITCH_RECORDINGS] = "recordings",
    [BUS_SWITCH_DETECT] = "detect",
    [BUS_SWITCH_MOTION] = "motion",
};

const char *bus_command_name(enum bus_switch what)
{
    return (size_t)what < sizeof(names) / sizeof(names[0]) ? names[what] : "unknown";
}

int bus_command_parse(const char *prefix, const char *topic, const void *payload, size_t len,
                      struct bus_command_msg *out, char *why, size_t cap)
{
    *out = (struct bus_command_msg){0};
    snprintf(out->name, sizeof(out->name), "unknown");
    size_t np = strlen(prefix);
    if (!topic || strncmp(topic, prefix, np) != 0 || topic[np] != '/') {
        snprintf(why, cap, "not under the topic prefix '%s'", prefix);
        return -EINVAL;
    }
    /* <camera>/<command>/set, nothing more, nothing less */
    const char *cam = topic + np + 1;
    const char *slash1 = strchr(cam, '/');
    const char *cmd = slash1 ? slash1 + 1 : NULL;
    const char *slash2 = cmd ? strchr(cmd, '/') : NULL;
    if (!slash2 || strcmp(slash2, "/set") != 0) {
        snprintf(why, cap, "not a command topic (<prefix>/<camera>/<command>/set)");
        return -EINVAL;
    }
    size_t ncam = (size_t)(slash1 - cam), ncmd = (size_t)(slash2 - cmd);
    if (!cfg_is_id(cam, ncam, BUS_COMMAND_CAMERA_MAX)) {
        snprintf(why, cap, "no such camera (not a camera id)");
        return -EINVAL;
    }
    memcpy(out->camera, cam, ncam);
    out->camera[ncam] = '\0';
    bool is_known = false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == ncmd && memcmp(names[i], cmd, ncmd) == 0) {
            out->what = (enum bus_switch)i;
            snprintf(out->name, sizeof(out->name), "%s", names[i]);
            is_known = true;
        }
    }
    if (!is_known) {
        char shown[33]; /* what the broker passed on, printable, for the log */
        size_t k = 0;
        for (; k < ncmd && k + 1 < sizeof(shown); k++)
            shown[k] = cmd[k] >= ' ' && cmd[k] <= '~' && cmd[k] != '\'' ? cmd[k] : '?';
        shown[k] = '\0';
        snprintf(why, cap, "unknown command '%s' (recordings, detect or motion)", shown);
        return -EINVAL;
    }
    if (len == 2 && memcmp(payload, "ON", 2) == 0) {
        out->is_on = true;
    } else if (len == 3 && memcmp(payload, "OFF", 3) == 0) {
        out->is_on = false;
    } else {
        snprintf(why, cap, "payload must be ON or OFF (%zu bytes received)", len);
        return -EINVAL;
    }
    return 0;
}
