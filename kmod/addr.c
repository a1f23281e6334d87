// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: socket addresses (IPv4 and IPv6 in one union) and the source
 * address a route picks.  A leaf: it calls nothing else in the module.
 */

#include <net/ip.h>
#include <net/ipv6.h>
#include <net/route.h>
#include <net/ip6_route.h>

#include "addr.h"

/**
 * quic_addr_equal - same family, address and port
 * @a: one address
 * @b: the other
 *
 * Return: true when they are equal.
 */
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

/**
 * quic_addr_any - is the address the wildcard?
 * @a: an AF_INET or AF_INET6 address
 *
 * Return: true for INADDR_ANY or in6addr_any.
 */
bool quic_addr_any(const union quic_addr *a)
{
	if (a->sa.sa_family == AF_INET6)
		return ipv6_addr_any(&a->v6.sin6_addr);
	return a->v4.sin_addr.s_addr == htonl(INADDR_ANY);
}

/**
 * quic_addr_set_port - set the port of an address
 * @a: an AF_INET or AF_INET6 address
 * @port: the port, network order
 */
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

/**
 * quic_addr_same_host - the same host address, whatever the ports
 * @a: one address
 * @b: the other
 *
 * Return: true when family and address are equal.
 */
bool quic_addr_same_host(const union quic_addr *a,
			 const union quic_addr *b)
{
	union quic_addr x = *a;

	quic_addr_set_port(&x, quic_addr_port(b));
	return quic_addr_equal(&x, b);
}

/**
 * quic_addr_route_saddr - the source address a route to @peer would use
 * @sk: the socket (its bound device and namespace)
 * @peer: the destination
 * @local: in: the bound address (wildcard or not, port set); out: the
 *	source address with that port
 *
 * A dual-stack socket bound to the IPv6 wildcard reaching an IPv4 peer
 * takes an IPv4 source.
 *
 * Return: 0, -ENETUNREACH for a bound address of the other family, or the
 * routing error.
 */
int quic_addr_route_saddr(struct sock *sk, const union quic_addr *peer,
			  union quic_addr *local)
{
	struct net *net = sock_net(sk);

	if (local->sa.sa_family != peer->sa.sa_family) {
		__be16 port = quic_addr_port(local);

		if (!quic_addr_any(local))
			return -ENETUNREACH;
		memset(local, 0, sizeof(*local));
		local->sa.sa_family = peer->sa.sa_family;
		quic_addr_set_port(local, port);
	}
	if (peer->sa.sa_family == AF_INET6) {
		struct dst_entry *dst;
		struct flowi6 fl6 = {};

		fl6.flowi6_proto = IPPROTO_UDP;
		fl6.daddr = peer->v6.sin6_addr;
		fl6.saddr = local->v6.sin6_addr;
		fl6.flowi6_oif = peer->v6.sin6_scope_id ?: sk->sk_bound_dev_if;
		dst = ip6_dst_lookup_flow(net, sk, &fl6, NULL);
		if (IS_ERR(dst))
			return PTR_ERR(dst);
		local->v6.sin6_addr = fl6.saddr;
		dst_release(dst);
	} else {
		struct flowi4 fl4 = {};
		struct rtable *rt;

		rt = ip_route_output_ports(net, &fl4, NULL,
					   peer->v4.sin_addr.s_addr,
					   local->v4.sin_addr.s_addr,
					   peer->v4.sin_port, 0, IPPROTO_UDP,
					   0, sk->sk_bound_dev_if);
		if (IS_ERR(rt))
			return PTR_ERR(rt);
		local->v4.sin_addr.s_addr = fl4.saddr;
		ip_rt_put(rt);
	}
	return 0;
}
