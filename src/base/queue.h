/*
 * Bounded multi-producer multi-consumer queue of opaque pointers.
 *
 * Threads talk through these (docs/conventions.md §6). A full queue never blocks
 * a media producer: it either refuses the item (-EAGAIN) or, with
 * queue_push_drop_oldest, evicts the oldest item and hands it back so the
 * caller can free and count it. Only queue_push_wait blocks, for control
 * messages that must not be lost. Consumers block with a timeout.
 */
#ifndef HORUS_QUEUE_H
#define HORUS_QUEUE_H

#include <stddef.h>

typedef struct horus_queue horus_queue;

/* Creates a queue holding at most capacity items (>= 1). Returns a new queue. */
horus_queue *queue_new(size_t capacity);

/*
 * Frees q. Items still queued are passed to free_cb when it is not NULL.
 * No thread may use q any more. queue_free(NULL, ...) is a no-op.
 */
void queue_free(horus_queue *q, void (*free_cb)(void *item));

/*
 * Appends item. Returns 0; -EAGAIN when full (item not taken); HORUS_ESTOPPED
 * after queue_close (item not taken). Never blocks. Thread: any.
 */
int queue_push(horus_queue *q, void *item);

/*
 * Appends item, waiting while the queue is full until a consumer makes
 * room. Returns 0, or HORUS_ESTOPPED once the queue is closed (item not
 * taken), also while waiting. For control messages that must not be lost
 * and must stay behind the items queued before them; never on a media
 * path. Thread: any but a consumer of q.
 */
int queue_push_wait(horus_queue *q, void *item);

/*
 * Appends item; when full, first removes the oldest item and stores it in
 * *dropped (else *dropped = NULL). Returns 0, or HORUS_ESTOPPED after close
 * (item not taken). Thread: any.
 */
int queue_push_drop_oldest(horus_queue *q, void *item, void **dropped);

/*
 * Removes up to max items into items[], waiting up to timeout_ms for the
 * first one (-1 waits forever, 0 does not wait). Returns the number taken
 * (>= 1), -ETIMEDOUT, or HORUS_ESTOPPED once closed and drained. Thread: any.
 */
int queue_pop_batch(horus_queue *q, void **items, size_t max, int timeout_ms);

/* queue_pop_batch for one item. */
int queue_pop(horus_queue *q, void **item, int timeout_ms);

/* Refuses further pushes and wakes every waiting consumer. Thread: any. */
void queue_close(horus_queue *q);

size_t queue_len(horus_queue *q);
size_t queue_capacity(const horus_queue *q);
/* Producers blocked in queue_push_wait right now (tests, debug dumps). Thread: any. */
unsigned queue_producers_waiting(horus_queue *q);

#endif
