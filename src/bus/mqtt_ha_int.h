/* Private to src/bus: what the MQTT adapter announced to Home Assistant (mqtt_ha.c). */
#ifndef HORUS_BUS_MQTT_HA_INT_H
#define HORUS_BUS_MQTT_HA_INT_H

#include "storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUS_HA_SETTING "bus_mqtt_announced" /* the settings key of bus_ha_dump's text */

typedef struct bus_ha bus_ha;

/* Publishes payload (borrowed), retained, on topic; "" clears the topic's retained message. */
typedef void (*bus_ha_publish_fn)(const char *topic, const char *payload, void *arg);

bus_ha *bus_ha_new(void);
void bus_ha_free(bus_ha *h);

/*
 * Adds what an earlier run announced and retained (bus_ha_dump's text, from
 * the database): {"v": 1, "configs": [[camera, topic], ...], "retained":
 * [[camera, topic], ...]}. Returns 0, or -EINVAL for text of any other shape
 * (nothing added). Pure; fuzzed by fuzz_bus_ha.
 */
int bus_ha_load(bus_ha *h, const char *text, size_t len);

/* The text bus_ha_load reads back (new; free()). */
char *bus_ha_dump(const bus_ha *h);

/* Starts a round: what is wanted now is told by bus_ha_camera and bus_ha_want. */
void bus_ha_begin(bus_ha *h);

/* camera exists now (its retained topics stay). */
void bus_ha_camera(bus_ha *h, const char *camera);

/*
 * camera's entity wants payload retained on the config topic. Returns 0, or
 * -EEXIST when another camera of this round already wants that topic (two
 * ids that read the same once made topic-safe): the first keeps it.
 */
int bus_ha_want(bus_ha *h, const char *camera, const char *topic, const char *payload);

/*
 * Ends the round: publishes each wanted config that is new, changed, or
 * every one when is_all (a new connection: the broker may have lost
 * them); clears (empty retained payload, as Home Assistant documents for
 * removing an entity) each config announced before and not wanted now, and
 * each retained topic of a camera that no longer exists. Returns how many
 * messages went out.
 */
size_t bus_ha_commit(bus_ha *h, bool is_all, bus_ha_publish_fn publish, void *arg);

/*
 * Remembers a retained state topic of camera, to clear it when the camera
 * goes. Returns whether it is new (then a commit should follow).
 */
bool bus_ha_note_retained(bus_ha *h, const char *camera, const char *topic);

/* Whether what bus_ha_dump says changed since the last call (then save it). */
bool bus_ha_take_dirty(bus_ha *h);

/*
 * Every camera of db in id order (pages of sto_camera_list) into *out (free
 * with sto_camera_list_free) and *n; *print (when not NULL) a hash of their
 * ids and update times, which changes when a camera is added, deleted or
 * updated. The file's one function that does I/O. Returns 0 or a negative
 * code (nothing returned). Thread: any.
 */
int bus_ha_cameras(sto_db *db, struct sto_camera **out, size_t *n, uint64_t *print);

#endif
