/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: variable-length integers and frames (RFC 9000 sections 16, 19).
 */
#ifndef __NET_QUIC_FRAME_H
#define __NET_QUIC_FRAME_H

#include <linux/types.h>
#include <linux/string.h>

#define QUIC_VARINT_MAX		((1ULL << 62) - 1)

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

/* A bounds-checked reader over untrusted bytes. */
struct quic_reader {
	const u8 *p;
	const u8 *end;
};

static inline u32 quic_reader_left(const struct quic_reader *r)
{
	return r->end - r->p;
}

static inline bool quic_get_varint(struct quic_reader *r, u64 *v)
{
	u8 len, i;
	u64 x;

	if (r->p >= r->end)
		return false;
	len = 1 << (*r->p >> 6);
	if (quic_reader_left(r) < len)
		return false;
	x = *r->p & 0x3f;
	for (i = 1; i < len; i++)
		x = (x << 8) | r->p[i];
	r->p += len;
	*v = x;
	return true;
}

static inline bool quic_get_u8(struct quic_reader *r, u8 *v)
{
	if (r->p >= r->end)
		return false;
	*v = *r->p++;
	return true;
}

static inline bool quic_get_bytes(struct quic_reader *r, const u8 **v, u64 len)
{
	if (len > quic_reader_left(r))
		return false;
	*v = r->p;
	r->p += len;
	return true;
}

static inline u8 quic_varint_len(u64 v)
{
	if (v < 64)
		return 1;
	if (v < 16384)
		return 2;
	if (v < 1073741824)
		return 4;
	return 8;
}

/* Write @v at @p (room checked by the caller); return the end. */
static inline u8 *quic_put_varint(u8 *p, u64 v)
{
	u8 len = quic_varint_len(v), i;

	for (i = len; i > 0; i--) {
		p[i - 1] = v & 0xff;
		v >>= 8;
	}
	p[0] |= (len == 1 ? 0x00 : len == 2 ? 0x40 : len == 4 ? 0x80 : 0xc0);
	return p + len;
}

/* A fixed 2-byte varint (for Length fields patched later). */
static inline u8 *quic_put_varint2(u8 *p, u16 v)
{
	p[0] = 0x40 | (v >> 8);
	p[1] = v & 0xff;
	return p + 2;
}

static inline u8 *quic_put_data(u8 *p, const void *d, u32 len)
{
	memcpy(p, d, len);
	return p + len;
}

struct sock;
struct sk_buff;

int quic_frame_process(struct sock *sk, u8 level, const u8 *payload, u32 len,
		       bool *ack_eliciting);

#endif /* __NET_QUIC_FRAME_H */
