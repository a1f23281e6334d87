/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: shared UDP tunnel sockets.
 */
#ifndef __NET_QUIC_UDP_H
#define __NET_QUIC_UDP_H

#include <linux/refcount.h>
#include <linux/workqueue.h>
#include <net/sock.h>

#include "addr.h"

struct quic_listen_port;

/* One kernel UDP socket per bound local address and port.  Every QUIC
 * socket bound to that address (listeners, the sockets they accept and
 * clients that share the port) holds a reference; the UDP socket's
 * encap_rcv hands datagrams to the QUIC receive path.
 */
struct quic_udp_sock {
	struct list_head node;		/* in quic_net->udp_list */
	refcount_t refcnt;
	struct net *net;
	struct socket *sock;
	union quic_addr addr;		/* bound address, port filled in */
	struct quic_listen_port __rcu *port;	/* its listeners (listen.c) */
	struct work_struct free_work;
	kuid_t uid;			/* owner: who may share it */
	bool kern;			/* created by a kernel socket */
	bool v6only;			/* IPv6 only (else dual stack) */
};

typedef void (*quic_udp_rcv_t)(struct quic_udp_sock *us, struct sk_buff *skb);

struct quic_udp_sock *quic_udp_sock_get(struct sock *sk,
					const union quic_addr *addr);
struct quic_udp_sock *quic_udp_sock_hold(struct quic_udp_sock *us);
void quic_udp_sock_local(const struct quic_udp_sock *us,
			 const union quic_addr *want, union quic_addr *local);
void quic_udp_sock_put(struct quic_udp_sock *us);

struct dst_entry *quic_udp_route(struct quic_udp_sock *us,
				 const union quic_addr *src,
				 const union quic_addr *dst, int oif,
				 union quic_addr *saddr);
int quic_udp_xmit(struct quic_udp_sock *us, struct sk_buff *skb,
		  struct dst_entry *dste, const union quic_addr *saddr,
		  const union quic_addr *daddr, u8 tos, bool df);
int quic_udp_send(struct quic_udp_sock *us, struct sk_buff *skb,
		  const union quic_addr *src, const union quic_addr *dst,
		  int oif);

int quic_udp_init(quic_udp_rcv_t rcv);
void quic_udp_exit(void);

#endif /* __NET_QUIC_UDP_H */
