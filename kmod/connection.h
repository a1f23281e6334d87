/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: connection state: setup, keys, establishment, closing.
 */
#ifndef __NET_QUIC_CONNECTION_H
#define __NET_QUIC_CONNECTION_H

#include <linux/types.h>
#include <linux/quic.h>

/* How the connection ends (connection.c). */
struct quic_close_state {
	struct quic_connection_close local;	/* sent on close() */
	struct quic_connection_close peer;	/* received from the peer */
	unsigned long drain_end;	/* jiffies: end of the draining period */
	u32 errcode;			/* transport close we send */
	u64 frame;
	u8 resends;
	u8 app:1;			/* close with 0x1d */
	u8 closing:1;			/* CONNECTION_CLOSE to send / sent */
	u8 draining:1;			/* peer closed: send nothing */
};

struct sock;
struct quic_request;
struct quic_crypto_secret;
struct quic_conn_id;
struct quic_dcid_entry;
struct quic_connection_id_info;
struct quic_tp_cid;
struct quic_cid_entry;
union quic_addr;

void quic_set_state(struct sock *sk, int state);
int quic_conn_init_client(struct sock *sk);
int quic_conn_init_server(struct sock *sk, const struct quic_request *req);
void quic_conn_free(struct sock *sk);
void quic_conn_retry(struct sock *sk, const u8 *data, u32 len,
		     const struct quic_conn_id *scid);
void quic_conn_retry_apply(struct sock *sk);
bool quic_conn_version_offered(struct sock *sk, u32 version, u8 type);
void quic_conn_version_apply(struct sock *sk);
unsigned long quic_conn_closing_period(struct sock *sk);
void quic_conn_version_negotiation(struct sock *sk, const u8 *data, u32 len,
				   const struct quic_conn_id *dcid,
				   const struct quic_conn_id *scid);

int quic_conn_set_secret(struct sock *sk, const struct quic_crypto_secret *srt);
int quic_conn_get_tp_ext(struct sock *sk, u8 *buf, u32 size);
int quic_conn_set_tp_ext(struct sock *sk, const u8 *buf, u32 len);

void quic_conn_discard_space(struct sock *sk, u8 space);
void quic_conn_confirmed(struct sock *sk);
int quic_conn_new_dcid(struct sock *sk, u64 seq, u64 prior, const u8 *cid,
		       u8 len, const u8 *token);
int quic_conn_retire_scid(struct sock *sk, u64 seq);
int quic_conn_retire_dcid(struct sock *sk, u64 seq);
void quic_conn_retire_lost(struct sock *sk, u64 seq);
void quic_conn_new_cid_lost(struct sock *sk, u8 slot);
int quic_conn_next_new_cid(struct sock *sk, const struct quic_cid_entry **e,
			   u64 *prior);
bool quic_conn_next_retire(struct sock *sk, u64 *seq);
void quic_conn_peer_scid(struct sock *sk, const struct quic_conn_id *scid);
void quic_conn_add_odcid(struct sock *sk, const struct quic_conn_id *dcid,
			 const union quic_addr *peer);
bool quic_conn_close_resend(struct sock *sk);
void quic_conn_set_close_info(struct sock *sk,
			      const struct quic_connection_close *c);
void quic_conn_scid_used(struct sock *sk, const struct quic_conn_id *cid);
int quic_conn_new_token(struct sock *sk);
int quic_conn_pref_cid(struct sock *sk, struct quic_tp_cid *cid, u8 *token);
int quic_conn_take_spare(struct sock *sk, struct quic_dcid_entry *e);
int quic_conn_use_dcid(struct sock *sk, const struct quic_dcid_entry *e,
		       bool retire);
void quic_conn_get_cid(struct sock *sk, struct quic_connection_id_info *info);
int quic_conn_set_cid(struct sock *sk,
		      const struct quic_connection_id_info *info);

bool quic_conn_is_stateless_reset(struct sock *sk, const u8 *data, u32 len);
void quic_conn_reset(struct sock *sk);
void quic_conn_idle_reset(struct sock *sk);
void quic_conn_idle_timeout(struct sock *sk);
void quic_conn_error(struct sock *sk, u32 errcode, u64 frame);
void quic_conn_peer_close(struct sock *sk, u64 errcode, u64 frame,
			  const u8 *phrase, u64 len, bool app);
void quic_conn_close(struct sock *sk);

#endif /* __NET_QUIC_CONNECTION_H */
