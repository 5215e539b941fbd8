/* Private to src/supervisor and its unit tests. */
#ifndef HORUS_SUPERVISOR_SUP_INT_H
#define HORUS_SUPERVISOR_SUP_INT_H

#include "storage.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * What a camera's pipeline is built from (URLs, enabled, recording,
 * segment length) as a new string: when it differs from the running
 * pipeline's, sync restarts the camera. Other fields (name, retention)
 * change nothing that runs. Thread: any.
 */
char *sup_camera_fingerprint(const struct sto_camera *c);

/*
 * A stream's frame and byte rates over its last few status passes: a
 * ring of (monotonic time, video frames, bytes) samples of ingest's
 * cumulative counters, one a pass (about a second). Plain data, main
 * thread only.
 */
#define SUP_RATE_SAMPLES 6 /* 5 intervals: ~5 s at the 1 s tick */
struct sup_rate {
    int64_t t_ns[SUP_RATE_SAMPLES];
    uint64_t frames[SUP_RATE_SAMPLES];
    uint64_t bytes[SUP_RATE_SAMPLES];
    unsigned n; /* samples held, <= SUP_RATE_SAMPLES */
    unsigned next; /* where the next sample goes */
};

/* Forgets every sample (the stream went down, or restarted). */
void sup_rate_reset(struct sup_rate *r);
/*
 * Adds a sample. Counters that went back (a new ingest with fresh counts)
 * or a clock that did not advance start the window over. Thread: main.
 */
void sup_rate_add(struct sup_rate *r, int64_t now_ns, uint64_t frames, uint64_t bytes);
/*
 * Frames per second and bits per second between the oldest and newest
 * sample. Returns false (nothing written) until the samples span at least
 * half a second.
 */
bool sup_rate_get(const struct sup_rate *r, double *fps, double *bits_per_s);

/*
 * Camera leases (sup_leases.c; docs/design/0065-camera-leases.md): which of
 * the database's cameras this node runs. One pass of the supervisor's
 * sync: begin renews this node's leases when due and reads them all; hold
 * says whether this node may run a camera, claiming it when it is free or
 * expired; end forgets the pass. Without a node id every camera is held
 * (a supervisor made without leases). Thread: main.
 */
struct sup_leases {
    char *node; /* owned; NULL = no leases */
    int64_t ttl_ms, next_renew_ms;
    int64_t now_ms; /* of the pass */
    struct sto_camera_lease *v; /* the pass's rows, by camera id */
    size_t n;
    uint64_t lost; /* leases another node took from this one */
    /*
     * Fencing (docs/design/0066-fencing.md): the time this node's leases
     * run out by its own clock (the last renewal that committed, plus the
     * TTL), and whether another node was alive at that renewal and could
     * take the cameras over.
     */
    int64_t valid_until_ms;
    bool has_peers;
    bool is_fenced; /* the running set was stopped because the leases ran out */
    /*
     * Drain (docs/design/0067-node-drain.md): this node's row says
     * draining, read with the peers at each renewal. While a peer is
     * alive, hold says no to every camera and counts the ones this node
     * still holds, which sup_leases_give_up releases after their pipelines
     * stopped.
     */
    bool is_draining;
    bool is_drain_waiting; /* draining, but no peer to take the cameras (logged once) */
    size_t n_giving_up; /* of this pass */
};

int sup_leases_begin(struct sup_leases *l, sto_db *db);
/*
 * When this node holds the camera's lease: *token gets its token, and
 * *not_before_ms, when this call took it over from another node whose
 * lease ran out, that lease's expiry (that node may have recorded until
 * then; docs/design/0066), else 0. Both 0 without leases.
 */
bool sup_leases_hold(struct sup_leases *l, sto_db *db, const char *camera, int64_t *token,
                     int64_t *not_before_ms);
void sup_leases_end(struct sup_leases *l);
/*
 * After a pass that could not read the leases: true when this node's
 * leases have run out and another node may hold its cameras now, so that
 * every pipeline must stop (a node alone keeps recording through a
 * database outage: nobody else can take its cameras).
 */
bool sup_leases_lapsed(struct sup_leases *l);
/*
 * Releases the leases a draining pass said no to (l->n_giving_up), once
 * their pipelines stopped and the recorder handed over their last rows.
 */
void sup_leases_give_up(struct sup_leases *l, sto_db *db);
/* Gives every lease of this node up (a clean stop), and frees what l holds. */
void sup_leases_release(struct sup_leases *l, sto_db *db);

#endif
