// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: reading a client's ClientHello from its first Initial packets.
 *
 * Several listeners may share a port with disjoint ALPN lists; a client's
 * first Initial packets carry its ClientHello (RFC 9001 section 4.1.3) in
 * CRYPTO frames, possibly spread over several packets (a post-quantum key
 * share makes it larger than one datagram) and in any order.  This file
 * gathers that CRYPTO data and reads the ALPN extension (RFC 7301) from it.
 * It only parses: the caller decrypts the packets and owns the memory.
 * Everything here is untrusted input: every length is checked against what
 * is left, and anything malformed is refused as a whole.
 */

#include <linux/errno.h>
#include <linux/minmax.h>
#include <linux/unaligned.h>

#include "hello.h"
#include "test_export.h"
#include "varint.h"

#define QUIC_FRAME_PADDING	0x00
#define QUIC_FRAME_PING		0x01
#define QUIC_FRAME_ACK		0x02
#define QUIC_FRAME_ACK_ECN	0x03
#define QUIC_FRAME_CRYPTO	0x06
#define QUIC_FRAME_CLOSE	0x1c

#define QUIC_TLS_CLIENT_HELLO	1
#define QUIC_TLS_EXT_ALPN	16

static bool quic_hello_skip_varints(struct quic_reader *r, u32 n)
{
	u64 v;

	while (n--)
		if (!quic_get_varint(r, &v))
			return false;
	return true;
}

/* An ACK frame after its type: four varints, then the ranges. */
static bool quic_hello_skip_ack(struct quic_reader *r, bool ecn)
{
	u64 count, largest, delay, first;

	if (!quic_get_varint(r, &largest) || !quic_get_varint(r, &delay) ||
	    !quic_get_varint(r, &count) || !quic_get_varint(r, &first))
		return false;
	/* each range takes at least two bytes: the count is bounded */
	if (count > quic_reader_left(r) / 2)
		return false;
	return quic_hello_skip_varints(r, count * 2) &&
	       (!ecn || quic_hello_skip_varints(r, 3));
}

static bool quic_hello_skip_close(struct quic_reader *r)
{
	const u8 *reason;
	u64 len;

	return quic_hello_skip_varints(r, 2) && quic_get_varint(r, &len) &&
	       quic_get_bytes(r, &reason, len);
}

/* Copy CRYPTO data at @offset into the buffer (what lies past the
 * buffer's end is dropped; the length check catches a message that big).
 */
static void quic_hello_store(struct quic_hello *hello, u64 offset,
			     const u8 *data, u64 len)
{
	if (offset >= QUIC_HELLO_MAX)
		return;
	len = min_t(u64, len, QUIC_HELLO_MAX - offset);
	memcpy(hello->buf + offset, data, len);
	bitmap_set(hello->have, offset, len);
}

/**
 * quic_hello_add - gather the CRYPTO data of a decrypted client Initial
 * @hello: the collection so far (zeroed before the first packet)
 * @payload: the packet's plaintext frames
 * @len: their length
 *
 * Only the frames RFC 9000 allows in an Initial packet may appear.  Data
 * already received may come again (a retransmission): the first copy is
 * kept, as a TLS stack would.
 *
 * Context: any, never sleeps.
 * Return: 0; -EINVAL for a malformed packet or a first message that is not
 * a ClientHello; -EMSGSIZE for a ClientHello longer than QUIC_HELLO_MAX.
 */
int quic_hello_add(struct quic_hello *hello, const u8 *payload, u32 len)
{
	struct quic_reader r = { payload, payload + len };
	u64 type, offset, dlen;
	const u8 *data;

	while (quic_reader_left(&r)) {
		if (!quic_get_varint(&r, &type))
			return -EINVAL;
		switch (type) {
		case QUIC_FRAME_PADDING:
		case QUIC_FRAME_PING:
			continue;
		case QUIC_FRAME_ACK:
		case QUIC_FRAME_ACK_ECN:
			if (!quic_hello_skip_ack(&r, type == QUIC_FRAME_ACK_ECN))
				return -EINVAL;
			continue;
		case QUIC_FRAME_CLOSE:
			if (!quic_hello_skip_close(&r))
				return -EINVAL;
			continue;
		case QUIC_FRAME_CRYPTO:
			if (!quic_get_varint(&r, &offset) ||
			    !quic_get_varint(&r, &dlen) ||
			    !quic_get_bytes(&r, &data, dlen) ||
			    offset + dlen > QUIC_VARINT_MAX)
				return -EINVAL;
			if (dlen)
				quic_hello_store(hello, offset, data, dlen);
			continue;
		default:
			return -EINVAL;
		}
	}
	if (hello->len || find_first_zero_bit(hello->have, 4) < 4)
		return 0;
	if (hello->buf[0] != QUIC_TLS_CLIENT_HELLO)
		return -EINVAL;
	hello->len = 4 + get_unaligned_be24(hello->buf + 1);
	return hello->len > QUIC_HELLO_MAX ? -EMSGSIZE : 0;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_hello_add);

/**
 * quic_hello_alpn - the ALPN list of a gathered ClientHello
 * @hello: the collection
 * @alpn: out: the protocol name list (pointing into @hello), or none
 *
 * Context: any, never sleeps.
 * Return: 0 once the whole ClientHello is in and well formed; -EAGAIN
 * while part of it is missing; -EINVAL as quic_hello_parse().
 */
int quic_hello_alpn(const struct quic_hello *hello,
		    struct quic_hello_alpn *alpn)
{
	if (!hello->len || find_first_zero_bit(hello->have, hello->len) <
			   hello->len)
		return -EAGAIN;
	return quic_hello_parse(hello->buf, hello->len, alpn);
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_hello_alpn);

static bool quic_get_be16(struct quic_reader *r, u16 *v)
{
	const u8 *p;

	if (!quic_get_bytes(r, &p, 2))
		return false;
	*v = get_unaligned_be16(p);
	return true;
}

/* A vector with a one- or two-byte length: its bytes, checked in bounds. */
static bool quic_get_vec(struct quic_reader *r, bool wide, const u8 **p,
			 u16 *len)
{
	u8 l8;

	if (wide) {
		if (!quic_get_be16(r, len))
			return false;
	} else {
		if (!quic_get_u8(r, &l8))
			return false;
		*len = l8;
	}
	return quic_get_bytes(r, p, *len);
}

/* RFC 7301 3.1: ProtocolNameList protocol_name_list<2..2^16-1>, each
 * ProtocolName<1..2^8-1>, exactly filling the extension.
 */
static int quic_hello_alpn_check(const u8 *ext, u16 len,
				 struct quic_hello_alpn *alpn)
{
	struct quic_reader r = { ext, ext + len }, names;
	const u8 *list, *name;
	u16 llen;
	u8 nlen;

	if (!quic_get_vec(&r, true, &list, &llen) || quic_reader_left(&r) ||
	    llen < 2)
		return -EINVAL;
	names.p = list;
	names.end = list + llen;
	while (quic_reader_left(&names)) {
		if (!quic_get_u8(&names, &nlen) || !nlen ||
		    !quic_get_bytes(&names, &name, nlen))
			return -EINVAL;
	}
	alpn->list = list;
	alpn->len = llen;
	return 0;
}

/**
 * quic_hello_parse - read the ALPN extension of a whole ClientHello
 * @msg: the handshake message, from its type byte
 * @len: its length
 * @alpn: out: the protocol name list (pointing into @msg), or none
 *
 * RFC 8446 4.1.2 with RFC 9001 8.4 (no legacy session ID in QUIC).  At
 * most QUIC_HELLO_EXT_MAX extensions are accepted, every extension must
 * lie within the message, and a present ALPN extension must be a well
 * formed, non-empty list of non-empty names.
 *
 * Context: any, never sleeps.
 * Return: 0, or -EINVAL for anything malformed.
 */
int quic_hello_parse(const u8 *msg, u32 len, struct quic_hello_alpn *alpn)
{
	struct quic_reader r = { msg, msg + len };
	const u8 *p, *ext;
	u16 vlen, type;
	u32 n = 0;
	bool seen = false;
	int err;

	alpn->list = NULL;
	alpn->len = 0;
	if (len < 4 || msg[0] != QUIC_TLS_CLIENT_HELLO ||
	    get_unaligned_be24(msg + 1) != len - 4)
		return -EINVAL;
	r.p += 4;
	/* legacy_version, random, legacy_session_id (empty in QUIC),
	 * cipher_suites, legacy_compression_methods
	 */
	if (!quic_get_bytes(&r, &p, 2 + 32) ||
	    !quic_get_vec(&r, false, &p, &vlen) || vlen ||
	    !quic_get_vec(&r, true, &p, &vlen) || vlen < 2 || (vlen & 1) ||
	    !quic_get_vec(&r, false, &p, &vlen) || !vlen)
		return -EINVAL;
	/* extensions<8..2^16-1>, exactly to the end: QUIC's ClientHello has
	 * at least its transport parameters
	 */
	if (!quic_get_vec(&r, true, &p, &vlen) || quic_reader_left(&r) ||
	    vlen < 8)
		return -EINVAL;
	r.p = p;
	r.end = p + vlen;
	while (quic_reader_left(&r)) {
		if (++n > QUIC_HELLO_EXT_MAX || !quic_get_be16(&r, &type) ||
		    !quic_get_vec(&r, true, &ext, &vlen))
			return -EINVAL;
		if (type != QUIC_TLS_EXT_ALPN)
			continue;
		if (seen)
			return -EINVAL;	/* RFC 8446 4.2: one of each */
		seen = true;
		err = quic_hello_alpn_check(ext, vlen, alpn);
		if (err)
			return err;
	}
	return 0;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_hello_parse);

/**
 * quic_hello_alpn_next - walk the names of an ALPN list
 * @alpn: a list quic_hello_parse() accepted
 * @pos: the walk's position, 0 to start
 * @name: out: the next name
 * @name_len: out: its length
 *
 * Context: any, never sleeps.
 * Return: true with the next name, false at the end.
 */
bool quic_hello_alpn_next(const struct quic_hello_alpn *alpn, u32 *pos,
			  const u8 **name, u8 *name_len)
{
	if (*pos >= alpn->len)
		return false;
	*name_len = alpn->list[*pos];
	*name = alpn->list + *pos + 1;
	*pos += 1 + *name_len;
	return true;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_hello_alpn_next);
