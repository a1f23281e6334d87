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
#include <crypto/utils.h>
#include <net/udp.h>
#include <net/udp_tunnel.h>
#include <net/ipv6.h>

#include "protocol.h"
#include "socket.h"
#include "path.h"
#include "packet.h"
#include "frame.h"
#include "connection.h"
#include <trace/events/quic.h>

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
	int len, err;

	if (port && !sk->sk_kern_sock &&
	    inet_port_requires_bind_service(net, port) &&
	    !ns_capable(net->user_ns, CAP_NET_BIND_SERVICE))
		return ERR_PTR(-EACCES);

	mutex_lock(&qn->udp_lock);
	if (port) {
		list_for_each_entry(us, &qn->udp_list, node) {
			if (!quic_addr_equal(&us->addr, addr))
				continue;
			/* a v6-only and a dual-stack socket conflict, as
			 * two UDP sockets would
			 */
			if (us->v6only != v6only ||
			    !quic_udp_sock_may_share(us, sk)) {
				err = -EADDRINUSE;
				goto unlock;
			}
			if (refcount_inc_not_zero(&us->refcnt)) {
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
	err = quic_udp_sock_create(net, addr, v6only, &sock);
	if (err == -EADDRINUSE && port) {
		/* The port may still be held by a tunnel socket whose last
		 * QUIC user just closed: quic_udp_sock_put() unlinked it, and
		 * its release is pending in quic_path_wq.  Wait for those
		 * releases (they do not take udp_lock) and try once more, so
		 * that a server can bind the port its predecessor just left.
		 */
		flush_workqueue(quic_path_wq);
		err = quic_udp_sock_create(net, addr, v6only, &sock);
	}
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
	us->uid = sock_i_uid(sk);
	us->kern = sk->sk_kern_sock;
	us->v6only = v6only;
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

/* ---- path validation and migration (RFC 9000 8.2, 9) ----------------- */

#define QUIC_PATH_TRIES		7	/* PATH_CHALLENGEs before giving up */
#define QUIC_PATH_RETRY_MIN	300000	/* us between them, at least */
#define QUIC_PATH_PROBE_MIN	64	/* an unpadded probe, for the 3x limit */

static bool quic_addr_same_host(const union quic_addr *a,
				const union quic_addr *b)
{
	union quic_addr x = *a;

	quic_addr_set_port(&x, quic_addr_port(b));
	return quic_addr_equal(&x, b);
}

/* Send PATH_CHALLENGE or PATH_RESPONSE @data on the alternative path, in
 * a datagram of its own padded to 1200 bytes (RFC 9000 8.2.1) unless the
 * server's three-times limit on an unvalidated peer address forbids it.
 */
static void quic_path_send_alt(struct sock *sk, u8 type, const u8 *data)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;
	struct quic_pnspace *s = &qs->space[QUIC_PN_APP];
	u64 allow = alt->udp ? U64_MAX : 3 * alt->rx_bytes;
	struct quic_path_tx tx = {};
	struct quic_dgram dg;
	bool pad;
	u32 len;

	pad = alt->tx_bytes + QUIC_MIN_DGRAM <= allow;
	if (!pad && alt->tx_bytes + QUIC_PATH_PROBE_MIN > allow)
		return;
	tx.udp = alt->udp ?: qs->udp;
	tx.local = alt->udp ? &alt->local : &qs->local;
	tx.peer = &alt->peer;
	tx.dcid = &alt->dcid;
	if (quic_dgram_init(sk, &dg, QUIC_MIN_DGRAM))
		return;
	dg.tx = &tx;
	if (quic_pkt_begin(sk, &dg, QUIC_CRYPTO_APP, s->next_pn)) {
		kfree_skb(dg.skb);
		return;
	}
	s->next_pn++;	/* not tracked for loss: probes are resent by timer */
	skb_put_u8(dg.skb, type);
	skb_put_data(dg.skb, data, 8);
	dg.pad = pad;
	len = pad ? QUIC_MIN_DGRAM : dg.skb->len + QUIC_TAG_LEN;
	quic_dgram_send(sk, &dg);
	alt->tx_bytes += len;
}

static u64 quic_path_retry_time(struct sock *sk)
{
	return max_t(u64, 2 * quic_rtt_pto(&quic_sk(sk)->rtt),
		     QUIC_PATH_RETRY_MIN);
}

static void quic_path_challenge(struct sock *sk)
{
	struct quic_path_alt *alt = &quic_sk(sk)->alt;

	if (!alt->validating) {
		get_random_bytes(alt->challenge, sizeof(alt->challenge));
		alt->validating = 1;
		alt->tries = 0;
	}
	quic_path_send_alt(sk, QUIC_FRAME_PATH_CHALLENGE, alt->challenge);
	quic_timer_reset(sk, QUIC_TIMER_PATH, quic_path_retry_time(sk));
}

/**
 * quic_path_abandon - give up the alternative path
 * @sk: the connection (locked)
 *
 * A spare peer ID it used is retired.  A client's new UDP socket is kept
 * as @old_udp (released from process context, by the next migration or
 * at close), since this may run in softirq.
 */
void quic_path_abandon(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;

	if (!alt->active)
		return;
	quic_timer_stop(sk, QUIC_TIMER_PATH);
	if (alt->udp) {
		WARN_ON_ONCE(qs->old_udp);	/* cleared by the migration */
		if (!qs->old_udp)
			qs->old_udp = alt->udp;
	}
	if (alt->spare_dcid)
		quic_conn_retire_dcid(sk, alt->dcid_seq);
	memset(alt, 0, sizeof(*alt));
}

/* Process context: release the UDP sockets of other paths. */
void quic_path_free(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	if (qs->alt.udp) {
		quic_udp_sock_put(qs->alt.udp);
		qs->alt.udp = NULL;
	}
	if (qs->old_udp) {
		quic_udp_sock_put(qs->old_udp);
		qs->old_udp = NULL;
	}
	memset(&qs->alt, 0, sizeof(qs->alt));
}

void quic_path_timeout(struct sock *sk)
{
	struct quic_path_alt *alt = &quic_sk(sk)->alt;

	if (!alt->validating)
		return;
	if (++alt->tries >= QUIC_PATH_TRIES) {
		quic_path_abandon(sk);
		quic_outq_flush(sk);	/* a RETIRE_CONNECTION_ID */
		return;
	}
	quic_path_challenge(sk);
}

/* The alternative path is validated: make it the connection's path. */
static void quic_path_validated(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;
	struct quic_dcid_entry e = {};
	u8 local = !!alt->udp;
	bool same_host;

	quic_timer_stop(sk, QUIC_TIMER_PATH);
	if (alt->spare_dcid) {
		/* RFC 9000 9.5: a new ID on the new path, the old retired */
		e.seq = alt->dcid_seq;
		e.cid = alt->dcid;
		memcpy(e.token, alt->dcid_token, QUIC_RESET_TOKEN_LEN);
		alt->spare_dcid = 0;
		if (quic_conn_use_dcid(sk, &e, true))
			return;
	}
	if (local) {
		same_host = quic_addr_same_host(&alt->local, &qs->local);
		qs->old_udp = qs->udp;	/* NULL: cleared by the migration */
		qs->udp = alt->udp;
		alt->udp = NULL;
		quic_set_local(sk, &alt->local);
	} else {
		same_host = quic_addr_same_host(&alt->peer, &qs->peer);
		quic_set_peer(sk, &alt->peer);
	}
	memset(alt, 0, sizeof(*alt));
	qs->mss = quic_packet_mss(sk);
	if (!same_host) {
		/* RFC 9000 9.4: a new path starts from scratch */
		quic_cong_init(&qs->cong, qs->config.congestion_control_algo,
			       qs->mss);
		quic_rtt_init(&qs->rtt, qs->config.initial_smoothed_rtt);
	}
	trace_quic_path_change(sk, local, local ? &qs->local.sa : &qs->peer.sa);
	quic_inq_event(sk, QUIC_EVENT_CONNECTION_MIGRATION, &local, 1);
}

/**
 * quic_path_migrate - QUIC_SOCKOPT_CONNECTION_MIGRATION on a client
 * @sk: the connection (locked, process context)
 * @a: the new local address (family checked)
 *
 * Return: 0 once the new path is being validated, or a negative errno.
 */
int quic_path_migrate(struct sock *sk, const union quic_addr *a)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;
	struct quic_dcid_entry e;
	struct quic_udp_sock *us;

	if (sk->sk_state != QUIC_SS_ESTABLISHED || quic_is_serv(sk) ||
	    quic_addr_any(a) || quic_addr_equal(a, &qs->local))
		return -EINVAL;
	if (qs->remote_tp.disable_active_migration)
		return -EPERM;
	if (alt->active || !qs->dcid_count)
		return -EAGAIN;	/* pending, or no spare ID (yet) */
	if (qs->old_udp) {	/* at most two paths */
		quic_udp_sock_put(qs->old_udp);
		qs->old_udp = NULL;
	}
	us = quic_udp_sock_get(sk, a);
	if (IS_ERR(us))
		return PTR_ERR(us);
	quic_conn_take_spare(sk, &e);
	memset(alt, 0, sizeof(*alt));
	alt->udp = us;
	alt->local = us->addr;
	alt->peer = qs->peer;
	alt->dcid = e.cid;
	alt->dcid_seq = e.seq;
	memcpy(alt->dcid_token, e.token, QUIC_RESET_TOKEN_LEN);
	alt->spare_dcid = 1;
	alt->active = 1;
	quic_path_challenge(sk);
	return 0;
}

/* Server: the peer sent from @from, not its validated address. */
static struct quic_path_alt *quic_path_alt_peer(struct sock *sk,
						const union quic_addr *from)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;
	struct quic_dcid_entry e;

	if (alt->active && quic_addr_equal(&alt->peer, from))
		return alt;
	quic_path_abandon(sk);
	if (sk->sk_state != QUIC_SS_ESTABLISHED)
		return NULL;
	alt->peer = *from;
	alt->local = qs->local;
	if (!quic_conn_take_spare(sk, &e)) {
		alt->dcid = e.cid;
		alt->dcid_seq = e.seq;
		memcpy(alt->dcid_token, e.token, QUIC_RESET_TOKEN_LEN);
		alt->spare_dcid = 1;
	} else {
		alt->dcid = qs->dcid;	/* the peer gave us no spare */
	}
	alt->rx_bytes = qs->rx_len;
	alt->active = 1;
	return alt;
}

static bool quic_path_from_peer(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	return !qs->rx_from_set || !quic_is_serv(sk) ||
	       quic_addr_equal(&qs->rx_from, &qs->peer);
}

/**
 * quic_path_challenge_rcv - a PATH_CHALLENGE from the peer
 * @sk: the connection (locked)
 * @data: its 8 bytes
 *
 * Answered on the path it came from (RFC 9000 8.2.2).
 */
void quic_path_challenge_rcv(struct sock *sk, const u8 *data)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt;

	if (quic_path_from_peer(sk)) {
		memcpy(qs->path_response, data, 8);
		qs->path_response_pending = 1;
		return;
	}
	if (qs->local_tp.disable_active_migration ||
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		return;
	alt = quic_path_alt_peer(sk, &qs->rx_from);
	if (alt)
		quic_path_send_alt(sk, QUIC_FRAME_PATH_RESPONSE, data);
}

void quic_path_response_rcv(struct sock *sk, const u8 *data)
{
	struct quic_path_alt *alt = &quic_sk(sk)->alt;

	if (alt->validating && !crypto_memneq(alt->challenge, data, 8))
		quic_path_validated(sk);
}

/**
 * quic_path_rcv - after the frames of a 1-RTT packet were handled
 * @sk: the connection (locked)
 * @dcid: the packet's Destination Connection ID
 * @newest: it has the highest packet number so far
 *
 * RFC 9000 9.3: only the newest non-probing packet moves the peer; a
 * server validates the new address before it sends there.
 */
void quic_path_rcv(struct sock *sk, const struct quic_conn_id *dcid,
		   bool newest)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt;

	if (sk->sk_state != QUIC_SS_ESTABLISHED || !qs->rx_non_probing ||
	    !newest)
		return;
	quic_conn_scid_used(sk, dcid);
	if (quic_path_from_peer(sk) || qs->local_tp.disable_active_migration)
		return;
	alt = quic_path_alt_peer(sk, &qs->rx_from);
	if (alt && !alt->validating)
		quic_path_challenge(sk);
}

/* Server: count bytes from the address being validated (3x limit). */
void quic_path_rx_bytes(struct sock *sk, u32 len)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;

	qs->rx_len = len;
	if (alt->active && !alt->udp && qs->rx_from_set &&
	    quic_addr_equal(&alt->peer, &qs->rx_from))
		alt->rx_bytes += len;
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
