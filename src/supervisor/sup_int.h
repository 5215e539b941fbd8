/* Private to src/supervisor and its unit tests. */
#ifndef HORUS_SUPERVISOR_SUP_INT_H
#define HORUS_SUPERVISOR_SUP_INT_H

#include "storage.h"

/*
 * What a camera's pipeline is built from (URLs, enabled, recording,
 * segment length) as a new string: when it differs from the running
 * pipeline's, sync restarts the camera. Other fields (name, retention)
 * change nothing that runs. Thread: any.
 */
char *sup_camera_fingerprint(const struct sto_camera *c);

#endif
