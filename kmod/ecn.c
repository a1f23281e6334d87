// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: Explicit Congestion Notification (RFC 9000 13.4, RFC 9002 7.1).
 *
 * Receive side: the ECN codepoint of each datagram is read from its IP
 * header and every packet processed from it is counted in its packet
 * number space; ACK frames then carry the counts (ACK_ECN).
 *
 * Send side: once the handshake is confirmed, datagrams on the
 * connection's path are marked ECT(0).  The path is tested first (RFC
 * 9000 13.4.2, A.4): QUIC_ECN_TESTING_PKTS datagrams are marked, then
 * marking stops until an ACK frame reports them.  Validation fails when
 * an ACK newly acknowledges marked packets without ECN counts or with an
 * increase of ECT(0) + CE smaller than their number (the marks were
 * bleached or dropped on the way), when the counts go backwards or claim
 * more than was sent, or when every test packet is lost; ECN then stays
 * off on the path.  A rise of the peer's CE count is a congestion event
 * (quic_recovery_ack_rcv()), with no retransmission.  The namespace's
 * net.quic.ecn = 0 turns marking off for new paths.
 */

#include <net/inet_ecn.h>
#include <net/sock.h>

#include "netns.h"
#include "socket.h"
#include "ecn.h"

/**
 * quic_ecn_init - test ECN on a (new) path
 * @sk: the connection (locked)
 *
 * The receive counts and the peer's reported counts are per connection
 * and stay; only the validation of the path starts over.  With the
 * namespace's net.quic.ecn at 0 the path is never marked (the peer's
 * marks are still counted and reported).
 */
void quic_ecn_init(struct sock *sk)
{
	struct quic_ecn *e = quic_ecn(sk);

	e->state = READ_ONCE(quic_net(sock_net(sk))->ecn) ?
		   QUIC_ECN_TESTING : QUIC_ECN_OFF;
	e->testing_sent = 0;
	e->testing_lost = 0;
}

/**
 * quic_ecn_codepoint - the ECN field of a received datagram
 * @skb: the datagram, its IP header still in front of it
 *
 * Return: INET_ECN_NOT_ECT, INET_ECN_ECT_1, INET_ECN_ECT_0 or INET_ECN_CE.
 */
u8 quic_ecn_codepoint(const struct sk_buff *skb)
{
	if (ip_hdr(skb)->version == 6)
		return ipv6_get_dsfield(ipv6_hdr(skb)) & INET_ECN_MASK;
	return ip_hdr(skb)->tos & INET_ECN_MASK;
}

/**
 * quic_ecn_rcvd - a packet of @space was processed
 * @sk: the connection (locked)
 * @space: its packet number space
 * @codepoint: the ECN field of its datagram
 */
void quic_ecn_rcvd(struct sock *sk, u8 space, u8 codepoint)
{
	u64 *rcvd = quic_ecn(sk)->rcvd[space];

	switch (codepoint) {
	case INET_ECN_ECT_0:
		rcvd[QUIC_ECN_ECT0]++;
		break;
	case INET_ECN_ECT_1:
		rcvd[QUIC_ECN_ECT1]++;
		break;
	case INET_ECN_CE:
		rcvd[QUIC_ECN_CE]++;
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_ECN_CE_RCVD);
		break;
	}
}

/**
 * quic_ecn_counts - the counts an ACK frame of @space carries
 * @sk: the connection
 * @space: the packet number space
 *
 * Return: the ECT(0), ECT(1) and CE counts, or NULL while no marked packet
 * arrived (a plain ACK frame is sent).
 */
const u64 *quic_ecn_counts(struct sock *sk, u8 space)
{
	const u64 *rcvd = quic_ecn(sk)->rcvd[space];

	if (!rcvd[QUIC_ECN_ECT0] && !rcvd[QUIC_ECN_ECT1] && !rcvd[QUIC_ECN_CE])
		return NULL;
	return rcvd;
}

/**
 * quic_ecn_tx - the ECN field of the next datagram on the connection's path
 * @sk: the connection (locked)
 *
 * Return: INET_ECN_ECT_0 while testing or once capable after the handshake
 * is confirmed, else INET_ECN_NOT_ECT.
 */
u8 quic_ecn_tx(struct sock *sk)
{
	u8 state = quic_ecn(sk)->state;

	if (!quic_sk(sk)->confirmed ||
	    (state != QUIC_ECN_TESTING && state != QUIC_ECN_CAPABLE))
		return INET_ECN_NOT_ECT;
	return INET_ECN_ECT_0;
}

/**
 * quic_ecn_sent - a packet of @space left in a datagram marked ECT(0)
 * @sk: the connection (locked)
 * @space: its packet number space
 * @eliciting: it is ack-eliciting (tracked for loss): a test packet
 */
void quic_ecn_sent(struct sock *sk, u8 space, bool eliciting)
{
	struct quic_ecn *e = quic_ecn(sk);

	e->sent[space]++;
	if (eliciting && e->state == QUIC_ECN_TESTING &&
	    ++e->testing_sent >= QUIC_ECN_TESTING_PKTS)
		e->state = QUIC_ECN_UNKNOWN;
}

static void quic_ecn_fail(struct sock *sk)
{
	quic_ecn(sk)->state = QUIC_ECN_FAILED;
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_ECN_FAILED);
}

/**
 * quic_ecn_lost - a packet sent marked ECT(0) was declared lost
 * @sk: the connection (locked)
 *
 * Every test packet lost: the path may drop marked packets (RFC 9000
 * A.4), ECN is turned off.
 */
void quic_ecn_lost(struct sock *sk)
{
	struct quic_ecn *e = quic_ecn(sk);

	if (e->state != QUIC_ECN_TESTING && e->state != QUIC_ECN_UNKNOWN)
		return;
	if (++e->testing_lost >= e->testing_sent &&
	    e->state == QUIC_ECN_UNKNOWN)
		quic_ecn_fail(sk);
}

/**
 * quic_ecn_ack - validate the ECN counts of an ACK frame
 * @sk: the connection (locked)
 * @space: the packet number space
 * @ack: what the frame carried and newly acknowledged; called only when
 *	its largest acknowledged packet number is new, so that a reordered
 *	older ACK frame is not taken for counts going backwards
 *
 * Return: true if the peer's CE count rose on a capable path: the caller
 * reacts as to a loss of the newest acknowledged packet.
 */
bool quic_ecn_ack(struct sock *sk, u8 space, const struct quic_ecn_ack *ack)
{
	struct quic_ecn *e = quic_ecn(sk);
	const u64 *c = ack->counts;
	u64 *peer = e->peer[space], inc;
	bool ce;

	if (e->state == QUIC_ECN_FAILED || e->state == QUIC_ECN_OFF)
		return false;
	if (!c) {
		if (ack->newly_marked)
			quic_ecn_fail(sk);	/* bleached, or not counted */
		return false;
	}
	if (c[QUIC_ECN_ECT0] < peer[QUIC_ECN_ECT0] ||
	    c[QUIC_ECN_ECT1] < peer[QUIC_ECN_ECT1] ||
	    c[QUIC_ECN_CE] < peer[QUIC_ECN_CE] || c[QUIC_ECN_ECT1] ||
	    c[QUIC_ECN_ECT0] > e->sent[space] ||
	    c[QUIC_ECN_CE] > e->sent[space] - c[QUIC_ECN_ECT0]) {
		quic_ecn_fail(sk);
		return false;
	}
	inc = c[QUIC_ECN_ECT0] - peer[QUIC_ECN_ECT0] +
	      c[QUIC_ECN_CE] - peer[QUIC_ECN_CE];
	if (inc < ack->newly_marked) {
		quic_ecn_fail(sk);
		return false;
	}
	ce = c[QUIC_ECN_CE] > peer[QUIC_ECN_CE];
	memcpy(peer, c, sizeof(e->peer[space]));
	if (ack->newly_marked && e->state != QUIC_ECN_CAPABLE) {
		e->state = QUIC_ECN_CAPABLE;
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_ECN_CAPABLE);
	}
	if (ce)
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_ECN_CE_EVENTS);
	return ce && e->state == QUIC_ECN_CAPABLE;
}
