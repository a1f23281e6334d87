/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: path validation and migration.
 */
#ifndef __NET_QUIC_PATH_H
#define __NET_QUIC_PATH_H

#include "addr.h"
#include "udp.h"
#include "connid.h"

/* The second path of a connection while it is validated (RFC 9000 8.2,
 * 9): a new local address (our migration, or the server's preferred
 * address a packet arrived on), a new peer address (the peer migrated, or
 * a client moves to the server's preferred address), or both.  It becomes
 * the connection's path once a PATH_RESPONSE echoes @challenge, or at
 * once when only our local address changed under a validated peer.
 */
struct quic_path_alt {
	struct quic_udp_sock *udp;	/* @new_local: its UDP socket (held) */
	union quic_addr local;
	union quic_addr peer;
	struct quic_conn_id dcid;	/* used on this path (RFC 9000 9.5) */
	u64 dcid_seq;
	u8 dcid_token[QUIC_RESET_TOKEN_LEN];
	u64 rx_bytes;			/* anti-amplification on this path */
	u64 tx_bytes;
	u8 challenge[8];
	u8 tries;
	u8 active:1;			/* the slot is in use */
	u8 validating:1;		/* PATH_CHALLENGE outstanding */
	u8 spare_dcid:1;		/* @dcid was a spare, not the active */
	u8 new_local:1;			/* @udp and @local replace ours */
	u8 new_peer:1;			/* @peer replaces the peer's */
	u8 limited:1;			/* @peer unvalidated: 3x what it sent */
	u8 pref:1;			/* client: to the preferred address */
};

/* The connection's paths (path.c): the current one, the one being
 * validated, what a switch left behind, and the server's preferred
 * address.
 */
struct quic_paths {
	struct quic_udp_sock *udp;	/* the bound UDP tunnel socket */
	union quic_addr local;		/* bound (or chosen) local address */
	union quic_addr peer;		/* connected peer */
	union quic_addr dst_saddr;	/* source of the route in sk_dst_cache */
	u32 dst_cookie;			/* of that route (IPv6) */
	struct quic_path_alt alt;	/* the path being validated */
	struct quic_udp_sock *old_udp;	/* the local path left behind */
	union quic_addr old_local;	/* its address */
	union quic_addr old_peer;	/* the peer address we left */
	struct quic_udp_sock *pref_udp;	/* server: bound preferred address */
	union quic_addr pref_local;	/* server: that address */
	/* anti-amplification (server, before the address is validated) */
	u64 rx_bytes;
	u64 tx_bytes;
	u8 path_response[8];
	u8 path_response_pending:1;
	u8 addr_validated:1;
};

void quic_set_local(struct sock *sk, const union quic_addr *a);
void quic_set_peer(struct sock *sk, const union quic_addr *a);
int quic_path_migrate(struct sock *sk, const union quic_addr *a);
int quic_path_set_pref(struct sock *sk, const union quic_addr *a);
void quic_path_pref_prepare(struct sock *sk);
void quic_path_pref_start(struct sock *sk);
void quic_path_abandon(struct sock *sk);
void quic_path_free(struct sock *sk);
void quic_path_timeout(struct sock *sk);
void quic_path_challenge_rcv(struct sock *sk, const u8 *data);
void quic_path_response_rcv(struct sock *sk, const u8 *data);
struct quic_conn_id;
void quic_path_rcv(struct sock *sk, const struct quic_conn_id *dcid,
		   bool newest, bool non_probing);
void quic_path_rx_bytes(struct sock *sk, u32 len);
void quic_path_tx_bytes(struct sock *sk, u32 len);
struct dst_entry *quic_path_dst(struct sock *sk);
void quic_path_addr_validated(struct sock *sk);
const u8 *quic_path_response_due(struct sock *sk);
void quic_path_response_sent(struct sock *sk);
void quic_path_set_udp(struct sock *sk, struct quic_udp_sock *us);
void quic_path_init(struct sock *sk);
void quic_path_unbind(struct sock *sk);

#endif /* __NET_QUIC_PATH_H */
