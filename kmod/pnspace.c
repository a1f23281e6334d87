// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: packet number spaces (RFC 9000 section 12.3) and the ranges of
 * received packet numbers that ACK frames report.
 *
 * At most QUIC_ACK_RANGES_MAX ranges are kept.  When one more is needed,
 * the oldest is forgotten and the receive floor rises above it: every
 * packet number below the floor counts as already received, so that no
 * packet is ever processed twice (RFC 9000 sections 12.3 and 21.10) and
 * the forgotten ranges need not be acknowledged again (section 13.2.3).
 */

#include <linux/slab.h>
#include <linux/string.h>

#include "pnspace.h"

/**
 * quic_pnspace_init - set up an empty packet number space
 * @s: the space
 *
 * Nothing received or acknowledged yet (-1), no packet sent.
 */
void quic_pnspace_init(struct quic_pnspace *s)
{
	memset(s, 0, sizeof(*s));
	s->largest_recv = -1;
	s->largest_acked = -1;
	INIT_LIST_HEAD(&s->sent);
}

/**
 * quic_pnspace_free - drop all sent-packet records of a space
 * @s: the space
 *
 * Frees each record and the stream data it holds, and clears the
 * in-flight accounting and the loss timer.  The receive side is kept.
 */
void quic_pnspace_free(struct quic_pnspace *s)
{
	struct quic_sent_pkt *p, *tmp;

	list_for_each_entry_safe(p, tmp, &s->sent, list) {
		list_del(&p->list);
		kfree_skb_list(p->chunks);
		kfree(p);
	}
	s->bytes_in_flight = 0;
	s->ack_eliciting_in_flight = 0;
	s->last_ack_eliciting_time = 0;
	s->loss_time = 0;
}

/**
 * quic_pnspace_is_dup - was @pn received already, or is it too old to tell?
 * @s: the space
 * @pn: the packet number
 *
 * Return: true if @pn is in a received range or below the floor of
 * forgotten ranges.
 */
bool quic_pnspace_is_dup(const struct quic_pnspace *s, s64 pn)
{
	int i;

	if (pn < s->recv_floor)
		return true;
	for (i = 0; i < s->nr_ranges; i++) {
		if (pn > s->ranges[i].end)
			return false;
		if (pn >= s->ranges[i].start)
			return true;
	}
	return false;
}

static void quic_range_remove(struct quic_pnspace *s, int i)
{
	memmove(&s->ranges[i], &s->ranges[i + 1],
		(s->nr_ranges - i - 1) * sizeof(s->ranges[0]));
	s->nr_ranges--;
}

/**
 * quic_pnspace_record - add a received packet number to the ACK ranges
 * @s: the space
 * @pn: the packet number, not a duplicate (quic_pnspace_is_dup())
 * @now: the time (us), kept if @pn is the largest received
 *
 * Extends or merges ranges.  When QUIC_ACK_RANGES_MAX ranges are kept,
 * the oldest one is forgotten and the duplicate floor raised past it.
 */
void quic_pnspace_record(struct quic_pnspace *s, s64 pn, u64 now)
{
	struct quic_ack_range *r;
	int i;

	if (pn > s->largest_recv) {
		s->largest_recv = pn;
		s->largest_recv_time = now;
	}
	for (i = 0; i < s->nr_ranges; i++) {
		r = &s->ranges[i];
		if (pn > r->end + 1)
			break;
		if (pn == r->end + 1) {
			r->end = pn;
			if (i > 0 && s->ranges[i - 1].start == pn + 1) {
				s->ranges[i - 1].start = r->start;
				quic_range_remove(s, i);
			}
			return;
		}
		if (pn >= r->start)
			return;
		if (pn == r->start - 1) {
			r->start = pn;
			if (i + 1 < s->nr_ranges && s->ranges[i + 1].end == pn - 1) {
				r->start = s->ranges[i + 1].start;
				quic_range_remove(s, i + 1);
			}
			return;
		}
	}
	/* a new range at index i; forget the oldest when full */
	if (s->nr_ranges == QUIC_ACK_RANGES_MAX) {
		if (i >= QUIC_ACK_RANGES_MAX) {
			/* older than every range kept: the floor records it */
			s->recv_floor = pn + 1;
			return;
		}
		s->recv_floor = s->ranges[QUIC_ACK_RANGES_MAX - 1].end + 1;
		s->nr_ranges--;
	}
	memmove(&s->ranges[i + 1], &s->ranges[i],
		(s->nr_ranges - i) * sizeof(s->ranges[0]));
	s->ranges[i].start = pn;
	s->ranges[i].end = pn;
	s->nr_ranges++;
}
