/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: reading a client's ClientHello from its first Initial packets,
 * for choosing a listener by ALPN before any connection exists.
 */
#ifndef __NET_QUIC_HELLO_H
#define __NET_QUIC_HELLO_H

#include <linux/bitmap.h>
#include <linux/types.h>

/* The largest ClientHello collected for routing: several times a post-
 * quantum one (X25519MLKEM768 makes it about 1.6 KB), so that anything a
 * real client sends fits.
 */
#define QUIC_HELLO_MAX		8192
#define QUIC_HELLO_EXT_MAX	128	/* extensions scanned, as the reference */

/* The CRYPTO data at offsets 0..QUIC_HELLO_MAX-1 of the client's Initial
 * packets, gathered in any order and with overlaps; @have marks the bytes
 * received.
 */
struct quic_hello {
	u32 len;			/* the message's length, 0 until known */
	DECLARE_BITMAP(have, QUIC_HELLO_MAX);
	u8 buf[QUIC_HELLO_MAX];
};

/* What a ClientHello asks for: its ALPN extension's protocol name list
 * (TLS wire form, each name a length byte and the name), or none.
 */
struct quic_hello_alpn {
	const u8 *list;
	u32 len;			/* 0: the ClientHello has no ALPN */
};

int quic_hello_add(struct quic_hello *hello, const u8 *payload, u32 len);
int quic_hello_alpn(const struct quic_hello *hello,
		    struct quic_hello_alpn *alpn);
int quic_hello_parse(const u8 *msg, u32 len, struct quic_hello_alpn *alpn);
bool quic_hello_alpn_next(const struct quic_hello_alpn *alpn, u32 *pos,
			  const u8 **name, u8 *name_len);

#endif /* __NET_QUIC_HELLO_H */
