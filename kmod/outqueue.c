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

#include "protocol.h"
#include "socket.h"
#include "packet.h"
#include "frame.h"
#include "connection.h"
#include <trace/events/quic.h>

int quic_outq_crypto_append(struct sock *sk, u8 space, const void *data,
			    u32 len, struct iov_iter *from)
{
	struct quic_crypto_out *o = &quic_sk(sk)->cout[space];
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

static bool quic_outq_amp_limited(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	if (!quic_is_serv(sk) || qs->addr_validated)
		return false;
	return qs->tx_bytes + QUIC_MAX_DGRAM > 3 * qs->rx_bytes;
}

static bool quic_outq_app_wants(struct sock *sk);

/* The level packets of @space are sent at, QUIC_CRYPTO_MAX if none yet.
 * Before its 1-RTT keys a client sends 0-RTT, behind its first Initial
 * so that the server can route it (RFC 9001 4.6, 5.6).
 */
static u8 quic_outq_level(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);
	u8 level = quic_space_level(space);

	if (qs->crypto[level].tx_ready)
		return level;
	if (space == QUIC_PN_APP && !quic_is_serv(sk) &&
	    qs->crypto[QUIC_CRYPTO_EARLY].tx_ready &&
	    (qs->space[QUIC_PN_INITIAL].next_pn ||
	     qs->space[QUIC_PN_INITIAL].discarded))
		return QUIC_CRYPTO_EARLY;
	return QUIC_CRYPTO_MAX;
}

static bool quic_outq_space_wants(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = &qs->space[space];
	u8 level = quic_outq_level(sk, space);

	if (s->discarded || level == QUIC_CRYPTO_MAX)
		return false;
	if (level == QUIC_CRYPTO_EARLY)	/* stream frames only */
		return quic_outq_app_wants(sk);
	if (s->ack_pending && s->ack_immediate)
		return true;
	if (qs->cout[space].sent < qs->cout[space].len && !qs->corked)
		return true;
	if (qs->probe_mask & BIT(space))
		return true;
	if (space == QUIC_PN_APP &&
	    (qs->hs_done_pending || qs->new_cid_pending ||
	     qs->new_token_pending ||
	     qs->path_response_pending || qs->retire_count))
		return true;
	if (space == QUIC_PN_APP && quic_outq_app_wants(sk))
		return true;
	return false;
}

static u8 *quic_put_ack(struct quic_pnspace *s, u8 *p, u32 room, u64 now,
			u8 exponent)
{
	u64 delay = now > s->largest_recv_time ? now - s->largest_recv_time : 0;
	u8 *start = p, *count;
	s64 smallest;
	int i;

	if (room < 32 || !s->nr_ranges)
		return p;
	p = quic_put_varint(p, QUIC_FRAME_ACK);
	p = quic_put_varint(p, s->ranges[0].end);
	p = quic_put_varint(p, delay >> exponent);
	count = p;
	p = quic_put_varint(p, 0);	/* range count, patched below */
	p = quic_put_varint(p, s->ranges[0].end - s->ranges[0].start);
	smallest = s->ranges[0].start;
	for (i = 1; i < s->nr_ranges && i < 64; i++) {
		if ((u32)(p - start) + 16 > room)
			break;
		p = quic_put_varint(p, smallest - s->ranges[i].end - 2);
		p = quic_put_varint(p, s->ranges[i].end - s->ranges[i].start);
		smallest = s->ranges[i].start;
	}
	*count = i - 1;		/* < 64: a one-byte varint */
	return p;
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
	    (!quic_is_serv(sk) || qs->addr_validated))
		return qs->mss;
	return QUIC_MAX_DGRAM;
}

/* The payload of one STREAM frame filling a packet. */
static u32 quic_outq_chunk_max(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	return quic_outq_mss(sk) - (1 + qs->dcid.len + QUIC_PN_LEN) -
	       QUIC_TAG_LEN - QUIC_STREAM_HDR_MAX - QUIC_ACK_ROOM;
}

static u32 quic_outq_in_flight(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	return qs->space[QUIC_PN_INITIAL].bytes_in_flight +
	       qs->space[QUIC_PN_HANDSHAKE].bytes_in_flight +
	       qs->space[QUIC_PN_APP].bytes_in_flight;
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
	struct quic_sock *qs = quic_sk(sk);

	if (qs->probe_mask & BIT(QUIC_PN_APP))
		return true;
	if (quic_outq_in_flight(sk) + building >= qs->cong.cwnd)
		return false;
	if (!qs->pace_blocked)
		return true;
	qs->pace_wait = 1;
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
	*p++ = type;
	p = quic_put_varint(p, a);
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
		*p++ = QUIC_FRAME_RESET_STREAM;
		p = quic_put_varint(p, st->id);
		p = quic_put_varint(p, st->reset_errcode);
		p = quic_put_varint(p, st->send_next);
		quic_sent_add_frame(sp, QUIC_FRAME_RESET_STREAM, st->id, 0);
		st->reset_pending = 0;
	} else if (st->stop_pending) {
		*p++ = QUIC_FRAME_STOP_SENDING;
		p = quic_put_varint(p, st->id);
		p = quic_put_varint(p, st->stop_errcode);
		quic_sent_add_frame(sp, QUIC_FRAME_STOP_SENDING, st->id, 0);
		st->stop_pending = 0;
		st->stop_inflight = 1;
	} else if (st->max_data_pending) {
		*p++ = QUIC_FRAME_MAX_STREAM_DATA;
		p = quic_put_varint(p, st->id);
		p = quic_put_varint(p, st->recv_max);
		quic_sent_add_frame(sp, QUIC_FRAME_MAX_STREAM_DATA, st->id, 0);
		st->max_data_pending = 0;
	} else if (st->blocked_pending) {
		*p++ = QUIC_FRAME_STREAM_DATA_BLOCKED;
		p = quic_put_varint(p, st->id);
		p = quic_put_varint(p, st->send_max);
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
		p = quic_outq_frame_room(dg, 1 + 2 + skb->len);
		if (!p)
			break;
		s = p;
		*p++ = QUIC_FRAME_DATAGRAM_LEN;
		p = quic_put_varint(p, skb->len);
		p = quic_put_data(p, skb->data, skb->len);
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
	u8 type = QUIC_FRAME_STREAM | 0x02, *p, *s;
	u32 hdr;

	hdr = 1 + quic_varint_len(cb->stream_id) + quic_varint_len(skb->len);
	if (cb->offset) {
		hdr += quic_varint_len(cb->offset);
		type |= 0x04;
	}
	if (cb->fin)
		type |= 0x01;
	p = quic_outq_frame_room(dg, hdr + skb->len);
	if (!p)
		return false;
	s = p;
	*p++ = type;
	p = quic_put_varint(p, cb->stream_id);
	if (cb->offset)
		p = quic_put_varint(p, cb->offset);
	p = quic_put_varint(p, skb->len);
	p = quic_put_data(p, skb->data, skb->len);
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

	while ((skb = skb_peek(&t->retxq))) {
		if (!quic_outq_cwnd_ok(sk, dg->skb->len) ||
		    !quic_outq_put_chunk(dg, skb))
			return put;
		__skb_unlink(skb, &t->retxq);
		quic_outq_chain(sp, skb);
		put = true;
	}

	max = quic_outq_chunk_max(sk);
	hold_partial = qs->corked || (!qs->config.stream_data_nodelay &&
				      qs->space[QUIC_PN_APP].bytes_in_flight);
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
		if ((qs->corked || (!qs->config.stream_data_nodelay &&
				    qs->space[QUIC_PN_APP].bytes_in_flight)) &&
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
			quic_stream_send_progress(sk, st);
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
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	struct quic_stream *st = NULL;

	switch (f->type) {
	case QUIC_FRAME_NEW_TOKEN:
		quic_sk(sk)->new_token_inflight = 0;
		if (!acked)	/* RFC 9000 13.3: resent until acknowledged */
			quic_sk(sk)->new_token_pending = 1;
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
		quic_stream_event(sk, st, QUIC_STREAM_SEND_STATE_RESET_RECVD,
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

/* Write one packet of @space into @dg.  Return true if it was useful. */
static bool quic_outq_build(struct sock *sk, struct quic_dgram *dg, u8 space,
			    u64 now)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = &qs->space[space];
	struct quic_crypto_out *o = &qs->cout[space];
	struct sk_buff *skb = dg->skb;
	struct quic_sent_pkt *sp;
	u32 room, n, hdr, start;
	u8 *p, *base, level = quic_outq_level(sk, space);
	bool early = level == QUIC_CRYPTO_EARLY;
	bool eliciting = false;
	int i;

	if (quic_pkt_begin(sk, dg, level, s->next_pn))
		return false;
	sp = kzalloc(sizeof(*sp), GFP_ATOMIC);
	if (!sp)
		goto undo;
	start = skb->len;
	base = skb_tail_pointer(skb);
	p = base;

	/* 0-RTT carries no ACK, CRYPTO, HANDSHAKE_DONE, PATH_RESPONSE or
	 * RETIRE_CONNECTION_ID (RFC 9000 12.5)
	 */
	if (s->ack_pending && !early) {
		room = quic_dgram_room(dg);
		p = quic_put_ack(s, p, room, now,
				 space == QUIC_PN_APP ?
				 qs->local_tp.ack_delay_exponent : 0);
		if (p != base) {
			s->ack_pending = 0;
			s->ack_immediate = 0;
			s->ack_eliciting_rcvd = 0;
			if (space == QUIC_PN_APP)
				quic_timer_stop(sk, QUIC_TIMER_ACK);
		}
	}
	if (space == QUIC_PN_APP && !early) {
		/* the ACK may have taken the room: what does not fit waits */
		skb_put(skb, p - base);
		base = p;
		room = quic_dgram_room(dg);
		if (qs->hs_done_pending && room >= 1) {
			*p++ = QUIC_FRAME_HANDSHAKE_DONE;
			room--;
			qs->hs_done_pending = 0;
			quic_sent_add_frame(sp, QUIC_FRAME_HANDSHAKE_DONE, 0, 0);
			eliciting = true;
		}
		n = 1 + quic_varint_len(qs->token_len) + qs->token_len;
		if (qs->new_token_pending && room >= n) {
			*p++ = QUIC_FRAME_NEW_TOKEN;
			p = quic_put_varint(p, qs->token_len);
			p = quic_put_data(p, qs->token, qs->token_len);
			room -= n;
			qs->new_token_pending = 0;
			qs->new_token_inflight = 1;
			quic_sent_add_frame(sp, QUIC_FRAME_NEW_TOKEN, 0, 0);
			eliciting = true;
		}
		if (qs->path_response_pending && room >= 9) {
			*p++ = QUIC_FRAME_PATH_RESPONSE;
			p = quic_put_data(p, qs->path_response, 8);
			qs->path_response_pending = 0;
			eliciting = true;
		}
		for (i = 0; i < QUIC_SCID_MAX && qs->new_cid_pending; i++) {
			struct quic_cid_entry *e = qs->scids[i];
			u8 token[QUIC_RESET_TOKEN_LEN] = {};

			if (!(qs->new_cid_pending & BIT(i)))
				continue;
			skb_put(skb, p - base);
			base = p;
			if (quic_dgram_room(dg) < 48)
				break;
			qs->new_cid_pending &= ~BIT(i);
			if (!e)
				continue;
			if (qs->token_ctx.hmac)
				quic_stateless_reset_token(&qs->token_ctx,
							   e->cid.data,
							   e->cid.len, token);
			*p++ = QUIC_FRAME_NEW_CONNECTION_ID;
			p = quic_put_varint(p, e->seq);
			/* at most the ID's own number (a late resend) */
			p = quic_put_varint(p, min(qs->scid_prior_to, e->seq));
			*p++ = e->cid.len;
			p = quic_put_data(p, e->cid.data, e->cid.len);
			p = quic_put_data(p, token, QUIC_RESET_TOKEN_LEN);
			quic_sent_add_frame(sp, QUIC_FRAME_NEW_CONNECTION_ID,
					    i, 0);
			eliciting = true;
		}
		while (qs->retire_count &&
		       sp->nr_frames < QUIC_SENT_FRAMES_MAX) {
			u64 seq;

			skb_put(skb, p - base);
			base = p;
			if (quic_dgram_room(dg) < 16)
				break;
			seq = qs->retire[--qs->retire_count];
			*p++ = QUIC_FRAME_RETIRE_CONNECTION_ID;
			p = quic_put_varint(p, seq);
			quic_sent_add_frame(sp, QUIC_FRAME_RETIRE_CONNECTION_ID,
					    seq, 0);
			eliciting = true;
		}
	}
	skb_put(skb, p - base);

	if (space == QUIC_PN_APP && quic_outq_put_app(sk, dg, sp))
		eliciting = true;

	/* CRYPTO data: lost ranges rewind o->sent, so this resends too */
	while (!qs->corked && !early && o->sent < o->len &&
	       sp->nr_frames < QUIC_SENT_FRAMES_MAX) {
		room = quic_dgram_room(dg);
		hdr = 1 + quic_varint_len(o->sent) + 2;
		if (room < hdr + 16)
			break;
		n = min_t(u32, o->len - o->sent, room - hdr);
		p = skb_put(skb, 1 + quic_varint_len(o->sent) +
			    quic_varint_len(n) + n);
		*p++ = QUIC_FRAME_CRYPTO;
		p = quic_put_varint(p, o->sent);
		p = quic_put_varint(p, n);
		memcpy(p, o->buf + o->sent, n);
		quic_sent_add_frame(sp, QUIC_FRAME_CRYPTO, o->sent, n);
		o->sent += n;
		eliciting = true;
	}

	if (!eliciting && (qs->probe_mask & BIT(space)) &&
	    quic_dgram_room(dg)) {
		skb_put_u8(skb, QUIC_FRAME_PING);
		eliciting = true;
	}
	if (skb->len == start) {	/* nothing was written after all */
		kfree(sp);
		goto undo;
	}
	if (eliciting)
		qs->probe_mask &= ~BIT(space);

	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_FRM_SENT);
	sp->pn = s->next_pn++;
	sp->time = now;
	trace_quic_packet_sent(sk, level, sp->pn, skb->len - start, eliciting);
	if (eliciting) {
		sp->ack_eliciting = 1;
		sp->in_flight = 1;
		sp->size = skb->len - start;
		s->bytes_in_flight += sp->size;
		s->ack_eliciting_in_flight++;
		s->last_ack_eliciting_time = now;
		list_add_tail(&sp->list, &s->sent);
		/* a server pads datagrams with ack-eliciting Initials */
		if (space == QUIC_PN_INITIAL)
			dg->pad = 1;
	} else {
		kfree(sp);
	}
	if (eliciting && !qs->ack_eliciting_sent) {
		qs->ack_eliciting_sent = 1;
		quic_conn_idle_reset(sk);
	}
	return true;

undo:
	quic_pkt_undo(dg);
	return false;
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
	qs->pace_blocked = !quic_cong_pace_ok(&qs->cong, now_ns);
}

/**
 * quic_outq_flush - send everything that is due
 * @sk: the connection (locked)
 */
void quic_outq_flush(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_dgram dg;
	u64 now = quic_now(), now_ns = ktime_get_ns();
	u32 inflight;
	bool any;
	u8 space;
	int loops = 64;

	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		return;
	qs->pace_blocked = !quic_cong_pace_ok(&qs->cong, now_ns);
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
		quic_dgram_send(sk, &dg);
		quic_outq_paced(sk, inflight, now_ns);
		if (!quic_is_serv(sk) && qs->space[QUIC_PN_HANDSHAKE].next_pn &&
		    !qs->space[QUIC_PN_INITIAL].discarded)
			/* RFC 9001 4.9.1: client drops Initial keys once it
			 * sends a Handshake packet
			 */
			quic_conn_discard_space(sk, QUIC_PN_INITIAL);
	}
	quic_outq_set_loss_timer(sk);
	if (qs->pace_wait) {
		qs->pace_wait = 0;
		quic_timer_pace_arm(sk, qs->cong.pace_next);
	}
}

/* ---- close ---------------------------------------------------------- */

static void quic_put_close(struct sock *sk, struct quic_dgram *dg, u8 level)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_connection_close *c = &qs->local_close;
	u8 space = quic_level_space(level);
	struct sk_buff *skb = dg->skb;
	u32 plen = 0, err;
	u64 frame = qs->close_frame;
	bool app = qs->close_app;
	u8 *p, *base;

	if (quic_pkt_begin(sk, dg, level, qs->space[space].next_pn++))
		return;
	err = qs->close_errcode;
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
	*p++ = app ? QUIC_FRAME_CONNECTION_CLOSE_APP : QUIC_FRAME_CONNECTION_CLOSE;
	p = quic_put_varint(p, err);
	if (!app)
		p = quic_put_varint(p, frame);
	p = quic_put_varint(p, plen);
	p = quic_put_data(p, c->phrase, plen);
	skb_put(skb, p - base);
}

/* Send one datagram carrying CONNECTION_CLOSE at every level we can. */
void quic_outq_send_close(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_dgram dg;
	u8 space;

	if (qs->draining || !qs->dcid.len)
		return;
	if (quic_dgram_init(sk, &dg, QUIC_MAX_DGRAM))
		return;
	for (space = 0; space < QUIC_PN_MAX; space++) {
		if (qs->space[space].discarded ||
		    !qs->crypto[quic_space_level(space)].tx_ready)
			continue;
		quic_put_close(sk, &dg, quic_space_level(space));
	}
	if (quic_is_serv(sk))
		dg.pad = 0;
	quic_dgram_send(sk, &dg);
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_CLOSESENT);
}

/* ---- acknowledgements and loss ------------------------------------- */

static void quic_outq_trace_cwnd(struct sock *sk, u8 event)
{
	struct quic_sock *qs = quic_sk(sk);
	u32 in_flight = 0;
	u8 space;

	if (!trace_quic_cwnd_update_enabled())
		return;
	for (space = 0; space < QUIC_PN_MAX; space++)
		in_flight += qs->space[space].bytes_in_flight;
	trace_quic_cwnd_update(sk, qs->cong.cwnd, qs->cong.ssthresh, in_flight,
			       event);
}

static void quic_outq_lost(struct sock *sk, u8 space, struct quic_sent_pkt *sp,
			   u8 reason)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_crypto_out *o = &qs->cout[space];
	int i;

	trace_quic_packet_lost(sk, space, sp->pn, sp->size, reason);

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
				qs->hs_done_pending = 1;
			break;
		case QUIC_FRAME_NEW_CONNECTION_ID:
			if (qs->scids[sp->frames[i].offset])
				qs->new_cid_pending |= BIT(sp->frames[i].offset);
			break;
		case QUIC_FRAME_RETIRE_CONNECTION_ID:
			quic_conn_retire_lost(sk, sp->frames[i].offset);
			break;
		}
	}
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_PKT_RETRANS);
}

static void quic_sent_remove(struct quic_pnspace *s, struct quic_sent_pkt *sp)
{
	if (sp->in_flight)
		s->bytes_in_flight -= sp->size;
	if (sp->ack_eliciting)
		s->ack_eliciting_in_flight--;
	list_del(&sp->list);
	kfree_skb_list(sp->chunks);
	kfree(sp);
}

/* RFC 9002 6.1: packets sent before an acknowledged one are lost after
 * three later packets or 9/8 RTT.
 *
 * RFC 9002 7.6.2: ack-eliciting packets declared lost together, sent
 * after the first RTT sample, with nothing sent between them
 * acknowledged, and spanning more than the persistent congestion
 * duration establish persistent congestion.
 */
static void quic_outq_detect_lost(struct sock *sk, u8 space, u64 now)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = &qs->space[space];
	u64 delay = quic_rtt_loss_delay(&qs->rtt), run = 0, pc;
	struct quic_sent_pkt *sp, *tmp;
	bool persistent = false, later, by_pn;
	u64 cwnd = qs->cong.cwnd;

	pc = quic_cong_persistent_duration(&qs->rtt,
					   qs->remote_tp.max_ack_delay);
	s->loss_time = 0;
	list_for_each_entry_safe(sp, tmp, &s->sent, list) {
		if (sp->pn > s->largest_acked)
			break;
		later = sp->acked_later;
		by_pn = s->largest_acked >= sp->pn + qs->cong.pkt_thresh;
		if (by_pn || sp->time + delay <= now) {
			if (sp->ack_eliciting && qs->rtt.has_sample &&
			    sp->time >= qs->rtt.first_sample) {
				if (!run)
					run = sp->time;
				else if (sp->time - run > pc)
					persistent = true;
			}
			if (sp->in_flight)
				quic_cong_on_loss(&qs->cong, sp->time, now);
			if (qs->cong.cwnd != cwnd) {
				cwnd = qs->cong.cwnd;
				quic_outq_trace_cwnd(sk, QUIC_CONG_EV_LOSS);
			}
			if (space == QUIC_PN_APP)
				quic_cong_lost_pn(&qs->cong, sp->pn,
						  s->largest_acked);
			quic_outq_lost(sk, space, sp, by_pn ?
				       QUIC_LOST_PKT_THRESHOLD :
				       QUIC_LOST_TIME_THRESHOLD);
			quic_sent_remove(s, sp);
		} else if (!s->loss_time || sp->time + delay < s->loss_time) {
			s->loss_time = sp->time + delay;
		}
		if (later)
			run = 0;
	}
	if (persistent) {
		quic_cong_on_persistent(&qs->cong, ktime_get_ns());
		quic_outq_trace_cwnd(sk, QUIC_CONG_EV_PERSISTENT);
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_PERSISTENT);
	}
}

/**
 * quic_outq_ack_rcv - an ACK frame arrived
 * @sk: the connection (locked)
 * @space: its packet number space
 * @ranges: acknowledged ranges, descending
 * @nr: their number (>= 1)
 * @delay: the encoded ACK Delay
 *
 * Return: 0, or -EPROTO after closing the connection because the peer
 * acknowledged a packet we never sent.
 */
int quic_outq_ack_rcv(struct sock *sk, u8 space,
		      const struct quic_ack_range *ranges, u32 nr, u64 delay)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = &qs->space[space];
	struct quic_sent_pkt *sp, *tmp;
	s64 largest = ranges[0].end;
	bool eliciting = false, hs_done = false;
	u64 now = quic_now(), largest_time = 0;
	u32 i, ack_delay = 0;
	u64 cwnd;

	if (largest >= s->next_pn) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
				QUIC_FRAME_ACK);
		return -EPROTO;
	}
	if (space == QUIC_PN_APP)
		for (i = 0; i < nr; i++)
			if (quic_cong_spurious(&qs->cong, ranges[i].start,
					       ranges[i].end))
				quic_outq_trace_cwnd(sk, QUIC_CONG_EV_SPURIOUS);
	cwnd = qs->cong.cwnd;
	list_for_each_entry_safe(sp, tmp, &s->sent, list) {
		if (sp->pn > largest)
			break;
		for (i = 0; i < nr; i++)
			if (sp->pn >= ranges[i].start && sp->pn <= ranges[i].end)
				break;
		if (i == nr)
			continue;
		if (sp->pn == largest)
			largest_time = sp->time;
		if (sp->ack_eliciting)
			eliciting = true;
		for (i = 0; i < sp->nr_frames; i++) {
			if (sp->frames[i].type == QUIC_FRAME_HANDSHAKE_DONE)
				hs_done = true;
			quic_outq_ctrl_done(sk, &sp->frames[i], true);
		}
		if (sp->in_flight)
			quic_cong_on_ack(&qs->cong, sp->time, sp->size, now,
					 &qs->rtt);
		quic_outq_chunks_acked(sk, sp);
		/* the one before it has an acknowledged packet after it */
		if (sp->ack_eliciting && !list_is_first(&sp->list, &s->sent))
			list_prev_entry(sp, list)->acked_later = 1;
		quic_sent_remove(s, sp);
	}
	/* the client has the handshake: drop our Handshake keys */
	if (hs_done && quic_is_serv(sk))
		quic_conn_confirmed(sk);
	if (largest > s->largest_acked) {
		s->largest_acked = largest;
		if (largest_time && eliciting) {
			if (!qs->rtt.has_sample)
				qs->rtt.first_sample = now;
			if (space == QUIC_PN_APP)
				ack_delay = min_t(u64, delay <<
						  qs->remote_tp.ack_delay_exponent,
						  U32_MAX);
			quic_rtt_update(&qs->rtt, now - largest_time, ack_delay,
					qs->confirmed,
					qs->remote_tp.max_ack_delay);
			trace_quic_rtt_update(sk, qs->rtt.latest, qs->rtt.min,
					      qs->rtt.smoothed, qs->rtt.var);
		}
	}
	if (qs->cong.cwnd != cwnd)
		quic_outq_trace_cwnd(sk, QUIC_CONG_EV_ACK);
	if (eliciting)
		qs->pto_count = 0;
	quic_outq_detect_lost(sk, space, now);
	quic_outq_set_loss_timer(sk);
	return 0;
}

/* The PTO deadline of @space, 0 if none (RFC 9002 A.8). */
static u64 quic_outq_pto_time(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = &qs->space[space];
	u64 pto = quic_rtt_pto(&qs->rtt);

	if (s->discarded || !s->ack_eliciting_in_flight)
		return 0;
	if (space == QUIC_PN_APP) {
		if (sk->sk_state != QUIC_SS_ESTABLISHED)
			return 0;
		pto += qs->remote_tp.max_ack_delay;
	}
	return s->last_ack_eliciting_time +
	       (pto << min_t(u8, qs->pto_count, QUIC_PTO_MAX_BACKOFF));
}

void quic_outq_set_loss_timer(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u64 t = 0, x, now;
	u8 space;

	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED) {
		quic_timer_stop(sk, QUIC_TIMER_LOSS);
		return;
	}
	for (space = 0; space < QUIC_PN_MAX; space++) {
		x = qs->space[space].loss_time;
		if (x && (!t || x < t))
			t = x;
	}
	if (!t) {
		/* RFC 9002 6.2.2.1: no PTO while blocked by amplification */
		if (quic_outq_amp_limited(sk)) {
			quic_timer_stop(sk, QUIC_TIMER_LOSS);
			return;
		}
		for (space = 0; space < QUIC_PN_MAX; space++) {
			x = quic_outq_pto_time(sk, space);
			if (x && (!t || x < t))
				t = x;
		}
	}
	if (!t && !quic_is_serv(sk) && !qs->confirmed &&
	    qs->space[QUIC_PN_INITIAL].next_pn &&
	    sk->sk_state == QUIC_SS_ESTABLISHING) {
		/* RFC 9002 6.2.2.1: client anti-deadlock probe */
		t = quic_now() + (quic_rtt_pto(&qs->rtt) <<
				  min_t(u8, qs->pto_count, QUIC_PTO_MAX_BACKOFF));
	}
	if (!t) {
		quic_timer_stop(sk, QUIC_TIMER_LOSS);
		return;
	}
	now = quic_now();
	quic_timer_reset(sk, QUIC_TIMER_LOSS, t > now ? t - now : 0);
}

/* Resend everything unacknowledged in @space as the probe. */
static void quic_outq_probe_space(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_crypto_out *o = &qs->cout[space];
	struct quic_sent_pkt *sp;
	int i;

	list_for_each_entry(sp, &qs->space[space].sent, list) {
		for (i = 0; i < sp->nr_frames; i++) {
			if (sp->frames[i].type == QUIC_FRAME_CRYPTO &&
			    sp->frames[i].offset < o->sent)
				o->sent = sp->frames[i].offset;
			if (sp->frames[i].type == QUIC_FRAME_HANDSHAKE_DONE &&
			    quic_is_serv(sk))
				qs->hs_done_pending = 1;
		}
	}
}

/* The in-flight chunk of stream @id with the lowest offset: the bytes the
 * receiver waits for, as far as we know.
 */
static struct sk_buff *quic_outq_lowest_chunk(struct sock *sk, s64 id)
{
	struct quic_sock *qs = quic_sk(sk);
	struct sk_buff *skb, *low = NULL;
	struct quic_sent_pkt *sp;
	struct quic_snd_cb *cb;

	list_for_each_entry(sp, &qs->space[QUIC_PN_APP].sent, list)
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
	list_for_each_entry(sp, &qs->space[QUIC_PN_APP].sent, list) {
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

/* The loss detection timer fired (socket locked). */
void quic_outq_loss_timeout(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u64 now = quic_now(), t = 0, x;
	u8 space, pick = QUIC_PN_MAX;

	for (space = 0; space < QUIC_PN_MAX; space++) {
		x = qs->space[space].loss_time;
		if (x && (!t || x < t)) {
			t = x;
			pick = space;
		}
	}
	if (pick < QUIC_PN_MAX) {
		quic_outq_detect_lost(sk, pick, now);
		quic_outq_flush(sk);
		return;
	}

	t = 0;
	for (space = 0; space < QUIC_PN_MAX; space++) {
		x = quic_outq_pto_time(sk, space);
		if (x && (!t || x < t)) {
			t = x;
			pick = space;
		}
	}
	if (pick == QUIC_PN_MAX) {
		if (quic_is_serv(sk))
			goto out;
		/* anti-deadlock: a Handshake packet if we can, else Initial */
		pick = qs->crypto[QUIC_CRYPTO_HANDSHAKE].tx_ready ?
		       QUIC_PN_HANDSHAKE : QUIC_PN_INITIAL;
	}
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_PKT_PTO);
	if (qs->pto_count < QUIC_PTO_MAX_BACKOFF)
		qs->pto_count++;
	/* the probe resends unacknowledged data, or is a PING */
	quic_outq_probe_space(sk, pick);
	if (pick == QUIC_PN_APP)
		quic_outq_probe_streams(sk);
	qs->probe_mask |= BIT(pick);
out:
	quic_outq_flush(sk);
}

void quic_outq_discard_space(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_crypto_out *o = &qs->cout[space];

	quic_pnspace_free(&qs->space[space]);
	qs->space[space].discarded = 1;
	kfree_sensitive(o->buf);
	memset(o, 0, sizeof(*o));
	quic_inq_free(sk, &qs->cin[space]);
	skb_queue_purge(&qs->pending[space]);
}

void quic_outq_free(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u8 space;

	for (space = 0; space < QUIC_PN_MAX; space++) {
		quic_pnspace_free(&qs->space[space]);
		kfree_sensitive(qs->cout[space].buf);
		memset(&qs->cout[space], 0, sizeof(qs->cout[space]));
		quic_inq_free(sk, &qs->cin[space]);
		skb_queue_purge(&qs->pending[space]);
	}
}
