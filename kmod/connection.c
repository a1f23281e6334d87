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

#include "ecn.h"
#include "netns.h"
#include "socket.h"
#include "path.h"
#include "packet.h"
#include "frame.h"
#include "connection.h"
#include "recovery.h"
#include <trace/events/quic.h>

static int quic_conn_add_scid(struct sock *sk, const struct quic_conn_id *cid)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_cid_entry *e;
	int i;

	for (i = 0; i < QUIC_SCID_MAX; i++)
		if (!ids->scids[i])
			break;
	if (i == QUIC_SCID_MAX)
		return -ENOSPC;
	e = quic_cid_add(sk, cid, ids->scid_next_seq, NULL);
	if (!e)
		return -EADDRINUSE;
	ids->scids[i] = e;
	ids->scid_next_seq++;
	return i;
}

static void quic_conn_issue_scids(struct sock *sk);

static void quic_conn_common_init(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	qs->version = qs->config.version ?: QUIC_VERSION_V1;
	qs->orig_version = qs->version;
	quic_rtt_init(&qs->rtt, qs->config.initial_smoothed_rtt);
	quic_ecn_init(sk);	/* the first path, under the netns's setting */
}

/**
 * quic_conn_init_client - set up a client connection for connect()
 * @sk: the socket (locked)
 *
 * Picks a random source connection ID (hashed for the receive path) and
 * a random initial destination ID, which is also the original DCID; sets
 * up the token context that keys the stateless reset tokens of the IDs
 * we issue, and installs the Initial keys derived from the DCID.
 * Context: process context, may sleep.
 *
 * Return: 0 or a negative errno; the caller frees with quic_conn_free().
 */
int quic_conn_init_client(struct sock *sk)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	int err, tries = 3;

	quic_conn_common_init(sk);
	do {
		quic_cid_generate(&ids->scid, QUIC_CID_LEN);
		err = quic_conn_add_scid(sk, &ids->scid);
	} while (err == -EADDRINUSE && --tries);
	if (err < 0)
		return err;
	quic_cid_generate(&ids->dcid, QUIC_CID_LEN);
	ids->odcid = ids->dcid;

	err = quic_crypto_initial_keys_install(quic_keys(sk, QUIC_CRYPTO_INITIAL),
					       ids->dcid.data, ids->dcid.len,
					       qs->version, false);
	if (err)
		return err;
	qs->local_tp.initial_scid.len = ids->scid.len;
	memcpy(qs->local_tp.initial_scid.data, ids->scid.data, ids->scid.len);
	return 0;
}

/**
 * quic_conn_init_server - set up an accepted connection from its request
 * @sk: the new socket (locked)
 * @req: the client's first Initial: its version, SCID and original DCID
 *
 * Takes the version and the client's IDs from @req, picks a random
 * source connection ID, installs the Initial keys derived from the DCID
 * of the client's Initial and puts initial_source_connection_id and
 * original_destination_connection_id into our transport parameters; after
 * a Retry, the original DCID is the one its token carried, and the DCID
 * of the Initial (the Retry's SCID) becomes retry_source_connection_id.
 * Context: process context, may sleep.
 *
 * Return: 0 or a negative errno.
 */
int quic_conn_init_server(struct sock *sk, const struct quic_request *req)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	int err, tries = 3;

	quic_conn_common_init(sk);
	/* a listener set to another version switches compatible clients
	 * to it (RFC 9368 2.3); left at its default it takes either
	 */
	if (qs->version_set && qs->config.version != req->version)
		qs->compat_version = qs->config.version;
	qs->version = req->version;
	qs->orig_version = req->version;
	qs->config.version = req->version;	/* reported by CONFIG get */
	ids->dcid = req->scid;
	ids->odcid = req->retried ? req->odcid : req->dcid;
	do {
		quic_cid_generate(&ids->scid, QUIC_CID_LEN);
		err = quic_conn_add_scid(sk, &ids->scid);
	} while (err == -EADDRINUSE && --tries);
	if (err < 0)
		return err;

	err = quic_crypto_initial_keys_install(quic_keys(sk, QUIC_CRYPTO_INITIAL),
					       req->dcid.data, req->dcid.len,
					       qs->version, true);
	if (err)
		return err;
	qs->local_tp.initial_scid.len = ids->scid.len;
	memcpy(qs->local_tp.initial_scid.data, ids->scid.data, ids->scid.len);
	qs->local_tp.original_dcid.len = ids->odcid.len;
	memcpy(qs->local_tp.original_dcid.data, ids->odcid.data, ids->odcid.len);
	qs->local_tp.odcid_present = 1;
	if (req->retried) {
		qs->local_tp.retry_scid.len = req->dcid.len;
		memcpy(qs->local_tp.retry_scid.data, req->dcid.data,
		       req->dcid.len);
		qs->local_tp.retry_scid_present = 1;
	}
	return 0;
}

/**
 * quic_conn_free - free the connection's IDs, paths, keys and queues
 * @sk: the socket (locked)
 *
 * Unhashes every connection ID of ours, and frees the paths, the keys of
 * every level, the send and CRYPTO receive state and the session ticket.
 */
void quic_conn_free(struct sock *sk)
{
	struct quic_cids *ids = quic_cids(sk);
	int i;

	for (i = 0; i < QUIC_SCID_MAX; i++) {
		quic_cid_del(ids->scids[i]);
		ids->scids[i] = NULL;
	}
	quic_cid_del(ids->odcid_entry);
	ids->odcid_entry = NULL;
	quic_path_free(sk);
	for (i = 0; i < QUIC_CRYPTO_MAX; i++)
		quic_crypto_free(quic_keys(sk, i));
	quic_outq_free(sk);
	quic_inq_free_all(sk);
	quic_inq_ticket_free(sk);
	kfree(quic_sk(sk)->retry_token);
	quic_sk(sk)->retry_token = NULL;
	quic_sk(sk)->retry_token_len = 0;
}

/* The other version we speak: v1 and v2 are compatible both ways. */
static u32 quic_conn_other_version(u32 version)
{
	return version == QUIC_VERSION_V2 ? QUIC_VERSION_V1 : QUIC_VERSION_V2;
}

/* The DCID the Initial keys derive from: the client's first, or after a
 * Retry the Retry's SCID.
 */
static void quic_conn_initial_dcid(struct sock *sk, struct quic_conn_id *cid)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_tp *tp = &quic_sk(sk)->local_tp;

	if (!quic_is_serv(sk)) {
		*cid = quic_sk(sk)->retried ? ids->retry_scid : ids->odcid;
		return;
	}
	if (tp->retry_scid_present)
		quic_cid_set(cid, tp->retry_scid.data, tp->retry_scid.len);
	else
		*cid = ids->odcid;
}

static int quic_conn_initial_rekey(struct sock *sk, u32 version)
{
	struct quic_conn_id cid;

	quic_conn_initial_dcid(sk, &cid);
	return quic_crypto_initial_keys_install(quic_keys(sk, QUIC_CRYPTO_INITIAL),
						cid.data, cid.len, version,
						quic_is_serv(sk));
}

/**
 * quic_conn_retry - a client received a Retry packet (RFC 9000 17.2.5)
 * @sk: the client (locked, or in softirq under its bh lock)
 * @data: the Retry packet
 * @len: its length, tag included
 * @scid: its Source Connection ID, the server's choice of our next DCID
 *
 * A client takes one Retry, and only before any Initial of the server:
 * its tag must be right for our original DCID, its SCID must differ from
 * the DCID we used, and its token must not be empty.  Then the token and
 * the new DCID are kept for the next Initials, the Initial keys stop until
 * quic_conn_retry_apply() derives them again in process context (it is
 * scheduled here), and everything else is ignored.
 */
void quic_conn_retry(struct sock *sk, const u8 *data, u32 len,
		     const struct quic_conn_id *scid)
{
	struct quic_crypto *keys = quic_keys(sk, QUIC_CRYPTO_INITIAL);
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	u32 off, tlen;
	u8 *token;

	if (quic_is_serv(sk) || sk->sk_state != QUIC_SS_ESTABLISHING ||
	    qs->retried || ids->got_peer_scid || quic_cid_equal(scid, &ids->dcid))
		return;
	off = 1 + 4 + 1 + data[5] + 1 + scid->len;
	if (len < off + 1 + QUIC_RETRY_TAG_LEN ||
	    quic_crypto_retry_verify(qs->version, ids->odcid.data,
				     ids->odcid.len, data, len))
		return;
	tlen = len - off - QUIC_RETRY_TAG_LEN;
	token = kmemdup(data + off, tlen, GFP_ATOMIC);
	if (!token)
		return;
	qs->retry_token = token;
	qs->retry_token_len = tlen;
	qs->retried = 1;
	ids->retry_scid = *scid;
	ids->dcid = *scid;
	keys->tx_ready = 0;
	keys->rx_ready = 0;
	qs->retry_pending = 1;
	sock_hold(sk);
	if (!schedule_work(&qs->ku_work))
		sock_put(sk);
}

/**
 * quic_conn_retry_apply - go on after a Retry, in process context
 * @sk: the client (locked)
 *
 * Installs the Initial keys of the new DCID and sends the ClientHello
 * (and any 0-RTT data) again in new packets, with the token; packet
 * numbers go on (RFC 9000 17.2.5.3).
 * Context: process context, may sleep.
 */
void quic_conn_retry_apply(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	int err;

	if (!qs->retry_pending)
		return;
	qs->retry_pending = 0;
	if (sk->sk_state != QUIC_SS_ESTABLISHING)
		return;
	err = quic_conn_initial_rekey(sk, qs->version);
	if (err) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_INTERNAL, 0);
		return;
	}
	quic_recovery_retry(sk);
	quic_packet_process_pending(sk, QUIC_PN_INITIAL);
	quic_outq_flush(sk);
}

/* ---- compatible version negotiation (RFC 9368, RFC 9369) ------------- */

static bool quic_tp_lists_version(const struct quic_tp *tp, u32 version)
{
	u8 i;

	for (i = 0; i < tp->available_count; i++)
		if (tp->available_versions[i] == version)
			return true;
	return false;
}

/* Server, the client's parameters just parsed: switch to the listener's
 * version if the client offers it and we have not answered yet (no
 * Handshake keys: the ServerHello is still to be sent).
 */
static int quic_conn_version_upgrade(struct sock *sk, const struct quic_tp *tp)
{
	struct quic_sock *qs = quic_sk(sk);
	int err;

	if (!qs->compat_version || qs->version != qs->orig_version ||
	    qs->local_tp.disable_compatible_version ||
	    !tp->version_info_present ||
	    !quic_tp_lists_version(tp, qs->compat_version) ||
	    quic_keys(sk, QUIC_CRYPTO_HANDSHAKE)->tx_ready ||
	    quic_pnspace(sk, QUIC_PN_INITIAL)->discarded)
		return 0;
	err = quic_conn_initial_rekey(sk, qs->compat_version);
	if (err)
		return err;
	qs->version = qs->compat_version;
	qs->config.version = qs->version;
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_VERSION_SWITCHES);
	return 0;
}

/**
 * quic_conn_version_offered - a long header packet of another version
 *	arrived
 * @sk: the connection (locked, or in softirq under its bh lock)
 * @version: the packet's version (one we speak)
 * @type: its type (QUIC_PKT_*)
 *
 * A client that offered compatible versions in its version_information
 * follows a server that answers in one of them (RFC 9368 2.3): on the
 * first such Initial, before any Handshake keys, the Initial keys stop
 * until quic_conn_version_apply() derives them for @version in process
 * context (scheduled here); the packet waits with the others for them.
 * A switch that no packet then proves (a forged Initial) is undone, up to
 * three times.
 *
 * Return: true if the packet is to wait for the new keys, false to drop
 * it.
 */
bool quic_conn_version_offered(struct sock *sk, u32 version, u8 type)
{
	struct quic_crypto *keys = quic_keys(sk, QUIC_CRYPTO_INITIAL);
	struct quic_sock *qs = quic_sk(sk);

	if (quic_is_serv(sk) || sk->sk_state != QUIC_SS_ESTABLISHING ||
	    qs->local_tp.disable_compatible_version ||
	    qs->version != qs->orig_version ||
	    version != quic_conn_other_version(qs->version))
		return false;
	if (qs->version_pending)
		return version == qs->compat_version;
	if (type != QUIC_PKT_INITIAL || qs->retry_pending ||
	    qs->version_tries == 3 ||
	    quic_keys(sk, QUIC_CRYPTO_HANDSHAKE)->rx_ready ||
	    quic_pnspace(sk, QUIC_PN_INITIAL)->discarded)
		return false;
	qs->compat_version = version;
	qs->version_pending = 1;
	keys->tx_ready = 0;
	keys->rx_ready = 0;
	sock_hold(sk);
	if (!schedule_work(&qs->ku_work))
		sock_put(sk);
	return true;
}

/**
 * quic_conn_version_apply - switch to the server's version, in process
 *	context
 * @sk: the client (locked)
 *
 * Installs the Initial keys of the new version and opens the packets that
 * waited for them; if none of them opens, the switch was not the server's
 * and the keys of our version come back.
 * Context: process context, may sleep.
 */
void quic_conn_version_apply(struct sock *sk)
{
	struct quic_pnspace *s = quic_pnspace(sk, QUIC_PN_INITIAL);
	struct quic_sock *qs = quic_sk(sk);
	s64 largest = s->largest_recv;
	int err;

	if (!qs->version_pending)
		return;
	qs->version_pending = 0;
	if (sk->sk_state != QUIC_SS_ESTABLISHING)
		return;
	err = quic_conn_initial_rekey(sk, qs->compat_version);
	if (err)
		goto fail;
	qs->version = qs->compat_version;
	quic_packet_process_pending(sk, QUIC_PN_INITIAL);
	if (s->largest_recv != largest) {
		qs->config.version = qs->version;	/* reported */
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_VERSION_SWITCHES);
	} else if (sk->sk_state == QUIC_SS_ESTABLISHING) {
		qs->version = qs->orig_version;
		qs->version_tries++;
		err = quic_conn_initial_rekey(sk, qs->version);
		if (err)
			goto fail;
	}
	quic_outq_flush(sk);
	return;
fail:
	quic_conn_error(sk, QUIC_TRANSPORT_ERROR_INTERNAL, 0);
}

/* ---- keys and establishment ----------------------------------------- */

/**
 * quic_conn_discard_space - drop the keys and state of a packet number space
 * @sk: the connection (locked)
 * @space: QUIC_PN_INITIAL or QUIC_PN_HANDSHAKE
 *
 * RFC 9001 section 4.9 and RFC 9002 section 6.4: frees the space's sent
 * packets, CRYPTO data and keys, resets the PTO backoff and rearms the
 * loss timer.  Does nothing if the space is already discarded.
 */
void quic_conn_discard_space(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);

	if (quic_pnspace(sk, space)->discarded)
		return;
	quic_outq_discard_space(sk, space);
	quic_inq_discard_space(sk, space);
	quic_crypto_free(quic_keys(sk, quic_space_level(space)));
	qs->pto_count = 0;
	quic_recovery_set_timer(sk);
}

/* Seal a NEW_TOKEN for the client's address and queue it. */
static int quic_conn_queue_new_token(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	int n;

	if (quic_outq_new_token_busy(sk))
		return -EAGAIN;
	n = quic_token_create(quic_net_tokens(sock_net(sk)), QUIC_TOKEN_NEW,
			      &quic_paths(sk)->peer.sa, NULL, 0, qs->token,
			      sizeof(qs->token));
	if (n < 0)
		return n;
	qs->token_len = n;
	quic_outq_new_token(sk);
	return 0;
}

static void quic_conn_established(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	quic_set_state(sk, QUIC_SS_ESTABLISHED);
	/* RFC 9001 4.9.3: no 0-RTT once 1-RTT keys are in use; the server's
	 * 0-RTT data goes to the application now
	 */
	quic_crypto_free(quic_keys(sk, QUIC_CRYPTO_EARLY));
	quic_inq_early_deliver(sk);
	quic_pmtud_start(sk, quic_packet_mss(sk));
	quic_cong_init(&qs->cong, qs->config.congestion_control_algo, qs->mss);
	quic_streams_established(sk);
	if (quic_is_serv(sk)) {
		/* RFC 9001 4.1.2: the handshake is confirmed at the server
		 * when it completes; stop resending Handshake data.
		 */
		qs->confirmed = 1;
		quic_outq_hs_done(sk);
		/* a server that validates addresses gives the client a
		 * token for next time, which spares it the Retry
		 */
		if (qs->config.validate_peer_address)
			quic_conn_queue_new_token(sk);
		quic_pnspace_free(quic_pnspace(sk, QUIC_PN_HANDSHAKE));
		quic_outq_crypto_stop(sk, QUIC_PN_HANDSHAKE);
	}
	/* give the peer spare connection IDs up to its limit */
	quic_conn_issue_scids(sk);
	quic_conn_idle_reset(sk);
	if (!quic_is_serv(sk))
		quic_path_pref_prepare(sk);
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
	if (sk->sk_state == QUIC_SS_CLOSED && quic_close_state(sk)->draining)
		return 0;
	if (sk->sk_state != QUIC_SS_ESTABLISHING)
		return -EINVAL;
	/* 0-RTT keys: the client sends with them, the server receives */
	if (srt->level == QUIC_CRYPTO_EARLY &&
	    ((quic_is_serv(sk) ? srt->send : !srt->send) ||
	     quic_keys(sk, QUIC_CRYPTO_APP)->tx_ready ||
	     quic_keys(sk, QUIC_CRYPTO_APP)->rx_ready))
		return -EINVAL;
	space = quic_level_space(srt->level);
	if (quic_pnspace(sk, space)->discarded)
		return -EINVAL;
	c = quic_keys(sk, srt->level);
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

/**
 * quic_conn_confirmed - the handshake is confirmed
 * @sk: the connection (locked)
 *
 * The client received HANDSHAKE_DONE, or the server's HANDSHAKE_DONE was
 * acknowledged: discard the Handshake space; a client then starts
 * validating the server's preferred address, if any.
 */
void quic_conn_confirmed(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	qs->confirmed = 1;
	quic_conn_discard_space(sk, QUIC_PN_HANDSHAKE);
	if (!quic_is_serv(sk))
		quic_path_pref_start(sk);
}

/**
 * quic_conn_new_token - QUIC_SOCKOPT_TOKEN set on a server: send a
 *	NEW_TOKEN (RFC 9000 8.1.3) for the client's current address
 * @sk: the connection (locked)
 *
 * The token is sealed with the server's token key, the client's address
 * and the time, as a Retry token is (quic_token_create()).
 *
 * Return: 0, -EINVAL before ESTABLISHED, -EAGAIN while the last one is
 * not acknowledged, or what sealing returned.
 */
int quic_conn_new_token(struct sock *sk)
{
	int err;

	if (sk->sk_state != QUIC_SS_ESTABLISHED)
		return -EINVAL;
	err = quic_conn_queue_new_token(sk);
	if (!err)
		quic_outq_flush(sk);
	return err;
}

/* ---- transport parameters ------------------------------------------- */

/**
 * quic_conn_get_tp_ext - encode our transport parameters extension
 * @sk: the connection (locked)
 * @buf: output
 * @size: room at @buf
 *
 * Sets the Chosen Version and, for a server that sends one, derives the
 * stateless_reset_token of its initial connection ID, then encodes with
 * quic_tp_encode().
 *
 * Return: the length written, or a negative errno from quic_tp_encode().
 */
int quic_conn_get_tp_ext(struct sock *sk, u8 *buf, u32 size)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);

	qs->local_tp.chosen_version = qs->version ?: qs->config.version;
	/* RFC 9368 3: both versions we speak, ours first */
	qs->local_tp.available_versions[0] = qs->local_tp.chosen_version ?:
					     QUIC_VERSION_V1;
	qs->local_tp.available_versions[1] =
		quic_conn_other_version(qs->local_tp.available_versions[0]);
	qs->local_tp.available_count = 2;
	if (quic_is_serv(sk) && qs->local_tp.stateless_reset)
		quic_stateless_reset_token(quic_net_tokens(sock_net(sk)),
					   ids->scid.data,
					   ids->scid.len,
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
 * A bad extension closes the connection with TRANSPORT_PARAMETER_ERROR,
 * VERSION_NEGOTIATION_ERROR, or PROTOCOL_VIOLATION if a limit a client
 * used for 0-RTT was reduced, and the error is returned.
 * Context: process context, may sleep.
 *
 * Return: 0; -ENOMEM; or -EINVAL, -EPROTONOSUPPORT or -EPROTO with the
 * connection closed.
 */
int quic_conn_set_tp_ext(struct sock *sk, const u8 *buf, u32 len)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	struct quic_tp *tp;
	int err;

	tp = kzalloc(sizeof(*tp), GFP_KERNEL);
	if (!tp)
		return -ENOMEM;
	/* RFC 9368 4: a client's Chosen Version is that of its first
	 * Initial, a server's the one negotiated; after a switch the peer
	 * must have said so
	 */
	err = quic_tp_decode(tp, quic_is_serv(sk),
			     quic_is_serv(sk) ? qs->orig_version : qs->version,
			     buf, len);
	if (!err && !tp->version_info_present && qs->version != qs->orig_version)
		err = -EPROTONOSUPPORT;
	if (err == -ENOMEM)
		goto out;
	if (err == -EPROTONOSUPPORT) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_VERSION_NEGOTIATION, 0);
		goto out;
	}
	/* RFC 9000 7.3: the IDs must match what the packets carried */
	if (!err && !quic_tp_cid_equal(&tp->initial_scid, &ids->dcid))
		err = -EINVAL;
	/* RFC 9000 7.3: after a Retry, the server names its SCID */
	if (!err && !quic_is_serv(sk) &&
	    (!quic_tp_cid_equal(&tp->original_dcid, &ids->odcid) ||
	     tp->retry_scid_present != qs->retried ||
	     (qs->retried && !quic_tp_cid_equal(&tp->retry_scid,
						&ids->retry_scid))))
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
	if (quic_is_serv(sk)) {
		err = quic_conn_version_upgrade(sk, tp);
		if (err) {
			quic_conn_error(sk, QUIC_TRANSPORT_ERROR_INTERNAL, 0);
			goto out;
		}
	}
	if (!quic_is_serv(sk) && qs->early_ok && !qs->early_used)
		quic_streams_early_reset(sk);
	/* RFC 9000 5.1.1: the preferred address's ID is number 1 */
	if (!quic_is_serv(sk) && tp->pref_addr_present) {
		err = quic_conn_new_dcid(sk, 1, 0, tp->pref_addr.cid.data,
					 tp->pref_addr.cid.len,
					 tp->pref_addr.token);
		if (err)
			goto out;
	}
	qs->remote_tp = *tp;
	qs->rtp_set = 1;
	quic_streams_established(sk);
	quic_conn_idle_reset(sk);
out:
	kfree(tp);
	return err;
}

/* ---- connection IDs --------------------------------------------------- */

/* Source IDs: scids[] holds every ID we issued that the peer has not
 * retired; those numbered below scid_prior_to are being retired (we sent
 * Retire Prior To and wait for its RETIRE_CONNECTION_ID).  Destination
 * IDs: @dcid (number dcid_seq) is in use, dcids[] are the spares; the
 * alternative path may hold one more while it is validated.
 */

static u32 quic_conn_scids_unretired(const struct quic_sock *qs)
{
	u32 i, n = 0;

	for (i = 0; i < QUIC_SCID_MAX; i++)
		if (qs->cids.scids[i] && qs->cids.scids[i]->seq >= qs->cids.scid_prior_to)
			n++;
	return n;
}

/* Issue new source IDs until the peer holds as many as it allows. */
static void quic_conn_issue_scids(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u32 want, n = quic_conn_scids_unretired(qs);
	struct quic_conn_id cid;
	int idx, tries = 3;

	want = min_t(u64, qs->remote_tp.active_connection_id_limit,
		     QUIC_SCID_ISSUE_MAX);
	while (n < want && tries) {
		quic_cid_generate(&cid, QUIC_CID_LEN);
		idx = quic_conn_add_scid(sk, &cid);
		if (idx == -EADDRINUSE) {
			tries--;
			continue;
		}
		if (idx < 0)
			break;
		quic_cids(sk)->new_cid_pending |= BIT(idx);
		n++;
	}
}

/**
 * quic_conn_pref_cid - issue the ID of the server's preferred address
 * @sk: the accepted connection, before its transport parameters went out
 * @cid: out: the ID (number 1, not announced in NEW_CONNECTION_ID)
 * @token: out: its stateless reset token
 *
 * Return: 0 or a negative errno.
 */
int quic_conn_pref_cid(struct sock *sk, struct quic_tp_cid *cid, u8 *token)
{
	struct quic_conn_id c;
	int idx, tries = 3;

	if (quic_cids(sk)->scid_next_seq != 1)
		return -EINVAL;
	do {
		quic_cid_generate(&c, QUIC_CID_LEN);
		idx = quic_conn_add_scid(sk, &c);
	} while (idx == -EADDRINUSE && --tries);
	if (idx < 0)
		return idx;
	cid->len = c.len;
	memcpy(cid->data, c.data, c.len);
	memset(token, 0, QUIC_RESET_TOKEN_LEN);
	quic_stateless_reset_token(quic_net_tokens(sock_net(sk)), c.data, c.len,
				   token);
	return 0;
}

static u64 quic_conn_scid_lowest(const struct quic_sock *qs)
{
	u64 low = U64_MAX;
	int i;

	for (i = 0; i < QUIC_SCID_MAX; i++)
		if (qs->cids.scids[i] && qs->cids.scids[i]->seq >= qs->cids.scid_prior_to)
			low = min(low, qs->cids.scids[i]->seq);
	return low == U64_MAX ? qs->cids.scid_prior_to : low;
}

static u64 quic_conn_dcid_lowest(const struct quic_sock *qs)
{
	u64 low = qs->cids.dcid_seq;
	int i;

	for (i = 0; i < qs->cids.dcid_count; i++)
		low = min(low, qs->cids.dcids[i].seq);
	return low;
}

static void quic_conn_cid_event(struct sock *sk, bool dest)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	struct quic_connection_id_info info = { .dest = dest };

	if (dest) {
		info.active = ids->dcid_seq;
		info.prior_to = quic_conn_dcid_lowest(qs);
	} else {
		info.active = ids->scid_active;
		info.prior_to = quic_conn_scid_lowest(qs);
	}
	quic_inq_event(sk, QUIC_EVENT_CONNECTION_ID, &info, sizeof(info));
}

static int quic_conn_retire_queue(struct quic_sock *qs, u64 seq)
{
	int i;

	for (i = 0; i < qs->cids.retire_count; i++)
		if (qs->cids.retire[i] == seq)
			return 0;
	if (qs->cids.retire_count >= QUIC_RETIRE_MAX)
		return -ENOSPC;
	qs->cids.retire[qs->cids.retire_count++] = seq;
	return 0;
}

/**
 * quic_conn_retire_dcid - owe the peer a RETIRE_CONNECTION_ID
 * @sk: the connection (locked)
 * @seq: the number of its ID we stop using
 *
 * Return: 0, or -EPROTO once the connection is closed (too many owed,
 * RFC 9000 5.1.2).
 */
int quic_conn_retire_dcid(struct sock *sk, u64 seq)
{
	if (!quic_conn_retire_queue(quic_sk(sk), seq))
		return 0;
	quic_conn_error(sk, QUIC_TRANSPORT_ERROR_CONNECTION_ID_LIMIT,
			QUIC_FRAME_NEW_CONNECTION_ID);
	return -EPROTO;
}

/**
 * quic_conn_retire_lost - a RETIRE_CONNECTION_ID we sent was lost
 * @sk: the connection (locked)
 * @seq: the sequence number it retired
 *
 * Queues it to be sent again; its slot was freed when it was sent.  If
 * the queue is full, it is not resent.
 */
void quic_conn_retire_lost(struct sock *sk, u64 seq)
{
	quic_conn_retire_queue(quic_sk(sk), seq);
}

/**
 * quic_conn_new_cid_lost - a NEW_CONNECTION_ID we sent was lost
 * @sk: the connection (locked)
 * @slot: the index of the ID in our source ID slots
 *
 * It is announced again unless the ID was retired meanwhile.
 */
void quic_conn_new_cid_lost(struct sock *sk, u8 slot)
{
	struct quic_cids *ids = quic_cids(sk);

	if (slot < QUIC_SCID_MAX && ids->scids[slot])
		ids->new_cid_pending |= BIT(slot);
}

/**
 * quic_conn_next_new_cid - the next NEW_CONNECTION_ID to send, if any
 * @sk: the connection (locked)
 * @e: out: the ID's entry
 * @prior: out: Retire Prior To for it (at most its own number: a late
 *	resend must not retire it)
 *
 * The ID counts as announced from here on; quic_conn_new_cid_lost()
 * queues it again.
 *
 * Return: its slot (for quic_conn_new_cid_lost()), or -ENOENT.
 */
int quic_conn_next_new_cid(struct sock *sk, const struct quic_cid_entry **e,
			   u64 *prior)
{
	struct quic_cids *ids = quic_cids(sk);
	int i;

	for (i = 0; i < QUIC_SCID_MAX && ids->new_cid_pending; i++) {
		if (!(ids->new_cid_pending & BIT(i)))
			continue;
		ids->new_cid_pending &= ~BIT(i);
		if (!ids->scids[i])
			continue;
		*e = ids->scids[i];
		*prior = min(ids->scid_prior_to, ids->scids[i]->seq);
		return i;
	}
	return -ENOENT;
}

/**
 * quic_conn_next_retire - the next RETIRE_CONNECTION_ID to send, if any
 * @sk: the connection (locked)
 * @seq: out: the sequence number to retire
 *
 * quic_conn_retire_lost() queues it again if the frame is lost.
 *
 * Return: true if there was one.
 */
bool quic_conn_next_retire(struct sock *sk, u64 *seq)
{
	struct quic_cids *ids = quic_cids(sk);

	if (!ids->retire_count)
		return false;
	*seq = ids->retire[--ids->retire_count];
	return true;
}

/**
 * quic_conn_peer_scid - the server's first Initial named its own ID
 * @sk: the client connection (locked)
 * @scid: the Source Connection ID of that packet
 *
 * RFC 9000 7.2: the client sends to it from now on.  Later Initials do
 * not change it.
 */
void quic_conn_peer_scid(struct sock *sk, const struct quic_conn_id *scid)
{
	struct quic_cids *ids = quic_cids(sk);

	if (ids->got_peer_scid)
		return;
	ids->dcid = *scid;
	ids->got_peer_scid = 1;
}

/**
 * quic_conn_add_odcid - route the client's first DCID to an accepted socket
 * @sk: the accepted connection
 * @dcid: the client's original Destination Connection ID
 * @peer: the client's address (that ID matches datagrams from it only)
 *
 * The client keeps using its first DCID until it hears from us.
 */
void quic_conn_add_odcid(struct sock *sk, const struct quic_conn_id *dcid,
			 const union quic_addr *peer)
{
	quic_cids(sk)->odcid_entry = quic_cid_add(sk, dcid, 0, peer);
}

/**
 * quic_conn_close_resend - may a late packet get our CONNECTION_CLOSE again?
 * @sk: the connection, closed by us (locked)
 *
 * RFC 9000 10.2.1: in the closing state an endpoint answers (a few)
 * packets with its CONNECTION_CLOSE again; this counts them.
 *
 * Return: true if it should be sent again.
 */
bool quic_conn_close_resend(struct sock *sk)
{
	struct quic_close_state *cs = quic_close_state(sk);

	if (!cs->closing || cs->draining ||
	    cs->resends >= QUIC_CLOSE_RESENDS_MAX)
		return false;
	cs->resends++;
	return true;
}

/**
 * quic_conn_set_close_info - QUIC_SOCKOPT_CONNECTION_CLOSE set
 * @sk: the connection (locked)
 * @c: the application error code, frame and phrase to close with
 */
void quic_conn_set_close_info(struct sock *sk,
			      const struct quic_connection_close *c)
{
	quic_close_state(sk)->local = *c;
}

static void quic_conn_spare_del(struct quic_sock *qs, int i)
{
	qs->cids.dcids[i] = qs->cids.dcids[--qs->cids.dcid_count];
}

/* Retire the spare destination IDs numbered below @prior. */
static int quic_conn_retire_spares(struct sock *sk, u64 prior)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	int i;

	for (i = 0; i < ids->dcid_count;) {
		if (ids->dcids[i].seq < prior) {
			if (quic_conn_retire_dcid(sk, ids->dcids[i].seq))
				return -EPROTO;
			quic_conn_spare_del(qs, i);
			continue;
		}
		i++;
	}
	return 0;
}

static int quic_conn_spare_find(const struct quic_sock *qs, u64 seq)
{
	int i;

	for (i = 0; i < qs->cids.dcid_count; i++)
		if (qs->cids.dcids[i].seq == seq)
			return i;
	return -1;
}

static int quic_conn_spare_lowest(const struct quic_sock *qs)
{
	int i, best = -1;

	for (i = 0; i < qs->cids.dcid_count; i++)
		if (best < 0 || qs->cids.dcids[i].seq < qs->cids.dcids[best].seq)
			best = i;
	return best;
}

/**
 * quic_conn_use_dcid - send to another of the peer's connection IDs
 * @sk: the connection
 * @e: the ID (not in dcids[] any more)
 * @retire: retire the one in use (else it becomes a spare again)
 *
 * Return: 0, or -EPROTO once the connection is closed.
 */
int quic_conn_use_dcid(struct sock *sk, const struct quic_dcid_entry *e,
		       bool retire)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_dcid_entry *old;

	if (retire) {
		if (quic_conn_retire_dcid(sk, ids->dcid_seq))
			return -EPROTO;
	} else if (ids->dcid_count < QUIC_DCID_MAX) {
		old = &ids->dcids[ids->dcid_count++];
		old->seq = ids->dcid_seq;
		old->cid = ids->dcid;
		memcpy(old->token, ids->dcid_token, QUIC_RESET_TOKEN_LEN);
	}
	ids->dcid = e->cid;
	ids->dcid_seq = e->seq;
	memcpy(ids->dcid_token, e->token, QUIC_RESET_TOKEN_LEN);
	ids->dcid_token_set = 1;
	return 0;
}

/**
 * quic_conn_take_spare - remove the lowest-numbered spare peer ID
 * @sk: the connection
 * @e: out: the ID
 *
 * Return: 0, or -ENOENT if there is no spare.
 */
int quic_conn_take_spare(struct sock *sk, struct quic_dcid_entry *e)
{
	struct quic_sock *qs = quic_sk(sk);
	int i = quic_conn_spare_lowest(qs);

	if (i < 0)
		return -ENOENT;
	*e = quic_cids(sk)->dcids[i];
	quic_conn_spare_del(qs, i);
	return 0;
}

/* The alternative path's ID is retired or invalid: drop that path. */
static int quic_conn_alt_dcid_check(struct sock *sk, u64 prior)
{
	struct quic_paths *paths = quic_paths(sk);

	if (!paths->alt.active || !paths->alt.spare_dcid || paths->alt.dcid_seq >= prior)
		return 0;
	quic_path_abandon(sk);
	return sk->sk_state == QUIC_SS_CLOSED ? -EPROTO : 0;
}

static bool quic_conn_dcid_known(struct sock *sk, u64 seq, const u8 *cid,
				 u8 len, int *err)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_paths *paths = quic_paths(sk);
	struct quic_conn_id c;
	bool same_seq, same_cid;
	int i;

	quic_cid_set(&c, cid, len);
	*err = 0;
	for (i = -2; i < (int)ids->dcid_count; i++) {
		const struct quic_conn_id *k;
		u64 s;

		if (i == -2) {
			k = &ids->dcid;
			s = ids->dcid_seq;
		} else if (i == -1) {
			if (!paths->alt.active || !paths->alt.spare_dcid)
				continue;
			k = &paths->alt.dcid;
			s = paths->alt.dcid_seq;
		} else {
			k = &ids->dcids[i].cid;
			s = ids->dcids[i].seq;
		}
		same_seq = s == seq;
		same_cid = quic_cid_equal(k, &c);
		if (same_seq != same_cid)
			*err = -EPROTO;	/* RFC 9000 19.15 */
		if (same_seq || same_cid)
			return true;
	}
	return false;
}

/**
 * quic_conn_new_dcid - a NEW_CONNECTION_ID from the peer (RFC 9000 19.15)
 * @sk: the connection (locked, ESTABLISHED or finishing the handshake)
 * @seq: Sequence Number
 * @prior: Retire Prior To (<= @seq, checked by the caller)
 * @cid: the ID
 * @len: its length (1..20)
 * @token: its stateless reset token
 *
 * Return: 0, or -EPROTO once the connection is closed for an error.
 */
int quic_conn_new_dcid(struct sock *sk, u64 seq, u64 prior, const u8 *cid,
		       u8 len, const u8 *token)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_paths *paths = quic_paths(sk);
	struct quic_sock *qs = quic_sk(sk);
	struct quic_dcid_entry *d, e;
	bool switch_active = false, repeat;
	int err;

	repeat = quic_conn_dcid_known(sk, seq, cid, len, &err);
	if (err) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
				QUIC_FRAME_NEW_CONNECTION_ID);
		return -EPROTO;
	}
	/* already retired by an earlier Retire Prior To */
	if (!repeat && seq < ids->dcid_prior_to)
		return quic_conn_retire_dcid(sk, seq);
	if (prior > ids->dcid_prior_to) {
		ids->dcid_prior_to = prior;
		if (quic_conn_retire_spares(sk, prior))
			return -EPROTO;
		if (quic_conn_alt_dcid_check(sk, prior))
			return -EPROTO;
		switch_active = ids->dcid_seq < prior;
	}
	if (repeat)
		goto out;
	/* the one in use (unless just retired) and the alternative path's
	 * count towards the limit
	 */
	if (ids->dcid_count + !switch_active +
	    (paths->alt.active && paths->alt.spare_dcid) >=
	    qs->local_tp.active_connection_id_limit ||
	    ids->dcid_count >= QUIC_DCID_MAX) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_CONNECTION_ID_LIMIT,
				QUIC_FRAME_NEW_CONNECTION_ID);
		return -EPROTO;
	}
	d = &ids->dcids[ids->dcid_count++];
	d->seq = seq;
	quic_cid_set(&d->cid, cid, len);
	memcpy(d->token, token, QUIC_RESET_TOKEN_LEN);
out:
	if (!switch_active)
		return 0;
	/* RFC 9000 5.1.2: stop using the retired ID at once */
	if (quic_conn_take_spare(sk, &e)) {
		/* a repeat retiring all we have: the peer broke its limit */
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
				QUIC_FRAME_NEW_CONNECTION_ID);
		return -EPROTO;
	}
	if (quic_conn_use_dcid(sk, &e, true))
		return -EPROTO;
	quic_conn_cid_event(sk, true);
	return 0;
}

/**
 * quic_conn_retire_scid - a RETIRE_CONNECTION_ID from the peer (19.16)
 * @sk: the connection (locked)
 * @seq: the number of the source ID retired
 *
 * The ID is forgotten and a new one issued in its place.
 *
 * Return: 0, or -EPROTO once the connection is closed for an error.
 */
int quic_conn_retire_scid(struct sock *sk, u64 seq)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_rx *rx = quic_rx(sk);
	struct quic_cid_entry *e;
	int i;

	if (seq >= ids->scid_next_seq) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
				QUIC_FRAME_RETIRE_CONNECTION_ID);
		return -EPROTO;
	}
	for (i = 0; i < QUIC_SCID_MAX; i++) {
		e = ids->scids[i];
		if (!e || e->seq != seq)
			continue;
		/* not the ID the packet was sent to */
		if (rx->dcid && quic_cid_equal(&e->cid, rx->dcid)) {
			quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
					QUIC_FRAME_RETIRE_CONNECTION_ID);
			return -EPROTO;
		}
		quic_cid_del(e);
		ids->scids[i] = NULL;
		ids->new_cid_pending &= ~BIT(i);
		break;
	}
	quic_conn_issue_scids(sk);
	return 0;
}

/**
 * quic_conn_scid_used - note which of our IDs a packet from the peer used
 * @sk: the connection (locked)
 * @cid: the packet's Destination Connection ID
 *
 * The active number only moves up, so that one the user set (ahead of
 * what the peer uses) stays, as in the reference; a retired one is
 * always left.
 */
void quic_conn_scid_used(struct sock *sk, const struct quic_conn_id *cid)
{
	struct quic_cids *ids = quic_cids(sk);
	int i;

	for (i = 0; i < QUIC_SCID_MAX; i++) {
		if (!ids->scids[i] || !quic_cid_equal(&ids->scids[i]->cid, cid))
			continue;
		if (ids->scids[i]->seq <= ids->scid_active)
			return;
		ids->scid_active = ids->scids[i]->seq;
		return;
	}
}

/**
 * quic_conn_get_cid - QUIC_SOCKOPT_CONNECTION_ID get
 * @sk: the connection (locked)
 * @info: in: dest; out: the active and the lowest valid numbers
 */
void quic_conn_get_cid(struct sock *sk, struct quic_connection_id_info *info)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);

	if (info->dest) {
		info->active = ids->dcid_seq;
		info->prior_to = quic_conn_dcid_lowest(qs);
	} else {
		info->active = ids->scid_active;
		info->prior_to = quic_conn_scid_lowest(qs);
	}
}

/* Is source ID number @seq, at least @low, one of ours? */
static bool quic_conn_scid_find(const struct quic_sock *qs, u64 seq, u64 low)
{
	u32 i;

	if (seq < low)
		return false;
	for (i = 0; i < QUIC_SCID_MAX; i++)
		if (qs->cids.scids[i] && qs->cids.scids[i]->seq == seq)
			return true;
	return false;
}

static int quic_conn_set_scid(struct sock *sk, u64 active, u64 prior)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	u64 lowest = quic_conn_scid_lowest(qs), next;
	u32 i, live = 0;

	/* as in the reference: a non-zero prior_to must retire something
	 * and leave something, a non-zero active must be one that stays
	 */
	if (prior && (prior <= lowest || prior >= ids->scid_next_seq))
		return -EINVAL;
	if (active && !quic_conn_scid_find(qs, active, max(prior, lowest)))
		return -EINVAL;
	if (prior > lowest) {
		for (i = 0; i < QUIC_SCID_MAX; i++)
			live += !!ids->scids[i];
		/* one Retire Prior To at a time, with room for new IDs */
		if (quic_conn_scids_unretired(qs) != live ||
		    live >= QUIC_SCID_MAX)
			return -EAGAIN;
		ids->scid_prior_to = prior;
		next = ids->scid_next_seq;
		quic_conn_issue_scids(sk);
		/* the new IDs carry the Retire Prior To; else resend one */
		for (i = 0; i < QUIC_SCID_MAX && next == ids->scid_next_seq; i++)
			if (ids->scids[i] && ids->scids[i]->seq >= prior) {
				ids->new_cid_pending |= BIT(i);
				break;
			}
	}
	if (active)
		ids->scid_active = active;
	return 0;
}

static int quic_conn_set_dcid(struct sock *sk, u64 active, u64 prior)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	u64 lowest = quic_conn_dcid_lowest(qs);
	struct quic_dcid_entry e;
	u32 i, n = 0;
	int idx;

	if (prior && prior <= lowest)
		return -EINVAL;	/* retires nothing (the reference refuses it) */
	prior = max(prior, lowest);
	if (active < prior) {
		if (active)
			return -EINVAL;
		if (ids->dcid_seq >= prior) {
			active = ids->dcid_seq;
		} else {
			for (i = 0, idx = -1; i < ids->dcid_count; i++)
				if (ids->dcids[i].seq >= prior &&
				    (idx < 0 || ids->dcids[i].seq < ids->dcids[idx].seq))
					idx = i;
			if (idx < 0)
				return -EINVAL;	/* nothing would be left */
			active = ids->dcids[idx].seq;
		}
	}
	idx = quic_conn_spare_find(qs, active);
	if (active != ids->dcid_seq && idx < 0)
		return -EINVAL;
	for (i = 0; i < ids->dcid_count; i++)
		n += ids->dcids[i].seq < prior;
	n += ids->dcid_seq < prior;
	if (ids->retire_count + n > QUIC_RETIRE_MAX)
		return -EAGAIN;
	if (idx >= 0) {
		e = ids->dcids[idx];
		quic_conn_spare_del(qs, idx);
		if (quic_conn_use_dcid(sk, &e, ids->dcid_seq < prior))
			return -EPIPE;
	}
	if (quic_conn_retire_spares(sk, prior))
		return -EPIPE;
	return 0;
}

/**
 * quic_conn_set_cid - QUIC_SOCKOPT_CONNECTION_ID set
 * @sk: the connection (locked)
 * @info: dest, the ID number to use and the number to retire below
 *
 * As in the reference, a non-zero @info->prior_to must retire at least
 * one ID and leave at least one, and a non-zero @info->active must be an
 * ID that stays; otherwise nothing changes and -EINVAL is returned.  With
 * @info->active 0, destination IDs move to the lowest remaining one.
 * @info->prior_to 0 changes only the active ID.  A change raises
 * QUIC_EVENT_CONNECTION_ID with the new numbers.
 *
 * Return: 0 or a negative errno.
 */
int quic_conn_set_cid(struct sock *sk,
		      const struct quic_connection_id_info *info)
{
	int err;

	if (sk->sk_state != QUIC_SS_ESTABLISHED)
		return -EINVAL;
	if (info->dest)
		err = quic_conn_set_dcid(sk, info->active, info->prior_to);
	else
		err = quic_conn_set_scid(sk, info->active, info->prior_to);
	if (err)
		return err;
	/* reported as the reference does (its functional test reads one
	 * event per change it makes)
	 */
	quic_conn_cid_event(sk, info->dest);
	quic_outq_flush(sk);
	return 0;
}

/* ---- idle timeout and closing ----------------------------------------- */

/**
 * quic_conn_idle_reset - restart the idle timer
 * @sk: the connection (locked)
 *
 * RFC 9000 section 10.1: the idle timeout is the smaller of both
 * endpoints' max_idle_timeout (the peer's once its parameters are known;
 * 0 means none), but at least three PTOs.  With no timeout the timer is
 * left alone.
 */
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
	quic_set_state(sk, QUIC_SS_CLOSED);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	quic_timer_stop_all(sk);
	quic_outq_free(sk);
	quic_inq_free_all(sk);
	quic_cids(sk)->new_cid_pending = 0;
}

/**
 * quic_conn_is_stateless_reset - does an unopenable packet end in one of
 *	the peer's stateless reset tokens (RFC 9000 10.3.1)?
 * @sk: the connection
 * @data: the packet (the rest of the datagram)
 * @len: its length
 *
 * Return: true if its last 16 bytes match a token the peer gave us.
 */
bool quic_conn_is_stateless_reset(struct sock *sk, const u8 *data, u32 len)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	const u8 *tail = data + len - QUIC_RESET_TOKEN_LEN;
	int i;

	if (len < 21)	/* RFC 9000 10.3: at least 21 bytes */
		return false;
	if (qs->rtp_set && qs->remote_tp.stateless_reset &&
	    !crypto_memneq(tail, qs->remote_tp.stateless_reset_token,
			   QUIC_RESET_TOKEN_LEN))
		return true;
	if (ids->dcid_token_set &&
	    !crypto_memneq(tail, ids->dcid_token, QUIC_RESET_TOKEN_LEN))
		return true;
	for (i = 0; i < ids->dcid_count; i++)
		if (!crypto_memneq(tail, ids->dcids[i].token, QUIC_RESET_TOKEN_LEN))
			return true;
	return false;
}

/**
 * quic_conn_reset - the peer lost its state (stateless reset)
 * @sk: the connection (locked)
 *
 * The connection is gone: it is closed with ECONNRESET and nothing more
 * is sent.
 */
void quic_conn_reset(struct sock *sk)
{
	quic_close_state(sk)->draining = 1;
	WRITE_ONCE(sk->sk_err, ECONNRESET);
	quic_conn_set_closed(sk);
	sk_error_report(sk);
}

/**
 * quic_conn_version_negotiation - a client got Version Negotiation
 * @sk: the client
 * @data: the packet
 * @len: its length
 * @dcid: its Destination Connection ID
 * @scid: its Source Connection ID
 *
 * RFC 9000 6.2: only before any other packet of the server (and any
 * Retry), only one that echoes our IDs, and not one that lists the version
 * we use (a downgrade attempt, or a stale packet): then the server does not
 * speak our version, and the attempt is abandoned without a word, with
 * EPROTONOSUPPORT (the application may try again with another version of
 * QUIC_SOCKOPT_CONFIG).
 */
void quic_conn_version_negotiation(struct sock *sk, const u8 *data, u32 len,
				   const struct quic_conn_id *dcid,
				   const struct quic_conn_id *scid)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	u32 off = 1 + 4 + 1 + dcid->len + 1 + scid->len;

	if (quic_is_serv(sk) || sk->sk_state != QUIC_SS_ESTABLISHING ||
	    ids->got_peer_scid || qs->retried || off >= len ||
	    (len - off) % 4 || !quic_cid_equal(dcid, &ids->scid) ||
	    !quic_cid_equal(scid, &ids->dcid))
		return;
	for (; off < len; off += 4)
		if (get_unaligned_be32(data + off) == qs->version)
			return;
	quic_close_state(sk)->draining = 1;
	WRITE_ONCE(sk->sk_err, EPROTONOSUPPORT);
	quic_conn_set_closed(sk);
	sk_error_report(sk);
}

/**
 * quic_conn_idle_timeout - the idle timer expired
 * @sk: the connection (locked)
 *
 * Closes the connection silently (RFC 9000 section 10.1) with ETIMEDOUT.
 * Context: the timer handler, in softirq context.
 */
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
	struct quic_close_state *cs = quic_close_state(sk);

	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		return;
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_PROTOERRORS);
	cs->errcode = errcode;
	cs->frame = frame;
	cs->app = 0;
	cs->closing = 1;
	quic_outq_send_close(sk);
	WRITE_ONCE(sk->sk_err, ECONNABORTED);
	quic_conn_set_closed(sk);
	sk_error_report(sk);
}

/* RFC 9000 10.2: closing and draining last three probe timeouts; at
 * least 10 ms, at most 3 s.  Return: the period in jiffies.
 */
static unsigned long quic_conn_close_period(struct sock *sk)
{
	u64 us = 3ULL * quic_rtt_pto(&quic_sk(sk)->rtt);

	us = clamp_t(u64, us, 10 * USEC_PER_MSEC, 3 * USEC_PER_SEC);
	return usecs_to_jiffies(us);
}

/**
 * quic_conn_peer_close - a CONNECTION_CLOSE frame arrived
 * @sk: the connection (locked)
 * @errcode: the error code (saturated to u32)
 * @frame: the offending frame type of a transport close (saturated to u8)
 * @phrase: the reason phrase
 * @len: its length (truncated to fit QUIC_CLOSE_PHRASE_BUFFER_SIZE)
 * @app: the frame was the application variant (0x1d); not recorded
 *
 * Starts draining (nothing more is sent), reports
 * QUIC_EVENT_CONNECTION_CLOSE with the peer's close information and
 * closes the socket.
 */
void quic_conn_peer_close(struct sock *sk, u64 errcode, u64 frame,
			  const u8 *phrase, u64 len, bool app)
{
	struct quic_close_state *cs = quic_close_state(sk);
	struct quic_connection_close *c = &cs->peer;

	memset(c, 0, sizeof(*c));
	c->errcode = min_t(u64, errcode, U32_MAX);
	c->frame = min_t(u64, frame, U8_MAX);
	len = min_t(u64, len, QUIC_CLOSE_PHRASE_BUFFER_SIZE - 1);
	memcpy(c->phrase, phrase, len);
	cs->draining = 1;
	cs->drain_end = jiffies + quic_conn_close_period(sk);
	if (!cs->drain_end)	/* 0 means "no draining period" */
		cs->drain_end = 1;
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_CLOSERCVD);
	quic_inq_event(sk, QUIC_EVENT_CONNECTION_CLOSE, c, sizeof(*c));
	quic_conn_set_closed(sk);
}

/**
 * quic_conn_close - close() or shutdown(): tell the peer
 * @sk: the connection (locked)
 *
 * Sends an application CONNECTION_CLOSE with the user's close information
 * (QUIC_SOCKOPT_CONNECTION_CLOSE), unless we are a client that has not
 * sent a packet yet (no peer to tell), and closes the socket.  Does
 * nothing unless the connection is ESTABLISHING or ESTABLISHED.
 */
void quic_conn_close(struct sock *sk)
{
	struct quic_close_state *cs = quic_close_state(sk);

	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		return;
	cs->errcode = cs->local.errcode;
	cs->frame = cs->local.frame;
	cs->app = 1;
	cs->closing = 1;
	/* a client that never sent anything has no peer to tell */
	if (quic_is_serv(sk) || quic_pnspace(sk, QUIC_PN_INITIAL)->next_pn ||
	    quic_pnspace(sk, QUIC_PN_INITIAL)->discarded)
		quic_outq_send_close(sk);
	quic_conn_set_closed(sk);
}

/**
 * quic_conn_closing_period - how long a closed connection stays
 * @sk: the connection, just closed by quic_conn_close() (locked)
 *
 * RFC 9000 10.2: a connection that sent its CONNECTION_CLOSE stays three
 * probe timeouts to answer late packets with it again (closing); one the
 * peer closed stays what is left of three probe timeouts after the peer's
 * CONNECTION_CLOSE, sending nothing, so that packets still in flight are
 * absorbed rather than answered with a stateless reset (draining).  A
 * connection ended by a stateless reset or Version Negotiation has no peer
 * state to wait for.  On a nonzero answer what only the application
 * needed (streams, received data, packets awaiting an acknowledgement) is
 * freed at once: only the IDs, keys and path remain.
 *
 * Return: the period in jiffies, or 0 to release the connection now.
 */
unsigned long quic_conn_closing_period(struct sock *sk)
{
	struct quic_close_state *cs = quic_close_state(sk);
	unsigned long period;

	if (cs->draining) {
		if (!cs->drain_end || !time_before(jiffies, cs->drain_end))
			return 0;
		period = cs->drain_end - jiffies;
	} else {
		if (!cs->closing)
			return 0;
		/* a client that never sent anything had no CONNECTION_CLOSE
		 * to send
		 */
		if (!quic_is_serv(sk) &&
		    !quic_pnspace(sk, QUIC_PN_INITIAL)->next_pn &&
		    !quic_pnspace(sk, QUIC_PN_INITIAL)->discarded)
			return 0;
		period = quic_conn_close_period(sk);
	}
	quic_streams_free(sk);
	quic_inq_free_all(sk);
	quic_outq_free(sk);
	__skb_queue_purge(&sk->sk_receive_queue);
	return period;
}

/**
 * quic_set_state - move the socket to another state
 * @sk: the socket
 * @state: QUIC_SS_*
 *
 * Counts established connections in the MIB, traces the change and wakes
 * waiters (sk_state_change).  No-op if the state does not change.
 */
void quic_set_state(struct sock *sk, int state)
{
	struct net *net = sock_net(sk);
	int old = sk->sk_state;

	if (old == state)
		return;
	if (state == QUIC_SS_ESTABLISHED) {
		QUIC_INC_STATS(net, QUIC_MIB_CONN_CURRENTESTABS);
		QUIC_INC_STATS(net, quic_is_serv(sk) ?
				    QUIC_MIB_CONN_PASSIVEESTABS :
				    QUIC_MIB_CONN_ACTIVEESTABS);
	} else if (old == QUIC_SS_ESTABLISHED) {
		QUIC_DEC_STATS(net, QUIC_MIB_CONN_CURRENTESTABS);
	}
	trace_quic_state_change(sk, old, state);
	inet_sk_set_state(sk, state);
	sk->sk_state_change(sk);
}
