// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests of the listener secrets (crypto.c): address validation tokens as
 * quic_token_create() makes them for NEW_TOKEN, stateless reset tokens and
 * the session ticket key.
 *
 * The test opens tokens itself with the listener's token key and checks
 * the blob that quic_token_create() documents: type, creation time (be64
 * seconds), address family, address (16 bytes, IPv4 left-aligned), ODCID
 * length, ODCID; and quic_token_verify(), which listeners use on the tokens
 * of client Initials, against good, altered, foreign and misaddressed
 * tokens.
 */

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/unaligned.h>
#include <crypto/aead.h>

#include "../crypto.h"
#include "quic_test.h"

#define QT_BLOB_HDR	(1 + 8 + 1 + 16 + 1)

static void qt_token_ctx_free_action(void *ctx)
{
	quic_token_ctx_free(ctx);
}

/* A listener token context from @secret (NULL: random), freed at the end */
static struct quic_token_ctx *qt_token_ctx(struct quic_test *test,
					   const u8 *secret)
{
	struct quic_token_ctx *ctx;

	ctx = quic_test_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, ctx);
	QUIC_ASSERT_EQ(test, quic_token_ctx_init(ctx, secret), 0);
	QUIC_ASSERT_EQ(test, quic_test_add_action(test,
						  qt_token_ctx_free_action,
						  ctx), 0);
	return ctx;
}

/*
 * Open a token with @ctx's token key: nonce (QUIC_IV_LEN) || ciphertext ||
 * tag.  Return the blob length, or the AEAD's error (-EBADMSG if the token
 * was not sealed with this key).
 */
static int qt_token_open(struct quic_test *test, struct quic_token_ctx *ctx,
			 const u8 *token, u32 tlen, u8 *blob)
{
	u32 clen = tlen - QUIC_IV_LEN;
	struct aead_request *req;
	struct scatterlist sg;
	u8 iv[16] = {}, *buf;
	int err;

	QUIC_ASSERT_TRUE(test, tlen >= QUIC_TOKEN_OVERHEAD);
	buf = quic_test_kzalloc(test, clen, GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, buf);
	req = aead_request_alloc(ctx->aead, GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, req);
	memcpy(iv, token, QUIC_IV_LEN);
	memcpy(buf, token + QUIC_IV_LEN, clen);
	sg_init_one(&sg, buf, clen);
	aead_request_set_callback(req, 0, NULL, NULL);
	aead_request_set_ad(req, 0);
	aead_request_set_crypt(req, &sg, &sg, clen, iv);
	err = crypto_aead_decrypt(req);
	aead_request_free(req);
	if (err)
		return err;
	memcpy(blob, buf, clen - QUIC_TAG_LEN);
	return clen - QUIC_TAG_LEN;
}

/* Check the blob of a token made just now for @addr (16 bytes) */
static void qt_expect_blob(struct quic_test *test, const u8 *blob, int n,
			   u8 type, u8 family, const u8 *addr,
			   const u8 *odcid, u8 odcid_len)
{
	time64_t now = ktime_get_real_seconds();
	time64_t t = get_unaligned_be64(blob + 1);

	QUIC_ASSERT_EQ(test, n, QT_BLOB_HDR + odcid_len);
	QUIC_EXPECT_EQ(test, blob[0], type);
	QUIC_EXPECT_TRUE_MSG(test, t <= now && t >= now - 60, "%lld, now %lld",
			     t, now);
	QUIC_EXPECT_EQ(test, blob[9], family);
	QUIC_EXPECT_MEMEQ(test, blob + 10, addr, 16);
	QUIC_EXPECT_EQ(test, blob[26], odcid_len);
	QUIC_EXPECT_MEMEQ(test, blob + QT_BLOB_HDR, odcid, odcid_len);
}

/* A NEW_TOKEN token: sealed with the listener's key, bound to the address */
static void new_token(struct quic_test *test)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	u8 tok[QUIC_TOKEN_CREATE_MAX_LEN], tok2[QUIC_TOKEN_CREATE_MAX_LEN];
	u8 blob[QUIC_TOKEN_CREATE_MAX_LEN];
	struct quic_token_ctx *t;
	int n;

	t = qt_token_ctx(test, NULL);
	a6.sin6_addr.s6_addr[0] = 0x20;
	a6.sin6_addr.s6_addr[15] = 1;
	a6.sin6_port = htons(4433);
	n = quic_token_create(t, QUIC_TOKEN_NEW, (struct sockaddr *)&a6, NULL,
			      0, tok, sizeof(tok));
	QUIC_ASSERT_EQ(test, n, QT_BLOB_HDR + QUIC_TOKEN_OVERHEAD);
	/* a fresh random nonce each time */
	QUIC_ASSERT_EQ(test, quic_token_create(t, QUIC_TOKEN_NEW,
					       (struct sockaddr *)&a6, NULL, 0,
					       tok2, sizeof(tok2)), n);
	QUIC_EXPECT_TRUE(test, memcmp(tok, tok2, n));

	n = qt_token_open(test, t, tok, n, blob);
	qt_expect_blob(test, blob, n, QUIC_TOKEN_NEW, AF_INET6,
		       a6.sin6_addr.s6_addr, NULL, 0);
}

/* A Retry token carries the client's original DCID */
static void retry_token(struct quic_test *test)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	u8 tok[QUIC_TOKEN_CREATE_MAX_LEN], blob[QUIC_TOKEN_CREATE_MAX_LEN];
	u8 odcid[QUIC_CID_MAX_LEN], addr[16] = {};
	struct quic_token_ctx *t;
	int n;

	t = qt_token_ctx(test, NULL);
	memset(odcid, 0x42, sizeof(odcid));
	a4.sin_addr.s_addr = htonl(0xc0000201);
	memcpy(addr, &a4.sin_addr, 4);
	n = quic_token_create(t, QUIC_TOKEN_RETRY, (struct sockaddr *)&a4,
			      odcid, sizeof(odcid), tok, sizeof(tok));
	QUIC_ASSERT_EQ(test, n, QUIC_TOKEN_CREATE_MAX_LEN);
	n = qt_token_open(test, t, tok, n, blob);
	qt_expect_blob(test, blob, n, QUIC_TOKEN_RETRY, AF_INET, addr, odcid,
		       sizeof(odcid));
}

/*
 * quic_token_verify(): what a listener accepts from an Initial.  Only a
 * token our key sealed, for the Initial's source IP (any port), gives its
 * type, age and, for a Retry token, the original DCID back.
 */
static void token_verify(struct quic_test *test)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET }, b4;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	u8 tok[QUIC_TOKEN_CREATE_MAX_LEN], odcid[8];
	struct quic_token_ctx *t, *other;
	struct quic_token_info v;
	int n;

	t = qt_token_ctx(test, NULL);
	other = qt_token_ctx(test, NULL);
	memset(odcid, 0x5a, sizeof(odcid));
	a4.sin_addr.s_addr = htonl(0xc0000201);
	a4.sin_port = htons(4433);
	n = quic_token_create(t, QUIC_TOKEN_RETRY, (struct sockaddr *)&a4,
			      odcid, sizeof(odcid), tok, sizeof(tok));
	QUIC_ASSERT_TRUE(test, n > 0);
	memset(&v, 0xff, sizeof(v));
	QUIC_ASSERT_EQ(test, quic_token_verify(t, tok, n, (struct sockaddr *)&a4,
					       &v), 0);
	QUIC_EXPECT_EQ(test, v.type, QUIC_TOKEN_RETRY);
	QUIC_EXPECT_TRUE(test, v.age <= 1);
	QUIC_EXPECT_EQ(test, v.odcid_len, sizeof(odcid));
	QUIC_EXPECT_MEMEQ(test, v.odcid, odcid, sizeof(odcid));

	/* NAT rebinding: another port of the same address is fine */
	b4 = a4;
	b4.sin_port = htons(1);
	QUIC_EXPECT_EQ(test, quic_token_verify(t, tok, n, (struct sockaddr *)&b4,
					       &v), 0);
	/* another address, another family, another key, a changed byte,
	 * a cut token
	 */
	b4.sin_addr.s_addr = htonl(0xc0000202);
	QUIC_EXPECT_EQ(test, quic_token_verify(t, tok, n, (struct sockaddr *)&b4,
					       &v), -EINVAL);
	QUIC_EXPECT_EQ(test, quic_token_verify(t, tok, n, (struct sockaddr *)&a6,
					       &v), -EINVAL);
	QUIC_EXPECT_EQ(test, quic_token_verify(other, tok, n,
					       (struct sockaddr *)&a4, &v),
		       -EBADMSG);
	tok[n / 2] ^= 0x01;
	QUIC_EXPECT_EQ(test, quic_token_verify(t, tok, n, (struct sockaddr *)&a4,
					       &v), -EBADMSG);
	tok[n / 2] ^= 0x01;
	QUIC_EXPECT_EQ(test, quic_token_verify(t, tok, QUIC_TOKEN_OVERHEAD - 1,
					       (struct sockaddr *)&a4, &v),
		       -EINVAL);

	/* a NEW_TOKEN token for an IPv6 client carries no ODCID */
	a6.sin6_addr.s6_addr[15] = 1;
	n = quic_token_create(t, QUIC_TOKEN_NEW, (struct sockaddr *)&a6, NULL,
			      0, tok, sizeof(tok));
	QUIC_ASSERT_TRUE(test, n > 0);
	QUIC_ASSERT_EQ(test, quic_token_verify(t, tok, n, (struct sockaddr *)&a6,
					       &v), 0);
	QUIC_EXPECT_EQ(test, v.type, QUIC_TOKEN_NEW);
	QUIC_EXPECT_EQ(test, v.odcid_len, 0);
}

/*
 * The token key comes from the listener's secret: a socket given the same
 * secret (an accepted one) opens the token, another listener cannot, and a
 * changed byte is detected.
 */
static void token_key(struct quic_test *test)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	u8 tok[QUIC_TOKEN_CREATE_MAX_LEN], blob[QUIC_TOKEN_CREATE_MAX_LEN];
	struct quic_token_ctx *t, *same, *other;
	int n;

	t = qt_token_ctx(test, NULL);
	same = qt_token_ctx(test, t->secret);
	other = qt_token_ctx(test, NULL);
	a4.sin_addr.s_addr = htonl(0xc0000201);
	n = quic_token_create(t, QUIC_TOKEN_NEW, (struct sockaddr *)&a4, NULL,
			      0, tok, sizeof(tok));
	QUIC_ASSERT_TRUE(test, n > 0);
	QUIC_EXPECT_EQ(test, qt_token_open(test, same, tok, n, blob),
		       QT_BLOB_HDR);
	QUIC_EXPECT_EQ(test, qt_token_open(test, other, tok, n, blob),
		       -EBADMSG);
	tok[n - 1] ^= 1;
	QUIC_EXPECT_EQ(test, qt_token_open(test, t, tok, n, blob), -EBADMSG);
}

/* Bad token types, address families, ODCID lengths and room */
static void token_bad_args(struct quic_test *test)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr unix_addr = { .sa_family = AF_UNIX };
	u8 tok[QUIC_TOKEN_CREATE_MAX_LEN + 1], odcid[QUIC_CID_MAX_LEN + 1] = {};
	struct quic_token_ctx *t;

	t = qt_token_ctx(test, NULL);
	QUIC_EXPECT_EQ(test, quic_token_create(t, 3, (struct sockaddr *)&a4,
					       NULL, 0, tok, sizeof(tok)),
		       -EINVAL);
	QUIC_EXPECT_EQ(test, quic_token_create(t, QUIC_TOKEN_NEW, &unix_addr,
					       NULL, 0, tok, sizeof(tok)),
		       -EINVAL);
	QUIC_EXPECT_EQ(test, quic_token_create(t, QUIC_TOKEN_RETRY,
					       (struct sockaddr *)&a4, odcid,
					       sizeof(odcid), tok,
					       sizeof(tok)), -EINVAL);
	QUIC_EXPECT_EQ(test, quic_token_create(t, QUIC_TOKEN_RETRY,
					       (struct sockaddr *)&a4, odcid,
					       QUIC_CID_MAX_LEN, tok,
					       QUIC_TOKEN_CREATE_MAX_LEN - 1),
		       -ENOSPC);
}

/* Stateless reset tokens: deterministic per listener secret and CID */
static void stateless_reset_token(struct quic_test *test)
{
	u8 cid[8], tok1[QUIC_RESET_TOKEN_LEN], tok2[QUIC_RESET_TOKEN_LEN];
	struct quic_token_ctx *t, *same, *other;

	memset(cid, 0x42, sizeof(cid));
	t = qt_token_ctx(test, NULL);
	same = qt_token_ctx(test, t->secret);
	other = qt_token_ctx(test, NULL);
	QUIC_ASSERT_EQ(test, quic_stateless_reset_token(t, cid, 8, tok1), 0);
	QUIC_ASSERT_EQ(test, quic_stateless_reset_token(same, cid, 8, tok2),
		       0);
	QUIC_EXPECT_MEMEQ(test, tok1, tok2, sizeof(tok1));
	QUIC_ASSERT_EQ(test, quic_stateless_reset_token(other, cid, 8, tok2),
		       0);
	QUIC_EXPECT_TRUE(test, memcmp(tok1, tok2, sizeof(tok1)));
	QUIC_ASSERT_EQ(test, quic_stateless_reset_token(t, cid, 7, tok2), 0);
	QUIC_EXPECT_TRUE(test, memcmp(tok1, tok2, sizeof(tok1)));
}

/* The session ticket key: deterministic per listener secret and address */
static void session_ticket_key(struct quic_test *test)
{
	u8 secret[QUIC_TOKEN_SECRET_LEN], addr[16];
	u8 key1[QUIC_TICKET_KEY_LEN], key2[QUIC_TICKET_KEY_LEN];

	memset(secret, 0x5a, sizeof(secret));
	memset(addr, 0x42, sizeof(addr));
	QUIC_ASSERT_EQ(test, quic_session_ticket_key(secret, addr, 4, key1), 0);
	QUIC_ASSERT_EQ(test, quic_session_ticket_key(secret, addr, 4, key2), 0);
	QUIC_EXPECT_MEMEQ(test, key1, key2, sizeof(key1));
	QUIC_ASSERT_EQ(test, quic_session_ticket_key(secret, addr, 16, key2),
		       0);
	QUIC_EXPECT_TRUE(test, memcmp(key1, key2, sizeof(key1)));
	secret[0] ^= 1;
	QUIC_ASSERT_EQ(test, quic_session_ticket_key(secret, addr, 4, key2), 0);
	QUIC_EXPECT_TRUE(test, memcmp(key1, key2, sizeof(key1)));
}

static struct quic_test_case quic_token_test_cases[] = {
	QUIC_TEST_CASE(new_token),
	QUIC_TEST_CASE(retry_token),
	QUIC_TEST_CASE(token_verify),
	QUIC_TEST_CASE(token_key),
	QUIC_TEST_CASE(token_bad_args),
	QUIC_TEST_CASE(stateless_reset_token),
	QUIC_TEST_CASE(session_ticket_key),
	{}
};

struct quic_test_suite quic_token_test_suite = {
	.name = "quic_token",
	.test_cases = quic_token_test_cases,
};
