// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: RTT estimation and probe timeout (RFC 9002 sections 5, 6),
 * congestion control (section 7, RFC 9438) and pacing (section 7.7).
 *
 * Pacing keeps a virtual clock, @pace_next: a paced datagram may leave
 * once the clock is not ahead of now, and each one moves it on by its
 * size over the pacing rate.  The clock may lag now by at most the
 * burst allowance (the initial window, or 1 ms worth at high rates), so
 * an idle sender starts with a short burst and a busy one is spread out.
 */

#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/string.h>
#include <linux/time64.h>
#include <linux/quic.h>

#include "cong.h"

/**
 * quic_rtt_init - reset an RTT estimate to its initial values
 * @r: the estimate
 * @initial_us: initial smoothed RTT in microseconds (rttvar is half of it)
 *
 * No sample is kept: the next quic_rtt_update() takes the first one.
 */
void quic_rtt_init(struct quic_rtt *r, u32 initial_us)
{
	r->latest = 0;
	r->min = 0;
	r->first_sample = 0;
	r->smoothed = initial_us;
	r->var = initial_us / 2;
	r->has_sample = 0;
}

/**
 * quic_rtt_update - take an RTT sample (RFC 9002 section 5.3)
 * @r: the estimate
 * @latest: the sample, in microseconds
 * @ack_delay: the peer's ACK Delay, already decoded to microseconds
 * @confirmed: the handshake is confirmed: @ack_delay is capped to
 *	@max_ack_delay
 * @max_ack_delay: the peer's max_ack_delay, in microseconds
 *
 * The first sample sets min_rtt and smoothed_rtt to it and rttvar to half
 * of it; later ones update min_rtt and have @ack_delay subtracted unless
 * that would go below min_rtt.
 */
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

/**
 * quic_rtt_pto - the PTO period without max_ack_delay and backoff
 * @r: the estimate
 *
 * Return: smoothed_rtt + max(4 * rttvar, kGranularity), in microseconds.
 */
u32 quic_rtt_pto(const struct quic_rtt *r)
{
	return r->smoothed + max_t(u32, 4 * r->var, QUIC_GRANULARITY_US);
}

/**
 * quic_rtt_loss_delay - the time threshold of loss detection
 * @r: the estimate
 *
 * RFC 9002 section 6.1.2: 9/8 * max(smoothed_rtt, latest_rtt), at least
 * kGranularity (1 ms).
 *
 * Return: the delay in microseconds.
 */
u32 quic_rtt_loss_delay(const struct quic_rtt *r)
{
	u32 d = max(r->smoothed, r->latest);

	return max_t(u32, d + d / 8, QUIC_GRANULARITY_US);
}

/* ---- congestion control ----------------------------------------------- */

/* RFC 9002 7.2: the initial window, 10 datagrams within 14720 bytes. */
static u64 quic_cong_initial_window(const struct quic_cong *c)
{
	return min_t(u64, 10 * c->mss, max_t(u64, 14720, 2 * c->mss));
}

/**
 * quic_cong_init - reset a congestion controller
 * @c: the controller
 * @algo: QUIC_CONG_ALG_*
 * @mss: the maximum datagram size, in bytes
 *
 * Starts in slow start with the initial window of RFC 9002 section 7.2,
 * an unlimited ssthresh, kPacketThreshold, an empty lost history and
 * HyStart++ watching the first slow start.
 */
void quic_cong_init(struct quic_cong *c, u8 algo, u32 mss)
{
	memset(c, 0, sizeof(*c));
	c->algo = algo;
	c->mss = mss;
	c->cwnd = quic_cong_initial_window(c);
	c->ssthresh = U64_MAX;
	c->pkt_thresh = QUIC_PKT_THRESHOLD;
	memset(c->lost_pn, 0xff, sizeof(c->lost_pn));
	c->hs_state = QUIC_HS_SS;
	c->hs_round_end = -1;
	c->hs_last_min = U32_MAX;
	c->hs_cur_min = U32_MAX;
	c->hs_css_base = U32_MAX;
}

/**
 * quic_cong_set_mss - the maximum datagram size changed (PLPMTUD)
 * @c: the controller
 * @mss: the new size, in bytes
 *
 * The window is kept (RFC 9002 7.2 sets only the initial and minimum
 * windows from the size); it grows by the new size from now on.
 */
void quic_cong_set_mss(struct quic_cong *c, u32 mss)
{
	c->mss = mss;
	c->cwnd = max_t(u64, c->cwnd, 2 * mss);
}

/**
 * quic_cong_hystart - HyStart++ on an ACK of 1-RTT packets (RFC 9406)
 * @c: the controller
 * @largest_acked: the largest packet number the ACK acknowledges
 * @next_pn: the packet number the next 1-RTT packet gets
 * @rtt_sample: the RTT sample the ACK gave (us), 0: none
 *
 * A round ends when a packet sent after its start is acknowledged.  Slow
 * start moves to Conservative Slow Start (CSS) once the smallest of at
 * least N_RTT_SAMPLE samples of a round exceeds the last round's by
 * clamp(min / 8, 4 ms, 16 ms): a queue is building.  CSS grows the
 * window at a quarter of the slow start rate and goes back to slow start
 * if the RTT falls below the one that triggered it, or ends slow start
 * (ssthresh = cwnd) after CSS_ROUNDS rounds.  The sender paces, so slow
 * start has no burst limit L.  A loss ends it all (quic_cong_on_loss()).
 *
 * Return: true if @c->hs_state changed.
 */
bool quic_cong_hystart(struct quic_cong *c, s64 largest_acked, s64 next_pn,
		       u32 rtt_sample)
{
	u8 old = c->hs_state;
	u32 thresh;

	if (c->hs_state == QUIC_HS_DONE)
		return false;
	if (largest_acked >= c->hs_round_end) {
		if (c->hs_state == QUIC_HS_CSS &&
		    ++c->hs_css_rounds >= QUIC_HS_CSS_ROUNDS) {
			c->ssthresh = c->cwnd;
			c->acked = 0;
			c->hs_state = QUIC_HS_DONE;
			c->hs_exits++;
			return true;
		}
		c->hs_last_min = c->hs_cur_min;
		c->hs_cur_min = U32_MAX;
		c->hs_samples = 0;
		c->hs_round_end = next_pn;
	}
	if (!rtt_sample)
		return false;
	c->hs_cur_min = min(c->hs_cur_min, rtt_sample);
	if (c->hs_samples < U8_MAX)
		c->hs_samples++;
	if (c->hs_samples < QUIC_HS_N_RTT_SAMPLE)
		return false;
	if (c->hs_state == QUIC_HS_SS) {
		if (c->hs_last_min == U32_MAX)
			return false;
		thresh = clamp_t(u32, c->hs_last_min / QUIC_HS_MIN_RTT_DIVISOR,
				 QUIC_HS_MIN_RTT_THRESH, QUIC_HS_MAX_RTT_THRESH);
		if (c->hs_cur_min >= c->hs_last_min + thresh) {
			c->hs_css_base = c->hs_cur_min;
			c->hs_css_rounds = 0;
			c->acked = 0;
			c->hs_state = QUIC_HS_CSS;
		}
	} else if (c->hs_cur_min < c->hs_css_base) {
		/* the increase was spurious: back to slow start */
		c->hs_css_base = U32_MAX;
		c->hs_state = QUIC_HS_SS;
	}
	return c->hs_state != old;
}

static u64 quic_cbrt(u64 x)
{
	u64 lo = 0, hi = 2097152, mid;	/* 2^21 cubed covers u64 */

	while (lo < hi) {
		mid = (lo + hi + 1) / 2;
		if (mid * mid * mid <= x)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* RFC 9438 4.2-4.3: W_cubic(t) = C (t - K)^3 + W_max with C = 0.4 and
 * beta = 0.7, in segments; and the Reno-friendly estimate W_est.
 */
static void quic_cubic_on_ack(struct quic_cong *c, u32 bytes, u64 now,
			      const struct quic_rtt *r)
{
	u64 t, d, target, wmax_seg, inc, cube;
	bool neg;

	if (!c->epoch_start) {
		c->epoch_start = now;
		if (c->w_max < c->cwnd)
			c->w_max = c->cwnd;
		wmax_seg = div_u64(c->w_max - c->cwnd, c->mss);
		/* K = cbrt((W_max - cwnd) / C) seconds, here in ms */
		c->k_ms = quic_cbrt(div_u64(wmax_seg * 1000000000ULL * 10, 4));
		c->w_est = c->cwnd;
	}
	t = div_u64(now - c->epoch_start + r->smoothed, 1000);
	neg = t < c->k_ms;
	d = neg ? c->k_ms - t : t - c->k_ms;
	d = min_t(u64, d, 50000);
	cube = div64_u64(4 * d * d * d * c->mss, 10000000000ULL);
	if (neg)
		target = c->w_max > cube ? c->w_max - cube : 0;
	else
		target = c->w_max + cube;
	/* alpha_cubic = 3 (1 - beta) / (1 + beta), about 9/17 */
	c->w_est += div64_u64((u64)c->mss * 9 * bytes, 17ULL * c->cwnd);
	if (c->w_est > target)
		target = c->w_est;
	if (target > c->cwnd) {
		inc = div64_u64((target - c->cwnd) * bytes, c->cwnd);
		c->cwnd += min_t(u64, inc, c->cwnd / 2);
	}
}

/**
 * quic_cong_on_ack - bytes of a packet sent at @sent_time were acknowledged
 * @c: the controller
 * @sent_time: when that packet was sent (us)
 * @bytes: its size
 * @now: the time (us)
 * @r: the RTT estimate
 */
void quic_cong_on_ack(struct quic_cong *c, u64 sent_time, u32 bytes, u64 now,
		      const struct quic_rtt *r)
{
	if (sent_time <= c->recovery_start)
		return;		/* RFC 9002 7.3.2: still recovering */
	if (c->cwnd < c->ssthresh && c->hs_state == QUIC_HS_CSS) {
		/* RFC 9406 4.3: CSS grows by a quarter of slow start */
		c->acked += bytes;
		c->cwnd += div_u64(c->acked, QUIC_HS_CSS_GROWTH_DIVISOR);
		c->acked %= QUIC_HS_CSS_GROWTH_DIVISOR;
	} else if (c->cwnd < c->ssthresh) {
		c->cwnd += bytes;	/* slow start */
	} else if (c->algo == QUIC_CONG_ALG_CUBIC) {
		quic_cubic_on_ack(c, bytes, now, r);
	} else {
		c->acked += bytes;
		if (c->acked >= c->cwnd) {
			c->acked -= c->cwnd;
			c->cwnd += c->mss;
		}
	}
	c->cwnd = min_t(u64, c->cwnd, QUIC_CWND_MAX);
}

/**
 * quic_cong_on_loss - a packet sent at @sent_time was declared lost
 * @c: the controller
 * @sent_time: when it was sent (us)
 * @now: the time (us); a new recovery period starts
 */
void quic_cong_on_loss(struct quic_cong *c, u64 sent_time, u64 now)
{
	if (sent_time <= c->recovery_start)
		return;		/* one reduction per round trip */
	c->recovery_start = now;
	c->acked = 0;
	c->hs_state = QUIC_HS_DONE;
	c->prior_cwnd = c->cwnd;
	c->prior_ssthresh = c->ssthresh;
	if (c->algo == QUIC_CONG_ALG_CUBIC) {
		c->w_max = c->cwnd;
		c->cwnd = c->cwnd * 7 / 10;
		c->epoch_start = 0;
	} else {
		c->cwnd /= 2;
	}
	c->cwnd = max_t(u64, c->cwnd, 2 * c->mss);
	c->ssthresh = c->cwnd;
}

/**
 * quic_cong_on_ce - the peer reported more ECN-CE marks
 * @c: the controller
 * @sent_time: when the newest packet the ACK acknowledged was sent (us)
 * @now: the time (us)
 *
 * The same reduction as a loss (RFC 9002 7.1), once per recovery period;
 * a mark is no reordering, so it is never undone as a spurious loss is.
 *
 * Return: true if the window was reduced.
 */
bool quic_cong_on_ce(struct quic_cong *c, u64 sent_time, u64 now)
{
	if (sent_time <= c->recovery_start)
		return false;
	quic_cong_on_loss(c, sent_time, now);
	c->prior_cwnd = 0;
	return true;
}

/**
 * quic_cong_lost_pn - remember a 1-RTT packet declared lost
 * @c: the controller
 * @pn: its packet number
 * @largest_acked: the largest acknowledged packet number at the time
 *
 * Kept in a ring of QUIC_LOST_HIST entries with its reordering distance,
 * to notice if it is acknowledged after all (quic_cong_spurious()).
 */
void quic_cong_lost_pn(struct quic_cong *c, s64 pn, s64 largest_acked)
{
	c->lost_pn[c->lost_head] = pn;
	c->lost_dist[c->lost_head] = largest_acked - pn;
	c->lost_head = (c->lost_head + 1) % QUIC_LOST_HIST;
}

/**
 * quic_cong_spurious - an ACK range [@start, @end] arrived
 * @c: the controller
 * @start: smallest packet number acknowledged
 * @end: largest
 *
 * A packet declared lost was only reordered: the window reduction is
 * undone and the packet threshold grows past the reordering seen (as
 * RFC 9002 6.1.1 allows).
 *
 * Return: true if that happened.
 */
bool quic_cong_spurious(struct quic_cong *c, s64 start, s64 end)
{
	bool spurious = false;
	int i;

	for (i = 0; i < QUIC_LOST_HIST; i++) {
		if (c->lost_pn[i] < start || c->lost_pn[i] > end)
			continue;
		c->pkt_thresh = clamp_t(u32, c->lost_dist[i] + 2, c->pkt_thresh,
					QUIC_PKT_THRESHOLD_MAX);
		c->lost_pn[i] = -1;
		spurious = true;
	}
	if (spurious && c->prior_cwnd > c->cwnd) {
		c->cwnd = c->prior_cwnd;
		c->ssthresh = c->prior_ssthresh;
		c->prior_cwnd = 0;
	}
	return spurious;
}

/* ---- persistent congestion (RFC 9002 section 7.6) ---------------------- */

/**
 * quic_cong_persistent_duration - the persistent congestion duration
 * @r: the RTT estimate
 * @max_ack_delay: the peer's max_ack_delay (us)
 *
 * Return: (smoothed_rtt + max(4 rttvar, kGranularity) + max_ack_delay) *
 * kPersistentCongestionThreshold, in us.
 */
u64 quic_cong_persistent_duration(const struct quic_rtt *r, u32 max_ack_delay)
{
	return ((u64)quic_rtt_pto(r) + max_ack_delay) * QUIC_PERSISTENT_THRESHOLD;
}

/**
 * quic_cong_on_persistent - persistent congestion was established
 * @c: the controller; the loss reaction (ssthresh, CUBIC's W_max) has
 *     already been applied for the same losses
 * @now_ns: the time (ktime_get_ns())
 *
 * The window collapses to the minimum window of two datagrams, CUBIC
 * starts a new epoch from there, and the pacing clock restarts at now.
 */
void quic_cong_on_persistent(struct quic_cong *c, u64 now_ns)
{
	c->cwnd = 2 * c->mss;
	c->acked = 0;
	c->epoch_start = 0;
	c->prior_cwnd = 0;	/* no undo: these losses were real */
	c->pace_next = now_ns;
	c->persistent++;
}

/* ---- pacing (RFC 9002 section 7.7) -------------------------------------- */

/**
 * quic_cong_pacing_rate - the rate paced datagrams leave at
 * @c: the controller
 * @r: the RTT estimate
 * @max_rate: the socket's cap (sk_max_pacing_rate), bytes/s
 *
 * Twice the window per smoothed RTT in slow start, 1.25 times after it
 * (RFC 9002 7.7 suggests N = 1.25; slow start needs room to double).
 *
 * Return: bytes/s, at least QUIC_PACE_MIN_RATE.
 */
u64 quic_cong_pacing_rate(const struct quic_cong *c, const struct quic_rtt *r,
			  u64 max_rate)
{
	u64 srtt = max_t(u32, r->smoothed, 1), win;

	win = c->cwnd < c->ssthresh ? 2 * c->cwnd : c->cwnd + c->cwnd / 4;
	win = div64_u64(win * USEC_PER_SEC, srtt);
	return max_t(u64, min(win, max_rate), QUIC_PACE_MIN_RATE);
}

/**
 * quic_cong_pace_sent - a paced datagram of @bytes left at @now_ns
 * @c: the controller
 * @r: the RTT estimate
 * @max_rate: the socket's cap, bytes/s
 * @bytes: its in-flight bytes
 * @now_ns: the time (ktime_get_ns())
 */
void quic_cong_pace_sent(struct quic_cong *c, const struct quic_rtt *r,
			 u64 max_rate, u32 bytes, u64 now_ns)
{
	u64 rate = quic_cong_pacing_rate(c, r, max_rate), burst, t;

	burst = div64_u64(quic_cong_initial_window(c) * NSEC_PER_SEC, rate);
	burst = max_t(u64, burst, QUIC_PACE_BURST_NS);
	t = now_ns > burst ? now_ns - burst : 0;
	t = max(t, c->pace_next);
	c->pace_next = t + div64_u64((u64)bytes * NSEC_PER_SEC, rate);
}
