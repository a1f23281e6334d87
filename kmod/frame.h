/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: frames (RFC 9000 section 19).
 */
#ifndef __NET_QUIC_FRAME_H
#define __NET_QUIC_FRAME_H

#include "varint.h"

enum quic_frame_type {
	QUIC_FRAME_PADDING		= 0x00,
	QUIC_FRAME_PING			= 0x01,
	QUIC_FRAME_ACK			= 0x02,
	QUIC_FRAME_ACK_ECN		= 0x03,
	QUIC_FRAME_RESET_STREAM		= 0x04,
	QUIC_FRAME_STOP_SENDING		= 0x05,
	QUIC_FRAME_CRYPTO		= 0x06,
	QUIC_FRAME_NEW_TOKEN		= 0x07,
	QUIC_FRAME_STREAM		= 0x08,	/* 0x08..0x0f */
	QUIC_FRAME_MAX_DATA		= 0x10,
	QUIC_FRAME_MAX_STREAM_DATA	= 0x11,
	QUIC_FRAME_MAX_STREAMS_BIDI	= 0x12,
	QUIC_FRAME_MAX_STREAMS_UNI	= 0x13,
	QUIC_FRAME_DATA_BLOCKED		= 0x14,
	QUIC_FRAME_STREAM_DATA_BLOCKED	= 0x15,
	QUIC_FRAME_STREAMS_BLOCKED_BIDI	= 0x16,
	QUIC_FRAME_STREAMS_BLOCKED_UNI	= 0x17,
	QUIC_FRAME_NEW_CONNECTION_ID	= 0x18,
	QUIC_FRAME_RETIRE_CONNECTION_ID	= 0x19,
	QUIC_FRAME_PATH_CHALLENGE	= 0x1a,
	QUIC_FRAME_PATH_RESPONSE	= 0x1b,
	QUIC_FRAME_CONNECTION_CLOSE	= 0x1c,
	QUIC_FRAME_CONNECTION_CLOSE_APP	= 0x1d,
	QUIC_FRAME_HANDSHAKE_DONE	= 0x1e,
	QUIC_FRAME_DATAGRAM		= 0x30,
	QUIC_FRAME_DATAGRAM_LEN		= 0x31,
};

struct sock;
struct sk_buff;

struct quic_ack_range;

int quic_frame_process(struct sock *sk, u8 level, const u8 *payload, u32 len,
		       bool *ack_eliciting, bool *non_probing);
bool quic_frame_trace(struct sock *sk, u8 level, s64 pn, const u8 *payload,
		      u32 len, bool sent);

u8 *quic_frame_put_ack(u8 *p, u32 room, const struct quic_ack_range *ranges,
		       u32 nr, u64 delay, const u64 *ecn);
u8 *quic_frame_put_int(u8 *p, u8 type, u64 v);
u8 *quic_frame_put_stream_int(u8 *p, u8 type, s64 id, u64 v);
u8 *quic_frame_put_reset_stream(u8 *p, s64 id, u64 errcode, u64 final);
u32 quic_frame_datagram_len(u32 len);
u8 *quic_frame_put_datagram(u8 *p, const void *data, u32 len);
u32 quic_frame_stream_len(s64 id, u64 off, u32 len);
u8 *quic_frame_put_stream(u8 *p, s64 id, u64 off, bool fin, const void *data,
			  u32 len);
u32 quic_frame_crypto_len(u64 off, u32 len);
u8 *quic_frame_put_crypto(u8 *p, u64 off, const void *data, u32 len);
u32 quic_frame_new_token_len(u32 len);
u8 *quic_frame_put_new_token(u8 *p, const u8 *token, u32 len);
u8 *quic_frame_put_path(u8 *p, u8 type, const u8 *data);
u8 *quic_frame_put_new_cid(u8 *p, u64 seq, u64 prior, const u8 *cid, u8 len,
			   const u8 *token);
u8 *quic_frame_put_close(u8 *p, bool app, u64 errcode, u64 frame,
			 const void *phrase, u32 plen);

#endif /* __NET_QUIC_FRAME_H */
