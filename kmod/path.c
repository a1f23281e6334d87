// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: path validation and migration (RFC 9000 8.2, 9): the
 * alternative path, PATH_CHALLENGE/PATH_RESPONSE, switching paths and the
 * server's preferred address.
 */

#include <crypto/utils.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>

#include "netns.h"
#include "socket.h"
#include "path.h"
#include "packet.h"
#include "frame.h"
#include "connection.h"
#include <trace/events/quic.h>

#define QUIC_PATH_TRIES		7	/* PATH_CHALLENGEs before giving up */
#define QUIC_PATH_RETRY_MIN	300000	/* us between them, at least */
#define QUIC_PATH_PROBE_MIN	64	/* an unpadded probe, for the 3x limit */

/* Send PATH_CHALLENGE or PATH_RESPONSE @data on the alternative path, in
 * a datagram of its own padded to 1200 bytes (RFC 9000 8.2.1) unless the
 * three-times limit on an unvalidated peer address forbids it.
 */
static void quic_path_send_alt(struct sock *sk, u8 type, const u8 *data)
{
	struct quic_paths *paths = quic_paths(sk);
	struct quic_path_alt *alt = &paths->alt;
	struct quic_pnspace *s = quic_pnspace(sk, QUIC_PN_APP);
	u64 allow = alt->limited ? 3 * alt->rx_bytes : U64_MAX;
	struct quic_path_tx tx = {};
	struct quic_dgram dg;
	bool pad;
	u32 len;

	pad = alt->tx_bytes + QUIC_MIN_DGRAM <= allow;
	if (!pad && alt->tx_bytes + QUIC_PATH_PROBE_MIN > allow)
		return;
	tx.udp = alt->new_local ? alt->udp : paths->udp;
	tx.local = alt->new_local ? &alt->local : &paths->local;
	tx.peer = &alt->peer;
	tx.dcid = &alt->dcid;
	if (quic_dgram_init(sk, &dg, QUIC_MIN_DGRAM))
		return;
	dg.tx = &tx;
	if (quic_pkt_begin(sk, &dg, QUIC_CRYPTO_APP, s->next_pn)) {
		kfree_skb(dg.skb);
		return;
	}
	s->next_pn++;	/* not tracked for loss: probes are resent by timer */
	quic_frame_put_path(skb_put(dg.skb, 9), type, data);
	dg.pad = pad;
	len = pad ? QUIC_MIN_DGRAM : dg.skb->len + QUIC_TAG_LEN;
	quic_dgram_send(sk, &dg);
	alt->tx_bytes += len;
}

static u64 quic_path_retry_time(struct sock *sk)
{
	return max_t(u64, 2 * quic_rtt_pto(&quic_sk(sk)->rtt),
		     QUIC_PATH_RETRY_MIN);
}

static void quic_path_challenge(struct sock *sk)
{
	struct quic_path_alt *alt = &quic_paths(sk)->alt;

	if (!alt->validating) {
		get_random_bytes(alt->challenge, sizeof(alt->challenge));
		alt->validating = 1;
		alt->tries = 0;
	}
	quic_path_send_alt(sk, QUIC_FRAME_PATH_CHALLENGE, alt->challenge);
	quic_timer_reset(sk, QUIC_TIMER_PATH, quic_path_retry_time(sk));
}

/* Give the alternative path a spare peer ID (RFC 9000 9.5), or the one in
 * use if the peer gave us none.
 */
static void quic_path_alt_dcid(struct sock *sk)
{
	struct quic_path_alt *alt = &quic_paths(sk)->alt;
	struct quic_dcid_entry e;

	if (quic_conn_take_spare(sk, &e)) {
		alt->dcid = quic_cids(sk)->dcid;
		return;
	}
	alt->dcid = e.cid;
	alt->dcid_seq = e.seq;
	memcpy(alt->dcid_token, e.token, QUIC_RESET_TOKEN_LEN);
	alt->spare_dcid = 1;
}

/**
 * quic_path_abandon - give up the alternative path
 * @sk: the connection (locked; any context)
 *
 * A spare peer ID it used is retired, a UDP socket it held released.
 */
void quic_path_abandon(struct sock *sk)
{
	struct quic_path_alt *alt = &quic_paths(sk)->alt;

	if (!alt->active)
		return;
	quic_timer_stop(sk, QUIC_TIMER_PATH);
	if (alt->udp)
		quic_udp_sock_put(alt->udp);
	if (alt->spare_dcid)
		quic_conn_retire_dcid(sk, alt->dcid_seq);
	memset(alt, 0, sizeof(*alt));
}

/**
 * quic_path_free - at close: release the other paths' UDP sockets
 * @sk: the connection (locked)
 *
 * Stops the path timer and drops the references of the alternative
 * path, the preferred address and the path we left.  The current UDP
 * socket is the caller's to release.
 */
void quic_path_free(struct sock *sk)
{
	struct quic_paths *paths = quic_paths(sk);

	quic_timer_stop(sk, QUIC_TIMER_PATH);
	if (paths->alt.udp)
		quic_udp_sock_put(paths->alt.udp);
	memset(&paths->alt, 0, sizeof(paths->alt));
	if (paths->pref_udp) {
		quic_udp_sock_put(paths->pref_udp);
		paths->pref_udp = NULL;
	}
	if (paths->old_udp) {
		quic_udp_sock_put(paths->old_udp);
		paths->old_udp = NULL;
	}
}

/**
 * quic_path_timeout - the path timer expired
 * @sk: the connection (locked; timer, softirq context)
 *
 * While the alternative path is being validated, sends another
 * PATH_CHALLENGE, or abandons the path after QUIC_PATH_TRIES of them.
 */
void quic_path_timeout(struct sock *sk)
{
	struct quic_path_alt *alt = &quic_paths(sk)->alt;

	if (!alt->validating)
		return;
	if (++alt->tries >= QUIC_PATH_TRIES) {
		quic_path_abandon(sk);
		quic_outq_flush(sk);	/* a RETIRE_CONNECTION_ID */
		return;
	}
	quic_path_challenge(sk);
}

/* The alternative path becomes the connection's path. */
static void quic_path_switch(struct sock *sk)
{
	struct quic_paths *paths = quic_paths(sk);
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &paths->alt;
	struct quic_dcid_entry e = {};
	u8 local = alt->new_local;
	bool same_host = true;

	quic_timer_stop(sk, QUIC_TIMER_PATH);
	if (alt->spare_dcid) {
		/* RFC 9000 9.5: a new ID on the new path, the old retired */
		e.seq = alt->dcid_seq;
		e.cid = alt->dcid;
		memcpy(e.token, alt->dcid_token, QUIC_RESET_TOKEN_LEN);
		alt->spare_dcid = 0;
		if (quic_conn_use_dcid(sk, &e, true)) {
			quic_path_abandon(sk);
			return;
		}
	}
	if (alt->new_local) {
		same_host = quic_addr_same_host(&alt->local, &paths->local);
		/* the old socket still takes what the peer sends there
		 * until it follows; one left before is released
		 */
		if (paths->old_udp)
			quic_udp_sock_put(paths->old_udp);
		paths->old_udp = paths->udp;
		paths->old_local = paths->local;
		paths->udp = alt->udp;
		alt->udp = NULL;
		quic_set_local(sk, &alt->local);
	}
	if (alt->new_peer) {
		same_host &= quic_addr_same_host(&alt->peer, &paths->peer);
		paths->old_peer = paths->peer;
		quic_set_peer(sk, &alt->peer);
	}
	memset(alt, 0, sizeof(*alt));
	/* RFC 8899: per path, from BASE */
	quic_pmtud_start(sk, quic_packet_mss(sk));
	quic_ecn_init(sk);	/* RFC 9000 13.4.2: validated per path */
	if (!same_host) {
		/* RFC 9000 9.4: a new path starts from scratch */
		quic_cong_init(&qs->cong, qs->config.congestion_control_algo,
			       qs->mss);
		quic_rtt_init(&qs->rtt, qs->config.initial_smoothed_rtt);
	}
	trace_quic_path_change(sk, local, local ? &paths->local.sa : &paths->peer.sa);
	quic_inq_event(sk, QUIC_EVENT_CONNECTION_MIGRATION, &local, 1);
	if (local) {
		/* a non-probing packet at once: the peer follows us now */
		quic_outq_ping(sk, QUIC_PN_APP);
		quic_outq_flush(sk);
	}
}

/**
 * quic_path_migrate - QUIC_SOCKOPT_CONNECTION_MIGRATION once established
 * @sk: the connection (locked, process context)
 * @a: the new local address (family checked)
 *
 * A client moves to @a (RFC 9000 9.2); so may a server, as in the
 * reference (its peer validates the server's new address before it
 * follows).
 *
 * Return: 0 once the new path is being validated, or a negative errno.
 */
int quic_path_migrate(struct sock *sk, const union quic_addr *a)
{
	struct quic_paths *paths = quic_paths(sk);
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &paths->alt;
	struct quic_udp_sock *us;

	if (sk->sk_state != QUIC_SS_ESTABLISHED || quic_addr_any(a) ||
	    quic_addr_equal(a, &paths->local))
		return -EINVAL;
	if (qs->remote_tp.disable_active_migration)
		return -EPERM;
	if (alt->active || !quic_cids(sk)->dcid_count)
		return -EAGAIN;	/* pending, or no spare ID (yet) */
	us = quic_udp_sock_get(sk, a);
	if (IS_ERR(us))
		return PTR_ERR(us);
	memset(alt, 0, sizeof(*alt));
	alt->udp = us;
	quic_udp_sock_local(us, a, &alt->local);
	alt->peer = paths->peer;
	alt->new_local = 1;
	quic_path_alt_dcid(sk);
	alt->active = 1;
	quic_path_challenge(sk);
	return 0;
}

/* Did the datagram processed arrive at our preferred address (server),
 * not yet the connection's?
 */
static bool quic_path_rx_pref(struct sock *sk)
{
	struct quic_paths *paths = quic_paths(sk);
	struct quic_rx *rx = quic_rx(sk);

	return rx->from_set && paths->pref_udp &&
	       quic_addr_equal(&rx->to, &paths->pref_local) &&
	       !quic_addr_equal(&paths->pref_local, &paths->local);
}

/* Did the datagram processed come on the connection's path? */
static bool quic_path_rx_current(struct sock *sk)
{
	struct quic_rx *rx = quic_rx(sk);

	return !rx->from_set ||
	       (quic_addr_equal(&rx->from, &quic_paths(sk)->peer) &&
		!quic_path_rx_pref(sk));
}

/* The local end the datagram processed arrived at: the preferred address
 * (server), the address a migration left (its socket still receives), or
 * the connection's.  Return: that UDP socket, not referenced.
 */
static struct quic_udp_sock *quic_path_rx_local(struct sock *sk,
						union quic_addr *local)
{
	struct quic_paths *paths = quic_paths(sk);

	if (quic_path_rx_pref(sk)) {
		*local = paths->pref_local;
		return paths->pref_udp;
	}
	if (paths->old_udp && quic_addr_equal(&quic_rx(sk)->to, &paths->old_local) &&
	    !quic_addr_equal(&paths->old_local, &paths->local)) {
		*local = paths->old_local;
		return paths->old_udp;
	}
	*local = paths->local;
	return paths->udp;
}

/* The path the datagram processed came on, as the alternative path. */
static struct quic_path_alt *quic_path_alt_rx(struct sock *sk)
{
	struct quic_paths *paths = quic_paths(sk);
	struct quic_rx *rx = quic_rx(sk);
	struct quic_path_alt *alt = &paths->alt;
	struct quic_udp_sock *us;
	union quic_addr local;

	us = quic_path_rx_local(sk, &local);
	if (alt->active && quic_addr_equal(&alt->peer, &rx->from) &&
	    quic_addr_equal(&alt->local, &local))
		return alt;
	quic_path_abandon(sk);
	if (sk->sk_state != QUIC_SS_ESTABLISHED)
		return NULL;
	alt->peer = rx->from;
	alt->new_peer = !quic_addr_equal(&rx->from, &paths->peer);
	alt->limited = alt->new_peer;
	alt->local = local;
	if (us != paths->udp || !quic_addr_equal(&local, &paths->local)) {
		alt->udp = quic_udp_sock_hold(us);
		alt->new_local = 1;
	}
	quic_path_alt_dcid(sk);
	alt->rx_bytes = rx->len;
	alt->active = 1;
	return alt;
}

/* May the peer move to the path the datagram processed came on? */
static bool quic_path_rx_allowed(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	if (sk->sk_state != QUIC_SS_ESTABLISHED)
		return false;
	/* RFC 9000 18.2: disable_active_migration does not cover the
	 * preferred address
	 */
	return !qs->local_tp.disable_active_migration ||
	       quic_path_rx_pref(sk);
}

/**
 * quic_path_challenge_rcv - a PATH_CHALLENGE from the peer
 * @sk: the connection (locked)
 * @data: its 8 bytes
 *
 * Answered on the path it came from (RFC 9000 8.2.2).
 */
void quic_path_challenge_rcv(struct sock *sk, const u8 *data)
{
	struct quic_paths *paths = quic_paths(sk);
	struct quic_path_alt *alt;

	if (quic_path_rx_current(sk)) {
		memcpy(paths->path_response, data, 8);
		paths->path_response_pending = 1;
		return;
	}
	if (!quic_path_rx_allowed(sk))
		return;
	alt = quic_path_alt_rx(sk);
	if (alt)
		quic_path_send_alt(sk, QUIC_FRAME_PATH_RESPONSE, data);
}

/**
 * quic_path_response_rcv - a PATH_RESPONSE from the peer
 * @sk: the connection (locked)
 * @data: its 8 bytes
 *
 * If it answers the challenge on the alternative path, that path is
 * validated and becomes the connection's path.
 */
void quic_path_response_rcv(struct sock *sk, const u8 *data)
{
	struct quic_path_alt *alt = &quic_paths(sk)->alt;

	if (alt->validating && !crypto_memneq(alt->challenge, data, 8))
		quic_path_switch(sk);
}

/**
 * quic_path_rcv - after the frames of a 1-RTT packet were handled
 * @sk: the connection (locked)
 * @dcid: the packet's Destination Connection ID
 * @newest: it has the highest packet number so far
 * @non_probing: it had frames other than probing ones (RFC 9000 9.1)
 *
 * RFC 9000 9.3: only the newest non-probing packet moves the peer, and
 * its new address is validated before we send there.  A packet that only
 * arrived at our preferred address moves us there at once (9.6.3).
 */
void quic_path_rcv(struct sock *sk, const struct quic_conn_id *dcid,
		   bool newest, bool non_probing)
{
	struct quic_path_alt *alt;

	if (sk->sk_state != QUIC_SS_ESTABLISHED || !non_probing || !newest)
		return;
	quic_conn_scid_used(sk, dcid);
	if (quic_path_rx_current(sk) || !quic_path_rx_allowed(sk))
		return;
	/* a server validating our new address sends from the address we
	 * left until then: a client does not go back for that
	 */
	if (!quic_is_serv(sk) &&
	    quic_addr_equal(&quic_rx(sk)->from, &quic_paths(sk)->old_peer))
		return;
	alt = quic_path_alt_rx(sk);
	if (!alt)
		return;
	if (!alt->new_peer)
		quic_path_switch(sk);
	else if (!alt->validating)
		quic_path_challenge(sk);
}

/**
 * quic_path_rx_bytes - account a received datagram for path validation
 * @sk: the connection (locked)
 * @len: the datagram's length
 *
 * Counts the datagram's length for a server's
 * anti-amplification limit until the peer's address is validated
 * (RFC 9000 8.1) and, while the alternative path is limited by the
 * three-times rule (RFC 9000 8.2.1), for that path when it came from its
 * peer address.
 */
void quic_path_rx_bytes(struct sock *sk, u32 len)
{
	struct quic_paths *paths = quic_paths(sk);
	struct quic_path_alt *alt = &paths->alt;
	struct quic_rx *rx = quic_rx(sk);

	if (quic_is_serv(sk) && !paths->addr_validated)
		paths->rx_bytes += len;
	if (alt->active && alt->limited && rx->from_set &&
	    quic_addr_equal(&alt->peer, &rx->from))
		alt->rx_bytes += len;
}

/**
 * quic_path_dst - the route of the connection's path, cached
 * @sk: the connection (locked)
 *
 * The route of the connection's path, kept in sk_dst_cache (with the
 * source address it chose, @dst_saddr of the paths) until it goes stale or the path
 * changes (quic_set_local(), quic_set_peer()).  The source is the address
 * the connection uses, even on a wildcard-bound UDP socket.  No reference
 * is taken for the caller: the cache holds one while the socket is locked.
 *
 * Return: the route, or an ERR_PTR.
 */
struct dst_entry *quic_path_dst(struct sock *sk)
{
	struct quic_paths *paths = quic_paths(sk);
	union quic_addr src = paths->local;
	struct dst_entry *dste;

	dste = __sk_dst_check(sk, paths->dst_cookie);
	if (dste)
		return dste;
	quic_addr_set_port(&src, inet_sk(sk)->inet_sport);
	dste = quic_udp_route(paths->udp, &src, &paths->peer,
			      sk->sk_bound_dev_if, &paths->dst_saddr);
	if (IS_ERR(dste))
		return dste;
	paths->dst_cookie = paths->peer.sa.sa_family == AF_INET6 ?
			 rt6_get_cookie(dst_rt6_info(dste)) : 0;
	sk_dst_set(sk, dste);
	return dste;
}

/**
 * quic_path_tx_bytes - account a datagram sent on the connection's path
 * @sk: the connection (locked)
 * @len: its length
 */
void quic_path_tx_bytes(struct sock *sk, u32 len)
{
	quic_paths(sk)->tx_bytes += len;
}

/**
 * quic_path_addr_validated - the peer's address is validated (RFC 9000 8.1)
 * @sk: the server connection (locked)
 *
 * Lifts the three-times limit on what we send to it.
 */
void quic_path_addr_validated(struct sock *sk)
{
	quic_paths(sk)->addr_validated = 1;
}

/**
 * quic_path_response_due - a PATH_RESPONSE to send, if any
 * @sk: the connection (locked)
 *
 * Return: the 8 bytes to echo, or NULL.  quic_path_response_sent() once
 * it is written.
 */
const u8 *quic_path_response_due(struct sock *sk)
{
	struct quic_paths *paths = quic_paths(sk);

	return paths->path_response_pending ? paths->path_response : NULL;
}

/**
 * quic_path_response_sent - the PATH_RESPONSE left in a packet
 * @sk: the connection (locked)
 */
void quic_path_response_sent(struct sock *sk)
{
	quic_paths(sk)->path_response_pending = 0;
}

/**
 * quic_path_init - a new socket's path: no addresses yet, of its family
 * @sk: the socket
 */
void quic_path_init(struct sock *sk)
{
	struct quic_paths *paths = quic_paths(sk);

	paths->local.sa.sa_family = sk->sk_family;
	paths->peer.sa.sa_family = sk->sk_family;
}

/**
 * quic_path_unbind - release the UDP tunnel socket the socket is bound to
 * @sk: the socket (locked), being destroyed
 */
void quic_path_unbind(struct sock *sk)
{
	struct quic_paths *paths = quic_paths(sk);

	if (paths->udp) {
		quic_udp_sock_put(paths->udp);
		paths->udp = NULL;
	}
}

/**
 * quic_path_set_udp - the UDP tunnel socket the connection's path uses
 * @sk: the socket (locked), binding or accepted
 * @us: the socket, referenced by the caller for @sk
 */
void quic_path_set_udp(struct sock *sk, struct quic_udp_sock *us)
{
	quic_paths(sk)->udp = us;
}

/* ---- the server's preferred address (RFC 9000 9.6) ------------------- */

/**
 * quic_path_set_pref - QUIC_SOCKOPT_CONNECTION_MIGRATION on a server
 *	before the handshake: offer @a as preferred_address
 * @sk: the accepted connection (locked, process context)
 * @a: the address (family checked); bound here, with bind()'s checks
 *
 * Return: 0, -EINVAL (a wildcard, port 0, too late, already set),
 * -EADDRINUSE/-EACCES from binding, or what issuing its ID returned.
 */
int quic_path_set_pref(struct sock *sk, const union quic_addr *a)
{
	struct quic_paths *paths = quic_paths(sk);
	struct quic_sock *qs = quic_sk(sk);
	struct quic_tp_pref_addr *pa = &qs->local_tp.pref_addr;
	struct quic_udp_sock *us;
	union quic_addr local;
	int err;

	if (sk->sk_state != QUIC_SS_ESTABLISHING || paths->pref_udp ||
	    quic_keys(sk, QUIC_CRYPTO_HANDSHAKE)->tx_ready ||
	    quic_addr_any(a) || !quic_addr_port(a))
		return -EINVAL;
	us = quic_udp_sock_get(sk, a);
	if (IS_ERR(us))
		return PTR_ERR(us);
	memset(pa, 0, sizeof(*pa));
	err = quic_conn_pref_cid(sk, &pa->cid, pa->token);
	if (err) {
		quic_udp_sock_put(us);
		return err;
	}
	quic_udp_sock_local(us, a, &local);
	if (a->sa.sa_family == AF_INET6) {
		memcpy(pa->v6_addr, &local.v6.sin6_addr, 16);
		pa->v6_port = ntohs(local.v6.sin6_port);
	} else {
		memcpy(pa->v4_addr, &local.v4.sin_addr, 4);
		pa->v4_port = ntohs(local.v4.sin_port);
	}
	qs->local_tp.pref_addr_present = 1;
	paths->pref_udp = us;
	paths->pref_local = local;
	return 0;
}

/* Client: which of the server's preferred addresses, if any, it can use:
 * the family it uses now first; IPv6 only on a PF_INET6 socket, IPv4 on
 * one unless it is IPv6-only.
 */
static int quic_path_pref_pick(struct sock *sk, union quic_addr *a)
{
	const struct quic_tp_pref_addr *pa = &quic_sk(sk)->remote_tp.pref_addr;
	bool v4 = pa->v4_port && memchr_inv(pa->v4_addr, 0, 4) &&
		  !(sk->sk_family == AF_INET6 && sk->sk_ipv6only);
	bool v6 = pa->v6_port && sk->sk_family == AF_INET6 &&
		  memchr_inv(pa->v6_addr, 0, 16);

	memset(a, 0, sizeof(*a));
	if (v6 && (!v4 || quic_paths(sk)->peer.sa.sa_family == AF_INET6)) {
		a->v6.sin6_family = AF_INET6;
		memcpy(&a->v6.sin6_addr, pa->v6_addr, 16);
		a->v6.sin6_port = htons(pa->v6_port);
		return 0;
	}
	if (!v4)
		return -ENOENT;
	a->v4.sin_family = AF_INET;
	memcpy(&a->v4.sin_addr, pa->v4_addr, 4);
	a->v4.sin_port = htons(pa->v4_port);
	return 0;
}

/**
 * quic_path_pref_prepare - client, both 1-RTT keys installed: set up the
 *	path to the server's preferred address, validated once the
 *	handshake is confirmed (RFC 9000 9.6.1)
 * @sk: the connection (locked, process context)
 *
 * The current UDP socket is kept when it reaches the address (same
 * family, or dual stack); else a new one of that family is bound.  If
 * anything fails the connection stays where it is.
 */
void quic_path_pref_prepare(struct sock *sk)
{
	struct quic_paths *paths = quic_paths(sk);
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &paths->alt;
	union quic_addr peer, local, any = {};
	struct quic_udp_sock *us = paths->udp;

	if (quic_is_serv(sk) || !qs->remote_tp.pref_addr_present ||
	    alt->active || !quic_cids(sk)->dcid_count || quic_path_pref_pick(sk, &peer))
		return;
	local = us->addr;
	/* an IPv4 UDP socket cannot send IPv6; a dual-stack one sends both */
	if ((us->addr.sa.sa_family != peer.sa.sa_family &&
	     (peer.sa.sa_family == AF_INET6 || us->v6only)) ||
	    quic_addr_route_saddr(sk, &peer, &local)) {
		any.sa.sa_family = peer.sa.sa_family;
		us = quic_udp_sock_get(sk, &any);
		if (IS_ERR(us))
			return;
		local = us->addr;
		if (quic_addr_route_saddr(sk, &peer, &local)) {
			quic_udp_sock_put(us);
			return;
		}
	} else {
		quic_udp_sock_hold(us);
	}
	memset(alt, 0, sizeof(*alt));
	alt->peer = peer;
	alt->new_peer = 1;
	alt->local = local;
	if (us != paths->udp || !quic_addr_equal(&local, &paths->local)) {
		alt->udp = us;
		alt->new_local = 1;
	} else {
		quic_udp_sock_put(us);
	}
	quic_path_alt_dcid(sk);
	alt->pref = 1;
	alt->active = 1;
	if (qs->confirmed)
		quic_path_pref_start(sk);
}

/**
 * quic_path_pref_start - client, handshake confirmed: validate the
 *	preferred address path
 * @sk: the connection (locked)
 *
 * Starts PATH_CHALLENGEs on the path quic_path_pref_prepare() set up, if
 * there is one that is not being validated yet.
 */
void quic_path_pref_start(struct sock *sk)
{
	struct quic_path_alt *alt = &quic_paths(sk)->alt;

	if (!alt->active || !alt->pref || alt->validating)
		return;
	alt->pref = 0;
	quic_path_challenge(sk);
}

/**
 * quic_set_local - record the local address of the socket
 * @sk: the socket
 * @a: the address, port included
 *
 * Sets the inet fields getsockname() reads and resets the cached route.
 * An IPv4 address on a PF_INET6 socket (dual stack) reads as v4-mapped.
 */
void quic_set_local(struct sock *sk, const union quic_addr *a)
{
	struct inet_sock *inet = inet_sk(sk);

	quic_paths(sk)->local = *a;
	sk_dst_reset(sk);
	inet->inet_num = ntohs(quic_addr_port(a));
	inet->inet_sport = quic_addr_port(a);
	if (a->sa.sa_family == AF_INET6) {
		sk->sk_v6_rcv_saddr = a->v6.sin6_addr;
		inet6_sk(sk)->saddr = a->v6.sin6_addr;
		sk->sk_bound_dev_if = a->v6.sin6_scope_id;
		return;
	}
	inet->inet_rcv_saddr = a->v4.sin_addr.s_addr;
	inet->inet_saddr = a->v4.sin_addr.s_addr;
	if (sk->sk_family == AF_INET6) {
		ipv6_addr_set_v4mapped(a->v4.sin_addr.s_addr,
				       &sk->sk_v6_rcv_saddr);
		inet6_sk(sk)->saddr = sk->sk_v6_rcv_saddr;
	}
}

/**
 * quic_set_peer - record the peer address of the socket
 * @sk: the socket
 * @a: the address, port included
 *
 * Sets the inet fields getpeername() reads and resets the cached route.
 * An IPv4 address on a PF_INET6 socket (dual stack) reads as v4-mapped.
 */
void quic_set_peer(struct sock *sk, const union quic_addr *a)
{
	struct inet_sock *inet = inet_sk(sk);

	quic_paths(sk)->peer = *a;
	sk_dst_reset(sk);
	inet->inet_dport = quic_addr_port(a);
	if (a->sa.sa_family == AF_INET6) {
		sk->sk_v6_daddr = a->v6.sin6_addr;
		return;
	}
	inet->inet_daddr = a->v4.sin_addr.s_addr;
	if (sk->sk_family == AF_INET6)
		ipv6_addr_set_v4mapped(a->v4.sin_addr.s_addr, &sk->sk_v6_daddr);
}
