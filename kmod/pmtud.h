/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: packetization layer path MTU discovery (RFC 8899, RFC 9000 14.3).
 */
#ifndef __NET_QUIC_PMTUD_H
#define __NET_QUIC_PMTUD_H

#include <linux/types.h>

/* RFC 8899 5.2 states; DISABLED: plpmtud_probe_interval is 0 */
enum quic_pmtud_state {
	QUIC_PMTUD_DISABLED,
	QUIC_PMTUD_BASE,
	QUIC_PMTUD_SEARCHING,
	QUIC_PMTUD_COMPLETE,
	QUIC_PMTUD_ERROR,
};

#define QUIC_PMTUD_BASE_SIZE	1200	/* BASE_PLPMTU: RFC 9000 14.1 */
#define QUIC_PMTUD_MAX_PROBES	3	/* RFC 8899 5.1.2 MAX_PROBES */
#define QUIC_PMTUD_BLACK_HOLE	3	/* larger packets lost in a row */

/* The path's PLPMTUD state (pmtud.c); sizes are UDP payload bytes. */
struct quic_pmtud {
	u8 state;			/* enum quic_pmtud_state */
	u8 probes;			/* probes of @probe_size lost */
	u8 big_lost;			/* packets above BASE lost in a row */
	u8 probe_due:1,			/* a probe of @probe_size to send */
	   probe_inflight:1;		/* one is in flight */
	u16 plpmtu;			/* the size validated, in use */
	u16 probe_size;			/* the size being probed */
	u16 fail;			/* the smallest size that failed, or
					 * the upper bound + 1
					 */
	u16 route;			/* the upper bound: the route's MTU
					 * within both max_udp_payload_sizes
					 */
	u64 big_lost_since;		/* us: sent time of the first */
	u64 small_acked;		/* us: sent time of the newest packet
					 * of BASE size or less acknowledged
					 */
};

struct sock;
struct quic_sent_pkt;

/* The engine passes the route's bound in (@route: quic_packet_mss()). */
void quic_pmtud_start(struct sock *sk, u32 route);
bool quic_pmtud_enabled(const struct sock *sk);
bool quic_pmtud_probe_due(const struct sock *sk);
u32 quic_pmtud_probe_size(struct sock *sk, u32 route);
void quic_pmtud_probe_sent(struct sock *sk);
void quic_pmtud_pkt_acked(struct sock *sk, const struct quic_sent_pkt *sp);
void quic_pmtud_pkt_lost(struct sock *sk, const struct quic_sent_pkt *sp,
			 u32 route);
void quic_pmtud_pto(struct sock *sk, u8 pto_count, u32 route);
bool quic_pmtud_timeout(struct sock *sk, u32 route);

#endif /* __NET_QUIC_PMTUD_H */
