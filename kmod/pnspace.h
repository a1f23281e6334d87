/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: packet number spaces, ACK ranges and sent-packet records.
 */
#ifndef __NET_QUIC_PNSPACE_H
#define __NET_QUIC_PNSPACE_H

#include <linux/list.h>
#include <linux/skbuff.h>
#include <linux/types.h>

enum quic_pn_space_id {
	QUIC_PN_INITIAL,
	QUIC_PN_HANDSHAKE,
	QUIC_PN_APP,
	QUIC_PN_MAX,
};

#define QUIC_ACK_RANGES_MAX	32
#define QUIC_SENT_FRAMES_MAX	12

/* [start, end], kept in descending order, disjoint and non-adjacent */
struct quic_ack_range {
	s64 start;
	s64 end;
};

/* What a sent packet carried that must be resent if it is lost. */
struct quic_sent_frame {
	u8 type;
	u32 len;
	u64 offset;	/* CRYPTO: stream offset; NEW_CONNECTION_ID: seq */
};

struct quic_sent_pkt {
	struct list_head list;
	s64 pn;
	u64 time;		/* us */
	u16 size;
	u16 dgram_size;		/* of its datagram, when it ends one */
	u8 ack_eliciting:1,
	   in_flight:1,
	   acked_later:1,	/* one sent after it (before the next
				 * unacknowledged one) was acknowledged
				 */
	   ecn:1,		/* sent marked ECT(0) */
	   pmtu_probe:1;	/* a PLPMTUD probe (pmtud.c) */
	u8 nr_frames;
	struct quic_sent_frame frames[QUIC_SENT_FRAMES_MAX];
	struct sk_buff *chunks;	/* stream data sent, linked by skb->next */
};

struct quic_pnspace {
	/* receive side */
	s64 largest_recv;		/* -1: none */
	u64 largest_recv_time;		/* us */
	struct quic_ack_range ranges[QUIC_ACK_RANGES_MAX];
	s64 recv_floor;			/* every pn below it is a duplicate */
	u8 nr_ranges;
	u8 ack_pending:1,		/* an ACK frame should be sent */
	   ack_immediate:1;		/* ... without delay */
	u16 ack_eliciting_rcvd;		/* since the last ACK we sent */

	/* send side */
	s64 next_pn;
	s64 largest_acked;		/* -1: none */
	struct list_head sent;		/* quic_sent_pkt, ascending pn */
	u64 last_ack_eliciting_time;	/* us, 0: none in flight */
	u64 loss_time;			/* us, 0: not armed */
	u32 bytes_in_flight;
	u16 ack_eliciting_in_flight;
	u8 discarded:1;
};

void quic_pnspace_init(struct quic_pnspace *s);
void quic_pnspace_free(struct quic_pnspace *s);
bool quic_pnspace_is_dup(const struct quic_pnspace *s, s64 pn);
void quic_pnspace_record(struct quic_pnspace *s, s64 pn, u64 now);

#endif /* __NET_QUIC_PNSPACE_H */
