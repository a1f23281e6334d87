/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: per-connection timers: which there are, and their handlers
 * (arming them: the inline helpers in socket.h).
 */
#ifndef __NET_QUIC_TIMER_H
#define __NET_QUIC_TIMER_H

#include <linux/hrtimer_types.h>
#include <linux/timer_types.h>

enum quic_timer_id {
	QUIC_TIMER_LOSS,	/* loss detection / probe timeout */
	QUIC_TIMER_IDLE,	/* idle timeout */
	QUIC_TIMER_ACK,		/* delayed ACK */
	QUIC_TIMER_PATH,	/* path validation (PATH_CHALLENGE resend) */
	QUIC_TIMER_PMTU,	/* PLPMTUD: search again */
	QUIC_TIMER_MAX,
};

/* The connection's timers (handlers: timer.c). */
struct quic_timers {
	struct timer_list t[QUIC_TIMER_MAX];
	struct hrtimer pace;		/* the next paced datagram is due */
	unsigned long deferred;		/* QUIC_DEFERRED_* for release_cb */
};

/* work a timer handed to release_sock() because the user owned the socket */
enum quic_deferred {
	QUIC_DEFERRED_PACE,	/* the pacing timer fired: send */
};

struct sock;

void quic_timer_init(struct sock *sk);
void quic_release_cb(struct sock *sk);

#endif /* __NET_QUIC_TIMER_H */
