/*
 * RTP over UDP unicast for horus-camsim: one server port pair per set-up
 * track, and a zero-copy send of a shared cs_frame as datagrams.
 */
#ifndef HORUS_CAMSIM_UDP_H
#define HORUS_CAMSIM_UDP_H

#include "rtp.h"
#include "rtsp_proto.h"

#include <stdint.h>
#include <sys/socket.h>

#define CS_UDP_PACED_MAX 256 /* frames waiting for their due time, per track */

/* The sockets of one track sent over UDP. fd -1 when closed. */
typedef struct cs_udp {
    int rtp_fd; /* bound to server_port, connected to the client's RTP port */
    int rtcp_fd; /* bound to server_port + 1, connected to the client's RTCP port */
    int server_port;
    uint64_t sent_packets;
    uint64_t send_calls; /* sendmmsg calls, for the exit summary */
    uint64_t dropped_packets; /* EAGAIN or a send error: never retried */
    /* --fault reorder:N / duplicate:N: every Nth RTP datagram swapped or sent twice (0: off) */
    int reorder_every, duplicate_every;
    uint64_t fault_tick;
    /*
     * Paced frames (--pacing spread or --jitter with --write packet) wait
     * here, referenced, for their packets' due times (pacing.c): a ring.
     */
    cs_frame *paced[CS_UDP_PACED_MAX];
    uint32_t paced_head, paced_len;
    size_t paced_pos; /* byte offset of the head frame's next packet */
    uint32_t paced_index; /* that packet's index in its frame */
} cs_udp;

/*
 * Opens a server port pair on the address of local (the RTSP connection's
 * own address) and connects it to the host of peer at client ports rtp_port
 * and rtcp_port. *next_port is the server's rotating candidate (an even
 * number), advanced past what was taken. Both sockets are non-blocking.
 * Returns 0, or -errno when no pair could be bound.
 */
int cs_udp_open(cs_udp *u, const struct sockaddr_storage *local,
                const struct sockaddr_storage *peer, int rtp_port, int rtcp_port, int *next_port);

/* Closes both sockets. Safe on a closed or zeroed-and-closed cs_udp. */
void cs_udp_close(cs_udp *u);

/*
 * Sends every packet of frame (RTP on rtp_fd, a sender report on rtcp_fd),
 * stripping the 4-byte interleaved headers; the datagrams point into the
 * shared frame, nothing is copied. Never blocks: packets the socket does not
 * take are dropped and counted. Returns the number of packets dropped.
 */
unsigned cs_udp_send(cs_udp *u, const cs_frame *frame, bool is_per_packet);

/* Swaps or repeats datagrams of a batch for the reorder and duplicate faults. Returns the new
 * count. */
unsigned cs_udp_fault(cs_udp *u, struct iovec *iov, unsigned n, unsigned cap);

/*
 * Paced sending: queues a reference to frame (RTP with a due time) and
 * sends what is due by now. A full queue drops the frame. Returns the
 * packets dropped.
 */
unsigned cs_udp_send_paced(cs_udp *u, cs_frame *frame, int64_t now_ns);

/*
 * Sends the queued packets due by now_ns, one datagram per call, and
 * lowers *next_due_ns (0 = none yet) to the next one still waiting.
 * Returns the packets dropped.
 */
unsigned cs_udp_flush_paced(cs_udp *u, int64_t now_ns, int64_t *next_due_ns);

/*
 * Reads what the client sent (NAT punches, RTCP). Returns how many RTCP
 * receiver reports came on the RTCP port; the last one goes to *last.
 */
unsigned cs_udp_drain(cs_udp *u, struct rtcp_rr *last);

#endif
