/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: listeners, and the connection requests queued at them.
 */
#ifndef __NET_QUIC_LISTEN_H
#define __NET_QUIC_LISTEN_H

#include <linux/hashtable.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>

#include "addr.h"
#include "connid.h"
#include "crypto.h"

struct quic_hdr;
struct quic_hello;
struct quic_udp_sock;

#define QUIC_REQ_PKTS_MAX	8	/* queued datagrams per request */
#define QUIC_REQ_HASH_BITS	6

/* The listeners on one UDP tunnel socket (one local address and port, or
 * the wildcard that specific addresses of the port share), and every
 * connection request made there.  It lives while a listener does.
 */
struct quic_listen_port {
	struct quic_udp_sock *us;	/* referenced */
	spinlock_t lock;		/* protects the rest, but @crypto */
	struct list_head listeners;	/* quic_listener.node */
	DECLARE_HASHTABLE(reqs, QUIC_REQ_HASH_BITS);	/* every request */
	struct list_head pending;	/* requests no listener has yet */
	u32 npending;
	u32 alpn_listeners;		/* listeners with an ALPN list */
	u64 mem;			/* truesize of the requests' datagrams
					 * and ClientHello buffers
					 */
	u64 mem_limit;			/* the listeners' receive buffers */
	bool dead;			/* its last listener has gone */
	struct delayed_work work;	/* opens and routes pending requests */
	struct quic_crypto crypto;	/* the work's Initial keys */
	struct rcu_head rcu;
};

/* A listening socket's part: where it listens and what it has queued. */
struct quic_listener {
	struct list_head node;		/* in port->listeners */
	struct list_head reqs;		/* routed requests, oldest first */
	struct quic_listen_port *port;
	u32 mem_limit;			/* what it added to port->mem_limit */
};

/* A connection attempt: from a client's first Initial until accept(). */
struct quic_request {
	struct hlist_node hnode;	/* in port->reqs */
	struct list_head list;		/* in port->pending or lsk's reqs */
	struct sock *lsk;		/* the listener chosen, NULL before */
	union quic_addr local;		/* the datagram's destination */
	union quic_addr peer;
	struct quic_conn_id dcid;	/* the DCID of the client's Initial */
	struct quic_conn_id scid;
	struct quic_conn_id odcid;	/* after a Retry: the original DCID */
	u32 version;
	u32 mem;			/* charged to the port */
	unsigned long expires;		/* pending: given up on then */
	struct quic_hello *hello;	/* pending: ClientHello so far */
	u8 authentic:1;			/* one Initial opened */
	u8 retried:1;			/* its token is one of our Retry's */
	u8 validated:1;			/* its address is proven (a token) */
	struct sk_buff_head pkts;
};

void quic_listener_init(struct quic_listener *l);
int quic_listen_add(struct sock *sk);
void quic_listen_del(struct sock *sk);
bool quic_listen_has_request(struct sock *sk);
struct quic_request *quic_listen_request(struct sock *sk);
void quic_listen_request_unlink(struct sock *sk, struct quic_request *req);
void quic_listen_request_free(struct quic_request *req);
struct sock *quic_listen_rcv(struct quic_udp_sock *us, struct sk_buff *skb,
			     const struct quic_hdr *h,
			     const union quic_addr *from,
			     const union quic_addr *to);
bool quic_listen_active(struct quic_udp_sock *us);

#endif /* __NET_QUIC_LISTEN_H */
