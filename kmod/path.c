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

/* Under udp_lock: the live UDP socket bound to @addr, referenced, or NULL
 * (with *@err set when the port is taken in a way @sk may not share).
 */
static struct quic_udp_sock *quic_udp_sock_find(struct sock *sk,
						const union quic_addr *addr,
						bool v6only, int *err)
{
	struct quic_udp_sock *us;

	*err = 0;
	list_for_each_entry(us, &quic_net(sock_net(sk))->udp_list, node) {
		if (!quic_addr_equal(&us->addr, addr) ||
		    !refcount_read(&us->refcnt))
			continue;	/* another address, or being released */
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
	return NULL;
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
		 * quic_path_wq.  Wait for it (it takes udp_lock) and look
		 * again, so that a server can bind the port its predecessor
		 * just left.
		 */
		mutex_unlock(&qn->udp_lock);
		flush_workqueue(quic_path_wq);
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

/**
 * quic_path_route_saddr - the source address a route to @peer would use
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
int quic_path_route_saddr(struct sock *sk, const union quic_addr *peer,
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

/* Send PATH_CHALLENGE or PATH_RESPONSE @data on the alternative path, in
 * a datagram of its own padded to 1200 bytes (RFC 9000 8.2.1) unless the
 * three-times limit on an unvalidated peer address forbids it.
 */
static void quic_path_send_alt(struct sock *sk, u8 type, const u8 *data)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;
	struct quic_pnspace *s = &qs->space[QUIC_PN_APP];
	u64 allow = alt->limited ? 3 * alt->rx_bytes : U64_MAX;
	struct quic_path_tx tx = {};
	struct quic_dgram dg;
	bool pad;
	u32 len;

	pad = alt->tx_bytes + QUIC_MIN_DGRAM <= allow;
	if (!pad && alt->tx_bytes + QUIC_PATH_PROBE_MIN > allow)
		return;
	tx.udp = alt->new_local ? alt->udp : qs->udp;
	tx.local = alt->new_local ? &alt->local : &qs->local;
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

/* Give the alternative path a spare peer ID (RFC 9000 9.5), or the one in
 * use if the peer gave us none.
 */
static void quic_path_alt_dcid(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;
	struct quic_dcid_entry e;

	if (quic_conn_take_spare(sk, &e)) {
		alt->dcid = qs->dcid;
		return;
	}
	alt->dcid = e.cid;
	alt->dcid_seq = e.seq;
	memcpy(alt->dcid_token, e.token, QUIC_RESET_TOKEN_LEN);
	alt->spare_dcid = 1;
}

/**
 * quic_path_abandon - give up the alternative path
 * @sk: the connection (locked; any context)
 *
 * A spare peer ID it used is retired, a UDP socket it held released.
 */
void quic_path_abandon(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;

	if (!alt->active)
		return;
	quic_timer_stop(sk, QUIC_TIMER_PATH);
	if (alt->udp)
		quic_udp_sock_put(alt->udp);
	if (alt->spare_dcid)
		quic_conn_retire_dcid(sk, alt->dcid_seq);
	memset(alt, 0, sizeof(*alt));
}

/* At close: release the UDP sockets of other paths. */
void quic_path_free(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	quic_timer_stop(sk, QUIC_TIMER_PATH);
	if (qs->alt.udp)
		quic_udp_sock_put(qs->alt.udp);
	memset(&qs->alt, 0, sizeof(qs->alt));
	if (qs->pref_udp) {
		quic_udp_sock_put(qs->pref_udp);
		qs->pref_udp = NULL;
	}
	if (qs->old_udp) {
		quic_udp_sock_put(qs->old_udp);
		qs->old_udp = NULL;
	}
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

/* The alternative path becomes the connection's path. */
static void quic_path_switch(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;
	struct quic_dcid_entry e = {};
	u8 local = alt->new_local;
	bool same_host = true;

	quic_timer_stop(sk, QUIC_TIMER_PATH);
	if (alt->spare_dcid) {
		/* RFC 9000 9.5: a new ID on the new path, the old retired */
		e.seq = alt->dcid_seq;
		e.cid = alt->dcid;
		memcpy(e.token, alt->dcid_token, QUIC_RESET_TOKEN_LEN);
		alt->spare_dcid = 0;
		if (quic_conn_use_dcid(sk, &e, true)) {
			quic_path_abandon(sk);
			return;
		}
	}
	if (alt->new_local) {
		same_host = quic_addr_same_host(&alt->local, &qs->local);
		/* the old socket still takes what the peer sends there
		 * until it follows; one left before is released
		 */
		if (qs->old_udp)
			quic_udp_sock_put(qs->old_udp);
		qs->old_udp = qs->udp;
		qs->old_local = qs->local;
		qs->udp = alt->udp;
		alt->udp = NULL;
		quic_set_local(sk, &alt->local);
	}
	if (alt->new_peer) {
		same_host &= quic_addr_same_host(&alt->peer, &qs->peer);
		qs->old_peer = qs->peer;
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
	if (local) {
		/* a non-probing packet at once: the peer follows us now */
		qs->probe_mask |= BIT(QUIC_PN_APP);
		quic_outq_flush(sk);
	}
}

/**
 * quic_path_migrate - QUIC_SOCKOPT_CONNECTION_MIGRATION once established
 * @sk: the connection (locked, process context)
 * @a: the new local address (family checked)
 *
 * A client moves to @a (RFC 9000 9.2); so may a server, as in the
 * reference (its peer validates the server's new address before it
 * follows).
 *
 * Return: 0 once the new path is being validated, or a negative errno.
 */
int quic_path_migrate(struct sock *sk, const union quic_addr *a)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;
	struct quic_udp_sock *us;

	if (sk->sk_state != QUIC_SS_ESTABLISHED || quic_addr_any(a) ||
	    quic_addr_equal(a, &qs->local))
		return -EINVAL;
	if (qs->remote_tp.disable_active_migration)
		return -EPERM;
	if (alt->active || !qs->dcid_count)
		return -EAGAIN;	/* pending, or no spare ID (yet) */
	us = quic_udp_sock_get(sk, a);
	if (IS_ERR(us))
		return PTR_ERR(us);
	memset(alt, 0, sizeof(*alt));
	alt->udp = us;
	alt->local = us->addr;
	alt->peer = qs->peer;
	alt->new_local = 1;
	quic_path_alt_dcid(sk);
	alt->active = 1;
	quic_path_challenge(sk);
	return 0;
}

/* Did the datagram processed arrive at our preferred address (server),
 * not yet the connection's?
 */
static bool quic_path_rx_pref(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	return qs->rx_from_set && qs->pref_udp &&
	       quic_addr_equal(&qs->rx_to, &qs->pref_local) &&
	       !quic_addr_equal(&qs->pref_local, &qs->local);
}

/* Did the datagram processed come on the connection's path? */
static bool quic_path_rx_current(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	return !qs->rx_from_set ||
	       (quic_addr_equal(&qs->rx_from, &qs->peer) &&
		!quic_path_rx_pref(sk));
}

/* The local end the datagram processed arrived at: the preferred address
 * (server), the address a migration left (its socket still receives), or
 * the connection's.  Return: that UDP socket, not referenced.
 */
static struct quic_udp_sock *quic_path_rx_local(struct sock *sk,
						union quic_addr *local)
{
	struct quic_sock *qs = quic_sk(sk);

	if (quic_path_rx_pref(sk)) {
		*local = qs->pref_local;
		return qs->pref_udp;
	}
	if (qs->old_udp && quic_addr_equal(&qs->rx_to, &qs->old_local) &&
	    !quic_addr_equal(&qs->old_local, &qs->local)) {
		*local = qs->old_local;
		return qs->old_udp;
	}
	*local = qs->local;
	return qs->udp;
}

/* The path the datagram processed came on, as the alternative path. */
static struct quic_path_alt *quic_path_alt_rx(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;
	struct quic_udp_sock *us;
	union quic_addr local;

	us = quic_path_rx_local(sk, &local);
	if (alt->active && quic_addr_equal(&alt->peer, &qs->rx_from) &&
	    quic_addr_equal(&alt->local, &local))
		return alt;
	quic_path_abandon(sk);
	if (sk->sk_state != QUIC_SS_ESTABLISHED)
		return NULL;
	alt->peer = qs->rx_from;
	alt->new_peer = !quic_addr_equal(&qs->rx_from, &qs->peer);
	alt->limited = alt->new_peer;
	alt->local = local;
	if (us != qs->udp || !quic_addr_equal(&local, &qs->local)) {
		alt->udp = quic_udp_sock_hold(us);
		alt->new_local = 1;
	}
	quic_path_alt_dcid(sk);
	alt->rx_bytes = qs->rx_len;
	alt->active = 1;
	return alt;
}

/* May the peer move to the path the datagram processed came on? */
static bool quic_path_rx_allowed(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	if (sk->sk_state != QUIC_SS_ESTABLISHED)
		return false;
	/* RFC 9000 18.2: disable_active_migration does not cover the
	 * preferred address
	 */
	return !qs->local_tp.disable_active_migration ||
	       quic_path_rx_pref(sk);
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

	if (quic_path_rx_current(sk)) {
		memcpy(qs->path_response, data, 8);
		qs->path_response_pending = 1;
		return;
	}
	if (!quic_path_rx_allowed(sk))
		return;
	alt = quic_path_alt_rx(sk);
	if (alt)
		quic_path_send_alt(sk, QUIC_FRAME_PATH_RESPONSE, data);
}

void quic_path_response_rcv(struct sock *sk, const u8 *data)
{
	struct quic_path_alt *alt = &quic_sk(sk)->alt;

	if (alt->validating && !crypto_memneq(alt->challenge, data, 8))
		quic_path_switch(sk);
}

/**
 * quic_path_rcv - after the frames of a 1-RTT packet were handled
 * @sk: the connection (locked)
 * @dcid: the packet's Destination Connection ID
 * @newest: it has the highest packet number so far
 *
 * RFC 9000 9.3: only the newest non-probing packet moves the peer, and
 * its new address is validated before we send there.  A packet that only
 * arrived at our preferred address moves us there at once (9.6.3).
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
	if (quic_path_rx_current(sk) || !quic_path_rx_allowed(sk))
		return;
	/* a server validating our new address sends from the address we
	 * left until then: a client does not go back for that
	 */
	if (!quic_is_serv(sk) && quic_addr_equal(&qs->rx_from, &qs->old_peer))
		return;
	alt = quic_path_alt_rx(sk);
	if (!alt)
		return;
	if (!alt->new_peer)
		quic_path_switch(sk);
	else if (!alt->validating)
		quic_path_challenge(sk);
}

/* Count bytes from the address being validated (3x limit). */
void quic_path_rx_bytes(struct sock *sk, u32 len)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;

	qs->rx_len = len;
	if (alt->active && alt->limited && qs->rx_from_set &&
	    quic_addr_equal(&alt->peer, &qs->rx_from))
		alt->rx_bytes += len;
}

/* ---- the server's preferred address (RFC 9000 9.6) ------------------- */

/**
 * quic_path_set_pref - QUIC_SOCKOPT_CONNECTION_MIGRATION on a server
 *	before the handshake: offer @a as preferred_address
 * @sk: the accepted connection (locked, process context)
 * @a: the address (family checked); bound here, with bind()'s checks
 *
 * Return: 0, -EINVAL (a wildcard, port 0, too late, already set),
 * -EADDRINUSE/-EACCES from binding, or what issuing its ID returned.
 */
int quic_path_set_pref(struct sock *sk, const union quic_addr *a)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_tp_pref_addr *pa = &qs->local_tp.pref_addr;
	struct quic_udp_sock *us;
	int err;

	if (sk->sk_state != QUIC_SS_ESTABLISHING || qs->pref_udp ||
	    qs->crypto[QUIC_CRYPTO_HANDSHAKE].tx_ready ||
	    quic_addr_any(a) || !quic_addr_port(a))
		return -EINVAL;
	us = quic_udp_sock_get(sk, a);
	if (IS_ERR(us))
		return PTR_ERR(us);
	memset(pa, 0, sizeof(*pa));
	err = quic_conn_pref_cid(sk, &pa->cid, pa->token);
	if (err) {
		quic_udp_sock_put(us);
		return err;
	}
	if (a->sa.sa_family == AF_INET6) {
		memcpy(pa->v6_addr, &us->addr.v6.sin6_addr, 16);
		pa->v6_port = ntohs(us->addr.v6.sin6_port);
	} else {
		memcpy(pa->v4_addr, &us->addr.v4.sin_addr, 4);
		pa->v4_port = ntohs(us->addr.v4.sin_port);
	}
	qs->local_tp.pref_addr_present = 1;
	qs->pref_udp = us;
	qs->pref_local = us->addr;
	return 0;
}

/* Client: which of the server's preferred addresses, if any, it can use:
 * the family it uses now first; IPv6 only on a PF_INET6 socket, IPv4 on
 * one unless it is IPv6-only.
 */
static int quic_path_pref_pick(struct sock *sk, union quic_addr *a)
{
	const struct quic_tp_pref_addr *pa = &quic_sk(sk)->remote_tp.pref_addr;
	bool v4 = pa->v4_port && memchr_inv(pa->v4_addr, 0, 4) &&
		  !(sk->sk_family == AF_INET6 && sk->sk_ipv6only);
	bool v6 = pa->v6_port && sk->sk_family == AF_INET6 &&
		  memchr_inv(pa->v6_addr, 0, 16);

	memset(a, 0, sizeof(*a));
	if (v6 && (!v4 || quic_sk(sk)->peer.sa.sa_family == AF_INET6)) {
		a->v6.sin6_family = AF_INET6;
		memcpy(&a->v6.sin6_addr, pa->v6_addr, 16);
		a->v6.sin6_port = htons(pa->v6_port);
		return 0;
	}
	if (!v4)
		return -ENOENT;
	a->v4.sin_family = AF_INET;
	memcpy(&a->v4.sin_addr, pa->v4_addr, 4);
	a->v4.sin_port = htons(pa->v4_port);
	return 0;
}

/**
 * quic_path_pref_prepare - client, both 1-RTT keys installed: set up the
 *	path to the server's preferred address, validated once the
 *	handshake is confirmed (RFC 9000 9.6.1)
 * @sk: the connection (locked, process context)
 *
 * The current UDP socket is kept when it reaches the address (same
 * family, or dual stack); else a new one of that family is bound.  If
 * anything fails the connection stays where it is.
 */
void quic_path_pref_prepare(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_path_alt *alt = &qs->alt;
	union quic_addr peer, local, any = {};
	struct quic_udp_sock *us = qs->udp;

	if (quic_is_serv(sk) || !qs->remote_tp.pref_addr_present ||
	    alt->active || !qs->dcid_count || quic_path_pref_pick(sk, &peer))
		return;
	local = us->addr;
	/* an IPv4 UDP socket cannot send IPv6; a dual-stack one sends both */
	if ((us->addr.sa.sa_family != peer.sa.sa_family &&
	     (peer.sa.sa_family == AF_INET6 || us->v6only)) ||
	    quic_path_route_saddr(sk, &peer, &local)) {
		any.sa.sa_family = peer.sa.sa_family;
		us = quic_udp_sock_get(sk, &any);
		if (IS_ERR(us))
			return;
		local = us->addr;
		if (quic_path_route_saddr(sk, &peer, &local)) {
			quic_udp_sock_put(us);
			return;
		}
	} else {
		quic_udp_sock_hold(us);
	}
	memset(alt, 0, sizeof(*alt));
	alt->peer = peer;
	alt->new_peer = 1;
	alt->local = local;
	if (us != qs->udp || !quic_addr_equal(&local, &qs->local)) {
		alt->udp = us;
		alt->new_local = 1;
	} else {
		quic_udp_sock_put(us);
	}
	quic_path_alt_dcid(sk);
	alt->pref = 1;
	alt->active = 1;
	if (qs->confirmed)
		quic_path_pref_start(sk);
}

/* Client, handshake confirmed: validate the path set up above. */
void quic_path_pref_start(struct sock *sk)
{
	struct quic_path_alt *alt = &quic_sk(sk)->alt;

	if (!alt->active || !alt->pref || alt->validating)
		return;
	alt->pref = 0;
	quic_path_challenge(sk);
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
