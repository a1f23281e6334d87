/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC tracepoints: packets sent, received, lost and dropped (with the
 * reason), the frames of each packet sent or received, RTT and congestion
 * window updates, key updates, state and path changes.
 *
 * Every event carries "ino", the socket's inode number as in
 * /proc/net/quic/eps (0 for a datagram no socket took), so that one
 * connection can be picked with a tracefs filter ("ino == N").
 * quic-trace (libquic.tools.trace) records them and writes qlog.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM quic

#if !defined(_TRACE_QUIC_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_QUIC_H

#include <linux/socket.h>
#include <linux/tracepoint.h>
#include <net/sock.h>

#ifndef __QUIC_TRACE_ENUMS
#define __QUIC_TRACE_ENUMS
/* Why a received packet or datagram was not processed. */
enum quic_drop_reason {
	QUIC_DROP_MALFORMED,
	QUIC_DROP_UNKNOWN_CONN,
	QUIC_DROP_BACKLOG,
	QUIC_DROP_LISTEN,
	QUIC_DROP_DECRYPT,
	QUIC_DROP_DUPLICATE,
	QUIC_DROP_VERSION,
	QUIC_DROP_SPACE,
	QUIC_DROP_UNEXPECTED,
};

enum quic_lost_reason {
	QUIC_LOST_PKT_THRESHOLD,
	QUIC_LOST_TIME_THRESHOLD,
};

enum quic_cong_event {
	QUIC_CONG_EV_ACK,
	QUIC_CONG_EV_LOSS,
	QUIC_CONG_EV_PERSISTENT,
	QUIC_CONG_EV_SPURIOUS,
	QUIC_CONG_EV_CSS,		/* HyStart++: slow start -> CSS */
	QUIC_CONG_EV_SLOW_START,	/* HyStart++: CSS -> slow start */
	QUIC_CONG_EV_HYSTART_EXIT,	/* HyStart++: CSS -> avoidance */
	QUIC_CONG_EV_ECN,		/* the peer reported more CE marks */
};

#define QUIC_TRACE_ACK_RANGES	4

/* What a trace shows of one frame (filled by quic_frame_trace()). */
struct quic_trace_frame {
	u64 type;
	s64 id;		/* stream ID; -1 for frames without one */
	u64 offset;	/* STREAM, CRYPTO; RESET_STREAM: the final size */
	u64 len;	/* data of STREAM, CRYPTO, DATAGRAM, NEW_TOKEN, PADDING */
	u64 value;	/* a limit, sequence number or error code */
	u64 largest;	/* ACK: largest acknowledged */
	u64 delay_us;	/* ACK: the ACK Delay, scaled */
	u64 nr_ranges;	/* ACK: the ranges in the frame */
	u64 ranges[QUIC_TRACE_ACK_RANGES][2];	/* the first: [lowest, highest] */
	bool fin;
};

static inline unsigned long quic_trace_ino(struct sock *sk)
{
	return sk ? sock_i_ino(sk) : 0;
}
#endif

TRACE_DEFINE_ENUM(QUIC_DROP_MALFORMED);
TRACE_DEFINE_ENUM(QUIC_DROP_UNKNOWN_CONN);
TRACE_DEFINE_ENUM(QUIC_DROP_BACKLOG);
TRACE_DEFINE_ENUM(QUIC_DROP_LISTEN);
TRACE_DEFINE_ENUM(QUIC_DROP_DECRYPT);
TRACE_DEFINE_ENUM(QUIC_DROP_DUPLICATE);
TRACE_DEFINE_ENUM(QUIC_DROP_VERSION);
TRACE_DEFINE_ENUM(QUIC_DROP_SPACE);
TRACE_DEFINE_ENUM(QUIC_DROP_UNEXPECTED);
TRACE_DEFINE_ENUM(QUIC_LOST_PKT_THRESHOLD);
TRACE_DEFINE_ENUM(QUIC_LOST_TIME_THRESHOLD);
TRACE_DEFINE_ENUM(QUIC_CONG_EV_ACK);
TRACE_DEFINE_ENUM(QUIC_CONG_EV_LOSS);
TRACE_DEFINE_ENUM(QUIC_CONG_EV_PERSISTENT);
TRACE_DEFINE_ENUM(QUIC_CONG_EV_SPURIOUS);
TRACE_DEFINE_ENUM(QUIC_CONG_EV_CSS);
TRACE_DEFINE_ENUM(QUIC_CONG_EV_SLOW_START);
TRACE_DEFINE_ENUM(QUIC_CONG_EV_HYSTART_EXIT);
TRACE_DEFINE_ENUM(QUIC_CONG_EV_ECN);

/* len: the frames' bytes; size: the whole packet, header and AEAD tag */
DECLARE_EVENT_CLASS(quic_packet,
	TP_PROTO(struct sock *sk, u8 level, s64 pn, u32 len, u32 size,
		 bool eliciting),
	TP_ARGS(sk, level, pn, len, size, eliciting),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(s64, pn)
		__field(u32, len)
		__field(u32, size)
		__field(u8, level)
		__field(u8, eliciting)
	),
	TP_fast_assign(
		__entry->ino = quic_trace_ino(sk);
		__entry->pn = pn;
		__entry->len = len;
		__entry->size = size;
		__entry->level = level;
		__entry->eliciting = eliciting;
	),
	TP_printk("ino=%lu level=%s pn=%lld len=%u size=%u eliciting=%u",
		  __entry->ino,
		  __print_symbolic(__entry->level, { 0, "1rtt" },
				   { 1, "initial" }, { 2, "handshake" },
				   { 3, "0rtt" }),
		  __entry->pn, __entry->len, __entry->size, __entry->eliciting)
);

/* a packet sealed and handed to the UDP socket */
DEFINE_EVENT(quic_packet, quic_packet_sent,
	TP_PROTO(struct sock *sk, u8 level, s64 pn, u32 len, u32 size,
		 bool eliciting),
	TP_ARGS(sk, level, pn, len, size, eliciting)
);

/* a packet decrypted and processed */
DEFINE_EVENT(quic_packet, quic_packet_recv,
	TP_PROTO(struct sock *sk, u8 level, s64 pn, u32 len, u32 size,
		 bool eliciting),
	TP_ARGS(sk, level, pn, len, size, eliciting)
);

/* space: the packet number space (0 Initial, 1 Handshake, 2 application) */
TRACE_EVENT(quic_packet_lost,
	TP_PROTO(struct sock *sk, u8 space, s64 pn, u32 len, u8 reason),
	TP_ARGS(sk, space, pn, len, reason),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(s64, pn)
		__field(u32, len)
		__field(u8, space)
		__field(u8, reason)
	),
	TP_fast_assign(
		__entry->ino = quic_trace_ino(sk);
		__entry->pn = pn;
		__entry->len = len;
		__entry->space = space;
		__entry->reason = reason;
	),
	TP_printk("ino=%lu space=%u pn=%lld len=%u reason=%s", __entry->ino,
		  __entry->space, __entry->pn, __entry->len,
		  __print_symbolic(__entry->reason,
				   { QUIC_LOST_PKT_THRESHOLD, "reordering_threshold" },
				   { QUIC_LOST_TIME_THRESHOLD, "time_threshold" }))
);

TRACE_EVENT(quic_packet_dropped,
	TP_PROTO(struct sock *sk, u32 len, enum quic_drop_reason reason),
	TP_ARGS(sk, len, reason),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(u32, len)
		__field(u8, reason)
	),
	TP_fast_assign(
		__entry->ino = quic_trace_ino(sk);
		__entry->len = len;
		__entry->reason = reason;
	),
	TP_printk("ino=%lu len=%u reason=%s", __entry->ino, __entry->len,
		  __print_symbolic(__entry->reason,
				   { QUIC_DROP_MALFORMED, "malformed" },
				   { QUIC_DROP_UNKNOWN_CONN, "unknown_connection" },
				   { QUIC_DROP_BACKLOG, "backlog_full" },
				   { QUIC_DROP_LISTEN, "listener_refused" },
				   { QUIC_DROP_DECRYPT, "decryption_failure" },
				   { QUIC_DROP_DUPLICATE, "duplicate" },
				   { QUIC_DROP_VERSION, "unsupported_version" },
				   { QUIC_DROP_SPACE, "key_discarded" },
				   { QUIC_DROP_UNEXPECTED, "unexpected_packet" }))
);

/*
 * One frame of a packet (its number pn at level), with what the frame type
 * has of: stream ID, offset, length and FIN; a value (limit, sequence
 * number or error code); for ACK, the largest acknowledged, the delay and
 * up to QUIC_TRACE_ACK_RANGES ranges (ack_ranges: how many the frame has).
 * A run of PADDING is one event.  Fields a type does not have are 0 (id
 * -1).
 */
DECLARE_EVENT_CLASS(quic_frame,
	TP_PROTO(struct sock *sk, u8 level, s64 pn,
		 const struct quic_trace_frame *f),
	TP_ARGS(sk, level, pn, f),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(s64, pn)
		__field(u64, type)
		__field(s64, id)
		__field(u64, offset)
		__field(u64, len)
		__field(u64, value)
		__field(u64, largest)
		__field(u64, delay)
		__field(u64, nr_ranges)
		__array(u64, ranges, QUIC_TRACE_ACK_RANGES * 2)
		__field(u8, level)
		__field(u8, fin)
		__field(u8, shown)
	),
	TP_fast_assign(
		__entry->ino = quic_trace_ino(sk);
		__entry->pn = pn;
		__entry->type = f->type;
		__entry->id = f->id;
		__entry->offset = f->offset;
		__entry->len = f->len;
		__entry->value = f->value;
		__entry->largest = f->largest;
		__entry->delay = f->delay_us;
		__entry->nr_ranges = f->nr_ranges;
		memcpy(__entry->ranges, f->ranges, sizeof(__entry->ranges));
		__entry->level = level;
		__entry->fin = f->fin;
		__entry->shown = min_t(u64, f->nr_ranges, QUIC_TRACE_ACK_RANGES);
	),
	TP_printk("ino=%lu level=%s pn=%lld type=0x%llx id=%lld offset=%llu len=%llu fin=%u value=%llu largest=%llu delay_us=%llu ack_ranges=%llu ranges=%s",
		  __entry->ino,
		  __print_symbolic(__entry->level, { 0, "1rtt" },
				   { 1, "initial" }, { 2, "handshake" },
				   { 3, "0rtt" }),
		  __entry->pn, __entry->type, __entry->id, __entry->offset,
		  __entry->len, __entry->fin, __entry->value, __entry->largest,
		  __entry->delay, __entry->nr_ranges,
		  __print_array(__entry->ranges, __entry->shown * 2,
				sizeof(u64)))
);

/* a frame of a packet sealed and handed to the UDP socket */
DEFINE_EVENT(quic_frame, quic_frame_sent,
	TP_PROTO(struct sock *sk, u8 level, s64 pn,
		 const struct quic_trace_frame *f),
	TP_ARGS(sk, level, pn, f)
);

/* a frame of a packet decrypted, before it is handled */
DEFINE_EVENT(quic_frame, quic_frame_recv,
	TP_PROTO(struct sock *sk, u8 level, s64 pn,
		 const struct quic_trace_frame *f),
	TP_ARGS(sk, level, pn, f)
);

TRACE_EVENT(quic_rtt_update,
	TP_PROTO(struct sock *sk, u32 latest, u32 min, u32 smoothed, u32 var),
	TP_ARGS(sk, latest, min, smoothed, var),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(u32, latest)
		__field(u32, min)
		__field(u32, smoothed)
		__field(u32, var)
	),
	TP_fast_assign(
		__entry->ino = quic_trace_ino(sk);
		__entry->latest = latest;
		__entry->min = min;
		__entry->smoothed = smoothed;
		__entry->var = var;
	),
	TP_printk("ino=%lu latest_us=%u min_us=%u smoothed_us=%u var_us=%u",
		  __entry->ino, __entry->latest, __entry->min,
		  __entry->smoothed, __entry->var)
);

TRACE_EVENT(quic_cwnd_update,
	TP_PROTO(struct sock *sk, u64 cwnd, u64 ssthresh, u32 in_flight,
		 u8 event),
	TP_ARGS(sk, cwnd, ssthresh, in_flight, event),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(u64, cwnd)
		__field(u64, ssthresh)
		__field(u32, in_flight)
		__field(u8, event)
	),
	TP_fast_assign(
		__entry->ino = quic_trace_ino(sk);
		__entry->cwnd = cwnd;
		__entry->ssthresh = ssthresh;
		__entry->in_flight = in_flight;
		__entry->event = event;
	),
	TP_printk("ino=%lu cwnd=%llu ssthresh=%llu in_flight=%u event=%s",
		  __entry->ino, __entry->cwnd, __entry->ssthresh,
		  __entry->in_flight,
		  __print_symbolic(__entry->event,
				   { QUIC_CONG_EV_ACK, "ack" },
				   { QUIC_CONG_EV_LOSS, "loss" },
				   { QUIC_CONG_EV_PERSISTENT, "persistent" },
				   { QUIC_CONG_EV_SPURIOUS, "spurious" },
				   { QUIC_CONG_EV_CSS, "css" },
				   { QUIC_CONG_EV_SLOW_START, "slow_start" },
				   { QUIC_CONG_EV_HYSTART_EXIT, "hystart_exit" },
				   { QUIC_CONG_EV_ECN, "ecn" }))
);

TRACE_EVENT(quic_key_update,
	TP_PROTO(struct sock *sk, u8 phase, bool local),
	TP_ARGS(sk, phase, local),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(u8, phase)
		__field(u8, local)
	),
	TP_fast_assign(
		__entry->ino = quic_trace_ino(sk);
		__entry->phase = phase;
		__entry->local = local;
	),
	TP_printk("ino=%lu phase=%u local=%u", __entry->ino, __entry->phase,
		  __entry->local)
);

TRACE_EVENT(quic_state_change,
	TP_PROTO(struct sock *sk, int old, int new),
	TP_ARGS(sk, old, new),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(u8, old)
		__field(u8, new)
	),
	TP_fast_assign(
		__entry->ino = quic_trace_ino(sk);
		__entry->old = old;
		__entry->new = new;
	),
	TP_printk("ino=%lu old=%u new=%u", __entry->ino, __entry->old,
		  __entry->new)
);

TRACE_EVENT(quic_path_change,
	TP_PROTO(struct sock *sk, bool local, const struct sockaddr *addr),
	TP_ARGS(sk, local, addr),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(u8, local)
		__array(u8, addr, sizeof(struct sockaddr_in6))
	),
	TP_fast_assign(
		__entry->ino = quic_trace_ino(sk);
		__entry->local = local;
		memset(__entry->addr, 0, sizeof(__entry->addr));
		memcpy(__entry->addr, addr, addr->sa_family == AF_INET6 ?
		       sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	),
	TP_printk("ino=%lu local=%u addr=%pISpc", __entry->ino,
		  __entry->local, __entry->addr)
);

#ifndef __QUIC_TRACE_PMTU_ENUMS
#define __QUIC_TRACE_PMTU_ENUMS
/* What changed the PLPMTUD state (pmtud.c). */
enum quic_pmtu_event {
	QUIC_PMTU_EV_START,		/* established on a path: BASE */
	QUIC_PMTU_EV_PROBE_ACKED,	/* the PLPMTU went up */
	QUIC_PMTU_EV_PROBE_LOST,
	QUIC_PMTU_EV_COMPLETE,		/* the search ended */
	QUIC_PMTU_EV_BLACK_HOLE,	/* back to BASE (or ERROR) */
	QUIC_PMTU_EV_PTB,		/* the route's MTU went down */
};
#endif

TRACE_DEFINE_ENUM(QUIC_PMTU_EV_START);
TRACE_DEFINE_ENUM(QUIC_PMTU_EV_PROBE_ACKED);
TRACE_DEFINE_ENUM(QUIC_PMTU_EV_PROBE_LOST);
TRACE_DEFINE_ENUM(QUIC_PMTU_EV_COMPLETE);
TRACE_DEFINE_ENUM(QUIC_PMTU_EV_BLACK_HOLE);
TRACE_DEFINE_ENUM(QUIC_PMTU_EV_PTB);

/* PLPMTUD: the size in use (UDP payload), the size probed (or lost),
 * the RFC 8899 state (1 BASE, 2 SEARCHING, 3 SEARCH_COMPLETE, 4 ERROR).
 */
TRACE_EVENT(quic_pmtu_update,
	TP_PROTO(struct sock *sk, u32 plpmtu, u32 probe, u8 state, u8 event),
	TP_ARGS(sk, plpmtu, probe, state, event),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(u32, plpmtu)
		__field(u32, probe)
		__field(u8, state)
		__field(u8, event)
	),
	TP_fast_assign(
		__entry->ino = quic_trace_ino(sk);
		__entry->plpmtu = plpmtu;
		__entry->probe = probe;
		__entry->state = state;
		__entry->event = event;
	),
	TP_printk("ino=%lu plpmtu=%u probe=%u state=%u event=%s",
		  __entry->ino, __entry->plpmtu, __entry->probe,
		  __entry->state,
		  __print_symbolic(__entry->event,
				   { QUIC_PMTU_EV_START, "start" },
				   { QUIC_PMTU_EV_PROBE_ACKED, "probe_acked" },
				   { QUIC_PMTU_EV_PROBE_LOST, "probe_lost" },
				   { QUIC_PMTU_EV_COMPLETE, "complete" },
				   { QUIC_PMTU_EV_BLACK_HOLE, "black_hole" },
				   { QUIC_PMTU_EV_PTB, "ptb" }))
);

#endif /* _TRACE_QUIC_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH trace/events
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE quic

#include <trace/define_trace.h>
