// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: per-connection timer handlers; arming and stopping the timers
 * are inline helpers in socket.h, for every layer to use.
 *
 * Each armed timer holds a socket reference (sk_reset_timer()).  The
 * handlers take the socket spinlock; if the user owns the socket they
 * retry a jiffy later rather than run concurrently with it.
 *
 * The pacing timer is an hrtimer (softirq, pinned): it also holds a
 * socket reference while armed; if the user owns the socket when it
 * fires, it leaves QUIC_DEFERRED_PACE (and its reference) for
 * quic_release_cb(), which release_sock() calls.
 */

#include <net/sock.h>

#include "socket.h"
#include "path.h"
#include "connection.h"
#include "recovery.h"

static void quic_timer_run(struct sock *sk, u8 id)
{
	bh_lock_sock(sk);
	if (sock_owned_by_user(sk)) {
		sk_reset_timer(sk, &quic_timers(sk)->t[id], jiffies + 1);
		goto out;
	}
	if (sock_flag(sk, SOCK_DEAD) ||
	    (sk->sk_state != QUIC_SS_ESTABLISHING &&
	     sk->sk_state != QUIC_SS_ESTABLISHED))
		goto out;
	switch (id) {
	case QUIC_TIMER_LOSS:
		quic_recovery_timeout(sk);
		break;
	case QUIC_TIMER_IDLE:
		quic_conn_idle_timeout(sk);
		break;
	case QUIC_TIMER_ACK:
		quic_pnspace(sk, QUIC_PN_APP)->ack_immediate = 1;
		quic_outq_flush(sk);
		break;
	case QUIC_TIMER_PATH:
		quic_path_timeout(sk);
		break;
	case QUIC_TIMER_PMTU:
		if (quic_pmtud_timeout(sk, quic_packet_mss(sk)))
			quic_outq_flush(sk);
		break;
	}
out:
	bh_unlock_sock(sk);
	sock_put(sk);
}

static void quic_timer_loss(struct timer_list *t)
{
	struct quic_sock *qs = from_timer(qs, t, timers.t[QUIC_TIMER_LOSS]);

	quic_timer_run(&qs->inet.sk, QUIC_TIMER_LOSS);
}

static void quic_timer_idle(struct timer_list *t)
{
	struct quic_sock *qs = from_timer(qs, t, timers.t[QUIC_TIMER_IDLE]);

	quic_timer_run(&qs->inet.sk, QUIC_TIMER_IDLE);
}

static void quic_timer_ack(struct timer_list *t)
{
	struct quic_sock *qs = from_timer(qs, t, timers.t[QUIC_TIMER_ACK]);

	quic_timer_run(&qs->inet.sk, QUIC_TIMER_ACK);
}

static void quic_timer_path(struct timer_list *t)
{
	struct quic_sock *qs = from_timer(qs, t, timers.t[QUIC_TIMER_PATH]);

	quic_timer_run(&qs->inet.sk, QUIC_TIMER_PATH);
}

static void quic_timer_pmtu(struct timer_list *t)
{
	struct quic_sock *qs = from_timer(qs, t, timers.t[QUIC_TIMER_PMTU]);

	quic_timer_run(&qs->inet.sk, QUIC_TIMER_PMTU);
}

static enum hrtimer_restart quic_timer_pace(struct hrtimer *t)
{
	struct quic_sock *qs = container_of(t, struct quic_sock, timers.pace);
	struct sock *sk = &qs->inet.sk;

	bh_lock_sock(sk);
	if (!sock_owned_by_user(sk)) {
		if (!sock_flag(sk, SOCK_DEAD))
			quic_outq_flush(sk);
	} else if (!test_and_set_bit(QUIC_DEFERRED_PACE, &quic_timers(sk)->deferred)) {
		sock_hold(sk);	/* dropped by quic_release_cb() */
	}
	bh_unlock_sock(sk);
	sock_put(sk);
	return HRTIMER_NORESTART;
}

/**
 * quic_release_cb - run what the timers deferred while the user held the lock
 * @sk: the socket
 *
 * The proto's release_cb: release_sock() calls it.  A pacing timer that
 * fired while the socket was owned left QUIC_DEFERRED_PACE and a socket
 * reference; flush the send queue now (unless the socket is dead) and
 * drop that reference.
 * Context: process context, socket lock held (owned by the user).
 */
void quic_release_cb(struct sock *sk)
{
	struct quic_timers *tm = quic_timers(sk);

	if (!READ_ONCE(tm->deferred))	/* the common case: no atomic op */
		return;
	if (test_and_clear_bit(QUIC_DEFERRED_PACE, &tm->deferred)) {
		if (!sock_flag(sk, SOCK_DEAD))
			quic_outq_flush(sk);
		__sock_put(sk);
	}
}

/**
 * quic_timer_init - set up the connection's timers
 * @sk: the new socket
 *
 * The pacing hrtimer (softirq, pinned) and the loss, idle, ACK and path
 * timers; none is armed.
 */
void quic_timer_init(struct sock *sk)
{
	struct quic_timers *tm = quic_timers(sk);

	hrtimer_init(&tm->pace, CLOCK_MONOTONIC,
		     HRTIMER_MODE_ABS_PINNED_SOFT);
	tm->pace.function = quic_timer_pace;

	timer_setup(&tm->t[QUIC_TIMER_LOSS], quic_timer_loss, 0);
	timer_setup(&tm->t[QUIC_TIMER_IDLE], quic_timer_idle, 0);
	timer_setup(&tm->t[QUIC_TIMER_ACK], quic_timer_ack, 0);
	timer_setup(&tm->t[QUIC_TIMER_PATH], quic_timer_path, 0);
	timer_setup(&tm->t[QUIC_TIMER_PMTU], quic_timer_pmtu, 0);
}
