// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests of the transport parameter codec (tp.c): malformed and boundary
 * input, the client parameters of RFC 9001 A.2, encode/decode round trips
 * with every parameter, truncations, random and mutated input, and the
 * QUIC_SOCKOPT_TRANSPORT_PARAM conversion.
 */

#include <linux/errno.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../tp.h"
#include "quic_test.h"

/**
 * struct qt_tp_case - one encoded extension body and the decoder's answer
 * @desc: parameter description
 * @is_serv: decode as the server (the body is a client's)
 * @version: version of the connection (0: not checked)
 * @err: expected result of quic_tp_decode()
 * @data: the extension body
 * @len: its length
 */
struct qt_tp_case {
	const char	*desc;
	bool		is_serv;
	u32		version;
	int		err;
	const u8	*data;
	u32		len;
};

/* .data and .len of a body given as bytes */
#define QT_BODY(...)							\
	.data = (const u8[]){ __VA_ARGS__ },				\
	.len = sizeof((const u8[]){ __VA_ARGS__ })

/* Most start with initial_source_connection_id 01020304: 0f 04 01 02 03 04 */
static const struct qt_tp_case qt_tp_cases[] = {
	{ "minimal client parameters", true, 0, 0,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04) },
	{ "duplicate initial_max_data", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x04, 0x01, 0x0a, 0x04,
		  0x01, 0x0a) },
	{ "duplicate initial_source_connection_id", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x0f, 0x04, 0x01, 0x02,
		  0x03, 0x04) },
	{ "varint cut", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x40) },
	{ "length beyond the end", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x04, 0x05, 0x0a) },
	{ "integer shorter than its length", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x04, 0x02, 0x0a, 0x00) },
	{ "empty integer", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x04, 0x00) },
	{ "max_udp_payload_size 1199", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x03, 0x02, 0x44, 0xaf) },
	{ "max_udp_payload_size 1200", true, 0, 0,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x03, 0x02, 0x44, 0xb0) },
	{ "ack_delay_exponent 21", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x01, 0x15) },
	{ "ack_delay_exponent 20", true, 0, 0,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x01, 0x14) },
	{ "max_ack_delay 2^14", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x0b, 0x04, 0x80, 0x00,
		  0x40, 0x00) },
	{ "max_ack_delay 2^14 - 1", true, 0, 0,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x0b, 0x02, 0x7f, 0xff) },
	{ "active_connection_id_limit 1", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x0e, 0x01, 0x01) },
	{ "initial_max_streams_bidi 2^60 + 1", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x08, 0x08, 0xd0, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x01) },
	{ "initial_max_streams_uni 2^60", true, 0, 0,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x09, 0x08, 0xd0, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00) },
	{ "original_destination_connection_id from a client", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x00, 0x04, 0x01, 0x02,
		  0x03, 0x04) },
	{ "stateless_reset_token from a client", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x02, 0x10, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00) },
	{ "retry_source_connection_id from a client", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x10, 0x04, 0x01, 0x02,
		  0x03, 0x04) },
	{ "21-byte connection ID", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x15, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
		  0x12, 0x13, 0x14) },
	{ "no initial_source_connection_id", true, 0, -EINVAL,
	  QT_BODY(0x04, 0x01, 0x0a) },
	{ "no original_destination_connection_id from a server", false, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04) },
	{ "minimal server parameters", false, 0, 0,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x00, 0x04, 0x01, 0x02,
		  0x03, 0x04) },
	{ "15-byte stateless_reset_token", false, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x00, 0x04, 0x01, 0x02,
		  0x03, 0x04, 0x02, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00) },
	{ "preferred_address with an empty CID", false, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x00, 0x04, 0x01, 0x02,
		  0x03, 0x04, 0x0d, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00) },
	{ "preferred_address", false, 0, 0,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x00, 0x04, 0x01, 0x02,
		  0x03, 0x04, 0x0d, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00) },
	{ "preferred_address CID beyond the value", false, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x00, 0x04, 0x01, 0x02,
		  0x03, 0x04, 0x0d, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00) },
	{ "version_information chosen 0", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x11, 0x04, 0x00, 0x00,
		  0x00, 0x00) },
	{ "version_information length % 4", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x11, 0x03, 0x00, 0x00,
		  0x01) },
	{ "version_information available 0", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x11, 0x08, 0x00, 0x00,
		  0x00, 0x01, 0x00, 0x00, 0x00, 0x00) },
	{ "version_information chosen v1 on v2", true, QUIC_VERSION_V2, -EPROTONOSUPPORT,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x11, 0x08, 0x00, 0x00,
		  0x00, 0x01, 0x00, 0x00, 0x00, 0x01) },
	{ "version_information v1, v2 available", true, QUIC_VERSION_V1, 0,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x11, 0x08, 0x00, 0x00,
		  0x00, 0x01, 0x6b, 0x33, 0x43, 0xcf) },
	{ "grease_quic_bit with a value", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x6a, 0xb2, 0x01, 0x00) },
	{ "disable_active_migration with a value", true, 0, -EINVAL,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x0c, 0x01, 0x00) },
	{ "flags and unknown parameters", true, 0, 0,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x6a, 0xb2, 0x00, 0x0c,
		  0x00, 0x80, 0x00, 0xba, 0xad, 0x00, 0x1b, 0x00, 0x4a, 0x0a,
		  0x03, 0xaa, 0xbb, 0xcc) },
	{ "unknown parameter twice", true, 0, 0,
	  QT_BODY(0x0f, 0x04, 0x01, 0x02, 0x03, 0x04, 0x1b, 0x00, 0x1b, 0x00) },
};

static void qt_tp_case_desc(const struct qt_tp_case *tc, char *desc)
{
	strscpy(desc, tc->desc, QUIC_TEST_PARAM_DESC_SIZE);
}

QUIC_TEST_ARRAY_PARAM(qt_tp_case, qt_tp_cases, qt_tp_case_desc);

/* A kmalloc()ed copy of @data: exactly sized, so reads past it are caught */
static u8 *qt_copy(struct quic_test *test, const u8 *data, u32 len)
{
	u8 *buf = quic_test_kzalloc(test, len ?: 1, GFP_KERNEL);

	QUIC_ASSERT_NOT_NULL(test, buf);
	memcpy(buf, data, len);
	return buf;
}

static struct quic_tp *qt_tp_new(struct quic_test *test)
{
	struct quic_tp *tp = quic_test_kzalloc(test, sizeof(*tp), GFP_KERNEL);

	QUIC_ASSERT_NOT_NULL(test, tp);
	return tp;
}

/* Malformed, boundary and valid extension bodies */
static void decode_cases(struct quic_test *test)
{
	const struct qt_tp_case *tc = test->param_value;
	struct quic_tp *p = qt_tp_new(test);
	u8 *in = qt_copy(test, tc->data, tc->len);

	QUIC_EXPECT_EQ(test, quic_tp_decode(p, tc->is_serv, tc->version, in,
					    tc->len), tc->err);
}

/* An empty body lacks initial_source_connection_id */
static void decode_empty(struct quic_test *test)
{
	struct quic_tp *p = qt_tp_new(test);
	u8 *in = qt_copy(test, NULL, 0);

	QUIC_EXPECT_EQ(test, quic_tp_decode(p, true, 0, in, 0), -EINVAL);
}

/* The client's parameters inside the RFC 9001 A.2 ClientHello */
static void decode_rfc9001_client(struct quic_test *test)
{
	static const u8 body[] = {
		0x04, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x05, 0x04, 0x80, 0x00, 0xff, 0xff, 0x07, 0x04, 0x80, 0x00,
		0xff, 0xff, 0x08, 0x01, 0x10, 0x01, 0x04, 0x80, 0x00, 0x75,
		0x30, 0x09, 0x01, 0x10, 0x0f, 0x08, 0x83, 0x94, 0xc8, 0xf0,
		0x3e, 0x51, 0x57, 0x08, 0x06, 0x04, 0x80, 0x00, 0xff, 0xff,
	};
	struct quic_tp *p = qt_tp_new(test);
	u8 *in = qt_copy(test, body, sizeof(body));

	QUIC_ASSERT_EQ(test, quic_tp_decode(p, true, QUIC_VERSION_V1, in,
					    sizeof(body)), 0);
	QUIC_EXPECT_EQ(test, p->max_data, (1ULL << 62) - 1);
	QUIC_EXPECT_EQ(test, p->max_stream_data_bidi_local, 0xffff);
	QUIC_EXPECT_EQ(test, p->max_stream_data_bidi_remote, 0xffff);
	QUIC_EXPECT_EQ(test, p->max_stream_data_uni, 0xffff);
	QUIC_EXPECT_EQ(test, p->max_streams_bidi, 16);
	QUIC_EXPECT_EQ(test, p->max_streams_uni, 16);
	QUIC_EXPECT_EQ(test, p->max_idle_timeout, 30000000);
	QUIC_EXPECT_EQ(test, p->max_udp_payload_size, 65527);
	QUIC_EXPECT_EQ(test, p->ack_delay_exponent, 3);
	QUIC_EXPECT_EQ(test, p->max_ack_delay, 25000);
	QUIC_EXPECT_EQ(test, p->active_connection_id_limit, 2);
	QUIC_EXPECT_EQ(test, p->initial_scid.len, 8);
	QUIC_EXPECT_EQ(test, p->initial_scid.data[0], 0x83);
	QUIC_EXPECT_TRUE(test, !p->version_info_present);
}

/* Server parameters with every parameter set */
static struct quic_tp *qt_tp_server(struct quic_test *test)
{
	struct quic_tp *l = qt_tp_new(test);

	quic_tp_init_local(l);
	l->original_dcid.len = 8;
	memset(l->original_dcid.data, 0x83, 8);
	l->initial_scid.len = 20;
	memset(l->initial_scid.data, 0x5c, 20);
	l->retry_scid_present = 1;
	l->retry_scid.len = 0;
	l->stateless_reset = 1;
	memset(l->stateless_reset_token, 0x77, 16);
	l->pref_addr_present = 1;
	memcpy(l->pref_addr.v4_addr, "\xc0\x00\x02\x01", 4);
	l->pref_addr.v4_port = 4433;
	l->pref_addr.v6_addr[15] = 1;
	l->pref_addr.v6_port = 4434;
	l->pref_addr.cid.len = 16;
	memset(l->pref_addr.cid.data, 0x99, 16);
	memset(l->pref_addr.token, 0x66, 16);
	l->chosen_version = QUIC_VERSION_V1;
	l->available_count = 2;
	l->available_versions[0] = QUIC_VERSION_V1;
	l->available_versions[1] = QUIC_VERSION_V2;
	l->max_datagram_frame_size = 1500;
	l->grease_quic_bit = 1;
	l->disable_active_migration = 1;
	l->disable_1rtt_encryption = 1;
	l->ack_delay_exponent = 5;
	l->max_ack_delay = 40000;
	l->max_udp_payload_size = 1472;
	l->max_streams_uni = 1ULL << 60;
	return l;
}

/* Encode as the server, decode as the client: every parameter survives */
static void server_round_trip(struct quic_test *test)
{
	struct quic_tp *l = qt_tp_server(test), *p = qt_tp_new(test);
	u8 *buf;
	int n, i;

	buf = quic_test_kzalloc(test, QUIC_TP_EXT_MAX_LEN, GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, buf);
	n = quic_tp_encode(l, true, buf, QUIC_TP_EXT_MAX_LEN);
	QUIC_ASSERT_TRUE_MSG(test, n > 0, "%d", n);
	QUIC_ASSERT_EQ(test, quic_tp_decode(p, false, QUIC_VERSION_V1, buf, n),
		       0);
	QUIC_EXPECT_EQ(test, p->max_idle_timeout, l->max_idle_timeout);
	QUIC_EXPECT_EQ(test, p->max_udp_payload_size, l->max_udp_payload_size);
	QUIC_EXPECT_EQ(test, p->max_data, l->max_data);
	QUIC_EXPECT_EQ(test, p->max_stream_data_bidi_local,
		       l->max_stream_data_bidi_local);
	QUIC_EXPECT_EQ(test, p->max_stream_data_bidi_remote,
		       l->max_stream_data_bidi_remote);
	QUIC_EXPECT_EQ(test, p->max_stream_data_uni, l->max_stream_data_uni);
	QUIC_EXPECT_EQ(test, p->max_streams_bidi, l->max_streams_bidi);
	QUIC_EXPECT_EQ(test, p->max_streams_uni, l->max_streams_uni);
	QUIC_EXPECT_EQ(test, p->ack_delay_exponent, l->ack_delay_exponent);
	QUIC_EXPECT_EQ(test, p->max_ack_delay, l->max_ack_delay);
	QUIC_EXPECT_EQ(test, p->active_connection_id_limit,
		       l->active_connection_id_limit);
	QUIC_EXPECT_EQ(test, p->max_datagram_frame_size,
		       l->max_datagram_frame_size);
	QUIC_EXPECT_TRUE(test, p->disable_active_migration);
	QUIC_EXPECT_TRUE(test, p->grease_quic_bit);
	QUIC_EXPECT_TRUE(test, p->disable_1rtt_encryption);
	QUIC_EXPECT_TRUE(test, p->stateless_reset);
	QUIC_EXPECT_TRUE(test, p->pref_addr_present);
	QUIC_EXPECT_TRUE(test, p->retry_scid_present);
	QUIC_EXPECT_TRUE(test, p->odcid_present);
	QUIC_EXPECT_TRUE(test, p->iscid_present);
	QUIC_EXPECT_TRUE(test, p->version_info_present);
	QUIC_EXPECT_MEMEQ(test, &p->original_dcid, &l->original_dcid,
			  sizeof(l->original_dcid));
	QUIC_EXPECT_MEMEQ(test, &p->initial_scid, &l->initial_scid,
			  sizeof(l->initial_scid));
	QUIC_EXPECT_EQ(test, p->retry_scid.len, 0);
	QUIC_EXPECT_MEMEQ(test, p->stateless_reset_token,
			  l->stateless_reset_token, 16);
	QUIC_EXPECT_MEMEQ(test, &p->pref_addr, &l->pref_addr,
			  sizeof(l->pref_addr));
	QUIC_EXPECT_EQ(test, p->chosen_version, QUIC_VERSION_V1);
	QUIC_EXPECT_EQ(test, p->available_count, 2);
	QUIC_EXPECT_EQ(test, p->available_versions[1], QUIC_VERSION_V2);

	QUIC_EXPECT_EQ(test, quic_tp_decode(p, false, QUIC_VERSION_V2, buf, n),
		       -EPROTONOSUPPORT);
	QUIC_EXPECT_EQ(test, quic_tp_decode(p, true, QUIC_VERSION_V1, buf, n),
		       -EINVAL);
	/*
	 * Truncations: a cut at a parameter boundary is a valid shorter list,
	 * anything else must be refused, and none may read past the end.
	 */
	for (i = 0; i < n; i++) {
		u8 *cut = qt_copy(test, buf, i);
		int err = quic_tp_decode(p, false, QUIC_VERSION_V1, cut, i);

		QUIC_EXPECT_TRUE_MSG(test, !err || err == -EINVAL,
				     "cut at %d: %d", i, err);
	}
	QUIC_EXPECT_EQ(test, quic_tp_decode(p, false, QUIC_VERSION_V1, buf,
					    n - 1), -EINVAL);
	QUIC_EXPECT_EQ(test, quic_tp_encode(l, true, buf, 40), -ENOSPC);
}

/* Encode as the client: no server-only parameters */
static void client_round_trip(struct quic_test *test)
{
	struct quic_tp *l = qt_tp_server(test), *p = qt_tp_new(test);
	u8 *buf;
	int n;

	buf = quic_test_kzalloc(test, QUIC_TP_EXT_MAX_LEN, GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, buf);
	l->disable_compatible_version = 1;
	n = quic_tp_encode(l, false, buf, QUIC_TP_EXT_MAX_LEN);
	QUIC_ASSERT_TRUE_MSG(test, n > 0, "%d", n);
	QUIC_ASSERT_EQ(test, quic_tp_decode(p, true, QUIC_VERSION_V1, buf, n),
		       0);
	QUIC_EXPECT_TRUE(test, !p->odcid_present);
	QUIC_EXPECT_TRUE(test, !p->stateless_reset);
	QUIC_EXPECT_TRUE(test, !p->pref_addr_present);
	QUIC_EXPECT_TRUE(test, !p->version_info_present);
	QUIC_EXPECT_MEMEQ(test, &p->initial_scid, &l->initial_scid,
			  sizeof(l->initial_scid));
}

/*
 * Hostile input: random bodies and mutated valid ones, each in an exactly
 * sized allocation so that KFENCE and slab checks catch a read past the end.
 */
static void decode_fuzz(struct quic_test *test)
{
	struct quic_tp *l = qt_tp_new(test), *p = qt_tp_new(test);
	int i, n, len, err;
	u8 *enc, *buf, r[4];

	enc = quic_test_kzalloc(test, QUIC_TP_EXT_MAX_LEN, GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, enc);
	quic_tp_init_local(l);
	l->initial_scid.len = 8;
	l->chosen_version = QUIC_VERSION_V1;
	l->max_datagram_frame_size = 1200;
	n = quic_tp_encode(l, false, enc, QUIC_TP_EXT_MAX_LEN);
	QUIC_ASSERT_TRUE_MSG(test, n > 0, "%d", n);
	for (i = 0; i < 3000; i++) {
		get_random_bytes(r, sizeof(r));
		len = i < 1000 ? r[0] % 64 : n;
		buf = kmalloc(len ?: 1, GFP_KERNEL);
		QUIC_ASSERT_NOT_NULL(test, buf);
		if (i < 1000) {
			get_random_bytes(buf, len);
		} else {
			memcpy(buf, enc, n);
			buf[(r[1] << 8 | r[2]) % n] ^= 1 << (r[3] % 8);
		}
		err = quic_tp_decode(p, true, QUIC_VERSION_V1, buf, len);
		kfree(buf);
		QUIC_EXPECT_TRUE_MSG(test, !err || err == -EINVAL ||
				     err == -EPROTONOSUPPORT, "%d", err);
	}
}

/* Our defaults as QUIC_SOCKOPT_TRANSPORT_PARAM reports them */
static void user_defaults(struct quic_test *test)
{
	struct quic_tp *l = qt_tp_new(test);
	struct quic_transport_param up = {};

	quic_tp_init_local(l);
	quic_tp_to_user(l, &up);
	QUIC_EXPECT_EQ(test, up.active_connection_id_limit, 7);
	QUIC_EXPECT_EQ(test, up.ack_delay_exponent, 3);
	QUIC_EXPECT_EQ(test, up.max_udp_payload_size, 65527);
	QUIC_EXPECT_EQ(test, up.max_idle_timeout, 30000000);
	QUIC_EXPECT_EQ(test, up.max_ack_delay, 25000);
	QUIC_EXPECT_EQ(test, up.max_streams_bidi, 100);
	QUIC_EXPECT_EQ(test, up.max_data, 65535 * 32);
	QUIC_EXPECT_EQ(test, up.max_stream_data_uni, 65535 * 16);
}

/* QUIC_SOCKOPT_TRANSPORT_PARAM overlays non-zero fields and checks ranges */
static void user_overlay(struct quic_test *test)
{
	struct quic_tp *l = qt_tp_new(test);
	struct quic_transport_param up = {};

	quic_tp_init_local(l);
	up.max_datagram_frame_size = 1400;
	up.max_idle_timeout = 5000000;
	QUIC_ASSERT_EQ(test, quic_tp_set_user(l, &up, false), 0);
	QUIC_EXPECT_EQ(test, l->max_datagram_frame_size, 1400);
	QUIC_EXPECT_EQ(test, l->max_idle_timeout, 5000000);
	QUIC_EXPECT_EQ(test, l->active_connection_id_limit, 7);

	up.active_connection_id_limit = 9;
	QUIC_EXPECT_EQ(test, quic_tp_set_user(l, &up, false), -EINVAL);
	QUIC_EXPECT_EQ(test, l->active_connection_id_limit, 7);

	memset(&up, 0, sizeof(up));
	up.max_data = S32_MAX;
	QUIC_EXPECT_EQ(test, quic_tp_set_user(l, &up, false), -EINVAL);
	QUIC_EXPECT_EQ(test, quic_tp_set_user(l, &up, true), 0);

	memset(&up, 0, sizeof(up));
	up.max_udp_payload_size = 1199;
	QUIC_EXPECT_EQ(test, quic_tp_set_user(l, &up, false), -EINVAL);
}

static struct quic_test_case quic_tp_test_cases[] = {
	QUIC_TEST_CASE_PARAM(decode_cases, qt_tp_case_gen_params),
	QUIC_TEST_CASE(decode_empty),
	QUIC_TEST_CASE(decode_rfc9001_client),
	QUIC_TEST_CASE(server_round_trip),
	QUIC_TEST_CASE(client_round_trip),
	QUIC_TEST_CASE(decode_fuzz),
	QUIC_TEST_CASE(user_defaults),
	QUIC_TEST_CASE(user_overlay),
	{}
};

struct quic_test_suite quic_tp_test_suite = {
	.name = "quic_tp",
	.test_cases = quic_tp_test_cases,
};
