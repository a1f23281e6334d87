/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: variable-length integers (RFC 9000 section 16) and a
 * bounds-checked reader: the one codec of the module, used for frames,
 * packet headers and transport parameters.
 */
#ifndef __NET_QUIC_VARINT_H
#define __NET_QUIC_VARINT_H

#include <linux/types.h>
#include <linux/string.h>

#define QUIC_VARINT_MAX		((1ULL << 62) - 1)

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

#endif /* __NET_QUIC_VARINT_H */
