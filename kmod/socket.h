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
#include "path.h"
#include "packet.h"
#include "connection.h"
#include "connid.h"
#include "crypto.h"
#include "tp.h"
#include "pnspace.h"
#include "cong.h"
#include "ecn.h"
#include "pmtud.h"
#include "outqueue.h"
#include "inqueue.h"
#include "timer.h"
#include "stream.h"
#include "listen.h"

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
#define QUIC_MIN_DGRAM		1200	/* RFC 9000 14.1 */
#define QUIC_MAX_DGRAM		1200	/* what we send until established */
#define QUIC_MAX_DGRAM_CAP	15360	/* once established, within the path MTU */
#define QUIC_CLOSE_RESENDS_MAX	4	/* CONNECTION_CLOSE repeats when closing */

struct quic_sock {
	struct inet_sock inet;
	struct list_head node;		/* in quic_net->sock_list */

	struct quic_config config;
	struct quic_tp local_tp;
	struct quic_tp remote_tp;

	u8 alpn[QUIC_ALPN_MAX_LEN + 1];	/* comma-separated, NUL-terminated */
	u8 alpn_len;
	u8 token[QUIC_USER_TOKEN_MAX];	/* client: to send in Initials;
					 * server: in NEW_TOKEN
					 */
	u8 token_len;
	u8 *retry_token;		/* client: from the Retry, sent in
					 * Initials instead of @token
					 */
	u16 retry_token_len;

	u8 is_serv:1;			/* listener or accepted socket */
	u8 bound:1;
	u8 confirmed:1;			/* handshake confirmed */
	u8 rtp_set:1;			/* peer's transport params known */
	u8 early_ok:1;			/* client: remembered TPs, 0-RTT usable */
	u8 early_used:1;		/* client: streams/data under them */
	u8 retried:1;			/* client: took a Retry */
	u8 retry_pending:1;		/* client: its keys are due */
	u8 version_set:1;		/* config.version set by the user */
	u8 version_pending:1;		/* client: keys of compat_version due */
	u8 version_tries:2;		/* client: switches undone (forged) */
	u8 waiters;			/* tasks asleep in quic_sk_wait() */

	struct quic_listener listener;	/* when listening */
	u8 ticket_secret[QUIC_TOKEN_SECRET_LEN];	/* listener's, inherited:
							 * session ticket keys
							 */

	/* the state of each concern, reached through its accessor below */
	struct quic_cids cids;
	struct quic_paths paths;
	struct quic_rx rx;
	struct quic_crypto crypto[QUIC_CRYPTO_MAX];	/* per level */
	u32 version;			/* of our long headers and keys */
	u32 orig_version;		/* of the client's first Initial */
	u32 compat_version;		/* RFC 9368: server: to switch to;
					 * client: switching to
					 */
	struct quic_pnspace space[QUIC_PN_MAX];
	struct quic_outqueue outq;
	struct quic_inqueue inq;
	struct quic_stream_table streams;
	struct quic_cong cong;
	struct quic_ecn ecn;
	u32 mss;			/* datagram size once established
					 * (pmtud.c)
					 */
	struct quic_pmtud pmtud;
	struct quic_rtt rtt;
	u8 pto_count;
	struct quic_timers timers;
	struct work_struct ku_work;	/* key update preparation */
	struct delayed_work close_work;	/* end of the closing period */
	u64 idle_timeout;		/* us, effective */
	struct quic_close_state close;
};

struct quic6_sock {
	struct quic_sock quic;
	struct ipv6_pinfo inet6;
};

static inline struct quic_sock *quic_sk(const struct sock *sk)
{
	return (struct quic_sock *)sk;
}

static inline struct quic_cids *quic_cids(const struct sock *sk)
{
	return &quic_sk(sk)->cids;
}

static inline struct quic_paths *quic_paths(const struct sock *sk)
{
	return &quic_sk(sk)->paths;
}

static inline struct quic_ecn *quic_ecn(const struct sock *sk)
{
	return &quic_sk(sk)->ecn;
}

static inline struct quic_rx *quic_rx(const struct sock *sk)
{
	return &quic_sk(sk)->rx;
}

/* the packet protection keys of encryption level @level (QUIC_CRYPTO_*) */
static inline struct quic_crypto *quic_keys(const struct sock *sk, u8 level)
{
	return &quic_sk(sk)->crypto[level];
}

/* packet number space @space (QUIC_PN_*) */
static inline struct quic_pnspace *quic_pnspace(const struct sock *sk,
						u8 space)
{
	return &quic_sk(sk)->space[space];
}

static inline struct quic_outqueue *quic_outq(const struct sock *sk)
{
	return &quic_sk(sk)->outq;
}

static inline struct quic_inqueue *quic_inq(const struct sock *sk)
{
	return &quic_sk(sk)->inq;
}

static inline struct quic_timers *quic_timers(const struct sock *sk)
{
	return &quic_sk(sk)->timers;
}

static inline struct quic_close_state *quic_close_state(const struct sock *sk)
{
	return &quic_sk(sk)->close;
}

static inline struct quic_listener *quic_listener(const struct sock *sk)
{
	return &quic_sk(sk)->listener;
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

	sk_reset_timer(sk, &quic_timers(sk)->t[id], jiffies + max(t, 1UL));
}

static inline void quic_timer_stop(struct sock *sk, u8 id)
{
	sk_stop_timer(sk, &quic_timers(sk)->t[id]);
}

static inline void quic_timer_stop_all(struct sock *sk)
{
	u8 id;

	for (id = 0; id < QUIC_TIMER_MAX; id++)
		quic_timer_stop(sk, id);
	/* a handler already running drops its own reference */
	if (hrtimer_try_to_cancel(&quic_timers(sk)->pace) == 1)
		__sock_put(sk);
	if (test_and_clear_bit(QUIC_DEFERRED_PACE, &quic_timers(sk)->deferred))
		__sock_put(sk);
	quic_outq(sk)->pace_wait = 0;
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
	struct hrtimer *t = &quic_timers(sk)->pace;

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

int quic_socket_init(void);
void quic_socket_exit(void);

extern struct proto quic_prot;
extern struct proto quicv6_prot;
extern const struct proto_ops quic_proto_ops;
extern const struct proto_ops quicv6_proto_ops;

#endif /* __NET_QUIC_SOCKET_H */
