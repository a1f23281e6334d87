/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: RTT estimation, probe timeout, congestion control and pacing
 * (RFC 9002).
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
	u64 first_sample;	/* us, when the first sample was taken */
	u8 has_sample:1;
};

void quic_rtt_init(struct quic_rtt *r, u32 initial_us);
void quic_rtt_update(struct quic_rtt *r, u32 latest, u32 ack_delay,
		     bool confirmed, u32 max_ack_delay);
u32 quic_rtt_pto(const struct quic_rtt *r);
u32 quic_rtt_loss_delay(const struct quic_rtt *r);

#define QUIC_LOST_HIST		32

/* Congestion control (RFC 9002 section 7, RFC 9438): bytes. */
struct quic_cong {
	u8 algo;			/* QUIC_CONG_ALG_* */
	u32 mss;			/* max datagram size */
	u64 cwnd;
	u64 ssthresh;
	u64 recovery_start;		/* us; packets sent before: no reaction */
	u64 acked;			/* NewReno: bytes towards the next mss */
	/* CUBIC */
	u64 epoch_start;		/* us, 0: a new epoch starts */
	u64 w_max;
	u64 k_ms;
	u64 w_est;
	/* spurious loss: undo the reduction, tolerate more reordering */
	u64 prior_cwnd;
	u64 prior_ssthresh;
	u32 pkt_thresh;			/* kPacketThreshold, grows */
	u8 lost_head;
	s64 lost_pn[QUIC_LOST_HIST];	/* recently declared lost, -1: none */
	u32 lost_dist[QUIC_LOST_HIST];	/* largest acked - pn at the time */
	/* pacing (RFC 9002 7.7), in ns of ktime_get_ns() */
	u64 pace_next;			/* earliest time of the next paced send */
	u32 persistent;			/* persistent congestion declared */
	/* HyStart++ (RFC 9406), in the first slow start */
	u8 hs_state;			/* QUIC_HS_* */
	u8 hs_samples;			/* RTT samples taken this round */
	u8 hs_css_rounds;		/* rounds spent in CSS */
	s64 hs_round_end;		/* the round ends when this pn is acked */
	u32 hs_last_min;		/* us, last round's min RTT, U32_MAX: none */
	u32 hs_cur_min;			/* us, this round's */
	u32 hs_css_base;		/* us, cssBaselineMinRtt */
	u32 hs_exits;			/* slow start left by HyStart++ */
};

/* HyStart++ states: slow start watched for a delay increase, Conservative
 * Slow Start, or done (congestion avoidance, or a loss ended slow start).
 */
enum {
	QUIC_HS_SS,
	QUIC_HS_CSS,
	QUIC_HS_DONE,
};

#define QUIC_HS_MIN_RTT_THRESH	4000	/* us */
#define QUIC_HS_MAX_RTT_THRESH	16000	/* us */
#define QUIC_HS_MIN_RTT_DIVISOR	8
#define QUIC_HS_N_RTT_SAMPLE	8
#define QUIC_HS_CSS_GROWTH_DIVISOR 4
#define QUIC_HS_CSS_ROUNDS	5

#define QUIC_CWND_MAX		(64ULL << 20)
#define QUIC_PKT_THRESHOLD_MAX	64
#define QUIC_PERSISTENT_THRESHOLD 3	/* kPersistentCongestionThreshold */
#define QUIC_PACE_BURST_NS	(1000 * 1000)	/* or the initial window */
#define QUIC_PACE_MIN_RATE	1200	/* bytes/s, below any sane cap */

void quic_cong_init(struct quic_cong *c, u8 algo, u32 mss);
void quic_cong_set_mss(struct quic_cong *c, u32 mss);
void quic_cong_on_ack(struct quic_cong *c, u64 sent_time, u32 bytes, u64 now,
		      const struct quic_rtt *r);
bool quic_cong_hystart(struct quic_cong *c, s64 largest_acked, s64 next_pn,
		       u32 rtt_sample);
void quic_cong_on_loss(struct quic_cong *c, u64 sent_time, u64 now);
bool quic_cong_on_ce(struct quic_cong *c, u64 sent_time, u64 now);
void quic_cong_lost_pn(struct quic_cong *c, s64 pn, s64 largest_acked);
bool quic_cong_spurious(struct quic_cong *c, s64 start, s64 end);
u64 quic_cong_persistent_duration(const struct quic_rtt *r, u32 max_ack_delay);
void quic_cong_on_persistent(struct quic_cong *c, u64 now_ns);

u64 quic_cong_pacing_rate(const struct quic_cong *c, const struct quic_rtt *r,
			  u64 max_rate);
void quic_cong_pace_sent(struct quic_cong *c, const struct quic_rtt *r,
			 u64 max_rate, u32 bytes, u64 now_ns);

/* May a paced (ack-eliciting, new or resent data) datagram leave now? */
static inline bool quic_cong_pace_ok(const struct quic_cong *c, u64 now_ns)
{
	return c->pace_next <= now_ns;
}

#endif /* __NET_QUIC_CONG_H */
