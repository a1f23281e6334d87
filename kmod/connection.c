// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: connection state.
 *
 * A connection is ESTABLISHING from connect() (client) or accept()
 * (server) until userspace has installed both 1-RTT secrets with
 * QUIC_SOCKOPT_CRYPTO_SECRET; then it is ESTABLISHED.  The server then
 * sends HANDSHAKE_DONE and drops its Handshake keys once that is
 * acknowledged; the client drops them when it receives HANDSHAKE_DONE.
 * Initial keys go when the first Handshake packet is sent (client) or
 * received (server), as RFC 9001 section 4.9 asks.
 *
 * Closing: close()/shutdown() and protocol errors send CONNECTION_CLOSE
 * once and the socket is CLOSED (we do not linger in a closing period);
 * a received CONNECTION_CLOSE starts draining: nothing more is sent.
 */

#include <linux/slab.h>
#include <crypto/utils.h>
#include <net/sock.h>

#include "protocol.h"
#include "socket.h"
#include "packet.h"
#include "connection.h"

static int quic_conn_add_scid(struct sock *sk, const struct quic_conn_id *cid)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_cid_entry *e;
	int i;

	for (i = 0; i < QUIC_SCID_MAX; i++)
		if (!qs->scids[i])
			break;
	if (i == QUIC_SCID_MAX)
		return -ENOSPC;
	e = quic_cid_add(sk, cid, qs->scid_next_seq, NULL);
	if (!e)
		return -EADDRINUSE;
	qs->scids[i] = e;
	qs->scid_next_seq++;
	return i;
}

static void quic_conn_common_init(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	qs->version = qs->config.version ?: QUIC_VERSION_V1;
	quic_rtt_init(&qs->rtt, qs->config.initial_smoothed_rtt);
}

/* connect(): fresh random IDs, Initial keys from the DCID. */
int quic_conn_init_client(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	int err, tries = 3;

	quic_conn_common_init(sk);
	do {
		quic_cid_generate(&qs->scid, QUIC_CID_LEN);
		err = quic_conn_add_scid(sk, &qs->scid);
	} while (err == -EADDRINUSE && --tries);
	if (err < 0)
		return err;
	quic_cid_generate(&qs->dcid, QUIC_CID_LEN);
	qs->odcid = qs->dcid;
	/* keys the stateless reset tokens of the IDs we issue */
	err = quic_token_ctx_init(&qs->token_ctx, NULL);
	if (err)
		return err;

	err = quic_crypto_initial_keys_install(&qs->crypto[QUIC_CRYPTO_INITIAL],
					       qs->dcid.data, qs->dcid.len,
					       qs->version, false);
	if (err)
		return err;
	qs->local_tp.initial_scid.len = qs->scid.len;
	memcpy(qs->local_tp.initial_scid.data, qs->scid.data, qs->scid.len);
	return 0;
}

/* accept(): IDs and version from the client's first Initial. */
int quic_conn_init_server(struct sock *sk, const struct quic_request *req)
{
	struct quic_sock *qs = quic_sk(sk);
	int err, tries = 3;

	quic_conn_common_init(sk);
	qs->version = req->version;
	qs->config.version = req->version;	/* reported by CONFIG get */
	qs->dcid = req->scid;
	qs->odcid = req->dcid;
	do {
		quic_cid_generate(&qs->scid, QUIC_CID_LEN);
		err = quic_conn_add_scid(sk, &qs->scid);
	} while (err == -EADDRINUSE && --tries);
	if (err < 0)
		return err;

	err = quic_crypto_initial_keys_install(&qs->crypto[QUIC_CRYPTO_INITIAL],
					       qs->odcid.data, qs->odcid.len,
					       qs->version, true);
	if (err)
		return err;
	qs->local_tp.initial_scid.len = qs->scid.len;
	memcpy(qs->local_tp.initial_scid.data, qs->scid.data, qs->scid.len);
	qs->local_tp.original_dcid.len = qs->odcid.len;
	memcpy(qs->local_tp.original_dcid.data, qs->odcid.data, qs->odcid.len);
	qs->local_tp.odcid_present = 1;
	return 0;
}

void quic_conn_free(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	int i;

	for (i = 0; i < QUIC_SCID_MAX; i++) {
		quic_cid_del(qs->scids[i]);
		qs->scids[i] = NULL;
	}
	quic_cid_del(qs->odcid_entry);
	qs->odcid_entry = NULL;
	for (i = 0; i < QUIC_CRYPTO_MAX; i++)
		quic_crypto_free(&qs->crypto[i]);
	quic_outq_free(sk);
	kfree_sensitive(qs->ticket);
	qs->ticket = NULL;
	qs->ticket_len = 0;
}

/* ---- keys and establishment ----------------------------------------- */

void quic_conn_discard_space(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);

	if (qs->space[space].discarded)
		return;
	quic_outq_discard_space(sk, space);
	quic_crypto_free(&qs->crypto[quic_space_level(space)]);
	qs->pto_count = 0;
	qs->probe_mask &= ~BIT(space);
	quic_outq_set_loss_timer(sk);
}

static void quic_conn_established(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_conn_id cid;
	int i, n, idx;

	quic_set_state(sk, QUIC_SS_ESTABLISHED);
	/* RFC 9001 4.9.3: no 0-RTT once 1-RTT keys are in use; the server's
	 * 0-RTT data goes to the application now
	 */
	quic_crypto_free(&qs->crypto[QUIC_CRYPTO_EARLY]);
	quic_inq_early_deliver(sk);
	qs->mss = quic_packet_mss(sk);
	quic_cong_init(&qs->cong, qs->config.congestion_control_algo, qs->mss);
	quic_streams_established(sk);
	if (quic_is_serv(sk)) {
		/* RFC 9001 4.1.2: the handshake is confirmed at the server
		 * when it completes; stop resending Handshake data.
		 */
		qs->confirmed = 1;
		qs->hs_done_pending = 1;
		quic_pnspace_free(&qs->space[QUIC_PN_HANDSHAKE]);
		qs->cout[QUIC_PN_HANDSHAKE].sent = qs->cout[QUIC_PN_HANDSHAKE].len;
	}
	/* give the peer spare connection IDs up to its limit */
	n = min_t(u64, qs->remote_tp.active_connection_id_limit, QUIC_SCID_MAX);
	for (i = 1; i < n; i++) {
		quic_cid_generate(&cid, QUIC_CID_LEN);
		idx = quic_conn_add_scid(sk, &cid);
		if (idx < 0)
			break;
		qs->new_cid_pending |= BIT(idx);
	}
	quic_conn_idle_reset(sk);
}

/**
 * quic_conn_set_secret - QUIC_SOCKOPT_CRYPTO_SECRET
 * @sk: the connection (locked)
 * @srt: the secret
 *
 * Return: 0 or a negative errno.
 */
int quic_conn_set_secret(struct sock *sk, const struct quic_crypto_secret *srt)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_crypto *c;
	u8 space;
	int err;

	if (srt->level != QUIC_CRYPTO_APP && srt->level != QUIC_CRYPTO_HANDSHAKE &&
	    srt->level != QUIC_CRYPTO_EARLY)
		return -EINVAL;
	/* The peer may close right after its last flight, before our TLS
	 * stack has caught up: let the handshake finish (as accept() may
	 * return a TCP connection the peer already closed); recvmsg() then
	 * reports the close.
	 */
	if (sk->sk_state == QUIC_SS_CLOSED && qs->draining)
		return 0;
	if (sk->sk_state != QUIC_SS_ESTABLISHING)
		return -EINVAL;
	/* 0-RTT keys: the client sends with them, the server receives */
	if (srt->level == QUIC_CRYPTO_EARLY &&
	    ((quic_is_serv(sk) ? srt->send : !srt->send) ||
	     qs->crypto[QUIC_CRYPTO_APP].tx_ready ||
	     qs->crypto[QUIC_CRYPTO_APP].rx_ready))
		return -EINVAL;
	space = quic_level_space(srt->level);
	if (qs->space[space].discarded)
		return -EINVAL;
	c = &qs->crypto[srt->level];
	err = quic_crypto_set_secret(c, srt, qs->version);
	if (err)
		return err;
	if (!srt->send)
		quic_packet_process_pending(sk, space);
	if (sk->sk_state == QUIC_SS_ESTABLISHING && srt->level == QUIC_CRYPTO_APP &&
	    c->tx_ready && c->rx_ready)
		quic_conn_established(sk);
	quic_outq_flush(sk);
	return 0;
}

/* The client got HANDSHAKE_DONE; the server's HANDSHAKE_DONE was acked. */
void quic_conn_confirmed(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	qs->confirmed = 1;
	quic_conn_discard_space(sk, QUIC_PN_HANDSHAKE);
}

/* ---- transport parameters ------------------------------------------- */

int quic_conn_get_tp_ext(struct sock *sk, u8 *buf, u32 size)
{
	struct quic_sock *qs = quic_sk(sk);

	qs->local_tp.chosen_version = qs->version ?: qs->config.version;
	if (quic_is_serv(sk) && qs->local_tp.stateless_reset &&
	    qs->token_ctx.hmac)
		quic_stateless_reset_token(&qs->token_ctx, qs->scid.data,
					   qs->scid.len,
					   qs->local_tp.stateless_reset_token);
	return quic_tp_encode(&qs->local_tp, quic_is_serv(sk), buf, size);
}

static bool quic_tp_cid_equal(const struct quic_tp_cid *a,
			      const struct quic_conn_id *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/**
 * quic_conn_set_tp_ext - parse the peer's transport parameters extension
 * @sk: the connection (locked, ESTABLISHING)
 * @buf: the extension body
 * @len: its length
 *
 * On failure the connection is closed with TRANSPORT_PARAMETER_ERROR (or
 * VERSION_NEGOTIATION_ERROR) and the error returned.
 */
int quic_conn_set_tp_ext(struct sock *sk, const u8 *buf, u32 len)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_tp *tp;
	int err;

	tp = kzalloc(sizeof(*tp), GFP_KERNEL);
	if (!tp)
		return -ENOMEM;
	err = quic_tp_decode(tp, quic_is_serv(sk), qs->version, buf, len);
	if (err == -ENOMEM)
		goto out;
	if (err == -EPROTONOSUPPORT) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_VERSION_NEGOTIATION, 0);
		goto out;
	}
	/* RFC 9000 7.3: the IDs must match what the packets carried */
	if (!err && !quic_tp_cid_equal(&tp->initial_scid, &qs->dcid))
		err = -EINVAL;
	if (!err && !quic_is_serv(sk) &&
	    (!quic_tp_cid_equal(&tp->original_dcid, &qs->odcid) ||
	     tp->retry_scid_present))
		err = -EINVAL;
	if (err) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_TRANSPORT_PARAM, 0);
		goto out;
	}
	if (!quic_is_serv(sk) && qs->early_used &&
	    quic_tp_early_reduced(&qs->remote_tp, tp)) {
		/* RFC 9000 7.4.1: what 0-RTT used may not be taken back */
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION, 0);
		err = -EPROTO;
		goto out;
	}
	if (!quic_is_serv(sk) && qs->early_ok && !qs->early_used)
		quic_streams_early_reset(sk);
	qs->remote_tp = *tp;
	qs->rtp_set = 1;
	quic_streams_established(sk);
	quic_conn_idle_reset(sk);
out:
	kfree(tp);
	return err;
}

/* ---- connection IDs --------------------------------------------------- */

int quic_conn_new_dcid(struct sock *sk, u64 seq, u64 prior, const u8 *cid,
		       u8 len, const u8 *token)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_dcid_entry *d;
	int i;

	for (i = 0; i < qs->dcid_count; i++)
		if (qs->dcids[i].seq == seq)
			return 0;	/* a repeat */
	/* IDs below Retire Prior To no longer count towards the limit
	 * (we do not use spare IDs yet, so there is nothing to switch)
	 */
	for (i = 0; i < qs->dcid_count;) {
		if (qs->dcids[i].seq < prior) {
			qs->dcids[i] = qs->dcids[--qs->dcid_count];
			continue;
		}
		i++;
	}
	if (seq < prior)
		return 0;
	/* the one in use counts towards our limit too */
	if (qs->dcid_count + 1 >= qs->local_tp.active_connection_id_limit ||
	    qs->dcid_count >= QUIC_DCID_MAX) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_CONNECTION_ID_LIMIT,
				0x18);
		return -EPROTO;
	}
	d = &qs->dcids[qs->dcid_count++];
	d->seq = seq;
	quic_cid_set(&d->cid, cid, len);
	memcpy(d->token, token, QUIC_RESET_TOKEN_LEN);
	return 0;
}

int quic_conn_retire_scid(struct sock *sk, u64 seq)
{
	struct quic_sock *qs = quic_sk(sk);
	int i, live = 0;

	if (seq >= qs->scid_next_seq) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
				0x19);
		return -EPROTO;
	}
	for (i = 0; i < QUIC_SCID_MAX; i++)
		live += !!qs->scids[i];
	for (i = 0; i < QUIC_SCID_MAX; i++) {
		if (qs->scids[i] && qs->scids[i]->seq == seq && live > 1) {
			quic_cid_del(qs->scids[i]);
			qs->scids[i] = NULL;
			qs->new_cid_pending &= ~BIT(i);
		}
	}
	return 0;
}

/* ---- idle timeout and closing ----------------------------------------- */

void quic_conn_idle_reset(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u64 t = qs->local_tp.max_idle_timeout, pto3;

	if (qs->rtp_set && qs->remote_tp.max_idle_timeout &&
	    (!t || qs->remote_tp.max_idle_timeout < t))
		t = qs->remote_tp.max_idle_timeout;
	qs->idle_timeout = t;
	if (!t)
		return;
	pto3 = 3 * (u64)quic_rtt_pto(&qs->rtt);	/* RFC 9000 10.1 */
	quic_timer_reset(sk, QUIC_TIMER_IDLE, max(t, pto3));
}

static void quic_conn_set_closed(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	quic_set_state(sk, QUIC_SS_CLOSED);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	quic_timer_stop_all(sk);
	quic_outq_free(sk);
	qs->hs_done_pending = 0;
	qs->new_cid_pending = 0;
}

/**
 * quic_conn_is_stateless_reset - does an unopenable packet end in one of
 *	the peer's stateless reset tokens (RFC 9000 10.3.1)?
 * @sk: the connection
 * @data: the packet (the rest of the datagram)
 * @len: its length
 */
bool quic_conn_is_stateless_reset(struct sock *sk, const u8 *data, u32 len)
{
	struct quic_sock *qs = quic_sk(sk);
	const u8 *tail = data + len - QUIC_RESET_TOKEN_LEN;
	int i;

	if (len < 21)	/* RFC 9000 10.3: at least 21 bytes */
		return false;
	if (qs->rtp_set && qs->remote_tp.stateless_reset &&
	    !crypto_memneq(tail, qs->remote_tp.stateless_reset_token,
			   QUIC_RESET_TOKEN_LEN))
		return true;
	for (i = 0; i < qs->dcid_count; i++)
		if (!crypto_memneq(tail, qs->dcids[i].token, QUIC_RESET_TOKEN_LEN))
			return true;
	return false;
}

/* The peer lost its state: the connection is gone, nothing is sent. */
void quic_conn_reset(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	qs->draining = 1;
	WRITE_ONCE(sk->sk_err, ECONNRESET);
	quic_conn_set_closed(sk);
	sk_error_report(sk);
}

void quic_conn_idle_timeout(struct sock *sk)
{
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_IDLETIMEOUTS);
	WRITE_ONCE(sk->sk_err, ETIMEDOUT);
	quic_conn_set_closed(sk);
	sk_error_report(sk);
}

/**
 * quic_conn_error - close the connection for a transport error
 * @sk: the connection (locked)
 * @errcode: QUIC_TRANSPORT_ERROR_*
 * @frame: type of the offending frame, 0 if none
 */
void quic_conn_error(struct sock *sk, u32 errcode, u64 frame)
{
	struct quic_sock *qs = quic_sk(sk);

	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		return;
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_PROTOERRORS);
	qs->close_errcode = errcode;
	qs->close_frame = frame;
	qs->close_app = 0;
	qs->closing = 1;
	quic_outq_send_close(sk);
	WRITE_ONCE(sk->sk_err, ECONNABORTED);
	quic_conn_set_closed(sk);
	sk_error_report(sk);
}

void quic_conn_peer_close(struct sock *sk, u64 errcode, u64 frame,
			  const u8 *phrase, u64 len, bool app)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_connection_close *c = &qs->peer_close;

	memset(c, 0, sizeof(*c));
	c->errcode = min_t(u64, errcode, U32_MAX);
	c->frame = min_t(u64, frame, U8_MAX);
	len = min_t(u64, len, QUIC_CLOSE_PHRASE_BUFFER_SIZE - 1);
	memcpy(c->phrase, phrase, len);
	qs->draining = 1;
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_CLOSERCVD);
	quic_inq_event(sk, QUIC_EVENT_CONNECTION_CLOSE, c, sizeof(*c));
	quic_conn_set_closed(sk);
}

/* close() or shutdown(): tell the peer, with the user's close info. */
void quic_conn_close(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		return;
	qs->close_errcode = qs->local_close.errcode;
	qs->close_frame = qs->local_close.frame;
	qs->close_app = 1;
	qs->closing = 1;
	/* a client that never sent anything has no peer to tell */
	if (quic_is_serv(sk) || qs->space[QUIC_PN_INITIAL].next_pn ||
	    qs->space[QUIC_PN_INITIAL].discarded)
		quic_outq_send_close(sk);
	quic_conn_set_closed(sk);
}
