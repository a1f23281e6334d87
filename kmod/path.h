/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: path validation and migration.
 */
#ifndef __NET_QUIC_PATH_H
#define __NET_QUIC_PATH_H

#include "addr.h"
#include "udp.h"

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
		   bool newest);
void quic_path_rx_bytes(struct sock *sk, u32 len);

#endif /* __NET_QUIC_PATH_H */
