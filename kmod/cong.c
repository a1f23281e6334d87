// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: RTT estimation and probe timeout (RFC 9002 sections 5, 6).
 */

#include <linux/minmax.h>

#include "cong.h"

void quic_rtt_init(struct quic_rtt *r, u32 initial_us)
{
	r->latest = 0;
	r->min = 0;
	r->smoothed = initial_us;
	r->var = initial_us / 2;
	r->has_sample = 0;
}

/* RFC 9002 section 5.3; @ack_delay is already decoded to microseconds. */
void quic_rtt_update(struct quic_rtt *r, u32 latest, u32 ack_delay,
		     bool confirmed, u32 max_ack_delay)
{
	u32 adjusted, diff;

	r->latest = latest;
	if (!r->has_sample) {
		r->has_sample = 1;
		r->min = latest;
		r->smoothed = latest;
		r->var = latest / 2;
		return;
	}
	r->min = min(r->min, latest);
	if (confirmed)
		ack_delay = min(ack_delay, max_ack_delay);
	adjusted = latest;
	if (latest >= r->min + ack_delay)
		adjusted = latest - ack_delay;
	diff = r->smoothed > adjusted ? r->smoothed - adjusted :
					adjusted - r->smoothed;
	r->var = (3 * r->var + diff) / 4;
	r->smoothed = (7 * r->smoothed + adjusted) / 8;
}

/* The PTO period without max_ack_delay and backoff. */
u32 quic_rtt_pto(const struct quic_rtt *r)
{
	return r->smoothed + max_t(u32, 4 * r->var, QUIC_GRANULARITY_US);
}

/* RFC 9002 section 6.1.2: 9/8 * max(smoothed, latest), at least 1 ms. */
u32 quic_rtt_loss_delay(const struct quic_rtt *r)
{
	u32 d = max(r->smoothed, r->latest);

	return max_t(u32, d + d / 8, QUIC_GRANULARITY_US);
}
