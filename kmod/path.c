// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: shared UDP tunnel sockets.
 *
 * A QUIC socket bound to a local address and port holds a reference on
 * the kernel UDP socket bound there; sockets bound to the same address
 * share it, which is how a listener and the connections it accepts, or
 * several listeners with SO_REUSEPORT, use one port.  The UDP socket is
 * set up as a tunnel socket so that received datagrams go straight to
 * quic_udp_rcv() in softirq context.
 */

#include <linux/module.h>
#include <net/udp.h>
#include <net/udp_tunnel.h>
#include <net/ipv6.h>

#include "protocol.h"
#include "path.h"
#include "packet.h"

static struct workqueue_struct *quic_path_wq;

int quic_addr_len(sa_family_t family)
{
	return family == AF_INET6 ? sizeof(struct sockaddr_in6) :
				    sizeof(struct sockaddr_in);
}

bool quic_addr_equal(const union quic_addr *a, const union quic_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET6)
		return a->v6.sin6_port == b->v6.sin6_port &&
		       ipv6_addr_equal(&a->v6.sin6_addr, &b->v6.sin6_addr);
	return a->v4.sin_port == b->v4.sin_port &&
	       a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
}

bool quic_addr_any(const union quic_addr *a)
{
	if (a->sa.sa_family == AF_INET6)
		return ipv6_addr_any(&a->v6.sin6_addr);
	return a->v4.sin_addr.s_addr == htonl(INADDR_ANY);
}

void quic_addr_set_port(union quic_addr *a, __be16 port)
{
	if (a->sa.sa_family == AF_INET6)
		a->v6.sin6_port = port;
	else
		a->v4.sin_port = port;
}

__be16 quic_addr_port(const union quic_addr *a)
{
	return a->sa.sa_family == AF_INET6 ? a->v6.sin6_port : a->v4.sin_port;
}

static int quic_udp_encap_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct quic_udp_sock *us = rcu_dereference_sk_user_data(sk);

	if (!us) {
		kfree_skb(skb);
		return 0;
	}
	quic_packet_rcv(us, skb);
	return 0;
}

static void quic_udp_sock_free_work(struct work_struct *work)
{
	struct quic_udp_sock *us = container_of(work, struct quic_udp_sock,
						free_work);

	udp_tunnel_sock_release(us->sock);
	kfree(us);
}

struct quic_udp_sock *quic_udp_sock_hold(struct quic_udp_sock *us)
{
	refcount_inc(&us->refcnt);
	return us;
}

void quic_udp_sock_put(struct quic_udp_sock *us)
{
	struct quic_net *qn = quic_net(us->net);

	if (!refcount_dec_and_mutex_lock(&us->refcnt, &qn->udp_lock))
		return;
	list_del(&us->node);
	mutex_unlock(&qn->udp_lock);
	/* Releasing a tunnel socket waits for an RCU grace period. */
	queue_work(quic_path_wq, &us->free_work);
}

static int quic_udp_sock_create(struct net *net, const union quic_addr *addr,
				struct socket **sockp)
{
	struct udp_port_cfg cfg = {};

	if (addr->sa.sa_family == AF_INET6) {
		cfg.family = AF_INET6;
		cfg.local_ip6 = addr->v6.sin6_addr;
		cfg.local_udp_port = addr->v6.sin6_port;
		cfg.bind_ifindex = addr->v6.sin6_scope_id;
		cfg.use_udp6_tx_checksums = 1;
		cfg.use_udp6_rx_checksums = 1;
		cfg.ipv6_v6only = 1;
		return udp_sock_create6(net, &cfg, sockp);
	}
	cfg.family = AF_INET;
	cfg.local_ip = addr->v4.sin_addr;
	cfg.local_udp_port = addr->v4.sin_port;
	cfg.use_udp_checksums = 1;
	return udp_sock_create4(net, &cfg, sockp);
}

/* Find or create the UDP socket bound to @addr.  Port 0 always creates a
 * new socket on an ephemeral port, which is then shared like any other.
 */
struct quic_udp_sock *quic_udp_sock_get(struct net *net,
					const union quic_addr *addr)
{
	struct udp_tunnel_sock_cfg tcfg = {};
	struct quic_net *qn = quic_net(net);
	struct quic_udp_sock *us;
	union quic_addr bound;
	struct socket *sock;
	int len, err;

	mutex_lock(&qn->udp_lock);
	if (quic_addr_port(addr)) {
		list_for_each_entry(us, &qn->udp_list, node) {
			if (quic_addr_equal(&us->addr, addr) &&
			    refcount_inc_not_zero(&us->refcnt)) {
				mutex_unlock(&qn->udp_lock);
				return us;
			}
		}
	}

	us = kzalloc(sizeof(*us), GFP_KERNEL);
	if (!us) {
		err = -ENOMEM;
		goto unlock;
	}
	err = quic_udp_sock_create(net, addr, &sock);
	if (err)
		goto free;

	memset(&bound, 0, sizeof(bound));
	len = kernel_getsockname(sock, &bound.sa);
	if (len < 0) {
		err = len;
		udp_tunnel_sock_release(sock);
		goto free;
	}

	us->net = net;
	us->sock = sock;
	us->addr = bound;
	refcount_set(&us->refcnt, 1);
	spin_lock_init(&us->lock);
	INIT_LIST_HEAD(&us->listeners);
	INIT_WORK(&us->free_work, quic_udp_sock_free_work);

	tcfg.sk_user_data = us;
	tcfg.encap_type = 1;
	tcfg.encap_rcv = quic_udp_encap_rcv;
	setup_udp_tunnel_sock(net, sock, &tcfg);

	list_add(&us->node, &qn->udp_list);
	mutex_unlock(&qn->udp_lock);
	return us;

free:
	kfree(us);
unlock:
	mutex_unlock(&qn->udp_lock);
	return ERR_PTR(err);
}

int quic_path_init(void)
{
	quic_path_wq = alloc_workqueue("quic_path", WQ_UNBOUND, 0);
	return quic_path_wq ? 0 : -ENOMEM;
}

/* Wait for tunnel sockets being released (netns exit). */
void quic_path_flush(void)
{
	flush_workqueue(quic_path_wq);
}

void quic_path_exit(void)
{
	destroy_workqueue(quic_path_wq);
}
