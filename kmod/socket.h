/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: the socket.
 */
#ifndef __NET_QUIC_SOCKET_H
#define __NET_QUIC_SOCKET_H

#include <linux/quic.h>
#include <linux/sockptr.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/tcp_states.h>

#include "path.h"

/* Socket states map onto TCP's so that the generic inet code (accept,
 * getname, poll helpers) treats them sensibly.
 */
enum quic_state {
	QUIC_SS_CLOSED		= TCP_CLOSE,
	QUIC_SS_LISTENING	= TCP_LISTEN,
	QUIC_SS_ESTABLISHING	= TCP_SYN_RECV,
	QUIC_SS_ESTABLISHED	= TCP_ESTABLISHED,
};

#define QUIC_ALPN_MAX_LEN	128	/* comma-separated form, as set */
#define QUIC_TOKEN_MAX_LEN	120
#define QUIC_OPT_MAX_LEN	4096

struct quic_sock {
	struct inet_sock inet;
	struct list_head node;		/* in quic_net->sock_list */
	struct list_head listen_node;	/* in quic_udp_sock->listeners */

	struct quic_udp_sock *udp;	/* the bound UDP tunnel socket */
	union quic_addr local;		/* bound (or chosen) local address */
	union quic_addr peer;		/* connected peer */

	struct quic_config config;
	struct quic_transport_param local_tp;
	struct quic_transport_param remote_tp;
	struct quic_connection_close local_close;  /* sent on close() */
	struct quic_connection_close peer_close;   /* received from the peer */

	u8 alpn[QUIC_ALPN_MAX_LEN + 1];	/* comma-separated, NUL-terminated */
	u8 alpn_len;
	u8 token[QUIC_TOKEN_MAX_LEN];
	u8 token_len;
	u32 events;			/* enabled quic_event_type bits */

	u8 is_serv:1;			/* listener or accepted socket */
	u8 bound:1;
};

struct quic6_sock {
	struct quic_sock quic;
	struct ipv6_pinfo inet6;
};

static inline struct quic_sock *quic_sk(const struct sock *sk)
{
	return (struct quic_sock *)sk;
}

static inline bool quic_is_listen(const struct sock *sk)
{
	return sk->sk_state == QUIC_SS_LISTENING;
}

static inline bool quic_is_serv(const struct sock *sk)
{
	return quic_sk(sk)->is_serv;
}

void quic_set_state(struct sock *sk, int state);

int quic_do_setsockopt(struct sock *sk, int optname, sockptr_t optval,
		       unsigned int optlen);
int quic_do_getsockopt(struct sock *sk, int optname, sockptr_t optval,
		       sockptr_t optlen);

extern const struct proto_ops quic_proto_ops;
extern const struct proto_ops quicv6_proto_ops;

#endif /* __NET_QUIC_SOCKET_H */
