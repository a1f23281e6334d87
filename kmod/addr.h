/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: socket addresses.
 */
#ifndef __NET_QUIC_ADDR_H
#define __NET_QUIC_ADDR_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/socket.h>

union quic_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

struct sock;

bool quic_addr_equal(const union quic_addr *a, const union quic_addr *b);
bool quic_addr_same_host(const union quic_addr *a, const union quic_addr *b);
bool quic_addr_any(const union quic_addr *a);
void quic_addr_set_port(union quic_addr *a, __be16 port);
__be16 quic_addr_port(const union quic_addr *a);
int quic_addr_route_saddr(struct sock *sk, const union quic_addr *peer,
			  union quic_addr *local);

#endif /* __NET_QUIC_ADDR_H */
