// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: shared UDP tunnel sockets.
 *
 * A QUIC socket bound to a local address and port holds a reference on
 * the kernel UDP socket bound there; sockets bound to the same address
 * share it, which is how a listener and the connections it accepts, or
 * several listeners with SO_REUSEPORT, use one port.  The UDP socket is
 * set up as a tunnel socket so that received datagrams go straight to
 * the receive function given to quic_udp_init(), in softirq context.
 *
 * Receive coalescing (net.quic.gro): the UDP socket asks for UDP GRO, so
 * a burst of same-sized datagrams of one flow that a device's NAPI poll
 * receives is merged into one skb.  The stack hands a merged skb to a
 * tunnel socket whole only when the tunnel completed it (a merged plain
 * UDP skb would be split again before encap_rcv), hence the gro_complete
 * callback: it finishes the skb as the UDP layer would for a socket that
 * asked for UDP_GRO, and the receive function splits it (packet.c).
 */

#include <linux/module.h>
#include <net/gro.h>
#include <net/udp.h>
#include <net/udp_tunnel.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <net/route.h>

#include "netns.h"
#include "udp.h"

static struct workqueue_struct *quic_udp_wq;
static quic_udp_rcv_t quic_udp_rcv;

static int quic_udp_encap_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct quic_udp_sock *us = rcu_dereference_sk_user_data(sk);

	if (!us) {
		kfree_skb(skb);
		return 0;
	}
	quic_udp_rcv(us, skb);
	return 0;
}

/* A burst merged by UDP GRO is complete: make it the skb a socket with
 * UDP_GRO gets (partial checksum at the UDP header, one segment per
 * datagram of gso_size bytes, the last one shorter).  The UDP layer left
 * SKB_GSO_UDP_TUNNEL in gso_type, which lets it reach quic_udp_encap_rcv()
 * unsplit.
 */
static int quic_udp_gro_complete(struct sock *sk, struct sk_buff *skb,
				 int nhoff)
{
	struct udphdr *uh = (struct udphdr *)(skb->data + nhoff -
					      sizeof(struct udphdr));

	skb->csum_start = (unsigned char *)uh - skb->head;
	skb->csum_offset = offsetof(struct udphdr, check);
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb_shinfo(skb)->gso_segs = NAPI_GRO_CB(skb)->count;
	return 0;
}

/* The last reference is gone: unlink the UDP socket and release it.
 * Lookups skip it meanwhile (its count is zero).  Releasing a tunnel
 * socket waits for an RCU grace period, hence the workqueue.
 */
static void quic_udp_sock_free_work(struct work_struct *work)
{
	struct quic_udp_sock *us = container_of(work, struct quic_udp_sock,
						free_work);
	struct quic_net *qn = quic_net(us->net);

	mutex_lock(&qn->udp_lock);
	list_del(&us->node);
	mutex_unlock(&qn->udp_lock);
	udp_tunnel_sock_release(us->sock);
	kfree(us);
}

/**
 * quic_udp_sock_hold - take another reference on a UDP tunnel socket
 * @us: the socket, already referenced by the caller
 *
 * Context: any.
 * Return: @us.
 */
struct quic_udp_sock *quic_udp_sock_hold(struct quic_udp_sock *us)
{
	refcount_inc(&us->refcnt);
	return us;
}

/**
 * quic_udp_sock_put - drop a reference on a UDP tunnel socket
 * @us: the socket
 *
 * Context: any (a path change in softirq may drop the path it left).
 */
void quic_udp_sock_put(struct quic_udp_sock *us)
{
	if (refcount_dec_and_test(&us->refcnt))
		queue_work(quic_udp_wq, &us->free_work);
}

static int quic_udp_sock_create(struct net *net, const union quic_addr *addr,
				bool v6only, struct socket **sockp)
{
	struct udp_port_cfg cfg = {};

	if (addr->sa.sa_family == AF_INET6) {
		cfg.family = AF_INET6;
		cfg.local_ip6 = addr->v6.sin6_addr;
		cfg.local_udp_port = addr->v6.sin6_port;
		cfg.bind_ifindex = addr->v6.sin6_scope_id;
		cfg.use_udp6_tx_checksums = 1;
		cfg.use_udp6_rx_checksums = 1;
		cfg.ipv6_v6only = v6only;
		return udp_sock_create6(net, &cfg, sockp);
	}
	cfg.family = AF_INET;
	cfg.local_ip = addr->v4.sin_addr;
	cfg.local_udp_port = addr->v4.sin_port;
	cfg.use_udp_checksums = 1;
	return udp_sock_create4(net, &cfg, sockp);
}

/* bind()'s rule for a port already held: the owner that created the UDP
 * socket may share it, so may CAP_NET_ADMIN in the socket's namespace, as
 * may the kernel's own users; another user (or userspace on a kernel
 * user's port) gets EADDRINUSE, as it would binding a plain UDP socket.
 */
static bool quic_udp_sock_may_share(const struct quic_udp_sock *us,
				    struct sock *sk)
{
	if (sk->sk_kern_sock)
		return true;
	if (!us->kern && uid_eq(us->uid, sock_i_uid(sk)))
		return true;
	return ns_capable(sock_net(sk)->user_ns, CAP_NET_ADMIN);
}

/* Does @us, bound to a wildcard, take datagrams to @addr (another address
 * of its port): the wildcard of @addr's family, or the dual-stack IPv6
 * wildcard for an IPv4 address?
 */
static bool quic_udp_sock_covers(const struct quic_udp_sock *us,
				 const union quic_addr *addr)
{
	if (!quic_addr_any(&us->addr) ||
	    quic_addr_port(&us->addr) != quic_addr_port(addr))
		return false;
	if (us->addr.sa.sa_family == addr->sa.sa_family)
		return !quic_addr_any(addr);
	return us->addr.sa.sa_family == AF_INET6 && !us->v6only;
}

/* Under udp_lock: the live UDP socket bound to @addr, or else the
 * wildcard one that takes its datagrams, referenced; or NULL (with *@err
 * set when the port is taken in a way @sk may not share).
 */
static struct quic_udp_sock *quic_udp_sock_find(struct sock *sk,
						const union quic_addr *addr,
						bool v6only, int *err)
{
	struct list_head *list = &quic_net(sock_net(sk))->udp_list;
	struct quic_udp_sock *us, *cover = NULL;

	*err = 0;
	list_for_each_entry(us, list, node) {
		if (!refcount_read(&us->refcnt))
			continue;	/* being released */
		if (!quic_addr_equal(&us->addr, addr)) {
			if (quic_udp_sock_covers(us, addr))
				cover = us;
			continue;
		}
		/* a v6-only and a dual-stack socket conflict, as two UDP
		 * sockets would
		 */
		if (us->v6only != v6only || !quic_udp_sock_may_share(us, sk)) {
			*err = -EADDRINUSE;
			return NULL;
		}
		if (refcount_inc_not_zero(&us->refcnt))
			return us;
	}
	/* a specific address under a wildcard bound before: its UDP socket
	 * already receives for the address, share it as the same socket
	 */
	if (!cover)
		return NULL;
	if (!quic_udp_sock_may_share(cover, sk)) {
		*err = -EADDRINUSE;
		return NULL;
	}
	return refcount_inc_not_zero(&cover->refcnt) ? cover : NULL;
}

/**
 * quic_udp_sock_local - the local address of a socket bound through @us
 * @us: what quic_udp_sock_get() returned for @want
 * @want: the address asked for
 * @local: out: @want with the port @us is bound to, or @us's own address
 *	when it is bound to @want itself (or to a port picked for it)
 */
void quic_udp_sock_local(const struct quic_udp_sock *us,
			 const union quic_addr *want, union quic_addr *local)
{
	*local = us->addr;
	if (quic_udp_sock_covers(us, want)) {
		*local = *want;
		quic_addr_set_port(local, quic_addr_port(&us->addr));
	}
}

/**
 * quic_udp_sock_get - the UDP socket @sk is to send and receive on at @addr
 * @sk: the QUIC socket binding (bind, autobind or migration)
 * @addr: the local address; port 0 picks an ephemeral port
 *
 * Every operation that picks a local address or port comes here, so all
 * apply bind()'s checks: a privileged port needs CAP_NET_BIND_SERVICE, and
 * a port another QUIC socket holds is shared only as
 * quic_udp_sock_may_share() allows.  Port 0 always creates a new UDP
 * socket, which is then shared like any other.
 *
 * Return: a referenced UDP socket, or an ERR_PTR: -EACCES, -EADDRINUSE,
 * or what binding the UDP socket returned.
 */
struct quic_udp_sock *quic_udp_sock_get(struct sock *sk,
					const union quic_addr *addr)
{
	struct udp_tunnel_sock_cfg tcfg = {};
	unsigned short port = ntohs(quic_addr_port(addr));
	/* the IPv6 wildcard takes IPv4 too unless IPV6_V6ONLY (dual stack) */
	bool v6only = addr->sa.sa_family == AF_INET6 &&
		      (!quic_addr_any(addr) || sk->sk_ipv6only);
	struct net *net = sock_net(sk);
	struct quic_net *qn = quic_net(net);
	struct quic_udp_sock *us;
	union quic_addr bound;
	struct socket *sock;
	int len, err, tries;

	if (port && !sk->sk_kern_sock &&
	    inet_port_requires_bind_service(net, port) &&
	    !ns_capable(net->user_ns, CAP_NET_BIND_SERVICE))
		return ERR_PTR(-EACCES);

	for (tries = 0; ; tries++) {
		mutex_lock(&qn->udp_lock);
		us = port ? quic_udp_sock_find(sk, addr, v6only, &err) : NULL;
		if (us || err) {
			mutex_unlock(&qn->udp_lock);
			return us ?: ERR_PTR(err);
		}
		err = quic_udp_sock_create(net, addr, v6only, &sock);
		if (err != -EADDRINUSE || !port || tries)
			break;
		/* The port may still be held by a tunnel socket whose last
		 * QUIC user just closed: its release is pending in
		 * quic_udp_wq.  Wait for it (it takes udp_lock) and look
		 * again, so that a server can bind the port its predecessor
		 * just left.
		 */
		mutex_unlock(&qn->udp_lock);
		flush_workqueue(quic_udp_wq);
	}
	if (err)
		goto unlock;

	us = kzalloc(sizeof(*us), GFP_KERNEL);
	if (!us) {
		udp_tunnel_sock_release(sock);
		err = -ENOMEM;
		goto unlock;
	}
	memset(&bound, 0, sizeof(bound));
	len = kernel_getsockname(sock, &bound.sa);
	if (len < 0) {
		err = len;
		udp_tunnel_sock_release(sock);
		kfree(us);
		goto unlock;
	}

	us->net = net;
	us->sock = sock;
	us->uid = sock_i_uid(sk);
	us->kern = sk->sk_kern_sock;
	us->v6only = v6only;
	us->addr = bound;
	refcount_set(&us->refcnt, 1);
	INIT_WORK(&us->free_work, quic_udp_sock_free_work);

	tcfg.sk_user_data = us;
	tcfg.encap_type = 1;
	tcfg.encap_rcv = quic_udp_encap_rcv;
	if (READ_ONCE(qn->gro))
		tcfg.gro_complete = quic_udp_gro_complete;
	setup_udp_tunnel_sock(net, sock, &tcfg);
	/* what UDP_GRO sets: merge bursts (setup enabled the encap lookup
	 * GRO needs to find this socket)
	 */
	if (tcfg.gro_complete)
		udp_set_bit(GRO_ENABLED, sock->sk);

	list_add(&us->node, &qn->udp_list);
	mutex_unlock(&qn->udp_lock);
	return us;

unlock:
	mutex_unlock(&qn->udp_lock);
	return ERR_PTR(err);
}

static struct dst_entry *quic_udp_route6(struct quic_udp_sock *us,
				     const union quic_addr *src,
				     const union quic_addr *dst, int oif,
				     union quic_addr *saddr)
{
	struct dst_entry *dste;
	struct flowi6 fl6 = {};

	fl6.flowi6_proto = IPPROTO_UDP;
	fl6.daddr = dst->v6.sin6_addr;
	fl6.saddr = src->v6.sin6_addr;
	fl6.flowi6_oif = dst->v6.sin6_scope_id ?: oif;
	fl6.fl6_dport = dst->v6.sin6_port;
	fl6.fl6_sport = src->v6.sin6_port;
	dste = ip6_dst_lookup_flow(us->net, us->sock->sk, &fl6, NULL);
	if (!IS_ERR(dste))
		saddr->v6.sin6_addr = fl6.saddr;
	return dste;
}

/**
 * quic_udp_route - the route from @src to @dst through a UDP tunnel socket
 * @us: the UDP socket the datagram leaves by
 * @src: the source address (may be a wildcard)
 * @dst: the destination
 * @oif: the bound device, or 0
 * @saddr: out: the source address the route uses
 *
 * Return: the route (referenced), or an ERR_PTR.
 */
struct dst_entry *quic_udp_route(struct quic_udp_sock *us,
			     const union quic_addr *src,
			     const union quic_addr *dst, int oif,
			     union quic_addr *saddr)
{
	struct flowi4 fl4 = {};
	struct rtable *rt;

	*saddr = *src;
	/* an IPv4 tunnel socket has no IPv6 state to route or send with */
	if (dst->sa.sa_family == AF_INET6 && us->sock->sk->sk_family != AF_INET6)
		return ERR_PTR(-EAFNOSUPPORT);
	if (dst->sa.sa_family == AF_INET6)
		return quic_udp_route6(us, src, dst, oif, saddr);
	rt = ip_route_output_ports(us->net, &fl4, NULL, dst->v4.sin_addr.s_addr,
				   src->v4.sin_addr.s_addr, dst->v4.sin_port,
				   src->v4.sin_port, IPPROTO_UDP, 0, oif);
	if (IS_ERR(rt))
		return ERR_CAST(rt);
	saddr->v4.sin_addr.s_addr = fl4.saddr;
	return &rt->dst;
}

/**
 * quic_udp_xmit - send a datagram from a tunnel socket along a route
 * @us: the tunnel socket
 * @skb: the UDP payload
 * @dste: the route (its reference is consumed)
 * @saddr: the source address and port
 * @daddr: the destination
 * @tos: the IPv4 TOS or IPv6 traffic class (its ECN field)
 * @df: IPv4: set Don't Fragment (IPv6 is never fragmented on the way)
 *
 * @skb may be a UDP GSO super-datagram (gso_size and gso_segs set, type
 * SKB_GSO_UDP_L4): it leaves as one skb and is segmented by the device
 * or the stack.
 *
 * Context: any.
 * Return: 0 (@skb sent or dropped by the stack), or an error with @skb
 * still the caller's to free.
 */
int quic_udp_xmit(struct quic_udp_sock *us, struct sk_buff *skb,
			 struct dst_entry *dste, const union quic_addr *saddr,
			 const union quic_addr *daddr, u8 tos, bool df)
{
	struct sock *usk = us->sock->sk;
	bool v6 = daddr->sa.sa_family == AF_INET6;
	int err;

	err = skb_cow_head(skb, LL_RESERVED_SPACE(dste->dev) +
				dste->header_len + sizeof(struct udphdr) +
				(v6 ? sizeof(struct ipv6hdr) :
				      sizeof(struct iphdr)));
	if (err) {
		dst_release(dste);
		return err;
	}
	if (skb_is_gso(skb)) {
		/* UDP GSO (SKB_GSO_UDP_L4): the checksum of each segment is
		 * completed where it is cut out, from the UDP header the
		 * tunnel pushes next; udp_set_csum() puts the pseudo-header
		 * sum there
		 */
		skb->ip_summed = CHECKSUM_PARTIAL;
		skb->csum_start = skb_headroom(skb) - sizeof(struct udphdr);
		skb->csum_offset = offsetof(struct udphdr, check);
	}
	if (v6)
		udp_tunnel6_xmit_skb(dste, usk, skb, NULL, &saddr->v6.sin6_addr,
				     &daddr->v6.sin6_addr, tos,
				     ip6_dst_hoplimit(dste), 0,
				     saddr->v6.sin6_port, daddr->v6.sin6_port,
				     false);
	else
		udp_tunnel_xmit_skb(dst_rtable(dste), usk, skb,
				    saddr->v4.sin_addr.s_addr,
				    daddr->v4.sin_addr.s_addr, tos,
				    ip4_dst_hoplimit(dste), df ? htons(IP_DF) : 0,
				    saddr->v4.sin_port, daddr->v4.sin_port,
				    false, false);
	return 0;
}

/**
 * quic_udp_send - send a datagram from a tunnel socket, routing it
 * @us: the tunnel socket
 * @skb: the UDP payload
 * @src: the source address (a wildcard lets the route choose)
 * @dst: the destination
 * @oif: the bound device, or 0
 *
 * Context: any.
 * Return: 0, or an error with @skb still the caller's to free.
 */
int quic_udp_send(struct quic_udp_sock *us, struct sk_buff *skb,
			 const union quic_addr *src, const union quic_addr *dst,
			 int oif)
{
	union quic_addr saddr;
	struct dst_entry *dste;

	dste = quic_udp_route(us, src, dst, oif, &saddr);
	if (IS_ERR(dste))
		return PTR_ERR(dste);
	return quic_udp_xmit(us, skb, dste, &saddr, dst, 0, false);
}

/* A namespace going away: wait for its tunnel sockets being released.
 * This runs after quic_net_ops' exit (registered later, exits first).
 */
static void __net_exit quic_udp_net_exit(struct net *net)
{
	flush_workqueue(quic_udp_wq);
	WARN_ON_ONCE(!list_empty(&quic_net(net)->udp_list));
}

static struct pernet_operations quic_udp_net_ops = {
	.exit	= quic_udp_net_exit,
};

/**
 * quic_udp_init - set up the tunnel sockets' machinery
 * @rcv: where every received datagram goes (the packet receive path)
 *
 * Call before registering quic_net_ops, so that a namespace's sockets
 * are flushed after its quic_net exit.
 *
 * Return: 0, -ENOMEM or the pernet registration's error.
 */
int quic_udp_init(quic_udp_rcv_t rcv)
{
	int err;

	quic_udp_rcv = rcv;
	quic_udp_wq = alloc_workqueue("quic_udp", WQ_UNBOUND, 0);
	if (!quic_udp_wq)
		return -ENOMEM;
	err = register_pernet_subsys(&quic_udp_net_ops);
	if (err)
		destroy_workqueue(quic_udp_wq);
	return err;
}

/**
 * quic_udp_exit - tear down the tunnel sockets' machinery
 *
 * Undoes quic_udp_init(): unregisters the pernet operations (flushing
 * each namespace's pending frees) and destroys the workqueue.
 * Context: process context (module exit or failed init), may sleep.
 */
void quic_udp_exit(void)
{
	unregister_pernet_subsys(&quic_udp_net_ops);
	destroy_workqueue(quic_udp_wq);
}
