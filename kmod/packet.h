/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: packet parsing and building (RFC 9000 section 17).
 */
#ifndef __NET_QUIC_PACKET_H
#define __NET_QUIC_PACKET_H

#include <linux/types.h>
#include <linux/mm_types_task.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include "connid.h"

struct quic_udp_sock;
struct sk_buff;
struct sock;

enum quic_pkt_type {
	QUIC_PKT_INITIAL,
	QUIC_PKT_0RTT,
	QUIC_PKT_HANDSHAKE,
	QUIC_PKT_RETRY,
	QUIC_PKT_SHORT,
};

#define QUIC_PN_LEN		4	/* we always send 4-byte packet numbers */
#define QUIC_HEADROOM		(MAX_HEADER + sizeof(struct ipv6hdr) + \
				 sizeof(struct udphdr))

union quic_addr;
struct quic_conn_id;

/* Where a probe goes when it is not for the connection's path. */
/* The parsed invariant part of a packet header. */
struct quic_hdr {
	u8 type;		/* enum quic_pkt_type */
	u32 version;
	struct quic_conn_id dcid;
	struct quic_conn_id scid;
	u32 pn_offset;
	u32 len;		/* of this packet, header included */
	u32 token_offset;	/* Initial: where its token is */
	u64 token_len;
};

/* The datagram being processed (packet.c), for the layers it reaches. */
struct quic_rx {
	union quic_addr from;		/* its source */
	union quic_addr to;		/* its destination */
	const struct quic_conn_id *dcid;	/* DCID of the packet processed */
	struct sk_buff *skb;		/* the datagram (decrypted) */
	u32 len;			/* its length */
	u8 from_set:1;			/* @from is known (not a replay) */
	u8 ecn:2;			/* its ECN field (0 for a replay) */
	u8 batch:1;			/* a burst is processed: wake the
					 * reader once, at its end
					 */
	u8 wake:1;			/* data for the reader came meanwhile */
};

struct quic_path_tx {
	struct quic_udp_sock *udp;
	const union quic_addr *local;	/* port included */
	const union quic_addr *peer;
	const struct quic_conn_id *dcid;
};

/* A datagram being assembled: up to one packet per number space. */
struct quic_dgram {
	struct sk_buff *skb;
	const struct quic_path_tx *tx;	/* NULL: the connection's path */
	u32 max;		/* payload bytes allowed */
	u8 nr;
	u8 pad:1;		/* must be padded to QUIC_MIN_DGRAM */
	u8 open:1;		/* the last packet's tag room is not added */
	u8 ecn:2;		/* the ECN field to send it with */
	struct {
		u8 level;
		u8 is_long;
		u32 start;
		u32 pn_offset;
		u32 len_offset;
		s64 pn;
	} pkts[3];
};

/* UDP GSO: datagrams of one flush that leave as one super-datagram
 * (SKB_GSO_UDP_L4), each a segment of the same size but the last.
 */
#define QUIC_GSO_MAX_SEGS	64
#define QUIC_GSO_MAX_BYTES	(U16_MAX - sizeof(struct ipv6hdr) - \
				 sizeof(struct udphdr))

struct quic_gso {
	struct sk_buff *skb;	/* the first datagram, the others in frags */
	struct page_frag frag;	/* where the others were copied */
	u32 size;		/* the first one's size: the segment size */
	u16 segs;
	u8 ecn:2;
	u8 on:1;		/* net.quic.gso */
	u8 closed:1;		/* a shorter datagram came: nothing more */
};

void quic_packet_rcv(struct quic_udp_sock *us, struct sk_buff *skb);
int quic_packet_backlog_rcv(struct sock *sk, struct sk_buff *skb);
void quic_packet_process_pending(struct sock *sk, u8 space);

int quic_dgram_init(struct sock *sk, struct quic_dgram *dg, u32 max);
u32 quic_dgram_room(const struct quic_dgram *dg);
int quic_pkt_begin(struct sock *sk, struct quic_dgram *dg, u8 level, s64 pn);
void quic_pkt_undo(struct quic_dgram *dg);
void quic_dgram_send(struct sock *sk, struct quic_dgram *dg);
void quic_gso_init(struct sock *sk, struct quic_gso *g);
void quic_dgram_send_gso(struct sock *sk, struct quic_dgram *dg,
			 struct quic_gso *g);
void quic_gso_flush(struct sock *sk, struct quic_gso *g);
u32 quic_packet_mss(struct sock *sk);

#endif /* __NET_QUIC_PACKET_H */
