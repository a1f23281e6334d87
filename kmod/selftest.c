// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Known-answer self-test (the test kernel has no KUnit): RFC 9001 Appendix A
 * and RFC 9369 Appendix A packet protection vectors, Retry integrity tags,
 * "quic ku" key update derivation and a live key update, tokens, and the
 * transport parameter codec including malformed input.
 *
 * Load with selftest=1; selftest=2 corrupts one expected vector and must fail.
 */

#define pr_fmt(fmt) "quic: " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/hex.h>
#include <linux/random.h>
#include <linux/tls.h>
#include <linux/ktime.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <crypto/aead.h>
#include <crypto/hash.h>
#include <crypto/sha2.h>

#include "crypto.h"
#include "tp.h"
#include "selftest.h"

static int selftest;
module_param(selftest, int, 0444);
MODULE_PARM_DESC(selftest,
		 "Crypto/TP self-test at load: 1 run, 2 with a corrupted vector (must fail), 3 with a benchmark");

#define QST_CHECK(cond, fmt, ...)					\
	do {								\
		if (!(cond)) {						\
			pr_err("selftest FAILED: " fmt " (%s:%d)\n",	\
			       ##__VA_ARGS__, __func__, __LINE__);	\
			err = -EINVAL;					\
			goto out;					\
		}							\
	} while (0)

static const char qst_dcid[] = "8394c8f03e515708";

/* RFC 9001 A.2 / RFC 9369 A.2: CRYPTO frame, padded to 1162 bytes. */
static const char qst_client_crypto[] =
	"060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
	"04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
	"616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
	"04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
	"baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
	"0d0010000e0403050306030203080408050806002d00020101001c0002400100"
	"3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
	"75300901100f088394c8f03e51570806048000ffff";

/* RFC 9001 A.3 / RFC 9369 A.3 */
static const char qst_server_payload[] =
	"02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"
	"88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94"
	"0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00"
	"020304";

/* RFC 9001 A.5 / RFC 9369 A.5 */
static const char qst_chacha_secret[] =
	"9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b";

/**
 * struct qst_version - per-version expected values
 * @version: QUIC version
 * @client_secret: client_initial_secret (A.1)
 * @client_iv: client Initial IV (A.1)
 * @client_key: client Initial key (A.1)
 * @client_hp: client Initial header protection key (A.1)
 * @server_key: server Initial key (A.1)
 * @server_hp: server Initial header protection key (A.1)
 * @server_secret: server_initial_secret (A.1)
 * @server_iv: server Initial IV (A.1)
 * @client_hdr: unprotected client Initial header (A.2)
 * @client_prefix: first 32 bytes of the protected client Initial (A.2)
 * @client_sha256: SHA-256 of the whole 1200-byte protected client Initial
 * @server_hdr: unprotected server Initial header (A.3)
 * @server_packet: protected server Initial (A.3)
 * @chacha_packet: protected ChaCha20-Poly1305 short header packet (A.5)
 * @ku: "quic ku" / "quicv2 ku" of the A.5 secret
 * @retry: Retry packet with its integrity tag (A.4)
 */
struct qst_version {
	u32		version;
	const char	*client_secret;
	const char	*client_iv;
	const char	*client_key;
	const char	*client_hp;
	const char	*server_key;
	const char	*server_hp;
	const char	*server_secret;
	const char	*server_iv;
	const char	*client_hdr;
	const char	*client_prefix;
	const char	*client_sha256;
	const char	*server_hdr;
	const char	*server_packet;
	const char	*chacha_packet;
	const char	*ku;
	const char	*retry;
};

static const struct qst_version qst_versions[] = {
	{
		.version = QUIC_VERSION_V1,
		.client_secret = "c00cf151ca5be075ed0ebfb5c80323c4"
				 "2d6b7db67881289af4008f1f6c357aea",
		.client_iv = "fa044b2f42a3fd3b46fb255c",
		.client_key = "1f369613dd76d5467730efcbe3b1a22d",
		.client_hp = "9f50449e04a0e810283a1e9933adedd2",
		.server_key = "cf3a5331653c364c88f0f379b6067e37",
		.server_hp = "c206b8d9b9f0f37644430b490eeaa314",
		.server_secret = "3c199828fd139efd216c155ad844cc81"
				 "fb82fa8d7446fa7d78be803acdda951b",
		.server_iv = "0ac1493ca1905853b0bba03e",
		.client_hdr = "c300000001088394c8f03e5157080000449e00000002",
		.client_prefix = "c000000001088394c8f03e5157080000"
				 "449e7b9aec34d1b1c98dd7689fb8ec11",
		.client_sha256 = "73fa0210cb4a5a17dc10b9dc98e5cc35"
				 "9ba1c20fe7c0e93a9e1dcb473c37e097",
		.server_hdr = "c1000000010008f067a5502a4262b50040750001",
		.server_packet =
			"cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
			"5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
			"dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
			"022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
			"2158407dd074ee",
		.chacha_packet = "4cfe4189655e5cd55c41f69080575d7999c25a5bfb",
		.ku = "1223504755036d556342ee9361d25342"
		      "1a826c9ecdf3c7148684b36b714881f9",
		.retry = "ff000000010008f067a5502a4262b5746f6b656e"
			 "04a265ba2eff4d829058fb3f0f2496ba",
	},
	{
		.version = QUIC_VERSION_V2,
		.client_secret = "14ec9d6eb9fd7af83bf5a668bc17a7e2"
				 "83766aade7ecd0891f70f9ff7f4bf47b",
		.client_iv = "91f73e2351d8fa91660e909f",
		.client_key = "8b1a0bc121284290a29e0971b5cd045d",
		.client_hp = "45b95e15235d6f45a6b19cbcb0294ba9",
		.server_key = "82db637861d55e1d011f19ea71d5d2a7",
		.server_hp = "edf6d05c83121201b436e16877593c3a",
		.server_secret = "0263db1782731bf4588e7e4d93b74639"
				 "07cb8cd8200b5da55a8bd488eafc37c1",
		.server_iv = "dd13c276499c0249d3310652",
		.client_hdr = "d36b3343cf088394c8f03e5157080000449e00000002",
		.client_prefix = "d76b3343cf088394c8f03e5157080000"
				 "449ea0c95e82ffe67b6abcdb4298b485",
		.client_sha256 = "b0b766fe7e762577072d3365cc4f9635"
				 "809210cba301a67f8457f5e6fdac5c68",
		.server_hdr = "d16b3343cf0008f067a5502a4262b50040750001",
		.server_packet =
			"dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698"
			"baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17"
			"f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2"
			"c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8"
			"4bed8521e2e140",
		.chacha_packet = "5558b1c60ae7b6b932bc27d786f4bc2bb20f2162ba",
		.ku = "c69374c49e3d2a9466fa689e49d476db"
		      "5d0dfbc87d32ceeaa6343fd0ae4c7d88",
		.retry = "cf6b3343cf0008f067a5502a4262b5746f6b656e"
			 "c8646ce8bfe33952d955543665dcc7b6",
	},
};

/* Decode @hex into a new kzalloc()ed buffer of @size (>= hex length / 2). */
static u8 *qst_unhex(const char *hex, u32 size, u32 *len)
{
	u32 n = strlen(hex) / 2;
	u8 *buf;

	buf = kzalloc(max(size, n) ?: 1, GFP_KERNEL);
	if (!buf)
		return NULL;
	if (hex2bin(buf, hex, n)) {
		kfree(buf);
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}

static bool qst_eq_hex(const u8 *data, const char *hex, u32 len)
{
	u8 *exp;
	bool eq;

	exp = qst_unhex(hex, len, NULL);
	if (!exp)
		return false;
	eq = strlen(hex) == 2 * len && !memcmp(data, exp, len);
	kfree(exp);
	return eq;
}

static int qst_secret(struct quic_crypto *c, u32 type, const u8 *secret,
		      u32 secret_len, bool send, u32 version)
{
	struct quic_crypto_secret srt = {
		.send = send,
		.level = QUIC_CRYPTO_APP,
		.type = type,
	};
	int err;

	memcpy(srt.secret, secret, secret_len);
	err = quic_crypto_set_secret(c, &srt, version);
	memzero_explicit(&srt, sizeof(srt));
	return err;
}

/*
 * Protect @payload behind @hdr with @tx, compare with the expected packet
 * (hex, or its SHA-256), then open it with @rx and compare it back.
 */
static int qst_protect(struct quic_crypto *tx, struct quic_crypto *rx,
		       const char *hdr_hex, const u8 *payload, u32 plen,
		       u32 pn_offset, s64 pn, const char *expect_hex,
		       const char *expect_sha256, bool corrupt)
{
	struct quic_crypto_pktinfo pi = {};
	u8 *hdr = NULL, *buf = NULL, digest[SHA256_DIGEST_SIZE];
	u32 hlen, len;
	u64 n;
	int err = 0;

	hdr = qst_unhex(hdr_hex, 0, &hlen);
	QST_CHECK(hdr, "no memory");
	len = hlen + plen + QUIC_TAG_LEN;
	buf = kzalloc(len, GFP_KERNEL);
	QST_CHECK(buf, "no memory");
	memcpy(buf, hdr, hlen);
	memcpy(buf + hlen, payload, plen);

	err = quic_crypto_encrypt(tx, buf, len, pn_offset, pn);
	QST_CHECK(!err, "encrypt: %d", err);
	if (corrupt)
		buf[len / 2] ^= 0x01;
	if (expect_hex)
		QST_CHECK(qst_eq_hex(buf, expect_hex, len),
			  "protected packet differs (%s...)", hdr_hex);
	if (expect_sha256) {
		sha256(buf, len, digest);
		QST_CHECK(qst_eq_hex(digest, expect_sha256, sizeof(digest)),
			  "protected packet digest differs (%s...)", hdr_hex);
	}

	pi.pn_offset = pn_offset;
	pi.largest_pn = pn - 1;
	err = quic_crypto_decrypt(rx, buf, len, &pi);
	QST_CHECK(!err, "decrypt: %d", err);
	QST_CHECK(pi.pn == pn && pi.hlen == hlen && pi.payload_len == plen,
		  "decrypt info: pn %lld hlen %u plen %u", pi.pn, pi.hlen,
		  pi.payload_len);
	QST_CHECK(!memcmp(buf, hdr, hlen) && !memcmp(buf + hlen, payload, plen),
		  "decrypted packet differs");

	/* Tampering is detected; short input is refused. */
	err = quic_crypto_encrypt(tx, buf, len, pn_offset, pn);
	QST_CHECK(!err, "encrypt: %d", err);
	buf[len - 1] ^= 0x80;
	n = rx->rx_auth_failures;
	err = quic_crypto_decrypt(rx, buf, len, &pi);
	QST_CHECK(err == -EBADMSG, "forged packet: %d", err);
	QST_CHECK(rx->rx_auth_failures == n + 1 &&
		  !quic_crypto_integrity_limit_reached(rx),
		  "authentication failure count");
	QST_CHECK(tx->tx_packets == 2 && !quic_crypto_key_update_due(tx),
		  "packet count");
	err = quic_crypto_decrypt(rx, buf, pn_offset + QUIC_PN_MAX_LEN +
				  QUIC_HP_SAMPLE_LEN - 1, &pi);
	QST_CHECK(err == -EINVAL, "short packet: %d", err);
	err = quic_crypto_encrypt(tx, buf, pn_offset + QUIC_PN_MAX_LEN +
				  QUIC_HP_SAMPLE_LEN - 1, pn_offset, pn);
	QST_CHECK(err == -EINVAL, "short packet encrypt: %d", err);
	err = 0;
out:
	kfree(hdr);
	kfree(buf);
	return err;
}

/* Key and HP key of @secret (A.1) */
static bool qst_keys(struct crypto_shash *hmac, const u8 *secret, u32 version,
		     const char *key_hex, const char *hp_hex)
{
	bool v2 = version == QUIC_VERSION_V2;
	u8 key[16], hp[16];

	if (quic_crypto_hkdf_expand_label(hmac, secret, 32,
					  v2 ? "quicv2 key" : "quic key", key,
					  sizeof(key)) ||
	    quic_crypto_hkdf_expand_label(hmac, secret, 32,
					  v2 ? "quicv2 hp" : "quic hp", hp,
					  sizeof(hp)))
		return false;
	return qst_eq_hex(key, key_hex, sizeof(key)) &&
	       qst_eq_hex(hp, hp_hex, sizeof(hp));
}

/* A client Initial opened by the transform-free listener path */
static int qst_initial_atomic(struct quic_crypto *c, const struct qst_version *v,
			      const u8 *dcid, u32 dlen, const u8 *payload)
{
	struct quic_crypto_pktinfo pi = {};
	u8 *hdr = NULL, *buf = NULL, *copy = NULL;
	u32 hlen, len;
	int err = 0;

	hdr = qst_unhex(v->client_hdr, 0, &hlen);
	QST_CHECK(hdr, "no memory");
	len = hlen + 1162 + QUIC_TAG_LEN;
	buf = kzalloc(len, GFP_KERNEL);
	copy = kzalloc(len, GFP_KERNEL);
	QST_CHECK(buf && copy, "no memory");
	memcpy(buf, hdr, hlen);
	memcpy(buf + hlen, payload, 1162);
	err = quic_crypto_encrypt(c, buf, len, 18, 2);
	QST_CHECK(!err, "encrypt: %d", err);
	memcpy(copy, buf, len);

	pi.pn_offset = 18;
	pi.largest_pn = -1;
	err = quic_crypto_initial_open_atomic(dcid, dlen, v->version, buf, len,
					      &pi);
	QST_CHECK(!err && pi.pn == 2 && pi.hlen == hlen &&
		  pi.payload_len == 1162 && !memcmp(buf, hdr, hlen) &&
		  !memcmp(buf + hlen, payload, 1162),
		  "v%x Initial opened without transforms: %d", v->version,
		  err);
	copy[len - 20] ^= 0x10;
	err = quic_crypto_initial_open_atomic(dcid, dlen, v->version, copy,
					      len, &pi);
	QST_CHECK(err == -EBADMSG, "forged Initial opened: %d", err);
	err = quic_crypto_initial_open_atomic(dcid, dlen, v->version, copy,
					      18 + 19, &pi);
	QST_CHECK(err == -EINVAL, "short Initial: %d", err);
	err = 0;
out:
	kfree(hdr);
	kfree(buf);
	kfree(copy);
	return err;
}

static int qst_version(const struct qst_version *v, bool corrupt)
{
	struct quic_crypto *c = NULL, *s = NULL;
	u8 *dcid = NULL, *payload = NULL, *secret = NULL, *retry = NULL;
	u32 dlen, plen, slen, rlen;
	int err = 0;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	dcid = qst_unhex(qst_dcid, 0, &dlen);
	payload = qst_unhex(qst_client_crypto, 1162, NULL);
	QST_CHECK(c && s && dcid && payload, "no memory");

	/* A.1: Initial secrets and IVs from the client's DCID */
	err = quic_crypto_initial_keys_install(c, dcid, dlen, v->version,
					       false);
	QST_CHECK(!err, "client initial keys: %d", err);
	err = quic_crypto_initial_keys_install(s, dcid, dlen, v->version, true);
	QST_CHECK(!err, "server initial keys: %d", err);
	QST_CHECK(qst_eq_hex(c->tx.secret, v->client_secret, 32) &&
		  qst_eq_hex(c->tx.iv, v->client_iv, QUIC_IV_LEN) &&
		  qst_eq_hex(c->rx.secret, v->server_secret, 32) &&
		  qst_eq_hex(c->rx.iv, v->server_iv, QUIC_IV_LEN) &&
		  qst_eq_hex(s->rx.secret, v->client_secret, 32) &&
		  qst_eq_hex(s->tx.secret, v->server_secret, 32),
		  "v%x initial secrets", v->version);
	QST_CHECK(qst_keys(c->hmac, c->tx.secret, v->version, v->client_key,
			   v->client_hp) &&
		  qst_keys(c->hmac, c->rx.secret, v->version, v->server_key,
			   v->server_hp), "v%x initial keys", v->version);

	/* A.2: client Initial, 1200 bytes, packet number 2 */
	err = qst_protect(c, s, v->client_hdr, payload, 1162, 18, 2, NULL,
			  v->client_sha256, corrupt);
	if (err)
		goto out;

	err = qst_initial_atomic(c, v, dcid, dlen, payload);
	if (err)
		goto out;

	/* A.3: server Initial, packet number 1 */
	kfree(payload);
	payload = qst_unhex(qst_server_payload, 0, &plen);
	QST_CHECK(payload, "no memory");
	err = qst_protect(s, c, v->server_hdr, payload, plen, 18, 1,
			  v->server_packet, NULL, false);
	if (err)
		goto out;

	/* A.5: ChaCha20-Poly1305 short header, and "quic ku" */
	quic_crypto_free(c);
	quic_crypto_free(s);
	secret = qst_unhex(qst_chacha_secret, 0, &slen);
	QST_CHECK(secret, "no memory");
	err = qst_secret(c, TLS_CIPHER_CHACHA20_POLY1305, secret, slen, true,
			 v->version);
	QST_CHECK(!err, "chacha secret: %d", err);
	err = qst_secret(s, TLS_CIPHER_CHACHA20_POLY1305, secret, slen, false,
			 v->version);
	QST_CHECK(!err, "chacha secret: %d", err);
	QST_CHECK(qst_eq_hex(c->tx_next.secret, v->ku, 32) &&
		  qst_eq_hex(s->rx_next.secret, v->ku, 32),
		  "v%x key update secret", v->version);
	payload[0] = 0x01;	/* PING */
	err = qst_protect(c, s, "4200bff4", payload, 1, 1, 654360564,
			  v->chacha_packet, NULL, false);
	if (err)
		goto out;

	/* A.4: Retry integrity tag */
	retry = qst_unhex(v->retry, 0, &rlen);
	QST_CHECK(retry, "no memory");
	err = quic_crypto_retry_verify(v->version, dcid, dlen, retry, rlen);
	QST_CHECK(!err, "v%x retry tag: %d", v->version, err);
	retry[rlen - 1] ^= 1;
	err = quic_crypto_retry_verify(v->version, dcid, dlen, retry, rlen);
	QST_CHECK(err == -EBADMSG, "forged retry: %d", err);
	retry[rlen - 1] ^= 1;
	err = quic_crypto_retry_verify(v->version, dcid, dlen - 1, retry, rlen);
	QST_CHECK(err == -EBADMSG, "retry with wrong ODCID: %d", err);
	err = 0;
out:
	if (c)
		quic_crypto_free(c);
	if (s)
		quic_crypto_free(s);
	kfree(c);
	kfree(s);
	kfree(dcid);
	kfree(payload);
	kfree_sensitive(secret);
	kfree(retry);
	return err;
}

/*
 * Every cipher suite on a 1-RTT packet, secret 0x11 repeated: expected
 * packets from independent implementations (aioquic; Python cryptography's
 * AESCCM for AES-128-CCM, which aioquic lacks).
 */
static const struct {
	u32		type;
	const char	*packet;
} qst_suites[] = {
	{ TLS_CIPHER_AES_GCM_128,
	  "4aabababababababab739d532a969125b520af9debadb2569b3b08db867876fdaa"
	  "7f427dae95167331e9a5b72640ae5df7a9b1" },
	{ TLS_CIPHER_AES_GCM_256,
	  "43abababababababab65b710532176325ca6b87c418c7682eaf7d2c339486709d9"
	  "1479392b2a10f91a8c707e3b32f3ac0e6961" },
	{ TLS_CIPHER_AES_CCM_128,
	  "40abababababababab48caccae85cdf6f09ae61651530511bbf7b5544a93737a4c"
	  "076eecfd672a7ff1552c2f7f53ee6635f636" },
	{ TLS_CIPHER_CHACHA20_POLY1305,
	  "41abababababababab484d1aff5a38e5154eebe3e0ab743bea1ef02743ebd95d57"
	  "0f40d6eb2441d6d3f4917d6391a0c5d5f072" },
};

static int qst_suite(u32 type, const char *packet)
{
	struct quic_crypto *c = NULL, *s = NULL;
	u8 secret[48], payload[24];
	int err = 0, i;

	memset(secret, 0x11, sizeof(secret));
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = i;
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	QST_CHECK(c && s, "no memory");
	err = qst_secret(c, type, secret, 48, true, QUIC_VERSION_V1);
	if (!err)
		err = qst_secret(s, type, secret, 48, false, QUIC_VERSION_V1);
	QST_CHECK(!err, "cipher %u secret: %d", type, err);
	err = qst_protect(c, s, "41abababababababab0007", payload,
			  sizeof(payload), 9, 7, packet, NULL, false);
out:
	if (c)
		quic_crypto_free(c);
	if (s)
		quic_crypto_free(s);
	kfree(c);
	kfree(s);
	return err;
}

/* Send one short header packet from @a to @b; check the key update flag. */
static int qst_ku_send(struct quic_crypto *a, struct quic_crypto *b, u8 *buf,
		       s64 pn, bool expect_update, bool deliver)
{
	struct quic_crypto_pktinfo pi = {};
	u32 len = 1 + 8 + 2 + 24 + QUIC_TAG_LEN;
	int err = 0, i;

	buf[0] = 0x41;		/* short header, 2-byte packet number */
	memset(buf + 1, 0xab, 8);
	buf[9] = pn >> 8;
	buf[10] = pn;
	for (i = 0; i < 24; i++)
		buf[11 + i] = i + pn;
	err = quic_crypto_encrypt(a, buf, len, 9, pn);
	QST_CHECK(!err, "ku encrypt: %d", err);
	if (!deliver)
		return 0;
	pi.pn_offset = 9;
	pi.largest_pn = pn - 1;
	err = quic_crypto_decrypt(b, buf, len, &pi);
	QST_CHECK(!err, "ku decrypt pn %lld: %d", pn, err);
	QST_CHECK(pi.pn == pn && pi.payload_len == 24 && buf[11] == (u8)pn,
		  "ku decrypt result");
	QST_CHECK(pi.key_update == expect_update,
		  "ku pn %lld: key_update %d", pn, pi.key_update);
	if (pi.key_update) {
		QST_CHECK(quic_crypto_key_update_needs_prepare(b),
			  "next keys not marked stale");
		err = quic_crypto_key_update_prepare(b);
		QST_CHECK(!err && !quic_crypto_key_update_needs_prepare(b),
			  "ku prepare: %d", err);
	}
out:
	return err;
}

/* Live key update between two endpoints, for one cipher suite. */
static int qst_key_update(u32 type)
{
	struct quic_crypto *a = NULL, *b = NULL;
	struct quic_crypto_pktinfo pi = {};
	u8 s1[48], s2[48], *buf = NULL, *old = NULL;
	u32 len = 1 + 8 + 2 + 24 + QUIC_TAG_LEN;
	int err = 0;

	memset(s1, 0x11, sizeof(s1));
	memset(s2, 0x22, sizeof(s2));
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	buf = kzalloc(len, GFP_KERNEL);
	old = kzalloc(len, GFP_KERNEL);
	QST_CHECK(a && b && buf && old, "no memory");

	err = qst_secret(a, type, s1, 48, true, QUIC_VERSION_V1);
	if (!err)
		err = qst_secret(a, type, s2, 48, false, QUIC_VERSION_V1);
	if (!err)
		err = qst_secret(b, type, s2, 48, true, QUIC_VERSION_V1);
	if (!err)
		err = qst_secret(b, type, s1, 48, false, QUIC_VERSION_V1);
	QST_CHECK(!err, "cipher %u secrets: %d", type, err);

	err = qst_ku_send(a, b, buf, 0, false, true);
	if (!err)
		err = qst_ku_send(b, a, buf, 0, false, true);
	/* a packet of the old phase, delivered after the update */
	if (!err)
		err = qst_ku_send(a, b, old, 1, false, false);
	if (err)
		goto out;

	err = quic_crypto_key_update(a);
	QST_CHECK(!err, "key update: %d", err);
	err = quic_crypto_key_update(a);
	QST_CHECK(err == -EAGAIN, "second key update: %d", err);
	QST_CHECK(quic_crypto_key_phase(a) == 1, "phase after update");

	err = qst_ku_send(a, b, buf, 2, true, true);	/* b follows */
	if (err)
		goto out;
	QST_CHECK(quic_crypto_key_phase(b) == 1, "peer phase after update");
	pi.pn_offset = 9;
	pi.largest_pn = 2;
	err = quic_crypto_decrypt(b, old, len, &pi);	/* reordered */
	QST_CHECK(!err && pi.pn == 1 && !pi.key_update,
		  "old phase packet: %d", err);
	err = qst_ku_send(b, a, buf, 1, false, true);	/* confirms */
	if (err)
		goto out;
	QST_CHECK(!a->key_pending, "update not confirmed");

	/* The other side starts the next one. */
	err = quic_crypto_key_update(b);
	QST_CHECK(!err, "key update from b: %d", err);
	err = qst_ku_send(b, a, buf, 2, true, true);
	if (!err)
		err = qst_ku_send(a, b, buf, 3, false, true);
	if (err)
		goto out;
	QST_CHECK(quic_crypto_key_phase(a) == 0 && quic_crypto_key_phase(b) == 0,
		  "phases after second update");
	QST_CHECK(!memcmp(a->tx.secret, b->rx.secret, 48) &&
		  !memcmp(a->rx.secret, b->tx.secret, 48),
		  "secrets out of sync");
out:
	if (a)
		quic_crypto_free(a);
	if (b)
		quic_crypto_free(b);
	kfree(a);
	kfree(b);
	kfree(buf);
	kfree(old);
	return err;
}

/*
 * Hostile input: random transport parameters, mutated valid ones, and
 * random packets of every small length, each in an exactly sized
 * allocation so that KFENCE/slab checks catch any read past the end.
 */
static int qst_fuzz(void)
{
	struct quic_crypto *c = NULL;
	struct quic_crypto_pktinfo pi;
	struct quic_tp *l = NULL, *p = NULL;
	u8 *enc = NULL, *buf, secret[32] = {}, r[4];
	int err = 0, i, n, len;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	enc = kzalloc(QUIC_TP_EXT_MAX_LEN, GFP_KERNEL);
	QST_CHECK(c && l && p && enc, "no memory");

	quic_tp_init_local(l);
	l->initial_scid.len = 8;
	l->chosen_version = QUIC_VERSION_V1;
	l->max_datagram_frame_size = 1200;
	n = quic_tp_encode(l, false, enc, QUIC_TP_EXT_MAX_LEN);
	QST_CHECK(n > 0, "tp encode: %d", n);
	for (i = 0; i < 3000; i++) {
		get_random_bytes(r, sizeof(r));
		len = i < 1000 ? r[0] % 64 : n;
		buf = kmalloc(len ?: 1, GFP_KERNEL);
		QST_CHECK(buf, "no memory");
		if (i < 1000) {
			get_random_bytes(buf, len);
		} else {
			memcpy(buf, enc, n);
			buf[(r[1] << 8 | r[2]) % n] ^= 1 << (r[3] % 8);
		}
		err = quic_tp_decode(p, true, QUIC_VERSION_V1, buf, len);
		kfree(buf);
		QST_CHECK(!err || err == -EINVAL || err == -EPROTONOSUPPORT,
			  "tp fuzz: %d", err);
	}

	err = qst_secret(c, TLS_CIPHER_CHACHA20_POLY1305, secret, 32, false,
			 QUIC_VERSION_V1);
	QST_CHECK(!err, "fuzz secret: %d", err);
	for (i = 0; i < 600; i++) {
		len = i % 60;
		buf = kmalloc(len ?: 1, GFP_KERNEL);
		QST_CHECK(buf, "no memory");
		get_random_bytes(buf, len);
		memset(&pi, 0, sizeof(pi));
		pi.pn_offset = (i / 60) % 12;
		pi.largest_pn = -1;
		err = quic_crypto_decrypt(c, buf, len, &pi);
		QST_CHECK(err == -EINVAL || err == -EBADMSG ||
			  err == -EKEYREJECTED, "packet fuzz (%d bytes): %d",
			  len, err);
		if (len)
			buf[0] |= 0x80;
		memset(&pi, 0, sizeof(pi));
		pi.pn_offset = (i / 60) % 12;
		pi.largest_pn = -1;
		err = quic_crypto_initial_open_atomic(secret, 8,
						      QUIC_VERSION_V1, buf,
						      len, &pi);
		kfree(buf);
		QST_CHECK(err == -EINVAL || err == -EBADMSG,
			  "Initial fuzz (%d bytes): %d", len, err);
	}
	err = 0;
out:
	if (c)
		quic_crypto_free(c);
	kfree(c);
	kfree(l);
	kfree(p);
	kfree(enc);
	return err;
}

/* RFC 5869 A.1: HKDF-SHA256 with a two-block expand */
static int qst_hkdf(void)
{
	struct crypto_shash *hmac;
	u8 ikm[22], salt[13], info[10], prk[32], okm[42];
	int err = 0, i;

	hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(hmac))
		return PTR_ERR(hmac);
	memset(ikm, 0x0b, sizeof(ikm));
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = i;
	for (i = 0; i < sizeof(info); i++)
		info[i] = 0xf0 + i;
	err = quic_crypto_hkdf_extract(hmac, salt, sizeof(salt), ikm,
				       sizeof(ikm), prk);
	QST_CHECK(!err && qst_eq_hex(prk, "077709362c2e32df0ddc3f0dc47bba63"
				     "90b6c73bb50f9c3122ec844ad7c2b3e5", 32),
		  "HKDF-Extract: %d", err);
	err = quic_crypto_hkdf_expand(hmac, prk, sizeof(prk), info,
				      sizeof(info), okm, sizeof(okm));
	QST_CHECK(!err && qst_eq_hex(okm, "3cb25f25faacd57a90434f64d0362f2a"
				     "2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
				     "34007208d5b887185865", 42),
		  "HKDF-Expand: %d", err);
	err = quic_crypto_hkdf_expand(hmac, prk, sizeof(prk), info,
				      sizeof(info), okm, 255 * 32 + 1);
	QST_CHECK(err == -EINVAL, "HKDF-Expand length limit: %d", err);
	err = 0;
out:
	crypto_free_shash(hmac);
	return err;
}

static int qst_misc(void)
{
	struct quic_crypto *c = NULL;
	struct quic_token_ctx *t = NULL, *t2 = NULL;
	u8 blob[37], out[37 + QUIC_TOKEN_OVERHEAD], back[37];
	u8 tok1[16], tok2[16], key1[64], key2[64], secret[48] = {};
	int err = 0, n;

	/* RFC 9000 A.3 example */
	QST_CHECK(quic_crypto_decode_pn(0xa82f30ea, 0x9b32, 2) == 0xa82f9b32,
		  "packet number decoding");
	QST_CHECK(quic_crypto_decode_pn(-1, 0, 1) == 0 &&
		  quic_crypto_decode_pn(0xff, 0x00, 1) == 0x100,
		  "packet number decoding");

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	t2 = kzalloc(sizeof(*t2), GFP_KERNEL);
	QST_CHECK(c && t && t2, "no memory");
	err = qst_secret(c, 55, secret, 32, true, QUIC_VERSION_V1);
	QST_CHECK(err == -EINVAL, "unsupported cipher accepted: %d", err);
	err = qst_secret(c, 0, secret, 32, true, QUIC_VERSION_V1);
	QST_CHECK(err == -EINVAL, "cipher 0 accepted: %d", err);
	err = qst_secret(c, TLS_CIPHER_AES_GCM_128, secret, 32, true, 7);
	QST_CHECK(err == -EINVAL, "unknown version accepted: %d", err);

	/* Address validation tokens */
	memset(tok1, 0x5a, sizeof(tok1));
	err = quic_token_ctx_init(t, tok1);
	QST_CHECK(!err, "token ctx: %d", err);
	err = quic_token_ctx_init(t2, NULL);
	QST_CHECK(!err, "token ctx: %d", err);
	memset(blob, 0x42, sizeof(blob));
	n = quic_token_seal(t, blob, sizeof(blob), out, sizeof(out));
	QST_CHECK(n == sizeof(out), "token seal: %d", n);
	n = quic_token_open(t, out, sizeof(out), back, sizeof(back));
	QST_CHECK(n == sizeof(blob) && !memcmp(blob, back, n),
		  "token open: %d", n);
	n = quic_token_open(t2, out, sizeof(out), back, sizeof(back));
	QST_CHECK(n == -EBADMSG, "token of other listener: %d", n);
	out[20] ^= 4;
	n = quic_token_open(t, out, sizeof(out), back, sizeof(back));
	QST_CHECK(n == -EBADMSG, "forged token: %d", n);
	n = quic_token_open(t, out, QUIC_TOKEN_OVERHEAD - 1, back,
			    sizeof(back));
	QST_CHECK(n == -EINVAL, "short token: %d", n);
	n = quic_token_seal(t, blob, sizeof(blob), out, sizeof(out) - 1);
	QST_CHECK(n == -ENOSPC, "token overflow: %d", n);

	/* Address validation tokens bound to an address, with the ODCID */
	{
		struct sockaddr_in a4 = { .sin_family = AF_INET };
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
		u8 tok[QUIC_TOKEN_CREATE_MAX_LEN], odcid[QUIC_CID_MAX_LEN];
		u8 olen, type;

		a4.sin_addr.s_addr = htonl(0xc0000201);
		a6.sin6_addr.s6_addr[15] = 1;
		n = quic_token_create(t, QUIC_TOKEN_RETRY,
				      (struct sockaddr *)&a4, blob, 20, tok,
				      sizeof(tok));
		QST_CHECK(n == QUIC_TOKEN_CREATE_MAX_LEN, "retry token: %d", n);
		err = quic_token_verify(t, tok, n, (struct sockaddr *)&a4, 0,
					&type, odcid, &olen);
		QST_CHECK(!err && type == QUIC_TOKEN_RETRY && olen == 20 &&
			  !memcmp(odcid, blob, 20), "retry token check: %d",
			  err);
		a4.sin_addr.s_addr = htonl(0xc0000202);
		err = quic_token_verify(t, tok, n, (struct sockaddr *)&a4, 10,
					&type, odcid, &olen);
		QST_CHECK(err == -EINVAL, "token for another address: %d",
			  err);
		err = quic_token_verify(t2, tok, n, (struct sockaddr *)&a4, 10,
					&type, odcid, &olen);
		QST_CHECK(err == -EBADMSG, "token of other listener: %d", err);
		n = quic_token_create(t, QUIC_TOKEN_NEW,
				      (struct sockaddr *)&a6, NULL, 0, tok,
				      sizeof(tok));
		QST_CHECK(n > 0, "new token: %d", n);
		err = quic_token_verify(t, tok, n, (struct sockaddr *)&a6, 10,
					&type, odcid, &olen);
		QST_CHECK(!err && type == QUIC_TOKEN_NEW && !olen,
			  "new token check: %d", err);
		tok[n - 1] ^= 1;
		err = quic_token_verify(t, tok, n, (struct sockaddr *)&a6, 10,
					&type, odcid, &olen);
		QST_CHECK(err == -EBADMSG, "forged new token: %d", err);
		n = quic_token_create(t, 3, (struct sockaddr *)&a6, NULL, 0,
				      tok, sizeof(tok));
		QST_CHECK(n == -EINVAL, "token type 3: %d", n);
	}

	/* Stateless reset tokens: deterministic per secret and CID */
	err = quic_stateless_reset_token(t, blob, 8, tok1);
	if (!err)
		err = quic_stateless_reset_token(t, blob, 8, tok2);
	QST_CHECK(!err && !memcmp(tok1, tok2, 16), "reset token: %d", err);
	err = quic_stateless_reset_token(t2, blob, 8, tok2);
	QST_CHECK(!err && memcmp(tok1, tok2, 16), "reset token: %d", err);

	/* Session ticket key */
	err = quic_session_ticket_key(t->secret, blob, 4, key1);
	if (!err)
		err = quic_session_ticket_key(t->secret, blob, 4, key2);
	QST_CHECK(!err && !memcmp(key1, key2, 64), "ticket key: %d", err);
	err = quic_session_ticket_key(t->secret, blob + 1, 16, key2);
	QST_CHECK(!err && memcmp(key1, key2, 64), "ticket key: %d", err);
out:
	if (c)
		quic_crypto_free(c);
	if (t)
		quic_token_ctx_free(t);
	if (t2)
		quic_token_ctx_free(t2);
	kfree(c);
	kfree(t);
	kfree(t2);
	return err;
}

/* Transport parameters */

struct qst_tp_case {
	const char	*hex;
	bool		is_serv;	/* decoding side */
	u32		version;
	int		err;
};

static const struct qst_tp_case qst_tp_cases[] = {
	/* minimal client parameters: initial_source_connection_id only */
	{ "0f0401020304", true, 0, 0 },
	/* duplicates */
	{ "0f040102030404010a04010a", true, 0, -EINVAL },
	{ "0f04010203040f0401020304", true, 0, -EINVAL },
	/* cut varint, length beyond the end, integer length mismatch */
	{ "0f040102030440", true, 0, -EINVAL },
	{ "0f040102030404050a", true, 0, -EINVAL },
	{ "0f040102030404020a00", true, 0, -EINVAL },
	{ "0f04010203040400", true, 0, -EINVAL },
	/* max_udp_payload_size 1199 / 1200 */
	{ "0f0401020304030244af", true, 0, -EINVAL },
	{ "0f0401020304030244b0", true, 0, 0 },
	/* ack_delay_exponent 21 / 20 */
	{ "0f04010203040a0115", true, 0, -EINVAL },
	{ "0f04010203040a0114", true, 0, 0 },
	/* max_ack_delay 2^14 / 2^14 - 1 */
	{ "0f04010203040b0480004000", true, 0, -EINVAL },
	{ "0f04010203040b027fff", true, 0, 0 },
	/* active_connection_id_limit 1 */
	{ "0f04010203040e0101", true, 0, -EINVAL },
	/* initial_max_streams 2^60 + 1 / 2^60 */
	{ "0f04010203040808d000000000000001", true, 0, -EINVAL },
	{ "0f04010203040908d000000000000000", true, 0, 0 },
	/* server-only parameters from a client */
	{ "0f0401020304000401020304", true, 0, -EINVAL },
	{ "0f0401020304021000000000000000000000000000000000", true, 0,
	  -EINVAL },
	{ "0f0401020304100401020304", true, 0, -EINVAL },
	/* 21-byte connection ID */
	{ "0f15000102030405060708090a0b0c0d0e0f1011121314", true, 0,
	  -EINVAL },
	/* missing initial_source_connection_id, original_destination_c_id */
	{ "04010a", true, 0, -EINVAL },
	{ "0f0401020304", false, 0, -EINVAL },
	{ "0f0401020304000401020304", false, 0, 0 },
	/* 15-byte stateless_reset_token */
	{ "0f0401020304000401020304020f000000000000000000000000000000",
	  false, 0, -EINVAL },
	/* preferred_address: empty CID, good, CID length beyond the value */
	{ "0f04010203040004010203040d29000000000000000000000000000000000000"
	  "000000000000000000000000000000000000000000000000", false, 0,
	  -EINVAL },
	{ "0f04010203040004010203040d2a000000000000000000000000000000000000"
	  "000000000000010100000000000000000000000000000000", false, 0, 0 },
	{ "0f04010203040004010203040d2a000000000000000000000000000000000000"
	  "000000000000020100000000000000000000000000000000", false, 0,
	  -EINVAL },
	/* version_information: chosen 0, length % 4, available 0, mismatch */
	{ "0f0401020304110400000000", true, 0, -EINVAL },
	{ "0f04010203041103000001", true, 0, -EINVAL },
	{ "0f040102030411080000000100000000", true, 0, -EINVAL },
	{ "0f040102030411080000000100000001", true, QUIC_VERSION_V2,
	  -EPROTONOSUPPORT },
	{ "0f04010203041108000000016b3343cf", true, QUIC_VERSION_V1, 0 },
	/* zero-length flags with a value */
	{ "0f04010203046ab20100", true, 0, -EINVAL },
	{ "0f04010203040c0100", true, 0, -EINVAL },
	/* grease_quic_bit, disable_active_migration, 0xbaad; unknown ignored */
	{ "0f04010203046ab2000c008000baad001b004a0a03aabbcc", true, 0, 0 },
	{ "0f04010203041b001b00", true, 0, 0 },
};

static int qst_tp(bool corrupt)
{
	struct quic_transport_param up = {};
	struct quic_tp *l = NULL, *p = NULL;
	u8 *buf = NULL, *in;
	int err = 0, n, i;
	u32 len;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	buf = kzalloc(QUIC_TP_EXT_MAX_LEN, GFP_KERNEL);
	QST_CHECK(l && p && buf, "no memory");

	for (i = 0; i < ARRAY_SIZE(qst_tp_cases); i++) {
		const struct qst_tp_case *tc = &qst_tp_cases[i];

		in = qst_unhex(tc->hex, 0, &len);
		QST_CHECK(in, "no memory");
		err = quic_tp_decode(p, tc->is_serv, tc->version, in, len);
		kfree(in);
		QST_CHECK(err == tc->err, "tp case %d: %d, expected %d", i, err,
			  tc->err);
	}
	err = quic_tp_decode(p, true, 0, buf, 0);
	QST_CHECK(err == -EINVAL, "empty tp: %d", err);

	/* The client's parameters inside the RFC 9001 A.2 ClientHello */
	in = qst_unhex("0408ffffffffffffffff05048000ffff07048000ffff0801100104"
		       "800075300901100f088394c8f03e51570806048000ffff", 0,
		       &len);
	QST_CHECK(in, "no memory");
	err = quic_tp_decode(p, true, QUIC_VERSION_V1, in, len);
	kfree(in);
	QST_CHECK(!err && p->max_data == (1ULL << 62) - 1 &&
		  p->max_stream_data_bidi_local == 0xffff &&
		  p->max_stream_data_bidi_remote == 0xffff &&
		  p->max_stream_data_uni == 0xffff &&
		  p->max_streams_bidi == 16 && p->max_streams_uni == 16 &&
		  p->max_idle_timeout == 30000000 &&
		  p->max_udp_payload_size == 65527 &&
		  p->ack_delay_exponent == 3 && p->max_ack_delay == 25000 &&
		  p->active_connection_id_limit == 2 &&
		  p->initial_scid.len == 8 && p->initial_scid.data[0] == 0x83 &&
		  !p->version_info_present,
		  "RFC 9001 A.2 transport parameters: %d", err);

	/* Server round trip with every parameter */
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

	n = quic_tp_encode(l, true, buf, QUIC_TP_EXT_MAX_LEN);
	QST_CHECK(n > 0, "tp encode: %d", n);
	if (corrupt)
		buf[n - 1] ^= 1;
	err = quic_tp_decode(p, false, QUIC_VERSION_V1, buf, n);
	QST_CHECK(!err, "tp decode of our encoding: %d", err);
	QST_CHECK(p->max_idle_timeout == l->max_idle_timeout &&
		  p->max_udp_payload_size == l->max_udp_payload_size &&
		  p->max_data == l->max_data &&
		  p->max_stream_data_bidi_local == l->max_stream_data_bidi_local &&
		  p->max_stream_data_bidi_remote == l->max_stream_data_bidi_remote &&
		  p->max_stream_data_uni == l->max_stream_data_uni &&
		  p->max_streams_bidi == l->max_streams_bidi &&
		  p->max_streams_uni == l->max_streams_uni &&
		  p->ack_delay_exponent == l->ack_delay_exponent &&
		  p->max_ack_delay == l->max_ack_delay &&
		  p->active_connection_id_limit == l->active_connection_id_limit &&
		  p->max_datagram_frame_size == l->max_datagram_frame_size,
		  "tp round trip: integers");
	QST_CHECK(p->disable_active_migration && p->grease_quic_bit &&
		  p->disable_1rtt_encryption && p->stateless_reset &&
		  p->pref_addr_present && p->retry_scid_present &&
		  p->odcid_present && p->iscid_present &&
		  p->version_info_present, "tp round trip: flags");
	QST_CHECK(!memcmp(&p->original_dcid, &l->original_dcid,
			  sizeof(l->original_dcid)) &&
		  !memcmp(&p->initial_scid, &l->initial_scid,
			  sizeof(l->initial_scid)) &&
		  p->retry_scid.len == 0 &&
		  !memcmp(p->stateless_reset_token, l->stateless_reset_token,
			  16) &&
		  !memcmp(&p->pref_addr, &l->pref_addr, sizeof(l->pref_addr)),
		  "tp round trip: CIDs, token, preferred address");
	QST_CHECK(p->chosen_version == QUIC_VERSION_V1 &&
		  p->available_count == 2 &&
		  p->available_versions[1] == QUIC_VERSION_V2,
		  "tp round trip: version information");
	err = quic_tp_decode(p, false, QUIC_VERSION_V2, buf, n);
	QST_CHECK(err == -EPROTONOSUPPORT, "tp version mismatch: %d", err);
	err = quic_tp_decode(p, true, QUIC_VERSION_V1, buf, n);
	QST_CHECK(err == -EINVAL, "server params from a client: %d", err);
	/*
	 * Truncations: a cut at a parameter boundary is a valid shorter list,
	 * anything else must be refused, and none may read past the end.
	 */
	for (i = 0; i < n; i++) {
		err = quic_tp_decode(p, false, QUIC_VERSION_V1, buf, i);
		QST_CHECK(!err || err == -EINVAL, "truncated tp: %d", err);
	}
	err = quic_tp_decode(p, false, QUIC_VERSION_V1, buf, n - 1);
	QST_CHECK(err == -EINVAL, "truncated tp accepted");
	n = quic_tp_encode(l, true, buf, 40);
	QST_CHECK(n == -ENOSPC, "tp encode overflow: %d", n);

	/* Client round trip: no server-only parameters */
	l->disable_compatible_version = 1;
	n = quic_tp_encode(l, false, buf, QUIC_TP_EXT_MAX_LEN);
	QST_CHECK(n > 0, "tp encode: %d", n);
	err = quic_tp_decode(p, true, QUIC_VERSION_V1, buf, n);
	QST_CHECK(!err && !p->odcid_present && !p->stateless_reset &&
		  !p->pref_addr_present && !p->version_info_present,
		  "client tp round trip: %d", err);

	/* UAPI overlay */
	quic_tp_init_local(l);
	quic_tp_to_user(l, &up);
	QST_CHECK(up.active_connection_id_limit == 7 &&
		  up.ack_delay_exponent == 3 &&
		  up.max_udp_payload_size == 65527 &&
		  up.max_idle_timeout == 30000000 &&
		  up.max_ack_delay == 25000 && up.max_streams_bidi == 100 &&
		  up.max_data == 65535 * 32 &&
		  up.max_stream_data_uni == 65535 * 16, "tp defaults");
	memset(&up, 0, sizeof(up));
	up.max_datagram_frame_size = 1400;
	up.max_idle_timeout = 5000000;
	err = quic_tp_set_user(l, &up, false);
	QST_CHECK(!err && l->max_datagram_frame_size == 1400 &&
		  l->max_idle_timeout == 5000000 &&
		  l->active_connection_id_limit == 7, "tp overlay: %d", err);
	up.active_connection_id_limit = 9;
	err = quic_tp_set_user(l, &up, false);
	QST_CHECK(err == -EINVAL && l->active_connection_id_limit == 7,
		  "tp overlay range: %d", err);
	memset(&up, 0, sizeof(up));
	up.max_data = S32_MAX;
	err = quic_tp_set_user(l, &up, false);
	QST_CHECK(err == -EINVAL, "tp local max_data: %d", err);
	err = quic_tp_set_user(l, &up, true);
	QST_CHECK(!err, "tp remote max_data: %d", err);
	memset(&up, 0, sizeof(up));
	up.max_udp_payload_size = 1199;
	err = quic_tp_set_user(l, &up, false);
	QST_CHECK(err == -EINVAL, "tp udp payload: %d", err);
	err = 0;
out:
	kfree(l);
	kfree(p);
	kfree(buf);
	return err;
}

/* selftest=3: rough per-suite throughput of 1200-byte packets */
static void qst_bench(u32 type)
{
	struct quic_crypto *c, *s;
	struct quic_crypto_pktinfo pi = {};
	u32 len = 1 + 8 + 2 + 1200 + QUIC_TAG_LEN;
	int i, n = 2000, err = 0;
	u8 secret[48] = {}, *buf;
	u64 enc_ns, dec_ns;
	ktime_t t0;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	buf = kzalloc(len, GFP_KERNEL);
	if (!c || !s || !buf)
		goto out;
	if (qst_secret(c, type, secret, 48, true, QUIC_VERSION_V1) ||
	    qst_secret(s, type, secret, 48, false, QUIC_VERSION_V1))
		goto out;
	t0 = ktime_get();
	for (i = 0; i < n && !err; i++) {
		buf[0] = 0x41;	/* the header is protected in place */
		err = quic_crypto_encrypt(c, buf, len, 9, i);
	}
	enc_ns = ktime_to_ns(ktime_sub(ktime_get(), t0)) ?: 1;
	t0 = ktime_get();
	for (i = 0; i < n && !err; i++) {
		buf[0] = 0x41;
		buf[9] = i >> 8;
		buf[10] = i;
		err = quic_crypto_encrypt(c, buf, len, 9, i);
		pi.pn_offset = 9;
		pi.largest_pn = i - 1;
		if (!err)
			err = quic_crypto_decrypt(s, buf, len, &pi);
	}
	dec_ns = ktime_to_ns(ktime_sub(ktime_get(), t0)) ?: 1;
	dec_ns = dec_ns > enc_ns ? dec_ns - enc_ns : 1;
	pr_info("bench cipher %u (%s%s): seal %llu MB/s, open %llu MB/s, err %d\n",
		type, crypto_tfm_alg_driver_name(crypto_aead_tfm(c->tx.aead)),
		c->tx.fast ? " + SIMD" : "", (u64)n * 1200 * 1000 / enc_ns,
		(u64)n * 1200 * 1000 / dec_ns, err);
out:
	if (c)
		quic_crypto_free(c);
	if (s)
		quic_crypto_free(s);
	kfree(c);
	kfree(s);
	kfree(buf);
}

/* selftest=3: cost of the transform-free Initial open (1200 bytes) */
static void qst_bench_initial(void)
{
	struct quic_crypto_pktinfo pi;
	u8 dcid[8] = {}, *buf;
	int i, n = 50, err = 0;
	ktime_t t0;
	s64 ns;

	buf = kzalloc(1200, GFP_KERNEL);
	if (!buf)
		return;
	t0 = ktime_get();
	for (i = 0; i < n; i++) {
		buf[0] = 0xc3;
		memset(&pi, 0, sizeof(pi));
		pi.pn_offset = 18;
		pi.largest_pn = -1;
		err = quic_crypto_initial_open_atomic(dcid, 8, QUIC_VERSION_V1,
						      buf, 1200, &pi);
	}
	ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
	pr_info("bench transform-free Initial open: %lld us per 1200-byte packet (%d)\n",
		ns / n / 1000, err);
	kfree(buf);
}

static const u32 qst_ciphers[] = {
	TLS_CIPHER_AES_GCM_128, TLS_CIPHER_AES_GCM_256,
	TLS_CIPHER_AES_CCM_128, TLS_CIPHER_CHACHA20_POLY1305,
};

int quic_selftest(void)
{
	int err, i;

	if (!selftest)
		return 0;

	for (i = 0; i < ARRAY_SIZE(qst_versions); i++) {
		err = qst_version(&qst_versions[i], selftest == 2 && !i);
		if (err)
			goto fail;
	}
	for (i = 0; i < ARRAY_SIZE(qst_suites); i++) {
		err = qst_suite(qst_suites[i].type, qst_suites[i].packet);
		if (err)
			goto fail;
	}
	for (i = 0; i < ARRAY_SIZE(qst_ciphers); i++) {
		err = qst_key_update(qst_ciphers[i]);
		if (err)
			goto fail;
	}
	err = qst_hkdf();
	if (err)
		goto fail;
	err = qst_fuzz();
	if (err)
		goto fail;
	err = qst_misc();
	if (err)
		goto fail;
	err = qst_tp(selftest == 2);
	if (err)
		goto fail;

	if (selftest == 3) {
		for (i = 0; i < ARRAY_SIZE(qst_ciphers); i++)
			qst_bench(qst_ciphers[i]);
		qst_bench_initial();
	}
	if (selftest == 2) {
		pr_err("selftest FAILED: the corrupted vector went undetected\n");
		return -EINVAL;
	}
	pr_info("selftest passed\n");
	return 0;
fail:
	pr_err("selftest failed: %d\n", err);
	return err;
}
