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
#include <net/quic.h>
#include <net/tcp_states.h>

#include "udp.h"
#include "connid.h"
#include "crypto.h"
#include "tp.h"
#include "pnspace.h"
#include "cong.h"
#include "outqueue.h"
#include "inqueue.h"
#include "timer.h"
#include "stream.h"

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
#define QUIC_USER_TOKEN_MAX	120
#define QUIC_OPT_MAX_LEN	4096
#define QUIC_SCID_MAX		16	/* source CID slots: issued and retiring */
#define QUIC_SCID_ISSUE_MAX	8	/* unretired source CIDs we issue */
#define QUIC_DCID_MAX		8	/* spare peer CIDs we store */
#define QUIC_RETIRE_MAX		16	/* RETIRE_CONNECTION_IDs owed */
#define QUIC_MIN_DGRAM		1200	/* RFC 9000 14.1 */
#define QUIC_MAX_DGRAM		1200	/* what we send until PLPMTUD exists */
#define QUIC_MAX_DGRAM_CAP	15360	/* once established, within the path MTU */
#define QUIC_REQ_PKTS_MAX	8	/* queued Initials per request */
#define QUIC_CLOSE_RESENDS_MAX	4	/* CONNECTION_CLOSE repeats when closing */

/* A connection attempt queued at a listener until accept(). */
struct quic_request {
	struct list_head list;
	union quic_addr local;		/* the datagram's destination */
	union quic_addr peer;
	struct quic_conn_id dcid;	/* the client's original DCID */
	struct quic_conn_id scid;
	u32 version;
	struct sk_buff_head pkts;
};

struct quic_dcid_entry {
	u64 seq;
	struct quic_conn_id cid;
	u8 token[QUIC_RESET_TOKEN_LEN];
};

/* The second path of a connection while it is validated (RFC 9000 8.2,
 * 9): a new local address (our migration, or the server's preferred
 * address a packet arrived on), a new peer address (the peer migrated, or
 * a client moves to the server's preferred address), or both.  It becomes
 * the connection's path once a PATH_RESPONSE echoes @challenge, or at
 * once when only our local address changed under a validated peer.
 */
struct quic_path_alt {
	struct quic_udp_sock *udp;	/* @new_local: its UDP socket (held) */
	union quic_addr local;
	union quic_addr peer;
	struct quic_conn_id dcid;	/* used on this path (RFC 9000 9.5) */
	u64 dcid_seq;
	u8 dcid_token[QUIC_RESET_TOKEN_LEN];
	u64 rx_bytes;			/* anti-amplification on this path */
	u64 tx_bytes;
	u8 challenge[8];
	u8 tries;
	u8 active:1;			/* the slot is in use */
	u8 validating:1;		/* PATH_CHALLENGE outstanding */
	u8 spare_dcid:1;		/* @dcid was a spare, not the active */
	u8 new_local:1;			/* @udp and @local replace ours */
	u8 new_peer:1;			/* @peer replaces the peer's */
	u8 limited:1;			/* @peer unvalidated: 3x what it sent */
	u8 pref:1;			/* client: to the preferred address */
};

struct quic_sock {
	struct inet_sock inet;
	struct list_head node;		/* in quic_net->sock_list */
	struct list_head listen_node;	/* in quic_udp_sock->listeners */

	struct quic_udp_sock *udp;	/* the bound UDP tunnel socket */
	union quic_addr local;		/* bound (or chosen) local address */
	union quic_addr peer;		/* connected peer */
	union quic_addr dst_saddr;	/* source of the route in sk_dst_cache */
	u32 dst_cookie;			/* of that route (IPv6) */

	struct quic_config config;
	struct quic_tp local_tp;
	struct quic_tp remote_tp;
	struct quic_connection_close local_close;  /* sent on close() */
	struct quic_connection_close peer_close;   /* received from the peer */

	u8 alpn[QUIC_ALPN_MAX_LEN + 1];	/* comma-separated, NUL-terminated */
	u8 alpn_len;
	u8 token[QUIC_USER_TOKEN_MAX];	/* client: to send in Initials;
					 * server: in NEW_TOKEN
					 */
	u8 token_len;
	u32 events;			/* enabled quic_event_type bits */

	u8 is_serv:1;			/* listener or accepted socket */
	u8 bound:1;

	/* listener */
	spinlock_t req_lock;		/* protects reqs */
	struct list_head reqs;		/* quic_request, oldest first */
	struct quic_token_ctx token_ctx;

	/* connection IDs */
	struct quic_conn_id scid;	/* the one in our long headers */
	struct quic_conn_id dcid;	/* the one we send to */
	struct quic_conn_id odcid;	/* the client's first DCID */
	struct quic_cid_entry *scids[QUIC_SCID_MAX];
	struct quic_cid_entry *odcid_entry;
	u64 scid_next_seq;
	u64 scid_prior_to;		/* our Retire Prior To */
	u64 scid_active;		/* the highest of: the ID number the
					 * peer uses, the one the user set
					 */
	struct quic_dcid_entry dcids[QUIC_DCID_MAX];	/* spares */
	u8 dcid_count;
	u16 new_cid_pending;		/* bitmap of scids[] to announce */
	u64 dcid_seq;			/* number of @dcid */
	u64 dcid_prior_to;		/* the peer's largest Retire Prior To */
	u8 dcid_token[QUIC_RESET_TOKEN_LEN];	/* of @dcid, once switched */
	u64 retire[QUIC_RETIRE_MAX];	/* RETIRE_CONNECTION_IDs to send */
	u8 retire_count;

	/* migration: the path being validated (path.c) */
	struct quic_path_alt alt;
	struct quic_udp_sock *old_udp;	/* the local path left behind */
	union quic_addr old_local;	/* its address */
	union quic_addr old_peer;	/* the peer address we left */
	struct quic_udp_sock *pref_udp;	/* server: bound preferred address */
	union quic_addr pref_local;	/* server: that address */
	union quic_addr rx_from;	/* source of the datagram processed */
	union quic_addr rx_to;		/* its destination */
	const struct quic_conn_id *rx_dcid;	/* DCID of the packet processed */
	struct sk_buff *rx_skb;		/* the datagram processed (decrypted) */
	u32 rx_len;			/* length of the datagram processed */

	/* packet protection, per QUIC_CRYPTO_* level */
	struct quic_crypto crypto[QUIC_CRYPTO_MAX];
	u32 version;

	/* per packet number space */
	struct quic_pnspace space[QUIC_PN_MAX];
	struct quic_crypto_out cout[QUIC_PN_MAX];
	struct quic_crypto_in cin[QUIC_PN_MAX];
	struct sk_buff_head pending[QUIC_PN_MAX];  /* packets awaiting keys */

	/* streams, flow control, datagrams */
	struct quic_stream_table streams;
	struct quic_cong cong;
	u32 mss;			/* datagram size once established */

	/* loss recovery */
	struct quic_rtt rtt;
	u8 pto_count;
	u8 probe_mask;			/* spaces owing a probe after a PTO */

	/* anti-amplification (server, before the address is validated) */
	u64 rx_bytes;
	u64 tx_bytes;

	struct timer_list timers[QUIC_TIMER_MAX];
	struct hrtimer pace_timer;	/* the next paced datagram is due */
	unsigned long deferred;		/* QUIC_DEFERRED_* for release_cb */
	struct work_struct ku_work;	/* key update preparation */
	u64 idle_timeout;		/* us, effective */

	u8 *ticket;			/* APP-level CRYPTO data (NST) */
	u32 ticket_len;

	u8 path_response[8];
	u32 close_errcode;		/* transport close we send */
	u8 close_resends;
	u64 close_frame;

	u8 addr_validated:1;
	u8 got_peer_scid:1;		/* client: dcid taken from the server */
	u8 hs_done_pending:1;		/* server: HANDSHAKE_DONE to send */
	u8 new_token_pending:1;		/* server: NEW_TOKEN (@token) to send */
	u8 new_token_inflight:1;	/* server: sent, not yet acknowledged */
	u8 confirmed:1;			/* handshake confirmed */
	u8 path_response_pending:1;
	u8 close_app:1;			/* close with 0x1d */
	u8 closing:1;			/* CONNECTION_CLOSE to send / sent */
	u8 draining:1;			/* peer closed: send nothing */
	u8 ack_eliciting_sent:1;	/* since the last packet received */
	u8 rtp_set:1;			/* peer's transport params known */
	u8 corked:1;			/* MSG_MORE: hold CRYPTO data back */
	u8 dcid_token_set:1;
	u8 rx_from_set:1;		/* rx_from is known (not a replay) */
	u8 rx_non_probing:1;		/* the packet had non-probing frames */
	u8 pace_wait:1;			/* data held back by pacing */
	u8 pace_blocked:1;		/* flush: the pacing clock is ahead */
	u8 early_ok:1;			/* client: remembered TPs, 0-RTT usable */
	u8 early_used:1;		/* client: streams/data under them */
	u8 waiters;			/* tasks asleep in quic_sk_wait() */
};

struct quic6_sock {
	struct quic_sock quic;
	struct ipv6_pinfo inet6;
};

static inline struct quic_sock *quic_sk(const struct sock *sk)
{
	return (struct quic_sock *)sk;
}

/* sk_wait_event() for a task that sleeps until the peer's datagrams change
 * something: while it sleeps, those datagrams go to the backlog for it to
 * process (quic_sk_rcv() in packet.c).  The owner alone changes the count.
 */
#define quic_sk_wait(sk, timeo, condition, wait)			\
	({								\
		struct quic_sock *__qs = quic_sk(sk);			\
		int __rc;						\
									\
		WRITE_ONCE(__qs->waiters, __qs->waiters + 1);		\
		__rc = sk_wait_event(sk, timeo, condition, wait);	\
		WRITE_ONCE(__qs->waiters, __qs->waiters - 1);		\
		__rc;							\
	})

static inline bool quic_is_listen(const struct sock *sk)
{
	return sk->sk_state == QUIC_SS_LISTENING;
}

static inline bool quic_is_serv(const struct sock *sk)
{
	return quic_sk(sk)->is_serv;
}

/* ---- arming and stopping the timers (handlers: timer.c) ---- */

static inline void quic_timer_reset(struct sock *sk, u8 id, u64 timeout_us)
{
	unsigned long t = usecs_to_jiffies(min_t(u64, timeout_us, U32_MAX));

	sk_reset_timer(sk, &quic_sk(sk)->timers[id], jiffies + max(t, 1UL));
}

static inline void quic_timer_stop(struct sock *sk, u8 id)
{
	sk_stop_timer(sk, &quic_sk(sk)->timers[id]);
}

static inline void quic_timer_stop_all(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u8 id;

	for (id = 0; id < QUIC_TIMER_MAX; id++)
		quic_timer_stop(sk, id);
	/* a handler already running drops its own reference */
	if (hrtimer_try_to_cancel(&qs->pace_timer) == 1)
		__sock_put(sk);
	if (test_and_clear_bit(QUIC_DEFERRED_PACE, &qs->deferred))
		__sock_put(sk);
	qs->pace_wait = 0;
}

/**
 * quic_timer_pace_arm - send again at @when_ns (ktime_get_ns())
 * @sk: the connection (locked)
 * @when_ns: the pacing clock's next send time
 *
 * A timer already queued stays as it is: the pacing clock only moves on.
 */
static inline void quic_timer_pace_arm(struct sock *sk, u64 when_ns)
{
	struct hrtimer *t = &quic_sk(sk)->pace_timer;

	if (hrtimer_is_queued(t))
		return;
	sock_hold(sk);
	hrtimer_start(t, ns_to_ktime(when_ns), HRTIMER_MODE_ABS_PINNED_SOFT);
}

/* May stream data be queued?  Once established, or before on a client
 * whose peer's transport parameters were restored for 0-RTT.
 */
static inline bool quic_can_send_data(const struct sock *sk)
{
	return sk->sk_state == QUIC_SS_ESTABLISHED ||
	       (sk->sk_state == QUIC_SS_ESTABLISHING && quic_sk(sk)->early_ok);
}

static inline u8 quic_level_space(u8 level)
{
	switch (level) {
	case QUIC_CRYPTO_INITIAL:
		return QUIC_PN_INITIAL;
	case QUIC_CRYPTO_HANDSHAKE:
		return QUIC_PN_HANDSHAKE;
	default:
		return QUIC_PN_APP;
	}
}

static inline u8 quic_space_level(u8 space)
{
	static const u8 levels[QUIC_PN_MAX] = {
		[QUIC_PN_INITIAL] = QUIC_CRYPTO_INITIAL,
		[QUIC_PN_HANDSHAKE] = QUIC_CRYPTO_HANDSHAKE,
		[QUIC_PN_APP] = QUIC_CRYPTO_APP,
	};

	return levels[space];
}

static inline u64 quic_now(void)
{
	return ktime_to_us(ktime_get());
}

extern struct proto quic_prot;
extern struct proto quicv6_prot;
extern const struct proto_ops quic_proto_ops;
extern const struct proto_ops quicv6_proto_ops;

#endif /* __NET_QUIC_SOCKET_H */
