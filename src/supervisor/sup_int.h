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
 * Placement (placement.c; docs/design/0069-placement.md): which node
 * should hold each camera, computed alike on every node from the nodes,
 * the leases and the cameras' placement. Strings are borrowed.
 */
struct sup_place_node {
    const char *id;
    const char *labels; /* comma-separated */
    int64_t capacity; /* enabled cameras; 0 = no limit */
    bool is_live; /* heartbeat fresh, not stopped */
    bool is_draining;
    bool is_rebalancing; /* node.rebalance: gives cameras to less loaded nodes */
    size_t load; /* the plan's: enabled cameras it holds or is given */
};

struct sup_place_camera {
    const char *id;
    const char *node; /* placement.node; "" = any */
    const char *labels; /* placement.labels, comma-separated */
    bool is_enabled;
    int holder; /* index of the node whose lease is live; -1 = free, expired or unknown */
    int chosen; /* out: index of the node that should hold it; -1 = none may */
};

/* Whether node n may run camera c (live; placement's node and labels); capacity aside. */
bool sup_place_may_run(const struct sup_place_node *n, const struct sup_place_camera *c);
/* Whether n has room for c in the plan so far (a disabled camera always fits). */
bool sup_place_has_room(const struct sup_place_node *n, const struct sup_place_camera *c);
/*
 * Sets each camera's chosen node, and each node's load. nodes sorted by
 * id (ties go to the first), cams by id. A camera whose holder may not
 * run it has holder set to -2 (it is to move). Thread: any.
 */
void sup_place_plan(struct sup_place_node *nodes, size_t nn, struct sup_place_camera *cams,
                    size_t nc);
/* Why no node may hold c (chosen -1), as a sentence naming the placement key. */
void sup_place_why_not(const struct sup_place_node *nodes, size_t nn,
                       const struct sup_place_camera *c, char *buf, size_t size);

/*
 * Camera leases (sup_leases.c; docs/design/0065-camera-leases.md): which of
 * the database's cameras this node runs. One pass of the supervisor's
 * sync: begin renews this node's leases when due and reads them all; hold
 * says whether this node may run a camera, claiming it when it is free or
 * expired; end forgets the pass. Without a node id every camera is held
 * (a supervisor made without leases). Thread: main.
 */
/* A camera planned for another node, or for none, and since when (sup_leases.c). */
struct sup_lease_wait {
    char *camera; /* owned */
    int64_t since_ms; /* first pass that found it free and not this node's to take */
    bool is_logged; /* "no node may record it" said */
};

struct sup_leases {
    char *node; /* owned; NULL = no leases */
    int64_t ttl_ms, next_renew_ms;
    int64_t now_ms; /* of the pass */
    struct sto_camera_lease *v; /* the pass's rows, by camera id */
    size_t n;
    /*
     * Fencing (docs/design/0066-fencing.md): the time this node's leases
     * run out by its own clock (the last renewal that committed, plus the
     * TTL), and whether another node was alive at the last read of the
     * nodes and could take the cameras over.
     */
    int64_t valid_until_ms;
    bool has_peers;
    bool is_fenced; /* the running set was stopped because the leases ran out */
    /*
     * Drain (docs/design/0067-node-drain.md): this node's row says
     * draining, read with the other nodes at each pass. Placement (0069)
     * then gives its cameras to nodes that may run them.
     */
    bool is_draining;
    bool is_drain_waiting; /* draining, but no peer to take the cameras (logged once) */
    /* Placement (docs/design/0069): the pass's nodes and plan, by index of the cameras. */
    struct sto_node *nodes;
    size_t nnodes;
    struct sup_place_node *pn;
    size_t npn;
    struct sup_place_camera *pc;
    size_t npc;
    int self; /* this node's index in pn */
    /* Cameras planned for another node, or for none, since when (kept across passes). */
    struct sup_lease_wait *waits, *next_waits;
    size_t nwaits, nnext;
    /* Cameras this node holds and gives up this pass (owned ids). */
    char **giving_up;
    size_t n_giving_up;
};

int sup_leases_begin(struct sup_leases *l, sto_db *db);
/*
 * Plans the pass (cams[0..n), by id, borrowed until sup_leases_end):
 * which node should hold each camera (docs/design/0069).
 */
void sup_leases_plan(struct sup_leases *l, const struct sto_camera *cams, size_t n);

enum sup_hold {
    SUP_HOLD_NO, /* another node holds it or should */
    SUP_HOLD_YES, /* this node runs it */
    SUP_HOLD_GIVE_UP, /* this node holds it but should not: stop it, then sup_leases_give_up */
};

/*
 * Whether this node runs planned camera i, claiming its lease when the
 * plan gives it to this node (or it waited for another node past the
 * TTL). When YES: *token gets the lease's token, and *not_before_ms,
 * when this call took it over from another node whose lease ran out, that
 * lease's expiry (that node may have recorded until then; 0066), else 0.
 * Without leases every camera is YES with both 0.
 */
enum sup_hold sup_leases_hold(struct sup_leases *l, sto_db *db, size_t i, int64_t *token,
                              int64_t *not_before_ms);
/* The id of the node the plan gives camera i to; NULL = none. */
const char *sup_leases_chosen(const struct sup_leases *l, size_t i);
void sup_leases_end(struct sup_leases *l);
/*
 * After a pass that could not read the leases: true when this node's
 * leases have run out and another node may hold its cameras now, so that
 * every pipeline must stop (a node alone keeps recording through a
 * database outage: nobody else can take its cameras).
 */
bool sup_leases_lapsed(struct sup_leases *l);
/*
 * Releases the leases a pass gave up (GIVE_UP), once their pipelines
 * stopped and the recorder handed over their last rows.
 */
void sup_leases_give_up(struct sup_leases *l, sto_db *db);
/* Gives every lease of this node up (a clean stop), and frees what l holds. */
void sup_leases_release(struct sup_leases *l, sto_db *db);

#endif
