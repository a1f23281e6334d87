// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: the receive side.
 *
 * CRYPTO frames are reassembled per encryption level; in-order Initial and
 * Handshake data is queued for recvmsg() as one message per chunk, tagged
 * with its level.  APP-level CRYPTO data (a NewSessionTicket) is collected
 * in a ticket buffer instead.  Events are queued the same way, flagged.
 */

#include <linux/slab.h>
#include <net/sock.h>

#include "netns.h"
#include "socket.h"
#include "frame.h"

static void quic_inq_mem_uncharge(struct sock *sk, u32 size);

/* Something for the reader: wake it now, or once at the end of the burst
 * of datagrams being processed (quic_sk_rcv() in packet.c).
 */
static void quic_inq_data_ready(struct sock *sk)
{
	struct quic_rx *rx = quic_rx(sk);

	if (rx->batch) {
		rx->wake = 1;
		return;
	}
	sk->sk_data_ready(sk);
}

struct quic_crypto_frag {
	struct list_head list;
	u64 off;
	u32 len;
	u8 data[];
};

/**
 * quic_inq_init - set up an empty receive side
 * @sk: a new socket
 *
 * Every space starts with empty CRYPTO reassembly and no packets waiting
 * for keys.
 */
void quic_inq_init(struct sock *sk)
{
	struct quic_inqueue *inq = quic_inq(sk);
	u8 space;

	for (space = 0; space < QUIC_PN_MAX; space++) {
		inq->cin[space].off = 0;
		inq->cin[space].frag_bytes = 0;
		INIT_LIST_HEAD(&inq->cin[space].frags);
		skb_queue_head_init(&inq->pending[space]);
	}
}

/**
 * quic_inq_free - drop the out-of-order CRYPTO fragments of a space
 * @sk: the connection (locked)
 * @in: that space's reassembly state
 *
 * Frees the fragments and gives back the receive memory they were
 * charged.  The in-order offset is kept.
 */
void quic_inq_free(struct sock *sk, struct quic_crypto_in *in)
{
	struct quic_crypto_frag *f, *tmp;

	list_for_each_entry_safe(f, tmp, &in->frags, list) {
		list_del(&f->list);
		quic_inq_mem_uncharge(sk, ksize(f));
		kfree(f);
	}
	in->frag_bytes = 0;
}

/**
 * quic_inq_discard_space - free the receive state of a packet number space
 * @sk: the connection (locked)
 * @space: the space whose keys are discarded
 *
 * Frees its out-of-order CRYPTO fragments and the packets waiting for its
 * keys.
 */
void quic_inq_discard_space(struct sock *sk, u8 space)
{
	struct quic_inqueue *inq = quic_inq(sk);

	quic_inq_free(sk, &inq->cin[space]);
	skb_queue_purge(&inq->pending[space]);
}

/**
 * quic_inq_free_all - free the receive state of every space
 * @sk: the connection (locked, or being destroyed)
 *
 * The ticket stays: the user may read it after the connection closed.
 */
void quic_inq_free_all(struct sock *sk)
{
	u8 space;

	for (space = 0; space < QUIC_PN_MAX; space++)
		quic_inq_discard_space(sk, space);
}

/**
 * quic_inq_ticket_free - wipe and free the ticket buffer
 * @sk: the socket (being destroyed)
 */
void quic_inq_ticket_free(struct sock *sk)
{
	struct quic_inqueue *inq = quic_inq(sk);

	kfree_sensitive(inq->ticket);
	inq->ticket = NULL;
	inq->ticket_len = 0;
}

/**
 * quic_inq_pending_add - keep a packet until the keys of @space arrive
 * @sk: the connection (locked)
 * @space: its packet number space
 * @data: the packet
 * @len: its length
 *
 * At most QUIC_PENDING_PKTS_MAX are kept per space; more are dropped.
 */
void quic_inq_pending_add(struct sock *sk, u8 space, const u8 *data, u32 len)
{
	struct sk_buff_head *q = &quic_inq(sk)->pending[space];
	struct sk_buff *skb;

	if (skb_queue_len(q) >= QUIC_PENDING_PKTS_MAX)
		return;
	skb = alloc_skb(len, GFP_ATOMIC);
	if (!skb)
		return;
	skb_put_data(skb, data, len);
	__skb_queue_tail(q, skb);
}

/**
 * quic_inq_pending_take - the packets that waited for the keys of @space
 * @sk: the connection (locked)
 * @space: the packet number space
 * @list: out: the packets, oldest first (the queue is left empty)
 */
void quic_inq_pending_take(struct sock *sk, u8 space, struct sk_buff_head *list)
{
	__skb_queue_head_init(list);
	skb_queue_splice_init(&quic_inq(sk)->pending[space], list);
}

/**
 * quic_inq_set_event - enable or disable the notifications of one type
 * @sk: the socket (locked)
 * @type: QUIC_EVENT_*, checked by the caller
 * @on: enable
 */
void quic_inq_set_event(struct sock *sk, u8 type, bool on)
{
	if (on)
		quic_inq(sk)->events |= BIT(type);
	else
		quic_inq(sk)->events &= ~BIT(type);
}

/**
 * quic_inq_inherit - an accepted socket takes its listener's settings
 * @sk: the new socket
 * @lsk: its listener
 *
 * The notifications the listener's user enabled are enabled on it.
 */
void quic_inq_inherit(struct sock *sk, const struct sock *lsk)
{
	quic_inq(sk)->events = quic_inq(lsk)->events;
}

/**
 * quic_inq_event_on - are the notifications of @type enabled?
 * @sk: the socket
 * @type: QUIC_EVENT_*
 *
 * Return: true if they are queued for recvmsg().
 */
bool quic_inq_event_on(struct sock *sk, u8 type)
{
	return quic_inq(sk)->events & BIT(type);
}

/**
 * quic_inq_ticket_buf - the ticket buffer (QUIC_TICKET_MAX_LEN bytes)
 * @sk: the socket (locked)
 *
 * The client keeps the server's NewSessionTicket here, a server the key
 * it hands out for session tickets.
 *
 * Return: the buffer, allocated on first use, or NULL if that failed.
 */
u8 *quic_inq_ticket_buf(struct sock *sk)
{
	struct quic_inqueue *inq = quic_inq(sk);

	if (!inq->ticket)
		inq->ticket = kmalloc(QUIC_TICKET_MAX_LEN, GFP_KERNEL);
	return inq->ticket;
}

/**
 * quic_inq_ticket_len - how much of the ticket buffer is valid
 * @sk: the socket
 * @len: the new length, or a negative value to read it only
 *
 * Return: the length.
 */
u32 quic_inq_ticket_len(struct sock *sk, int len)
{
	struct quic_inqueue *inq = quic_inq(sk);

	if (len >= 0)
		inq->ticket_len = len;
	return inq->ticket_len;
}

/* ---- receive memory ------------------------------------------------ */

/* Everything kept on the receive side is charged with its true size to
 * sk_rmem_alloc (what SO_MEMINFO and /proc/net/quic/eps show) and to the
 * namespace's total; quic_inq_charge() is the one place that admits it.
 */
static bool quic_inq_mem_fits(struct sock *sk, u32 size, u32 slack)
{
	struct quic_net *qn = quic_net(sock_net(sk));

	/* a socket holding nothing takes one piece, however large, so that
	 * a datagram bigger than the budget cannot stall the connection
	 */
	if (!atomic_read(&sk->sk_rmem_alloc))
		return true;
	if (atomic_read(&sk->sk_rmem_alloc) + size <=
	    (u64)READ_ONCE(sk->sk_rcvbuf) + slack &&
	    atomic_long_read(&qn->rmem_alloc) + size <=
	    READ_ONCE(qn->rmem_max_total))
		return true;
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_RCV_MEMDROP);
	return false;
}

static void quic_inq_mem_charge(struct sock *sk, u32 size)
{
	atomic_add(size, &sk->sk_rmem_alloc);
	atomic_long_add(size, &quic_net(sock_net(sk))->rmem_alloc);
}

static void quic_inq_mem_uncharge(struct sock *sk, u32 size)
{
	atomic_sub(size, &sk->sk_rmem_alloc);
	atomic_long_sub(size, &quic_net(sock_net(sk))->rmem_alloc);
}

static void quic_inq_rfree(struct sk_buff *skb)
{
	struct sock *sk = skb->sk;

	if (QUIC_RCV_CB(skb)->ooo)
		quic_sk(sk)->streams.reasm_mem -= skb->truesize;
	quic_inq_mem_uncharge(sk, skb->truesize);
}

/* Charge @skb to @sk whatever the budget says. */
static void quic_inq_charge_force(struct sock *sk, struct sk_buff *skb)
{
	skb_orphan(skb);
	skb->sk = sk;
	skb->destructor = quic_inq_rfree;
	quic_inq_mem_charge(sk, skb->truesize);
}

/* Charge @skb to @sk if it fits the budget (plus @slack), else -ENOBUFS:
 * the caller drops the packet before it is acknowledged, so the peer
 * sends the data again once the application has made room.
 */
static int quic_inq_charge(struct sock *sk, struct sk_buff *skb, u32 slack)
{
	if (!quic_inq_mem_fits(sk, skb->truesize, slack))
		return -ENOBUFS;
	quic_inq_charge_force(sk, skb);
	return 0;
}

static int quic_inq_queue(struct sock *sk, struct sk_buff *skb)
{
	int err = quic_inq_charge(sk, skb, QUIC_INQ_EVENT_SLACK);

	if (err) {
		kfree_skb(skb);
		return err;
	}
	__skb_queue_tail(&sk->sk_receive_queue, skb);
	quic_inq_data_ready(sk);
	return 0;
}

/* In-order data at @level: hand it to the user (or the ticket buffer). */
static int quic_inq_deliver(struct sock *sk, u8 level, const u8 *data, u32 len)
{
	struct quic_inqueue *inq = quic_inq(sk);
	struct sk_buff *skb;
	u32 n;

	if (!len)
		return 0;
	if (level == QUIC_CRYPTO_APP) {
		if (quic_is_serv(sk))	/* only servers send tickets */
			return 0;
		if (!inq->ticket) {
			inq->ticket = kmalloc(QUIC_TICKET_MAX_LEN, GFP_ATOMIC);
			if (!inq->ticket)
				return -ENOMEM;
		}
		n = min_t(u32, len, QUIC_TICKET_MAX_LEN - inq->ticket_len);
		memcpy(inq->ticket + inq->ticket_len, data, n);
		inq->ticket_len += n;
		quic_inq_event(sk, QUIC_EVENT_NEW_SESSION_TICKET, inq->ticket,
			       inq->ticket_len);
		return 0;
	}
	/* handshake data may use the slack: 0-RTT data the application
	 * cannot read before the handshake completes must not block it
	 */
	if (!quic_inq_mem_fits(sk, len, QUIC_INQ_EVENT_SLACK))
		return -ENOBUFS;
	skb = alloc_skb(len, GFP_ATOMIC);
	if (!skb)
		return -ENOMEM;
	skb_put_data(skb, data, len);
	memset(skb->cb, 0, sizeof(struct quic_rcv_cb));
	QUIC_RCV_CB(skb)->level = level;
	return quic_inq_queue(sk, skb);
}

/**
 * quic_inq_crypto_rcv - a CRYPTO frame arrived
 * @sk: the connection (locked)
 * @level: its encryption level
 * @off: stream offset (off + len checked <= 2^62 - 1 by the caller)
 * @data: the bytes
 * @len: their number
 * @terr: out: the transport error for -EPROTO
 *
 * Return: 0; -EPROTO for too much buffered data (CRYPTO_BUFFER_EXCEEDED:
 * the caller closes the connection); -ENOMEM/-ENOBUFS to drop the packet
 * (the peer will resend).
 */
int quic_inq_crypto_rcv(struct sock *sk, u8 level, u64 off, const u8 *data,
			u32 len, u32 *terr)
{
	struct quic_crypto_in *in = &quic_inq(sk)->cin[quic_level_space(level)];
	struct quic_crypto_frag *f, *tmp, *n;
	u64 end = off + len, skip;
	int err;

	if (end <= in->off)
		return 0;	/* old data */
	if (end - in->off > QUIC_CRYPTO_IN_WINDOW) {
		*terr = QUIC_TRANSPORT_ERROR_CRYPTO_BUF_EXCEEDED;
		return -EPROTO;
	}
	if (off > in->off) {
		/* out of order: keep a copy, sorted by offset */
		if (in->frag_bytes + len > QUIC_CRYPTO_IN_WINDOW ||
		    !quic_inq_mem_fits(sk, struct_size(n, data, len), 0))
			return -ENOBUFS;
		n = kmalloc(struct_size(n, data, len), GFP_ATOMIC);
		if (!n)
			return -ENOMEM;
		quic_inq_mem_charge(sk, ksize(n));
		n->off = off;
		n->len = len;
		memcpy(n->data, data, len);
		list_for_each_entry(f, &in->frags, list)
			if (f->off > off)
				break;
		list_add_tail(&n->list, &f->list);
		in->frag_bytes += len;
		return 0;
	}
	skip = in->off - off;
	err = quic_inq_deliver(sk, level, data + skip, len - skip);
	if (err)
		return err;
	in->off = end;

	list_for_each_entry_safe(f, tmp, &in->frags, list) {
		if (f->off > in->off)
			break;
		if (f->off + f->len > in->off) {
			skip = in->off - f->off;
			err = quic_inq_deliver(sk, level, f->data + skip,
					       f->len - skip);
			if (err)
				return err;
			in->off = f->off + f->len;
		}
		list_del(&f->list);
		in->frag_bytes -= f->len;
		quic_inq_mem_uncharge(sk, ksize(f));
		kfree(f);
	}
	return 0;
}

/**
 * quic_inq_event - queue a notification if the user enabled its type
 * @sk: the socket
 * @type: QUIC_EVENT_*
 * @data: the event's payload
 * @len: its length
 *
 * recvmsg() returns the type byte followed by the payload.
 */
void quic_inq_event(struct sock *sk, u8 type, const void *data, u32 len)
{
	struct sk_buff *skb;

	if (!(quic_inq(sk)->events & BIT(type)))
		return;
	skb = alloc_skb(1 + len, GFP_ATOMIC);
	if (!skb)
		return;
	skb_put_u8(skb, type);
	skb_put_data(skb, data, len);
	memset(skb->cb, 0, sizeof(struct quic_rcv_cb));
	QUIC_RCV_CB(skb)->event = 1;
	quic_inq_queue(sk, skb);
}

/**
 * quic_inq_stream_event - report a stream state change (STREAM_UPDATE)
 * @sk: the connection
 * @st: the stream
 * @state: its new QUIC_STREAM_SEND_STATE_* or QUIC_STREAM_RECV_STATE_*
 * @errcode: the application error code of a reset
 * @finalsz: the final size, where known
 */
void quic_inq_stream_event(struct sock *sk, struct quic_stream *st, u8 state,
			   u32 errcode, u64 finalsz)
{
	struct quic_stream_update u = {};

	u.id = st->id;
	u.state = state;
	u.errcode = errcode;
	u.finalsz = finalsz;
	quic_inq_event(sk, QUIC_EVENT_STREAM_UPDATE, &u, sizeof(u));
}

/* ---- stream data ---------------------------------------------------- */

/* Where received stream data and datagrams go: the application sees the
 * 0-RTT data of a server only once the handshake is complete.
 */
static struct sk_buff_head *quic_inq_data_queue(struct sock *sk)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;

	return sk->sk_state == QUIC_SS_ESTABLISHED ? &t->rcvq : &t->earlyq;
}

/**
 * quic_inq_early_deliver - hand the 0-RTT data to the application
 * @sk: the connection (locked), now ESTABLISHED
 */
void quic_inq_early_deliver(struct sock *sk)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;

	if (skb_queue_empty(&t->earlyq))
		return;
	skb_queue_splice_tail_init(&t->earlyq, &t->rcvq);
	quic_inq_data_ready(sk);
}

static void quic_inq_purge_stream(struct sk_buff_head *q, s64 id)
{
	struct sk_buff *skb, *tmp;

	skb_queue_walk_safe(q, skb, tmp) {
		if (QUIC_RCV_CB(skb)->dgram || QUIC_RCV_CB(skb)->stream_id != id)
			continue;
		__skb_unlink(skb, q);
		kfree_skb(skb);
	}
}

static void quic_inq_stream_queue(struct sock *sk, struct quic_stream *st,
				  struct sk_buff *skb)
{
	struct quic_rcv_cb *cb = QUIC_RCV_CB(skb);

	st->recv_next = cb->offset + skb->len;
	if (st->final_size == st->recv_next) {
		cb->fin = 1;
		st->recv_state = QUIC_STREAM_RECV_STATE_RECVD;
		quic_inq_stream_event(sk, st, QUIC_STREAM_RECV_STATE_RECVD, 0,
				      st->final_size);
	}
	__skb_queue_tail(quic_inq_data_queue(sk), skb);
}

/* Move what became in order from the reassembly queue to the user. */
static void quic_inq_stream_drain(struct sock *sk, struct quic_stream *st)
{
	struct sk_buff *skb;
	u64 off, end;

	while ((skb = skb_peek(&st->reasm))) {
		off = QUIC_RCV_CB(skb)->offset;
		end = off + skb->len;
		if (off > st->recv_next)
			break;
		__skb_unlink(skb, &st->reasm);
		QUIC_RCV_CB(skb)->ooo = 0;
		quic_sk(sk)->streams.reasm_mem -= skb->truesize;
		if (end <= st->recv_next) {	/* the FIN alone is added later */
			kfree_skb(skb);
			continue;
		}
		skb_pull(skb, st->recv_next - off);
		QUIC_RCV_CB(skb)->offset = st->recv_next;
		quic_inq_stream_queue(sk, st, skb);
	}
}

static int quic_inq_stream_error(u32 *terr, u32 code)
{
	*terr = code;
	return -EPROTO;
}

/* Flow control and final size checks for data up to @end. */
static int quic_inq_stream_limits(struct sock *sk, struct quic_stream *st,
				  u64 end, bool fin, u32 *terr)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;

	if (st->final_size != QUIC_FINAL_UNKNOWN) {
		if (end > st->final_size || (fin && end != st->final_size))
			return quic_inq_stream_error(terr,
						     QUIC_TRANSPORT_ERROR_FINAL_SIZE);
	} else if (fin && end < st->recv_highest) {
		return quic_inq_stream_error(terr,
					     QUIC_TRANSPORT_ERROR_FINAL_SIZE);
	}
	if (end > st->recv_max)
		return quic_inq_stream_error(terr,
					     QUIC_TRANSPORT_ERROR_FLOW_CONTROL);
	if (end > st->recv_highest) {
		if (t->recv_highest + (end - st->recv_highest) > t->recv_max)
			return quic_inq_stream_error(terr,
						     QUIC_TRANSPORT_ERROR_FLOW_CONTROL);
		t->recv_highest += end - st->recv_highest;
		st->recv_highest = end;
	}
	return 0;
}

/* Stream data to queue: a piece that fills most of the decrypted datagram
 * it arrived in shares its buffer rather than being copied out of it (the
 * datagram is private to us and linear, see quic_packet_rcv()); smaller
 * pieces are copied, so that the receive buffer is not charged for a
 * whole datagram per piece.  A small in-order piece gets a buffer with
 * room for the small pieces that follow it (quic_inq_stream_append()).
 */
static struct sk_buff *quic_inq_stream_skb(struct sock *sk, const u8 *data,
					   u32 len, bool in_order)
{
	struct sk_buff *pkt = quic_rx(sk)->skb, *skb;
	u32 size = len;

	if (pkt && len >= QUIC_INQ_SHARE_MIN && 2 * len >= pkt->len &&
	    data >= pkt->data &&
	    data + len <= skb_tail_pointer(pkt)) {
		skb = skb_clone(pkt, GFP_ATOMIC);
		if (!skb)
			return NULL;
		skb_dst_drop(skb);
		skb_pull(skb, data - pkt->data);
		skb_trim(skb, len);
		return skb;
	}
	if (in_order && len < QUIC_INQ_SHARE_MIN)
		size = SKB_WITH_OVERHEAD(QUIC_INQ_COALESCE_HEAD);
	skb = alloc_skb(size, GFP_ATOMIC);
	if (skb)
		skb_put_data(skb, data, len);
	return skb;
}

/* Small in-order data: append it to the last queued piece of the stream
 * if that one is contiguous and has room, which costs no new memory.  The
 * last few queued pieces are searched, so a few interleaved streams also
 * coalesce.
 */
static bool quic_inq_stream_append(struct sock *sk, struct quic_stream *st,
				   const u8 *data, u32 len)
{
	struct sk_buff_head *q = quic_inq_data_queue(sk);
	struct quic_rcv_cb *cb = NULL;
	struct sk_buff *skb;
	int n = 0;

	if (len >= QUIC_INQ_SHARE_MIN)
		return false;
	skb_queue_reverse_walk(q, skb) {
		cb = QUIC_RCV_CB(skb);
		if (!cb->dgram && cb->stream_id == st->id)
			break;
		if (++n >= 8)
			return false;
	}
	if (skb == (struct sk_buff *)q || !cb || cb->fin ||
	    cb->offset + skb->len != st->recv_next || skb_cloned(skb) ||
	    skb_tailroom(skb) < len)
		return false;
	skb_put_data(skb, data, len);
	st->recv_next += len;
	if (st->final_size == st->recv_next) {
		cb->fin = 1;
		st->recv_state = QUIC_STREAM_RECV_STATE_RECVD;
		quic_inq_stream_event(sk, st, QUIC_STREAM_RECV_STATE_RECVD, 0,
				      st->final_size);
	}
	return true;
}

/**
 * quic_inq_stream_rcv - a STREAM frame arrived
 * @sk: the connection (locked)
 * @st: its stream, NULL if already closed
 * @off: offset of @data (off + len <= 2^62 - 1, checked by the caller)
 * @data: the bytes
 * @len: their number
 * @fin: the frame has the FIN bit
 * @terr: out: the transport error for -EPROTO
 *
 * Return: 0; -EPROTO for a flow control or final size violation (the
 * caller closes the connection); -ENOMEM/-ENOBUFS to drop the packet (the
 * peer resends).
 */
int quic_inq_stream_rcv(struct sock *sk, struct quic_stream *st, u64 off,
			const u8 *data, u32 len, bool fin, u32 *terr)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	u64 end = off + len, skip;
	struct sk_buff *skb, *pos;
	bool new_fin, in_order;
	int err;

	if (!st)
		return 0;
	err = quic_inq_stream_limits(sk, st, end, fin, terr);
	if (err)
		return err;
	if (st->recv_state != QUIC_STREAM_RECV_STATE_RECV &&
	    st->recv_state != QUIC_STREAM_RECV_STATE_SIZE_KNOWN)
		return 0;	/* all there already, or reset */
	if (!st->recv_seen) {
		/* our own bidirectional stream, or one the peer opened
		 * implicitly (below the one a frame named): its receiving
		 * part is reported with its first STREAM frame, as the
		 * reference does
		 */
		st->recv_seen = 1;
		quic_inq_stream_event(sk, st, QUIC_STREAM_RECV_STATE_RECV, 0, 0);
	}
	new_fin = fin && st->final_size == QUIC_FINAL_UNKNOWN;
	if (new_fin) {
		st->final_size = end;
		st->recv_state = QUIC_STREAM_RECV_STATE_SIZE_KNOWN;
		/* a FIN in order completes the stream at once: only
		 * RECV_STATE_RECVD is reported then, as in the reference
		 */
		if (off > st->recv_next)
			quic_inq_stream_event(sk, st,
					      QUIC_STREAM_RECV_STATE_SIZE_KNOWN,
					  0, end);
	}
	if (end < st->recv_next || (end == st->recv_next && !new_fin))
		goto out;
	skip = off < st->recv_next ? st->recv_next - off : 0;
	in_order = off + skip == st->recv_next;
	if (!in_order) {
		/* a copy of what is held already is not kept twice */
		skb_queue_walk(&st->reasm, pos)
			if (QUIC_RCV_CB(pos)->offset <= off &&
			    QUIC_RCV_CB(pos)->offset + pos->len >= end)
				goto out;
	} else if (quic_inq_stream_append(sk, st, data + skip, len - skip)) {
		quic_inq_stream_drain(sk, st);
		quic_inq_data_ready(sk);
		goto out;
	}
	skb = quic_inq_stream_skb(sk, data + skip, len - skip, in_order);
	if (!skb)
		return -ENOMEM;
	memset(skb->cb, 0, sizeof(struct quic_rcv_cb));
	QUIC_RCV_CB(skb)->stream_id = st->id;
	QUIC_RCV_CB(skb)->offset = off + skip;
	/* out-of-order data may use half of the receive buffer, so that
	 * the data filling its holes always finds room; one piece is always
	 * taken (within the budget), so that a peer whose datagrams are
	 * larger than that half gets acknowledgments that reveal its losses
	 */
	if (!in_order && t->reasm_mem &&
	    t->reasm_mem + skb->truesize > READ_ONCE(sk->sk_rcvbuf) / 2) {
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_RCV_MEMDROP);
		kfree_skb(skb);
		return -ENOBUFS;
	}
	/* the bytes the application waits for are taken whenever nothing
	 * it could read is held: the budget is then held by out-of-order
	 * data, which only these bytes can release
	 */
	if (in_order && atomic_read(&sk->sk_rmem_alloc) <= t->reasm_mem) {
		quic_inq_charge_force(sk, skb);
	} else if (quic_inq_charge(sk, skb, 0)) {
		kfree_skb(skb);
		return -ENOBUFS;
	}
	if (in_order) {
		quic_inq_stream_queue(sk, st, skb);
		quic_inq_stream_drain(sk, st);
		quic_inq_data_ready(sk);
	} else {
		/* out of order: sorted by offset, overlaps trimmed later */
		QUIC_RCV_CB(skb)->ooo = 1;
		t->reasm_mem += skb->truesize;
		skb_queue_walk(&st->reasm, pos)
			if (QUIC_RCV_CB(pos)->offset > off)
				break;
		__skb_queue_before(&st->reasm, pos, skb);
	}
out:
	if (st->final_size == st->recv_next &&
	    st->recv_state == QUIC_STREAM_RECV_STATE_SIZE_KNOWN) {
		/* the FIN came after all the data: an empty message ends it */
		skb = alloc_skb(0, GFP_ATOMIC);
		if (!skb)
			return -ENOMEM;
		memset(skb->cb, 0, sizeof(struct quic_rcv_cb));
		QUIC_RCV_CB(skb)->stream_id = st->id;
		QUIC_RCV_CB(skb)->offset = st->recv_next;
		if (quic_inq_charge(sk, skb, QUIC_INQ_EVENT_SLACK)) {
			kfree_skb(skb);
			return -ENOBUFS;
		}
		quic_inq_stream_queue(sk, st, skb);
		quic_inq_data_ready(sk);
	}
	return 0;
}

/* The window to advertise from now on: the configured one, but no more
 * than half the receive buffer, so that a peer within our limits fits
 * the buffer (data plus its skb overhead) when SO_RCVBUF was made small.
 * Limits already advertised are never taken back.
 */
static u64 quic_inq_window(struct sock *sk, u64 window)
{
	u64 cap = max_t(u64, READ_ONCE(sk->sk_rcvbuf) / 2, QUIC_INQ_WINDOW_MIN);

	return min(window, cap);
}

/* Give back the connection window of bytes that will never be read. */
static void quic_inq_conn_read(struct sock *sk, u64 n)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	u64 w = quic_inq_window(sk, t->recv_window);

	t->recv_read += n;
	if (t->recv_read + w >= t->recv_max + w / 4) {
		t->recv_max = t->recv_read + w;
		t->max_data_pending = 1;
	}
}

/**
 * quic_inq_read - the user consumed @n bytes of @st
 * @sk: the connection (locked)
 * @st: the stream
 * @n: bytes
 *
 * Opens the stream and connection windows again once a quarter of them
 * was consumed (MAX_STREAM_DATA, MAX_DATA), by at most half of the
 * receive buffer (quic_inq_window()).
 */
void quic_inq_read(struct sock *sk, struct quic_stream *st, u32 n)
{
	u64 w = quic_inq_window(sk, st->recv_window);

	st->recv_read += n;
	quic_inq_conn_read(sk, n);
	if (st->recv_state == QUIC_STREAM_RECV_STATE_RECV &&
	    st->recv_read + w >= st->recv_max + w / 4) {
		st->recv_max = st->recv_read + w;
		st->max_data_pending = 1;
		quic_stream_ctrl_add(sk, st);
	}
}

/**
 * quic_inq_blocked_rcv - the peer says our limit holds its data back
 * @sk: the connection (locked)
 * @st: the stream of a STREAM_DATA_BLOCKED frame, NULL for DATA_BLOCKED
 * @limit: the limit the peer is held at
 *
 * Our updates follow reads; but if we already allowed more than @limit,
 * the frame that said so was lost or is late, and it goes again now
 * rather than when its packet is declared lost.
 */
void quic_inq_blocked_rcv(struct sock *sk, struct quic_stream *st, u64 limit)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;

	if (!st) {
		if (limit < t->recv_max)
			t->max_data_pending = 1;
		return;
	}
	if (st->recv_state == QUIC_STREAM_RECV_STATE_RECV && limit < st->recv_max) {
		st->max_data_pending = 1;
		quic_stream_ctrl_add(sk, st);
	}
}

/**
 * quic_inq_reset_rcv - a RESET_STREAM frame arrived
 * @sk: the connection (locked)
 * @st: its stream, NULL if already closed
 * @errcode: the application error code
 * @final: the final size
 * @terr: out: the transport error for -EPROTO
 *
 * Unread data of the stream is dropped and STREAM_UPDATE reports the
 * reset.
 *
 * Return: 0, or -EPROTO for a final size or flow control violation (the
 * caller closes the connection).
 */
int quic_inq_reset_rcv(struct sock *sk, struct quic_stream *st, u32 errcode,
		       u64 final, u32 *terr)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	int err;

	if (!st)
		return 0;
	err = quic_inq_stream_limits(sk, st, final, true, terr);
	if (err)
		return err;
	if (st->recv_state == QUIC_STREAM_RECV_STATE_READ ||
	    st->recv_state >= QUIC_STREAM_RECV_STATE_RESET_RECVD)
		return 0;
	st->final_size = final;
	__skb_queue_purge(&st->reasm);
	quic_inq_purge_stream(&t->rcvq, st->id);
	quic_inq_purge_stream(&t->earlyq, st->id);
	if (final > st->recv_read) {
		quic_inq_conn_read(sk, final - st->recv_read);
		st->recv_read = final;
	}
	st->recv_state = QUIC_STREAM_RECV_STATE_RESET_RECVD;
	quic_inq_stream_event(sk, st, QUIC_STREAM_RECV_STATE_RESET_RECVD, errcode,
			      final);
	st->recv_state = QUIC_STREAM_RECV_STATE_RESET_READ;
	quic_stream_maybe_free(sk, st);
	return 0;
}

/**
 * quic_inq_dgram_rcv - a DATAGRAM frame arrived
 * @sk: the connection (locked)
 * @data: the payload
 * @len: its length
 *
 * Queues the payload for recvmsg() (MSG_QUIC_DATAGRAM) and wakes the
 * reader.  DATAGRAM frames are unreliable: when the receive buffer is
 * full or memory is short, the payload is dropped quietly.
 * Context: softirq or process context; allocates with GFP_ATOMIC.
 *
 * Return: 0 (a dropped datagram is not an error).
 */
int quic_inq_dgram_rcv(struct sock *sk, const u8 *data, u32 len)
{
	struct sk_buff *skb;

	if (!quic_inq_mem_fits(sk, len, 0))
		return 0;
	skb = alloc_skb(len, GFP_ATOMIC);
	if (!skb)
		return 0;
	skb_put_data(skb, data, len);
	memset(skb->cb, 0, sizeof(struct quic_rcv_cb));
	QUIC_RCV_CB(skb)->dgram = 1;
	if (quic_inq_charge(sk, skb, 0)) {
		kfree_skb(skb);
		return 0;
	}
	__skb_queue_tail(quic_inq_data_queue(sk), skb);
	quic_inq_data_ready(sk);
	return 0;
}
