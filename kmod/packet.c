// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: packet parsing and building (RFC 9000 section 17).
 *
 * Receive: quic_packet_rcv() runs in softirq for every datagram on a QUIC
 * UDP tunnel socket.  It reads just enough of the first header to find
 * the connection by Destination Connection ID, or, for a client Initial
 * that matches none, the listener on that port.  The connection's socket
 * then processes the datagram under its lock (or from its backlog):
 * every coalesced packet is unprotected, checked and its frames handled.
 *
 * Send: a struct quic_dgram collects one packet per number space into a
 * linear skb; quic_dgram_send() pads, seals and transmits it.
 */

#include <linux/skbuff.h>
#include <linux/udp.h>
#include <linux/ipv6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <net/udp_tunnel.h>

#include "netns.h"
#include "socket.h"
#include "path.h"
#include "packet.h"
#include "frame.h"
#include "connection.h"
#include <trace/events/quic.h>

static u8 quic_long_type(u32 version, u8 first)
{
	u8 t = (first >> 4) & 0x3;

	if (version == QUIC_VERSION_V2) {
		/* RFC 9369 3.2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00 */
		static const u8 v2[4] = { QUIC_PKT_RETRY, QUIC_PKT_INITIAL,
					  QUIC_PKT_0RTT, QUIC_PKT_HANDSHAKE };
		return v2[t];
	}
	return t;	/* v1: Initial 0, 0-RTT 1, Handshake 2, Retry 3 */
}

static u8 quic_long_type_bits(u32 version, u8 type)
{
	if (version == QUIC_VERSION_V2) {
		static const u8 v2[4] = { 1, 2, 3, 0 };
		return v2[type];
	}
	return type;
}

static bool quic_version_supported(u32 v)
{
	return v == QUIC_VERSION_V1 || v == QUIC_VERSION_V2;
}

/* Parse the long header up to the Length field, or the short header with
 * our fixed CID length.  Only bounds are checked here.
 */
static int quic_hdr_parse(const u8 *data, u32 len, struct quic_hdr *h)
{
	struct quic_reader r = { data, data + len };
	const u8 *p;
	u64 plen;
	u8 first, l;

	memset(h, 0, sizeof(*h));
	if (!quic_get_u8(&r, &first))
		return -EINVAL;
	if (!(first & 0x80)) {
		h->type = QUIC_PKT_SHORT;
		if (!quic_get_bytes(&r, &p, QUIC_CID_LEN))
			return -EINVAL;
		quic_cid_set(&h->dcid, p, QUIC_CID_LEN);
		h->pn_offset = 1 + QUIC_CID_LEN;
		h->len = len;
		return 0;
	}
	if (!quic_get_bytes(&r, &p, 4))
		return -EINVAL;
	h->version = get_unaligned_be32(p);
	if (!quic_get_u8(&r, &l) || l > QUIC_CID_MAX_LEN ||
	    !quic_get_bytes(&r, &p, l))
		return -EINVAL;
	quic_cid_set(&h->dcid, p, l);
	if (!quic_get_u8(&r, &l) || l > QUIC_CID_MAX_LEN ||
	    !quic_get_bytes(&r, &p, l))
		return -EINVAL;
	quic_cid_set(&h->scid, p, l);
	if (!h->version || !quic_version_supported(h->version))
		return -EPROTONOSUPPORT;
	h->type = quic_long_type(h->version, first);
	if (h->type == QUIC_PKT_RETRY) {
		h->len = len;
		return 0;
	}
	if (h->type == QUIC_PKT_INITIAL) {
		if (!quic_get_varint(&r, &h->token_len))
			return -EINVAL;
		h->token_offset = r.p - data;
		if (!quic_get_bytes(&r, &p, h->token_len))
			return -EINVAL;
	}
	if (!quic_get_varint(&r, &plen) || plen > quic_reader_left(&r))
		return -EINVAL;
	h->pn_offset = r.p - data;
	h->len = h->pn_offset + plen;
	return 0;
}

static void quic_skb_addrs(struct sk_buff *skb, union quic_addr *from,
			   union quic_addr *to)
{
	struct udphdr *uh = udp_hdr(skb);

	memset(from, 0, sizeof(*from));
	memset(to, 0, sizeof(*to));
	if (ip_hdr(skb)->version == 6) {
		struct ipv6hdr *ip6 = ipv6_hdr(skb);

		from->v6.sin6_family = AF_INET6;
		from->v6.sin6_addr = ip6->saddr;
		from->v6.sin6_port = uh->source;
		to->v6.sin6_family = AF_INET6;
		to->v6.sin6_addr = ip6->daddr;
		to->v6.sin6_port = uh->dest;
		if (ipv6_addr_type(&ip6->saddr) & IPV6_ADDR_LINKLOCAL)
			from->v6.sin6_scope_id = inet6_iif(skb);
		return;
	}
	from->v4.sin_family = AF_INET;
	from->v4.sin_addr.s_addr = ip_hdr(skb)->saddr;
	from->v4.sin_port = uh->source;
	to->v4.sin_family = AF_INET;
	to->v4.sin_addr.s_addr = ip_hdr(skb)->daddr;
	to->v4.sin_port = uh->dest;
}

static void quic_sk_wake_waiters(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_all(&wq->wait);
	rcu_read_unlock();
}

/* Datagrams for a socket that a task is asleep on (in sendmsg or
 * recvmsg, see quic_sk_wait()) go to the backlog and wake that task: it
 * takes the socket lock again before it returns, so its release_sock()
 * opens and processes them on the task's own CPU.  Decrypting in softirq
 * instead would put the receiver's work on the CPU that sent them (on
 * loopback, the sender's), and the two ends of a transfer would no longer
 * run in parallel.  Note the waiter count is only changed by the socket's
 * owner, so seeing it set on an unowned socket means the waiter is between
 * the release and the re-lock of sk_wait_event().
 *
 * @list holds one datagram, or the datagrams of a coalesced burst for this
 * socket in the order they came: all are processed under one lock, with
 * one flush of the send queue and one reader wake-up at the end.
 */
static void quic_packet_process(struct sock *sk, struct sk_buff *skb,
				bool pending);

static void quic_sk_rcv(struct sock *sk, struct sk_buff_head *list)
{
	struct quic_rx *rx = quic_rx(sk);
	bool owned, queued = false;
	struct sk_buff *skb;

	bh_lock_sock(sk);
	owned = sock_owned_by_user(sk);
	if (!owned && !READ_ONCE(quic_sk(sk)->waiters)) {
		rx->batch = 1;
		while ((skb = __skb_dequeue(list)))
			quic_packet_process(sk, skb, false);
		rx->batch = 0;
		if (rx->wake) {
			rx->wake = 0;
			sk->sk_data_ready(sk);
		}
		quic_outq_flush(sk);
		bh_unlock_sock(sk);
		return;
	}
	while ((skb = __skb_dequeue(list))) {
		if (sk_add_backlog(sk, skb, READ_ONCE(sk->sk_rcvbuf) +
				   READ_ONCE(sk->sk_sndbuf))) {
			QUIC_INC_STATS(sock_net(sk), QUIC_MIB_PKT_RCVDROP);
			trace_quic_packet_dropped(sk, skb->len,
						  QUIC_DROP_BACKLOG);
			kfree_skb(skb);
			continue;
		}
		queued = true;
	}
	if (!owned && queued)
		quic_sk_wake_waiters(sk);
	bh_unlock_sock(sk);
}

/* RFC 9000 6.1: answer a client Initial of an unknown version with the
 * versions we support (only where a listener could serve it), and a
 * reserved version of the 0x?a?a?a?a form (RFC 9000 15) at a random place,
 * so that clients do not come to rely on the list's shape.
 */
static void quic_send_version_negotiation(struct quic_udp_sock *us,
					  const struct quic_hdr *h,
					  const union quic_addr *from,
					  const union quic_addr *to)
{
	u32 versions[3] = { QUIC_VERSION_V1, QUIC_VERSION_V2 }, grease, i;
	struct sk_buff *skb;
	u8 *p;

	if (!quic_listen_active(us))
		return;
	do {
		grease = (get_random_u32() & 0xf0f0f0f0) | 0x0a0a0a0a;
	} while (grease == h->version);
	i = get_random_u32_below(3);
	versions[2] = versions[i];
	versions[i] = grease;
	skb = alloc_skb(QUIC_HEADROOM + 64, GFP_ATOMIC);
	if (!skb)
		return;
	skb_reserve(skb, QUIC_HEADROOM);
	p = skb_put(skb, 1 + 4 + 1 + h->scid.len + 1 + h->dcid.len +
		    sizeof(versions));
	*p++ = 0x80 | (get_random_u8() & 0x7f);
	put_unaligned_be32(0, p);
	p += 4;
	*p++ = h->scid.len;
	p = quic_put_data(p, h->scid.data, h->scid.len);
	*p++ = h->dcid.len;
	p = quic_put_data(p, h->dcid.data, h->dcid.len);
	for (i = 0; i < ARRAY_SIZE(versions); i++)
		put_unaligned_be32(versions[i], p + 4 * i);
	if (quic_udp_send(us, skb, to, from, 0))
		kfree_skb(skb);
}

#define QUIC_RESET_MIN		21	/* RFC 9000 10.3: 5 + the token */
#define QUIC_RESET_MAX		64
#define QUIC_RESETS_PER_SEC	100	/* sent, and looked for, per netns */

/* Within the namespace's budget this second of stateless resets sent
 * (@lookup false) or of datagrams checked for being one?
 */
static bool quic_reset_allowed(struct net *net, bool lookup)
{
	struct quic_net *qn = quic_net(net);
	unsigned long start = READ_ONCE(qn->reset_window);

	if (time_after(jiffies, start + HZ)) {
		WRITE_ONCE(qn->reset_window, jiffies);
		atomic_set(&qn->reset_count[0], 0);
		atomic_set(&qn->reset_count[1], 0);
	}
	return atomic_inc_return(&qn->reset_count[lookup]) <=
	       QUIC_RESETS_PER_SEC;
}

/* RFC 9000 10.3.1: a datagram for no connection ID of ours may be a peer's
 * stateless reset, whose first bytes are random: its last 16 bytes are
 * compared with the reset tokens a connection with its source address
 * was given.  Return that connection, referenced, or NULL.  A linear look
 * at the namespace's sockets, within the reset budget.
 */
static struct sock *quic_reset_lookup(struct net *net, const u8 *data,
				      u32 len, const union quic_addr *from)
{
	struct quic_net *qn = quic_net(net);
	struct sock *sk = NULL;
	struct quic_sock *qs;

	if (len < QUIC_RESET_MIN || !quic_reset_allowed(net, true))
		return NULL;
	spin_lock(&qn->sock_lock);
	list_for_each_entry(qs, &qn->sock_list, node) {
		if (quic_addr_equal(&quic_paths(&qs->inet.sk)->peer, from) &&
		    quic_conn_is_stateless_reset(&qs->inet.sk, data, len)) {
			sk = &qs->inet.sk;
			sock_hold(sk);
			break;
		}
	}
	spin_unlock(&qn->sock_lock);
	return sk;
}

/* RFC 9000 10.3: a short-header packet of @len bytes for a connection ID
 * no socket holds (@h: ours are QUIC_CID_LEN long) is answered with a
 * stateless reset: random bits after a short header's first two, then the
 * reset token of that ID, which the namespace's key derives as it did
 * when the ID was issued.  A reset is shorter than what triggered it (so
 * two endpoints cannot bounce resets for ever) and at least 21 bytes, and
 * the namespace sends at most QUIC_RESETS_PER_SEC a second.
 */
static void quic_send_stateless_reset(struct quic_udp_sock *us, u32 len,
				      const struct quic_hdr *h,
				      const union quic_addr *from,
				      const union quic_addr *to)
{
	struct sk_buff *skb;
	u32 n;
	u8 *p;

	if (len <= QUIC_RESET_MIN || !quic_reset_allowed(us->net, false))
		return;
	n = min_t(u32, len - 1, QUIC_RESET_MAX);
	skb = alloc_skb(QUIC_HEADROOM + n, GFP_ATOMIC);
	if (!skb)
		return;
	skb_reserve(skb, QUIC_HEADROOM);
	p = skb_put(skb, n);
	get_random_bytes(p, n - QUIC_RESET_TOKEN_LEN);
	p[0] = 0x40 | (p[0] & 0x3f);
	if (quic_stateless_reset_token(quic_net_tokens(us->net), h->dcid.data,
				       h->dcid.len,
				       p + n - QUIC_RESET_TOKEN_LEN) ||
	    quic_udp_send(us, skb, to, from, 0)) {
		kfree_skb(skb);
		return;
	}
	QUIC_INC_STATS(us->net, QUIC_MIB_PKT_RESETSENT);
}

/* Find the connection of one datagram (@skb, data at its UDP header):
 * return it referenced, with @skb pulled to the datagram's first packet,
 * or NULL when @skb was consumed (dropped, answered, or queued at a
 * listener).
 */
static struct sock *quic_packet_lookup(struct quic_udp_sock *us,
				       struct sk_buff *skb)
{
	union quic_addr from, to;
	struct net *net = us->net;
	enum quic_drop_reason why = QUIC_DROP_MALFORMED;
	struct quic_hdr h;
	struct sock *sk;
	int err;

	QUIC_INC_STATS(net, QUIC_MIB_PKT_RCV);
	/* packets are unprotected in place: one linear, private copy */
	if (skb_linearize(skb) || skb_unclone(skb, GFP_ATOMIC))
		goto drop;
	if (skb->len <= sizeof(struct udphdr))
		goto drop;
	quic_skb_addrs(skb, &from, &to);
	__skb_pull(skb, sizeof(struct udphdr));

	err = quic_hdr_parse(skb->data, skb->len, &h);
	if (err == -EPROTONOSUPPORT && !h.version) {
		/* Version Negotiation: for the client whose ID it carries */
		sk = quic_cid_lookup(net, h.dcid.data, h.dcid.len, &from);
		if (sk)
			return sk;
	}
	if (err == -EPROTONOSUPPORT && h.version && skb->len >= QUIC_MIN_DGRAM)
		quic_send_version_negotiation(us, &h, &from, &to);
	if (err) {
		if (err == -EPROTONOSUPPORT)
			why = QUIC_DROP_VERSION;
		goto drop;
	}
	sk = quic_cid_lookup(net, h.dcid.data, h.dcid.len, &from);
	if (sk)
		return sk;
	if (h.type == QUIC_PKT_SHORT) {
		sk = quic_reset_lookup(net, skb->data, skb->len, &from);
		if (sk)
			return sk;
		quic_send_stateless_reset(us, skb->len, &h, &from, &to);
	}
	if (h.type != QUIC_PKT_INITIAL && h.type != QUIC_PKT_0RTT) {
		why = QUIC_DROP_UNKNOWN_CONN;
		goto drop;
	}
	return quic_listen_rcv(us, skb, &h, &from, &to);
drop:
	QUIC_INC_STATS(net, QUIC_MIB_PKT_RCVDROP);
	trace_quic_packet_dropped(NULL, skb->len, why);
	kfree_skb(skb);
	return NULL;
}

/* Datagram @off of a coalesced skb (@len bytes at @off past its UDP
 * header): a private linear copy with the IP and UDP headers in front, as
 * a datagram received alone has them (the receive path reads the
 * addresses, ports and ECN field there, all the same for every datagram
 * of a burst).  Copying once is what opening the packets in place needs.
 */
static struct sk_buff *quic_packet_seg(struct sk_buff *gso, u32 off, u32 len)
{
	u32 hlen = skb_transport_header(gso) - skb_network_header(gso) +
		   sizeof(struct udphdr);
	struct sk_buff *skb;

	skb = alloc_skb(hlen + len, GFP_ATOMIC);
	if (!skb)
		return NULL;
	skb_put_data(skb, skb_network_header(gso), hlen);
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, hlen - sizeof(struct udphdr));
	if (skb_copy_bits(gso, sizeof(struct udphdr) + off, skb_put(skb, len),
			  len)) {
		kfree_skb(skb);
		return NULL;
	}
	udp_hdr(skb)->len = htons(sizeof(struct udphdr) + len);
	__skb_pull(skb, hlen - sizeof(struct udphdr));
	memcpy(skb->cb, gso->cb, sizeof(skb->cb));	/* IP6CB's iif */
	skb->protocol = gso->protocol;
	skb->dev = gso->dev;
	skb->skb_iif = gso->skb_iif;
	skb->mark = gso->mark;
	skb->tstamp = gso->tstamp;
	return skb;
}

/* A burst coalesced by UDP GRO: its datagrams, gso_size bytes each but the
 * last, are split off in order; a run of them for the same connection
 * (the usual case: one flow is one 4-tuple) is handed over as one list.
 * Datagrams for other connections, or for none, take their own way.  The
 * datagrams of a run are looked up before the first is processed, so one
 * naming a connection ID that an earlier one retires still reaches the
 * connection, as it would had it come just before.
 */
static void quic_packet_rcv_gso(struct quic_udp_sock *us, struct sk_buff *gso)
{
	u32 size = skb_shinfo(gso)->gso_size, total, off, len, n = 0;
	struct sock *sk = NULL, *nsk;
	struct sk_buff_head list;
	struct sk_buff *skb;

	__skb_queue_head_init(&list);
	total = gso->len > sizeof(struct udphdr) ?
		gso->len - sizeof(struct udphdr) : 0;
	for (off = 0; off < total; off += len) {
		len = min(size, total - off);
		n++;
		skb = quic_packet_seg(gso, off, len);
		if (!skb) {
			QUIC_INC_STATS(us->net, QUIC_MIB_PKT_RCV);
			QUIC_INC_STATS(us->net, QUIC_MIB_PKT_RCVDROP);
			continue;
		}
		nsk = quic_packet_lookup(us, skb);
		if (!nsk)
			continue;
		if (nsk == sk) {
			sock_put(nsk);
		} else {
			if (sk) {
				quic_sk_rcv(sk, &list);
				sock_put(sk);
			}
			sk = nsk;
		}
		__skb_queue_tail(&list, skb);
	}
	if (sk) {
		quic_sk_rcv(sk, &list);
		sock_put(sk);
	}
	QUIC_INC_STATS(us->net, QUIC_MIB_GRO_RCV);
	QUIC_ADD_STATS(us->net, QUIC_MIB_GRO_SEGS, n);
	consume_skb(gso);
}

/**
 * quic_packet_rcv - entry point for datagrams on a QUIC UDP socket
 * @us: the tunnel socket
 * @skb: the datagram, or a burst of them coalesced by UDP GRO; data at
 *	the UDP header, checksum verified
 *
 * Context: softirq.
 */
void quic_packet_rcv(struct quic_udp_sock *us, struct sk_buff *skb)
{
	struct sk_buff_head list;
	struct sock *sk;

	if (skb_is_gso(skb)) {
		quic_packet_rcv_gso(us, skb);
		return;
	}
	sk = quic_packet_lookup(us, skb);
	if (!sk)
		return;
	__skb_queue_head_init(&list);
	__skb_queue_tail(&list, skb);
	quic_sk_rcv(sk, &list);
	sock_put(sk);
}

/* ---- connection receive path (socket locked) ----------------------- */

/* The encryption level of a long or short header packet, or
 * QUIC_CRYPTO_MAX for one not expected now.
 */
static u8 quic_packet_level(struct sock *sk, const struct quic_hdr *h)
{
	switch (h->type) {
	case QUIC_PKT_SHORT:
		return QUIC_CRYPTO_APP;
	case QUIC_PKT_INITIAL:
		return QUIC_CRYPTO_INITIAL;
	case QUIC_PKT_HANDSHAKE:
		return QUIC_CRYPTO_HANDSHAKE;
	case QUIC_PKT_0RTT:
		/* RFC 9001 5.6: for servers only, and not after the handshake
		 * (or its 1-RTT keys, early data refused)
		 */
		if (!quic_is_serv(sk) || sk->sk_state != QUIC_SS_ESTABLISHING ||
		    quic_keys(sk, QUIC_CRYPTO_APP)->rx_ready)
			return QUIC_CRYPTO_MAX;
		return QUIC_CRYPTO_EARLY;
	}
	return QUIC_CRYPTO_MAX;		/* Retry not requested */
}

/* Remove the packet protection of the packet at @data (header @h, at
 * @level) and check what only the plaintext shows.  Returns 0 when it is
 * to be processed, 1 to drop it, or a negative errno once the connection
 * is closed (a stateless reset, a protocol violation).
 */
static int quic_packet_open(struct sock *sk, u8 *data, const struct quic_hdr *h,
			    u8 level, struct quic_crypto_pktinfo *pi)
{
	struct quic_pnspace *s = quic_pnspace(sk, quic_level_space(level));
	struct quic_crypto *keys = quic_keys(sk, level);
	struct net *net = sock_net(sk);
	bool is_short = h->type == QUIC_PKT_SHORT;
	int err;

	if (h->len < h->pn_offset + QUIC_PN_MAX_LEN + QUIC_HP_SAMPLE_LEN) {
		if (is_short && quic_conn_is_stateless_reset(sk, data, h->len)) {
			quic_conn_reset(sk);
			return -ECONNRESET;
		}
		return 1;
	}
	pi->pn_offset = h->pn_offset;
	pi->largest_pn = s->largest_recv;
	err = quic_crypto_decrypt(keys, data, h->len, pi);
	if (err) {
		QUIC_INC_STATS(net, QUIC_MIB_PKT_DECFAIL);
		trace_quic_packet_dropped(sk, h->len, QUIC_DROP_DECRYPT);
		if (is_short && quic_conn_is_stateless_reset(sk, data, h->len)) {
			quic_conn_reset(sk);
			return -ECONNRESET;
		}
		/* RFC 9001 6.6: too many forgeries under one key */
		if (err == -EBADMSG &&
		    quic_crypto_integrity_limit_reached(keys)) {
			quic_conn_error(sk, QUIC_TRANSPORT_ERROR_AEAD_LIMIT_REACHED, 0);
			return -EPROTO;
		}
		return 1;
	}
	if (pi->key_update) {
		/* the peer moved to new 1-RTT keys; refill the spare slots
		 * from process context (quic_ku_work())
		 */
		u8 phase = quic_crypto_key_phase(keys);

		sock_hold(sk);
		if (!schedule_work(&quic_sk(sk)->ku_work))
			sock_put(sk);
		trace_quic_key_update(sk, phase, false);
		quic_inq_event(sk, QUIC_EVENT_KEY_UPDATE, &phase, 1);
	}
	/* reserved bits must be zero once protection is removed */
	if (pi->first_byte & (is_short ? 0x18 : 0x0c)) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION, 0);
		return -EPROTO;
	}
	if (quic_pnspace_is_dup(s, pi->pn)) {
		QUIC_INC_STATS(net, QUIC_MIB_PKT_DUPDROP);
		trace_quic_packet_dropped(sk, h->len, QUIC_DROP_DUPLICATE);
		return 1;
	}
	if (!pi->payload_len) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION, 0);
		return -EPROTO;
	}
	if (level == QUIC_CRYPTO_EARLY)
		QUIC_INC_STATS(net, QUIC_MIB_PKT_0RTT_RCV);
	return 0;
}

/* Packet @pn of @space was processed: record it, and decide when it is
 * acknowledged (RFC 9000 13.2.1: out-of-order packets at once).
 */
static void quic_packet_received(struct sock *sk, u8 space, s64 pn,
				 bool ack_eliciting)
{
	struct quic_pnspace *s = quic_pnspace(sk, space);
	bool ooo = pn != s->largest_recv + 1;

	quic_pnspace_record(s, pn, quic_now());
	quic_ecn_rcvd(sk, space, quic_rx(sk)->ecn);
	if (ack_eliciting) {
		s->ack_pending = 1;
		s->ack_eliciting_rcvd++;
		if (space != QUIC_PN_APP || s->ack_eliciting_rcvd >= 2 || ooo)
			s->ack_immediate = 1;
		else
			quic_timer_reset(sk, QUIC_TIMER_ACK,
					 quic_sk(sk)->local_tp.max_ack_delay);
	}
	quic_outq_rcvd(sk);
	quic_conn_idle_reset(sk);
}

/* Process one packet at @data; return the bytes it occupies, or a
 * negative value to stop processing the datagram.
 */
static int quic_packet_one(struct sock *sk, u8 *data, u32 len, bool pending)
{
	struct quic_rx *rx = quic_rx(sk);
	bool ack_eliciting = false, non_probing;
	struct quic_crypto_pktinfo pi = {};
	struct quic_pnspace *s;
	struct quic_hdr h;
	u8 level, space;
	int err;

	err = quic_hdr_parse(data, len, &h);
	if (err == -EPROTONOSUPPORT && !h.version) {
		/* Version Negotiation: its bits but the first are random */
		quic_conn_version_negotiation(sk, data, len, &h.dcid, &h.scid);
		return -EINVAL;		/* nothing else in its datagram */
	}
	if (!(data[0] & 0x40)) {	/* fixed bit (no grease support yet) */
		trace_quic_packet_dropped(sk, len, QUIC_DROP_MALFORMED);
		return -EINVAL;
	}
	if (err) {
		trace_quic_packet_dropped(sk, len, QUIC_DROP_MALFORMED);
		return err;
	}
	if (h.type != QUIC_PKT_SHORT && h.version != quic_sk(sk)->version &&
	    !quic_conn_version_offered(sk, h.version, h.type)) {
		trace_quic_packet_dropped(sk, len, QUIC_DROP_VERSION);
		return -EINVAL;
	}
	if (h.type == QUIC_PKT_RETRY) {
		quic_conn_retry(sk, data, h.len, &h.scid);
		return h.len;
	}
	/* a server sends no token in Initials */
	if (h.type == QUIC_PKT_INITIAL && !quic_is_serv(sk) && h.token_len)
		return h.len;
	level = quic_packet_level(sk, &h);
	if (level == QUIC_CRYPTO_MAX) {
		trace_quic_packet_dropped(sk, h.len, QUIC_DROP_UNEXPECTED);
		return h.len;
	}
	space = quic_level_space(level);
	s = quic_pnspace(sk, space);
	if (s->discarded) {
		trace_quic_packet_dropped(sk, h.len, QUIC_DROP_SPACE);
		return h.len;
	}
	if (!quic_keys(sk, level)->rx_ready) {
		/* kept (bounded) until the keys come; a 0-RTT packet still
		 * waits when 1-RTT packets waiting with it are processed
		 */
		quic_inq_pending_add(sk, space, data, h.len);
		return h.len;
	}
	err = quic_packet_open(sk, data, &h, level, &pi);
	if (err)
		return err < 0 ? err : h.len;

	/* RFC 9000 7.2: a client switches to the server's chosen ID */
	if (h.type == QUIC_PKT_INITIAL && !quic_is_serv(sk))
		quic_conn_peer_scid(sk, &h.scid);
	if (h.type == QUIC_PKT_HANDSHAKE && quic_is_serv(sk)) {
		/* RFC 9000 8.1: a Handshake packet validates the address;
		 * RFC 9001 4.9.1: the server drops its Initial keys.
		 */
		quic_path_addr_validated(sk);
		quic_conn_discard_space(sk, QUIC_PN_INITIAL);
	}

	if (trace_quic_frame_recv_enabled())
		quic_frame_trace(sk, level, pi.pn, data + pi.hlen,
				 pi.payload_len, false);
	rx->dcid = &h.dcid;
	err = quic_frame_process(sk, level, data + pi.hlen, pi.payload_len,
				 &ack_eliciting, &non_probing);
	rx->dcid = NULL;
	if (err)
		return err;
	trace_quic_packet_recv(sk, level, pi.pn, pi.payload_len, h.len,
			       ack_eliciting);
	if (level == QUIC_CRYPTO_APP)
		quic_path_rcv(sk, &h.dcid, pi.pn > s->largest_recv, non_probing);
	if (s->discarded)
		return h.len;
	quic_packet_received(sk, space, pi.pn, ack_eliciting);
	return h.len;
}

static void quic_packet_process(struct sock *sk, struct sk_buff *skb,
				bool pending)
{
	struct quic_rx *rx = quic_rx(sk);
	u32 off = 0;
	int n;

	if (sk->sk_state == QUIC_SS_CLOSED && quic_close_state(sk)->closing &&
	    !quic_close_state(sk)->draining && !pending) {
		/* RFC 9000 10.2.1: in the closing state, answer (a few)
		 * packets with our CONNECTION_CLOSE again
		 */
		if (quic_conn_close_resend(sk))
			quic_outq_send_close(sk);
		goto out;
	}
	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		goto out;
	rx->from_set = !pending;
	rx->ecn = 0;
	if (!pending) {
		quic_skb_addrs(skb, &rx->from, &rx->to);
		rx->ecn = quic_ecn_codepoint(skb);
		rx->len = skb->len;
		quic_path_rx_bytes(sk, skb->len);
	}
	rx->skb = skb;
	while (off < skb->len) {
		n = quic_packet_one(sk, skb->data + off, skb->len - off, pending);
		if (n <= 0)
			break;
		off += n;
		if (sk->sk_state == QUIC_SS_CLOSED)
			break;
	}
	rx->skb = NULL;
out:
	consume_skb(skb);
}

/**
 * quic_packet_backlog_rcv - process a received datagram and send replies
 * @sk: the connection (locked)
 * @skb: the datagram; consumed
 *
 * The proto's backlog_rcv, and what the softirq receive path calls when
 * the socket is not owned: opens and handles the datagram's packets,
 * then flushes the send queue.
 * Context: socket lock held (softirq, or release_sock()'s backlog).
 *
 * Return: 0.
 */
int quic_packet_backlog_rcv(struct sock *sk, struct sk_buff *skb)
{
	quic_packet_process(sk, skb, false);
	quic_outq_flush(sk);
	return 0;
}

/**
 * quic_packet_process_pending - the receive keys of a space were installed
 * @sk: the connection (locked)
 * @space: the packet number space
 *
 * Processes the packets that waited for the keys.  A packet of a level
 * still without keys (0-RTT and 1-RTT share a space) goes back onto the
 * queue.
 */
void quic_packet_process_pending(struct sock *sk, u8 space)
{
	struct sk_buff_head list;
	struct sk_buff *skb;

	quic_inq_pending_take(sk, space, &list);
	while ((skb = __skb_dequeue(&list)))
		quic_packet_process(sk, skb, true);
}

/* ---- building and sending ------------------------------------------ */

/**
 * quic_dgram_init - start assembling a datagram
 * @sk: the connection
 * @dg: the datagram, initialised here
 * @max: the payload bytes allowed
 *
 * Context: any; allocates with GFP_ATOMIC.
 *
 * Return: 0 or -ENOMEM.
 */
int quic_dgram_init(struct sock *sk, struct quic_dgram *dg, u32 max)
{
	memset(dg, 0, sizeof(*dg));
	dg->skb = alloc_skb(QUIC_HEADROOM + max, GFP_ATOMIC);
	if (!dg->skb)
		return -ENOMEM;
	skb_reserve(dg->skb, QUIC_HEADROOM);
	dg->max = max;
	return 0;
}

static void quic_pkt_close(struct quic_dgram *dg)
{
	struct sk_buff *skb = dg->skb;
	u8 i = dg->nr - 1;
	u32 plen;

	if (!dg->open)
		return;
	skb_put_zero(skb, QUIC_TAG_LEN);
	if (dg->pkts[i].is_long) {
		plen = skb->len - dg->pkts[i].pn_offset;
		quic_put_varint2(skb->data + dg->pkts[i].len_offset, plen);
	}
	dg->open = 0;
}

/**
 * quic_pkt_undo - forget the packet just begun
 * @dg: the datagram
 *
 * For a packet that got nothing to carry.  The previous one, closed by
 * quic_pkt_begin(), is reopened so that it can still be padded.
 */
void quic_pkt_undo(struct quic_dgram *dg)
{
	struct sk_buff *skb = dg->skb;

	dg->nr--;
	skb_trim(skb, dg->pkts[dg->nr].start);
	dg->open = 0;
	if (dg->nr) {
		skb_trim(skb, skb->len - QUIC_TAG_LEN);
		dg->open = 1;
	}
}

/**
 * quic_dgram_room - room left for frames in the open packet
 * @dg: the datagram
 *
 * Return: the bytes that still fit, the AEAD tag accounted for.
 */
u32 quic_dgram_room(const struct quic_dgram *dg)
{
	u32 used = dg->skb->len + QUIC_TAG_LEN;

	return used < dg->max ? dg->max - used : 0;
}

/**
 * quic_pkt_begin - start a packet at @level in the datagram
 * @sk: the connection
 * @dg: the datagram
 * @level: QUIC_CRYPTO_* (its send key must be installed)
 * @pn: the packet number
 *
 * Return: 0, or -ENOSPC if a useful packet does not fit any more.
 */
int quic_pkt_begin(struct sock *sk, struct quic_dgram *dg, u8 level, s64 pn)
{
	struct quic_cids *ids = quic_cids(sk);
	struct quic_sock *qs = quic_sk(sk);
	const struct quic_conn_id *dcid = dg->tx ? dg->tx->dcid : &ids->dcid;
	struct sk_buff *skb = dg->skb;
	u32 hlen, start;
	u8 *p, *base, type;

	if (dg->nr >= ARRAY_SIZE(dg->pkts))
		return -ENOSPC;
	if (level == QUIC_CRYPTO_APP)
		hlen = 1 + dcid->len + QUIC_PN_LEN;
	else
		hlen = 1 + 4 + 1 + ids->dcid.len + 1 + ids->scid.len + 8 + 2 +
		       QUIC_PN_LEN + max_t(u32, qs->token_len,
					   qs->retry_token_len);
	if (skb->len + (dg->open ? QUIC_TAG_LEN : 0) + hlen + QUIC_TAG_LEN + 32 >
	    dg->max)
		return -ENOSPC;
	quic_pkt_close(dg);

	start = skb->len;
	base = skb_tail_pointer(skb);
	p = base;
	dg->pkts[dg->nr].level = level;
	dg->pkts[dg->nr].start = start;
	dg->pkts[dg->nr].pn = pn;
	if (level == QUIC_CRYPTO_APP) {
		*p++ = 0x40 | (quic_crypto_key_phase(quic_keys(sk, level)) << 2) |
		       (QUIC_PN_LEN - 1);
		p = quic_put_data(p, dcid->data, dcid->len);
		dg->pkts[dg->nr].is_long = 0;
	} else {
		type = level == QUIC_CRYPTO_INITIAL ? QUIC_PKT_INITIAL :
		       level == QUIC_CRYPTO_EARLY ? QUIC_PKT_0RTT :
						    QUIC_PKT_HANDSHAKE;
		*p++ = 0xc0 | (quic_long_type_bits(qs->version, type) << 4) |
		       (QUIC_PN_LEN - 1);
		put_unaligned_be32(qs->version, p);
		p += 4;
		*p++ = ids->dcid.len;
		p = quic_put_data(p, ids->dcid.data, ids->dcid.len);
		*p++ = ids->scid.len;
		p = quic_put_data(p, ids->scid.data, ids->scid.len);
		if (type == QUIC_PKT_INITIAL) {
			const u8 *token = qs->retry_token ?: qs->token;
			u32 tlen = qs->retry_token ? qs->retry_token_len :
						     qs->token_len;

			if (quic_is_serv(sk))
				tlen = 0;
			p = quic_put_varint(p, tlen);
			p = quic_put_data(p, token, tlen);
			if (!quic_is_serv(sk))
				dg->pad = 1;
		}
		dg->pkts[dg->nr].len_offset = p - skb->data;
		p = quic_put_varint2(p, 0);
		dg->pkts[dg->nr].is_long = 1;
	}
	dg->pkts[dg->nr].pn_offset = p - skb->data;
	put_unaligned_be32((u32)pn, p);
	p += QUIC_PN_LEN;
	skb_put(skb, p - base);
	dg->nr++;
	dg->open = 1;
	return 0;
}

static int quic_xmit(struct sock *sk, struct sk_buff *skb,
		     const struct quic_path_tx *tx, u8 ecn)
{
	struct quic_paths *paths = quic_paths(sk);
	struct dst_entry *dste;

	if (tx)		/* a probe on another path */
		return quic_udp_send(tx->udp, skb, tx->local, tx->peer,
				     sk->sk_bound_dev_if);
	dste = quic_path_dst(sk);
	if (IS_ERR(dste))
		return PTR_ERR(dste);
	/* PLPMTUD on: never fragmented (RFC 9000 14, RFC 8899 3); else
	 * routers may fragment datagrams sized to our route's MTU
	 */
	return quic_udp_xmit(paths->udp, skb, dst_clone(dste), &paths->dst_saddr,
			     &paths->peer, ecn, quic_pmtud_enabled(sk));
}

/**
 * quic_packet_mss - the datagram size for an established connection
 * @sk: the connection (locked)
 *
 * Return: the UDP payload that fits the route's MTU and the peer's
 * max_udp_payload_size, capped at QUIC_MAX_DGRAM_CAP, at least
 * QUIC_MAX_DGRAM.
 */
u32 quic_packet_mss(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct dst_entry *dste;
	u32 mtu, hdr, mss;

	dste = quic_path_dst(sk);
	if (IS_ERR(dste))
		return QUIC_MAX_DGRAM;
	mtu = dst_mtu(dste);
	hdr = sizeof(struct udphdr) + (quic_paths(sk)->peer.sa.sa_family == AF_INET6 ?
				       sizeof(struct ipv6hdr) :
				       sizeof(struct iphdr));
	mss = mtu > hdr ? mtu - hdr : 0;
	mss = min_t(u64, mss, qs->remote_tp.max_udp_payload_size);
	mss = min_t(u32, mss, QUIC_MAX_DGRAM_CAP);
	return max_t(u32, mss, QUIC_MAX_DGRAM);
}

/* The packets of @dg, padded but not yet sealed, to the tracepoints. */
static void quic_dgram_trace(struct sock *sk, const struct quic_dgram *dg)
{
	const u8 *data = dg->skb->data;
	u32 i, end, hdr, len;
	bool eliciting;

	for (i = 0; i < dg->nr; i++) {
		end = i + 1 < dg->nr ? dg->pkts[i + 1].start : dg->skb->len;
		hdr = dg->pkts[i].pn_offset + QUIC_PN_LEN;
		len = end - hdr - QUIC_TAG_LEN;
		eliciting = quic_frame_trace(sk, dg->pkts[i].level,
					     dg->pkts[i].pn, data + hdr, len,
					     true);
		trace_quic_packet_sent(sk, dg->pkts[i].level, dg->pkts[i].pn,
				       len, end - dg->pkts[i].start, eliciting);
	}
}

/* Pad and seal @dg's packets, and count them sent.  Returns its skb, or
 * NULL (freed) when sealing failed.
 */
static struct sk_buff *quic_dgram_seal(struct sock *sk, struct quic_dgram *dg)
{
	struct quic_sock *qs = quic_sk(sk);
	struct sk_buff *skb = dg->skb;
	u32 i, end, need;
	int err = 0;

	if (!dg->nr) {
		dg->skb = NULL;
		kfree_skb(skb);
		return NULL;
	}
	if (dg->pad && skb->len + QUIC_TAG_LEN < QUIC_MIN_DGRAM) {
		need = QUIC_MIN_DGRAM - skb->len - QUIC_TAG_LEN;
		if (dg->open)	/* PADDING frames in the last packet */
			skb_put_zero(skb, need);
	}
	quic_pkt_close(dg);
	if (trace_quic_packet_sent_enabled() || trace_quic_frame_sent_enabled())
		quic_dgram_trace(sk, dg);
	dg->skb = NULL;

	for (i = 0; i < dg->nr; i++) {
		end = i + 1 < dg->nr ? dg->pkts[i + 1].start : skb->len;
		err = quic_crypto_encrypt(quic_keys(sk, dg->pkts[i].level),
					  skb->data + dg->pkts[i].start,
					  end - dg->pkts[i].start,
					  dg->pkts[i].pn_offset - dg->pkts[i].start,
					  dg->pkts[i].pn);
		if (err) {
			kfree_skb(skb);
			return NULL;
		}
	}
	quic_path_tx_bytes(sk, skb->len);
	QUIC_ADD_STATS(sock_net(sk), QUIC_MIB_PKT_SENT, dg->nr);
	for (i = 0; i < dg->nr; i++)
		if (dg->pkts[i].level == QUIC_CRYPTO_EARLY)
			QUIC_INC_STATS(sock_net(sk), QUIC_MIB_PKT_0RTT_SENT);
	if (sk->sk_state == QUIC_SS_ESTABLISHED &&
	    quic_crypto_key_update_due(quic_keys(sk, QUIC_CRYPTO_APP)) &&
	    !work_pending(&qs->ku_work)) {
		sock_hold(sk);
		if (!schedule_work(&qs->ku_work))
			sock_put(sk);
	}
	skb->ignore_df = !quic_pmtud_enabled(sk);
	return skb;
}

/**
 * quic_dgram_send - pad, seal and transmit an assembled datagram
 * @sk: the connection
 * @dg: the datagram; its skb is consumed
 */
void quic_dgram_send(struct sock *sk, struct quic_dgram *dg)
{
	quic_dgram_send_gso(sk, dg, NULL);
}

/**
 * quic_gso_init - start collecting datagrams for one UDP GSO send
 * @sk: the connection
 * @g: the batch, initialised here
 *
 * Batching is on when the namespace's net.quic.gso is.
 */
void quic_gso_init(struct sock *sk, struct quic_gso *g)
{
	memset(g, 0, sizeof(*g));
	g->on = !!READ_ONCE(quic_net(sock_net(sk))->gso);
}

/**
 * quic_gso_flush - send the datagrams batched in @g
 * @sk: the connection
 * @g: the batch; empty afterwards
 *
 * More than one datagram leave as one skb of type SKB_GSO_UDP_L4 whose
 * gso_size is the first one's size: the device, or the stack before it
 * (validate_xmit_skb()), cuts it into the datagrams again.
 */
void quic_gso_flush(struct sock *sk, struct quic_gso *g)
{
	struct sk_buff *skb = g->skb;

	if (g->frag.page) {
		put_page(g->frag.page);
		g->frag.page = NULL;
	}
	g->skb = NULL;
	g->closed = 0;
	if (!skb)
		return;
	if (g->segs > 1) {
		skb_shinfo(skb)->gso_size = g->size;
		skb_shinfo(skb)->gso_segs = g->segs;
		skb_shinfo(skb)->gso_type = SKB_GSO_UDP_L4;
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_GSO_SENDS);
		QUIC_ADD_STATS(sock_net(sk), QUIC_MIB_GSO_SEGS, g->segs);
	}
	g->segs = 0;
	if (quic_xmit(sk, skb, NULL, g->ecn))
		kfree_skb(skb);
}

/* Copy the sealed datagram @skb behind the ones in @g, as a page
 * fragment of its first one.  Returns false when it does not fit.
 */
static bool quic_gso_append(struct quic_gso *g, struct sk_buff *skb)
{
	struct sk_buff *head = g->skb;
	struct page_frag *pf = &g->frag;
	int i = skb_shinfo(head)->nr_frags;
	u32 len = skb->len;

	if (!skb_page_frag_refill(len, pf, GFP_ATOMIC))
		return false;
	if (i && skb_can_coalesce(head, i, pf->page, pf->offset)) {
		skb_frag_size_add(&skb_shinfo(head)->frags[i - 1], len);
	} else {
		if (i >= MAX_SKB_FRAGS)
			return false;
		get_page(pf->page);
		skb_fill_page_desc(head, i, pf->page, pf->offset, len);
	}
	memcpy(page_address(pf->page) + pf->offset, skb->data, len);
	pf->offset += len;
	head->len += len;
	head->data_len += len;
	head->truesize += len;
	return true;
}

/* May @dg, sealed into @skb, join the batch @g?  Only 1-RTT datagrams
 * on the connection's path (not a probe of another, dg->tx), with the
 * batch's ECN field, no larger than its segments, and within the bounds
 * of one GSO send.
 */
static bool quic_gso_fits(const struct quic_gso *g,
			  const struct quic_dgram *dg, const struct sk_buff *skb)
{
	return g->skb && !g->closed && g->ecn == dg->ecn &&
	       skb->len <= g->size && g->segs < QUIC_GSO_MAX_SEGS &&
	       g->skb->len + skb->len <= QUIC_GSO_MAX_BYTES;
}

/**
 * quic_dgram_send_gso - pad, seal and transmit or batch a datagram
 * @sk: the connection
 * @dg: the datagram; its skb is consumed
 * @g: a batch (quic_gso_init()) to add it to, or NULL to send it now
 *
 * A datagram that may not be batched sends what @g holds first, so that
 * datagrams leave in the order they were built.  Everything that counts
 * packets (the sent records, the tracepoints, the MIB) saw each packet
 * already; only the transmission is shared.  The caller sends the last
 * batch with quic_gso_flush().
 */
void quic_dgram_send_gso(struct sock *sk, struct quic_dgram *dg,
			 struct quic_gso *g)
{
	bool batch = g && g->on && !dg->tx && dg->nr == 1 &&
		     !dg->pkts[0].is_long;
	u8 ecn = dg->ecn;
	struct sk_buff *skb;

	skb = quic_dgram_seal(sk, dg);
	if (!skb)
		return;
	if (!batch) {
		if (g)
			quic_gso_flush(sk, g);
		if (quic_xmit(sk, skb, dg->tx, ecn))
			kfree_skb(skb);
		return;
	}
	if (quic_gso_fits(g, dg, skb) && quic_gso_append(g, skb)) {
		g->segs++;
		if (skb->len < g->size)
			g->closed = 1;	/* only the last may be shorter */
		consume_skb(skb);
		return;
	}
	quic_gso_flush(sk, g);
	g->skb = skb;
	g->size = skb->len;
	g->segs = 1;
	g->ecn = ecn;
}
