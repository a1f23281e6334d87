/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: the receive side: CRYPTO reassembly, handshake data and events
 * for recvmsg(), packets waiting for their keys.
 */
#ifndef __NET_QUIC_INQUEUE_H
#define __NET_QUIC_INQUEUE_H

#include <linux/list.h>
#include <linux/skbuff.h>
#include <linux/types.h>

#include "pnspace.h"

#define QUIC_CRYPTO_IN_WINDOW	(64 * 1024)	/* beyond the read offset */
#define QUIC_PENDING_PKTS_MAX	16		/* per level, awaiting keys */
#define QUIC_TICKET_MAX_LEN	4096
#define QUIC_INQ_SHARE_MIN	512		/* bytes of stream data to share */
/* small stream data is copied into an skb whose head takes this much
 * (data and shared info), where the following small in-order pieces of
 * the stream are appended
 */
#define QUIC_INQ_COALESCE_HEAD	2048
/* handshake data and events may exceed the receive buffer by this much,
 * so that stream data cannot crowd them out
 */
#define QUIC_INQ_EVENT_SLACK	(64 * 1024)
#define QUIC_INQ_WINDOW_MIN	(16 * 1024)	/* smallest window we grant */

struct quic_crypto_in {
	u64 off;		/* next in-order offset */
	struct list_head frags;	/* out-of-order data, ascending offset */
	u32 frag_bytes;
};

/* skb->cb of skbs on sk_receive_queue (handshake data, events) and on
 * the stream table's rcvq and reassembly queues (stream data, datagrams)
 */
struct quic_rcv_cb {
	u8 level;		/* QUIC_CRYPTO_* of handshake data */
	u8 event;		/* notification (MSG_QUIC_NOTIFICATION) */
	u8 dgram;		/* a DATAGRAM (MSG_QUIC_DATAGRAM) */
	u8 fin:1,		/* ends at the stream's final size */
	   ooo:1;		/* charged to the reassembly memory */
	s64 stream_id;
	u64 offset;
};

#define QUIC_RCV_CB(skb)	((struct quic_rcv_cb *)&((skb)->cb[0]))

/* The receive side's state (inqueue.c). */
struct quic_inqueue {
	struct quic_crypto_in cin[QUIC_PN_MAX];		/* per space */
	struct sk_buff_head pending[QUIC_PN_MAX];	/* packets awaiting keys */
	u8 *ticket;			/* APP-level CRYPTO data (NST) */
	u32 ticket_len;
	u32 events;			/* enabled quic_event_type bits */
};

struct sock;

void quic_inq_init(struct sock *sk);
void quic_inq_free(struct sock *sk, struct quic_crypto_in *in);
int quic_inq_crypto_rcv(struct sock *sk, u8 level, u64 off, const u8 *data,
			u32 len, u32 *terr);
void quic_inq_event(struct sock *sk, u8 type, const void *data, u32 len);
void quic_inq_discard_space(struct sock *sk, u8 space);
void quic_inq_free_all(struct sock *sk);
void quic_inq_ticket_free(struct sock *sk);
void quic_inq_pending_add(struct sock *sk, u8 space, const u8 *data, u32 len);
void quic_inq_pending_take(struct sock *sk, u8 space, struct sk_buff_head *list);
void quic_inq_set_event(struct sock *sk, u8 type, bool on);
bool quic_inq_event_on(struct sock *sk, u8 type);
void quic_inq_inherit(struct sock *sk, const struct sock *lsk);
u8 *quic_inq_ticket_buf(struct sock *sk);
u32 quic_inq_ticket_len(struct sock *sk, int len);

struct quic_stream;

void quic_inq_stream_event(struct sock *sk, struct quic_stream *st, u8 state,
			   u32 errcode, u64 finalsz);
int quic_inq_stream_rcv(struct sock *sk, struct quic_stream *st, u64 off,
			const u8 *data, u32 len, bool fin, u32 *terr);
int quic_inq_reset_rcv(struct sock *sk, struct quic_stream *st, u32 errcode,
		       u64 final, u32 *terr);
int quic_inq_dgram_rcv(struct sock *sk, const u8 *data, u32 len);
void quic_inq_read(struct sock *sk, struct quic_stream *st, u32 n);
void quic_inq_blocked_rcv(struct sock *sk, struct quic_stream *st, u64 limit);
void quic_inq_early_deliver(struct sock *sk);

#endif /* __NET_QUIC_INQUEUE_H */
