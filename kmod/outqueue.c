// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: the send side.
 *
 * quic_outq_flush() fills datagrams with what each packet number space
 * owes the peer: ACKs, control frames and CRYPTO data, coalescing
 * Initial, Handshake and 1-RTT packets into one datagram.  A record of
 * every ack-eliciting packet is kept until it is acknowledged or declared
 * lost (RFC 9002 section 6), and lost CRYPTO data is sent again.
 */

#include <linux/slab.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "netns.h"
#include "socket.h"
#include "packet.h"
#include "frame.h"
#include "connection.h"
#include "recovery.h"
#include <trace/events/quic.h>

/**
 * quic_outq_crypto_append - queue handshake data to send in CRYPTO frames
 * @sk: the connection (locked)
 * @space: the packet number space of its encryption level
 * @data: the bytes, used when @from is NULL
 * @len: their number
 * @from: the user's data (sendmsg()), or NULL to copy from @data
 *
 * All of a level's CRYPTO stream is kept until the level is discarded;
 * the buffer grows as needed, up to QUIC_CRYPTO_OUT_MAX.
 * Context: process context, may sleep.
 *
 * Return: 0, -EMSGSIZE beyond QUIC_CRYPTO_OUT_MAX, -ENOMEM or -EFAULT.
 */
int quic_outq_crypto_append(struct sock *sk, u8 space, const void *data,
			    u32 len, struct iov_iter *from)
{
	struct quic_crypto_out *o = &quic_outq(sk)->cout[space];
	u32 need = o->len + len, size;
	u8 *buf;

	if (need > QUIC_CRYPTO_OUT_MAX)
		return -EMSGSIZE;
	if (need > o->size) {
		size = max_t(u32, roundup_pow_of_two(need), 1024);
		buf = krealloc(o->buf, size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		o->buf = buf;
		o->size = size;
	}
	if (from) {
		if (!copy_from_iter_full(o->buf + o->len, len, from))
			return -EFAULT;
	} else {
		memcpy(o->buf + o->len, data, len);
	}
	o->len += len;
	return 0;
}

/**
 * quic_outq_amp_limited - is a server held by the anti-amplification limit?
 * @sk: the connection (locked)
 *
 * RFC 9000 section 8.1: until the client's address is validated, a
 * server sends at most three times the bytes it received.
 *
 * Return: true if another full datagram would exceed that limit.
 */
bool quic_outq_amp_limited(struct sock *sk)
{
	struct quic_paths *paths = quic_paths(sk);

	if (!quic_is_serv(sk) || paths->addr_validated)
		return false;
	return paths->tx_bytes + QUIC_MAX_DGRAM > 3 * paths->rx_bytes;
}

static bool quic_outq_app_wants(struct sock *sk);

/* The level packets of @space are sent at, QUIC_CRYPTO_MAX if none yet.
 * Before its 1-RTT keys a client sends 0-RTT, behind its first Initial
 * so that the server can route it (RFC 9001 4.6, 5.6).
 */
static u8 quic_outq_level(struct sock *sk, u8 space)
{
	u8 level = quic_space_level(space);

	if (quic_keys(sk, level)->tx_ready)
		return level;
	if (space == QUIC_PN_APP && !quic_is_serv(sk) &&
	    quic_keys(sk, QUIC_CRYPTO_EARLY)->tx_ready &&
	    (quic_pnspace(sk, QUIC_PN_INITIAL)->next_pn ||
	     quic_pnspace(sk, QUIC_PN_INITIAL)->discarded))
		return QUIC_CRYPTO_EARLY;
	return QUIC_CRYPTO_MAX;
}

static bool quic_outq_space_wants(struct sock *sk, u8 space)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_outqueue *outq = quic_outq(sk);
	struct quic_pnspace *s = quic_pnspace(sk, space);
	u8 level = quic_outq_level(sk, space);

	if (s->discarded || level == QUIC_CRYPTO_MAX)
		return false;
	if (level == QUIC_CRYPTO_EARLY)	/* stream frames only */
		return quic_outq_app_wants(sk);
	if (s->ack_pending && s->ack_immediate)
		return true;
	if (outq->cout[space].sent < outq->cout[space].len && !outq->corked)
		return true;
	if (outq->probe_mask & BIT(space))
		return true;
	if (space == QUIC_PN_APP &&
	    (outq->hs_done_pending || ids->new_cid_pending ||
	     outq->new_token_pending ||
	     quic_paths(sk)->path_response_pending || ids->retire_count))
		return true;
	if (space == QUIC_PN_APP && quic_outq_app_wants(sk))
		return true;
	return false;
}

static void quic_sent_add_frame(struct quic_sent_pkt *sp, u8 type, u64 off,
				u32 len)
{
	if (sp->nr_frames >= QUIC_SENT_FRAMES_MAX)
		return;
	sp->frames[sp->nr_frames].type = type;
	sp->frames[sp->nr_frames].offset = off;
	sp->frames[sp->nr_frames].len = len;
	sp->nr_frames++;
}

/* ---- stream data, flow control and datagrams: the send side ---------- */

#define QUIC_STREAM_HDR_MAX	19	/* type, ID, offset, 2-byte length */
#define QUIC_ACK_ROOM		40	/* kept free so an ACK fits beside */

/* Largest datagram we send on an established connection. */
static u32 quic_outq_mss(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	/* a server's big packets wait for the client's address */
	if (sk->sk_state == QUIC_SS_ESTABLISHED && qs->mss &&
	    (!quic_is_serv(sk) || quic_paths(sk)->addr_validated))
		return qs->mss;
	return QUIC_MAX_DGRAM;
}

/* The payload of one STREAM frame filling a packet. */
static u32 quic_outq_chunk_max(struct sock *sk)
{
	return quic_outq_mss(sk) - (1 + quic_cids(sk)->dcid.len + QUIC_PN_LEN) -
	       QUIC_TAG_LEN - QUIC_STREAM_HDR_MAX - QUIC_ACK_ROOM;
}

static u32 quic_outq_in_flight(struct sock *sk)
{
	return quic_pnspace(sk, QUIC_PN_INITIAL)->bytes_in_flight +
	       quic_pnspace(sk, QUIC_PN_HANDSHAKE)->bytes_in_flight +
	       quic_pnspace(sk, QUIC_PN_APP)->bytes_in_flight;
}

static u64 quic_outq_max_pacing_rate(struct sock *sk)
{
	return READ_ONCE(sk->sk_max_pacing_rate);
}

/* May the packet being built take more new data?  Within the window, and
 * when the pacing clock allows a datagram (one being built already has
 * its turn: the clock moves on only once it is sent; quic_outq_flush()
 * reads the time once and keeps pace_blocked).  A probe may always.
 */
static bool quic_outq_cwnd_ok(struct sock *sk, u32 building)
{
	struct quic_outqueue *outq = quic_outq(sk);
	struct quic_sock *qs = quic_sk(sk);

	if (outq->probe_mask & BIT(QUIC_PN_APP))
		return true;
	if (quic_outq_in_flight(sk) + building >= qs->cong.cwnd)
		return false;
	if (!outq->pace_blocked)
		return true;
	outq->pace_wait = 1;
	return false;
}

static bool quic_outq_wspace(struct sock *sk)
{
	return sk_wmem_alloc_get(sk) < READ_ONCE(sk->sk_sndbuf);
}

static int quic_outq_wait_space(struct sock *sk, s64 id, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct quic_stream *st;
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	while (!quic_outq_wspace(sk)) {
		err = sock_error(sk);
		if (err)
			break;
		err = -EPIPE;
		if (!quic_can_send_data(sk))
			break;
		st = id >= 0 ? quic_stream_find(sk, id) : NULL;
		if (id >= 0 && (!st || st->send_state > QUIC_STREAM_SEND_STATE_SEND))
			break;
		err = -EAGAIN;
		if (!*timeo)
			break;
		err = sock_intr_errno(*timeo);
		if (signal_pending(current))
			break;
		err = 0;
		if (sk->sk_socket)
			set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		quic_sk_wait(sk, timeo, quic_outq_wspace(sk) ||
			     READ_ONCE(sk->sk_err) ||
			     !quic_can_send_data(sk), &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

static struct sk_buff *quic_outq_chunk_alloc(struct sock *sk, u32 size,
					     s64 id, u64 off, gfp_t gfp)
{
	struct sk_buff *skb;

	skb = alloc_skb(size, gfp);
	if (!skb)
		return NULL;
	skb_set_owner_w(skb, sk);
	memset(skb->cb, 0, sizeof(struct quic_snd_cb));
	QUIC_SND_CB(skb)->stream_id = id;
	QUIC_SND_CB(skb)->offset = off;
	return skb;
}

/**
 * quic_outq_stream_write - queue user data on a stream
 * @sk: the connection (locked, ESTABLISHED)
 * @st: the stream (writable)
 * @from: the data
 * @len: its length
 * @fin: end the stream after it
 * @timeo: how long to wait for send buffer space
 *
 * Data is cut into chunks of one STREAM frame each.  Unless
 * stream_data_nodelay is set, a small write leaves room in its chunk for
 * the next one (and the Nagle-like rule in quic_outq_put_streams() holds
 * it back while data is in flight).
 *
 * Return: bytes queued (short if the wait was interrupted or timed out
 * after some were), or a negative errno.
 */
ssize_t quic_outq_stream_write(struct sock *sk, struct quic_stream *st,
			       struct iov_iter *from, size_t len, bool fin,
			       long *timeo)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	bool nodelay = quic_sk(sk)->config.stream_data_nodelay;
	u32 max = quic_outq_chunk_max(sk), n, size;
	s64 id = st->id;
	struct sk_buff *skb;
	size_t copied = 0;
	int err = 0;

	while (copied < len) {
		skb = skb_peek_tail(&st->sndq);
		if (skb && skb->len < max && skb_tailroom(skb)) {
			n = min_t(size_t, len - copied, max - skb->len);
			n = min_t(u32, n, skb_tailroom(skb));
			if (!copy_from_iter_full(skb_put(skb, n), n, from)) {
				skb_trim(skb, skb->len - n);
				err = -EFAULT;
				break;
			}
			st->send_off += n;
			copied += n;
			continue;
		}
		if (!quic_outq_wspace(sk)) {
			quic_outq_flush(sk);
			err = quic_outq_wait_space(sk, id, timeo);
			/* the backlog ran while we slept: the peer may have
			 * reset the stream (STOP_SENDING), or it is gone
			 */
			st = quic_stream_find(sk, id);
			if (!err && (!st ||
				     st->send_state > QUIC_STREAM_SEND_STATE_SEND))
				err = -EPIPE;
			if (err)
				break;
		}
		n = min_t(size_t, len - copied, max);
		size = nodelay ? n : max;
		skb = quic_outq_chunk_alloc(sk, size, id, st->send_off,
					    sk->sk_allocation);
		if (!skb) {
			err = -ENOMEM;
			break;
		}
		if (!copy_from_iter_full(skb_put(skb, n), n, from)) {
			kfree_skb(skb);
			err = -EFAULT;
			break;
		}
		st->send_off += n;
		copied += n;
		__skb_queue_tail(&st->sndq, skb);
		if (list_empty(&st->send_node))
			list_add_tail(&st->send_node, &t->send_list);
	}
	if (err && !copied)
		return err;
	if (!st)
		return copied;
	if (st->send_state == QUIC_STREAM_SEND_STATE_READY)
		st->send_state = QUIC_STREAM_SEND_STATE_SEND;
	if (fin && copied == len) {
		skb = skb_peek_tail(&st->sndq);
		if (!skb) {
			skb = quic_outq_chunk_alloc(sk, 0, id, st->send_off,
						    sk->sk_allocation);
			if (!skb)
				return copied ?: -ENOMEM;
			__skb_queue_tail(&st->sndq, skb);
			if (list_empty(&st->send_node))
				list_add_tail(&st->send_node, &t->send_list);
		}
		QUIC_SND_CB(skb)->fin = 1;
		st->fin_queued = 1;
	}
	return copied;
}

/**
 * quic_outq_dgram_write - queue a DATAGRAM (RFC 9221)
 * @sk: the connection (locked, ESTABLISHED)
 * @from: the data
 * @len: its length; it must fit one packet and the peer's limit
 * @timeo: how long to wait for send buffer space
 *
 * Return: @len or a negative errno.
 */
ssize_t quic_outq_dgram_write(struct sock *sk, struct iov_iter *from,
			      size_t len, long *timeo)
{
	struct quic_sock *qs = quic_sk(sk);
	struct sk_buff *skb;
	u64 max;
	int err;

	max = qs->remote_tp.max_datagram_frame_size;
	if (!max || !qs->local_tp.max_datagram_frame_size)
		return -EINVAL;
	max = min_t(u64, max, quic_outq_chunk_max(sk) + QUIC_STREAM_HDR_MAX);
	if (len + 1 + quic_varint_len(len) > max)
		return -EMSGSIZE;
	if (!quic_outq_wspace(sk)) {
		quic_outq_flush(sk);
		err = quic_outq_wait_space(sk, -1, timeo);
		if (err)
			return err;
	}
	skb = quic_outq_chunk_alloc(sk, len, -1, 0, sk->sk_allocation);
	if (!skb)
		return -ENOMEM;
	QUIC_SND_CB(skb)->dgram = 1;
	if (!copy_from_iter_full(skb_put(skb, len), len, from)) {
		kfree_skb(skb);
		return -EFAULT;
	}
	__skb_queue_tail(&qs->streams.dgramq, skb);
	return len;
}

/* Room in the open packet for a frame of @need bytes? */
static u8 *quic_outq_frame_room(struct quic_dgram *dg, u32 need)
{
	if (quic_dgram_room(dg) < need)
		return NULL;
	return skb_tail_pointer(dg->skb);
}

static bool quic_outq_put_ctrl1(struct quic_dgram *dg,
				struct quic_sent_pkt *sp, u8 type, u64 a,
				bool record)
{
	u8 *p = quic_outq_frame_room(dg, 1 + 8), *s = p;

	if (!p || (record && sp->nr_frames >= QUIC_SENT_FRAMES_MAX))
		return false;
	p = quic_frame_put_int(p, type, a);
	skb_put(dg->skb, p - s);
	if (record)
		quic_sent_add_frame(sp, type, 0, 0);
	return true;
}

/* Stream frames other than STREAM: limits, resets, blocked signals. */
static bool quic_outq_put_stream_ctrl(struct sock *sk, struct quic_dgram *dg,
				      struct quic_sent_pkt *sp,
				      struct quic_stream *st)
{
	u8 *p, *s;

	if (sp->nr_frames >= QUIC_SENT_FRAMES_MAX)
		return false;
	p = quic_outq_frame_room(dg, 1 + 8 * 3);
	if (!p)
		return false;
	s = p;
	if (st->reset_pending) {
		p = quic_frame_put_reset_stream(p, st->id, st->reset_errcode,
						st->send_next);
		quic_sent_add_frame(sp, QUIC_FRAME_RESET_STREAM, st->id, 0);
		st->reset_pending = 0;
	} else if (st->stop_pending) {
		p = quic_frame_put_stream_int(p, QUIC_FRAME_STOP_SENDING,
					      st->id, st->stop_errcode);
		quic_sent_add_frame(sp, QUIC_FRAME_STOP_SENDING, st->id, 0);
		st->stop_pending = 0;
		st->stop_inflight = 1;
	} else if (st->max_data_pending) {
		p = quic_frame_put_stream_int(p, QUIC_FRAME_MAX_STREAM_DATA,
					      st->id, st->recv_max);
		quic_sent_add_frame(sp, QUIC_FRAME_MAX_STREAM_DATA, st->id, 0);
		st->max_data_pending = 0;
	} else if (st->blocked_pending) {
		p = quic_frame_put_stream_int(p, QUIC_FRAME_STREAM_DATA_BLOCKED,
					      st->id, st->send_max);
		st->blocked_at = st->send_max;
		st->blocked_pending = 0;
	}
	skb_put(dg->skb, p - s);
	return p != s;
}

static bool quic_outq_put_ctrl(struct sock *sk, struct quic_dgram *dg,
			       struct quic_sent_pkt *sp)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	struct quic_stream *st, *tmp;
	bool put = false;
	u8 type;

	if (t->max_data_pending &&
	    quic_outq_put_ctrl1(dg, sp, QUIC_FRAME_MAX_DATA, t->recv_max, true)) {
		t->max_data_pending = 0;
		put = true;
	}
	for (type = 0; type < 2; type++) {
		if ((t->max_streams_pending & BIT(type)) &&
		    quic_outq_put_ctrl1(dg, sp, QUIC_FRAME_MAX_STREAMS_BIDI + type,
					t->peer_max[type], true)) {
			t->max_streams_pending &= ~BIT(type);
			put = true;
		}
		if ((t->streams_blocked_pending & BIT(type)) &&
		    quic_outq_put_ctrl1(dg, sp,
					QUIC_FRAME_STREAMS_BLOCKED_BIDI + type,
					t->local_max[type], false)) {
			t->streams_blocked_pending &= ~BIT(type);
			t->local_blocked_at[type] = t->local_max[type];
			put = true;
		}
	}
	if (t->data_blocked_pending &&
	    quic_outq_put_ctrl1(dg, sp, QUIC_FRAME_DATA_BLOCKED, t->send_max,
				false)) {
		t->data_blocked_pending = 0;
		t->data_blocked_at = t->send_max;
		put = true;
	}
	list_for_each_entry_safe(st, tmp, &t->ctrl_list, ctrl_node) {
		while (st->reset_pending || st->stop_pending ||
		       st->max_data_pending || st->blocked_pending) {
			if (!quic_outq_put_stream_ctrl(sk, dg, sp, st))
				return put;
			put = true;
		}
		list_del_init(&st->ctrl_node);
	}
	return put;
}

static bool quic_outq_put_dgrams(struct sock *sk, struct quic_dgram *dg)
{
	struct sk_buff_head *q = &quic_sk(sk)->streams.dgramq;
	struct sk_buff *skb;
	bool put = false;
	u8 *p, *s;

	while ((skb = skb_peek(q))) {
		if (1 + quic_varint_len(skb->len) + skb->len >
		    quic_outq_chunk_max(sk) + QUIC_STREAM_HDR_MAX) {
			/* PLPMTUD lowered the size since it was queued:
			 * RFC 9221 5 lets it go
			 */
			__skb_unlink(skb, q);
			kfree_skb(skb);
			continue;
		}
		p = quic_outq_frame_room(dg, 1 + 2 + skb->len);
		if (!p)
			break;
		s = p;
		p = quic_frame_put_datagram(p, skb->data, skb->len);
		skb_put(dg->skb, p - s);
		__skb_unlink(skb, q);
		consume_skb(skb);
		put = true;
	}
	return put;
}

/* Write @skb as a STREAM frame if it fits. */
static bool quic_outq_put_chunk(struct quic_dgram *dg, struct sk_buff *skb)
{
	struct quic_snd_cb *cb = QUIC_SND_CB(skb);
	u8 *p, *s;

	p = quic_outq_frame_room(dg, quic_frame_stream_len(cb->stream_id,
							   cb->offset,
							  skb->len));
	if (!p)
		return false;
	s = p;
	p = quic_frame_put_stream(p, cb->stream_id, cb->offset, cb->fin,
				  skb->data, skb->len);
	skb_put(dg->skb, p - s);
	return true;
}

static void quic_outq_chain(struct quic_sent_pkt *sp, struct sk_buff *skb)
{
	skb->next = sp->chunks;
	sp->chunks = skb;
}

/* Cut @skb after @n bytes; the rest stays queued behind it. */
static int quic_outq_chunk_split(struct sock *sk, struct quic_stream *st,
				 struct sk_buff *skb, u32 n)
{
	struct quic_snd_cb *cb = QUIC_SND_CB(skb);
	struct sk_buff *rest;

	rest = quic_outq_chunk_alloc(sk, skb->len - n, st->id, cb->offset + n,
				     GFP_ATOMIC);
	if (!rest)
		return -ENOMEM;
	skb_put_data(rest, skb->data + n, skb->len - n);
	QUIC_SND_CB(rest)->fin = cb->fin;
	cb->fin = 0;
	skb_trim(skb, n);
	__skb_queue_after(&st->sndq, skb, rest);
	return 0;
}

/* Cut a chunk to resend after @n bytes; the rest is resent behind it,
 * and acknowledged or lost on its own.
 */
static int quic_outq_retx_split(struct sock *sk, struct sk_buff *skb, u32 n)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	struct quic_snd_cb *cb = QUIC_SND_CB(skb);
	struct quic_stream *st;
	struct sk_buff *rest;

	st = quic_stream_find(sk, cb->stream_id);
	if (!st)
		return -ENOENT;
	rest = quic_outq_chunk_alloc(sk, skb->len - n, cb->stream_id,
				     cb->offset + n, GFP_ATOMIC);
	if (!rest)
		return -ENOMEM;
	skb_put_data(rest, skb->data + n, skb->len - n);
	QUIC_SND_CB(rest)->fin = cb->fin;
	QUIC_SND_CB(rest)->sent = 1;
	cb->fin = 0;
	skb_trim(skb, n);
	st->unacked++;
	__skb_queue_after(&t->retxq, skb, rest);
	return 0;
}

/* Lost stream data first, then new data of each stream in turn, within
 * the congestion window and both flow control limits.
 */
static bool quic_outq_put_streams(struct sock *sk, struct quic_dgram *dg,
				  struct quic_sent_pkt *sp)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_stream_table *t = &qs->streams;
	bool hold_partial, put = false;
	struct quic_stream *st, *tmp;
	struct quic_snd_cb *cb;
	struct sk_buff *skb;
	u64 allowed;
	u32 max;

	max = quic_outq_chunk_max(sk);
	while ((skb = skb_peek(&t->retxq))) {
		if (!quic_outq_cwnd_ok(sk, dg->skb->len))
			return put;
		/* PLPMTUD lowered the size since it was sent */
		if (skb->len > max && quic_outq_retx_split(sk, skb, max))
			return put;
		if (!quic_outq_put_chunk(dg, skb))
			return put;
		__skb_unlink(skb, &t->retxq);
		quic_outq_chain(sp, skb);
		put = true;
	}

	hold_partial = quic_outq(sk)->corked || (!qs->config.stream_data_nodelay &&
						 quic_pnspace(sk, QUIC_PN_APP)->bytes_in_flight);
	list_for_each_entry_safe(st, tmp, &t->send_list, send_node) {
		while ((skb = skb_peek(&st->sndq))) {
			cb = QUIC_SND_CB(skb);
			if (!quic_outq_cwnd_ok(sk, dg->skb->len))
				goto out;
			if (hold_partial && skb_queue_is_last(&st->sndq, skb) &&
			    !cb->fin && skb->len < max)
				break;
			allowed = st->send_max > cb->offset ?
				  st->send_max - cb->offset : 0;
			if (allowed < skb->len && st->blocked_at != st->send_max) {
				st->blocked_pending = 1;
				quic_stream_ctrl_add(sk, st);
			}
			if (t->send_max - t->send_used < allowed) {
				allowed = t->send_max - t->send_used;
				if (allowed < skb->len &&
				    t->data_blocked_at != t->send_max)
					t->data_blocked_pending = 1;
			}
			if (allowed < skb->len) {
				if (!allowed ||
				    quic_outq_chunk_split(sk, st, skb, allowed))
					break;
			}
			/* queued before PLPMTUD lowered the size */
			if (skb->len > max &&
			    quic_outq_chunk_split(sk, st, skb, max))
				break;
			if (!quic_outq_put_chunk(dg, skb))
				goto out;
			__skb_unlink(skb, &st->sndq);
			cb->sent = 1;
			st->send_next = cb->offset + skb->len;
			t->send_used += skb->len;
			st->unacked++;
			if (cb->fin)
				st->send_state = QUIC_STREAM_SEND_STATE_SENT;
			quic_outq_chain(sp, skb);
			quic_outq(sk)->blocked_tries = 0;
			put = true;
		}
		if (skb_queue_empty(&st->sndq))
			list_del_init(&st->send_node);
	}
out:
	/* the next packet starts with the next stream */
	if (!list_empty(&t->send_list))
		list_rotate_left(&t->send_list);
	return put;
}

/* Anything for the 1-RTT space beyond ACKs and the handshake's frames? */
static bool quic_outq_app_wants(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_stream_table *t = &qs->streams;
	struct quic_stream *st;
	struct sk_buff *skb;
	u32 max;

	if (!quic_can_send_data(sk))
		return false;
	if (t->max_data_pending || t->data_blocked_pending ||
	    t->max_streams_pending || t->streams_blocked_pending ||
	    !list_empty(&t->ctrl_list) || !skb_queue_empty(&t->dgramq))
		return true;
	if (!quic_outq_cwnd_ok(sk, 0))
		return false;
	if (!skb_queue_empty(&t->retxq))
		return true;
	max = quic_outq_chunk_max(sk);
	list_for_each_entry(st, &t->send_list, send_node) {
		skb = skb_peek(&st->sndq);
		if (!skb)
			continue;
		if ((quic_outq(sk)->corked || (!qs->config.stream_data_nodelay &&
					       quic_pnspace(sk, QUIC_PN_APP)->bytes_in_flight)) &&
		    skb_queue_is_last(&st->sndq, skb) &&
		    !QUIC_SND_CB(skb)->fin && skb->len < max)
			continue;
		if (st->send_max > QUIC_SND_CB(skb)->offset &&
		    t->send_max > t->send_used)
			return true;
		if (skb->len == 0)
			return true;
		if (st->blocked_at != st->send_max ||
		    t->data_blocked_at != t->send_max)
			return true;
	}
	return false;
}

/* Is the first chunk queued on @st held back by a flow control limit of
 * the peer's, the stream's or the connection's?
 */
static bool quic_outq_chunk_held(struct quic_stream_table *t,
				 struct quic_stream *st, struct sk_buff *skb)
{
	return skb->len && (QUIC_SND_CB(skb)->offset >= st->send_max ||
			    t->send_used >= t->send_max);
}

/**
 * quic_outq_flow_blocked - is stream data held back only by the peer?
 * @sk: the connection (locked)
 *
 * Data is queued that the peer's MAX_STREAM_DATA or MAX_DATA stops, and
 * nothing is queued to resend.
 *
 * Return: -1 if not, else how often the BLOCKED frames were sent again
 * since data last went out (quic_outq_blocked_again()).
 */
int quic_outq_flow_blocked(struct sock *sk)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	struct quic_stream *st;
	struct sk_buff *skb;

	if (!quic_can_send_data(sk) || !skb_queue_empty(&t->retxq))
		return -1;
	list_for_each_entry(st, &t->send_list, send_node) {
		skb = skb_peek(&st->sndq);
		if (skb && quic_outq_chunk_held(t, st, skb))
			return quic_outq(sk)->blocked_tries;
	}
	return -1;
}

/**
 * quic_outq_blocked_again - send the BLOCKED frames once more
 * @sk: the connection (locked), quic_outq_flow_blocked()
 *
 * RFC 9000 4.1: a sender held back by flow control with no ack-eliciting
 * packet in flight says so now and then.  That keeps the connection from
 * idling out and, after a NAT rebinding, is what shows the peer our new
 * address so that its flow control updates reach us.
 */
void quic_outq_blocked_again(struct sock *sk)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	struct quic_outqueue *outq = quic_outq(sk);
	struct quic_stream *st;
	struct sk_buff *skb;

	if (t->send_used >= t->send_max)
		t->data_blocked_pending = 1;
	list_for_each_entry(st, &t->send_list, send_node) {
		skb = skb_peek(&st->sndq);
		if (skb && skb->len && QUIC_SND_CB(skb)->offset >= st->send_max) {
			st->blocked_pending = 1;
			quic_stream_ctrl_add(sk, st);
		}
	}
	if (outq->blocked_tries < QUIC_PTO_MAX_BACKOFF)
		outq->blocked_tries++;
}

/* Frames of the 1-RTT space: control, datagrams, stream data. */
static bool quic_outq_put_app(struct sock *sk, struct quic_dgram *dg,
			      struct quic_sent_pkt *sp)
{
	bool put;

	if (!quic_can_send_data(sk))
		return false;
	put = quic_outq_put_ctrl(sk, dg, sp);
	put |= quic_outq_put_dgrams(sk, dg);
	put |= quic_outq_put_streams(sk, dg, sp);
	return put;
}

/* The stream data of an acknowledged packet. */
static void quic_outq_chunks_acked(struct sock *sk, struct quic_sent_pkt *sp)
{
	struct sk_buff *skb, *next;
	struct quic_stream *st;

	for (skb = sp->chunks; skb; skb = next) {
		next = skb->next;
		skb->next = NULL;
		st = quic_stream_find(sk, QUIC_SND_CB(skb)->stream_id);
		if (st) {
			st->unacked--;
			if (QUIC_SND_CB(skb)->fin)
				st->fin_acked = 1;
			if (quic_stream_send_progress(sk, st))
				quic_inq_stream_event(sk, st,
						      QUIC_STREAM_SEND_STATE_RECVD,
						      0, st->send_off);
			quic_stream_maybe_free(sk, st);
		}
		consume_skb(skb);
	}
	sp->chunks = NULL;
}

/* The stream data of a lost packet goes out again, unless reset. */
static void quic_outq_chunks_lost(struct sock *sk, struct quic_sent_pkt *sp)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	struct sk_buff *skb, *next;
	struct quic_stream *st;

	for (skb = sp->chunks; skb; skb = next) {
		next = skb->next;
		skb->next = NULL;
		st = quic_stream_find(sk, QUIC_SND_CB(skb)->stream_id);
		if (st && st->send_state <= QUIC_STREAM_SEND_STATE_SENT) {
			__skb_queue_tail(&t->retxq, skb);
			continue;
		}
		if (st) {
			st->unacked--;
			quic_stream_maybe_free(sk, st);
		}
		kfree_skb(skb);
	}
	sp->chunks = NULL;
}

/* A control frame of ours was acknowledged (@acked) or lost. */
static void quic_outq_ctrl_done(struct sock *sk, struct quic_sent_frame *f,
				bool acked)
{
	struct quic_outqueue *outq = quic_outq(sk);
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	struct quic_stream *st = NULL;

	switch (f->type) {
	case QUIC_FRAME_NEW_TOKEN:
		outq->new_token_inflight = 0;
		if (!acked)	/* RFC 9000 13.3: resent until acknowledged */
			outq->new_token_pending = 1;
		return;
	case QUIC_FRAME_MAX_DATA:
		if (!acked)
			t->max_data_pending = 1;
		return;
	case QUIC_FRAME_MAX_STREAMS_BIDI:
	case QUIC_FRAME_MAX_STREAMS_UNI:
		if (!acked)
			t->max_streams_pending |= BIT(f->type -
						      QUIC_FRAME_MAX_STREAMS_BIDI);
		return;
	case QUIC_FRAME_RESET_STREAM:
	case QUIC_FRAME_STOP_SENDING:
	case QUIC_FRAME_MAX_STREAM_DATA:
		st = quic_stream_find(sk, f->offset);
		break;
	default:
		return;
	}
	if (!st)
		return;
	if (f->type == QUIC_FRAME_RESET_STREAM) {
		if (st->send_state != QUIC_STREAM_SEND_STATE_RESET_SENT)
			return;
		if (!acked) {
			st->reset_pending = 1;
			quic_stream_ctrl_add(sk, st);
			return;
		}
		st->send_state = QUIC_STREAM_SEND_STATE_RESET_RECVD;
		quic_inq_stream_event(sk, st, QUIC_STREAM_SEND_STATE_RESET_RECVD,
				      st->reset_errcode, st->send_next);
		quic_stream_maybe_free(sk, st);
	} else if (f->type == QUIC_FRAME_STOP_SENDING) {
		if (acked) {
			st->stop_inflight = 0;
		} else if (st->recv_state < QUIC_STREAM_RECV_STATE_RECVD) {
			st->stop_pending = 1;
			quic_stream_ctrl_add(sk, st);
		}
	} else if (!acked && st->recv_state == QUIC_STREAM_RECV_STATE_RECV) {
		st->max_data_pending = 1;
		quic_stream_ctrl_add(sk, st);
	}
}

/* The ACK frame @space owes, if any and if it fits.  0-RTT carries no
 * ACK (RFC 9000 12.5).
 */
static void quic_outq_put_ack(struct sock *sk, struct quic_dgram *dg, u8 space,
			      u64 now)
{
	struct quic_pnspace *s = quic_pnspace(sk, space);
	u8 *p = skb_tail_pointer(dg->skb), *end;
	u64 delay;

	if (!s->ack_pending)
		return;
	delay = now > s->largest_recv_time ? now - s->largest_recv_time : 0;
	if (space == QUIC_PN_APP)
		delay >>= quic_sk(sk)->local_tp.ack_delay_exponent;
	end = quic_frame_put_ack(p, quic_dgram_room(dg), s->ranges,
				 s->nr_ranges, delay, quic_ecn_counts(sk, space));
	if (end == p)
		return;
	skb_put(dg->skb, end - p);
	s->ack_pending = 0;
	s->ack_immediate = 0;
	s->ack_eliciting_rcvd = 0;
	if (space == QUIC_PN_APP)
		quic_timer_stop(sk, QUIC_TIMER_ACK);
}

/* The connection's own 1-RTT frames: HANDSHAKE_DONE, NEW_TOKEN and
 * PATH_RESPONSE, each if it is due and fits (what does not fit waits).
 * Returns true if one was written.
 */
static bool quic_outq_put_conn_frames(struct sock *sk, struct quic_dgram *dg,
				      struct quic_sent_pkt *sp)
{
	const u8 *data;
	struct quic_outqueue *outq = quic_outq(sk);
	struct quic_sock *qs = quic_sk(sk);
	struct sk_buff *skb = dg->skb;
	bool put = false;
	u32 n;

	if (outq->hs_done_pending && quic_dgram_room(dg) >= 1) {
		skb_put_u8(skb, QUIC_FRAME_HANDSHAKE_DONE);
		outq->hs_done_pending = 0;
		quic_sent_add_frame(sp, QUIC_FRAME_HANDSHAKE_DONE, 0, 0);
		put = true;
	}
	n = quic_frame_new_token_len(qs->token_len);
	if (outq->new_token_pending && quic_dgram_room(dg) >= n) {
		quic_frame_put_new_token(skb_put(skb, n), qs->token,
					 qs->token_len);
		outq->new_token_pending = 0;
		outq->new_token_inflight = 1;
		quic_sent_add_frame(sp, QUIC_FRAME_NEW_TOKEN, 0, 0);
		put = true;
	}
	data = quic_path_response_due(sk);
	if (data && quic_dgram_room(dg) >= 9) {
		quic_frame_put_path(skb_put(skb, 9), QUIC_FRAME_PATH_RESPONSE,
				    data);
		quic_path_response_sent(sk);
		put = true;
	}
	return put;
}

/* NEW_CONNECTION_ID for our IDs not announced yet, and the
 * RETIRE_CONNECTION_IDs we owe, as far as they fit.  Returns true if one
 * was written.
 */
static bool quic_outq_put_cid_frames(struct sock *sk, struct quic_dgram *dg,
				     struct quic_sent_pkt *sp)
{
	struct sk_buff *skb = dg->skb;
	const struct quic_cid_entry *e;
	bool put = false;
	u64 prior, seq;
	int slot;
	u8 *p;

	while (quic_dgram_room(dg) >= 48 &&
	       (slot = quic_conn_next_new_cid(sk, &e, &prior)) >= 0) {
		u8 token[QUIC_RESET_TOKEN_LEN] = {};

		quic_stateless_reset_token(quic_net_tokens(sock_net(sk)),
					   e->cid.data, e->cid.len, token);
		p = skb_tail_pointer(skb);
		p = quic_frame_put_new_cid(p, e->seq, prior, e->cid.data,
					   e->cid.len, token);
		skb_put(skb, p - skb_tail_pointer(skb));
		quic_sent_add_frame(sp, QUIC_FRAME_NEW_CONNECTION_ID, slot, 0);
		put = true;
	}
	while (sp->nr_frames < QUIC_SENT_FRAMES_MAX &&
	       quic_dgram_room(dg) >= 16 && quic_conn_next_retire(sk, &seq)) {
		p = skb_tail_pointer(skb);
		p = quic_frame_put_int(p, QUIC_FRAME_RETIRE_CONNECTION_ID, seq);
		skb_put(skb, p - skb_tail_pointer(skb));
		quic_sent_add_frame(sp, QUIC_FRAME_RETIRE_CONNECTION_ID, seq, 0);
		put = true;
	}
	return put;
}

/* CRYPTO data of @space, as much as fits: lost ranges rewind o->sent, so
 * this resends too.  Returns true if some was written.
 */
static bool quic_outq_put_crypto(struct sock *sk, struct quic_dgram *dg,
				 struct quic_sent_pkt *sp, u8 space)
{
	struct quic_crypto_out *o = &quic_outq(sk)->cout[space];
	bool put = false;
	u32 room, hdr, n;

	while (!quic_outq(sk)->corked && o->sent < o->len &&
	       sp->nr_frames < QUIC_SENT_FRAMES_MAX) {
		room = quic_dgram_room(dg);
		hdr = 1 + quic_varint_len(o->sent) + 2;
		if (room < hdr + 16)
			break;
		n = min_t(u32, o->len - o->sent, room - hdr);
		quic_frame_put_crypto(skb_put(dg->skb,
					      quic_frame_crypto_len(o->sent, n)),
				      o->sent, o->buf + o->sent, n);
		quic_sent_add_frame(sp, QUIC_FRAME_CRYPTO, o->sent, n);
		o->sent += n;
		put = true;
	}
	return put;
}

/* Record the packet just written at @level, @len bytes, at @now: an
 * ack-eliciting one is kept for loss recovery (RFC 9002 A.1) and counts
 * in flight.
 */
static void quic_outq_sent(struct sock *sk, struct quic_dgram *dg,
			   struct quic_sent_pkt *sp, u8 level, u32 len,
			   bool eliciting, u64 now)
{
	u8 space = quic_level_space(level);
	struct quic_pnspace *s = quic_pnspace(sk, space);
	struct quic_outqueue *outq = quic_outq(sk);

	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_FRM_SENT);
	sp->pn = s->next_pn++;
	sp->time = now;
	if (dg->ecn) {
		sp->ecn = 1;
		quic_ecn_sent(sk, space, eliciting);
	}
	if (!eliciting) {
		kfree(sp);
		return;
	}
	if (!sp->pmtu_probe)	/* a PTO probe may not get through */
		outq->probe_mask &= ~BIT(space);
	sp->ack_eliciting = 1;
	sp->in_flight = 1;
	sp->size = len;
	/* the packet ends the datagram: 1-RTT comes last, its tag is due */
	sp->dgram_size = min_t(u32, dg->skb->len + QUIC_TAG_LEN, U16_MAX);
	s->bytes_in_flight += sp->size;
	s->ack_eliciting_in_flight++;
	s->last_ack_eliciting_time = now;
	list_add_tail(&sp->list, &s->sent);
	/* a server pads datagrams with ack-eliciting Initials */
	if (space == QUIC_PN_INITIAL)
		dg->pad = 1;
	if (!outq->ack_eliciting_sent) {
		outq->ack_eliciting_sent = 1;
		quic_conn_idle_reset(sk);
	}
}

/* Write one packet of @space into @dg.  Return true if it was useful.
 * 0-RTT carries no ACK, CRYPTO, HANDSHAKE_DONE, PATH_RESPONSE or
 * RETIRE_CONNECTION_ID (RFC 9000 12.5).
 */
static bool quic_outq_build(struct sock *sk, struct quic_dgram *dg, u8 space,
			    u64 now)
{
	struct quic_outqueue *outq = quic_outq(sk);
	u8 level = quic_outq_level(sk, space);
	bool early = level == QUIC_CRYPTO_EARLY;
	struct sk_buff *skb = dg->skb;
	struct quic_sent_pkt *sp;
	bool eliciting = false;
	u32 start;

	if (quic_pkt_begin(sk, dg, level, quic_pnspace(sk, space)->next_pn))
		return false;
	sp = kzalloc(sizeof(*sp), GFP_ATOMIC);
	if (!sp) {
		quic_pkt_undo(dg);
		return false;
	}
	start = skb->len;
	if (!early)
		quic_outq_put_ack(sk, dg, space, now);
	if (space == QUIC_PN_APP && !early) {
		eliciting |= quic_outq_put_conn_frames(sk, dg, sp);
		eliciting |= quic_outq_put_cid_frames(sk, dg, sp);
	}
	if (space == QUIC_PN_APP)
		eliciting |= quic_outq_put_app(sk, dg, sp);
	if (!early)
		eliciting |= quic_outq_put_crypto(sk, dg, sp, space);
	if (!eliciting && (outq->probe_mask & BIT(space)) &&
	    quic_dgram_room(dg)) {
		skb_put_u8(skb, QUIC_FRAME_PING);
		eliciting = true;
	}
	if (skb->len == start) {	/* nothing was written after all */
		kfree(sp);
		quic_pkt_undo(dg);
		return false;
	}
	quic_outq_sent(sk, dg, sp, level, skb->len - start, eliciting, now);
	return true;
}

/* A datagram left at @now_ns: new bytes in flight move the pacing clock
 * on.  ACK-only datagrams are not paced and do not count.
 */
static void quic_outq_paced(struct sock *sk, u32 before, u64 now_ns)
{
	struct quic_sock *qs = quic_sk(sk);
	u32 now = quic_outq_in_flight(sk);

	if (now <= before || sk->sk_state != QUIC_SS_ESTABLISHED)
		return;
	quic_cong_pace_sent(&qs->cong, &qs->rtt, quic_outq_max_pacing_rate(sk),
			    now - before, now_ns);
	quic_outq(sk)->pace_blocked = !quic_cong_pace_ok(&qs->cong, now_ns);
}

/* A PLPMTUD probe (RFC 9000 14.4): a PING padded to @size bytes in a
 * datagram of its own, outside the congestion window; if it is lost,
 * recovery tells pmtud.c and nothing of it is sent again.
 */
static void quic_outq_pmtu_probe(struct sock *sk, u32 size, u64 now)
{
	struct quic_sent_pkt *sp;
	struct quic_dgram dg;
	u32 start;

	if (quic_dgram_init(sk, &dg, size))
		return;
	if (quic_pkt_begin(sk, &dg, QUIC_CRYPTO_APP,
			   quic_pnspace(sk, QUIC_PN_APP)->next_pn))
		goto free;
	sp = kzalloc(sizeof(*sp), GFP_ATOMIC);
	if (!sp)
		goto free;
	start = dg.skb->len;
	skb_put_u8(dg.skb, QUIC_FRAME_PING);
	skb_put_zero(dg.skb, quic_dgram_room(&dg));	/* PADDING */
	sp->pmtu_probe = 1;
	quic_outq_sent(sk, &dg, sp, QUIC_CRYPTO_APP, dg.skb->len - start, true,
		       now);
	quic_pmtud_probe_sent(sk);
	quic_dgram_send(sk, &dg);
	return;
free:
	kfree_skb(dg.skb);
}

/**
 * quic_outq_flush - send everything that is due
 * @sk: the connection (locked)
 */
void quic_outq_flush(struct sock *sk)
{
	struct quic_outqueue *outq = quic_outq(sk);
	struct quic_sock *qs = quic_sk(sk);
	struct quic_dgram dg;
	struct quic_gso gso;
	u64 now = quic_now(), now_ns = ktime_get_ns();
	u32 inflight;
	bool any;
	u8 space;
	int loops = 64;

	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		return;
	outq->pace_blocked = !quic_cong_pace_ok(&qs->cong, now_ns);
	/* a server's probes, as its big packets, wait for the client's address */
	if (sk->sk_state == QUIC_SS_ESTABLISHED && !quic_outq_amp_limited(sk) &&
	    (!quic_is_serv(sk) || quic_paths(sk)->addr_validated)) {
		u32 size = quic_pmtud_probe_due(sk) ?
			   quic_pmtud_probe_size(sk, quic_packet_mss(sk)) : 0;

		if (size)
			quic_outq_pmtu_probe(sk, size, now);
	}
	quic_gso_init(sk, &gso);
	while (loops--) {
		if (quic_outq_amp_limited(sk))
			break;
		for (space = 0; space < QUIC_PN_MAX; space++)
			if (quic_outq_space_wants(sk, space))
				break;
		if (space == QUIC_PN_MAX)
			break;
		if (quic_dgram_init(sk, &dg, quic_outq_mss(sk)))
			break;
		dg.ecn = quic_ecn_tx(sk);
		inflight = quic_outq_in_flight(sk);
		any = false;
		for (space = 0; space < QUIC_PN_MAX; space++) {
			if (!quic_outq_space_wants(sk, space))
				continue;
			if (quic_outq_build(sk, &dg, space, now))
				any = true;
		}
		if (!any) {
			kfree_skb(dg.skb);
			break;
		}
		/* the client pads every datagram with an Initial; a server
		 * those with an ack-eliciting Initial (RFC 9000 14.1)
		 */
		quic_dgram_send_gso(sk, &dg, &gso);
		quic_outq_paced(sk, inflight, now_ns);
		if (!quic_is_serv(sk) && quic_pnspace(sk, QUIC_PN_HANDSHAKE)->next_pn &&
		    !quic_pnspace(sk, QUIC_PN_INITIAL)->discarded)
			/* RFC 9001 4.9.1: client drops Initial keys once it
			 * sends a Handshake packet
			 */
			quic_conn_discard_space(sk, QUIC_PN_INITIAL);
	}
	quic_gso_flush(sk, &gso);
	quic_recovery_set_timer(sk);
	if (outq->pace_wait) {
		outq->pace_wait = 0;
		quic_timer_pace_arm(sk, qs->cong.pace_next);
	}
}

/* ---- close ---------------------------------------------------------- */

static void quic_put_close(struct sock *sk, struct quic_dgram *dg, u8 level)
{
	struct quic_close_state *cs = quic_close_state(sk);
	struct quic_connection_close *c = &cs->local;
	u8 space = quic_level_space(level);
	struct sk_buff *skb = dg->skb;
	u32 plen = 0, err;
	u64 frame = cs->frame;
	bool app = cs->app;
	u8 *p, *base;

	if (quic_pkt_begin(sk, dg, level, quic_pnspace(sk, space)->next_pn++))
		return;
	err = cs->errcode;
	if (app && level != QUIC_CRYPTO_APP) {
		/* RFC 9000 10.2.3: no application details before 1-RTT */
		app = false;
		err = QUIC_TRANSPORT_ERROR_APPLICATION;
		frame = 0;
	} else if (app) {
		plen = strnlen(c->phrase, QUIC_CLOSE_PHRASE_BUFFER_SIZE);
	}
	base = skb_tail_pointer(skb);
	p = base;
	p = quic_frame_put_close(p, app, err, frame, c->phrase, plen);
	skb_put(skb, p - base);
}

/**
 * quic_outq_send_close - send CONNECTION_CLOSE at every level we can
 * @sk: the connection (locked)
 *
 * One datagram with a CONNECTION_CLOSE in a packet of each level that
 * is not discarded and has a send key, with the close information in
 * the socket's close state.  Nothing is sent while draining or before
 * there is a destination connection ID.
 */
void quic_outq_send_close(struct sock *sk)
{
	struct quic_dgram dg;
	u8 space;

	if (quic_close_state(sk)->draining || !quic_cids(sk)->dcid.len)
		return;
	if (quic_dgram_init(sk, &dg, QUIC_MAX_DGRAM))
		return;
	for (space = 0; space < QUIC_PN_MAX; space++) {
		if (quic_pnspace(sk, space)->discarded ||
		    !quic_keys(sk, quic_space_level(space))->tx_ready)
			continue;
		quic_put_close(sk, &dg, quic_space_level(space));
	}
	if (quic_is_serv(sk))
		dg.pad = 0;
	quic_dgram_send(sk, &dg);
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_CLOSESENT);
}

/* ---- what other parts of the connection ask of the send side -------- */

/**
 * quic_outq_cork - MSG_MORE: hold a partial chunk back for the next write
 * @sk: the connection (locked)
 * @on: cork, or uncork
 */
void quic_outq_cork(struct sock *sk, bool on)
{
	quic_outq(sk)->corked = on;
}

/**
 * quic_outq_hs_done - queue HANDSHAKE_DONE (server, handshake complete)
 * @sk: the connection (locked)
 */
void quic_outq_hs_done(struct sock *sk)
{
	quic_outq(sk)->hs_done_pending = 1;
}

/**
 * quic_outq_new_token - queue NEW_TOKEN with the token in the socket
 * @sk: the connection (locked)
 *
 * Return: 0, or -EAGAIN while the previous one is queued or not yet
 * acknowledged.
 */
int quic_outq_new_token(struct sock *sk)
{
	struct quic_outqueue *outq = quic_outq(sk);

	if (outq->new_token_pending || outq->new_token_inflight)
		return -EAGAIN;
	outq->new_token_pending = 1;
	return 0;
}

/**
 * quic_outq_new_token_busy - is a NEW_TOKEN queued or unacknowledged?
 * @sk: the connection
 *
 * Return: true while the token in the socket must not change.
 */
bool quic_outq_new_token_busy(struct sock *sk)
{
	struct quic_outqueue *outq = quic_outq(sk);

	return outq->new_token_pending || outq->new_token_inflight;
}

/**
 * quic_outq_crypto_stop - send no more CRYPTO data of @space
 * @sk: the connection (locked)
 * @space: the packet number space (the server's Handshake one, confirmed)
 *
 * What is buffered counts as sent: neither new nor lost data goes out.
 */
void quic_outq_crypto_stop(struct sock *sk, u8 space)
{
	struct quic_crypto_out *o = &quic_outq(sk)->cout[space];

	o->sent = o->len;
}

/**
 * quic_outq_ping - make the next flush send an ack-eliciting packet
 * @sk: the connection (locked)
 * @space: the packet number space (a PING if nothing else is due)
 */
void quic_outq_ping(struct sock *sk, u8 space)
{
	quic_outq(sk)->probe_mask |= BIT(space);
}

/**
 * quic_outq_rcvd - a packet of the peer was processed
 * @sk: the connection (locked)
 *
 * The next ack-eliciting packet we send restarts the idle timer again
 * (RFC 9000 10.1).
 */
void quic_outq_rcvd(struct sock *sk)
{
	quic_outq(sk)->ack_eliciting_sent = 0;
}

/* ---- what recovery decided: acknowledged, lost, probes --------------- */

/**
 * quic_outq_pkt_acked - the peer acknowledged @sp
 * @sk: the connection (locked)
 * @sp: the packet (the caller frees it)
 *
 * Return: true when it carried HANDSHAKE_DONE.
 */
bool quic_outq_pkt_acked(struct sock *sk, struct quic_sent_pkt *sp)
{
	bool hs_done = false;
	int i;

	for (i = 0; i < sp->nr_frames; i++) {
		if (sp->frames[i].type == QUIC_FRAME_HANDSHAKE_DONE)
			hs_done = true;
		quic_outq_ctrl_done(sk, &sp->frames[i], true);
	}
	quic_outq_chunks_acked(sk, sp);
	return hs_done;
}

/**
 * quic_outq_pkt_lost - recovery declared @sp lost: send its data again
 * @sk: the connection (locked)
 * @space: its packet number space
 * @sp: the packet (the caller frees it)
 * @reason: QUIC_LOST_* for the trace
 */
void quic_outq_pkt_lost(struct sock *sk, u8 space, struct quic_sent_pkt *sp,
			u8 reason)
{
	struct quic_outqueue *outq = quic_outq(sk);
	struct quic_sock *qs = quic_sk(sk);
	struct quic_crypto_out *o = &outq->cout[space];
	int i;

	trace_quic_packet_lost(sk, space, sp->pn, sp->size, reason);
	outq->lost++;

	quic_outq_chunks_lost(sk, sp);
	for (i = 0; i < sp->nr_frames; i++) {
		quic_outq_ctrl_done(sk, &sp->frames[i], false);
		switch (sp->frames[i].type) {
		case QUIC_FRAME_CRYPTO:
			if (sp->frames[i].offset < o->sent)
				o->sent = sp->frames[i].offset;
			break;
		case QUIC_FRAME_HANDSHAKE_DONE:
			if (!qs->confirmed || quic_is_serv(sk))
				outq->hs_done_pending = 1;
			break;
		case QUIC_FRAME_NEW_CONNECTION_ID:
			quic_conn_new_cid_lost(sk, sp->frames[i].offset);
			break;
		case QUIC_FRAME_RETIRE_CONNECTION_ID:
			quic_conn_retire_lost(sk, sp->frames[i].offset);
			break;
		}
	}
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_PKT_RETRANS);
}

/* Resend everything unacknowledged in @space as the probe. */
static void quic_outq_probe_space(struct sock *sk, u8 space)
{
	struct quic_outqueue *outq = quic_outq(sk);
	struct quic_crypto_out *o = &outq->cout[space];
	struct quic_sent_pkt *sp;
	int i;

	list_for_each_entry(sp, &quic_pnspace(sk, space)->sent, list) {
		for (i = 0; i < sp->nr_frames; i++) {
			if (sp->frames[i].type == QUIC_FRAME_CRYPTO &&
			    sp->frames[i].offset < o->sent)
				o->sent = sp->frames[i].offset;
			if (sp->frames[i].type == QUIC_FRAME_HANDSHAKE_DONE &&
			    quic_is_serv(sk))
				outq->hs_done_pending = 1;
		}
	}
}

/* The in-flight chunk of stream @id with the lowest offset: the bytes the
 * receiver waits for, as far as we know.
 */
static struct sk_buff *quic_outq_lowest_chunk(struct sock *sk, s64 id)
{
	struct sk_buff *skb, *low = NULL;
	struct quic_sent_pkt *sp;
	struct quic_snd_cb *cb;

	list_for_each_entry(sp, &quic_pnspace(sk, QUIC_PN_APP)->sent, list)
		for (skb = sp->chunks; skb; skb = skb->next) {
			cb = QUIC_SND_CB(skb);
			if (cb->dgram || cb->stream_id != id)
				continue;
			if (!low || cb->offset < QUIC_SND_CB(low)->offset)
				low = skb;
		}
	return low;
}

/* A probe of the 1-RTT space carries stream data in flight again (RFC 9002
 * 6.2.4 allows either): a receiver that dropped that data for want of
 * memory acknowledges nothing while it is sent only new data it cannot
 * take either, so loss detection would never resend it.  For each stream
 * of the oldest packet in flight, the probe carries that stream's lowest
 * offset in flight, not the oldest packet's own data: once a retransmission
 * is in flight behind packets of later data sent before it, the oldest
 * packet holds data the receiver can only take out of order, and a
 * receiver whose out-of-order share is full drops every such probe until
 * the connection dies of idle timeout.
 */
static void quic_outq_probe_streams(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_stream_table *t = &qs->streams;
	struct sk_buff *skb, *prev, *low, *copy;
	struct quic_sent_pkt *sp;
	struct quic_stream *st;
	struct quic_snd_cb *cb;

	if (!skb_queue_empty(&t->retxq))
		return;		/* lost data goes first anyway */
	list_for_each_entry(sp, &quic_pnspace(sk, QUIC_PN_APP)->sent, list) {
		if (!sp->chunks)
			continue;
		for (skb = sp->chunks; skb; skb = skb->next) {
			cb = QUIC_SND_CB(skb);
			if (cb->dgram)
				continue;
			/* one probe chunk per stream */
			for (prev = sp->chunks; prev != skb; prev = prev->next)
				if (!QUIC_SND_CB(prev)->dgram &&
				    QUIC_SND_CB(prev)->stream_id == cb->stream_id)
					break;
			if (prev != skb)
				continue;
			st = quic_stream_find(sk, cb->stream_id);
			if (!st || st->send_state > QUIC_STREAM_SEND_STATE_SENT)
				continue;
			low = quic_outq_lowest_chunk(sk, cb->stream_id);
			cb = QUIC_SND_CB(low);
			copy = quic_outq_chunk_alloc(sk, low->len, cb->stream_id,
						     cb->offset, GFP_ATOMIC);
			if (!copy)
				return;
			skb_put_data(copy, low->data, low->len);
			QUIC_SND_CB(copy)->fin = cb->fin;
			QUIC_SND_CB(copy)->sent = 1;
			st->unacked++;	/* each copy is acked or lost */
			__skb_queue_tail(&t->retxq, copy);
		}
		return;
	}
}

/**
 * quic_outq_probe - a probe timeout fired for @space: what it carries
 * @sk: the connection (locked)
 * @space: the packet number space to probe
 *
 * The probe resends unacknowledged data, or is a PING.
 */
void quic_outq_probe(struct sock *sk, u8 space)
{
	quic_outq_probe_space(sk, space);
	if (space == QUIC_PN_APP)
		quic_outq_probe_streams(sk);
	quic_outq(sk)->probe_mask |= BIT(space);
}

/**
 * quic_outq_discard_space - free the send state of a space
 * @sk: the connection (locked)
 * @space: the packet number space
 *
 * Frees its sent-packet records and its CRYPTO send buffer, forgets a
 * probe owed in it, and marks it discarded.  The keys and the receive
 * state are their owners' to free.
 */
void quic_outq_discard_space(struct sock *sk, u8 space)
{
	struct quic_crypto_out *o = &quic_outq(sk)->cout[space];

	quic_pnspace_free(quic_pnspace(sk, space));
	quic_pnspace(sk, space)->discarded = 1;
	kfree_sensitive(o->buf);
	memset(o, 0, sizeof(*o));
	quic_outq(sk)->probe_mask &= ~BIT(space);
}

/**
 * quic_outq_free - free the send state of every space
 * @sk: the connection (locked)
 *
 * As quic_outq_discard_space() for each space, without marking them
 * discarded; a HANDSHAKE_DONE not sent yet is dropped.
 */
void quic_outq_free(struct sock *sk)
{
	struct quic_outqueue *outq = quic_outq(sk);
	u8 space;

	for (space = 0; space < QUIC_PN_MAX; space++) {
		quic_pnspace_free(quic_pnspace(sk, space));
		kfree_sensitive(outq->cout[space].buf);
		memset(&outq->cout[space], 0, sizeof(outq->cout[space]));
	}
	outq->hs_done_pending = 0;
}
