/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: loss recovery (RFC 9002).
 */
#ifndef __NET_QUIC_RECOVERY_H
#define __NET_QUIC_RECOVERY_H

#include <linux/types.h>

struct sock;
struct quic_ack_range;

int quic_recovery_ack_rcv(struct sock *sk, u8 space,
			  const struct quic_ack_range *ranges, u32 nr,
			  u64 delay, const u64 *ecn);
void quic_recovery_set_timer(struct sock *sk);
void quic_recovery_retry(struct sock *sk);
void quic_recovery_timeout(struct sock *sk);

#endif /* __NET_QUIC_RECOVERY_H */
