// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: loss recovery (RFC 9002): ACK processing, RTT samples, loss
 * detection by packet and time threshold, persistent congestion, the
 * probe timeout and the loss detection timer.
 *
 * Recovery decides which sent packets are acknowledged or lost; what
 * that means for their frames (data freed, sent again, control frames
 * due again) is the send queue's: quic_outq_pkt_acked(),
 * quic_outq_pkt_lost() and quic_outq_probe().
 */

#include <linux/slab.h>
#include <net/sock.h>

#include "netns.h"
#include "socket.h"
#include "frame.h"
#include "connection.h"
#include "recovery.h"
#include "packet.h"
#include <trace/events/quic.h>

/* ---- acknowledgements and loss ------------------------------------- */

static void quic_recovery_trace_cwnd(struct sock *sk, u8 event)
{
	struct quic_sock *qs = quic_sk(sk);
	u32 in_flight = 0;
	u8 space;

	if (!trace_quic_cwnd_update_enabled())
		return;
	for (space = 0; space < QUIC_PN_MAX; space++)
		in_flight += quic_pnspace(sk, space)->bytes_in_flight;
	trace_quic_cwnd_update(sk, qs->cong.cwnd, qs->cong.ssthresh, in_flight,
			       event);
}

static void quic_sent_remove(struct quic_pnspace *s, struct quic_sent_pkt *sp)
{
	if (sp->in_flight)
		s->bytes_in_flight -= sp->size;
	if (sp->ack_eliciting)
		s->ack_eliciting_in_flight--;
	list_del(&sp->list);
	kfree_skb_list(sp->chunks);
	kfree(sp);
}

/* RFC 9002 6.1: packets sent before an acknowledged one are lost after
 * three later packets or 9/8 RTT.
 *
 * RFC 9002 7.6.2: ack-eliciting packets declared lost together, sent
 * after the first RTT sample, with nothing sent between them
 * acknowledged, and spanning more than the persistent congestion
 * duration establish persistent congestion.
 */
static void quic_recovery_detect_lost(struct sock *sk, u8 space, u64 now)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = quic_pnspace(sk, space);
	u64 delay = quic_rtt_loss_delay(&qs->rtt), run = 0, pc;
	struct quic_sent_pkt *sp, *tmp;
	bool persistent = false, later, by_pn;
	u64 cwnd = qs->cong.cwnd;

	pc = quic_cong_persistent_duration(&qs->rtt,
					   qs->remote_tp.max_ack_delay);
	s->loss_time = 0;
	list_for_each_entry_safe(sp, tmp, &s->sent, list) {
		if (sp->pn > s->largest_acked)
			break;
		later = sp->acked_later;
		by_pn = s->largest_acked >= sp->pn + qs->cong.pkt_thresh;
		if ((by_pn || sp->time + delay <= now) && sp->pmtu_probe) {
			/* RFC 9000 14.4: no congestion signal, not resent */
			trace_quic_packet_lost(sk, space, sp->pn, sp->size,
					       by_pn ? QUIC_LOST_PKT_THRESHOLD :
					       QUIC_LOST_TIME_THRESHOLD);
			quic_pmtud_pkt_lost(sk, sp, quic_packet_mss(sk));
			quic_sent_remove(s, sp);
			continue;
		}
		if (by_pn || sp->time + delay <= now) {
			if (space == QUIC_PN_APP && quic_pmtud_enabled(sk))
				quic_pmtud_pkt_lost(sk, sp, quic_packet_mss(sk));
			if (sp->ack_eliciting && qs->rtt.has_sample &&
			    sp->time >= qs->rtt.first_sample) {
				if (!run)
					run = sp->time;
				else if (sp->time - run > pc)
					persistent = true;
			}
			if (sp->in_flight)
				quic_cong_on_loss(&qs->cong, sp->time, now);
			if (qs->cong.cwnd != cwnd) {
				cwnd = qs->cong.cwnd;
				quic_recovery_trace_cwnd(sk, QUIC_CONG_EV_LOSS);
			}
			if (space == QUIC_PN_APP)
				quic_cong_lost_pn(&qs->cong, sp->pn,
						  s->largest_acked);
			if (sp->ecn)
				quic_ecn_lost(sk);
			quic_outq_pkt_lost(sk, space, sp, by_pn ?
				       QUIC_LOST_PKT_THRESHOLD :
				       QUIC_LOST_TIME_THRESHOLD);
			quic_sent_remove(s, sp);
		} else if (!s->loss_time || sp->time + delay < s->loss_time) {
			s->loss_time = sp->time + delay;
		}
		if (later)
			run = 0;
	}
	if (persistent) {
		quic_cong_on_persistent(&qs->cong, ktime_get_ns());
		quic_recovery_trace_cwnd(sk, QUIC_CONG_EV_PERSISTENT);
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_PERSISTENT);
	}
}

/* RFC 9002 7.1, B.7: more CE marks are a congestion event, as a loss of
 * the newest packet acknowledged, at most once a round trip.
 */
static void quic_recovery_ce(struct sock *sk, u64 sent_time, u64 now)
{
	struct quic_sock *qs = quic_sk(sk);

	if (quic_cong_on_ce(&qs->cong, sent_time, now))
		quic_recovery_trace_cwnd(sk, QUIC_CONG_EV_ECN);
}

/* HyStart++ watches the RTT of each round of 1-RTT packets. */
static void quic_recovery_hystart(struct sock *sk, s64 largest, u32 sample)
{
	struct quic_sock *qs = quic_sk(sk);
	s64 next_pn = quic_pnspace(sk, QUIC_PN_APP)->next_pn;

	if (!quic_cong_hystart(&qs->cong, largest, next_pn, sample))
		return;
	switch (qs->cong.hs_state) {
	case QUIC_HS_CSS:
		quic_recovery_trace_cwnd(sk, QUIC_CONG_EV_CSS);
		QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONG_HYSTART_CSS);
		break;
	case QUIC_HS_SS:
		quic_recovery_trace_cwnd(sk, QUIC_CONG_EV_SLOW_START);
		break;
	default:
		quic_recovery_trace_cwnd(sk, QUIC_CONG_EV_HYSTART_EXIT);
		break;
	}
}

/**
 * quic_recovery_ack_rcv - an ACK frame arrived
 * @sk: the connection (locked)
 * @space: its packet number space
 * @ranges: acknowledged ranges, descending
 * @nr: their number (>= 1)
 * @delay: the encoded ACK Delay
 * @ecn: the ECN counts of an ACK_ECN frame, or NULL
 *
 * Return: 0, or -EPROTO after closing the connection because the peer
 * acknowledged a packet we never sent.
 */
int quic_recovery_ack_rcv(struct sock *sk, u8 space,
			  const struct quic_ack_range *ranges, u32 nr, u64 delay,
			  const u64 *ecn)
{
	struct quic_ecn_ack ea = { .counts = ecn };
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = quic_pnspace(sk, space);
	struct quic_sent_pkt *sp, *tmp;
	s64 largest = ranges[0].end;
	bool eliciting = false, hs_done = false;
	u64 now = quic_now(), largest_time = 0;
	u32 i, ack_delay = 0, sample = 0;
	u64 cwnd;

	if (largest >= s->next_pn) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
				QUIC_FRAME_ACK);
		return -EPROTO;
	}
	if (space == QUIC_PN_APP)
		for (i = 0; i < nr; i++)
			if (quic_cong_spurious(&qs->cong, ranges[i].start,
					       ranges[i].end))
				quic_recovery_trace_cwnd(sk, QUIC_CONG_EV_SPURIOUS);
	cwnd = qs->cong.cwnd;
	list_for_each_entry_safe(sp, tmp, &s->sent, list) {
		if (sp->pn > largest)
			break;
		for (i = 0; i < nr; i++)
			if (sp->pn >= ranges[i].start && sp->pn <= ranges[i].end)
				break;
		if (i == nr)
			continue;
		if (sp->pn == largest)
			largest_time = sp->time;
		ea.newest_sent = max(ea.newest_sent, sp->time);
		if (sp->ecn)
			ea.newly_marked++;
		if (sp->ack_eliciting)
			eliciting = true;
		if (space == QUIC_PN_APP)
			quic_pmtud_pkt_acked(sk, sp);
		if (quic_outq_pkt_acked(sk, sp))
			hs_done = true;
		if (sp->in_flight)
			quic_cong_on_ack(&qs->cong, sp->time, sp->size, now,
					 &qs->rtt);
		/* the one before it has an acknowledged packet after it */
		if (sp->ack_eliciting && !list_is_first(&sp->list, &s->sent))
			list_prev_entry(sp, list)->acked_later = 1;
		quic_sent_remove(s, sp);
	}
	/* the client has the handshake: drop our Handshake keys */
	if (hs_done && quic_is_serv(sk))
		quic_conn_confirmed(sk);
	if (largest > s->largest_acked) {
		s->largest_acked = largest;
		if (quic_ecn_ack(sk, space, &ea))
			quic_recovery_ce(sk, ea.newest_sent ?: now, now);
		if (largest_time && eliciting) {
			if (!qs->rtt.has_sample)
				qs->rtt.first_sample = now;
			if (space == QUIC_PN_APP)
				ack_delay = min_t(u64, delay <<
						  qs->remote_tp.ack_delay_exponent,
						  U32_MAX);
			quic_rtt_update(&qs->rtt, now - largest_time, ack_delay,
					qs->confirmed,
					qs->remote_tp.max_ack_delay);
			trace_quic_rtt_update(sk, qs->rtt.latest, qs->rtt.min,
					      qs->rtt.smoothed, qs->rtt.var);
			sample = qs->rtt.latest;
		}
	}
	if (space == QUIC_PN_APP)
		quic_recovery_hystart(sk, largest, sample);
	if (qs->cong.cwnd != cwnd)
		quic_recovery_trace_cwnd(sk, QUIC_CONG_EV_ACK);
	if (eliciting)
		qs->pto_count = 0;
	quic_recovery_detect_lost(sk, space, now);
	quic_recovery_set_timer(sk);
	return 0;
}

/* The PTO deadline of @space, 0 if none (RFC 9002 A.8). */
static u64 quic_recovery_pto_time(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = quic_pnspace(sk, space);
	u64 pto = quic_rtt_pto(&qs->rtt);

	if (s->discarded || !s->ack_eliciting_in_flight)
		return 0;
	if (space == QUIC_PN_APP) {
		if (sk->sk_state != QUIC_SS_ESTABLISHED)
			return 0;
		pto += qs->remote_tp.max_ack_delay;
	}
	return s->last_ack_eliciting_time +
	       (pto << min_t(u8, qs->pto_count, QUIC_PTO_MAX_BACKOFF));
}

/* When a sender held back by flow control, with nothing ack-eliciting in
 * flight, sends its BLOCKED frames again (quic_outq_blocked_again()): a
 * probe timeout after its last ack-eliciting packet, doubling each time
 * the limit stays, within half the idle timeout.  0 if it is not held.
 */
static u64 quic_recovery_blocked_time(struct sock *sk)
{
	struct quic_pnspace *s = quic_pnspace(sk, QUIC_PN_APP);
	struct quic_sock *qs = quic_sk(sk);
	u64 wait;
	int tries;

	if (sk->sk_state != QUIC_SS_ESTABLISHED || s->ack_eliciting_in_flight)
		return 0;
	tries = quic_outq_flow_blocked(sk);
	if (tries < 0)
		return 0;
	wait = (u64)(quic_rtt_pto(&qs->rtt) + qs->remote_tp.max_ack_delay) << tries;
	if (qs->idle_timeout)
		wait = min(wait, qs->idle_timeout / 2);
	return s->last_ack_eliciting_time + wait;
}

/**
 * quic_recovery_retry - a client's packets before a Retry are gone
 * @sk: the client (locked), its new Initial keys installed
 *
 * RFC 9002 6.3: the server discarded the Initial and 0-RTT packets sent
 * so far; their data is sent again in new packets, without counting them
 * lost to congestion control, and the probe backoff starts over.
 */
void quic_recovery_retry(struct sock *sk)
{
	static const u8 spaces[] = { QUIC_PN_INITIAL, QUIC_PN_APP };
	struct quic_sent_pkt *sp, *tmp;
	struct quic_pnspace *s;
	u32 i;

	for (i = 0; i < ARRAY_SIZE(spaces); i++) {
		s = quic_pnspace(sk, spaces[i]);
		list_for_each_entry_safe(sp, tmp, &s->sent, list) {
			quic_outq_pkt_lost(sk, spaces[i], sp,
					   QUIC_LOST_PKT_THRESHOLD);
			quic_sent_remove(s, sp);
		}
		s->loss_time = 0;
	}
	quic_sk(sk)->pto_count = 0;
	quic_recovery_set_timer(sk);
}

/**
 * quic_recovery_set_timer - arm the loss detection timer (RFC 9002 A.8)
 * @sk: the connection (locked)
 */
void quic_recovery_set_timer(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u64 t = 0, x, now;
	u8 space;

	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED) {
		quic_timer_stop(sk, QUIC_TIMER_LOSS);
		return;
	}
	for (space = 0; space < QUIC_PN_MAX; space++) {
		x = quic_pnspace(sk, space)->loss_time;
		if (x && (!t || x < t))
			t = x;
	}
	if (!t) {
		/* RFC 9002 6.2.2.1: no PTO while blocked by amplification */
		if (quic_outq_amp_limited(sk)) {
			quic_timer_stop(sk, QUIC_TIMER_LOSS);
			return;
		}
		for (space = 0; space < QUIC_PN_MAX; space++) {
			x = quic_recovery_pto_time(sk, space);
			if (x && (!t || x < t))
				t = x;
		}
		if (!t)
			t = quic_recovery_blocked_time(sk);
	}
	if (!t && !quic_is_serv(sk) && !qs->confirmed &&
	    quic_pnspace(sk, QUIC_PN_INITIAL)->next_pn &&
	    sk->sk_state == QUIC_SS_ESTABLISHING) {
		/* RFC 9002 6.2.2.1: client anti-deadlock probe */
		t = quic_now() + (quic_rtt_pto(&qs->rtt) <<
				  min_t(u8, qs->pto_count, QUIC_PTO_MAX_BACKOFF));
	}
	if (!t) {
		quic_timer_stop(sk, QUIC_TIMER_LOSS);
		return;
	}
	now = quic_now();
	quic_timer_reset(sk, QUIC_TIMER_LOSS, t > now ? t - now : 0);
}

/**
 * quic_recovery_timeout - the loss detection timer fired
 * @sk: the connection (locked)
 *
 * Declares packets lost by time threshold, or sends a probe (RFC 9002
 * 6.2).
 */
void quic_recovery_timeout(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u64 now = quic_now(), t = 0, x;
	u8 space, pick = QUIC_PN_MAX;

	for (space = 0; space < QUIC_PN_MAX; space++) {
		x = quic_pnspace(sk, space)->loss_time;
		if (x && (!t || x < t)) {
			t = x;
			pick = space;
		}
	}
	if (pick < QUIC_PN_MAX) {
		quic_recovery_detect_lost(sk, pick, now);
		quic_outq_flush(sk);
		return;
	}

	t = 0;
	for (space = 0; space < QUIC_PN_MAX; space++) {
		x = quic_recovery_pto_time(sk, space);
		if (x && (!t || x < t)) {
			t = x;
			pick = space;
		}
	}
	if (pick == QUIC_PN_MAX) {
		x = quic_recovery_blocked_time(sk);
		if (x) {
			if (x <= now)
				quic_outq_blocked_again(sk);
			goto out;
		}
		if (quic_is_serv(sk))
			goto out;
		/* anti-deadlock: a Handshake packet if we can, else Initial */
		pick = quic_keys(sk, QUIC_CRYPTO_HANDSHAKE)->tx_ready ?
		       QUIC_PN_HANDSHAKE : QUIC_PN_INITIAL;
	}
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_PKT_PTO);
	if (qs->pto_count < QUIC_PTO_MAX_BACKOFF)
		qs->pto_count++;
	if (pick == QUIC_PN_APP && quic_pmtud_enabled(sk))
		quic_pmtud_pto(sk, qs->pto_count, quic_packet_mss(sk));
	quic_outq_probe(sk, pick);
out:
	quic_outq_flush(sk);
}
