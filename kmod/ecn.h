/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: Explicit Congestion Notification (RFC 9000 13.4, RFC 9002 7.1).
 */
#ifndef __NET_QUIC_ECN_H
#define __NET_QUIC_ECN_H

#include <linux/types.h>

#include "pnspace.h"

struct sock;
struct sk_buff;

/* the counts of an ACK_ECN frame, in its order */
enum {
	QUIC_ECN_ECT0,
	QUIC_ECN_ECT1,
	QUIC_ECN_CE,
	QUIC_ECN_COUNTS,
};

/* Validation of the path (RFC 9000 13.4.2, A.4): the first
 * QUIC_ECN_TESTING_PKTS datagrams are marked ECT(0); then marking waits
 * for an ACK to show the marks arrived (CAPABLE) or not (FAILED).
 */
enum quic_ecn_state {
	QUIC_ECN_TESTING,
	QUIC_ECN_UNKNOWN,
	QUIC_ECN_CAPABLE,
	QUIC_ECN_FAILED,
	QUIC_ECN_OFF,		/* net.quic.ecn = 0: never marks */
};

#define QUIC_ECN_TESTING_PKTS	10

struct quic_ecn {
	u64 rcvd[QUIC_PN_MAX][QUIC_ECN_COUNTS];	/* packets received so marked */
	u64 peer[QUIC_PN_MAX][QUIC_ECN_COUNTS];	/* the peer's counts so far */
	u64 sent[QUIC_PN_MAX];		/* packets sent marked ECT(0) */
	u32 testing_sent;		/* ack-eliciting, marked while testing */
	u32 testing_lost;		/* of them, declared lost */
	u8 state;			/* enum quic_ecn_state */
};

/* What one ACK frame said and acknowledged, for quic_ecn_ack(). */
struct quic_ecn_ack {
	const u64 *counts;		/* ACK_ECN counts, NULL: a plain ACK */
	u32 newly_marked;		/* newly acked packets we sent ECT(0) */
	u64 newest_sent;		/* us, sent time of the newest packet it
					 * newly acknowledged, 0: none
					 */
};

void quic_ecn_init(struct sock *sk);
u8 quic_ecn_codepoint(const struct sk_buff *skb);
void quic_ecn_rcvd(struct sock *sk, u8 space, u8 codepoint);
const u64 *quic_ecn_counts(struct sock *sk, u8 space);
u8 quic_ecn_tx(struct sock *sk);
void quic_ecn_sent(struct sock *sk, u8 space, bool eliciting);
void quic_ecn_lost(struct sock *sk);
bool quic_ecn_ack(struct sock *sk, u8 space, const struct quic_ecn_ack *ack);

#endif /* __NET_QUIC_ECN_H */
