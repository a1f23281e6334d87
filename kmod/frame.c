// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: frame decoding and handling (RFC 9000 section 19).
 *
 * Every frame is parsed with bounds checks; a malformed one closes the
 * connection with FRAME_ENCODING_ERROR, a frame not allowed in its packet
 * type with PROTOCOL_VIOLATION (RFC 9000 12.4).
 */

#include <net/sock.h>

#include "protocol.h"
#include "socket.h"
#include "frame.h"
#include "connection.h"
#include <trace/events/quic.h>

#define QUIC_ACK_RANGES_PARSE	64

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
	u64 largest, delay, count, first, gap, len, i, ecn;
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
		for (i = 0; i < 3; i++)
			if (!quic_get_varint(r, &ecn))
				return -EINVAL;
	}
	return quic_outq_ack_rcv(sk, quic_level_space(level), ranges, nr, delay);
}

static int quic_frame_crypto(struct sock *sk, u8 level, struct quic_reader *r)
{
	u64 off, len;
	const u8 *data;

	if (!quic_get_varint(r, &off) || !quic_get_varint(r, &len) ||
	    !quic_get_bytes(r, &data, len))
		return -EINVAL;
	if (off + len > QUIC_VARINT_MAX) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_FRAME_ENCODING,
				QUIC_FRAME_CRYPTO);
		return -EPROTO;
	}
	return quic_inq_crypto_rcv(sk, level, off, data, len);
}

static int quic_frame_new_cid(struct sock *sk, struct quic_reader *r)
{
	struct quic_sock *qs = quic_sk(sk);
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
	if (!qs->dcid.len) {
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

static int quic_frame_stream(struct sock *sk, u64 type, struct quic_reader *r)
{
	u64 id, off = 0, len;
	struct quic_stream *st;
	const u8 *data;
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
	err = quic_stream_recv_get(sk, id, true, type, &st);
	if (err)
		return err;
	return quic_inq_stream_rcv(sk, st, off, data, len, type & 0x01);
}

/* RESET_STREAM, STOP_SENDING, MAX_STREAM_DATA, STREAM_DATA_BLOCKED */
static int quic_frame_stream_ctl(struct sock *sk, u64 type,
				 struct quic_reader *r)
{
	struct quic_stream *st;
	u64 id, v, final = 0;
	int err;

	if (!quic_get_varint(r, &id) || !quic_get_varint(r, &v))
		return -EINVAL;
	if (type == QUIC_FRAME_RESET_STREAM && !quic_get_varint(r, &final))
		return -EINVAL;
	if (type == QUIC_FRAME_MAX_STREAM_DATA)
		return quic_stream_max_data_rcv(sk, id, v);
	err = quic_stream_recv_get(sk, id, type != QUIC_FRAME_STOP_SENDING,
				   type, &st);
	if (err || !st)
		return err;
	switch (type) {
	case QUIC_FRAME_RESET_STREAM:
		return quic_inq_reset_rcv(sk, st, min_t(u64, v, U32_MAX), final);
	case QUIC_FRAME_STOP_SENDING:
		/* RFC 9000 3.5: answer with RESET_STREAM */
		quic_stream_reset(sk, id, min_t(u64, v, U32_MAX), false);
		return 0;
	}
	return 0;	/* STREAM_DATA_BLOCKED: our updates follow reads */
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
		return quic_stream_max_data_rcv(sk, -1, v);
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
			quic_stream_max_streams_rcv(sk, type -
						    QUIC_FRAME_MAX_STREAMS_BIDI, v);
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

/**
 * quic_frame_process - handle the frames of one unprotected packet
 * @sk: the connection (locked)
 * @level: encryption level the packet arrived at
 * @payload: the frames
 * @len: their length (non-zero)
 * @ack_eliciting: out: the packet needs to be acknowledged
 *
 * Return: 0, or a negative errno once the connection has been closed (by
 * the peer or because of an error, which this function reports).
 */
int quic_frame_process(struct sock *sk, u8 level, const u8 *payload, u32 len,
		       bool *ack_eliciting)
{
	struct quic_reader r = { payload, payload + len };
	struct quic_sock *qs = quic_sk(sk);
	u64 type, v;
	const u8 *p;
	int err;

	qs->rx_non_probing = 0;
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
			qs->rx_non_probing = 1;
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_FRM_RCV);
		trace_quic_frame_recv(sk, level, type);

		switch (type) {
		case QUIC_FRAME_PADDING:
			while (r.p < r.end && !*r.p)
				r.p++;
			err = 0;
			break;
		case QUIC_FRAME_PING:
			err = 0;
			break;
		case QUIC_FRAME_ACK:
		case QUIC_FRAME_ACK_ECN:
			err = quic_frame_ack(sk, level, type, &r);
			break;
		case QUIC_FRAME_CRYPTO:
			err = quic_frame_crypto(sk, level, &r);
			break;
		case QUIC_FRAME_NEW_TOKEN:
			if (!quic_get_varint(&r, &v) || !v ||
			    !quic_get_bytes(&r, &p, v)) {
				err = -EINVAL;
				break;
			}
			if (quic_is_serv(sk)) {
				quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
						type);
				return -EPROTO;
			}
			if (v <= QUIC_USER_TOKEN_MAX) {
				memcpy(qs->token, p, v);
				qs->token_len = v;
				quic_inq_event(sk, QUIC_EVENT_NEW_TOKEN, p, v);
			}
			err = 0;
			break;
		case QUIC_FRAME_NEW_CONNECTION_ID:
			err = quic_frame_new_cid(sk, &r);
			break;
		case QUIC_FRAME_RETIRE_CONNECTION_ID:
			if (!quic_get_varint(&r, &v)) {
				err = -EINVAL;
				break;
			}
			err = quic_conn_retire_scid(sk, v);
			break;
		case QUIC_FRAME_PATH_CHALLENGE:
			if (!quic_get_bytes(&r, &p, 8)) {
				err = -EINVAL;
				break;
			}
			quic_path_challenge_rcv(sk, p);
			err = 0;
			break;
		case QUIC_FRAME_PATH_RESPONSE:
			if (!quic_get_bytes(&r, &p, 8)) {
				err = -EINVAL;
				break;
			}
			quic_path_response_rcv(sk, p);
			err = 0;
			break;
		case QUIC_FRAME_CONNECTION_CLOSE:
		case QUIC_FRAME_CONNECTION_CLOSE_APP:
			err = quic_frame_close(sk, type, &r);
			if (err == -ECONNRESET)
				return err;
			break;
		case QUIC_FRAME_STREAM ... QUIC_FRAME_STREAM + 7:
			err = quic_frame_stream(sk, type, &r);
			break;
		case QUIC_FRAME_RESET_STREAM:
		case QUIC_FRAME_STOP_SENDING:
		case QUIC_FRAME_MAX_STREAM_DATA:
		case QUIC_FRAME_STREAM_DATA_BLOCKED:
			err = quic_frame_stream_ctl(sk, type, &r);
			break;
		case QUIC_FRAME_MAX_DATA:
		case QUIC_FRAME_MAX_STREAMS_BIDI:
		case QUIC_FRAME_MAX_STREAMS_UNI:
		case QUIC_FRAME_DATA_BLOCKED:
		case QUIC_FRAME_STREAMS_BLOCKED_BIDI:
		case QUIC_FRAME_STREAMS_BLOCKED_UNI:
			err = quic_frame_conn_ctl(sk, type, &r);
			break;
		case QUIC_FRAME_DATAGRAM:
		case QUIC_FRAME_DATAGRAM_LEN:
			err = quic_frame_datagram(sk, type, &r);
			break;
		case QUIC_FRAME_HANDSHAKE_DONE:
			if (quic_is_serv(sk)) {
				quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
						type);
				return -EPROTO;
			}
			quic_conn_confirmed(sk);
			err = 0;
			break;
		default:	/* unknown frame types (RFC 9000 12.4) */
			err = -EINVAL;
			break;
		}
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
