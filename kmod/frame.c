// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: frames (RFC 9000 section 19): decoding and handling what the peer
 * sent, and encoding what we send.
 *
 * Every frame is parsed with bounds checks; a malformed one closes the
 * connection with FRAME_ENCODING_ERROR, a frame not allowed in its packet
 * type with PROTOCOL_VIOLATION (RFC 9000 12.4).
 */

#include <net/sock.h>

#include "netns.h"
#include "socket.h"
#include "path.h"
#include "frame.h"
#include "connection.h"
#include "recovery.h"
#include <trace/events/quic.h>

#define QUIC_ACK_RANGES_PARSE	64

/* A lower layer refused a frame with -EPROTO and transport error @terr:
 * close the connection, naming frame @type.
 */
static int quic_frame_error(struct sock *sk, int err, u32 terr, u64 type)
{
	if (err == -EPROTO)
		quic_conn_error(sk, terr, type);
	return err;
}

static bool quic_frame_allowed(u8 level, u64 type)
{
	if (level == QUIC_CRYPTO_APP)
		return true;
	if (level == QUIC_CRYPTO_EARLY) {
		/* 0-RTT: RFC 9000 12.5 */
		switch (type) {
		case QUIC_FRAME_ACK:
		case QUIC_FRAME_ACK_ECN:
		case QUIC_FRAME_CRYPTO:
		case QUIC_FRAME_NEW_TOKEN:
		case QUIC_FRAME_PATH_RESPONSE:
		case QUIC_FRAME_RETIRE_CONNECTION_ID:
		case QUIC_FRAME_HANDSHAKE_DONE:
			return false;
		}
		return true;
	}
	/* Initial and Handshake packets (RFC 9000 Table 3) */
	switch (type) {
	case QUIC_FRAME_PADDING:
	case QUIC_FRAME_PING:
	case QUIC_FRAME_ACK:
	case QUIC_FRAME_ACK_ECN:
	case QUIC_FRAME_CRYPTO:
	case QUIC_FRAME_CONNECTION_CLOSE:
		return true;
	}
	return false;
}

static int quic_frame_ack(struct sock *sk, u8 level, u64 type,
			  struct quic_reader *r)
{
	struct quic_ack_range ranges[QUIC_ACK_RANGES_PARSE];
	u64 largest, delay, count, first, gap, len, i, ecn[QUIC_ECN_COUNTS];
	s64 smallest;
	u32 nr = 0;

	if (!quic_get_varint(r, &largest) || !quic_get_varint(r, &delay) ||
	    !quic_get_varint(r, &count) || !quic_get_varint(r, &first))
		return -EINVAL;
	if (first > largest)
		return -EINVAL;
	smallest = largest - first;
	ranges[nr].start = smallest;
	ranges[nr++].end = largest;
	for (i = 0; i < count; i++) {
		if (!quic_get_varint(r, &gap) || !quic_get_varint(r, &len))
			return -EINVAL;
		/* next largest = smallest - gap - 2, next smallest below it */
		if ((u64)smallest < gap + 2 + len)
			return -EINVAL;
		largest = smallest - gap - 2;
		smallest = largest - len;
		if (nr < QUIC_ACK_RANGES_PARSE) {
			ranges[nr].start = smallest;
			ranges[nr++].end = largest;
		}
	}
	if (type == QUIC_FRAME_ACK_ECN) {
		for (i = 0; i < QUIC_ECN_COUNTS; i++)
			if (!quic_get_varint(r, &ecn[i]))
				return -EINVAL;
	}
	return quic_recovery_ack_rcv(sk, quic_level_space(level), ranges, nr, delay,
				     type == QUIC_FRAME_ACK_ECN ? ecn : NULL);
}

static int quic_frame_crypto(struct sock *sk, u8 level, struct quic_reader *r)
{
	u64 off, len;
	const u8 *data;
	u32 terr;
	int err;

	if (!quic_get_varint(r, &off) || !quic_get_varint(r, &len) ||
	    !quic_get_bytes(r, &data, len))
		return -EINVAL;
	if (off + len > QUIC_VARINT_MAX) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_FRAME_ENCODING,
				QUIC_FRAME_CRYPTO);
		return -EPROTO;
	}
	err = quic_inq_crypto_rcv(sk, level, off, data, len, &terr);
	return quic_frame_error(sk, err, terr, QUIC_FRAME_CRYPTO);
}

static int quic_frame_new_cid(struct sock *sk, struct quic_reader *r)
{
	u64 seq, prior;
	const u8 *cid, *token;
	u8 len;

	if (!quic_get_varint(r, &seq) || !quic_get_varint(r, &prior) ||
	    !quic_get_u8(r, &len) || !quic_get_bytes(r, &cid, len) ||
	    !quic_get_bytes(r, &token, QUIC_RESET_TOKEN_LEN))
		return -EINVAL;
	if (!len || len > QUIC_CID_MAX_LEN || prior > seq)
		return -EINVAL;
	/* a peer using zero-length IDs cannot issue new ones */
	if (!quic_cids(sk)->dcid.len) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
				QUIC_FRAME_NEW_CONNECTION_ID);
		return -EPROTO;
	}
	return quic_conn_new_dcid(sk, seq, prior, cid, len, token);
}

static int quic_frame_close(struct sock *sk, u64 type, struct quic_reader *r)
{
	u64 err, frame = 0, len;
	const u8 *phrase;

	if (!quic_get_varint(r, &err))
		return -EINVAL;
	if (type == QUIC_FRAME_CONNECTION_CLOSE && !quic_get_varint(r, &frame))
		return -EINVAL;
	if (!quic_get_varint(r, &len) || !quic_get_bytes(r, &phrase, len))
		return -EINVAL;
	quic_conn_peer_close(sk, err, frame, phrase, len,
			     type == QUIC_FRAME_CONNECTION_CLOSE_APP);
	return -ECONNRESET;
}

/* The stream a frame of @type names (NULL: closed already, ignore it);
 * a peer's stream opens here and is reported.  A frame the stream rules
 * forbid closes the connection.
 */
static int quic_frame_stream_get(struct sock *sk, s64 id, bool sender_frame,
				 u64 type, struct quic_stream **st)
{
	u32 terr;
	int err;

	err = quic_stream_recv_get(sk, id, sender_frame, st, &terr);
	if (err != 1)
		return quic_frame_error(sk, err, terr, type);
	quic_inq_stream_event(sk, *st, QUIC_STREAM_RECV_STATE_RECV, 0, 0);
	return 0;
}

static int quic_frame_stream(struct sock *sk, u64 type, struct quic_reader *r)
{
	u64 id, off = 0, len;
	struct quic_stream *st;
	const u8 *data;
	u32 terr;
	int err;

	if (!quic_get_varint(r, &id))
		return -EINVAL;
	if ((type & 0x04) && !quic_get_varint(r, &off))
		return -EINVAL;
	if (type & 0x02) {
		if (!quic_get_varint(r, &len))
			return -EINVAL;
	} else {
		len = quic_reader_left(r);
	}
	if (!quic_get_bytes(r, &data, len))
		return -EINVAL;
	if (off + len > QUIC_VARINT_MAX) {	/* RFC 9000 19.8 */
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_FRAME_ENCODING, type);
		return -EPROTO;
	}
	err = quic_frame_stream_get(sk, id, true, type, &st);
	if (err)
		return err;
	err = quic_inq_stream_rcv(sk, st, off, data, len, type & 0x01, &terr);
	return quic_frame_error(sk, err, terr, QUIC_FRAME_STREAM);
}

/* RESET_STREAM, STOP_SENDING, MAX_STREAM_DATA, STREAM_DATA_BLOCKED */
static int quic_frame_stream_ctl(struct sock *sk, u64 type,
				 struct quic_reader *r)
{
	struct quic_stream *st;
	u64 id, v, final = 0;
	u32 terr;
	int err;

	if (!quic_get_varint(r, &id) || !quic_get_varint(r, &v))
		return -EINVAL;
	if (type == QUIC_FRAME_RESET_STREAM && !quic_get_varint(r, &final))
		return -EINVAL;
	err = quic_frame_stream_get(sk, id,
				    type == QUIC_FRAME_RESET_STREAM ||
				    type == QUIC_FRAME_STREAM_DATA_BLOCKED,
				    type, &st);
	if (err || !st)
		return err;
	switch (type) {
	case QUIC_FRAME_RESET_STREAM:
		err = quic_inq_reset_rcv(sk, st, min_t(u64, v, U32_MAX), final,
					 &terr);
		return quic_frame_error(sk, err, terr, type);
	case QUIC_FRAME_STOP_SENDING:
		/* RFC 9000 3.5: answer with RESET_STREAM, and tell the
		 * application, which did not ask for this reset
		 */
		if (!quic_stream_reset(sk, id, min_t(u64, v, U32_MAX), false))
			quic_inq_stream_event(sk, st,
					      QUIC_STREAM_SEND_STATE_RESET_SENT,
					      min_t(u64, v, U32_MAX),
					      st->send_next);
		return 0;
	case QUIC_FRAME_MAX_STREAM_DATA:
		if (quic_stream_max_data_rcv(st, v)) {
			struct quic_stream_max_data md = {
				.id = id,
				.max_data = v,
			};

			quic_inq_event(sk, QUIC_EVENT_STREAM_MAX_DATA, &md,
				       sizeof(md));
		}
		return 0;
	}
	quic_inq_blocked_rcv(sk, st, v);	/* STREAM_DATA_BLOCKED */
	return 0;
}

/* MAX_STREAMS: the peer lets us open more streams of @type.  The event
 * carries the largest stream ID now allowed, as the reference reports it.
 */
static void quic_frame_max_streams(struct sock *sk, u8 type, u64 max)
{
	u64 ev;

	if (!quic_stream_max_streams_rcv(sk, type, max))
		return;
	ev = ((max - 1) << 2) | (type ? QUIC_STREAM_TYPE_UNI_MASK : 0) |
	     (quic_is_serv(sk) ? QUIC_STREAM_TYPE_SERVER_MASK : 0);
	quic_inq_event(sk, QUIC_EVENT_STREAM_MAX_STREAM, &ev, sizeof(ev));
}

/* MAX_DATA, MAX_STREAMS, DATA_BLOCKED, STREAMS_BLOCKED */
static int quic_frame_conn_ctl(struct sock *sk, u64 type,
			       struct quic_reader *r)
{
	u64 v;

	if (!quic_get_varint(r, &v))
		return -EINVAL;
	switch (type) {
	case QUIC_FRAME_MAX_DATA:
		quic_streams_max_data_rcv(sk, v);
		return 0;
	case QUIC_FRAME_MAX_STREAMS_BIDI:
	case QUIC_FRAME_MAX_STREAMS_UNI:
	case QUIC_FRAME_STREAMS_BLOCKED_BIDI:
	case QUIC_FRAME_STREAMS_BLOCKED_UNI:
		if (v > (1ULL << 60)) {	/* RFC 9000 19.11 */
			quic_conn_error(sk, QUIC_TRANSPORT_ERROR_FRAME_ENCODING,
					type);
			return -EPROTO;
		}
		if (type == QUIC_FRAME_MAX_STREAMS_BIDI ||
		    type == QUIC_FRAME_MAX_STREAMS_UNI)
			quic_frame_max_streams(sk, type -
					       QUIC_FRAME_MAX_STREAMS_BIDI, v);
		return 0;
	case QUIC_FRAME_DATA_BLOCKED:
		quic_inq_blocked_rcv(sk, NULL, v);
		return 0;
	}
	return 0;
}

/* DATAGRAM (RFC 9221 4): only if we announced max_datagram_frame_size. */
static int quic_frame_datagram(struct sock *sk, u64 type, struct quic_reader *r)
{
	const u8 *start = r->p - 1, *data;
	u64 len;

	if (type == QUIC_FRAME_DATAGRAM_LEN) {
		if (!quic_get_varint(r, &len))
			return -EINVAL;
	} else {
		len = quic_reader_left(r);
	}
	if (!quic_get_bytes(r, &data, len))
		return -EINVAL;
	if (!quic_sk(sk)->local_tp.max_datagram_frame_size ||
	    r->p - start > quic_sk(sk)->local_tp.max_datagram_frame_size) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
				type);
		return -EPROTO;
	}
	return quic_inq_dgram_rcv(sk, data, len);
}

/* A frame only the server may send arrived at a server, or the reverse. */
static int quic_frame_wrong_side(struct sock *sk, u64 type)
{
	quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION, type);
	return -EPROTO;
}

/* NEW_TOKEN: kept for the user (TOKEN sockopt) and reported. */
static int quic_frame_new_token(struct sock *sk, u64 type,
				struct quic_reader *r)
{
	struct quic_sock *qs = quic_sk(sk);
	const u8 *p;
	u64 v;

	if (!quic_get_varint(r, &v) || !v || !quic_get_bytes(r, &p, v))
		return -EINVAL;
	if (quic_is_serv(sk))
		return quic_frame_wrong_side(sk, type);
	if (v <= QUIC_USER_TOKEN_MAX) {
		memcpy(qs->token, p, v);
		qs->token_len = v;
		quic_inq_event(sk, QUIC_EVENT_NEW_TOKEN, p, v);
	}
	return 0;
}

/* PATH_CHALLENGE and PATH_RESPONSE: path validation's. */
static int quic_frame_path(struct sock *sk, u64 type, struct quic_reader *r)
{
	const u8 *p;

	if (!quic_get_bytes(r, &p, 8))
		return -EINVAL;
	if (type == QUIC_FRAME_PATH_CHALLENGE)
		quic_path_challenge_rcv(sk, p);
	else
		quic_path_response_rcv(sk, p);
	return 0;
}

/* One frame of @type, its type already read from @r.  Returns 0, -EINVAL
 * for a malformed frame (the caller closes with FRAME_ENCODING_ERROR), or
 * another negative errno once the connection is closed.
 */
static int quic_frame_handle(struct sock *sk, u8 level, u64 type,
			     struct quic_reader *r)
{
	u64 v;

	switch (type) {
	case QUIC_FRAME_PADDING:
		while (r->p < r->end && !*r->p)
			r->p++;
		return 0;
	case QUIC_FRAME_PING:
		return 0;
	case QUIC_FRAME_ACK:
	case QUIC_FRAME_ACK_ECN:
		return quic_frame_ack(sk, level, type, r);
	case QUIC_FRAME_CRYPTO:
		return quic_frame_crypto(sk, level, r);
	case QUIC_FRAME_NEW_TOKEN:
		return quic_frame_new_token(sk, type, r);
	case QUIC_FRAME_NEW_CONNECTION_ID:
		return quic_frame_new_cid(sk, r);
	case QUIC_FRAME_RETIRE_CONNECTION_ID:
		if (!quic_get_varint(r, &v))
			return -EINVAL;
		return quic_conn_retire_scid(sk, v);
	case QUIC_FRAME_PATH_CHALLENGE:
	case QUIC_FRAME_PATH_RESPONSE:
		return quic_frame_path(sk, type, r);
	case QUIC_FRAME_CONNECTION_CLOSE:
	case QUIC_FRAME_CONNECTION_CLOSE_APP:
		return quic_frame_close(sk, type, r);	/* -ECONNRESET: closed */
	case QUIC_FRAME_STREAM ... QUIC_FRAME_STREAM + 7:
		return quic_frame_stream(sk, type, r);
	case QUIC_FRAME_RESET_STREAM:
	case QUIC_FRAME_STOP_SENDING:
	case QUIC_FRAME_MAX_STREAM_DATA:
	case QUIC_FRAME_STREAM_DATA_BLOCKED:
		return quic_frame_stream_ctl(sk, type, r);
	case QUIC_FRAME_MAX_DATA:
	case QUIC_FRAME_MAX_STREAMS_BIDI:
	case QUIC_FRAME_MAX_STREAMS_UNI:
	case QUIC_FRAME_DATA_BLOCKED:
	case QUIC_FRAME_STREAMS_BLOCKED_BIDI:
	case QUIC_FRAME_STREAMS_BLOCKED_UNI:
		return quic_frame_conn_ctl(sk, type, r);
	case QUIC_FRAME_DATAGRAM:
	case QUIC_FRAME_DATAGRAM_LEN:
		return quic_frame_datagram(sk, type, r);
	case QUIC_FRAME_HANDSHAKE_DONE:
		if (quic_is_serv(sk))
			return quic_frame_wrong_side(sk, type);
		quic_conn_confirmed(sk);
		return 0;
	}
	return -EINVAL;		/* unknown frame types (RFC 9000 12.4) */
}

/**
 * quic_frame_process - handle the frames of one unprotected packet
 * @sk: the connection (locked)
 * @level: encryption level the packet arrived at
 * @payload: the frames
 * @len: their length (non-zero)
 * @ack_eliciting: out: the packet needs to be acknowledged
 * @non_probing: out: the packet has frames other than the probing ones
 *	(RFC 9000 9.1: only such a packet moves the peer)
 *
 * Return: 0, or a negative errno once the connection has been closed (by
 * the peer or because of an error, which this function reports).
 */
int quic_frame_process(struct sock *sk, u8 level, const u8 *payload, u32 len,
		       bool *ack_eliciting, bool *non_probing)
{
	struct quic_reader r = { payload, payload + len };
	u64 type;
	int err;

	*non_probing = false;
	while (r.p < r.end) {
		if (!quic_get_varint(&r, &type)) {
			type = 0;
			goto enc_err;
		}
		if (!quic_frame_allowed(level, type)) {
			quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
					type);
			return -EPROTO;
		}
		if (type != QUIC_FRAME_PADDING && type != QUIC_FRAME_ACK &&
		    type != QUIC_FRAME_ACK_ECN &&
		    type != QUIC_FRAME_CONNECTION_CLOSE &&
		    type != QUIC_FRAME_CONNECTION_CLOSE_APP)
			*ack_eliciting = true;
		/* RFC 9000 9.1: probing frames do not move the peer */
		if (type != QUIC_FRAME_PADDING &&
		    type != QUIC_FRAME_NEW_CONNECTION_ID &&
		    type != QUIC_FRAME_PATH_CHALLENGE &&
		    type != QUIC_FRAME_PATH_RESPONSE)
			*non_probing = true;
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_FRM_RCV);

		err = quic_frame_handle(sk, level, type, &r);
		if (err == -EINVAL)
			goto enc_err;
		if (err)
			return err;
		if (sk->sk_state == QUIC_SS_CLOSED)
			return -EPIPE;
	}
	return 0;

enc_err:
	quic_conn_error(sk, QUIC_TRANSPORT_ERROR_FRAME_ENCODING, type);
	return -EPROTO;
}

/* ---- tracing ----------------------------------------------------------
 *
 * What the frame tracepoints report: each frame of a plaintext payload
 * decoded on its own (bounds-checked like the handlers, but without
 * acting on it), only while a frame tracepoint is enabled.
 */

/* The ACK ranges after the first: as many as the trace shows are kept. */
static bool quic_trace_ack_ranges(struct quic_reader *r,
				  struct quic_trace_frame *f, u64 count)
{
	u64 gap, len, i, smallest = f->ranges[0][0], largest;

	for (i = 0; i < count; i++) {
		if (!quic_get_varint(r, &gap) || !quic_get_varint(r, &len) ||
		    smallest < gap + 2 + len)
			return false;
		largest = smallest - gap - 2;
		smallest = largest - len;
		if (i + 1 < QUIC_TRACE_ACK_RANGES) {
			f->ranges[i + 1][0] = smallest;
			f->ranges[i + 1][1] = largest;
		}
	}
	return true;
}

static bool quic_trace_ack(struct quic_reader *r, struct quic_trace_frame *f)
{
	u64 count, first, ecn;
	int i;

	if (!quic_get_varint(r, &f->largest) ||
	    !quic_get_varint(r, &f->delay_us) ||
	    !quic_get_varint(r, &count) || !quic_get_varint(r, &first) ||
	    first > f->largest)
		return false;
	f->nr_ranges = count + 1;
	f->ranges[0][0] = f->largest - first;
	f->ranges[0][1] = f->largest;
	if (!quic_trace_ack_ranges(r, f, count))
		return false;
	if (f->type == QUIC_FRAME_ACK_ECN)
		for (i = 0; i < QUIC_ECN_COUNTS; i++)
			if (!quic_get_varint(r, &ecn))
				return false;
	return true;
}

/* STREAM (RFC 9000 19.8): OFF 0x04, LEN 0x02, FIN 0x01 */
static bool quic_trace_stream(struct quic_reader *r, struct quic_trace_frame *f)
{
	const u8 *data;
	u64 id;

	if (!quic_get_varint(r, &id) ||
	    ((f->type & 0x04) && !quic_get_varint(r, &f->offset)))
		return false;
	f->id = id;
	f->fin = f->type & 0x01;
	if (!(f->type & 0x02))
		f->len = quic_reader_left(r);
	else if (!quic_get_varint(r, &f->len))
		return false;
	return quic_get_bytes(r, &data, f->len);
}

/* Frames of a stream ID and a value, or just a value */
static bool quic_trace_id_value(struct quic_reader *r,
				struct quic_trace_frame *f, bool has_id)
{
	u64 id;

	if (has_id) {
		if (!quic_get_varint(r, &id))
			return false;
		f->id = id;
	}
	return quic_get_varint(r, &f->value);
}

static bool quic_trace_other(struct quic_reader *r, struct quic_trace_frame *f)
{
	const u8 *data;
	u64 v;
	u8 n;

	switch (f->type) {
	case QUIC_FRAME_CRYPTO:
		return quic_get_varint(r, &f->offset) &&
		       quic_get_varint(r, &f->len) &&
		       quic_get_bytes(r, &data, f->len);
	case QUIC_FRAME_NEW_TOKEN:
		return quic_get_varint(r, &f->len) &&
		       quic_get_bytes(r, &data, f->len);
	case QUIC_FRAME_NEW_CONNECTION_ID:
		return quic_get_varint(r, &f->value) &&
		       quic_get_varint(r, &v) && quic_get_u8(r, &n) &&
		       quic_get_bytes(r, &data, n + QUIC_RESET_TOKEN_LEN);
	case QUIC_FRAME_PATH_CHALLENGE:
	case QUIC_FRAME_PATH_RESPONSE:
		return quic_get_bytes(r, &data, 8);
	case QUIC_FRAME_CONNECTION_CLOSE:
	case QUIC_FRAME_CONNECTION_CLOSE_APP:
		if (!quic_get_varint(r, &f->value) ||
		    (f->type == QUIC_FRAME_CONNECTION_CLOSE &&
		     !quic_get_varint(r, &v)))
			return false;
		return quic_get_varint(r, &v) && quic_get_bytes(r, &data, v);
	case QUIC_FRAME_DATAGRAM:
		f->len = quic_reader_left(r);
		return quic_get_bytes(r, &data, f->len);
	case QUIC_FRAME_DATAGRAM_LEN:
		return quic_get_varint(r, &f->len) &&
		       quic_get_bytes(r, &data, f->len);
	}
	return false;	/* a type we do not know */
}

/* Decode the frame at @r into @f and move past it; false if it is
 * malformed or unknown (@f then has what could be read).
 */
static bool quic_trace_describe(struct quic_reader *r,
				struct quic_trace_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->id = -1;
	if (!quic_get_varint(r, &f->type))
		return false;
	switch (f->type) {
	case QUIC_FRAME_PADDING:
		for (f->len = 1; r->p < r->end && !*r->p; r->p++)
			f->len++;
		return true;
	case QUIC_FRAME_PING:
	case QUIC_FRAME_HANDSHAKE_DONE:
		return true;
	case QUIC_FRAME_ACK:
	case QUIC_FRAME_ACK_ECN:
		return quic_trace_ack(r, f);
	case QUIC_FRAME_STREAM ... QUIC_FRAME_STREAM + 7:
		return quic_trace_stream(r, f);
	case QUIC_FRAME_RESET_STREAM:
		return quic_trace_id_value(r, f, true) &&
		       quic_get_varint(r, &f->offset);
	case QUIC_FRAME_STOP_SENDING:
	case QUIC_FRAME_MAX_STREAM_DATA:
	case QUIC_FRAME_STREAM_DATA_BLOCKED:
		return quic_trace_id_value(r, f, true);
	case QUIC_FRAME_MAX_DATA:
	case QUIC_FRAME_MAX_STREAMS_BIDI:
	case QUIC_FRAME_MAX_STREAMS_UNI:
	case QUIC_FRAME_DATA_BLOCKED:
	case QUIC_FRAME_STREAMS_BLOCKED_BIDI:
	case QUIC_FRAME_STREAMS_BLOCKED_UNI:
	case QUIC_FRAME_RETIRE_CONNECTION_ID:
		return quic_trace_id_value(r, f, false);
	}
	return quic_trace_other(r, f);
}

/**
 * quic_frame_trace - report the frames of a packet to the frame tracepoints
 * @sk: the connection
 * @level: the packet's encryption level
 * @pn: its packet number
 * @payload: its frames, unprotected
 * @len: their length
 * @sent: a packet we send (quic_frame_sent), or one received
 *	(quic_frame_recv, before its frames are handled)
 *
 * The walk stops at a frame that cannot be decoded, after reporting it.
 * Callers check trace_quic_frame_{sent,recv}_enabled() first.
 *
 * Return: true if one of the frames is ack-eliciting.
 */
bool quic_frame_trace(struct sock *sk, u8 level, s64 pn, const u8 *payload,
		      u32 len, bool sent)
{
	struct quic_reader r = { payload, payload + len };
	const struct quic_tp *tp;
	struct quic_trace_frame f;
	bool ok, eliciting = false;

	/* ACK Delay is in units of the sender's exponent (RFC 9000 18.2) */
	tp = sent ? &quic_sk(sk)->local_tp : &quic_sk(sk)->remote_tp;
	while (r.p < r.end) {
		ok = quic_trace_describe(&r, &f);
		if (f.type == QUIC_FRAME_ACK || f.type == QUIC_FRAME_ACK_ECN)
			f.delay_us = f.delay_us > (U64_MAX >> tp->ack_delay_exponent) ?
				     U64_MAX : f.delay_us << tp->ack_delay_exponent;
		else if (f.type != QUIC_FRAME_PADDING &&
			 f.type != QUIC_FRAME_CONNECTION_CLOSE &&
			 f.type != QUIC_FRAME_CONNECTION_CLOSE_APP)
			eliciting = true;
		if (sent)
			trace_quic_frame_sent(sk, level, pn, &f);
		else
			trace_quic_frame_recv(sk, level, pn, &f);
		if (!ok)
			break;
	}
	return eliciting;
}

/* ---- encoding ---------------------------------------------------------
 *
 * Each quic_frame_put_*() writes one frame at @p and returns its end; the
 * caller has checked the room (quic_frame_*_len() where the size depends
 * on the values).
 */

/**
 * quic_frame_put_ack - an ACK frame (RFC 9000 19.3)
 * @p: where to write
 * @room: the bytes free at @p
 * @ranges: the received ranges, descending
 * @nr: their number
 * @delay: the encoded ACK Delay
 * @ecn: the ECT(0), ECT(1) and CE counts: an ACK_ECN frame; or NULL
 *
 * As many ranges as fit in @room are written, at most 64.
 *
 * Return: the end, or @p when nothing fits or there is nothing to ACK.
 */
u8 *quic_frame_put_ack(u8 *p, u32 room, const struct quic_ack_range *ranges,
		       u32 nr, u64 delay, const u64 *ecn)
{
	u8 *start = p, *count;
	s64 smallest;
	u32 i;

	if (ecn) {	/* three varints of at most 8 bytes at the end */
		if (room < 32 + 24)
			return p;
		room -= 24;
	}
	if (room < 32 || !nr)
		return p;
	p = quic_put_varint(p, ecn ? QUIC_FRAME_ACK_ECN : QUIC_FRAME_ACK);
	p = quic_put_varint(p, ranges[0].end);
	p = quic_put_varint(p, delay);
	count = p;
	p = quic_put_varint(p, 0);	/* range count, patched below */
	p = quic_put_varint(p, ranges[0].end - ranges[0].start);
	smallest = ranges[0].start;
	for (i = 1; i < nr && i < 64; i++) {
		if ((u32)(p - start) + 16 > room)
			break;
		p = quic_put_varint(p, smallest - ranges[i].end - 2);
		p = quic_put_varint(p, ranges[i].end - ranges[i].start);
		smallest = ranges[i].start;
	}
	*count = i - 1;		/* < 64: a one-byte varint */
	if (ecn)
		for (i = 0; i < QUIC_ECN_COUNTS; i++)
			p = quic_put_varint(p, ecn[i]);
	return p;
}

/**
 * quic_frame_put_int - a frame of one integer: MAX_DATA, MAX_STREAMS,
 *	DATA_BLOCKED, STREAMS_BLOCKED, RETIRE_CONNECTION_ID
 * @p: where to write (1 + 8 bytes)
 * @type: the frame type
 * @v: the value
 *
 * Return: the end.
 */
u8 *quic_frame_put_int(u8 *p, u8 type, u64 v)
{
	*p++ = type;
	return quic_put_varint(p, v);
}

/**
 * quic_frame_put_stream_int - a frame of a stream ID and one integer:
 *	STOP_SENDING, MAX_STREAM_DATA, STREAM_DATA_BLOCKED
 * @p: where to write (1 + 2 * 8 bytes)
 * @type: the frame type
 * @id: the stream
 * @v: the value
 *
 * Return: the end.
 */
u8 *quic_frame_put_stream_int(u8 *p, u8 type, s64 id, u64 v)
{
	*p++ = type;
	p = quic_put_varint(p, id);
	return quic_put_varint(p, v);
}

/**
 * quic_frame_put_reset_stream - RESET_STREAM (RFC 9000 19.4)
 * @p: where to write (1 + 3 * 8 bytes)
 * @id: the stream
 * @errcode: the application error code
 * @final: the final size
 *
 * Return: the end.
 */
u8 *quic_frame_put_reset_stream(u8 *p, s64 id, u64 errcode, u64 final)
{
	p = quic_frame_put_stream_int(p, QUIC_FRAME_RESET_STREAM, id, errcode);
	return quic_put_varint(p, final);
}

/**
 * quic_frame_datagram_len - size of a DATAGRAM frame with a Length field
 * @len: the payload length
 *
 * Return: the bytes quic_frame_put_datagram() writes for @len bytes.
 */
u32 quic_frame_datagram_len(u32 len)
{
	return 1 + quic_varint_len(len) + len;
}

/**
 * quic_frame_put_datagram - DATAGRAM with a Length field (RFC 9221 4)
 * @p: where to write (quic_frame_datagram_len())
 * @data: the payload
 * @len: its length
 *
 * Return: the end.
 */
u8 *quic_frame_put_datagram(u8 *p, const void *data, u32 len)
{
	*p++ = QUIC_FRAME_DATAGRAM_LEN;
	p = quic_put_varint(p, len);
	return quic_put_data(p, data, len);
}

/**
 * quic_frame_stream_len - size of a STREAM frame with a Length field
 * @id: the stream
 * @off: the offset of the data (no Offset field when 0)
 * @len: the number of data bytes
 *
 * Return: the bytes quic_frame_put_stream() writes for @len bytes of
 * stream @id at @off.
 */
u32 quic_frame_stream_len(s64 id, u64 off, u32 len)
{
	u32 n = 1 + quic_varint_len(id) + quic_varint_len(len) + len;

	return off ? n + quic_varint_len(off) : n;
}

/**
 * quic_frame_put_stream - STREAM with a Length field (RFC 9000 19.8)
 * @p: where to write (quic_frame_stream_len())
 * @id: the stream
 * @off: the offset of @data (no Offset field when 0)
 * @fin: the data ends the stream
 * @data: the bytes
 * @len: their number
 *
 * Return: the end.
 */
u8 *quic_frame_put_stream(u8 *p, s64 id, u64 off, bool fin, const void *data,
			  u32 len)
{
	u8 type = QUIC_FRAME_STREAM | 0x02;

	if (off)
		type |= 0x04;
	if (fin)
		type |= 0x01;
	*p++ = type;
	p = quic_put_varint(p, id);
	if (off)
		p = quic_put_varint(p, off);
	p = quic_put_varint(p, len);
	return quic_put_data(p, data, len);
}

/**
 * quic_frame_crypto_len - size of a CRYPTO frame
 * @off: the offset of the data in the crypto stream
 * @len: the number of data bytes
 *
 * Return: the bytes quic_frame_put_crypto() writes for @len bytes at @off.
 */
u32 quic_frame_crypto_len(u64 off, u32 len)
{
	return 1 + quic_varint_len(off) + quic_varint_len(len) + len;
}

/**
 * quic_frame_put_crypto - CRYPTO (RFC 9000 19.6)
 * @p: where to write (quic_frame_crypto_len())
 * @off: the offset of @data in the level's handshake stream
 * @data: the bytes
 * @len: their number
 *
 * Return: the end.
 */
u8 *quic_frame_put_crypto(u8 *p, u64 off, const void *data, u32 len)
{
	*p++ = QUIC_FRAME_CRYPTO;
	p = quic_put_varint(p, off);
	p = quic_put_varint(p, len);
	return quic_put_data(p, data, len);
}

/**
 * quic_frame_new_token_len - size of a NEW_TOKEN frame
 * @len: the token length
 *
 * Return: the bytes quic_frame_put_new_token() writes for the token.
 */
u32 quic_frame_new_token_len(u32 len)
{
	return 1 + quic_varint_len(len) + len;
}

/**
 * quic_frame_put_new_token - NEW_TOKEN (RFC 9000 19.7)
 * @p: where to write (quic_frame_new_token_len())
 * @token: the token
 * @len: its length
 *
 * Return: the end.
 */
u8 *quic_frame_put_new_token(u8 *p, const u8 *token, u32 len)
{
	*p++ = QUIC_FRAME_NEW_TOKEN;
	p = quic_put_varint(p, len);
	return quic_put_data(p, token, len);
}

/**
 * quic_frame_put_path - PATH_CHALLENGE or PATH_RESPONSE (RFC 9000 19.17)
 * @p: where to write (9 bytes)
 * @type: the frame type
 * @data: the 8 bytes of data
 *
 * Return: the end.
 */
u8 *quic_frame_put_path(u8 *p, u8 type, const u8 *data)
{
	*p++ = type;
	return quic_put_data(p, data, 8);
}

/**
 * quic_frame_put_new_cid - NEW_CONNECTION_ID (RFC 9000 19.15)
 * @p: where to write (at most 1 + 2 * 8 + 1 + 20 + 16 bytes)
 * @seq: the sequence number
 * @prior: Retire Prior To
 * @cid: the connection ID
 * @len: its length
 * @token: the stateless reset token (QUIC_RESET_TOKEN_LEN bytes)
 *
 * Return: the end.
 */
u8 *quic_frame_put_new_cid(u8 *p, u64 seq, u64 prior, const u8 *cid, u8 len,
			   const u8 *token)
{
	*p++ = QUIC_FRAME_NEW_CONNECTION_ID;
	p = quic_put_varint(p, seq);
	p = quic_put_varint(p, prior);
	*p++ = len;
	p = quic_put_data(p, cid, len);
	return quic_put_data(p, token, QUIC_RESET_TOKEN_LEN);
}

/**
 * quic_frame_put_close - CONNECTION_CLOSE (RFC 9000 19.19)
 * @p: where to write (1 + 3 * 8 + @plen bytes)
 * @app: the application variant (0x1d), without a Frame Type field
 * @errcode: the error code
 * @frame: the frame type that caused a transport error
 * @phrase: the reason phrase
 * @plen: its length
 *
 * Return: the end.
 */
u8 *quic_frame_put_close(u8 *p, bool app, u64 errcode, u64 frame,
			 const void *phrase, u32 plen)
{
	*p++ = app ? QUIC_FRAME_CONNECTION_CLOSE_APP :
		     QUIC_FRAME_CONNECTION_CLOSE;
	p = quic_put_varint(p, errcode);
	if (!app)
		p = quic_put_varint(p, frame);
	p = quic_put_varint(p, plen);
	return quic_put_data(p, phrase, plen);
}
