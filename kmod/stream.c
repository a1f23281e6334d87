// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: streams.
 *
 * A stream exists from the moment it is opened, by us (sendmsg() or
 * QUIC_SOCKOPT_STREAM_OPEN) or by the peer (its first frame for the stream,
 * which also opens every lower-numbered stream of that type, RFC 9000
 * 3.2), until both of its halves are finished: the send side once all data
 * and the FIN, or a RESET_STREAM, were acknowledged; the receive side once
 * the user read everything up to the FIN, or the peer reset it.  A closed
 * peer-initiated stream gives the peer credit for one more (MAX_STREAMS).
 *
 * Stream IDs of closed streams are remembered only as "below the next
 * number": frames for them are ignored, sendmsg() on them fails.
 */

#include <linux/slab.h>
#include <linux/hash.h>
#include <net/sock.h>

#include "netns.h"
#include "socket.h"
#include "frame.h"

static inline struct quic_stream_table *quic_streams(struct sock *sk)
{
	return &quic_sk(sk)->streams;
}

/**
 * quic_stream_is_local - was stream @id opened by our side?
 * @sk: the connection
 * @id: the stream ID
 *
 * Return: true if the ID's initiator bit is ours (server or client).
 */
static bool quic_stream_is_local(struct sock *sk, s64 id)
{
	return !!(id & QUIC_STREAM_TYPE_SERVER_MASK) == quic_is_serv(sk);
}

/* Was stream @id open once and freed since (both sides finished)? */
static bool quic_stream_closed(struct sock *sk, s64 id)
{
	struct quic_stream_table *t = quic_streams(sk);
	u8 type = quic_stream_type(id);
	u64 n = (u64)id >> 2;

	if (quic_stream_is_local(sk, id))
		return n < t->local_next[type];
	return n < t->peer_next[type];
}

static struct hlist_head *quic_stream_bucket(struct quic_stream_table *t,
					     s64 id)
{
	return &t->hash[hash_64(id, ilog2(QUIC_STREAM_HASH_SIZE))];
}

/**
 * quic_streams_init - set up an empty stream table
 * @sk: the new socket
 *
 * No stream, no limits yet, and no latest stream for send() (-1).
 */
void quic_streams_init(struct sock *sk)
{
	struct quic_stream_table *t = quic_streams(sk);
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < QUIC_STREAM_HASH_SIZE; i++)
		INIT_HLIST_HEAD(&t->hash[i]);
	INIT_LIST_HEAD(&t->send_list);
	INIT_LIST_HEAD(&t->ctrl_list);
	skb_queue_head_init(&t->retxq);
	skb_queue_head_init(&t->dgramq);
	skb_queue_head_init(&t->rcvq);
	skb_queue_head_init(&t->earlyq);
	t->latest = -1;
}

static u64 quic_stream_initial_send_max(struct sock *sk, s64 id)
{
	struct quic_tp *rtp = &quic_sk(sk)->remote_tp;

	if (quic_stream_type(id) == QUIC_STREAM_UNI)
		return rtp->max_stream_data_uni;
	if (quic_stream_is_local(sk, id))
		return rtp->max_stream_data_bidi_remote;
	return rtp->max_stream_data_bidi_local;
}

/* Streams opened under remembered (0-RTT) limits take the initial limits
 * of the handshake, which may only be larger (RFC 9000 7.4.1).
 */
static void quic_streams_raise_send_max(struct sock *sk)
{
	struct quic_stream_table *t = quic_streams(sk);
	struct quic_stream *st;
	int i;

	if (!quic_sk(sk)->early_used)
		return;
	for (i = 0; i < QUIC_STREAM_HASH_SIZE; i++)
		hlist_for_each_entry(st, &t->hash[i], node)
			st->send_max = max(st->send_max,
					   quic_stream_initial_send_max(sk, st->id));
}

/**
 * quic_streams_early - a client restored the server's transport parameters
 * @sk: the connection (locked)
 *
 * Streams may be opened and data queued within the remembered limits
 * until the handshake tells the real ones (0-RTT).
 */
void quic_streams_early(struct sock *sk)
{
	struct quic_stream_table *t = quic_streams(sk);
	struct quic_tp *rtp = &quic_sk(sk)->remote_tp;

	t->local_max[QUIC_STREAM_BIDI] = rtp->max_streams_bidi;
	t->local_max[QUIC_STREAM_UNI] = rtp->max_streams_uni;
	t->send_max = rtp->max_data;
	if (!(sk->sk_userlocks & SOCK_SNDBUF_LOCK))
		WRITE_ONCE(sk->sk_sndbuf,
			   max_t(u64, READ_ONCE(sk->sk_sndbuf),
				 min_t(u64, 2 * t->send_max, 16 << 20)));
}

/**
 * quic_streams_early_reset - drop remembered 0-RTT limits nobody used
 * @sk: the connection (locked), a client
 *
 * The stream and data limits quic_streams_early() set were not used for
 * 0-RTT: clear them so that the handshake's parameters replace them
 * (quic_streams_established() only raises limits).
 */
void quic_streams_early_reset(struct sock *sk)
{
	struct quic_stream_table *t = quic_streams(sk);

	t->local_max[QUIC_STREAM_BIDI] = 0;
	t->local_max[QUIC_STREAM_UNI] = 0;
	t->send_max = 0;
}

/**
 * quic_streams_established - take the initial stream and data limits
 * @sk: the connection (locked)
 *
 * Called once the peer's transport parameters are known, and again once
 * established.  Limits only rise: the streams the peer may open and we
 * may open, and MAX_DATA both ways; streams opened under remembered 0-RTT
 * limits take the handshake's initial stream limits.  The socket buffers
 * are sized for the windows unless the user set them.
 */
void quic_streams_established(struct sock *sk)
{
	struct quic_stream_table *t = quic_streams(sk);
	struct quic_sock *qs = quic_sk(sk);
	u8 type;

	for (type = 0; type < 2; type++) {
		u64 lmax = type ? qs->remote_tp.max_streams_uni :
				  qs->remote_tp.max_streams_bidi;
		u64 pmax = type ? qs->local_tp.max_streams_uni :
				  qs->local_tp.max_streams_bidi;

		t->local_max[type] = max(t->local_max[type], lmax);
		t->peer_max_init[type] = pmax;
		t->peer_max[type] = max(t->peer_max[type], pmax);
	}
	t->send_max = max(t->send_max, qs->remote_tp.max_data);
	t->recv_window = qs->local_tp.max_data;
	t->recv_max = max(t->recv_max, t->recv_window);
	quic_streams_raise_send_max(sk);

	/* the windows, with room for skb overhead, bound the memory */
	if (!(sk->sk_userlocks & SOCK_RCVBUF_LOCK))
		WRITE_ONCE(sk->sk_rcvbuf,
			   max_t(u64, READ_ONCE(sk->sk_rcvbuf),
				 min_t(u64, 4 * t->recv_window, 64 << 20)));
	if (!(sk->sk_userlocks & SOCK_SNDBUF_LOCK))
		WRITE_ONCE(sk->sk_sndbuf,
			   max_t(u64, READ_ONCE(sk->sk_sndbuf),
				 min_t(u64, 2 * t->send_max, 16 << 20)));
}

static void quic_stream_destroy(struct quic_stream *st)
{
	__skb_queue_purge(&st->sndq);
	__skb_queue_purge(&st->reasm);
	kfree(st);
}

/**
 * quic_streams_free - free every stream and the queued data
 * @sk: the socket (locked)
 *
 * Frees the streams with their send and reassembly queues, and purges
 * the retransmit, datagram, receive and 0-RTT receive queues.
 */
void quic_streams_free(struct sock *sk)
{
	struct quic_stream_table *t = quic_streams(sk);
	struct quic_stream *st;
	struct hlist_node *tmp;
	int i;

	for (i = 0; i < QUIC_STREAM_HASH_SIZE; i++) {
		hlist_for_each_entry_safe(st, tmp, &t->hash[i], node) {
			hlist_del(&st->node);
			quic_stream_destroy(st);
		}
	}
	INIT_LIST_HEAD(&t->send_list);
	INIT_LIST_HEAD(&t->ctrl_list);
	t->count = 0;
	__skb_queue_purge(&t->retxq);
	__skb_queue_purge(&t->dgramq);
	__skb_queue_purge(&t->rcvq);
	__skb_queue_purge(&t->earlyq);
}

/**
 * quic_stream_find - look up an open stream
 * @sk: the connection (locked)
 * @id: the stream ID
 *
 * Return: the stream, or NULL if it is not open (never opened or freed).
 */
struct quic_stream *quic_stream_find(struct sock *sk, s64 id)
{
	struct quic_stream_table *t = quic_streams(sk);
	struct quic_stream *st;

	hlist_for_each_entry(st, quic_stream_bucket(t, id), node)
		if (st->id == id)
			return st;
	return NULL;
}

static struct quic_stream *quic_stream_create(struct sock *sk, s64 id)
{
	struct quic_stream_table *t = quic_streams(sk);
	struct quic_sock *qs = quic_sk(sk);
	bool local = quic_stream_is_local(sk, id);
	bool uni = quic_stream_type(id) == QUIC_STREAM_UNI;
	struct quic_stream *st;

	st = kzalloc(sizeof(*st), GFP_ATOMIC);
	if (!st)
		return NULL;
	st->id = id;
	INIT_LIST_HEAD(&st->send_node);
	INIT_LIST_HEAD(&st->ctrl_node);
	__skb_queue_head_init(&st->sndq);
	__skb_queue_head_init(&st->reasm);
	st->has_send = !uni || local;
	st->has_recv = !uni || !local;
	st->send_state = QUIC_STREAM_SEND_STATE_READY;
	st->recv_state = QUIC_STREAM_RECV_STATE_RECV;
	st->final_size = QUIC_FINAL_UNKNOWN;
	st->send_max = quic_stream_initial_send_max(sk, id);
	if (uni)
		st->recv_window = qs->local_tp.max_stream_data_uni;
	else if (local)
		st->recv_window = qs->local_tp.max_stream_data_bidi_local;
	else
		st->recv_window = qs->local_tp.max_stream_data_bidi_remote;
	st->recv_max = st->recv_window;
	hlist_add_head(&st->node, quic_stream_bucket(t, id));
	t->count++;
	return st;
}

/**
 * quic_stream_ctrl_add - queue a stream for its control frames
 * @sk: the connection (locked)
 * @st: a stream with a control frame due (RESET_STREAM, STOP_SENDING,
 *	MAX_STREAM_DATA or STREAM_DATA_BLOCKED)
 *
 * Adds @st to the table's ctrl_list unless it is on it already.
 */
void quic_stream_ctrl_add(struct sock *sk, struct quic_stream *st)
{
	if (list_empty(&st->ctrl_node))
		list_add_tail(&st->ctrl_node, &quic_streams(sk)->ctrl_list);
}

/* Open local streams up to @id (all lower ones of its type too).
 * -EAGAIN: the peer's stream limit is reached; the caller may wait for
 * MAX_STREAMS (quic_stream_local_max()) and try again.
 */
static int quic_stream_open_local(struct sock *sk, s64 id,
				  struct quic_stream **out)
{
	struct quic_stream_table *t = quic_streams(sk);
	u8 type = quic_stream_type(id);
	u64 n = (u64)id >> 2, i;
	struct quic_stream *st = NULL;

	if (!quic_can_send_data(sk))
		return -EPIPE;
	if (n < t->local_next[type])
		return -EINVAL;		/* closed, or in use */
	if (n >= t->local_max[type])
		return -EAGAIN;
	if (n - t->local_next[type] >= QUIC_STREAMS_MAX ||
	    t->count >= 2 * QUIC_STREAMS_MAX)
		return -ENOSPC;
	for (i = t->local_next[type]; i <= n; i++) {
		st = quic_stream_create(sk, (s64)(i << 2) | (id & 3));
		if (!st)
			return -ENOMEM;
		t->local_next[type] = i + 1;
	}
	*out = st;
	return 0;
}

/**
 * quic_stream_blocked - the peer's limit stops us opening a @type stream
 * @sk: the connection (locked)
 * @type: QUIC_STREAM_BIDI or QUIC_STREAM_UNI
 *
 * Queues a STREAMS_BLOCKED frame unless one was sent for this limit.
 *
 * Return: true when the caller should flush the frame out.
 */
bool quic_stream_blocked(struct sock *sk, u8 type)
{
	struct quic_stream_table *t = quic_streams(sk);

	if (t->local_blocked_at[type] == t->local_max[type])
		return false;
	t->streams_blocked_pending |= BIT(type);
	return true;
}

/**
 * quic_stream_local_max - the peer's current limit on our streams of @type
 * @sk: the connection (locked)
 * @type: QUIC_STREAM_BIDI or QUIC_STREAM_UNI
 *
 * The caller waits for it to rise.
 *
 * Return: the number of streams of @type we may open in total.
 */
u64 quic_stream_local_max(struct sock *sk, u8 type)
{
	return quic_streams(sk)->local_max[type];
}

static s64 quic_stream_next_local(struct sock *sk, bool uni)
{
	u8 type = uni ? QUIC_STREAM_UNI : QUIC_STREAM_BIDI;
	s64 id = quic_streams(sk)->local_next[type] << 2;

	if (uni)
		id |= QUIC_STREAM_TYPE_UNI_MASK;
	if (quic_is_serv(sk))
		id |= QUIC_STREAM_TYPE_SERVER_MASK;
	return id;
}

/* Open but not written yet: STREAM_OPEN and MSG_QUIC_STREAM_NEW may take
 * it as a fresh stream.
 */
static bool quic_stream_unwritten(const struct quic_stream *st)
{
	return st->send_state == QUIC_STREAM_SEND_STATE_READY && !st->fin_queued;
}

/**
 * quic_stream_open - QUIC_SOCKOPT_STREAM_OPEN
 * @sk: the connection (locked, ESTABLISHED)
 * @id: the stream to open, or -1 for the next local one
 * @flags: MSG_QUIC_STREAM_UNI (with -1)
 * @out: the ID opened
 *
 * Return: 0 or a negative errno; -EAGAIN while the peer's stream limit
 * stops it.
 */
int quic_stream_open(struct sock *sk, s64 id, u32 flags, s64 *out)
{
	struct quic_stream *st;
	int err;

	if (id == -1)
		id = quic_stream_next_local(sk, flags & MSG_QUIC_STREAM_UNI);
	if (id < 0 || id > QUIC_STREAM_ID_MAX || !quic_stream_is_local(sk, id))
		return -EINVAL;
	st = quic_stream_find(sk, id);
	if (st) {
		/* e.g. opened with a higher ID */
		if (!quic_stream_unwritten(st))
			return -EINVAL;
	} else {
		err = quic_stream_open_local(sk, id, &st);
		if (err)
			return err;
	}
	quic_streams(sk)->latest = id;
	*out = id;
	return 0;
}

static bool quic_stream_writable(const struct quic_stream *st)
{
	return st->has_send && !st->fin_queued &&
	       st->send_state <= QUIC_STREAM_SEND_STATE_SEND;
}

/**
 * quic_stream_send_get - the stream a sendmsg() writes to
 * @sk: the connection (locked, ESTABLISHED)
 * @id: from the QUIC_STREAM_INFO cmsg; -1: the latest stream, or with
 *	MSG_QUIC_STREAM_NEW the next local one (_UNI: unidirectional)
 * @flags: the stream flags
 * @err: out: the error when NULL is returned (-EAGAIN: the peer's stream
 *	limit stops opening it)
 *
 * Local streams not open yet are opened (MSG_QUIC_STREAM_NEW is implied).
 * MSG_QUIC_STREAM_NEW never reuses a stream that has sent data: with @id -1
 * it takes the latest stream while that is a local one not written yet
 * (opened by STREAM_OPEN), fails while it is a local one still sending, and
 * otherwise opens the next one; with a specific @id it fails once that
 * stream has sent data.  The latest stream changes when a stream is opened
 * here or by STREAM_OPEN, not when an open one is written by its ID: the
 * reference's behaviour.
 *
 * Return: the stream, or NULL with @err set.
 */
struct quic_stream *quic_stream_send_get(struct sock *sk, s64 id, u32 flags,
					 int *err)
{
	struct quic_stream_table *t = quic_streams(sk);
	bool uni = flags & MSG_QUIC_STREAM_UNI;
	struct quic_stream *st = NULL;

	*err = -EINVAL;
	if (id == -1) {
		if (t->latest >= 0)
			st = quic_stream_find(sk, t->latest);
		if (st && quic_stream_writable(st)) {
			if (!(flags & MSG_QUIC_STREAM_NEW))
				return st;
			if (quic_stream_is_local(sk, st->id)) {
				if (!quic_stream_unwritten(st))
					return NULL;
				if ((quic_stream_type(st->id) == QUIC_STREAM_UNI) == uni)
					return st;
			}
		}
		id = quic_stream_next_local(sk, uni);
	}
	if (id < 0 || id > QUIC_STREAM_ID_MAX)
		return NULL;
	st = quic_stream_find(sk, id);
	if (st) {
		if ((flags & MSG_QUIC_STREAM_NEW) && !quic_stream_unwritten(st))
			return NULL;	/* opened and written already */
	} else {
		if (!quic_stream_is_local(sk, id))
			return NULL;	/* a peer's stream not open, or closed */
		if (quic_stream_closed(sk, id)) {
			*err = -ENOSTR;	/* freed: the reference's errno */
			return NULL;
		}
		*err = quic_stream_open_local(sk, id, &st);
		if (*err)
			return NULL;
		t->latest = id;
	}
	/* a stream the peer stopped with STOP_SENDING: ENOSTR, as in the
	 * reference; one the user reset or ended: EINVAL
	 */
	*err = st->peer_stop ? -ENOSTR : -EINVAL;
	if (!quic_stream_writable(st))
		return NULL;
	return st;
}

/**
 * quic_stream_recv_get - the stream a received frame refers to
 * @sk: the connection (locked)
 * @id: the Stream ID of the frame
 * @sender_frame: the frame comes from the stream's sending side (STREAM,
 *	RESET_STREAM, STREAM_DATA_BLOCKED); else its receiving side
 * @out: the stream, or NULL for one already closed (ignore the frame)
 * @errcode: out: the transport error for -EPROTO
 *
 * Peer streams are opened here, with all lower ones of their type.
 *
 * Return: 0; 1 when the stream was opened now and has a receiving side
 * (the caller reports QUIC_STREAM_RECV_STATE_RECV); -EPROTO for a frame
 * the stream rules forbid (*@errcode: STREAM_LIMIT_ERROR or
 * STREAM_STATE_ERROR; the caller closes the connection); -ENOMEM.
 */
int quic_stream_recv_get(struct sock *sk, s64 id, bool sender_frame,
			 struct quic_stream **out, u32 *errcode)
{
	struct quic_stream_table *t = quic_streams(sk);
	bool local = quic_stream_is_local(sk, id);
	u8 type = quic_stream_type(id);
	u64 n = (u64)id >> 2, i;
	struct quic_stream *st;

	*out = NULL;
	/* a unidirectional stream has one sender */
	if (type == QUIC_STREAM_UNI && local == sender_frame)
		goto state_err;
	if (local) {
		if (n >= t->local_next[type])
			goto state_err;	/* we never opened it */
		*out = quic_stream_find(sk, id);
		return 0;
	}
	if (n >= t->peer_max[type]) {
		*errcode = QUIC_TRANSPORT_ERROR_STREAM_LIMIT;
		return -EPROTO;
	}
	if (n < t->peer_next[type]) {
		*out = quic_stream_find(sk, id);
		return 0;
	}
	for (i = t->peer_next[type]; i <= n; i++) {
		st = quic_stream_create(sk, (s64)(i << 2) | (id & 3));
		if (!st)
			return -ENOMEM;
		t->peer_next[type] = i + 1;
	}
	*out = st;
	/* only the stream the frame names is reported now; those opened
	 * below it are when their first data comes
	 */
	if (!st->has_recv)
		return 0;
	st->recv_seen = 1;
	return 1;

state_err:
	*errcode = QUIC_TRANSPORT_ERROR_STREAM_STATE;
	return -EPROTO;
}

static bool quic_stream_send_done(const struct quic_stream *st)
{
	return !st->has_send || st->send_state == QUIC_STREAM_SEND_STATE_RECVD ||
	       st->send_state == QUIC_STREAM_SEND_STATE_RESET_RECVD;
}

static bool quic_stream_recv_done(const struct quic_stream *st)
{
	return !st->has_recv || st->recv_state == QUIC_STREAM_RECV_STATE_READ ||
	       st->recv_state == QUIC_STREAM_RECV_STATE_RESET_READ;
}

/**
 * quic_stream_maybe_free - free a stream if both of its halves are finished
 * @sk: the connection (locked)
 * @st: the stream; the caller must not use it afterwards
 *
 * A stream is finished when both directions are done and no sent chunk
 * is still unacknowledged.  Freeing a peer's stream lets the peer open
 * another one (RFC 9000 4.6): MAX_STREAMS is queued when the limit rises.
 */
void quic_stream_maybe_free(struct sock *sk, struct quic_stream *st)
{
	struct quic_stream_table *t = quic_streams(sk);
	u8 type = quic_stream_type(st->id);
	u64 max;

	if (!quic_stream_send_done(st) || !quic_stream_recv_done(st) ||
	    st->unacked)
		return;
	hlist_del(&st->node);
	list_del_init(&st->send_node);
	list_del_init(&st->ctrl_node);
	t->count--;
	if (!quic_stream_is_local(sk, st->id)) {
		/* RFC 9000 4.6: let the peer open another one */
		t->peer_closed[type]++;
		max = t->peer_closed[type] + t->peer_max_init[type];
		if (max > t->peer_max[type]) {
			t->peer_max[type] = max;
			t->max_streams_pending |= BIT(type);
		}
	}
	quic_stream_destroy(st);
}

/**
 * quic_stream_send_progress - check whether all of a stream's data arrived
 * @sk: the connection (locked)
 * @st: the stream
 *
 * Every chunk up to the FIN was acknowledged: the stream moves to Data
 * Recvd.
 *
 * Return: true when the stream just reached Data Recvd (the caller
 * reports it).
 */
bool quic_stream_send_progress(struct sock *sk, struct quic_stream *st)
{
	if (st->send_state > QUIC_STREAM_SEND_STATE_SENT || !st->fin_acked ||
	    st->unacked || !skb_queue_empty(&st->sndq))
		return false;
	st->send_state = QUIC_STREAM_SEND_STATE_RECVD;
	return true;
}

/* Drop @st's chunks that wait to be (re)sent. */
static void quic_stream_drop_unsent(struct sock *sk, struct quic_stream *st)
{
	struct quic_stream_table *t = quic_streams(sk);
	struct sk_buff *skb, *tmp;

	__skb_queue_purge(&st->sndq);
	list_del_init(&st->send_node);
	skb_queue_walk_safe(&t->retxq, skb, tmp) {
		if (QUIC_SND_CB(skb)->stream_id != st->id)
			continue;
		__skb_unlink(skb, &t->retxq);
		kfree_skb(skb);
		st->unacked--;
	}
}

/**
 * quic_stream_reset - abandon sending on a stream (RESET_STREAM)
 * @sk: the connection (locked)
 * @id: the stream
 * @errcode: the application error code
 * @user: QUIC_SOCKOPT_STREAM_RESET (else the peer sent STOP_SENDING)
 *
 * The application knows of its own reset: the caller reports
 * QUIC_STREAM_SEND_STATE_RESET_SENT only for one the peer's STOP_SENDING
 * caused (RESET_RECVD follows either), as the reference's functional test
 * expects.
 *
 * Return: 0, -ENOSTR for a stream that was closed already (as the
 * reference answers), or -EINVAL.
 */
int quic_stream_reset(struct sock *sk, s64 id, u32 errcode, bool user)
{
	struct quic_stream *st = quic_stream_find(sk, id);

	if (!st)
		return id >= 0 && quic_stream_closed(sk, id) ? -ENOSTR : -EINVAL;
	if (!st->has_send || st->send_state >= QUIC_STREAM_SEND_STATE_RECVD)
		return -EINVAL;
	quic_stream_drop_unsent(sk, st);
	st->send_state = QUIC_STREAM_SEND_STATE_RESET_SENT;
	st->peer_stop = !user;
	st->reset_errcode = errcode;
	st->reset_pending = 1;
	quic_stream_ctrl_add(sk, st);
	return 0;
}

/**
 * quic_stream_stop_sending - QUIC_SOCKOPT_STREAM_STOP_SENDING
 * @sk: the connection (locked)
 * @id: the stream
 * @errcode: the application error code to send
 *
 * Queues a STOP_SENDING frame asking the peer to stop sending on @id.
 *
 * Return: 0; -EINVAL if @id is not an open stream with a receiving side,
 * or that side is finished (all data or a reset received); -EAGAIN while
 * a previous STOP_SENDING is queued or unacknowledged.
 */
int quic_stream_stop_sending(struct sock *sk, s64 id, u32 errcode)
{
	struct quic_stream *st = quic_stream_find(sk, id);

	if (!st || !st->has_recv ||
	    st->recv_state >= QUIC_STREAM_RECV_STATE_RECVD)
		return -EINVAL;
	if (st->stop_pending || st->stop_inflight)
		return -EAGAIN;
	st->stop_errcode = errcode;
	st->stop_pending = 1;
	quic_stream_ctrl_add(sk, st);
	return 0;
}

static void quic_stream_wake_writers(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM);
	rcu_read_unlock();
}

/**
 * quic_stream_max_streams_rcv - a MAX_STREAMS frame from the peer
 * @sk: the connection (locked)
 * @type: QUIC_STREAM_BIDI or QUIC_STREAM_UNI
 * @max: the new limit on our streams of @type
 *
 * A higher limit lets us open more streams; writers waiting for it are
 * woken.
 *
 * Return: true when the limit rose (the caller reports it).
 */
bool quic_stream_max_streams_rcv(struct sock *sk, u8 type, u64 max)
{
	struct quic_stream_table *t = quic_streams(sk);

	if (max <= t->local_max[type])
		return false;
	t->local_max[type] = max;
	quic_stream_wake_writers(sk);
	return true;
}

/**
 * quic_streams_max_data_rcv - a MAX_DATA frame from the peer
 * @sk: the connection (locked)
 * @max: the new connection-level send limit; lower values are ignored
 */
void quic_streams_max_data_rcv(struct sock *sk, u64 max)
{
	struct quic_stream_table *t = quic_streams(sk);

	if (max > t->send_max)
		t->send_max = max;
}

/**
 * quic_stream_max_data_rcv - a MAX_STREAM_DATA frame from the peer
 * @st: the stream
 * @max: the new send limit of @st; lower values are ignored
 *
 * Return: true when the limit rose (the caller reports it).
 */
bool quic_stream_max_data_rcv(struct quic_stream *st, u64 max)
{
	if (max <= st->send_max)
		return false;
	st->send_max = max;
	return true;
}
