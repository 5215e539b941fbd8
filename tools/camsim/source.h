/*
 * Where the server gets access units: a live queue fed by the encoder
 * thread, or a replay of a store of pre-encoded or demuxed access units,
 * looped with timestamps that keep growing.
 */
#ifndef HORUS_CAMSIM_SOURCE_H
#define HORUS_CAMSIM_SOURCE_H

#include "camsim.h"

#include <stddef.h>
#include <stdint.h>

/* A growable list of access units to replay in a loop. */
typedef struct cs_store {
    cs_au **aus; /* owned, and so is each element */
    size_t n;
    size_t cap;
    int64_t period_ns; /* loop length */
    int64_t period_ts[CS_TRACK_COUNT]; /* loop length in each track's clock */
} cs_store;

void cs_store_init(cs_store *store);
/* Appends au; steals it. */
void cs_store_append(cs_store *store, cs_au *au);
/* Orders the access units by send_ns, keeping the order of equal ones. */
void cs_store_sort(cs_store *store);
void cs_store_release(cs_store *store);

/*
 * Drops audio frames (frame_samples long) that would end after end_samples,
 * so the next loop's first frame does not overlap the last one.
 */
void cs_store_trim_audio(cs_store *store, int64_t end_samples, int frame_samples);

typedef struct cs_source cs_source;

/*
 * Called for each access unit that is due. au is borrowed for the call;
 * pts is its final presentation time (it grows across loops).
 */
typedef void (*cs_source_cb)(void *ud, const cs_au *au, int64_t pts);

/* Returns a new live source; the encoder thread feeds it with cs_source_push. */
cs_source *cs_source_new_live(void);

/*
 * Returns a new replay source. Steals the contents of store, which is left
 * empty. Nothing is due before cs_source_start.
 */
cs_source *cs_source_new_replay(cs_store *store);

void cs_source_free(cs_source *src);

/* Live only: queues au for the server. Steals au. Thread: any. */
void cs_source_push(cs_source *src, cs_au *au);

/*
 * Live only: waits up to timeout_ms until a video access unit is queued and
 * returns it (borrowed; it stays queued), or NULL. Thread: server, before
 * the first drain.
 */
const cs_au *cs_source_wait_video(cs_source *src, int timeout_ms);

/* Replay only: the first video access unit (borrowed), or NULL. */
const cs_au *cs_source_first_video(const cs_source *src);

/* The file descriptor that becomes readable when something is due. */
int cs_source_fd(const cs_source *src);

/*
 * Replay only: plays the store speed times faster than real time (the
 * flood fault); 1 is real time. Call before cs_source_start.
 */
void cs_source_set_speed(cs_source *src, int speed);

/* Starts the replay clock at now_ns (no-op for live). */
void cs_source_start(cs_source *src, int64_t now_ns);

/* Hands every due access unit to cb, in order. Thread: server only. */
void cs_source_drain(cs_source *src, int64_t now_ns, cs_source_cb cb, void *ud);

#endif
