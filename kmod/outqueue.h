/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: the send side: what goes into packets, loss recovery.
 */
#ifndef __NET_QUIC_OUTQUEUE_H
#define __NET_QUIC_OUTQUEUE_H

#include <linux/types.h>

#include "pnspace.h"

#define QUIC_CRYPTO_OUT_MAX	(64 * 1024)	/* per level */

/* The CRYPTO stream we send at one level: all of it is kept until the
 * level is discarded, @sent is where new (or lost, rewound) data starts.
 */
struct quic_crypto_out {
	u8 *buf;
	u32 len;
	u32 size;
	u32 sent;
};

/* The send side's state (outqueue.c). */
struct quic_outqueue {
	struct quic_crypto_out cout[QUIC_PN_MAX];	/* per space */
	u8 probe_mask;			/* spaces owing a probe after a PTO */
	u8 corked:1;			/* MSG_MORE: hold CRYPTO data back */
	u8 pace_wait:1;			/* data held back by pacing */
	u8 pace_blocked:1;		/* flush: the pacing clock is ahead */
	u8 ack_eliciting_sent:1;	/* since the last packet received */
	u8 hs_done_pending:1;		/* server: HANDSHAKE_DONE to send */
	u8 new_token_pending:1;		/* server: NEW_TOKEN (@token) to send */
	u8 new_token_inflight:1;	/* server: sent, not yet acknowledged */
	u8 blocked_tries;		/* BLOCKED frames sent again, in a row */
	u64 lost;			/* packets declared lost */
};

struct sock;
struct iov_iter;

int quic_outq_crypto_append(struct sock *sk, u8 space, const void *data,
			    u32 len, struct iov_iter *from);
void quic_outq_flush(struct sock *sk);
void quic_outq_send_close(struct sock *sk);
struct quic_sent_pkt;

bool quic_outq_amp_limited(struct sock *sk);
void quic_outq_cork(struct sock *sk, bool on);
void quic_outq_hs_done(struct sock *sk);
void quic_outq_crypto_stop(struct sock *sk, u8 space);
int quic_outq_new_token(struct sock *sk);
bool quic_outq_new_token_busy(struct sock *sk);
void quic_outq_ping(struct sock *sk, u8 space);
void quic_outq_rcvd(struct sock *sk);
bool quic_outq_pkt_acked(struct sock *sk, struct quic_sent_pkt *sp);
void quic_outq_pkt_lost(struct sock *sk, u8 space, struct quic_sent_pkt *sp,
			u8 reason);
void quic_outq_probe(struct sock *sk, u8 space);
int quic_outq_flow_blocked(struct sock *sk);
void quic_outq_blocked_again(struct sock *sk);
void quic_outq_discard_space(struct sock *sk, u8 space);
void quic_outq_free(struct sock *sk);

struct quic_stream;

ssize_t quic_outq_stream_write(struct sock *sk, struct quic_stream *st,
			       struct iov_iter *from, size_t len, bool fin,
			       long *timeo);
ssize_t quic_outq_dgram_write(struct sock *sk, struct iov_iter *from,
			      size_t len, long *timeo);

#endif /* __NET_QUIC_OUTQUEUE_H */
