/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: RTT estimation and probe timeout (RFC 9002).
 */
#ifndef __NET_QUIC_CONG_H
#define __NET_QUIC_CONG_H

#include <linux/types.h>

#define QUIC_GRANULARITY_US	1000
#define QUIC_PKT_THRESHOLD	3
#define QUIC_PTO_MAX_BACKOFF	8

struct quic_rtt {
	u32 latest;		/* us */
	u32 min;
	u32 smoothed;
	u32 var;
	u8 has_sample:1;
};

void quic_rtt_init(struct quic_rtt *r, u32 initial_us);
void quic_rtt_update(struct quic_rtt *r, u32 latest, u32 ack_delay,
		     bool confirmed, u32 max_ack_delay);
u32 quic_rtt_pto(const struct quic_rtt *r);
u32 quic_rtt_loss_delay(const struct quic_rtt *r);

#endif /* __NET_QUIC_CONG_H */
