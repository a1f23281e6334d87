// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: socket operations and socket options.
 */

#include <linux/module.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <net/inet_common.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/tls.h>

#include "protocol.h"
#include "path.h"
#include "socket.h"

void quic_set_state(struct sock *sk, int state)
{
	struct net *net = sock_net(sk);
	int old = sk->sk_state;

	if (old == state)
		return;
	if (state == QUIC_SS_ESTABLISHED) {
		QUIC_INC_STATS(net, QUIC_MIB_CONN_CURRENTESTABS);
		QUIC_INC_STATS(net, quic_is_serv(sk) ?
				    QUIC_MIB_CONN_PASSIVEESTABS :
				    QUIC_MIB_CONN_ACTIVEESTABS);
	} else if (old == QUIC_SS_ESTABLISHED) {
		QUIC_DEC_STATS(net, QUIC_MIB_CONN_CURRENTESTABS);
	}
	inet_sk_set_state(sk, state);
	sk->sk_state_change(sk);
}

static void quic_tp_defaults(struct quic_transport_param *p)
{
	memset(p, 0, sizeof(*p));
	p->active_connection_id_limit = 7;
	p->ack_delay_exponent = 3;
	p->max_udp_payload_size = 65527;
	p->max_idle_timeout = 30000000;
	p->max_ack_delay = 25000;
	p->max_streams_bidi = 100;
	p->max_streams_uni = 100;
	p->max_data = 65535 * 32;
	p->max_stream_data_bidi_local = 65535 * 16;
	p->max_stream_data_bidi_remote = 65535 * 16;
	p->max_stream_data_uni = 65535 * 16;
}

static int quic_init_sock(struct sock *sk)
{
	struct quic_net *qn = quic_net(sock_net(sk));
	struct quic_sock *qs = quic_sk(sk);

	INIT_LIST_HEAD(&qs->listen_node);
	qs->config.version = QUIC_VERSION_V1;
	qs->config.initial_smoothed_rtt = 333000;
	quic_tp_defaults(&qs->local_tp);
	quic_tp_defaults(&qs->remote_tp);
	qs->remote_tp.remote = 1;
	qs->local.sa.sa_family = sk->sk_family;
	qs->peer.sa.sa_family = sk->sk_family;


	spin_lock_bh(&qn->sock_lock);
	list_add_tail(&qs->node, &qn->sock_list);
	spin_unlock_bh(&qn->sock_lock);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
	return 0;
}

static void quic_destroy_sock(struct sock *sk)
{
	struct quic_net *qn = quic_net(sock_net(sk));
	struct quic_sock *qs = quic_sk(sk);

	if (qs->udp) {
		quic_udp_sock_put(qs->udp);
		qs->udp = NULL;
	}
	spin_lock_bh(&qn->sock_lock);
	list_del_init(&qs->node);
	spin_unlock_bh(&qn->sock_lock);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
}

static int quic_hash(struct sock *sk)
{
	return 0;
}

static void quic_unhash(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_udp_sock *us = qs->udp;

	if (us && !list_empty(&qs->listen_node)) {
		spin_lock_bh(&us->lock);
		list_del_init(&qs->listen_node);
		spin_unlock_bh(&us->lock);
	}
}

static void quic_close(struct sock *sk, long timeout)
{
	lock_sock(sk);
	quic_unhash(sk);
	quic_set_state(sk, QUIC_SS_CLOSED);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	release_sock(sk);
	sk_common_release(sk);
}

/* Validate a user sockaddr for this socket's family and copy it. */
static int quic_get_user_addr(struct sock *sk, union quic_addr *a,
			      struct sockaddr *uaddr, int addr_len)
{
	memset(a, 0, sizeof(*a));
	if (addr_len < (int)sizeof(uaddr->sa_family))
		return -EINVAL;
	if (uaddr->sa_family != sk->sk_family)
		return -EAFNOSUPPORT;
	if (sk->sk_family == AF_INET6) {
		if (addr_len < SIN6_LEN_RFC2133)
			return -EINVAL;
		memcpy(&a->v6, uaddr, min_t(int, addr_len, sizeof(a->v6)));
		/* PF_INET6 QUIC sockets speak IPv6 only (v6only tunnel sockets) */
		if (ipv6_addr_v4mapped(&a->v6.sin6_addr))
			return -EAFNOSUPPORT;
		a->v6.sin6_flowinfo = 0;
		if (!(ipv6_addr_type(&a->v6.sin6_addr) & IPV6_ADDR_LINKLOCAL))
			a->v6.sin6_scope_id = 0;
		return 0;
	}
	if (addr_len < (int)sizeof(struct sockaddr_in))
		return -EINVAL;
	memcpy(&a->v4, uaddr, sizeof(a->v4));
	memset(a->v4.sin_zero, 0, sizeof(a->v4.sin_zero));
	return 0;
}

/* Record the local address in the inet fields getsockname() reads. */
static void quic_set_local(struct sock *sk, const union quic_addr *a)
{
	struct inet_sock *inet = inet_sk(sk);

	quic_sk(sk)->local = *a;
	inet->inet_num = ntohs(quic_addr_port(a));
	inet->inet_sport = quic_addr_port(a);
	if (sk->sk_family == AF_INET6) {
		sk->sk_v6_rcv_saddr = a->v6.sin6_addr;
		inet6_sk(sk)->saddr = a->v6.sin6_addr;
		sk->sk_bound_dev_if = a->v6.sin6_scope_id;
	} else {
		inet->inet_rcv_saddr = a->v4.sin_addr.s_addr;
		inet->inet_saddr = a->v4.sin_addr.s_addr;
	}
}

static int __quic_bind(struct sock *sk, const union quic_addr *a)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_udp_sock *us;

	us = quic_udp_sock_get(sock_net(sk), a);
	if (IS_ERR(us))
		return PTR_ERR(us);
	qs->udp = us;
	qs->bound = 1;
	quic_set_local(sk, &us->addr);
	return 0;
}

static int quic_bind(struct sock *sk, struct sockaddr *uaddr, int addr_len)
{
	union quic_addr a;
	int err;

	lock_sock(sk);
	err = -EINVAL;
	if (quic_sk(sk)->bound || sk->sk_state != QUIC_SS_CLOSED)
		goto out;
	err = quic_get_user_addr(sk, &a, uaddr, addr_len);
	if (err)
		goto out;
	if (ntohs(quic_addr_port(&a)) &&
	    inet_port_requires_bind_service(sock_net(sk),
					    ntohs(quic_addr_port(&a))) &&
	    !ns_capable(sock_net(sk)->user_ns, CAP_NET_BIND_SERVICE)) {
		err = -EACCES;
		goto out;
	}
	err = __quic_bind(sk, &a);
out:
	release_sock(sk);
	return err;
}

static int quic_connect(struct sock *sk, struct sockaddr *addr, int addr_len)
{
	return -EOPNOTSUPP;
}

static int quic_listen(struct socket *sock, int backlog)
{
	return -EOPNOTSUPP;
}

static struct sock *quic_accept(struct sock *sk, struct proto_accept_arg *arg)
{
	arg->err = -EOPNOTSUPP;
	return NULL;
}

static int quic_sendmsg(struct sock *sk, struct msghdr *msg, size_t len)
{
	return -EOPNOTSUPP;
}

static int quic_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			int flags, int *addr_len)
{
	return -EOPNOTSUPP;
}

static void quic_shutdown(struct sock *sk, int how)
{
}

static int quic_disconnect(struct sock *sk, int flags)
{
	return -EOPNOTSUPP;
}

/* ---- socket options ------------------------------------------------- */

/* Copy a struct option from the user: the common prefix of what was passed
 * and what we know, the rest zero (ABI.md: min(optlen, sizeof)).
 */
static int quic_copy_in(void *dst, size_t size, sockptr_t optval,
			unsigned int optlen)
{
	memset(dst, 0, size);
	return copy_from_sockptr(dst, optval, min_t(size_t, size, optlen)) ?
	       -EFAULT : 0;
}

static int quic_sockopt_event_set(struct sock *sk, sockptr_t optval,
				  unsigned int optlen)
{
	struct quic_event_option opt;
	int err;

	err = quic_copy_in(&opt, sizeof(opt), optval, optlen);
	if (err)
		return err;
	if (!opt.type || opt.type >= QUIC_EVENT_MAX)
		return -EINVAL;
	if (opt.on)
		quic_sk(sk)->events |= BIT(opt.type);
	else
		quic_sk(sk)->events &= ~BIT(opt.type);
	return 0;
}

static int quic_tp_validate(const struct quic_transport_param *p)
{
	if (p->active_connection_id_limit < 2 ||
	    p->active_connection_id_limit > 8)
		return -EINVAL;
	if (p->ack_delay_exponent > 20)
		return -EINVAL;
	if (p->max_datagram_frame_size && p->max_datagram_frame_size < 1200)
		return -EINVAL;
	if (p->max_udp_payload_size < 1200 || p->max_udp_payload_size > 65527)
		return -EINVAL;
	if (p->max_idle_timeout < 1000000)
		return -EINVAL;
	if (p->max_ack_delay >= 16384000)
		return -EINVAL;
	if (p->max_streams_bidi > 4096 || p->max_streams_uni > 4096)
		return -EINVAL;
	return 0;
}

#define QUIC_OVERLAY(dst, src, f)	do { if ((src)->f) (dst)->f = (src)->f; } while (0)

static int quic_sockopt_tp_set(struct sock *sk, sockptr_t optval,
			       unsigned int optlen)
{
	struct quic_transport_param in, p;
	struct quic_sock *qs = quic_sk(sk);
	int err;

	err = quic_copy_in(&in, sizeof(in), optval, optlen);
	if (err)
		return err;
	if (sk->sk_state == QUIC_SS_ESTABLISHED)
		return -EINVAL;
	if (in.remote && quic_is_serv(sk))
		return -EINVAL;
	p = in.remote ? qs->remote_tp : qs->local_tp;
	QUIC_OVERLAY(&p, &in, disable_active_migration);
	QUIC_OVERLAY(&p, &in, grease_quic_bit);
	QUIC_OVERLAY(&p, &in, stateless_reset);
	QUIC_OVERLAY(&p, &in, disable_1rtt_encryption);
	QUIC_OVERLAY(&p, &in, disable_compatible_version);
	QUIC_OVERLAY(&p, &in, active_connection_id_limit);
	QUIC_OVERLAY(&p, &in, ack_delay_exponent);
	QUIC_OVERLAY(&p, &in, max_datagram_frame_size);
	QUIC_OVERLAY(&p, &in, max_udp_payload_size);
	QUIC_OVERLAY(&p, &in, max_idle_timeout);
	QUIC_OVERLAY(&p, &in, max_ack_delay);
	QUIC_OVERLAY(&p, &in, max_streams_bidi);
	QUIC_OVERLAY(&p, &in, max_streams_uni);
	QUIC_OVERLAY(&p, &in, max_data);
	QUIC_OVERLAY(&p, &in, max_stream_data_bidi_local);
	QUIC_OVERLAY(&p, &in, max_stream_data_bidi_remote);
	QUIC_OVERLAY(&p, &in, max_stream_data_uni);
	err = quic_tp_validate(&p);
	if (err)
		return err;
	if (!in.remote) {
		if (p.max_data > S32_MAX / 4 ||
		    p.max_stream_data_bidi_local > S32_MAX / 8 ||
		    p.max_stream_data_bidi_remote > S32_MAX / 8 ||
		    p.max_stream_data_uni > S32_MAX / 8)
			return -EINVAL;
		p.remote = 0;
		qs->local_tp = p;
	} else {
		p.remote = 1;
		qs->remote_tp = p;
	}
	return 0;
}

static int quic_sockopt_config_set(struct sock *sk, sockptr_t optval,
				   unsigned int optlen)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_config in, c;
	int err;

	err = quic_copy_in(&in, sizeof(in), optval, optlen);
	if (err)
		return err;
	if (sk->sk_state == QUIC_SS_ESTABLISHED)
		return -EINVAL;
	c = qs->config;
	QUIC_OVERLAY(&c, &in, version);
	QUIC_OVERLAY(&c, &in, plpmtud_probe_interval);
	QUIC_OVERLAY(&c, &in, initial_smoothed_rtt);
	QUIC_OVERLAY(&c, &in, payload_cipher_type);
	QUIC_OVERLAY(&c, &in, congestion_control_algo);
	QUIC_OVERLAY(&c, &in, validate_peer_address);
	QUIC_OVERLAY(&c, &in, stream_data_nodelay);
	QUIC_OVERLAY(&c, &in, receive_session_ticket);
	QUIC_OVERLAY(&c, &in, certificate_request);
	QUIC_OVERLAY(&c, &in, keepalive_probe_interval);

	if (c.version != QUIC_VERSION_V1 && c.version != QUIC_VERSION_V2)
		return -EINVAL;
	if (c.plpmtud_probe_interval && c.plpmtud_probe_interval < 5000000)
		return -EINVAL;
	if (c.initial_smoothed_rtt < 1000 || c.initial_smoothed_rtt > 6000000)
		return -EINVAL;
	if (c.payload_cipher_type &&
	    (c.payload_cipher_type < TLS_CIPHER_AES_GCM_128 ||
	     c.payload_cipher_type > TLS_CIPHER_CHACHA20_POLY1305))
		return -EINVAL;
	if (c.congestion_control_algo >= QUIC_CONG_ALG_MAX)
		return -EINVAL;
	if (c.certificate_request > 2)
		return -EINVAL;
	if (c.keepalive_probe_interval && c.keepalive_probe_interval < 1500000)
		return -EINVAL;
	qs->config = c;
	return 0;
}

static int quic_sockopt_alpn_set(struct sock *sk, sockptr_t optval,
				 unsigned int optlen)
{
	struct quic_sock *qs = quic_sk(sk);
	u8 buf[QUIC_ALPN_MAX_LEN + 1];

	if (optlen > QUIC_ALPN_MAX_LEN)
		return -EINVAL;
	if (quic_is_listen(sk))
		return -EINVAL;
	if (copy_from_sockptr(buf, optval, optlen))
		return -EFAULT;
	buf[optlen] = '\0';
	/* A trailing NUL passed by C callers is not part of the list. */
	optlen = strnlen(buf, optlen);
	memcpy(qs->alpn, buf, optlen + 1);
	qs->alpn_len = optlen;
	return 0;
}

static int quic_sockopt_token_set(struct sock *sk, sockptr_t optval,
				  unsigned int optlen)
{
	struct quic_sock *qs = quic_sk(sk);
	u8 buf[QUIC_TOKEN_MAX_LEN];

	if (quic_is_serv(sk)) {
		/* Server: issue a NEW_TOKEN; needs the established connection. */
		if (sk->sk_state != QUIC_SS_ESTABLISHED)
			return -EINVAL;
		return -EOPNOTSUPP;
	}
	if (optlen > QUIC_TOKEN_MAX_LEN)
		return -EINVAL;
	if (copy_from_sockptr(buf, optval, optlen))
		return -EFAULT;
	memcpy(qs->token, buf, optlen);
	qs->token_len = optlen;
	return 0;
}

static int quic_sockopt_close_set(struct sock *sk, sockptr_t optval,
				  unsigned int optlen)
{
	struct quic_connection_close c;
	int err;

	err = quic_copy_in(&c, sizeof(c), optval, optlen);
	if (err)
		return err;
	c.phrase[QUIC_CLOSE_PHRASE_BUFFER_SIZE - 1] = '\0';
	memset(c.reserved, 0, sizeof(c.reserved));
	quic_sk(sk)->local_close = c;
	return 0;
}

/**
 * quic_do_setsockopt - set a SOL_QUIC option
 * @sk: the QUIC socket
 * @optname: QUIC_SOCKOPT_*
 * @optval: the value, user or kernel memory
 * @optlen: its length; at most 4096
 *
 * Exported for kernel consumers (e.g. the net/handshake upcall users).
 *
 * Return: 0 or a negative errno (-ENOPROTOOPT for unknown options).
 */
int quic_do_setsockopt(struct sock *sk, int optname, sockptr_t optval,
		       unsigned int optlen)
{
	int err;

	if (optlen > QUIC_OPT_MAX_LEN)
		return -EINVAL;

	lock_sock(sk);
	switch (optname) {
	case QUIC_SOCKOPT_EVENT:
		err = quic_sockopt_event_set(sk, optval, optlen);
		break;
	case QUIC_SOCKOPT_TRANSPORT_PARAM:
		err = quic_sockopt_tp_set(sk, optval, optlen);
		break;
	case QUIC_SOCKOPT_CONFIG:
		err = quic_sockopt_config_set(sk, optval, optlen);
		break;
	case QUIC_SOCKOPT_ALPN:
		err = quic_sockopt_alpn_set(sk, optval, optlen);
		break;
	case QUIC_SOCKOPT_TOKEN:
		err = quic_sockopt_token_set(sk, optval, optlen);
		break;
	case QUIC_SOCKOPT_CONNECTION_CLOSE:
		err = quic_sockopt_close_set(sk, optval, optlen);
		break;
	case QUIC_SOCKOPT_STREAM_RESET:
	case QUIC_SOCKOPT_STREAM_STOP_SENDING:
	case QUIC_SOCKOPT_CONNECTION_ID:
	case QUIC_SOCKOPT_CONNECTION_MIGRATION:
	case QUIC_SOCKOPT_KEY_UPDATE:
	case QUIC_SOCKOPT_SESSION_TICKET:
	case QUIC_SOCKOPT_CRYPTO_SECRET:
	case QUIC_SOCKOPT_TRANSPORT_PARAM_EXT:
		err = -EOPNOTSUPP;
		break;
	default:
		err = -ENOPROTOOPT;
		break;
	}
	release_sock(sk);
	return err;
}
EXPORT_SYMBOL_GPL(quic_do_setsockopt);

static int quic_setsockopt(struct sock *sk, int level, int optname,
			   sockptr_t optval, unsigned int optlen)
{
	if (level != SOL_QUIC) {
		if (sk->sk_family == AF_INET6)
			return ipv6_setsockopt(sk, level, optname, optval, optlen);
		return ip_setsockopt(sk, level, optname, optval, optlen);
	}
	return quic_do_setsockopt(sk, optname, optval, optlen);
}

/* Copy a struct option out: at most what the caller has room for, and
 * report how much was written.
 */
static int quic_copy_out(sockptr_t optval, sockptr_t optlen, int len,
			 const void *src, size_t size)
{
	len = min_t(int, len, size);
	if (copy_to_sockptr(optval, src, len))
		return -EFAULT;
	if (copy_to_sockptr(optlen, &len, sizeof(len)))
		return -EFAULT;
	return 0;
}

static int quic_sockopt_event_get(struct sock *sk, int len, sockptr_t optval,
				  sockptr_t optlen)
{
	struct quic_event_option opt = {};

	if (copy_from_sockptr(&opt, optval, min_t(int, len, sizeof(opt))))
		return -EFAULT;
	if (!opt.type || opt.type >= QUIC_EVENT_MAX)
		return -EINVAL;
	opt.on = !!(quic_sk(sk)->events & BIT(opt.type));
	return quic_copy_out(optval, optlen, len, &opt, sizeof(opt));
}

static int quic_sockopt_tp_get(struct sock *sk, int len, sockptr_t optval,
			       sockptr_t optlen)
{
	struct quic_transport_param p = {};

	if (copy_from_sockptr(&p, optval, min_t(int, len, sizeof(p))))
		return -EFAULT;
	p = p.remote ? quic_sk(sk)->remote_tp : quic_sk(sk)->local_tp;
	return quic_copy_out(optval, optlen, len, &p, sizeof(p));
}

static int quic_sockopt_bytes_get(sockptr_t optval, sockptr_t optlen, int len,
				  const u8 *src, int size)
{
	u8 buf[QUIC_ALPN_MAX_LEN + 1];

	if (len < size)
		return -EINVAL;
	memcpy(buf, src, size);
	if (copy_to_sockptr(optval, buf, size))
		return -EFAULT;
	if (copy_to_sockptr(optlen, &size, sizeof(size)))
		return -EFAULT;
	return 0;
}

/**
 * quic_do_getsockopt - get a SOL_QUIC option
 * @sk: the QUIC socket
 * @optname: QUIC_SOCKOPT_*
 * @optval: the buffer, user or kernel memory
 * @optlen: in: the buffer size; out: the length written
 *
 * Return: 0 or a negative errno (-ENOPROTOOPT for unknown options).
 */
int quic_do_getsockopt(struct sock *sk, int optname, sockptr_t optval,
		       sockptr_t optlen)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_connection_close c;
	struct quic_config cfg;
	int len, err;

	if (copy_from_sockptr(&len, optlen, sizeof(len)))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	len = min_t(int, len, QUIC_OPT_MAX_LEN);

	lock_sock(sk);
	switch (optname) {
	case QUIC_SOCKOPT_EVENT:
		err = quic_sockopt_event_get(sk, len, optval, optlen);
		break;
	case QUIC_SOCKOPT_TRANSPORT_PARAM:
		err = quic_sockopt_tp_get(sk, len, optval, optlen);
		break;
	case QUIC_SOCKOPT_CONFIG:
		cfg = qs->config;
		err = quic_copy_out(optval, optlen, len, &cfg, sizeof(cfg));
		break;
	case QUIC_SOCKOPT_ALPN:
		err = quic_sockopt_bytes_get(optval, optlen, len, qs->alpn,
					     qs->alpn_len);
		break;
	case QUIC_SOCKOPT_TOKEN:
		if (quic_is_serv(sk)) {
			err = -EINVAL;
			break;
		}
		err = quic_sockopt_bytes_get(optval, optlen, len, qs->token,
					     qs->token_len);
		break;
	case QUIC_SOCKOPT_CONNECTION_CLOSE:
		c = qs->peer_close;
		err = quic_copy_out(optval, optlen, len, &c, sizeof(c));
		break;
	case QUIC_SOCKOPT_STREAM_OPEN:
	case QUIC_SOCKOPT_CONNECTION_ID:
	case QUIC_SOCKOPT_SESSION_TICKET:
	case QUIC_SOCKOPT_TRANSPORT_PARAM_EXT:
		err = -EOPNOTSUPP;
		break;
	default:
		err = -ENOPROTOOPT;
		break;
	}
	release_sock(sk);
	return err;
}
EXPORT_SYMBOL_GPL(quic_do_getsockopt);

static int quic_getsockopt(struct sock *sk, int level, int optname,
			   char __user *optval, int __user *optlen)
{
	if (level != SOL_QUIC) {
		if (sk->sk_family == AF_INET6)
			return ipv6_getsockopt(sk, level, optname, optval, optlen);
		return ip_getsockopt(sk, level, optname, optval, optlen);
	}
	return quic_do_getsockopt(sk, optname, USER_SOCKPTR(optval),
				  USER_SOCKPTR(optlen));
}

/* ---- proto_ops glue ------------------------------------------------- */

static int quic_inet_connect(struct socket *sock, struct sockaddr *addr,
			     int addr_len, int flags)
{
	struct sock *sk = sock->sk;

	return sk->sk_prot->connect(sk, addr, addr_len);
}

static int quic_inet_bind(struct socket *sock, struct sockaddr *addr,
			  int addr_len)
{
	struct sock *sk = sock->sk;

	return sk->sk_prot->bind(sk, addr, addr_len);
}

static int quic_inet_sendmsg(struct socket *sock, struct msghdr *msg,
			     size_t size)
{
	struct sock *sk = sock->sk;

	return sk->sk_prot->sendmsg(sk, msg, size);
}

static __poll_t quic_poll(struct file *file, struct socket *sock,
			  poll_table *wait)
{
	struct sock *sk = sock->sk;
	__poll_t mask = 0;
	u8 shutdown;

	sock_poll_wait(file, sock, wait);
	shutdown = READ_ONCE(sk->sk_shutdown);

	if (READ_ONCE(sk->sk_err) || !skb_queue_empty_lockless(&sk->sk_error_queue))
		mask |= EPOLLERR;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
	if (shutdown == SHUTDOWN_MASK || sk->sk_state == QUIC_SS_CLOSED)
		mask |= EPOLLHUP;
	if (!skb_queue_empty_lockless(&sk->sk_receive_queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (quic_is_listen(sk)) {
		if (READ_ONCE(sk->sk_ack_backlog))
			mask |= EPOLLIN | EPOLLRDNORM;
		return mask;
	}
	if (sk->sk_state == QUIC_SS_ESTABLISHED ||
	    sk->sk_state == QUIC_SS_ESTABLISHING) {
		if (sk_stream_wspace(sk) > 0)
			mask |= EPOLLOUT | EPOLLWRNORM;
	}
	return mask;
}

static int quic_inet_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;

	how++;	/* SHUT_RD/WR/RDWR -> RCV_SHUTDOWN/SEND_SHUTDOWN/both */
	if (how & ~SHUTDOWN_MASK || !how)
		return -EINVAL;
	lock_sock(sk);
	if (sk->sk_state == QUIC_SS_CLOSED) {
		release_sock(sk);
		return -ENOTCONN;
	}
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
	sk->sk_prot->shutdown(sk, how);
	release_sock(sk);
	sk->sk_state_change(sk);
	return 0;
}

const struct proto_ops quic_proto_ops = {
	.family		= PF_INET,
	.owner		= THIS_MODULE,
	.release	= inet_release,
	.bind		= quic_inet_bind,
	.connect	= quic_inet_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= inet_accept,
	.getname	= inet_getname,
	.poll		= quic_poll,
	.ioctl		= inet_ioctl,
	.gettstamp	= sock_gettstamp,
	.listen		= quic_listen,
	.shutdown	= quic_inet_shutdown,
	.setsockopt	= sock_common_setsockopt,
	.getsockopt	= sock_common_getsockopt,
	.sendmsg	= quic_inet_sendmsg,
	.recvmsg	= sock_common_recvmsg,
	.mmap		= sock_no_mmap,
};

const struct proto_ops quicv6_proto_ops = {
	.family		= PF_INET6,
	.owner		= THIS_MODULE,
	.release	= inet6_release,
	.bind		= quic_inet_bind,
	.connect	= quic_inet_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= inet_accept,
	.getname	= inet6_getname,
	.poll		= quic_poll,
	.ioctl		= inet6_ioctl,
	.gettstamp	= sock_gettstamp,
	.listen		= quic_listen,
	.shutdown	= quic_inet_shutdown,
	.setsockopt	= sock_common_setsockopt,
	.getsockopt	= sock_common_getsockopt,
	.sendmsg	= quic_inet_sendmsg,
	.recvmsg	= sock_common_recvmsg,
	.mmap		= sock_no_mmap,
};

struct proto quic_prot = {
	.name		= "QUIC",
	.owner		= THIS_MODULE,
	.init		= quic_init_sock,
	.destroy	= quic_destroy_sock,
	.close		= quic_close,
	.bind		= quic_bind,
	.connect	= quic_connect,
	.disconnect	= quic_disconnect,
	.accept		= quic_accept,
	.shutdown	= quic_shutdown,
	.setsockopt	= quic_setsockopt,
	.getsockopt	= quic_getsockopt,
	.sendmsg	= quic_sendmsg,
	.recvmsg	= quic_recvmsg,
	.hash		= quic_hash,
	.unhash		= quic_unhash,
	.no_autobind	= true,
	.obj_size	= sizeof(struct quic_sock),
};

struct proto quicv6_prot = {
	.name		= "QUICv6",
	.owner		= THIS_MODULE,
	.init		= quic_init_sock,
	.destroy	= quic_destroy_sock,
	.close		= quic_close,
	.bind		= quic_bind,
	.connect	= quic_connect,
	.disconnect	= quic_disconnect,
	.accept		= quic_accept,
	.shutdown	= quic_shutdown,
	.setsockopt	= quic_setsockopt,
	.getsockopt	= quic_getsockopt,
	.sendmsg	= quic_sendmsg,
	.recvmsg	= quic_recvmsg,
	.hash		= quic_hash,
	.unhash		= quic_unhash,
	.no_autobind	= true,
	.obj_size	= sizeof(struct quic6_sock),
	.ipv6_pinfo_offset = offsetof(struct quic6_sock, inet6),
};
