/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: shared UDP tunnel sockets and addresses.
 */
#ifndef __NET_QUIC_PATH_H
#define __NET_QUIC_PATH_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/refcount.h>
#include <linux/workqueue.h>
#include <net/sock.h>

union quic_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

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
	spinlock_t lock;		/* protects listeners */
	struct list_head listeners;	/* listening quic_socks on this port */
	struct work_struct free_work;
	kuid_t uid;			/* owner: who may share it */
	bool kern;			/* created by a kernel socket */
	bool v6only;			/* IPv6 only (else dual stack) */
};

bool quic_addr_equal(const union quic_addr *a, const union quic_addr *b);
bool quic_addr_any(const union quic_addr *a);
void quic_addr_set_port(union quic_addr *a, __be16 port);
__be16 quic_addr_port(const union quic_addr *a);

struct quic_udp_sock *quic_udp_sock_get(struct sock *sk,
					const union quic_addr *addr);
struct quic_udp_sock *quic_udp_sock_hold(struct quic_udp_sock *us);
void quic_udp_sock_put(struct quic_udp_sock *us);

int quic_path_route_saddr(struct sock *sk, const union quic_addr *peer,
			  union quic_addr *local);
int quic_path_migrate(struct sock *sk, const union quic_addr *a);
int quic_path_set_pref(struct sock *sk, const union quic_addr *a);
void quic_path_pref_prepare(struct sock *sk);
void quic_path_pref_start(struct sock *sk);
void quic_path_abandon(struct sock *sk);
void quic_path_free(struct sock *sk);
void quic_path_timeout(struct sock *sk);
void quic_path_challenge_rcv(struct sock *sk, const u8 *data);
void quic_path_response_rcv(struct sock *sk, const u8 *data);
struct quic_conn_id;
void quic_path_rcv(struct sock *sk, const struct quic_conn_id *dcid,
		   bool newest);
void quic_path_rx_bytes(struct sock *sk, u32 len);

int quic_path_init(void);
void quic_path_exit(void);
void quic_path_flush(void);

#endif /* __NET_QUIC_PATH_H */
