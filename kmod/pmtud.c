// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: packetization layer path MTU discovery (RFC 8899 with RFC 9000
 * section 14.3), opt-in through the plpmtud_probe_interval config.
 *
 * Once the connection is established its datagrams are BASE (1200
 * bytes) and carry the IPv4 DF bit.  Probes, a PING padded to the size
 * searched, go out one at a time: first at the upper bound (the route's
 * MTU less the IP and UDP headers, both sides' max_udp_payload_size,
 * QUIC_MAX_DGRAM_CAP), then by binary search between the largest size
 * acknowledged and the smallest that failed.  An acknowledged probe
 * raises the PLPMTU at once; QUIC_PMTUD_MAX_PROBES lost probes of one
 * size make it the failed size.  A probe's loss is no congestion signal
 * and nothing in it is sent again (RFC 9000 14.4).  When the search is
 * complete, the probe interval raises the bound again, in case the path
 * grew.
 *
 * Black hole (RFC 8899 4.3): the PLPMTU falls back to BASE, and the
 * search starts again, when QUIC_PMTUD_BLACK_HOLE packets larger than
 * BASE are lost in a row while a packet of BASE size or less sent after
 * the first of them was acknowledged, or at the second probe timeout in
 * a row of the 1-RTT space.  A lost packet larger than the route's MTU
 * lowers the PLPMTU to that MTU: an ICMP Packet Too Big / Fragmentation
 * Needed reaches us that way (the kernel keeps it in the route, checked
 * against the socket it quotes), and only within [BASE, PLPMTU].
 */

#include <net/sock.h>

#include "socket.h"
#include "pmtud.h"
#include <trace/events/quic.h>

static struct quic_pmtud *quic_pmtud(const struct sock *sk)
{
	return &quic_sk(sk)->pmtud;
}

/**
 * quic_pmtud_enabled - is PLPMTUD running on the connection?
 * @sk: the connection
 *
 * Return: true once established with plpmtud_probe_interval set; its
 * datagrams are then sent with DF.
 */
bool quic_pmtud_enabled(const struct sock *sk)
{
	return quic_pmtud(sk)->state != QUIC_PMTUD_DISABLED;
}

/* Keep the route's bound the engine passed (quic_packet_mss()). */
static void quic_pmtud_route(struct sock *sk, u32 route)
{
	struct quic_sock *qs = quic_sk(sk);
	u32 max = min_t(u64, route, qs->local_tp.max_udp_payload_size);

	quic_pmtud(sk)->route = clamp_t(u32, max, QUIC_PMTUD_BASE_SIZE, U16_MAX);
}

/* The largest datagram the path may take, as far as we know. */
static u32 quic_pmtud_bound(struct sock *sk)
{
	return quic_pmtud(sk)->route;
}

static void quic_pmtud_set(struct sock *sk, u32 size, u8 event)
{
	struct quic_pmtud *p = quic_pmtud(sk);
	struct quic_sock *qs = quic_sk(sk);

	p->plpmtu = size;
	qs->mss = size;
	quic_cong_set_mss(&qs->cong, size);
	trace_quic_pmtu_update(sk, p->plpmtu, p->probe_size, p->state, event);
}

/* Probe @size next, or the search is complete if nothing lies between
 * the PLPMTU and the smallest size that failed.
 */
static void quic_pmtud_probe_at(struct sock *sk, u32 size)
{
	struct quic_pmtud *p = quic_pmtud(sk);
	struct quic_sock *qs = quic_sk(sk);

	p->probes = 0;
	p->probe_due = 0;
	if (p->fail <= p->plpmtu + 1) {
		p->state = QUIC_PMTUD_COMPLETE;
		trace_quic_pmtu_update(sk, p->plpmtu, 0, p->state,
				       QUIC_PMTU_EV_COMPLETE);
		quic_timer_reset(sk, QUIC_TIMER_PMTU,
				 qs->config.plpmtud_probe_interval);
		return;
	}
	p->state = QUIC_PMTUD_SEARCHING;
	p->probe_size = size;
	p->probe_due = 1;
}

/* Binary search between the PLPMTU and the smallest size that failed. */
static void quic_pmtud_next(struct sock *sk)
{
	struct quic_pmtud *p = quic_pmtud(sk);

	quic_pmtud_probe_at(sk, p->plpmtu + (p->fail - p->plpmtu) / 2);
}

/* Search from the PLPMTU up to the bound again, probing the bound first:
 * on most paths it is the path MTU.
 */
static void quic_pmtud_search(struct sock *sk)
{
	struct quic_pmtud *p = quic_pmtud(sk);
	u32 bound = quic_pmtud_bound(sk);

	p->fail = bound + 1;
	quic_pmtud_probe_at(sk, bound);
}

/**
 * quic_pmtud_start - the connection is established on a path
 * @sk: the connection (locked)
 * @route: the route's bound, quic_packet_mss()
 *
 * Sets the datagram size (qs->mss): BASE and a search when PLPMTUD is on,
 * else the route's MTU as before PLPMTUD existed.  Called again when the
 * connection moves to a new path, which starts from scratch.
 */
void quic_pmtud_start(struct sock *sk, u32 route)
{
	struct quic_pmtud *p = quic_pmtud(sk);
	struct quic_sock *qs = quic_sk(sk);

	quic_timer_stop(sk, QUIC_TIMER_PMTU);
	memset(p, 0, sizeof(*p));
	if (!qs->config.plpmtud_probe_interval) {
		qs->mss = route;
		quic_cong_set_mss(&qs->cong, qs->mss);
		return;
	}
	p->state = QUIC_PMTUD_BASE;
	p->plpmtu = QUIC_PMTUD_BASE_SIZE;
	qs->mss = p->plpmtu;
	quic_pmtud_route(sk, route);
	trace_quic_pmtu_update(sk, p->plpmtu, 0, p->state, QUIC_PMTU_EV_START);
	quic_cong_set_mss(&qs->cong, qs->mss);
	quic_pmtud_search(sk);
}

/**
 * quic_pmtud_probe_due - is a probe to be sent?
 * @sk: the connection (locked, established)
 *
 * Return: true if quic_pmtud_probe_size() is to be asked.
 */
bool quic_pmtud_probe_due(const struct sock *sk)
{
	const struct quic_pmtud *p = quic_pmtud(sk);

	return p->state == QUIC_PMTUD_SEARCHING && p->probe_due &&
	       !p->probe_inflight;
}

/**
 * quic_pmtud_probe_size - the size of the probe to send now
 * @sk: the connection (locked, established)
 * @route: the route's bound, quic_packet_mss()
 *
 * Return: the probe's datagram size, or 0 if none is due.
 */
u32 quic_pmtud_probe_size(struct sock *sk, u32 route)
{
	struct quic_pmtud *p = quic_pmtud(sk);
	u32 bound;

	if (!quic_pmtud_probe_due(sk))
		return 0;
	quic_pmtud_route(sk, route);
	bound = quic_pmtud_bound(sk);
	if (p->probe_size > bound) {	/* the route's MTU went down */
		p->fail = min_t(u32, p->fail, bound + 1);
		if (p->plpmtu > bound)
			quic_pmtud_set(sk, bound, QUIC_PMTU_EV_PTB);
		quic_pmtud_probe_at(sk, bound);
		if (!p->probe_due)
			return 0;
	}
	return p->probe_size;
}

/**
 * quic_pmtud_probe_sent - the probe quic_pmtud_probe_size() asked for left
 * @sk: the connection (locked)
 */
void quic_pmtud_probe_sent(struct sock *sk)
{
	struct quic_pmtud *p = quic_pmtud(sk);

	p->probe_due = 0;
	p->probe_inflight = 1;
}

/* A black hole: back to BASE, and search again. */
static void quic_pmtud_black_hole(struct sock *sk)
{
	struct quic_pmtud *p = quic_pmtud(sk);

	p->big_lost = 0;
	p->state = QUIC_PMTUD_BASE;
	quic_pmtud_set(sk, QUIC_PMTUD_BASE_SIZE, QUIC_PMTU_EV_BLACK_HOLE);
	if (!p->probe_inflight)
		quic_pmtud_search(sk);
	/* else the search restarts when the probe in flight is done */
}

/**
 * quic_pmtud_pkt_acked - a 1-RTT packet was acknowledged
 * @sk: the connection (locked)
 * @sp: the packet
 */
void quic_pmtud_pkt_acked(struct sock *sk, const struct quic_sent_pkt *sp)
{
	struct quic_pmtud *p = quic_pmtud(sk);

	if (p->state == QUIC_PMTUD_DISABLED)
		return;
	if (sp->pmtu_probe) {
		p->probe_inflight = 0;
		if (p->state == QUIC_PMTUD_BASE) {	/* from before a black hole */
			quic_pmtud_search(sk);
			return;
		}
		if (p->state != QUIC_PMTUD_SEARCHING || sp->dgram_size <= p->plpmtu)
			return;
		p->big_lost = 0;
		quic_pmtud_set(sk, sp->dgram_size, QUIC_PMTU_EV_PROBE_ACKED);
		quic_pmtud_next(sk);
		return;
	}
	if (p->state == QUIC_PMTUD_ERROR && !p->probe_inflight) {
		/* the path works again */
		p->state = QUIC_PMTUD_BASE;
		quic_pmtud_search(sk);
		return;
	}
	if (sp->dgram_size > QUIC_PMTUD_BASE_SIZE)
		p->big_lost = 0;
	else
		p->small_acked = max(p->small_acked, sp->time);
}

/**
 * quic_pmtud_pkt_lost - recovery declared a 1-RTT packet lost
 * @sk: the connection (locked)
 * @sp: the packet
 * @route: the route's bound now, quic_packet_mss()
 */
void quic_pmtud_pkt_lost(struct sock *sk, const struct quic_sent_pkt *sp,
			 u32 route)
{
	struct quic_pmtud *p = quic_pmtud(sk);
	u32 bound;

	if (p->state == QUIC_PMTUD_DISABLED)
		return;
	quic_pmtud_route(sk, route);
	if (sp->pmtu_probe) {
		p->probe_inflight = 0;
		trace_quic_pmtu_update(sk, p->plpmtu, sp->dgram_size, p->state,
				       QUIC_PMTU_EV_PROBE_LOST);
		if (p->state == QUIC_PMTUD_BASE) {
			quic_pmtud_search(sk);
			return;
		}
		if (p->state != QUIC_PMTUD_SEARCHING ||
		    sp->dgram_size != p->probe_size)
			return;
		if (++p->probes >= QUIC_PMTUD_MAX_PROBES ||
		    sp->dgram_size > quic_pmtud_bound(sk)) {
			p->fail = min_t(u32, p->fail, sp->dgram_size);
			quic_pmtud_next(sk);
			return;
		}
		p->probe_due = 1;	/* the same size once more */
		return;
	}
	if (sp->dgram_size <= QUIC_PMTUD_BASE_SIZE)
		return;
	bound = quic_pmtud_bound(sk);
	if (sp->dgram_size > bound && p->plpmtu > bound) {
		/* too big for the route's MTU now: a PTB lowered it */
		p->fail = min_t(u32, p->fail, bound + 1);
		quic_pmtud_set(sk, bound, QUIC_PMTU_EV_PTB);
		return;
	}
	/* only what was sent under the PLPMTU in use counts */
	if (sp->dgram_size > p->plpmtu)
		return;
	if (!p->big_lost++)
		p->big_lost_since = sp->time;
	if (p->big_lost >= QUIC_PMTUD_BLACK_HOLE &&
	    p->small_acked > p->big_lost_since)
		quic_pmtud_black_hole(sk);
}

/**
 * quic_pmtud_pto - a probe timeout of the 1-RTT space fired
 * @sk: the connection (locked)
 * @pto_count: the probe timeouts in a row, this one included
 * @route: the route's bound now, quic_packet_mss()
 *
 * Two in a row with datagrams above BASE: they may no longer get through.
 * More in a row at BASE: the path is broken (ERROR) until a packet is
 * acknowledged again.
 */
void quic_pmtud_pto(struct sock *sk, u8 pto_count, u32 route)
{
	struct quic_pmtud *p = quic_pmtud(sk);

	if (p->state == QUIC_PMTUD_DISABLED || pto_count < 2)
		return;
	quic_pmtud_route(sk, route);
	if (p->plpmtu > QUIC_PMTUD_BASE_SIZE) {
		quic_pmtud_black_hole(sk);
		return;
	}
	if (pto_count > QUIC_PMTUD_MAX_PROBES && p->state != QUIC_PMTUD_ERROR) {
		/* not even BASE gets through: no probing until it does */
		p->state = QUIC_PMTUD_ERROR;
		p->probe_due = 0;
		trace_quic_pmtu_update(sk, p->plpmtu, 0, p->state,
				       QUIC_PMTU_EV_BLACK_HOLE);
	}
}

/**
 * quic_pmtud_timeout - the probe interval after a complete search passed
 * @sk: the connection (locked)
 * @route: the route's bound now, quic_packet_mss()
 *
 * Searches again above the PLPMTU if the bound allows more.
 *
 * Return: true if a probe is due (the caller flushes).
 */
bool quic_pmtud_timeout(struct sock *sk, u32 route)
{
	struct quic_pmtud *p = quic_pmtud(sk);
	struct quic_sock *qs = quic_sk(sk);

	if (p->state != QUIC_PMTUD_COMPLETE ||
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		return false;
	quic_pmtud_route(sk, route);
	if (quic_pmtud_bound(sk) > p->plpmtu) {
		quic_pmtud_search(sk);
		return quic_pmtud_probe_due(sk);
	}
	quic_timer_reset(sk, QUIC_TIMER_PMTU, qs->config.plpmtud_probe_interval);
	return false;
}
