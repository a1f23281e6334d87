/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: per-connection timers.
 */
#ifndef __NET_QUIC_TIMER_H
#define __NET_QUIC_TIMER_H

#include <linux/timer.h>

enum quic_timer_id {
	QUIC_TIMER_LOSS,	/* loss detection / probe timeout */
	QUIC_TIMER_IDLE,	/* idle timeout */
	QUIC_TIMER_ACK,		/* delayed ACK */
	QUIC_TIMER_PATH,	/* path validation (PATH_CHALLENGE resend) */
	QUIC_TIMER_MAX,
};

struct sock;

void quic_timer_init(struct sock *sk);
void quic_timer_reset(struct sock *sk, u8 id, u64 timeout_us);
void quic_timer_stop(struct sock *sk, u8 id);
void quic_timer_stop_all(struct sock *sk);

#endif /* __NET_QUIC_TIMER_H */
