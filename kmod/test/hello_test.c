// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests of the ClientHello reader (hello.c) that ALPN routing relies on:
 * well-formed ClientHellos with and without ALPN, each malformation the
 * reader must refuse, CRYPTO data gathered over several packets in any
 * order, and random and truncated input.
 */

#include <linux/errno.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/unaligned.h>

#include "../hello.h"
#include "quic_test.h"

#define QT_EXT_TP		0x39	/* quic_transport_parameters */
#define QT_EXT_ALPN		16

/* A message buffer being written: @len bytes so far */
struct qt_msg {
	u8 *buf;
	u32 len;
};

static void qt_put(struct qt_msg *m, const void *p, u32 len)
{
	memcpy(m->buf + m->len, p, len);
	m->len += len;
}

static void qt_put16(struct qt_msg *m, u16 v)
{
	put_unaligned_be16(v, m->buf + m->len);
	m->len += 2;
}

static void qt_ext(struct qt_msg *m, u16 type, const void *data, u16 len)
{
	qt_put16(m, type);
	qt_put16(m, len);
	qt_put(m, data, len);
}

/* An ALPN extension body listing @names (NUL-separated, "" ends) */
static u16 qt_alpn_body(u8 *body, const char *names)
{
	u16 len = 2;

	for (; *names; names += strlen(names) + 1) {
		body[len++] = strlen(names);
		memcpy(body + len, names, strlen(names));
		len += strlen(names);
	}
	put_unaligned_be16(len - 2, body);
	return len;
}

/* A ClientHello with extensions @exts (@sid_len bytes of session ID) */
static u32 qt_client_hello(struct quic_test *test, u8 *buf, const u8 *exts,
			   u32 exts_len, u8 sid_len)
{
	static const u8 random[32], sid[32];
	struct qt_msg m = { buf, 4 };

	qt_put16(&m, 0x0303);
	qt_put(&m, random, sizeof(random));
	m.buf[m.len++] = sid_len;
	qt_put(&m, sid, sid_len);
	qt_put16(&m, 2);
	qt_put16(&m, 0x1301);
	m.buf[m.len++] = 1;
	m.buf[m.len++] = 0;
	qt_put16(&m, exts_len);
	qt_put(&m, exts, exts_len);
	buf[0] = 1;
	put_unaligned_be24(m.len - 4, buf + 1);
	QUIC_ASSERT_TRUE(test, m.len <= QUIC_HELLO_MAX);
	return m.len;
}

static u8 *qt_hello_buf(struct quic_test *test)
{
	u8 *buf = quic_test_kzalloc(test, QUIC_HELLO_MAX, GFP_KERNEL);

	QUIC_ASSERT_NOT_NULL(test, buf);
	return buf;
}

/* Extensions: transport parameters, then an ALPN body, then padding */
static u32 qt_exts(u8 *exts, const u8 *alpn, u16 alpn_len)
{
	static const u8 tp[] = { 0x0f, 0x04, 1, 2, 3, 4 };
	struct qt_msg m = { exts, 0 };

	qt_ext(&m, QT_EXT_TP, tp, sizeof(tp));
	if (alpn)
		qt_ext(&m, QT_EXT_ALPN, alpn, alpn_len);
	qt_ext(&m, 21, tp, 2);
	return m.len;
}

static void alpn_list(struct quic_test *test)
{
	u8 *buf = qt_hello_buf(test), body[64], exts[128];
	struct quic_hello_alpn alpn;
	u16 blen = qt_alpn_body(body, "h3\0smb\0");
	u32 len, pos = 0;
	const u8 *name;
	u8 nlen;

	len = qt_client_hello(test, buf, exts, qt_exts(exts, body, blen), 0);
	QUIC_ASSERT_EQ(test, quic_hello_parse(buf, len, &alpn), 0);
	QUIC_EXPECT_EQ(test, alpn.len, blen - 2);
	QUIC_ASSERT_TRUE(test, quic_hello_alpn_next(&alpn, &pos, &name, &nlen));
	QUIC_EXPECT_EQ(test, nlen, 2);
	QUIC_EXPECT_MEMEQ(test, name, "h3", 2);
	QUIC_ASSERT_TRUE(test, quic_hello_alpn_next(&alpn, &pos, &name, &nlen));
	QUIC_EXPECT_EQ(test, nlen, 3);
	QUIC_EXPECT_MEMEQ(test, name, "smb", 3);
	QUIC_EXPECT_TRUE(test, !quic_hello_alpn_next(&alpn, &pos, &name, &nlen));
}

static void no_alpn(struct quic_test *test)
{
	u8 *buf = qt_hello_buf(test), exts[64];
	struct quic_hello_alpn alpn;
	u32 len;

	len = qt_client_hello(test, buf, exts, qt_exts(exts, NULL, 0), 0);
	QUIC_EXPECT_EQ(test, quic_hello_parse(buf, len, &alpn), 0);
	QUIC_EXPECT_EQ(test, alpn.len, 0);
}

/* ALPN extension bodies the reader must refuse */
static const struct {
	const char *desc;
	u8 body[8];
	u8 len;
} qt_bad_alpn[] = {
	{ "zero-length protocol name", { 0, 3, 0, 1, 'x' }, 5 },
	{ "name past the list's end", { 0, 3, 5, 'h', '3' }, 5 },
	{ "list length past the extension", { 0, 9, 2, 'h', '3' }, 5 },
	{ "list shorter than the extension", { 0, 3, 2, 'h', '3', 0 }, 6 },
	{ "empty list", { 0, 0 }, 2 },
	{ "no list length", { 0 }, 1 },
};

static void malformed_alpn(struct quic_test *test)
{
	u8 *buf = qt_hello_buf(test), exts[128];
	struct quic_hello_alpn alpn;
	u32 i, len;

	for (i = 0; i < ARRAY_SIZE(qt_bad_alpn); i++) {
		len = qt_client_hello(test, buf, exts,
				      qt_exts(exts, qt_bad_alpn[i].body,
					      qt_bad_alpn[i].len), 0);
		QUIC_EXPECT_TRUE_MSG(test, quic_hello_parse(buf, len, &alpn) ==
				     -EINVAL, "%s", qt_bad_alpn[i].desc);
	}
}

static void malformed_hello(struct quic_test *test)
{
	u8 *buf = qt_hello_buf(test), body[16], exts[128];
	struct quic_hello_alpn alpn;
	struct qt_msg m = { exts, 0 };
	u16 blen = qt_alpn_body(body, "h3\0");
	u32 len, elen;

	elen = qt_exts(exts, body, blen);
	/* a legacy session ID (RFC 9001 8.4) */
	len = qt_client_hello(test, buf, exts, elen, 8);
	QUIC_EXPECT_EQ(test, quic_hello_parse(buf, len, &alpn), -EINVAL);
	/* not a ClientHello; a length that does not fit the message */
	len = qt_client_hello(test, buf, exts, elen, 0);
	buf[0] = 2;
	QUIC_EXPECT_EQ(test, quic_hello_parse(buf, len, &alpn), -EINVAL);
	buf[0] = 1;
	QUIC_EXPECT_EQ(test, quic_hello_parse(buf, len - 1, &alpn), -EINVAL);
	/* an extension's length past the end of the extensions */
	put_unaligned_be16(200, buf + len - elen + 2);
	QUIC_EXPECT_EQ(test, quic_hello_parse(buf, len, &alpn), -EINVAL);
	/* two ALPN extensions */
	m.len = 0;
	qt_ext(&m, QT_EXT_ALPN, body, blen);
	qt_ext(&m, QT_EXT_ALPN, body, blen);
	len = qt_client_hello(test, buf, exts, m.len, 0);
	QUIC_EXPECT_EQ(test, quic_hello_parse(buf, len, &alpn), -EINVAL);
	/* every truncation of a good one */
	len = qt_client_hello(test, buf, exts, elen, 0);
	for (elen = 0; elen < len; elen++) {
		put_unaligned_be24(elen >= 4 ? elen - 4 : 0, buf + 1);
		QUIC_EXPECT_TRUE_MSG(test, quic_hello_parse(buf, elen, &alpn) ==
				     -EINVAL, "cut at %u", elen);
	}
}

/* QUIC_HELLO_EXT_MAX extensions pass; one more is refused */
static void extension_count(struct quic_test *test)
{
	u8 *buf = qt_hello_buf(test), *exts = qt_hello_buf(test), body[16];
	u16 blen = qt_alpn_body(body, "smb\0");
	struct quic_hello_alpn alpn;
	struct qt_msg m = { exts, 0 };
	u32 i, len;

	for (i = 0; i < QUIC_HELLO_EXT_MAX - 1; i++)
		qt_ext(&m, 0xfa00 + i, body, 0);
	qt_ext(&m, QT_EXT_ALPN, body, blen);
	len = qt_client_hello(test, buf, exts, m.len, 0);
	QUIC_EXPECT_EQ(test, quic_hello_parse(buf, len, &alpn), 0);
	QUIC_EXPECT_EQ(test, alpn.len, blen - 2);
	qt_ext(&m, 0xfb00, body, 0);
	len = qt_client_hello(test, buf, exts, m.len, 0);
	QUIC_EXPECT_EQ(test, quic_hello_parse(buf, len, &alpn), -EINVAL);
}

/* CRYPTO frame (offset, data) into @p; returns the bytes written */
static u32 qt_crypto_frame(u8 *p, u32 offset, const u8 *data, u32 len)
{
	u32 n = 0;

	p[n++] = 0x06;
	p[n++] = 0x80 | (offset >> 24);		/* four-byte varints */
	put_unaligned_be24(offset, p + n);
	n += 3;
	p[n++] = 0x80 | (len >> 24);
	put_unaligned_be24(len, p + n);
	n += 3;
	memcpy(p + n, data, len);
	return n + len;
}

/*
 * A ClientHello larger than one packet, in three CRYPTO frames over two
 * packets, the second part first, with PADDING, PING and ACK around.
 */
static void gather(struct quic_test *test)
{
	u8 *msg = qt_hello_buf(test), *exts = qt_hello_buf(test);
	u8 *pkt = qt_hello_buf(test), *big = qt_hello_buf(test), body[16];
	struct qt_msg m = { exts, 0 };
	struct quic_hello_alpn alpn;
	struct quic_hello *hello;
	u32 len, n, third;

	hello = quic_test_kzalloc(test, sizeof(*hello), GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, hello);
	qt_ext(&m, 0x11ec, big, 1600);	/* an ML-KEM-sized key share */
	qt_ext(&m, QT_EXT_ALPN, body, qt_alpn_body(body, "nfs\0"));
	len = qt_client_hello(test, msg, exts, m.len, 0);
	third = len / 3;

	/* packet 1: ACK, the last third, PING, padding */
	n = 0;
	pkt[n++] = 0x02;
	pkt[n++] = 0;
	pkt[n++] = 0;
	pkt[n++] = 0;
	pkt[n++] = 0;
	n += qt_crypto_frame(pkt + n, 2 * third, msg + 2 * third,
			     len - 2 * third);
	pkt[n++] = 0x01;
	memset(pkt + n, 0, 20);
	n += 20;
	QUIC_ASSERT_EQ(test, quic_hello_add(hello, pkt, n), 0);
	QUIC_EXPECT_EQ(test, quic_hello_alpn(hello, &alpn), -EAGAIN);

	/* packet 2: the first two thirds, the first one twice */
	n = qt_crypto_frame(pkt, 0, msg, third);
	n += qt_crypto_frame(pkt + n, third, msg + third, third);
	n += qt_crypto_frame(pkt + n, 0, msg, third);
	QUIC_ASSERT_EQ(test, quic_hello_add(hello, pkt, 4), -EINVAL);
	QUIC_EXPECT_EQ(test, quic_hello_alpn(hello, &alpn), -EAGAIN);
	QUIC_ASSERT_EQ(test, quic_hello_add(hello, pkt, n), 0);
	QUIC_ASSERT_EQ(test, quic_hello_alpn(hello, &alpn), 0);
	QUIC_EXPECT_EQ(test, alpn.len, 4);
	QUIC_EXPECT_MEMEQ(test, alpn.list, "\x03nfs", 4);
}

static void gather_refused(struct quic_test *test)
{
	static const u8 stream[] = { 0x08, 0x00, 0x01, 'x' };
	static const u8 big[] = { 0x06, 0x00, 0x04, 0x01, 0x00, 0x40, 0x00 };
	static const u8 server_hello[] = { 0x06, 0x00, 0x04, 0x02, 0, 0, 9 };
	static const u8 cut[] = { 0x06, 0x00, 0x08, 0x01 };
	struct quic_hello *hello;

	hello = quic_test_kzalloc(test, sizeof(*hello), GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, hello);
	QUIC_EXPECT_EQ(test, quic_hello_add(hello, stream, sizeof(stream)),
		       -EINVAL);
	QUIC_EXPECT_EQ(test, quic_hello_add(hello, cut, sizeof(cut)), -EINVAL);
	QUIC_EXPECT_EQ(test, quic_hello_add(hello, server_hello,
					    sizeof(server_hello)), -EINVAL);
	memset(hello, 0, sizeof(*hello));
	/* a ClientHello of 0x400000 bytes: more than anyone sends */
	QUIC_EXPECT_EQ(test, quic_hello_add(hello, big, sizeof(big)),
		       -EMSGSIZE);
}

/* Random frames and messages, each in an exact allocation (KFENCE) */
static void fuzz(struct quic_test *test)
{
	struct quic_hello_alpn alpn;
	struct quic_hello *hello;
	int i, len, err;
	u8 *buf;

	hello = quic_test_kzalloc(test, sizeof(*hello), GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, hello);
	for (i = 0; i < 2000; i++) {
		len = 1 + get_random_u32_below(300);
		buf = kmalloc(len, GFP_KERNEL);
		QUIC_ASSERT_NOT_NULL(test, buf);
		get_random_bytes(buf, len);
		if (i & 1) {
			buf[0] = 1;
			if (len >= 4)
				put_unaligned_be24(len - 4, buf + 1);
			err = quic_hello_parse(buf, len, &alpn);
			QUIC_EXPECT_TRUE_MSG(test, !err || err == -EINVAL,
					     "parse: %d", err);
		} else {
			memset(hello, 0, sizeof(*hello));
			err = quic_hello_add(hello, buf, len);
			QUIC_EXPECT_TRUE_MSG(test, !err || err == -EINVAL ||
					     err == -EMSGSIZE, "add: %d", err);
			if (!err)
				err = quic_hello_alpn(hello, &alpn);
			QUIC_EXPECT_TRUE_MSG(test, err != -ENOMEM, "%d", err);
		}
		kfree(buf);
	}
}

static struct quic_test_case quic_hello_test_cases[] = {
	QUIC_TEST_CASE(alpn_list),
	QUIC_TEST_CASE(no_alpn),
	QUIC_TEST_CASE(malformed_alpn),
	QUIC_TEST_CASE(malformed_hello),
	QUIC_TEST_CASE(extension_count),
	QUIC_TEST_CASE(gather),
	QUIC_TEST_CASE(gather_refused),
	QUIC_TEST_CASE(fuzz),
	{}
};

struct quic_test_suite quic_hello_test_suite = {
	.name = "quic_hello",
	.test_cases = quic_hello_test_cases,
};
