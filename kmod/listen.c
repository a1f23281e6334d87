// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: listeners, and the connection requests queued at them.
 *
 * Every listener on a UDP tunnel socket belongs to that socket's port
 * object (struct quic_listen_port), which also holds every connection
 * request made there: a client Initial that matches no connection starts
 * one, and later datagrams with the same DCID from the same address join
 * it until accept() turns it into a socket.
 *
 * A new request is pending until the port's work item has opened its
 * Initial with the kernel crypto API (only a packet made with the Initial
 * keys of its DCID may take a place in a listener's queue) and, when a
 * listener on the port has an ALPN list, read the client's ALPN list from
 * the ClientHello, gathering it over several Initials if need be.  The
 * work item then routes the request (quic_listen_pick()):
 *
 * - the client's ALPNs are tried in its order of preference; for each, the
 *   listeners whose list holds it and whose address serves the datagram's
 *   destination are candidates, and the best address wins: the destination
 *   itself, then the wildcard of its family, then the dual-stack IPv6
 *   wildcard for an IPv4 destination;
 * - a client none of whose ALPNs a listener offers, or with no ALPN at all,
 *   goes to the best listener without an ALPN list;
 * - among listeners with the same address and list (a SO_REUSEPORT group),
 *   a hash of the client's address picks one.
 *
 * Pending requests are bounded in number (QUIC_PENDING_MAX), in time
 * (QUIC_PENDING_TIMEOUT) and in memory: the datagrams and ClientHello
 * buffers of all requests of a port are charged to it, within the sum of
 * its listeners' receive buffers, and to the namespace's total.
 */

#include <linux/jhash.h>
#include <linux/reciprocal_div.h>
#include <linux/slab.h>
#include <linux/unaligned.h>
#include <linux/workqueue.h>
#include <net/sock.h>

#include "hello.h"
#include "listen.h"
#include "netns.h"
#include "socket.h"
#include "varint.h"
#include <trace/events/quic.h>

#define QUIC_PENDING_MAX	256		/* unrouted requests per port */
#define QUIC_PENDING_TIMEOUT	(2 * HZ)	/* a ClientHello's parts */
#define QUIC_RETRY_TOKEN_LIFE	10		/* s: the Retry's round trip */
#define QUIC_NEW_TOKEN_LIFE	(24 * 3600)	/* s: a later connection */

/* skb->cb of a datagram queued at a request: its first packet */
struct quic_listen_cb {
	u16 pn_offset;
	u16 len;
	u16 token_offset;
	u16 token_len;
	u8 type;
	u8 opened;		/* looked at by the work item */
};

#define QUIC_LISTEN_CB(skb)	((struct quic_listen_cb *)&(skb)->cb[0])

static struct sock *quic_listener_sk(struct quic_listener *l)
{
	return &container_of(l, struct quic_sock, listener)->inet.sk;
}

/* ---- ALPN lists, as set with QUIC_SOCKOPT_ALPN (comma-separated) ---- */

static bool quic_alpn_has(const struct quic_sock *qs, const u8 *name, u32 len)
{
	const char *p = qs->alpn, *e;

	while (*p) {
		e = strchrnul(p, ',');
		if (e - p == len && !memcmp(p, name, len))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

/* Does every entry of @a's list appear in @b's?  (@any: does one?) */
static bool quic_alpn_in(const struct quic_sock *a, const struct quic_sock *b,
			 bool any)
{
	const char *p = a->alpn, *e;

	while (*p) {
		e = strchrnul(p, ',');
		if (quic_alpn_has(b, p, e - p) == any)
			return any;
		p = *e ? e + 1 : e;
	}
	return !any;
}

/* ---- the port object ---------------------------------------------- */

static void quic_listen_work(struct work_struct *work);

/**
 * quic_listener_init - initialise a socket's listener part
 * @l: the part, in a new socket
 */
void quic_listener_init(struct quic_listener *l)
{
	INIT_LIST_HEAD(&l->node);
	INIT_LIST_HEAD(&l->reqs);
	l->port = NULL;
}

static struct quic_listen_port *quic_listen_port_new(struct quic_udp_sock *us)
{
	struct quic_listen_port *port;

	port = kzalloc(sizeof(*port), GFP_KERNEL);
	if (!port)
		return NULL;
	port->us = quic_udp_sock_hold(us);
	spin_lock_init(&port->lock);
	INIT_LIST_HEAD(&port->listeners);
	hash_init(port->reqs);
	INIT_LIST_HEAD(&port->pending);
	INIT_DELAYED_WORK(&port->work, quic_listen_work);
	return port;
}

static void quic_listen_port_free(struct quic_listen_port *port)
{
	quic_crypto_free(&port->crypto);
	quic_udp_sock_put(port->us);
	kfree_rcu(port, rcu);
}

/* Are @sk's and @lsk's lists the same set? */
static bool quic_alpn_same(const struct quic_sock *a, const struct quic_sock *b)
{
	return quic_alpn_in(a, b, false) && quic_alpn_in(b, a, false);
}

/* Listeners on one address need disjoint ALPN sets (an empty list is
 * disjoint from every other); the same set is shared only by a
 * SO_REUSEPORT group of one owner.
 */
static int quic_listen_conflict(struct quic_listen_port *port,
				struct sock *sk)
{
	const union quic_addr *a = &quic_paths(sk)->local;
	struct quic_sock *qs = quic_sk(sk);
	struct quic_listener *l;

	list_for_each_entry(l, &port->listeners, node) {
		struct sock *lsk = quic_listener_sk(l);
		struct quic_sock *lqs = quic_sk(lsk);

		if (!quic_addr_equal(&quic_paths(lsk)->local, a))
			continue;
		if (quic_alpn_same(qs, lqs)) {
			if (sk->sk_reuseport && lsk->sk_reuseport &&
			    uid_eq(sock_i_uid(sk), sock_i_uid(lsk)))
				continue;
			return -EADDRINUSE;
		}
		if (qs->alpn_len && lqs->alpn_len &&
		    quic_alpn_in(qs, lqs, true))
			return -EADDRINUSE;
	}
	return 0;
}

/**
 * quic_listen_add - make a bound socket a listener on its port
 * @sk: the socket (locked by the caller, which sets its state)
 *
 * Context: process context, may sleep.
 * Return: 0, -EADDRINUSE (a listener on the same address wants some of
 * the same ALPNs), or -ENOMEM.
 */
int quic_listen_add(struct sock *sk)
{
	struct quic_net *qn = quic_net(sock_net(sk));
	struct quic_udp_sock *us = quic_paths(sk)->udp;
	struct quic_listener *l = quic_listener(sk);
	struct quic_listen_port *port;
	bool new = false;
	int err;

	mutex_lock(&qn->listen_lock);
	port = rcu_dereference_protected(us->port,
					 lockdep_is_held(&qn->listen_lock));
	if (!port) {
		port = quic_listen_port_new(us);
		err = -ENOMEM;
		if (!port)
			goto out;
		new = true;
	}
	spin_lock_bh(&port->lock);
	err = quic_listen_conflict(port, sk);
	if (!err) {
		list_add_tail(&l->node, &port->listeners);
		l->port = port;
		l->mem_limit = READ_ONCE(sk->sk_rcvbuf);
		port->mem_limit += l->mem_limit;
		if (quic_sk(sk)->alpn_len)
			port->alpn_listeners++;
	}
	spin_unlock_bh(&port->lock);
	if (new) {
		if (err)
			quic_listen_port_free(port);
		else
			rcu_assign_pointer(us->port, port);
	}
out:
	mutex_unlock(&qn->listen_lock);
	return err;
}

/* ---- requests ------------------------------------------------------ */

static bool quic_listen_charge(struct quic_listen_port *port, u32 size)
{
	struct quic_net *qn = quic_net(port->us->net);

	if (port->mem + size > port->mem_limit ||
	    atomic_long_read(&qn->rmem_alloc) + size >
	    READ_ONCE(qn->rmem_max_total)) {
		QUIC_INC_STATS(port->us->net, QUIC_MIB_RCV_MEMDROP);
		return false;
	}
	port->mem += size;
	atomic_long_add(size, &qn->rmem_alloc);
	return true;
}

static void quic_listen_uncharge(struct quic_listen_port *port, u32 size)
{
	port->mem -= size;
	atomic_long_sub(size, &quic_net(port->us->net)->rmem_alloc);
}

static u32 quic_request_hash(const struct quic_conn_id *dcid,
			     const union quic_addr *peer)
{
	return jhash(dcid->data, dcid->len,
		     jhash(peer, sizeof(*peer), dcid->len));
}

static struct quic_request *quic_request_find(struct quic_listen_port *port,
					      const struct quic_conn_id *dcid,
					      const union quic_addr *peer)
{
	struct quic_request *req;

	hash_for_each_possible(port->reqs, req, hnode,
			       quic_request_hash(dcid, peer))
		if (quic_cid_equal(&req->dcid, dcid) &&
		    quic_addr_equal(&req->peer, peer))
			return req;
	return NULL;
}

/* Take @req off the port (port locked): its memory is given back. */
static void quic_request_unhash(struct quic_listen_port *port,
				struct quic_request *req)
{
	hash_del(&req->hnode);
	list_del_init(&req->list);
	if (!req->lsk)
		port->npending--;
	quic_listen_uncharge(port, req->mem);
	req->mem = 0;
}

/**
 * quic_listen_request_free - free a request taken off its port
 * @req: the request, with the datagrams accept() has not taken
 *
 * Context: any.
 */
void quic_listen_request_free(struct quic_request *req)
{
	__skb_queue_purge(&req->pkts);
	kfree(req->hello);
	kfree(req);
}

static void quic_request_list_free(struct list_head *list)
{
	struct quic_request *req, *tmp;

	list_for_each_entry_safe(req, tmp, list, list) {
		list_del(&req->list);
		quic_listen_request_free(req);
	}
}

/**
 * quic_listen_del - a listener stops listening
 * @sk: the listener (locked)
 *
 * The requests routed to it go (their clients try again and reach another
 * listener, if one serves them); with the port's last listener, the
 * pending requests go too, and the port.
 * Context: process context, may sleep.
 */
void quic_listen_del(struct sock *sk)
{
	struct quic_net *qn = quic_net(sock_net(sk));
	struct quic_listener *l = quic_listener(sk);
	struct quic_listen_port *port = l->port;
	struct quic_request *req, *tmp;
	LIST_HEAD(list);
	bool last;

	if (!port)
		return;
	mutex_lock(&qn->listen_lock);
	spin_lock_bh(&port->lock);
	list_del_init(&l->node);
	port->mem_limit -= l->mem_limit;
	if (quic_sk(sk)->alpn_len)
		port->alpn_listeners--;
	list_for_each_entry_safe(req, tmp, &l->reqs, list) {
		quic_request_unhash(port, req);
		list_add_tail(&req->list, &list);
		sk_acceptq_removed(sk);
	}
	last = list_empty(&port->listeners);
	if (last) {
		port->dead = true;
		RCU_INIT_POINTER(port->us->port, NULL);
	}
	spin_unlock_bh(&port->lock);
	mutex_unlock(&qn->listen_lock);
	l->port = NULL;
	quic_request_list_free(&list);
	if (!last)
		return;

	/* no datagram starts or feeds a request now: stop the work item,
	 * then the pending requests are ours alone
	 */
	cancel_delayed_work_sync(&port->work);
	spin_lock_bh(&port->lock);
	list_for_each_entry_safe(req, tmp, &port->pending, list) {
		quic_request_unhash(port, req);
		list_add_tail(&req->list, &list);
	}
	spin_unlock_bh(&port->lock);
	quic_request_list_free(&list);
	quic_listen_port_free(port);
}

/**
 * quic_listen_has_request - is a request waiting for accept()?
 * @sk: the listener
 *
 * Context: any (a lockless peek, for wait conditions).
 * Return: true if one is queued.
 */
bool quic_listen_has_request(struct sock *sk)
{
	return !list_empty_careful(&quic_listener(sk)->reqs);
}

/**
 * quic_listen_request - the oldest request routed to a listener
 * @sk: the listener (locked: only its owner takes requests off)
 *
 * Return: the request, still queued, or NULL.
 */
struct quic_request *quic_listen_request(struct sock *sk)
{
	struct quic_listener *l = quic_listener(sk);
	struct quic_request *req;

	spin_lock_bh(&l->port->lock);
	req = list_first_entry_or_null(&l->reqs, struct quic_request, list);
	spin_unlock_bh(&l->port->lock);
	return req;
}

/**
 * quic_listen_request_unlink - take a request off its listener
 * @sk: the listener (locked)
 * @req: its request, from quic_listen_request()
 *
 * Datagrams that come for @req afterwards start a new request, unless the
 * caller first made its DCID lead to the new socket (quic_cid_lookup()).
 * The caller then owns @req and frees it with quic_listen_request_free().
 */
void quic_listen_request_unlink(struct sock *sk, struct quic_request *req)
{
	struct quic_listen_port *port = quic_listener(sk)->port;

	spin_lock_bh(&port->lock);
	quic_request_unhash(port, req);
	sk_acceptq_removed(sk);
	spin_unlock_bh(&port->lock);
}

/* ---- choosing a listener ------------------------------------------- */

/* How well @lsk's address serves a datagram to @to: 0 it is @to, 1 the
 * wildcard of its family, 2 the dual-stack IPv6 wildcard; -1 not at all.
 */
static int quic_listen_rank(struct sock *lsk, const union quic_addr *to)
{
	const union quic_addr *a = &quic_paths(lsk)->local;

	if (quic_addr_equal(a, to))
		return 0;
	if (!quic_addr_any(a))
		return -1;
	if (a->sa.sa_family == to->sa.sa_family)
		return 1;
	return a->sa.sa_family == AF_INET6 && !lsk->sk_ipv6only ? 2 : -1;
}

/* Does @lsk take a client asking for @name (NULL: a listener without an
 * ALPN list is wanted)?
 */
static bool quic_listen_match(struct sock *lsk, const u8 *name, u8 len)
{
	struct quic_sock *qs = quic_sk(lsk);

	return name ? quic_alpn_has(qs, name, len) : !qs->alpn_len;
}

/* The best-placed listener for @req matching @name; several equally
 * placed (a SO_REUSEPORT group) share by a hash of the client's address.
 */
static struct sock *quic_listen_best(struct quic_listen_port *port,
				     const struct quic_request *req,
				     const u8 *name, u8 len)
{
	struct quic_listener *l;
	int rank, best = INT_MAX;
	struct sock *lsk;
	u32 n = 0, i;

	list_for_each_entry(l, &port->listeners, node) {
		lsk = quic_listener_sk(l);
		rank = quic_listen_rank(lsk, &req->local);
		if (rank < 0 || rank > best || !quic_listen_match(lsk, name, len))
			continue;
		if (rank < best)
			n = 0;
		best = rank;
		n++;
	}
	if (!n)
		return NULL;
	i = reciprocal_scale(jhash(&req->peer, sizeof(req->peer), 0), n);
	list_for_each_entry(l, &port->listeners, node) {
		lsk = quic_listener_sk(l);
		if (quic_listen_rank(lsk, &req->local) == best &&
		    quic_listen_match(lsk, name, len) && !i--)
			return lsk;
	}
	return NULL;
}

/* The listener for @req, whose client asks for @alpn (NULL: the
 * ClientHello was not read, as no listener here has an ALPN list).
 */
static struct sock *quic_listen_pick(struct quic_listen_port *port,
				     const struct quic_request *req,
				     const struct quic_hello_alpn *alpn)
{
	struct sock *lsk;
	const u8 *name;
	u32 pos = 0;
	u8 len;

	while (alpn && quic_hello_alpn_next(alpn, &pos, &name, &len)) {
		lsk = quic_listen_best(port, req, name, len);
		if (lsk)
			return lsk;
	}
	return quic_listen_best(port, req, NULL, 0);
}

/* ---- the work item: opening and routing pending requests ----------- */

/* Give up on @req (port locked): it goes on @list to be freed. */
static void quic_request_drop(struct quic_listen_port *port,
			      struct quic_request *req, struct list_head *list)
{
	quic_request_unhash(port, req);
	list_add_tail(&req->list, list);
	QUIC_INC_STATS(port->us->net, QUIC_MIB_CONN_REQDROPS);
}

/* Queue @req at @lsk (port locked). */
static void quic_request_route(struct quic_listen_port *port,
			       struct quic_request *req, struct sock *lsk)
{
	list_del(&req->list);
	port->npending--;
	req->lsk = lsk;
	list_add_tail(&req->list, &quic_listener(lsk)->reqs);
	sk_acceptq_added(lsk);
	QUIC_INC_STATS(port->us->net, QUIC_MIB_CONN_REQUESTS);
	lsk->sk_data_ready(lsk);
}

/* Port locked: the next datagram of a pending request to look at, held,
 * with its request; requests past their time go on @list.  *@next is
 * set to the earliest time a pending request expires.
 */
static struct quic_request *quic_listen_next(struct quic_listen_port *port,
					     struct sk_buff **skbp,
					     struct list_head *list,
					     unsigned long *next)
{
	struct quic_request *req, *tmp;
	struct sk_buff *skb;

	list_for_each_entry_safe(req, tmp, &port->pending, list) {
		skb_queue_walk(&req->pkts, skb) {
			if (QUIC_LISTEN_CB(skb)->opened)
				continue;
			QUIC_LISTEN_CB(skb)->opened = 1;
			*skbp = skb_get(skb);
			return req;
		}
		if (time_after_eq(jiffies, req->expires)) {
			quic_request_drop(port, req, list);
			continue;
		}
		if (*next == 0 || time_before(req->expires, *next))
			*next = req->expires;
	}
	return NULL;
}

/* Read what the plaintext of @req's Initial says of its ClientHello.
 * Return: 0 with @alpn set, -EAGAIN for more to come, or another error.
 */
static int quic_listen_hello(struct quic_listen_port *port,
			     struct quic_request *req, const u8 *payload,
			     u32 len, struct quic_hello_alpn *alpn)
{
	int err;

	if (!req->hello) {
		struct quic_hello *hello;
		bool ok;

		hello = kzalloc(sizeof(*hello), GFP_KERNEL);
		if (!hello)
			return -ENOMEM;
		spin_lock_bh(&port->lock);
		ok = quic_listen_charge(port, sizeof(*hello));
		if (ok) {
			req->mem += sizeof(*hello);
			req->hello = hello;
		}
		spin_unlock_bh(&port->lock);
		if (!ok) {
			kfree(hello);
			return -ENOBUFS;
		}
	}
	err = quic_hello_add(req->hello, payload, len);
	if (!err)
		err = quic_hello_alpn(req->hello, alpn);
	if (err == -EINVAL || err == -EMSGSIZE)
		QUIC_INC_STATS(port->us->net, QUIC_MIB_CONN_HELLODROPS);
	return err;
}

/* RFC 9000 8.1.3: a token of ours in the Initial (@data, its first packet)
 * proves the client's address: a Retry's, from this connection attempt,
 * also gives the original DCID; one from NEW_TOKEN, an earlier connection.
 * An invalid or stale token counts as none.
 */
static void quic_listen_token(struct sock *lsk, struct quic_request *req,
			      const u8 *data, const struct quic_listen_cb *cb)
{
	struct quic_token_info v;

	if (!cb->token_len ||
	    quic_token_verify(quic_net_tokens(sock_net(lsk)),
			      data + cb->token_offset,
			      cb->token_len, &req->peer.sa, &v))
		return;
	if (v.type == QUIC_TOKEN_RETRY) {
		if (v.age > QUIC_RETRY_TOKEN_LIFE)
			return;
		req->retried = 1;
		req->odcid.len = v.odcid_len;
		memcpy(req->odcid.data, v.odcid, v.odcid_len);
	} else if (v.age > QUIC_NEW_TOKEN_LIFE) {
		return;
	}
	req->validated = 1;
}

/* Should the client prove its address first?  When the listener asks for
 * it, and, like SYN cookies, while its accept queue is more than half full.
 */
static bool quic_listen_wants_retry(struct sock *lsk)
{
	if (quic_sk(lsk)->config.validate_peer_address)
		return true;
	if (2 * READ_ONCE(lsk->sk_ack_backlog) <=
	    READ_ONCE(lsk->sk_max_ack_backlog))
		return false;
	QUIC_INC_STATS(sock_net(lsk), QUIC_MIB_CONN_RETRYAUTO);
	return true;
}

/* RFC 9000 17.2.5: the Retry answering @req's Initial, carrying a token
 * (sealed with the client's address, the time and the DCID it used) and a
 * new Connection ID for the client to use, with its integrity tag.  No
 * state is kept: the client's next Initial carries it all.  Port locked
 * (@lsk's token keys are freed when it closes).
 */
static struct sk_buff *quic_listen_retry(struct sock *lsk,
					 const struct quic_request *req)
{
	u8 token[QUIC_TOKEN_CREATE_MAX_LEN], type_bits, *p, *start;
	struct quic_conn_id scid;
	struct sk_buff *skb;
	int tlen;

	tlen = quic_token_create(quic_net_tokens(sock_net(lsk)), QUIC_TOKEN_RETRY,
				 &req->peer.sa, req->dcid.data, req->dcid.len,
				 token, sizeof(token));
	if (tlen < 0)
		return NULL;
	quic_cid_generate(&scid, QUIC_CID_LEN);
	skb = alloc_skb(QUIC_HEADROOM + 1 + 4 + 2 + req->scid.len + scid.len +
			tlen + QUIC_RETRY_TAG_LEN, GFP_ATOMIC);
	if (!skb)
		return NULL;
	skb_reserve(skb, QUIC_HEADROOM);
	start = skb_put(skb, 1 + 4 + 2 + req->scid.len + scid.len + tlen);
	p = start;
	/* the Retry type: 0b11 in v1, 0b00 in v2 (RFC 9369 3.2) */
	type_bits = req->version == QUIC_VERSION_V2 ? 0 : 3;
	*p++ = 0xc0 | (type_bits << 4) | (get_random_u8() & 0x0f);
	put_unaligned_be32(req->version, p);
	p += 4;
	*p++ = req->scid.len;
	p = quic_put_data(p, req->scid.data, req->scid.len);
	*p++ = scid.len;
	p = quic_put_data(p, scid.data, scid.len);
	p = quic_put_data(p, token, tlen);
	if (quic_crypto_retry_tag(req->version, req->dcid.data, req->dcid.len,
				  start, p - start,
				  skb_put(skb, QUIC_RETRY_TAG_LEN))) {
		kfree_skb(skb);
		return NULL;
	}
	return skb;
}

/* Open the first packet of @skb, a datagram of the pending @req, and route
 * @req once it is authentic and (if needed) its ALPN list known.
 */
static void quic_listen_open(struct quic_listen_port *port,
			     struct quic_request *req, struct sk_buff *skb,
			     struct list_head *list)
{
	struct quic_listen_cb *cb = QUIC_LISTEN_CB(skb);
	struct quic_crypto_pktinfo pi = {};
	struct quic_hello_alpn alpn = {};
	struct sk_buff *retry = NULL;
	struct quic_hello *hello = NULL;
	bool parse, authentic = false;
	struct sock *lsk;
	u8 *data = NULL;
	int err = 0;

	if (cb->type == QUIC_PKT_INITIAL) {
		data = kmemdup(skb->data, cb->len, GFP_KERNEL);
		if (!data)
			return;		/* the client will send it again */
		pi.pn_offset = cb->pn_offset;
		authentic = !quic_crypto_initial_open(&port->crypto,
						      req->dcid.data,
						      req->dcid.len,
						      req->version, data,
						      cb->len, &pi);
	}
	parse = READ_ONCE(port->alpn_listeners);
	if (authentic && parse)
		err = quic_listen_hello(port, req, data + pi.hlen,
					pi.payload_len, &alpn);

	spin_lock_bh(&port->lock);
	if (!authentic) {
		/* a 0-RTT packet waits for the Initial; a forged Initial goes,
		 * with its request if nothing authentic came for it
		 */
		if (cb->type == QUIC_PKT_INITIAL) {
			QUIC_INC_STATS(port->us->net, QUIC_MIB_PKT_DECFAIL);
			__skb_unlink(skb, &req->pkts);
			req->mem -= skb->truesize;
			quic_listen_uncharge(port, skb->truesize);
			kfree_skb(skb);
			if (!req->authentic && skb_queue_empty(&req->pkts))
				quic_request_drop(port, req, list);
		}
		goto unlock;
	}
	req->authentic = 1;
	if (err == -EAGAIN)
		goto unlock;
	lsk = err ? NULL : quic_listen_pick(port, req, parse ? &alpn : NULL);
	if (!lsk || sk_acceptq_is_full(lsk)) {
		quic_request_drop(port, req, list);
		goto unlock;
	}
	quic_listen_token(lsk, req, skb->data, cb);
	if (!req->validated && quic_listen_wants_retry(lsk)) {
		/* answered statelessly: the request goes without a drop */
		retry = quic_listen_retry(lsk, req);
		quic_request_unhash(port, req);
		list_add_tail(&req->list, list);
		goto unlock;
	}
	hello = req->hello;
	if (hello) {
		req->hello = NULL;
		req->mem -= sizeof(*hello);
		quic_listen_uncharge(port, sizeof(*hello));
	}
	quic_request_route(port, req, lsk);
unlock:
	spin_unlock_bh(&port->lock);
	if (retry) {
		if (quic_udp_send(port->us, retry, &req->local, &req->peer, 0))
			kfree_skb(retry);
		else
			QUIC_INC_STATS(port->us->net, QUIC_MIB_CONN_RETRYSENT);
	}
	kfree(hello);
	kfree_sensitive(data);
}

static void quic_listen_work(struct work_struct *work)
{
	struct quic_listen_port *port = container_of(to_delayed_work(work),
						     struct quic_listen_port,
						     work);
	struct quic_request *req;
	unsigned long next;
	struct sk_buff *skb;
	LIST_HEAD(list);

	for (;;) {
		next = 0;
		spin_lock_bh(&port->lock);
		req = port->dead ? NULL :
		      quic_listen_next(port, &skb, &list, &next);
		if (!req) {
			if (next && !port->dead)
				mod_delayed_work(system_wq, &port->work,
						 max_t(long, next - jiffies, 1));
			spin_unlock_bh(&port->lock);
			break;
		}
		spin_unlock_bh(&port->lock);
		quic_listen_open(port, req, skb, &list);
		kfree_skb(skb);
		quic_request_list_free(&list);
		cond_resched();
	}
	quic_request_list_free(&list);
}

/* ---- the receive path ---------------------------------------------- */

static struct quic_request *quic_request_new(struct quic_listen_port *port,
					     const struct quic_hdr *h,
					     const union quic_addr *from,
					     const union quic_addr *to)
{
	struct quic_request *req;

	if (port->npending >= QUIC_PENDING_MAX)
		return NULL;
	req = kzalloc(sizeof(*req), GFP_ATOMIC);
	if (!req)
		return NULL;
	INIT_LIST_HEAD(&req->list);
	req->local = *to;
	req->peer = *from;
	req->dcid = h->dcid;
	req->scid = h->scid;
	req->version = h->version;
	req->expires = jiffies + QUIC_PENDING_TIMEOUT;
	__skb_queue_head_init(&req->pkts);
	hash_add(port->reqs, &req->hnode, quic_request_hash(&h->dcid, from));
	list_add_tail(&req->list, &port->pending);
	port->npending++;
	return req;
}

/**
 * quic_listen_rcv - a datagram for no connection: a connection request
 * @us: the tunnel socket it came to
 * @skb: the datagram, data at its first packet, a client Initial or 0-RTT
 * @h: that packet's header
 * @from: its source
 * @to: its destination
 *
 * It starts a request or joins the one its DCID and source make (at most
 * QUIC_REQ_PKTS_MAX datagrams each).  accept() may have just made the
 * request a socket: then the socket is returned, for the caller to hand
 * the datagram to.
 *
 * Context: softirq.
 * Return: NULL (@skb consumed), or the socket, referenced.
 */
struct sock *quic_listen_rcv(struct quic_udp_sock *us, struct sk_buff *skb,
			     const struct quic_hdr *h,
			     const union quic_addr *from,
			     const union quic_addr *to)
{
	bool initial = h->type == QUIC_PKT_INITIAL;
	struct quic_listen_cb *cb = QUIC_LISTEN_CB(skb);
	struct quic_listen_port *port;
	struct net *net = us->net;
	struct quic_request *req;
	bool fresh = false;
	struct sock *sk;

	/* RFC 9000 14.1: a server discards Initials in small datagrams;
	 * 7.2: the client's first DCID is at least 8 bytes.  0-RTT packets
	 * only join the request their Initial made.
	 */
	if ((initial && skb->len < QUIC_MIN_DGRAM) ||
	    h->dcid.len < QUIC_CID_MIN_ODCID)
		goto drop;
	port = rcu_dereference(us->port);
	if (!port)
		goto drop;
	spin_lock(&port->lock);
	if (port->dead)
		goto unlock;
	/* the ID leads to the socket before its request is unlinked */
	sk = quic_cid_lookup(net, h->dcid.data, h->dcid.len, from);
	if (sk) {
		spin_unlock(&port->lock);
		return sk;
	}
	req = quic_request_find(port, &h->dcid, from);
	if (!req) {
		req = initial ? quic_request_new(port, h, from, to) : NULL;
		if (!req)
			goto unlock;
		fresh = true;
	} else if (skb_queue_len(&req->pkts) >= QUIC_REQ_PKTS_MAX) {
		goto unlock;
	}
	if (!quic_listen_charge(port, skb->truesize)) {
		if (fresh) {
			quic_request_unhash(port, req);
			kfree(req);
		}
		goto unlock;
	}
	req->mem += skb->truesize;
	memset(cb, 0, sizeof(*cb));
	cb->pn_offset = h->pn_offset;
	cb->len = h->len;
	cb->token_offset = h->token_offset;
	cb->token_len = h->token_len;
	cb->type = h->type;
	__skb_queue_tail(&req->pkts, skb);
	if (!req->lsk)
		mod_delayed_work(system_wq, &port->work, 0);
	spin_unlock(&port->lock);
	return NULL;

unlock:
	spin_unlock(&port->lock);
drop:
	QUIC_INC_STATS(net, initial ? QUIC_MIB_CONN_REQDROPS :
				      QUIC_MIB_PKT_RCVDROP);
	trace_quic_packet_dropped(NULL, skb->len, QUIC_DROP_LISTEN);
	kfree_skb(skb);
	return NULL;
}

/**
 * quic_listen_active - does a listener wait on this tunnel socket?
 * @us: the tunnel socket
 *
 * Context: softirq (RCU).
 * Return: true if one does.
 */
bool quic_listen_active(struct quic_udp_sock *us)
{
	return rcu_access_pointer(us->port);
}
