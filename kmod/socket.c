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

#include "netns.h"
#include "path.h"
#include "socket.h"
#include "packet.h"
#include "connection.h"
#include <trace/events/quic.h>

/* After a peer-initiated key update, rekey the spare slots, and start
 * our own update when the send key nears its limit: both allocate, so they
 * run here in process context (scheduled with a socket reference).
 */
static void quic_ku_work(struct work_struct *work)
{
	struct quic_sock *qs = container_of(work, struct quic_sock, ku_work);
	struct sock *sk = &qs->inet.sk;

	lock_sock(sk);
	quic_conn_retry_apply(sk);
	quic_conn_version_apply(sk);
	quic_crypto_key_update_prepare(quic_keys(sk, QUIC_CRYPTO_APP));
	/* RFC 9001 6.6: rotate before the confidentiality limit */
	if (sk->sk_state == QUIC_SS_ESTABLISHED &&
	    quic_crypto_key_update_due(quic_keys(sk, QUIC_CRYPTO_APP)) &&
	    !quic_crypto_key_update(quic_keys(sk, QUIC_CRYPTO_APP)))
		trace_quic_key_update(sk, quic_crypto_key_phase(quic_keys(sk, QUIC_CRYPTO_APP)),
				      true);
	release_sock(sk);
	sock_put(sk);
}

/* The end of a closed connection's closing period: release it as
 * sk_common_release() would have at close().
 */
static void quic_close_work(struct work_struct *work)
{
	struct quic_sock *qs = container_of(to_delayed_work(work),
					    struct quic_sock, close_work);
	struct sock *sk = &qs->inet.sk;

	atomic_dec(&quic_net(sock_net(sk))->closing);
	sk_common_release(sk);
}

static int quic_init_sock(struct sock *sk)
{
	struct quic_net *qn = quic_net(sock_net(sk));
	struct quic_sock *qs = quic_sk(sk);
	u8 i;

	/* the CID table is read under RCU: free the socket after a grace period */
	sock_set_flag(sk, SOCK_RCU_FREE);
	quic_listener_init(&qs->listener);
	qs->config.version = QUIC_VERSION_V1;
	qs->config.initial_smoothed_rtt = 333000;
	quic_tp_init_local(&qs->local_tp);
	quic_tp_init_peer(&qs->remote_tp);
	for (i = 0; i < QUIC_PN_MAX; i++)
		quic_pnspace_init(quic_pnspace(sk, i));
	quic_inq_init(sk);
	quic_rtt_init(&qs->rtt, qs->config.initial_smoothed_rtt);
	quic_streams_init(sk);
	quic_cong_init(&qs->cong, QUIC_CONG_ALG_RENO, QUIC_MAX_DGRAM);
	quic_timer_init(sk);
	INIT_WORK(&qs->ku_work, quic_ku_work);
	INIT_DELAYED_WORK(&qs->close_work, quic_close_work);
	quic_path_init(sk);

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

	/* Until its IDs leave the table, the softirq receive path may still
	 * process a datagram for this socket (and answer with the
	 * CONNECTION_CLOSE, sealed with the keys freed here); the pacing
	 * timer and quic_ku_work() may run too.  All of them take the socket
	 * lock: hold it, so that they find everything either intact or gone.
	 */
	lock_sock(sk);
	quic_timer_stop_all(sk);
	sk_dst_reset(sk);
	quic_listen_del(sk);
	quic_conn_free(sk);
	memzero_explicit(qs->ticket_secret, sizeof(qs->ticket_secret));
	quic_streams_free(sk);
	quic_path_unbind(sk);
	release_sock(sk);
	spin_lock_bh(&qn->sock_lock);
	list_del_init(&qs->node);
	spin_unlock_bh(&qn->sock_lock);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
}

static int quic_hash(struct sock *sk)
{
	return 0;
}

static bool quic_close_lingering(struct sock *sk)
{
	return sk->sk_state == QUIC_SS_ESTABLISHED && !READ_ONCE(sk->sk_err) &&
	       sk_wmem_alloc_get(sk);
}

/* SO_LINGER: wait up to @timeout for the peer to acknowledge all stream
 * data before the CONNECTION_CLOSE ends the connection (every send chunk
 * is charged to the socket until it is acknowledged or its stream reset).
 * Without it, data not yet acknowledged is lost when the socket closes.
 */
static void quic_close_linger(struct sock *sk, long timeout)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);

	add_wait_queue(sk_sleep(sk), &wait);
	while (timeout && quic_close_lingering(sk) && !signal_pending(current))
		quic_sk_wait(sk, &timeout, !quic_close_lingering(sk), &wait);
	remove_wait_queue(sk_sleep(sk), &wait);
}

#define QUIC_CLOSING_MAX	4096	/* lingering closed connections per netns */

static struct workqueue_struct *quic_close_wq;

/* RFC 9000 10.2: keep a closed connection (socket locked, the application
 * done with it) for its closing period, so that late packets get its
 * CONNECTION_CLOSE again rather than a stateless reset, or for its draining
 * period, so that they are absorbed; at most QUIC_CLOSING_MAX per
 * namespace.  Return: the period, or 0.
 */
static unsigned long quic_close_keep(struct sock *sk)
{
	struct quic_net *qn = quic_net(sock_net(sk));
	unsigned long period = 0;

	if (atomic_inc_return(&qn->closing) <= QUIC_CLOSING_MAX)
		period = quic_conn_closing_period(sk);
	if (!period) {
		atomic_dec(&qn->closing);
		return 0;
	}
	quic_timer_stop_all(sk);
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_CLOSELINGER);
	return period;
}

static void quic_close(struct sock *sk, long timeout)
{
	unsigned long keep = 0;

	lock_sock(sk);
	if (quic_is_listen(sk)) {
		quic_listen_del(sk);
	} else {
		quic_close_linger(sk, timeout);
		quic_conn_close(sk);
	}
	quic_set_state(sk, QUIC_SS_CLOSED);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	if (!sock_flag(sk, SOCK_DEAD))
		keep = quic_close_keep(sk);
	release_sock(sk);
	if (!keep) {
		sk_common_release(sk);
		return;
	}
	/* the file goes now; the work releases the rest (and the file's
	 * reference) at the end of the period
	 */
	sock_orphan(sk);
	queue_delayed_work(quic_close_wq, &quic_sk(sk)->close_work, keep);
}

/**
 * quic_socket_init - set up what closed connections linger on
 *
 * Return: 0 or -ENOMEM.
 */
int quic_socket_init(void)
{
	quic_close_wq = alloc_workqueue("quic_close", WQ_UNBOUND, 0);
	return quic_close_wq ? 0 : -ENOMEM;
}

/**
 * quic_socket_exit - undo quic_socket_init()
 *
 * Every socket is gone by module exit, so nothing is queued.
 */
void quic_socket_exit(void)
{
	destroy_workqueue(quic_close_wq);
}

/* Validate a user sockaddr for this socket's family and copy it. */
static int quic_get_user_addr(struct sock *sk, union quic_addr *a,
			      struct sockaddr *uaddr, int addr_len)
{
	memset(a, 0, sizeof(*a));
	if (addr_len < (int)sizeof(uaddr->sa_family))
		return -EINVAL;
	/* a dual-stack PF_INET6 socket takes an AF_INET address as the
	 * reference's does (its ALPN test binds 0.0.0.0 on one), as UDP's
	 * connect() does
	 */
	if (uaddr->sa_family == AF_INET && sk->sk_family == AF_INET6 &&
	    !sk->sk_ipv6only)
		goto v4;
	if (uaddr->sa_family != sk->sk_family)
		return -EAFNOSUPPORT;
	if (sk->sk_family == AF_INET6) {
		if (addr_len < SIN6_LEN_RFC2133)
			return -EINVAL;
		memcpy(&a->v6, uaddr, min_t(int, addr_len, sizeof(a->v6)));
		if (ipv6_addr_v4mapped(&a->v6.sin6_addr)) {
			/* dual stack: an IPv4 address, held as one */
			__be32 v4 = a->v6.sin6_addr.s6_addr32[3];
			__be16 port = a->v6.sin6_port;

			if (sk->sk_ipv6only)
				return -EAFNOSUPPORT;
			memset(a, 0, sizeof(*a));
			a->v4.sin_family = AF_INET;
			a->v4.sin_port = port;
			a->v4.sin_addr.s_addr = v4;
			return 0;
		}
		a->v6.sin6_flowinfo = 0;
		if (!(ipv6_addr_type(&a->v6.sin6_addr) & IPV6_ADDR_LINKLOCAL))
			a->v6.sin6_scope_id = 0;
		return 0;
	}
v4:
	if (addr_len < (int)sizeof(struct sockaddr_in))
		return -EINVAL;
	memcpy(&a->v4, uaddr, sizeof(a->v4));
	memset(a->v4.sin_zero, 0, sizeof(a->v4.sin_zero));
	return 0;
}

static int __quic_bind(struct sock *sk, const union quic_addr *a)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_udp_sock *us;
	union quic_addr local;

	us = quic_udp_sock_get(sk, a);
	if (IS_ERR(us))
		return PTR_ERR(us);
	quic_path_set_udp(sk, us);
	qs->bound = 1;
	quic_udp_sock_local(us, a, &local);
	quic_set_local(sk, &local);
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
	err = __quic_bind(sk, &a);
out:
	release_sock(sk);
	return err;
}

/* Bind an ephemeral port of @family (IPv4 for a PF_INET6 socket reaching
 * a v4-mapped peer).
 */
static int quic_autobind(struct sock *sk, sa_family_t family)
{
	union quic_addr any = {};

	any.sa.sa_family = family;
	return __quic_bind(sk, &any);
}

/* connect(): everything for the first Initial, but nothing is sent until
 * the handshake sends the ClientHello with sendmsg().
 */
static int quic_connect(struct sock *sk, struct sockaddr *addr, int addr_len)
{
	struct quic_sock *qs = quic_sk(sk);
	union quic_addr peer, local;
	int err;

	lock_sock(sk);
	err = -EISCONN;
	if (sk->sk_state == QUIC_SS_ESTABLISHING ||
	    sk->sk_state == QUIC_SS_ESTABLISHED)
		goto out;
	err = -EINVAL;
	if (sk->sk_state != QUIC_SS_CLOSED || quic_is_serv(sk) ||
	    quic_cids(sk)->scids[0] || (sk->sk_shutdown & SEND_SHUTDOWN))
		goto out;
	err = quic_get_user_addr(sk, &peer, addr, addr_len);
	if (err)
		goto out;
	err = -EINVAL;
	if (!quic_addr_port(&peer))
		goto out;
	if (!qs->bound) {
		err = quic_autobind(sk, peer.sa.sa_family);
		if (err)
			goto out;
	}
	local = quic_paths(sk)->local;
	err = quic_addr_route_saddr(sk, &peer, &local);
	if (err)
		goto out;
	quic_set_local(sk, &local);
	quic_set_peer(sk, &peer);

	err = quic_conn_init_client(sk);
	if (err) {
		quic_conn_free(sk);
		goto out;
	}
	quic_set_state(sk, QUIC_SS_ESTABLISHING);
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_ACTIVEOPENS);
out:
	release_sock(sk);
	return err;
}

static int quic_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	struct quic_sock *qs = quic_sk(sk);
	int err;

	lock_sock(sk);
	if (quic_is_listen(sk)) {
		WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
		err = 0;
		goto out;
	}
	err = -EINVAL;
	if (sk->sk_state != QUIC_SS_CLOSED || quic_cids(sk)->scids[0] ||
	    sk->sk_shutdown)
		goto out;
	if (!qs->bound) {
		err = quic_autobind(sk, sk->sk_family);
		if (err)
			goto out;
	}
	/* what the session ticket keys of its connections come from */
	get_random_bytes(qs->ticket_secret, sizeof(qs->ticket_secret));
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	err = quic_listen_add(sk);
	if (err)
		goto out;
	qs->is_serv = 1;
	quic_set_state(sk, QUIC_SS_LISTENING);
out:
	release_sock(sk);
	return err;
}

static void quic_inet_init_child(struct sock *sk, struct sock *newsk)
{
	struct inet_sock *newinet = inet_sk(newsk);

	newsk->sk_type = sk->sk_type;
	newsk->sk_protocol = IPPROTO_QUIC;
	newsk->sk_backlog_rcv = sk->sk_prot->backlog_rcv;
	newsk->sk_reuse = sk->sk_reuse;
	newsk->sk_bound_dev_if = sk->sk_bound_dev_if;
	newinet->uc_ttl = -1;
	inet_set_bit(MC_LOOP, newsk);
	newinet->mc_ttl = 1;
	inet_set_bit(MC_ALL, newsk);
	newinet->mc_index = 0;
	newinet->mc_list = NULL;
	newinet->rcv_tos = 0;
	if (sk->sk_family == AF_INET6) {
		struct ipv6_pinfo *np;

		np = (struct ipv6_pinfo *)((u8 *)newsk +
					   sk->sk_prot->ipv6_pinfo_offset);
		newinet->pinet6 = np;
		np->hop_limit = -1;
		np->mcast_hops = IPV6_DEFAULT_MCASTHOPS;
		inet6_set_bit(MC6_LOOP, newsk);
		inet6_set_bit(MC6_ALL, newsk);
		np->pmtudisc = IPV6_PMTUDISC_WANT;
		newsk->sk_ipv6only = sk->sk_ipv6only;
		newsk->sk_destruct = inet6_sock_destruct;
	} else {
		newsk->sk_destruct = inet_sock_destruct;
	}
}

/* Turn the oldest request into a connection socket (listener locked). */
static struct sock *quic_accept_request(struct sock *sk, struct quic_request *req,
					bool kern, int *errp)
{
	struct quic_sock *lqs = quic_sk(sk), *qs;
	struct sk_buff *skb;
	struct sock *newsk;
	int err = -ENOMEM;

	newsk = sk_alloc(sock_net(sk), sk->sk_family, GFP_KERNEL, sk->sk_prot,
			 kern);
	if (!newsk)
		goto drop;
	sock_init_data(NULL, newsk);
	quic_inet_init_child(sk, newsk);
	err = newsk->sk_prot->init(newsk);
	if (err) {
		sk_common_release(newsk);
		goto drop;
	}
	qs = quic_sk(newsk);
	qs->config = lqs->config;
	qs->version_set = lqs->version_set;
	qs->local_tp = lqs->local_tp;
	memcpy(qs->alpn, lqs->alpn, sizeof(qs->alpn));
	qs->alpn_len = lqs->alpn_len;
	memcpy(qs->ticket_secret, lqs->ticket_secret, sizeof(qs->ticket_secret));
	quic_inq_inherit(newsk, sk);
	qs->is_serv = 1;
	qs->bound = 1;
	quic_path_set_udp(newsk, quic_udp_sock_hold(quic_paths(sk)->udp));
	quic_set_local(newsk, &req->local);
	quic_set_peer(newsk, &req->peer);

	lock_sock(newsk);	/* datagrams go to the backlog meanwhile */
	err = quic_conn_init_server(newsk, req);
	if (err)
		goto release;
	/* RFC 9000 8.1: a token of ours proved the address: no 3x limit */
	if (req->validated)
		quic_path_addr_validated(newsk);
	quic_set_state(newsk, QUIC_SS_ESTABLISHING);

	/* the client keeps using its first DCID until it hears from us: it
	 * leads to the new socket before the request is taken off, so that
	 * no datagram falls between the two
	 */
	quic_conn_add_odcid(newsk, &req->dcid, &req->peer);
	quic_listen_request_unlink(sk, req);

	while ((skb = __skb_dequeue(&req->pkts)))
		quic_packet_backlog_rcv(newsk, skb);
	quic_listen_request_free(req);
	release_sock(newsk);
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_PASSIVEOPENS);
	return newsk;

release:
	quic_set_state(newsk, QUIC_SS_CLOSED);
	release_sock(newsk);
	sk_common_release(newsk);
drop:
	quic_listen_request_unlink(sk, req);
	quic_listen_request_free(req);
	*errp = err;
	return NULL;
}

static struct sock *quic_accept(struct sock *sk, struct proto_accept_arg *arg)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct quic_request *req;
	struct sock *newsk = NULL;
	long timeo;
	int err;

	lock_sock(sk);
	err = -EINVAL;
	if (!quic_is_listen(sk))
		goto out;
	timeo = sock_rcvtimeo(sk, arg->flags & O_NONBLOCK);
again:
	add_wait_queue(sk_sleep(sk), &wait);
	for (;;) {
		err = 0;
		if (quic_listen_has_request(sk))
			break;
		err = -EINVAL;
		if (!quic_is_listen(sk))
			break;
		err = -EAGAIN;
		if (!timeo)
			break;
		err = sock_intr_errno(timeo);
		if (signal_pending(current))
			break;
		sk_wait_event(sk, &timeo, quic_listen_has_request(sk) ||
			      !quic_is_listen(sk), &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	if (err)
		goto out;
	req = quic_listen_request(sk);
	if (!req)
		goto again;
	newsk = quic_accept_request(sk, req, arg->kern, &err);
	if (newsk && quic_pnspace(newsk, QUIC_PN_INITIAL)->largest_recv < 0 &&
	    !quic_pnspace(newsk, QUIC_PN_INITIAL)->discarded) {
		/* not one Initial could be opened: forged, drop it quietly */
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_REQDROPS);
		lock_sock(newsk);
		quic_set_state(newsk, QUIC_SS_CLOSED);
		release_sock(newsk);
		sk_common_release(newsk);
		newsk = NULL;
		goto again;
	}
out:
	release_sock(sk);
	arg->err = err;
	return newsk;
}

#define QUIC_SEND_FLAGS	(MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN | \
			 MSG_QUIC_STREAM_UNI | MSG_QUIC_STREAM_DONTWAIT | \
			 MSG_QUIC_STREAM_SNDBLOCK | MSG_BATCH | MSG_MORE | \
			 MSG_DONTWAIT | MSG_NOSIGNAL | MSG_WAITALL | \
			 MSG_QUIC_DATAGRAM)

static int quic_parse_cmsgs(struct msghdr *msg,
			    struct quic_handshake_info *hinfo, bool *has_hinfo,
			    struct quic_stream_info *sinfo, bool *has_sinfo)
{
	struct cmsghdr *cmsg;
	u32 n;

	for_each_cmsghdr(cmsg, msg) {
		if (!CMSG_OK(msg, cmsg))
			return -EINVAL;
		if (cmsg->cmsg_level != SOL_QUIC)
			continue;
		n = cmsg->cmsg_len - CMSG_LEN(0);
		switch (cmsg->cmsg_type) {
		case QUIC_HANDSHAKE_INFO:
			memset(hinfo, 0, sizeof(*hinfo));
			memcpy(hinfo, CMSG_DATA(cmsg), min_t(u32, n, sizeof(*hinfo)));
			*has_hinfo = true;
			break;
		case QUIC_STREAM_INFO:
			memset(sinfo, 0, sizeof(*sinfo));
			memcpy(sinfo, CMSG_DATA(cmsg), min_t(u32, n, sizeof(*sinfo)));
			*has_sinfo = true;
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

/* The peer's stream limit stopped opening stream @id (-1: the next local
 * one, unidirectional with MSG_QUIC_STREAM_UNI): with
 * MSG_QUIC_STREAM_SNDBLOCK tell the peer (STREAMS_BLOCKED), then wait for
 * its MAX_STREAMS unless @flags has MSG_QUIC_STREAM_DONTWAIT or @timeo
 * ran out.  Returns 0 to try again, or the error to give the user.
 */
static int quic_stream_limit_wait(struct sock *sk, s64 id, u32 flags,
				  long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	u8 type = id == -1 ? !!(flags & MSG_QUIC_STREAM_UNI) :
			     quic_stream_type(id);
	u64 max = quic_stream_local_max(sk, type);

	if ((flags & MSG_QUIC_STREAM_SNDBLOCK) && quic_stream_blocked(sk, type))
		quic_outq_flush(sk);
	if ((flags & MSG_QUIC_STREAM_DONTWAIT) || !*timeo)
		return -EAGAIN;
	if (signal_pending(current))
		return sock_intr_errno(*timeo);
	add_wait_queue(sk_sleep(sk), &wait);
	sk_wait_event(sk, timeo, quic_stream_local_max(sk, type) != max ||
		      READ_ONCE(sk->sk_err) || !quic_can_send_data(sk), &wait);
	remove_wait_queue(sk_sleep(sk), &wait);
	return 0;
}

/* Stream data, or a datagram with MSG_QUIC_DATAGRAM (socket locked). */
static int quic_sendmsg_data(struct sock *sk, struct msghdr *msg, size_t len,
			     const struct quic_stream_info *sinfo)
{
	struct quic_sock *qs = quic_sk(sk);
	u32 flags = msg->msg_flags;
	struct quic_stream *st;
	s64 id = -1;
	long timeo;
	ssize_t n;
	int err;

	/* before the handshake completes only a client with the server's
	 * remembered parameters writes streams (0-RTT), no datagrams
	 */
	if (!quic_can_send_data(sk) ||
	    (sk->sk_state != QUIC_SS_ESTABLISHED &&
	     (msg->msg_flags & MSG_QUIC_DATAGRAM)))
		return -ENOTCONN;
	if (sk->sk_state != QUIC_SS_ESTABLISHED && !qs->rtp_set)
		qs->early_used = 1;
	if (sinfo) {
		id = sinfo->stream_id;
		flags |= sinfo->stream_flags;
	}
	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	if (msg->msg_flags & MSG_QUIC_DATAGRAM) {
		n = quic_outq_dgram_write(sk, &msg->msg_iter, len, &timeo);
	} else {
		while (!(st = quic_stream_send_get(sk, id, flags, &err))) {
			if (err != -EAGAIN)
				return err;
			err = quic_stream_limit_wait(sk, id, flags, &timeo);
			if (err)
				return err;
		}
		n = quic_outq_stream_write(sk, st, &msg->msg_iter, len,
					   flags & MSG_QUIC_STREAM_FIN, &timeo);
	}
	/* MSG_MORE corks: a partial chunk waits for the next write */
	quic_outq_cork(sk, msg->msg_flags & MSG_MORE);
	if (!(msg->msg_flags & MSG_MORE))
		quic_outq_flush(sk);
	return n;
}

static int quic_sendmsg(struct sock *sk, struct msghdr *msg, size_t len)
{
	struct quic_handshake_info hinfo;
	struct quic_stream_info sinfo;
	bool has_hinfo = false, has_sinfo = false;
	u8 level;
	int err;

	if (msg->msg_flags & ~QUIC_SEND_FLAGS)
		return -EINVAL;
	err = quic_parse_cmsgs(msg, &hinfo, &has_hinfo, &sinfo, &has_sinfo);
	if (err)
		return err;

	lock_sock(sk);
	if (has_hinfo && quic_close_state(sk)->draining) {
		/* the peer closed: handshake data would never be sent (RFC
		 * 9000 10.2.2); see quic_conn_set_secret()
		 */
		err = len;
		goto out;
	}
	if (sk->sk_state == QUIC_SS_CLOSED && sk->sk_shutdown) {
		err = sock_error(sk) ?: -EPIPE;
		if (err == -EPIPE && !(msg->msg_flags & MSG_NOSIGNAL))
			send_sig(SIGPIPE, current, 0);
		goto out;
	}
	err = -ENOTCONN;
	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		goto out;
	if (!has_hinfo) {
		err = quic_sendmsg_data(sk, msg, len, has_sinfo ? &sinfo : NULL);
		goto out;
	}
	level = hinfo.crypto_level;
	err = -EINVAL;
	if (level != QUIC_CRYPTO_INITIAL && level != QUIC_CRYPTO_HANDSHAKE &&
	    level != QUIC_CRYPTO_APP)
		goto out;
	if (!quic_keys(sk, level)->tx_ready ||
	    quic_pnspace(sk, quic_level_space(level))->discarded)
		goto out;
	if (len > QUIC_CRYPTO_OUT_MAX) {
		err = -EMSGSIZE;
		goto out;
	}
	err = quic_outq_crypto_append(sk, quic_level_space(level), NULL, len,
				      &msg->msg_iter);
	if (err)
		goto out;
	/* MSG_MORE batches a flight so it can share datagrams */
	quic_outq_cork(sk, msg->msg_flags & MSG_MORE);
	if (!(msg->msg_flags & MSG_MORE))
		quic_outq_flush(sk);
	err = len;
out:
	release_sock(sk);
	return err;
}

static int quic_recvmsg_dgram(struct sock *sk, struct msghdr *msg,
			      size_t len, int flags)
{
	struct sk_buff_head *q = &quic_sk(sk)->streams.rcvq;
	struct sk_buff *skb = skb_peek(q);
	int err, copy, size = skb->len;

	copy = min_t(size_t, len, size);
	err = skb_copy_datagram_msg(skb, 0, msg, copy);
	if (err)
		return err;
	msg->msg_flags |= MSG_QUIC_DATAGRAM;
	msg->msg_flags |= copy < size ? MSG_TRUNC : MSG_EOR;
	if (!(flags & MSG_PEEK)) {
		__skb_unlink(skb, q);
		kfree_skb(skb);
	}
	return flags & MSG_TRUNC ? size : copy;
}

/* Stream data: consecutive data of one stream, up to its FIN (MSG_EOR
 * and MSG_QUIC_STREAM_FIN), with a QUIC_STREAM_INFO cmsg.
 */
static int quic_recvmsg_data(struct sock *sk, struct msghdr *msg, size_t len,
			     int flags)
{
	struct quic_stream_table *t = &quic_sk(sk)->streams;
	struct sk_buff *skb = skb_peek(&t->rcvq), *next;
	struct quic_stream_info sinfo = {};
	struct quic_stream *st;
	size_t copied = 0;
	bool fin = false;
	u32 n;
	int err;

	if (QUIC_RCV_CB(skb)->dgram)
		return quic_recvmsg_dgram(sk, msg, len, flags);
	sinfo.stream_id = QUIC_RCV_CB(skb)->stream_id;
	st = quic_stream_find(sk, sinfo.stream_id);
	while (skb && !QUIC_RCV_CB(skb)->dgram &&
	       QUIC_RCV_CB(skb)->stream_id == sinfo.stream_id) {
		n = min_t(size_t, len - copied, skb->len);
		if (n) {
			err = skb_copy_datagram_msg(skb, 0, msg, n);
			if (err) {
				if (copied)
					break;
				return err;
			}
		}
		copied += n;
		if (flags & MSG_PEEK) {
			fin = n == skb->len && QUIC_RCV_CB(skb)->fin;
			break;
		}
		next = skb_peek_next(skb, &t->rcvq);
		if (n < skb->len) {
			skb_pull(skb, n);
			QUIC_RCV_CB(skb)->offset += n;
			if (st)
				quic_inq_read(sk, st, n);
			break;
		}
		fin = QUIC_RCV_CB(skb)->fin;
		__skb_unlink(skb, &t->rcvq);
		kfree_skb(skb);
		if (st)
			quic_inq_read(sk, st, n);
		if (fin || copied == len)
			break;
		skb = next;
	}
	if (fin) {
		sinfo.stream_flags |= MSG_QUIC_STREAM_FIN;
		msg->msg_flags |= MSG_EOR;
	}
	put_cmsg(msg, SOL_QUIC, QUIC_STREAM_INFO, sizeof(sinfo), &sinfo);
	if (st && !(flags & MSG_PEEK)) {
		/* write() answers on the stream last read, if it can */
		if (st->has_send && !st->fin_queued &&
		    st->send_state <= QUIC_STREAM_SEND_STATE_SEND)
			t->latest = st->id;
		if (fin) {
			st->recv_state = QUIC_STREAM_RECV_STATE_READ;
			quic_stream_maybe_free(sk, st);
		}
		quic_outq_flush(sk);	/* window updates */
	}
	return copied;
}

static int quic_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			int flags, int *addr_len)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct quic_handshake_info hinfo = {};
	struct sk_buff *skb;
	bool data = false;
	int err, copy;
	long timeo;

	/* Other flags are ignored, as TCP does and as the reference does:
	 * its libquic passes the msg_flags and stream flags of the previous
	 * call back in.  There is no error queue.
	 */
	flags &= MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL | MSG_TRUNC |
		 MSG_CMSG_COMPAT | MSG_NOSIGNAL;

	lock_sock(sk);
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	add_wait_queue(sk_sleep(sk), &wait);
	for (;;) {
		skb = skb_peek(&sk->sk_receive_queue);
		if (skb)
			break;
		skb = skb_peek(&quic_sk(sk)->streams.rcvq);
		if (skb) {
			data = true;
			break;
		}
		err = sock_error(sk);
		if (err)
			break;
		err = 0;
		if (sk->sk_shutdown & RCV_SHUTDOWN)
			break;
		err = -ENOTCONN;
		if (sk->sk_state != QUIC_SS_ESTABLISHING &&
		    sk->sk_state != QUIC_SS_ESTABLISHED)
			break;
		err = -EAGAIN;
		if (!timeo)
			break;
		err = sock_intr_errno(timeo);
		if (signal_pending(current))
			break;
		quic_sk_wait(sk, &timeo,
			     !skb_queue_empty(&sk->sk_receive_queue) ||
			     !skb_queue_empty(&quic_sk(sk)->streams.rcvq) ||
			     READ_ONCE(sk->sk_err) ||
			     (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN), &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	if (!skb)
		goto out;
	if (data) {
		err = quic_recvmsg_data(sk, msg, len, flags);
		goto out;
	}

	copy = min_t(size_t, len, skb->len);
	err = skb_copy_datagram_msg(skb, 0, msg, copy);
	if (err)
		goto out;
	if (QUIC_RCV_CB(skb)->event) {
		msg->msg_flags |= MSG_QUIC_NOTIFICATION;
	} else {
		hinfo.crypto_level = QUIC_RCV_CB(skb)->level;
		put_cmsg(msg, SOL_QUIC, QUIC_HANDSHAKE_INFO, sizeof(hinfo),
			 &hinfo);
	}
	err = copy;
	if (copy == skb->len) {
		msg->msg_flags |= MSG_EOR;
		if (!(flags & MSG_PEEK)) {
			__skb_unlink(skb, &sk->sk_receive_queue);
			kfree_skb(skb);
		}
	} else if (!(flags & MSG_PEEK)) {
		skb_pull(skb, copy);
	}
out:
	release_sock(sk);
	return err;
}

static void quic_shutdown(struct sock *sk, int how)
{
	if (how & SEND_SHUTDOWN)
		quic_conn_close(sk);
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
	quic_inq_set_event(sk, opt.type, opt.on);
	return 0;
}

static int quic_sockopt_tp_set(struct sock *sk, sockptr_t optval,
			       unsigned int optlen)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_transport_param in;
	int err;

	err = quic_copy_in(&in, sizeof(in), optval, optlen);
	if (err)
		return err;
	if (sk->sk_state == QUIC_SS_ESTABLISHED)
		return -EINVAL;
	if (in.remote) {
		/* restoring the server's limits for 0-RTT is a client thing,
		 * before they are known from the handshake
		 */
		if (quic_is_serv(sk) || qs->rtp_set)
			return -EINVAL;
		err = quic_tp_set_user(&qs->remote_tp, &in, true);
		if (err)
			return err;
		qs->early_ok = 1;
		quic_streams_early(sk);
		return 0;
	}
	return quic_tp_set_user(&qs->local_tp, &in, false);
}

static int quic_sockopt_ticket_set(struct sock *sk, sockptr_t optval,
				   unsigned int optlen)
{
	u8 *ticket;

	if (optlen < QUIC_TICKET_KEY_LEN || optlen > QUIC_TICKET_MAX_LEN)
		return -EINVAL;
	if (quic_is_listen(sk))
		return -EINVAL;
	ticket = quic_inq_ticket_buf(sk);
	if (!ticket)
		return -ENOMEM;
	if (copy_from_sockptr(ticket, optval, optlen))
		return -EFAULT;
	quic_inq_ticket_len(sk, optlen);
	return 0;
}

static int quic_sockopt_secret_set(struct sock *sk, sockptr_t optval,
				   unsigned int optlen)
{
	struct quic_crypto_secret srt;
	int err;

	err = quic_copy_in(&srt, sizeof(srt), optval, optlen);
	if (!err)
		err = quic_conn_set_secret(sk, &srt);
	memzero_explicit(&srt, sizeof(srt));
	return err;
}

static int quic_sockopt_tp_ext_set(struct sock *sk, sockptr_t optval,
				   unsigned int optlen)
{
	u8 *buf;
	int err;

	if (optlen > QUIC_TP_EXT_MAX_LEN)
		return -EINVAL;
	if (sk->sk_state == QUIC_SS_CLOSED && quic_close_state(sk)->draining)
		return 0;	/* as for CRYPTO_SECRET */
	if (sk->sk_state != QUIC_SS_ESTABLISHING)
		return -EINVAL;
	buf = kmalloc(QUIC_TP_EXT_MAX_LEN, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	err = -EFAULT;
	if (!copy_from_sockptr(buf, optval, optlen))
		err = quic_conn_set_tp_ext(sk, buf, optlen);
	kfree(buf);
	return err;
}

static int quic_sockopt_key_update(struct sock *sk)
{
	struct quic_crypto *c = quic_keys(sk, QUIC_CRYPTO_APP);
	int err;

	if (sk->sk_state != QUIC_SS_ESTABLISHED)
		return -EPIPE;
	err = quic_crypto_key_update(c);
	if (!err)
		trace_quic_key_update(sk, quic_crypto_key_phase(c), true);
	return err;
}

#define QUIC_OVERLAY(dst, src, f)	do { if ((src)->f) (dst)->f = (src)->f; } while (0)

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
	if (in.version)
		qs->version_set = 1;
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
	u8 buf[QUIC_USER_TOKEN_MAX];

	if (quic_is_serv(sk))
		return quic_conn_new_token(sk);
	/* an empty token on a client is refused, as in the reference */
	if (!optlen || optlen > QUIC_USER_TOKEN_MAX)
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
	c.frame = 0;	/* an application close carries no frame type */
	quic_conn_set_close_info(sk, &c);
	return 0;
}

/* QUIC_SOCKOPT_STREAM_RESET and QUIC_SOCKOPT_STREAM_STOP_SENDING */
static int quic_sockopt_stream_ctl(struct sock *sk, int optname,
				   sockptr_t optval, unsigned int optlen)
{
	struct quic_errinfo info;
	int err;

	if (optlen < sizeof(info.stream_id))
		return -EINVAL;
	err = quic_copy_in(&info, sizeof(info), optval, optlen);
	if (err)
		return err;
	if (sk->sk_state != QUIC_SS_ESTABLISHED)
		return -EINVAL;
	if (optname == QUIC_SOCKOPT_STREAM_RESET)
		err = quic_stream_reset(sk, info.stream_id, info.errcode, true);
	else
		err = quic_stream_stop_sending(sk, info.stream_id, info.errcode);
	if (!err)
		quic_outq_flush(sk);
	return err;
}

static int quic_sockopt_cid_set(struct sock *sk, sockptr_t optval,
				unsigned int optlen)
{
	struct quic_connection_id_info info;
	int err;

	err = quic_copy_in(&info, sizeof(info), optval, optlen);
	if (err)
		return err;
	return quic_conn_set_cid(sk, &info);
}

static int quic_sockopt_migration_set(struct sock *sk, sockptr_t optval,
				      unsigned int optlen)
{
	union quic_addr a;
	u8 buf[sizeof(a)] = {};

	if (optlen < sizeof(struct sockaddr_in))
		return -EINVAL;
	if (copy_from_sockptr(buf, optval, min_t(u32, optlen, sizeof(buf))))
		return -EFAULT;
	if (quic_get_user_addr(sk, &a, (struct sockaddr *)buf,
			       min_t(u32, optlen, sizeof(buf))))
		return -EINVAL;
	/* a server before the handshake offers it as preferred_address */
	if (quic_is_serv(sk) && sk->sk_state == QUIC_SS_ESTABLISHING)
		return quic_path_set_pref(sk, &a);
	return quic_path_migrate(sk, &a);
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
	case QUIC_SOCKOPT_CRYPTO_SECRET:
		err = quic_sockopt_secret_set(sk, optval, optlen);
		break;
	case QUIC_SOCKOPT_TRANSPORT_PARAM_EXT:
		err = quic_sockopt_tp_ext_set(sk, optval, optlen);
		break;
	case QUIC_SOCKOPT_KEY_UPDATE:
		err = quic_sockopt_key_update(sk);
		break;
	case QUIC_SOCKOPT_SESSION_TICKET:
		err = quic_sockopt_ticket_set(sk, optval, optlen);
		break;
	case QUIC_SOCKOPT_STREAM_RESET:
	case QUIC_SOCKOPT_STREAM_STOP_SENDING:
		err = quic_sockopt_stream_ctl(sk, optname, optval, optlen);
		break;
	case QUIC_SOCKOPT_CONNECTION_ID:
		err = quic_sockopt_cid_set(sk, optval, optlen);
		break;
	case QUIC_SOCKOPT_CONNECTION_MIGRATION:
		err = quic_sockopt_migration_set(sk, optval, optlen);
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
	opt.on = quic_inq_event_on(sk, opt.type);
	return quic_copy_out(optval, optlen, len, &opt, sizeof(opt));
}

static int quic_sockopt_stream_open(struct sock *sk, int len,
				    sockptr_t optval, sockptr_t optlen)
{
	struct quic_stream_info in = {}, info = {};
	long timeo;
	s64 id;
	int err;

	if (len < (int)sizeof(in.stream_id))
		return -EINVAL;
	if (copy_from_sockptr(&in, optval, min_t(int, len, sizeof(in))))
		return -EFAULT;
	if (!quic_can_send_data(sk))
		return -EINVAL;
	if (sk->sk_state != QUIC_SS_ESTABLISHED && !quic_sk(sk)->rtp_set)
		quic_sk(sk)->early_used = 1;
	timeo = sock_sndtimeo(sk, 0);
	while ((err = quic_stream_open(sk, in.stream_id, in.stream_flags,
				       &id)) == -EAGAIN) {
		err = quic_stream_limit_wait(sk, in.stream_id, in.stream_flags,
					     &timeo);
		if (err)
			return err;
	}
	if (err)
		return err;
	/* a fresh struct: the tail padding goes back zero, not echoed */
	info.stream_id = id;
	info.stream_flags = in.stream_flags;
	return quic_copy_out(optval, optlen, len, &info, sizeof(info));
}

static int quic_sockopt_tp_get(struct sock *sk, int len, sockptr_t optval,
			       sockptr_t optlen)
{
	struct quic_transport_param p = {};
	u8 remote = 0;

	/* the caller says whose parameters it wants */
	if (len > 0 && copy_from_sockptr(&remote, optval, 1))
		return -EFAULT;
	if (remote) {
		quic_tp_to_user(&quic_sk(sk)->remote_tp, &p);
		p.remote = 1;
	} else {
		quic_tp_to_user(&quic_sk(sk)->local_tp, &p);
		p.remote = 0;
	}
	return quic_copy_out(optval, optlen, len, &p, sizeof(p));
}

static int quic_sockopt_tp_ext_get(struct sock *sk, int len, sockptr_t optval,
				   sockptr_t optlen)
{
	u8 *buf;
	int n, err;

	if (quic_is_listen(sk))
		return -EINVAL;
	buf = kmalloc(QUIC_TP_EXT_MAX_LEN, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	n = quic_conn_get_tp_ext(sk, buf, QUIC_TP_EXT_MAX_LEN);
	err = n;
	if (n < 0)
		goto out;
	err = -EINVAL;
	if (len < n)
		goto out;
	err = -EFAULT;
	if (copy_to_sockptr(optval, buf, n) ||
	    copy_to_sockptr(optlen, &n, sizeof(n)))
		goto out;
	err = 0;
out:
	kfree(buf);
	return err;
}

/* SESSION_TICKET get: the client's NewSessionTicket (or the session data
 * it set); on an accepted server socket a 64-byte ticket key derived from
 * the listener's secret and the peer address, unless one was set.
 */
static int quic_sockopt_ticket_get(struct sock *sk, int len, sockptr_t optval,
				   sockptr_t optlen)
{
	struct quic_paths *paths = quic_paths(sk);
	struct quic_sock *qs = quic_sk(sk);
	const void *addr;
	u8 *ticket;
	int n, err;

	if (quic_is_listen(sk))
		return -EPIPE;
	if (quic_is_serv(sk) && !quic_inq_ticket_len(sk, -1)) {
		ticket = quic_inq_ticket_buf(sk);
		if (!ticket)
			return -ENOMEM;
		if (paths->peer.sa.sa_family == AF_INET6) {
			addr = &paths->peer.v6.sin6_addr;
			n = sizeof(struct in6_addr);
		} else {
			addr = &paths->peer.v4.sin_addr;
			n = sizeof(struct in_addr);
		}
		err = quic_session_ticket_key(qs->ticket_secret, addr, n,
					      ticket);
		if (err)
			return err;
		quic_inq_ticket_len(sk, QUIC_TICKET_KEY_LEN);
	}
	n = quic_inq_ticket_len(sk, -1);
	if (len < n)
		return -EINVAL;
	if (n && copy_to_sockptr(optval, quic_inq(sk)->ticket, n))
		return -EFAULT;
	if (copy_to_sockptr(optlen, &n, sizeof(n)))
		return -EFAULT;
	return 0;
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

static int quic_sockopt_cid_get(struct sock *sk, int len, sockptr_t optval,
				sockptr_t optlen)
{
	struct quic_connection_id_info in = {}, info = {};

	if (len < (int)sizeof(in.dest))
		return -EINVAL;
	if (copy_from_sockptr(&in, optval, min_t(int, len, sizeof(in))))
		return -EFAULT;
	if (sk->sk_state != QUIC_SS_ESTABLISHED)
		return -EINVAL;
	/* only dest is input: reserved bytes go back zero, not echoed */
	info.dest = in.dest;
	quic_conn_get_cid(sk, &info);
	return quic_copy_out(optval, optlen, len, &info, sizeof(info));
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
	struct quic_close_state *cs = quic_close_state(sk);
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
		/* the peer's reason once it closed, else ours (as set) */
		c = cs->draining ? cs->peer : cs->local;
		err = quic_copy_out(optval, optlen, len, &c, sizeof(c));
		break;
	case QUIC_SOCKOPT_TRANSPORT_PARAM_EXT:
		err = quic_sockopt_tp_ext_get(sk, len, optval, optlen);
		break;
	case QUIC_SOCKOPT_SESSION_TICKET:
		err = quic_sockopt_ticket_get(sk, len, optval, optlen);
		break;
	case QUIC_SOCKOPT_STREAM_OPEN:
		err = quic_sockopt_stream_open(sk, len, optval, optlen);
		break;
	case QUIC_SOCKOPT_CONNECTION_ID:
		err = quic_sockopt_cid_get(sk, len, optval, optlen);
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
	if (!skb_queue_empty_lockless(&sk->sk_receive_queue) ||
	    !skb_queue_empty_lockless(&quic_sk(sk)->streams.rcvq))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (quic_is_listen(sk)) {
		if (READ_ONCE(sk->sk_ack_backlog))
			mask |= EPOLLIN | EPOLLRDNORM;
		return mask;
	}
	if (sk->sk_state == QUIC_SS_ESTABLISHED) {
		if (sock_writeable(sk))
			mask |= EPOLLOUT | EPOLLWRNORM;
		else
			sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
	} else if (sk->sk_state == QUIC_SS_ESTABLISHING) {
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

/* getsockname()/getpeername() on a PF_INET6 socket: an IPv4 address
 * (dual stack) reads as AF_INET, not v4-mapped.  That is what the
 * reference reports, and what its ALPN test compares the preferred address
 * it set with; it also reads as the address the peer sees.
 */
static int quic_inet6_getname(struct socket *sock, struct sockaddr *uaddr,
			      int peer)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)uaddr;
	struct sockaddr_in *sin = (struct sockaddr_in *)uaddr;
	__be32 v4;
	__be16 port;
	int len;

	len = inet6_getname(sock, uaddr, peer);
	if (len < 0 || !ipv6_addr_v4mapped(&sin6->sin6_addr))
		return len;
	v4 = sin6->sin6_addr.s6_addr32[3];
	port = sin6->sin6_port;
	memset(sin6, 0, sizeof(*sin6));
	sin->sin_family = AF_INET;
	sin->sin_port = port;
	sin->sin_addr.s_addr = v4;
	return sizeof(*sin);
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
	.getname	= quic_inet6_getname,
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
	.unhash		= quic_listen_del,
	.backlog_rcv	= quic_packet_backlog_rcv,
	.release_cb	= quic_release_cb,
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
	.unhash		= quic_listen_del,
	.backlog_rcv	= quic_packet_backlog_rcv,
	.release_cb	= quic_release_cb,
	.no_autobind	= true,
	.obj_size	= sizeof(struct quic6_sock),
	.ipv6_pinfo_offset = offsetof(struct quic6_sock, inet6),
};
