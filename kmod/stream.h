/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: streams (RFC 9000 sections 2, 3, 4): the stream table, stream ID
 * rules, stream limits and the per-stream send and receive state.
 */
#ifndef __NET_QUIC_STREAM_H
#define __NET_QUIC_STREAM_H

#include <linux/list.h>
#include <linux/skbuff.h>
#include <linux/types.h>
#include <linux/quic.h>

#define QUIC_STREAM_HASH_SIZE	64
#define QUIC_STREAMS_MAX	4096		/* per type, either direction */
#define QUIC_STREAM_ID_MAX	((1ULL << 62) - 1)
#define QUIC_FINAL_UNKNOWN	U64_MAX

struct quic_stream {
	struct hlist_node node;		/* in quic_stream_table.hash */
	struct list_head send_node;	/* on table.send_list: data to send */
	struct list_head ctrl_node;	/* on table.ctrl_list: frames to send */
	s64 id;
	u8 send_state;			/* QUIC_STREAM_SEND_STATE_* */
	u8 recv_state;			/* QUIC_STREAM_RECV_STATE_* */
	u8 has_send:1,
	   has_recv:1,
	   fin_queued:1,		/* the user ended the stream */
	   fin_acked:1,
	   reset_pending:1,		/* RESET_STREAM to send */
	   stop_pending:1,		/* STOP_SENDING to send */
	   stop_inflight:1,		/* ... sent, not yet acknowledged */
	   max_data_pending:1;		/* MAX_STREAM_DATA to send */
	u8 blocked_pending:1,		/* STREAM_DATA_BLOCKED to send */
	   peer_stop:1,			/* reset for the peer's STOP_SENDING */
	   recv_seen:1;			/* RECV_STATE_RECV was reported */

	/* send side */
	struct sk_buff_head sndq;	/* chunks never sent, by offset */
	u64 send_off;			/* where the user's next byte goes */
	u64 send_next;			/* first byte never transmitted */
	u64 send_max;			/* the peer's MAX_STREAM_DATA */
	u64 blocked_at;			/* limit of the last STREAM_DATA_BLOCKED */
	u32 unacked;			/* chunks sent, not acknowledged */
	u32 reset_errcode;

	/* receive side */
	struct sk_buff_head reasm;	/* out-of-order data, by offset */
	u64 recv_next;			/* next in-order offset */
	u64 recv_read;			/* consumed by the user */
	u64 recv_highest;		/* highest offset received */
	u64 recv_max;			/* our MAX_STREAM_DATA */
	u64 recv_window;
	u64 final_size;			/* QUIC_FINAL_UNKNOWN until known */
	u32 stop_errcode;
};

/* skb->cb of a send chunk: one STREAM frame's data, sent and resent whole */
struct quic_snd_cb {
	s64 stream_id;
	u64 offset;
	u8 fin:1,
	   sent:1,			/* transmitted at least once */
	   dgram:1;			/* a DATAGRAM, not stream data */
};

#define QUIC_SND_CB(skb)	((struct quic_snd_cb *)&((skb)->cb[0]))

/* Stream type: the low two bits of a stream ID. */
#define QUIC_STREAM_BIDI	0
#define QUIC_STREAM_UNI		1

struct quic_stream_table {
	struct hlist_head hash[QUIC_STREAM_HASH_SIZE];
	struct list_head send_list;	/* streams with chunks in sndq */
	struct list_head ctrl_list;	/* streams with control frames due */
	struct sk_buff_head retxq;	/* lost chunks to send again */
	struct sk_buff_head dgramq;	/* DATAGRAMs to send */
	struct sk_buff_head rcvq;	/* stream data and datagrams for recvmsg */
	struct sk_buff_head earlyq;	/* ... received before ESTABLISHED */
	u32 count;

	/* streams we open, per type: how many, and the peer's limit */
	u64 local_next[2];
	u64 local_max[2];
	u64 local_blocked_at[2];	/* limit in our last STREAMS_BLOCKED */
	/* streams the peer opens: how many, our limit, closed ones */
	u64 peer_next[2];
	u64 peer_max[2];
	u64 peer_closed[2];
	u64 peer_max_init[2];

	/* connection flow control */
	u64 send_max;			/* the peer's MAX_DATA */
	u64 send_used;			/* stream bytes transmitted once */
	u64 data_blocked_at;
	u64 recv_max;			/* our MAX_DATA */
	u64 recv_highest;		/* sum of the streams' highest offsets */
	u64 recv_read;			/* sum of what the user consumed */
	u64 recv_window;
	u32 reasm_mem;			/* truesize of out-of-order data held */

	s64 latest;			/* stream for send()/write(), -1: none */
	u8 max_data_pending:1,
	   data_blocked_pending:1,
	   streams_blocked_pending:2,	/* bit per type */
	   max_streams_pending:2;	/* bit per type */
};

struct sock;

static inline u8 quic_stream_type(s64 id)
{
	return !!(id & QUIC_STREAM_TYPE_UNI_MASK);
}

void quic_streams_init(struct sock *sk);
void quic_streams_established(struct sock *sk);
void quic_streams_early(struct sock *sk);
void quic_streams_early_reset(struct sock *sk);
void quic_streams_free(struct sock *sk);

struct quic_stream *quic_stream_find(struct sock *sk, s64 id);
int quic_stream_open(struct sock *sk, s64 id, u32 flags, s64 *out);
struct quic_stream *quic_stream_send_get(struct sock *sk, s64 id, u32 flags,
					 int *err);
bool quic_stream_blocked(struct sock *sk, u8 type);
u64 quic_stream_local_max(struct sock *sk, u8 type);
int quic_stream_recv_get(struct sock *sk, s64 id, bool sender_frame,
			 struct quic_stream **out, u32 *errcode);
void quic_stream_maybe_free(struct sock *sk, struct quic_stream *st);
void quic_stream_ctrl_add(struct sock *sk, struct quic_stream *st);

int quic_stream_reset(struct sock *sk, s64 id, u32 errcode, bool user);
int quic_stream_stop_sending(struct sock *sk, s64 id, u32 errcode);
bool quic_stream_max_streams_rcv(struct sock *sk, u8 type, u64 max);
void quic_streams_max_data_rcv(struct sock *sk, u64 max);
bool quic_stream_max_data_rcv(struct quic_stream *st, u64 max);
bool quic_stream_send_progress(struct sock *sk, struct quic_stream *st);

#endif /* __NET_QUIC_STREAM_H */
