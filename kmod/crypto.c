// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC packet protection (RFC 9001, RFC 9369) through the kernel crypto API:
 * HKDF, Initial secrets, per-level AEAD and header protection keys, key
 * update, address validation tokens, stateless reset tokens and the session
 * ticket key.
 *
 * All transforms are synchronous (allocated with the CRYPTO_ALG_ASYNC bit
 * masked out), so the per-packet functions complete inline and can run in
 * softirq context.  Transforms are allocated when keys are installed; the
 * AEAD requests and the small buffers the scatterlists point at are
 * preallocated with them.
 */

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/mm.h>
#include <linux/tls.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/timekeeping.h>
#include <crypto/aead.h>
#include <crypto/hash.h>
#include <crypto/skcipher.h>
#include <crypto/utils.h>
#include <linux/unaligned.h>
#include <asm/simd.h>

#include "crypto.h"
#include "test_export.h"

static bool quic_fast_aead = true;
module_param_named(fast_aead, quic_fast_aead, bool, 0644);
MODULE_PARM_DESC(fast_aead,
		 "Use SIMD AEAD implementations behind async wrappers when they run inline (default on)");

/* Layout of the per-direction scratch buffers (tx_buf, rx_buf). */
#define QUIC_BUF_NONCE		0	/* AEAD IV, 16 bytes (CCM needs 16) */
#define QUIC_BUF_SAMPLE		16	/* HP sample / ChaCha20 IV */
#define QUIC_BUF_MASK		32	/* HP mask output */
#define QUIC_BUF_ZERO		48	/* ChaCha20 HP input: zeros */
#define QUIC_BUF_LEN		64

static const u8 quic_salt_v1[] = {
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
};

static const u8 quic_salt_v2[] = {
	0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
	0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
};

/* Retry integrity (RFC 9001 5.8, RFC 9369 3.3.3): AES-128-GCM keys and
 * nonces per version, and a keyed transform of each for the module
 */
static const u8 quic_retry_key_v1[16] = {
	0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
	0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e,
};

static const u8 quic_retry_nonce_v1[QUIC_IV_LEN] = {
	0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb,
};

static const u8 quic_retry_key_v2[16] = {
	0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2,
	0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92,
};

static const u8 quic_retry_nonce_v2[QUIC_IV_LEN] = {
	0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a,
};

static struct crypto_aead *quic_retry_aead[2];	/* v1, v2 */

/* The Initial salt of @version (RFC 9001 5.2, RFC 9369 3.3.1), or NULL */
static const u8 *quic_initial_salt(u32 version)
{
	BUILD_BUG_ON(sizeof(quic_salt_v1) != sizeof(quic_salt_v2));
	if (version == QUIC_VERSION_V1)
		return quic_salt_v1;
	if (version == QUIC_VERSION_V2)
		return quic_salt_v2;
	return NULL;
}

/**
 * struct quic_cipher - a supported TLS 1.3 cipher suite
 * @type: TLS_CIPHER_*
 * @aead: AEAD algorithm name
 * @hp: header protection skcipher name
 * @hmac: HKDF hash
 * @key_len: AEAD and HP key length
 * @secret_len: traffic secret length (hash size)
 * @ccm: the AEAD takes a CCM-formatted 16-byte IV
 * @conf_limit: packets one key may protect (confidentiality limit)
 * @integ_limit: forged packets tolerated per connection (integrity limit)
 */
struct quic_cipher {
	u32		type;
	const char	*aead;
	const char	*hp;
	const char	*hmac;
	u8		key_len;
	u8		secret_len;
	u8		ccm;
	u64		conf_limit;
	u64		integ_limit;
};

/* RFC 9001 section 6.6 and Appendix B (CCM: 2^21.5, rounded down) */
#define QUIC_GCM_CONF_LIMIT	BIT_ULL(23)
#define QUIC_GCM_INTEG_LIMIT	BIT_ULL(52)
#define QUIC_CHACHA_CONF_LIMIT	BIT_ULL(62)
#define QUIC_CHACHA_INTEG_LIMIT	BIT_ULL(36)
#define QUIC_CCM_LIMIT		2965820ULL

static const struct quic_cipher quic_ciphers[] = {
	{ TLS_CIPHER_AES_GCM_128, "gcm(aes)", "ecb(aes)", "hmac(sha256)",
	  16, 32, 0, QUIC_GCM_CONF_LIMIT, QUIC_GCM_INTEG_LIMIT },
	{ TLS_CIPHER_AES_GCM_256, "gcm(aes)", "ecb(aes)", "hmac(sha384)",
	  32, 48, 0, QUIC_GCM_CONF_LIMIT, QUIC_GCM_INTEG_LIMIT },
	{ TLS_CIPHER_AES_CCM_128, "ccm(aes)", "ecb(aes)", "hmac(sha256)",
	  16, 32, 1, QUIC_CCM_LIMIT, QUIC_CCM_LIMIT },
	{ TLS_CIPHER_CHACHA20_POLY1305, "rfc7539(chacha20,poly1305)",
	  "chacha20", "hmac(sha256)", 32, 32, 0, QUIC_CHACHA_CONF_LIMIT,
	  QUIC_CHACHA_INTEG_LIMIT },
};

static const struct quic_cipher *quic_cipher_get(u32 type)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(quic_ciphers); i++)
		if (quic_ciphers[i].type == type)
			return &quic_ciphers[i];
	return NULL;
}

static bool quic_is_chacha(u32 type)
{
	return type == TLS_CIPHER_CHACHA20_POLY1305;
}

/* HKDF (RFC 5869) and HKDF-Expand-Label (RFC 8446 section 7.1) */

/**
 * quic_crypto_hkdf_extract - HKDF-Extract (RFC 5869)
 * @hmac: hmac transform (its key is overwritten)
 * @salt: salt
 * @salt_len: salt length
 * @ikm: input keying material
 * @ikm_len: its length
 * @prk: out: digest-size bytes
 *
 * Context: any, never sleeps.
 * Return: 0 or a crypto API error.
 */
int quic_crypto_hkdf_extract(struct crypto_shash *hmac, const u8 *salt,
			     u32 salt_len, const u8 *ikm, u32 ikm_len, u8 *prk)
{
	int err;

	err = crypto_shash_setkey(hmac, salt, salt_len);
	if (err)
		return err;
	return crypto_shash_tfm_digest(hmac, ikm, ikm_len, prk);
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_hkdf_extract);

/**
 * quic_crypto_hkdf_expand - HKDF-Expand (RFC 5869)
 * @hmac: hmac transform (its key is overwritten)
 * @prk: pseudo-random key
 * @prk_len: its length
 * @info: info
 * @info_len: its length
 * @out: output
 * @out_len: at most 255 * digest size
 *
 * Context: any, never sleeps.
 * Return: 0, -EINVAL (bad @out_len) or a crypto API error.
 */
int quic_crypto_hkdf_expand(struct crypto_shash *hmac, const u8 *prk,
			    u32 prk_len, const u8 *info, u32 info_len, u8 *out,
			    u32 out_len)
{
	SHASH_DESC_ON_STACK(desc, hmac);
	u32 dsize = crypto_shash_digestsize(hmac);
	u8 t[HASH_MAX_DIGESTSIZE];
	u32 done = 0, n;
	u8 counter = 1;
	int err;

	if (!out_len || out_len > 255 * dsize || dsize > sizeof(t))
		return -EINVAL;

	err = crypto_shash_setkey(hmac, prk, prk_len);
	if (err)
		return err;

	desc->tfm = hmac;
	while (done < out_len) {
		err = crypto_shash_init(desc);
		if (!err && done)
			err = crypto_shash_update(desc, t, dsize);
		if (!err)
			err = crypto_shash_update(desc, info, info_len);
		if (!err)
			err = crypto_shash_finup(desc, &counter, 1, t);
		if (err)
			break;
		n = min(dsize, out_len - done);
		memcpy(out + done, t, n);
		done += n;
		counter++;
	}
	shash_desc_zero(desc);
	memzero_explicit(t, sizeof(t));
	return err;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_hkdf_expand);

/* The HkdfLabel of RFC 8446 section 7.1 with an empty context; 0 if too long */
#define QUIC_HKDF_LABEL_MAX	(2 + 1 + 255 + 1)

static u32 quic_hkdf_label(u8 *info, const char *label, u32 out_len)
{
	static const char prefix[] = "tls13 ";
	u32 plen = sizeof(prefix) - 1, llen = strlen(label);
	u32 ilen = 0;

	if (out_len > 0xffff || plen + llen > 255)
		return 0;
	put_unaligned_be16(out_len, info);
	ilen += 2;
	info[ilen++] = plen + llen;
	memcpy(info + ilen, prefix, plen);
	ilen += plen;
	memcpy(info + ilen, label, llen);
	ilen += llen;
	info[ilen++] = 0;	/* empty context */
	return ilen;
}

/**
 * quic_crypto_hkdf_expand_label - HKDF-Expand-Label (RFC 8446 section 7.1)
 * @hmac: hmac(sha256|sha384) transform (its key is overwritten)
 * @secret: the PRK
 * @secret_len: its length
 * @label: label without the "tls13 " prefix
 * @out: output
 * @out_len: output length (at most 255 * digest size)
 *
 * The context is always empty (as in QUIC).
 * Context: any, never sleeps.
 * Return: 0; -EINVAL if the label or @out_len is too long; a crypto API
 * error.
 */
int quic_crypto_hkdf_expand_label(struct crypto_shash *hmac, const u8 *secret,
				  u32 secret_len, const char *label, u8 *out,
				  u32 out_len)
{
	u8 info[QUIC_HKDF_LABEL_MAX];
	u32 ilen;

	ilen = quic_hkdf_label(info, label, out_len);
	if (!ilen)
		return -EINVAL;
	return quic_crypto_hkdf_expand(hmac, secret, secret_len, info, ilen,
				       out, out_len);
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_hkdf_expand_label);

/* Packet protection key derivation (RFC 9001 section 5.1) */

static const char *quic_label(u32 version, const char *v1, const char *v2)
{
	return version == QUIC_VERSION_V2 ? v2 : v1;
}

static int quic_derive_key_iv(struct crypto_shash *hmac, u32 version,
			      const u8 *secret, u32 secret_len, u8 *key,
			      u32 key_len, u8 *iv)
{
	int err;

	err = quic_crypto_hkdf_expand_label(hmac, secret, secret_len,
					    quic_label(version, "quic key",
						       "quicv2 key"),
					    key, key_len);
	if (err)
		return err;
	return quic_crypto_hkdf_expand_label(hmac, secret, secret_len,
					     quic_label(version, "quic iv",
							"quicv2 iv"),
					     iv, QUIC_IV_LEN);
}

static int quic_derive_ku(struct crypto_shash *hmac, u32 version,
			  const u8 *secret, u32 secret_len, u8 *next)
{
	return quic_crypto_hkdf_expand_label(hmac, secret, secret_len,
					     quic_label(version, "quic ku",
							"quicv2 ku"),
					     next, secret_len);
}

/* Key slots */

static void quic_key_free_fast(struct quic_crypto_key *k)
{
	aead_request_free(k->fast_req);
	crypto_free_aead(k->fast);
	k->fast_req = NULL;
	k->fast = NULL;
}

static void quic_key_free(struct quic_crypto_key *k)
{
	quic_key_free_fast(k);
	aead_request_free(k->req);	/* kfree_sensitive() */
	crypto_free_aead(k->aead);
	memzero_explicit(k, sizeof(*k));
}

static void quic_aead_done(void *data, int err)
{
}

/*
 * The fastest implementation of an AEAD is often an async wrapper around a
 * SIMD one (x86 AES-NI/VAES GCM): it completes inline whenever SIMD is
 * usable and defers to cryptd otherwise.  Use it only while may_use_simd()
 * holds, next to the synchronous transform.  A trial run in process context
 * weeds out real asynchronous hardware, which must never be used from the
 * packet path.
 */
static void quic_key_alloc_fast(struct quic_crypto_key *k,
				const struct quic_cipher *ci)
{
	static const u8 zkey[QUIC_KEY_MAX_LEN];
	struct crypto_aead *fast;
	DECLARE_CRYPTO_WAIT(wait);
	struct scatterlist sg;
	u8 *buf, *iv;
	int err;

	fast = crypto_alloc_aead(ci->aead, 0, 0);
	if (IS_ERR(fast))
		return;
	if (!strcmp(crypto_tfm_alg_driver_name(crypto_aead_tfm(fast)),
		    crypto_tfm_alg_driver_name(crypto_aead_tfm(k->aead))) ||
	    crypto_aead_setauthsize(fast, QUIC_TAG_LEN) ||
	    crypto_aead_setkey(fast, zkey, ci->key_len))
		goto drop;
	k->fast_req = aead_request_alloc(fast, GFP_KERNEL);
	buf = kzalloc(2 * QUIC_TAG_LEN + 16, GFP_KERNEL);
	if (!k->fast_req || !buf) {
		kfree(buf);
		goto drop;
	}
	iv = buf + 2 * QUIC_TAG_LEN;
	if (ci->ccm)
		iv[0] = 15 - QUIC_IV_LEN - 1;
	sg_init_one(&sg, buf, 2 * QUIC_TAG_LEN);
	aead_request_set_callback(k->fast_req, CRYPTO_TFM_REQ_MAY_BACKLOG,
				  crypto_req_done, &wait);
	aead_request_set_ad(k->fast_req, 0);
	aead_request_set_crypt(k->fast_req, &sg, &sg, QUIC_TAG_LEN, iv);
	err = -EAGAIN;
	if (may_use_simd()) {
		err = crypto_aead_encrypt(k->fast_req);
		if (err == -EINPROGRESS || err == -EBUSY) {
			/* real async hardware: wait for it, then drop it */
			crypto_wait_req(err, &wait);
			err = -EAGAIN;
		}
	}
	kfree(buf);
	if (err)
		goto drop;
	aead_request_set_callback(k->fast_req, 0, quic_aead_done, NULL);
	k->fast = fast;
	return;
drop:
	aead_request_free(k->fast_req);
	k->fast_req = NULL;
	crypto_free_aead(fast);
}

static int quic_key_alloc(struct quic_crypto_key *k,
			  const struct quic_cipher *ci)
{
	struct crypto_aead *aead;
	int err;

	aead = crypto_alloc_aead(ci->aead, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(aead))
		return PTR_ERR(aead);
	err = crypto_aead_setauthsize(aead, QUIC_TAG_LEN);
	if (err)
		goto err;
	k->req = aead_request_alloc(aead, GFP_KERNEL);
	if (!k->req) {
		err = -ENOMEM;
		goto err;
	}
	k->aead = aead;
	if (quic_fast_aead)
		quic_key_alloc_fast(k, ci);
	return 0;
err:
	crypto_free_aead(aead);
	return err;
}

/* Set @k to the generation of @secret: derive key and IV, key the AEAD. */
static int quic_key_set(struct quic_crypto *c, struct quic_crypto_key *k,
			const u8 *secret)
{
	u8 key[QUIC_KEY_MAX_LEN];
	int err;

	err = quic_derive_key_iv(c->hmac, c->version, secret, c->secret_len,
				 key, c->key_len, k->iv);
	if (!err)
		err = crypto_aead_setkey(k->aead, key, c->key_len);
	if (!err && k->fast && crypto_aead_setkey(k->fast, key, c->key_len))
		quic_key_free_fast(k);
	memzero_explicit(key, sizeof(key));
	if (err)
		return err;
	memmove(k->secret, secret, c->secret_len);
	return 0;
}

/*
 * Run the packet AEAD of @k in place over @sg: the SIMD implementation when
 * it completes inline, the synchronous one otherwise.
 */
static int quic_key_crypt(struct quic_crypto_key *k, bool enc,
			  struct scatterlist *sg, u32 ad_len, u32 len, u8 *iv)
{
	struct aead_request *req = k->req;
	int err;

	if (k->fast && may_use_simd())
		req = k->fast_req;
	else
		aead_request_set_callback(req, 0, NULL, NULL);
	aead_request_set_ad(req, ad_len);
	aead_request_set_crypt(req, sg, sg, len, iv);
	err = enc ? crypto_aead_encrypt(req) : crypto_aead_decrypt(req);
	/* Cannot happen: the wrapper runs inline while SIMD is usable. */
	if (WARN_ON_ONCE(err == -EINPROGRESS || err == -EBUSY))
		err = -EIO;
	return err;
}

static int quic_hp_set(struct quic_crypto *c,
		       struct crypto_sync_skcipher **hpp,
		       const struct quic_cipher *ci, const u8 *secret)
{
	struct crypto_sync_skcipher *hp;
	u8 key[QUIC_KEY_MAX_LEN];
	int err;

	hp = crypto_alloc_sync_skcipher(ci->hp, 0, 0);
	if (IS_ERR(hp))
		return PTR_ERR(hp);
	err = quic_crypto_hkdf_expand_label(c->hmac, secret, c->secret_len,
					    quic_label(c->version, "quic hp",
						       "quicv2 hp"),
					    key, c->key_len);
	if (!err)
		err = crypto_sync_skcipher_setkey(hp, key, c->key_len);
	memzero_explicit(key, sizeof(key));
	if (err) {
		crypto_free_sync_skcipher(hp);
		return err;
	}
	crypto_free_sync_skcipher(*hpp);
	*hpp = hp;
	return 0;
}

static void quic_crypto_free_tx(struct quic_crypto *c)
{
	quic_key_free(&c->tx);
	quic_key_free(&c->tx_next);
	crypto_free_sync_skcipher(c->tx_hp);
	c->tx_hp = NULL;
	kfree_sensitive(c->tx_buf);
	c->tx_buf = NULL;
	c->tx_ready = 0;
	c->tx_next_stale = 0;
}

static void quic_crypto_free_rx(struct quic_crypto *c)
{
	quic_key_free(&c->rx);
	quic_key_free(&c->rx_prev);
	quic_key_free(&c->rx_next);
	crypto_free_sync_skcipher(c->rx_hp);
	c->rx_hp = NULL;
	kfree_sensitive(c->rx_buf);
	c->rx_buf = NULL;
	c->rx_ready = 0;
	c->rx_next_stale = 0;
	c->rx_prev_valid = 0;
}

/**
 * quic_crypto_free - free transforms and wipe all key material
 * @c: level state; zeroed on return (may already be zeroed)
 *
 * Context: any context except hard IRQ.
 */
void quic_crypto_free(struct quic_crypto *c)
{
	quic_crypto_free_tx(c);
	quic_crypto_free_rx(c);
	crypto_free_shash(c->hmac);
	memzero_explicit(c, sizeof(*c));
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_free);

/*
 * Install one direction from @secret.  With @ku, also allocate the key
 * update slots and precompute the next generation.
 */
static int quic_crypto_install(struct quic_crypto *c,
			       const struct quic_cipher *ci, bool send,
			       const u8 *secret, bool ku)
{
	struct crypto_sync_skcipher **hpp;
	struct quic_crypto_key *k, *next, *prev = NULL;
	u8 nsecret[QUIC_SECRET_MAX_LEN];
	u8 **bufp;
	int err;

	if (send) {
		quic_crypto_free_tx(c);
		k = &c->tx;
		next = &c->tx_next;
		hpp = &c->tx_hp;
		bufp = &c->tx_buf;
	} else {
		quic_crypto_free_rx(c);
		k = &c->rx;
		next = &c->rx_next;
		prev = &c->rx_prev;
		hpp = &c->rx_hp;
		bufp = &c->rx_buf;
	}

	*bufp = kzalloc(QUIC_BUF_LEN, GFP_KERNEL);
	if (!*bufp)
		return -ENOMEM;

	err = quic_key_alloc(k, ci);
	if (err)
		goto err;
	err = quic_key_set(c, k, secret);
	if (err)
		goto err;
	err = quic_hp_set(c, hpp, ci, secret);
	if (err)
		goto err;

	if (ku) {
		err = quic_key_alloc(next, ci);
		if (!err && prev)
			err = quic_key_alloc(prev, ci);
		if (!err)
			err = quic_derive_ku(c->hmac, c->version, secret,
					     c->secret_len, nsecret);
		if (!err)
			err = quic_key_set(c, next, nsecret);
		memzero_explicit(nsecret, sizeof(nsecret));
		if (err)
			goto err;
	}

	if (send)
		c->tx_ready = 1;
	else
		c->rx_ready = 1;
	return 0;
err:
	if (send)
		quic_crypto_free_tx(c);
	else
		quic_crypto_free_rx(c);
	return err;
}

/* Prepare @c for @ci; keeps the other direction if it uses the same suite. */
static int quic_crypto_setup(struct quic_crypto *c,
			     const struct quic_cipher *ci, u32 version)
{
	struct crypto_shash *hmac;

	if ((c->tx_ready || c->rx_ready) && c->cipher_type != ci->type)
		return -EINVAL;
	if ((c->tx_ready || c->rx_ready) && c->version != version)
		return -EINVAL;

	/* A leftover transform of another hash, after a failed install */
	if (c->hmac && crypto_shash_digestsize(c->hmac) != ci->secret_len) {
		crypto_free_shash(c->hmac);
		c->hmac = NULL;
	}
	if (!c->hmac) {
		hmac = crypto_alloc_shash(ci->hmac, 0, 0);
		if (IS_ERR(hmac))
			return PTR_ERR(hmac);
		c->hmac = hmac;
	}
	c->cipher_type = ci->type;
	c->conf_limit = ci->conf_limit;
	c->integ_limit = ci->integ_limit;
	c->version = version;
	c->secret_len = ci->secret_len;
	c->key_len = ci->key_len;
	return 0;
}

/**
 * quic_crypto_set_secret - install one direction's keys from a TLS secret
 * @c: level state of @srt->level (the caller picks it; APP, HANDSHAKE or
 *	EARLY)
 * @srt: the secret from QUIC_SOCKOPT_CRYPTO_SECRET; @srt->send selects the
 *	direction, @srt->type the cipher suite
 * @version: QUIC version whose labels to use
 *
 * Derives key, IV and HP key with "quic key/iv/hp" (v1) or
 * "quicv2 key/iv/hp" (v2).  For the APP level, the next-generation keys
 * for key update are precomputed as well.  Both directions of one level must
 * use the same cipher suite.  Installing a direction that is already
 * installed replaces it.
 * Context: process context, may sleep.
 * Return: 0; -EINVAL for an unsupported cipher type, a bad level or version,
 * or a cipher or version mismatch between directions; -ENOMEM or a crypto
 * API error.
 */
int quic_crypto_set_secret(struct quic_crypto *c,
			   const struct quic_crypto_secret *srt, u32 version)
{
	const struct quic_cipher *ci;
	bool ku;
	int err;

	ci = quic_cipher_get(srt->type);
	if (!ci)
		return -EINVAL;
	if (srt->level != QUIC_CRYPTO_APP &&
	    srt->level != QUIC_CRYPTO_HANDSHAKE &&
	    srt->level != QUIC_CRYPTO_EARLY)
		return -EINVAL;
	if (version != QUIC_VERSION_V1 && version != QUIC_VERSION_V2)
		return -EINVAL;

	/* Replacing a direction with a different suite: start over. */
	if (c->cipher_type != ci->type && (c->tx_ready || c->rx_ready) &&
	    !(srt->send ? c->rx_ready : c->tx_ready))
		quic_crypto_free(c);

	err = quic_crypto_setup(c, ci, version);
	if (err)
		return err;

	ku = srt->level == QUIC_CRYPTO_APP;
	err = quic_crypto_install(c, ci, !!srt->send, srt->secret, ku);
	if (err)
		return err;
	if (ku) {
		c->has_ku = 1;
		c->key_phase = 0;
		c->key_pending = 0;
		c->rx_first_pn = -1;
	}
	return 0;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_set_secret);

/**
 * quic_crypto_initial_keys_install - derive and install Initial keys
 * @c: level state (previous keys are freed first)
 * @dcid: Destination Connection ID of the client's first Initial packet
 *	(the original DCID; after a Retry, the Retry's SCID)
 * @dcid_len: its length, 0..20
 * @version: QUIC_VERSION_V1 or QUIC_VERSION_V2 (salt and labels)
 * @is_serv: server side: send with "server in", receive with "client in"
 *
 * Always AES-128-GCM (RFC 9001 section 5.2, RFC 9369 section 3.3).
 * Context: process context, may sleep.
 * Return: 0, -EINVAL on bad arguments, -ENOMEM or a crypto API error.
 */
int quic_crypto_initial_keys_install(struct quic_crypto *c, const u8 *dcid,
				     u32 dcid_len, u32 version, bool is_serv)
{
	const struct quic_cipher *ci = quic_cipher_get(TLS_CIPHER_AES_GCM_128);
	const u8 *salt = quic_initial_salt(version);
	u8 initial[32], csecret[32], ssecret[32];
	int err;

	if (dcid_len > QUIC_CID_MAX_LEN || !salt)
		return -EINVAL;

	quic_crypto_free(c);
	err = quic_crypto_setup(c, ci, version);
	if (err)
		return err;

	err = quic_crypto_hkdf_extract(c->hmac, salt, sizeof(quic_salt_v1),
				       dcid, dcid_len, initial);
	if (!err)
		err = quic_crypto_hkdf_expand_label(c->hmac, initial, 32,
						    "client in", csecret, 32);
	if (!err)
		err = quic_crypto_hkdf_expand_label(c->hmac, initial, 32,
						    "server in", ssecret, 32);
	if (!err)
		err = quic_crypto_install(c, ci, true,
					  is_serv ? ssecret : csecret, false);
	if (!err)
		err = quic_crypto_install(c, ci, false,
					  is_serv ? csecret : ssecret, false);
	memzero_explicit(initial, sizeof(initial));
	memzero_explicit(csecret, sizeof(csecret));
	memzero_explicit(ssecret, sizeof(ssecret));
	if (err)
		quic_crypto_free(c);
	return err;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_initial_keys_install);

/* Per-packet operations */

/**
 * quic_crypto_decode_pn - reconstruct a packet number (RFC 9000 A.3)
 * @largest_pn: largest packet number received in the space, -1 if none
 * @truncated: the decoded truncated packet number
 * @pn_len: its encoded length, 1..4
 *
 * Context: any, never sleeps.
 * Return: the full packet number closest to @largest_pn + 1.
 */
s64 quic_crypto_decode_pn(s64 largest_pn, u32 truncated, u8 pn_len)
{
	s64 expected = largest_pn + 1;
	s64 win = 1LL << (pn_len * 8);
	s64 hwin = win / 2;
	s64 mask = win - 1;
	s64 candidate = (expected & ~mask) | truncated;

	if (candidate <= expected - hwin && candidate < (1LL << 62) - win)
		return candidate + win;
	if (candidate > expected + hwin && candidate >= win)
		return candidate - win;
	return candidate;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_decode_pn);

/* Compute the 5-byte header protection mask into buf + QUIC_BUF_MASK. */
static int quic_hp_mask(struct crypto_sync_skcipher *hp, u32 type, u8 *buf,
			const u8 *sample)
{
	SYNC_SKCIPHER_REQUEST_ON_STACK(req, hp);
	struct scatterlist src, dst;
	int err;

	memcpy(buf + QUIC_BUF_SAMPLE, sample, QUIC_HP_SAMPLE_LEN);
	sg_init_one(&dst, buf + QUIC_BUF_MASK, QUIC_HP_SAMPLE_LEN);
	skcipher_request_set_sync_tfm(req, hp);
	skcipher_request_set_callback(req, 0, NULL, NULL);
	if (quic_is_chacha(type)) {
		/* counter (LE) || nonce: exactly the 16-byte sample */
		memset(buf + QUIC_BUF_ZERO, 0, QUIC_HP_SAMPLE_LEN);
		sg_init_one(&src, buf + QUIC_BUF_ZERO, QUIC_HP_SAMPLE_LEN);
		skcipher_request_set_crypt(req, &src, &dst, 5,
					   buf + QUIC_BUF_SAMPLE);
	} else {
		sg_init_one(&src, buf + QUIC_BUF_SAMPLE, QUIC_HP_SAMPLE_LEN);
		skcipher_request_set_crypt(req, &src, &dst, QUIC_HP_SAMPLE_LEN,
					   NULL);
	}
	err = crypto_skcipher_encrypt(req);
	skcipher_request_zero(req);
	return err;
}

static void quic_nonce(const struct quic_crypto *c,
		       const struct quic_crypto_key *k, u8 *buf, s64 pn)
{
	u8 *nonce = buf + QUIC_BUF_NONCE;
	int i;

	memset(nonce, 0, 16);
	if (c->cipher_type == TLS_CIPHER_AES_CCM_128) {
		nonce[0] = 15 - QUIC_IV_LEN - 1;	/* L' = 2 */
		nonce++;
	}
	memcpy(nonce, k->iv, QUIC_IV_LEN);
	for (i = 0; i < 8; i++)
		nonce[QUIC_IV_LEN - 1 - i] ^= (u8)((u64)pn >> (8 * i));
}

static bool quic_buf_ok(const void *data)
{
	/* The scatterlist needs directly mapped memory: no stack, no vmalloc. */
	return !WARN_ON_ONCE(!virt_addr_valid(data));
}

/**
 * quic_crypto_encrypt - seal one packet in place and apply header protection
 * @c: level state with a send key
 * @data: the packet: header (first byte with the packet number length in its
 *	low two bits already set; for short headers the key phase bit is set
 *	here), the truncated packet number, the plaintext payload, and
 *	QUIC_TAG_LEN bytes of room for the tag.  Linear, non-stack memory.
 * @len: total length including the QUIC_TAG_LEN tag room
 * @pn_offset: offset of the packet number field
 * @pn: full packet number (for the nonce)
 *
 * The AAD is @data[0 .. pn_offset + pn_len).  Long header Length fields
 * must already count the tag.  The payload must be padded so that the
 * sample (pn_offset + 4 .. + 16) lies inside @len.
 * Context: any, never sleeps.
 * Return: 0; -EINVAL if no key or the packet is too short for the sample;
 * a crypto API error.
 */
int quic_crypto_encrypt(struct quic_crypto *c, u8 *data, u32 len,
			u32 pn_offset, s64 pn)
{
	struct quic_crypto_key *k = &c->tx;
	struct scatterlist sg;
	u8 *mask, pn_len, i;
	u32 hlen;
	int err;

	if (!c->tx_ready || !quic_buf_ok(data))
		return -EINVAL;
	if (pn < 0 || pn_offset > len ||
	    len - pn_offset < QUIC_PN_MAX_LEN + QUIC_HP_SAMPLE_LEN)
		return -EINVAL;
	pn_len = (data[0] & 0x03) + 1;
	hlen = pn_offset + pn_len;
	if (len - hlen < QUIC_TAG_LEN)
		return -EINVAL;
	if (!(data[0] & 0x80)) {	/* short header: set the key phase */
		data[0] &= ~0x04;
		data[0] |= c->key_phase << 2;
	}

	quic_nonce(c, k, c->tx_buf, pn);
	sg_init_one(&sg, data, len);
	err = quic_key_crypt(k, true, &sg, hlen, len - hlen - QUIC_TAG_LEN,
			     c->tx_buf + QUIC_BUF_NONCE);
	if (err)
		return err;
	c->tx_packets++;

	err = quic_hp_mask(c->tx_hp, c->cipher_type, c->tx_buf,
			   data + pn_offset + QUIC_PN_MAX_LEN);
	if (err)
		return err;
	mask = c->tx_buf + QUIC_BUF_MASK;
	data[0] ^= mask[0] & ((data[0] & 0x80) ? 0x0f : 0x1f);
	for (i = 0; i < pn_len; i++)
		data[pn_offset + i] ^= mask[1 + i];
	return 0;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_encrypt);

static void quic_key_rotate_rx(struct quic_crypto *c)
{
	struct quic_crypto_key tmp = c->rx_prev;

	c->rx_prev = c->rx;
	c->rx = c->rx_next;
	c->rx_next = tmp;
	memzero_explicit(&tmp, sizeof(tmp));
	c->rx_prev_valid = 1;
	c->rx_next_stale = 1;
}

static void quic_key_rotate_tx(struct quic_crypto *c)
{
	struct quic_crypto_key tmp = c->tx;

	c->tx = c->tx_next;
	c->tx_next = tmp;
	memzero_explicit(&tmp, sizeof(tmp));
	c->tx_next_stale = 1;
	c->key_phase ^= 1;
	c->tx_packets = 0;
}

/**
 * quic_crypto_decrypt - remove header protection and open one packet
 * @c: level state with a receive key
 * @data: the packet, exactly @len bytes (for long headers: up to the end of
 *	the Length field's payload).  Linear, non-stack memory; modified in
 *	place: the header is unprotected and the payload decrypted.
 * @len: packet length including the tag
 * @pi: @pi->pn_offset and @pi->largest_pn in, the rest out
 *
 * For short headers (first bit clear) the key phase bit selects the current,
 * previous or next receive keys; a successful open with the next keys
 * rotates both directions (peer-initiated key update), and the stale slots
 * must later be refilled by quic_crypto_key_update_prepare().  On -EBADMSG
 * the payload bytes are garbled but the last 16 bytes (a possible stateless
 * reset token) are intact.
 * Context: any, never sleeps.
 * Return: 0; -EINVAL if no key or the packet is too short; -EBADMSG on
 * authentication failure; -EKEYREJECTED if the packet uses a key phase whose
 * keys are not available (drop it).
 */
int quic_crypto_decrypt(struct quic_crypto *c, u8 *data, u32 len,
			struct quic_crypto_pktinfo *pi)
{
	struct quic_crypto_key *k = &c->rx;
	u32 pn_offset = pi->pn_offset, truncated = 0;
	struct scatterlist sg;
	u8 *mask, b0, i;
	bool shorthdr;
	s64 pn;
	int err;

	pi->key_update = 0;
	if (!c->rx_ready || !quic_buf_ok(data))
		return -EINVAL;
	if (pn_offset > len ||
	    len - pn_offset < QUIC_PN_MAX_LEN + QUIC_HP_SAMPLE_LEN)
		return -EINVAL;

	/* Header protection (RFC 9001 section 5.4) */
	err = quic_hp_mask(c->rx_hp, c->cipher_type, c->rx_buf,
			   data + pn_offset + QUIC_PN_MAX_LEN);
	if (err)
		return err;
	mask = c->rx_buf + QUIC_BUF_MASK;
	shorthdr = !(data[0] & 0x80);
	b0 = data[0] ^ (mask[0] & (shorthdr ? 0x1f : 0x0f));
	pi->pn_len = (b0 & 0x03) + 1;
	for (i = 0; i < pi->pn_len; i++) {
		data[pn_offset + i] ^= mask[1 + i];
		truncated = (truncated << 8) | data[pn_offset + i];
	}
	data[0] = b0;
	pi->first_byte = b0;
	pi->hlen = pn_offset + pi->pn_len;
	pi->payload_len = len - pi->hlen - QUIC_TAG_LEN;
	pn = quic_crypto_decode_pn(pi->largest_pn, truncated, pi->pn_len);
	pi->pn = pn;
	pi->key_phase = shorthdr ? (b0 >> 2) & 1 : 0;

	/* Key phase (RFC 9001 section 6) */
	if (shorthdr && c->has_ku && pi->key_phase != c->key_phase) {
		if (c->rx_prev_valid &&
		    (c->rx_first_pn < 0 || pn < c->rx_first_pn))
			k = &c->rx_prev;
		else if (!c->rx_next_stale && !c->tx_next_stale)
			k = &c->rx_next;
		else
			return -EKEYREJECTED;
	}

	quic_nonce(c, k, c->rx_buf, pn);
	sg_init_one(&sg, data, len);
	err = quic_key_crypt(k, false, &sg, pi->hlen, len - pi->hlen,
			     c->rx_buf + QUIC_BUF_NONCE);
	if (err) {
		if (err == -EBADMSG)
			c->rx_auth_failures++;
		return err;
	}

	if (!shorthdr || !c->has_ku)
		return 0;
	if (k == &c->rx_next) {
		/* The peer started a key update: follow it. */
		quic_key_rotate_rx(c);
		quic_key_rotate_tx(c);
		c->rx_first_pn = pn;
		c->key_pending = 0;
		pi->key_update = 1;
	} else if (k == &c->rx) {
		if (c->rx_first_pn < 0 || pn < c->rx_first_pn)
			c->rx_first_pn = pn;
		c->key_pending = 0;	/* our update is confirmed */
	}
	return 0;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_decrypt);

/**
 * quic_crypto_initial_open - open a client Initial before its connection exists
 * @c: a context used only for this (zeroed before first use; release it
 *	with quic_crypto_free())
 * @dcid: the packet's Destination Connection ID (the client's original DCID)
 * @dcid_len: its length, 0..20
 * @version: QUIC_VERSION_V1 or QUIC_VERSION_V2
 * @data: the Initial packet (up to the end of its Length), modified in place
 *	as by quic_crypto_decrypt(); pass a copy to keep the packet
 * @len: its length
 * @pi: as for quic_crypto_decrypt(); @pi->largest_pn is taken as -1
 *
 * For a listener that must authenticate a first Initial, and read the
 * ClientHello in it (ALPN routing), before any socket exists.  The first
 * call allocates @c's transforms as quic_crypto_initial_keys_install()
 * does; later calls only rekey its receive side with the client Initial
 * keys of @dcid, so a listener opens a stream of first Initials through
 * the same transforms.
 * Context: process context, may sleep (setting keys may allocate).
 * Return: 0, -EINVAL, -EBADMSG, or a crypto API error.
 */
int quic_crypto_initial_open(struct quic_crypto *c, const u8 *dcid,
			     u32 dcid_len, u32 version, u8 *data, u32 len,
			     struct quic_crypto_pktinfo *pi)
{
	u8 initial[32], secret[32], key[QUIC_KEY_MAX_LEN];
	int err;

	if (dcid_len > QUIC_CID_MAX_LEN ||
	    (version != QUIC_VERSION_V1 && version != QUIC_VERSION_V2))
		return -EINVAL;
	if (!c->rx_ready) {
		err = quic_crypto_initial_keys_install(c, dcid, dcid_len,
						       version, true);
		if (err)
			return err;
		goto open;
	}
	c->version = version;
	err = quic_crypto_hkdf_extract(c->hmac, quic_initial_salt(version),
				       sizeof(quic_salt_v1), dcid, dcid_len,
				       initial);
	if (!err)
		err = quic_crypto_hkdf_expand_label(c->hmac, initial, 32,
						    "client in", secret, 32);
	if (!err)
		err = quic_key_set(c, &c->rx, secret);
	if (!err)
		err = quic_crypto_hkdf_expand_label(c->hmac, secret, 32,
						    quic_label(version, "quic hp",
							       "quicv2 hp"),
						    key, c->key_len);
	if (!err)
		err = crypto_sync_skcipher_setkey(c->rx_hp, key, c->key_len);
	memzero_explicit(initial, sizeof(initial));
	memzero_explicit(secret, sizeof(secret));
	memzero_explicit(key, sizeof(key));
	if (err) {
		quic_crypto_free(c);
		return err;
	}
open:
	pi->largest_pn = -1;
	return quic_crypto_decrypt(c, data, len, pi);
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_initial_open);

/* Key update (RFC 9001 section 6) */

/**
 * quic_crypto_key_update_prepare - refill the next-generation key slots
 * @c: the APP level state
 *
 * After a peer-initiated key update (quic_crypto_decrypt() reported
 * @key_update), the next-generation slots must be rekeyed before the next
 * update can be received.  Setting AEAD keys may allocate memory, so this is
 * not done in the packet path: call this from process context (e.g. the
 * socket's release_cb or a work item).  Cheap no-op when nothing is stale.
 * Context: process context, may sleep.
 * Return: 0 or a crypto API error.
 */
int quic_crypto_key_update_prepare(struct quic_crypto *c)
{
	u8 secret[QUIC_SECRET_MAX_LEN];
	int err = 0;

	if (c->tx_next_stale) {
		err = quic_derive_ku(c->hmac, c->version, c->tx.secret,
				     c->secret_len, secret);
		if (!err)
			err = quic_key_set(c, &c->tx_next, secret);
		if (err)
			goto out;
		c->tx_next_stale = 0;
	}
	if (c->rx_next_stale) {
		err = quic_derive_ku(c->hmac, c->version, c->rx.secret,
				     c->secret_len, secret);
		if (!err)
			err = quic_key_set(c, &c->rx_next, secret);
		if (err)
			goto out;
		c->rx_next_stale = 0;
	}
out:
	memzero_explicit(secret, sizeof(secret));
	return err;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_key_update_prepare);

/**
 * quic_crypto_key_update - start a key update (QUIC_SOCKOPT_KEY_UPDATE)
 * @c: the APP level state with both keys installed
 *
 * Switches the send keys and the key phase to the next generation; the old
 * receive keys stay for the peer's in-flight packets.  Prepares the next
 * generation afterwards.
 * Context: process context, may sleep.
 * Return: 0; -EINVAL if there are no 1-RTT keys; -EAGAIN if the previous
 * update is not confirmed yet.
 */
int quic_crypto_key_update(struct quic_crypto *c)
{
	int err;

	if (!c->has_ku || !c->tx_ready || !c->rx_ready)
		return -EINVAL;
	if (c->key_pending)
		return -EAGAIN;
	err = quic_crypto_key_update_prepare(c);
	if (err)
		return err;

	quic_key_rotate_rx(c);
	quic_key_rotate_tx(c);
	c->rx_first_pn = -1;
	c->key_pending = 1;
	return quic_crypto_key_update_prepare(c);
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_key_update);

/*
 * One-shot AEAD with a shared, already keyed transform: copies the input
 * into a GFP_ATOMIC buffer so callers may pass any memory.
 * Seal: @in is plaintext of @in_len, @out gets ciphertext || tag.
 * Open: @in is ciphertext || tag, @out gets the plaintext.
 */
static int quic_aead_oneshot(struct crypto_aead *aead, bool seal,
			     const u8 *nonce, const u8 *ad, u32 ad_len,
			     const u8 *in, u32 in_len, u8 *out)
{
	u32 reqsize = sizeof(struct aead_request) + crypto_aead_reqsize(aead);
	u32 total = ad_len + in_len + (seal ? QUIC_TAG_LEN : 0);
	u32 out_len = seal ? in_len + QUIC_TAG_LEN : in_len - QUIC_TAG_LEN;
	struct aead_request *req;
	struct scatterlist sg;
	u8 *mem, *iv, *data;
	int err;

	if (!seal && in_len < QUIC_TAG_LEN)
		return -EINVAL;
	reqsize = ALIGN(reqsize, __alignof__(u64));
	mem = kmalloc(reqsize + 16 + total, GFP_ATOMIC);
	if (!mem)
		return -ENOMEM;
	req = (struct aead_request *)mem;
	iv = mem + reqsize;
	data = iv + 16;
	memcpy(iv, nonce, QUIC_IV_LEN);
	if (ad_len)
		memcpy(data, ad, ad_len);
	if (in_len)
		memcpy(data + ad_len, in, in_len);

	sg_init_one(&sg, data, total);
	aead_request_set_tfm(req, aead);
	aead_request_set_callback(req, 0, NULL, NULL);
	aead_request_set_ad(req, ad_len);
	aead_request_set_crypt(req, &sg, &sg, in_len, iv);
	err = seal ? crypto_aead_encrypt(req) : crypto_aead_decrypt(req);
	if (!err)
		memcpy(out, data + ad_len, out_len);
	kfree_sensitive(mem);
	return err;
}

static struct crypto_aead *quic_aead_keyed(const char *name, const u8 *key,
					   u32 key_len)
{
	struct crypto_aead *aead;
	int err;

	aead = crypto_alloc_aead(name, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(aead))
		return aead;
	err = crypto_aead_setauthsize(aead, QUIC_TAG_LEN);
	if (!err)
		err = crypto_aead_setkey(aead, key, key_len);
	if (err) {
		crypto_free_aead(aead);
		return ERR_PTR(err);
	}
	return aead;
}

/* Retry integrity (RFC 9001 section 5.8) */

/**
 * quic_crypto_retry_tag - compute the integrity tag of a Retry packet
 * @version: QUIC_VERSION_V1 or QUIC_VERSION_V2 (key and nonce)
 * @odcid: the Destination Connection ID of the client's Initial
 * @odcid_len: its length, 0..20
 * @retry: the Retry packet up to (not including) its integrity tag
 * @len: length of @retry
 * @tag: out: QUIC_RETRY_TAG_LEN bytes
 *
 * The tag seals the Retry pseudo-packet: the ODCID's length and bytes,
 * then the packet.  The module's keyed transforms are shared (each call
 * has its own request).
 * Context: any, never sleeps (GFP_ATOMIC allocation).
 * Return: 0, -EINVAL, -ENOMEM or a crypto API error.
 */
int quic_crypto_retry_tag(u32 version, const u8 *odcid, u32 odcid_len,
			  const u8 *retry, u32 len, u8 *tag)
{
	const u8 *nonce = quic_retry_nonce_v1;
	struct crypto_aead *aead = quic_retry_aead[0];
	u8 *pseudo;
	int err;

	if (odcid_len > QUIC_CID_MAX_LEN || len > 0xffff)
		return -EINVAL;
	if (version == QUIC_VERSION_V2) {
		aead = quic_retry_aead[1];
		nonce = quic_retry_nonce_v2;
	} else if (version != QUIC_VERSION_V1) {
		return -EINVAL;
	}
	pseudo = kmalloc(1 + odcid_len + len, GFP_ATOMIC);
	if (!pseudo)
		return -ENOMEM;
	pseudo[0] = odcid_len;
	memcpy(pseudo + 1, odcid, odcid_len);
	memcpy(pseudo + 1 + odcid_len, retry, len);
	err = quic_aead_oneshot(aead, true, nonce, pseudo, 1 + odcid_len + len,
				NULL, 0, tag);
	kfree(pseudo);
	return err;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_retry_tag);

/**
 * quic_crypto_retry_verify - check the integrity tag of a received Retry
 * @version: the QUIC version of the Retry packet
 * @odcid: the Destination Connection ID the client's Initial carried
 * @odcid_len: its length
 * @retry: the whole Retry packet, tag included
 * @len: its length
 *
 * Context: any, never sleeps.
 * Return: 0 if the tag is right, -EBADMSG if not, -EINVAL if too short;
 * -ENOMEM or a crypto API error.
 */
int quic_crypto_retry_verify(u32 version, const u8 *odcid, u32 odcid_len,
			     const u8 *retry, u32 len)
{
	u8 tag[QUIC_RETRY_TAG_LEN];
	int err;

	if (len < QUIC_RETRY_TAG_LEN)
		return -EINVAL;
	len -= QUIC_RETRY_TAG_LEN;
	err = quic_crypto_retry_tag(version, odcid, odcid_len, retry, len, tag);
	if (!err && crypto_memneq(tag, retry + len, QUIC_RETRY_TAG_LEN))
		err = -EBADMSG;
	return err;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_crypto_retry_verify);

/**
 * quic_crypto_init - key the module's Retry integrity transforms
 *
 * Context: module init.
 * Return: 0 or a crypto API error.
 */
int quic_crypto_init(void)
{
	struct crypto_aead *aead;

	aead = quic_aead_keyed("gcm(aes)", quic_retry_key_v1, 16);
	if (IS_ERR(aead))
		return PTR_ERR(aead);
	quic_retry_aead[0] = aead;
	aead = quic_aead_keyed("gcm(aes)", quic_retry_key_v2, 16);
	if (IS_ERR(aead)) {
		quic_crypto_exit();
		return PTR_ERR(aead);
	}
	quic_retry_aead[1] = aead;
	return 0;
}

/**
 * quic_crypto_exit - free what quic_crypto_init() set up
 *
 * Context: module exit, or a failed init.
 */
void quic_crypto_exit(void)
{
	crypto_free_aead(quic_retry_aead[0]);
	crypto_free_aead(quic_retry_aead[1]);
	quic_retry_aead[0] = NULL;
	quic_retry_aead[1] = NULL;
}

/* Address validation tokens, stateless reset, session tickets */

/**
 * quic_token_ctx_init - set up a listener's token keys
 * @ctx: zeroed context
 * @secret: QUIC_TOKEN_SECRET_LEN bytes to use, or NULL for a random secret
 *
 * Derives the token AEAD key ("quic token key") and the stateless reset
 * HMAC key ("quic reset key") from the secret with HKDF-Expand-Label.  On
 * failure @ctx is freed and zeroed.
 * Context: process context, may sleep.
 * Return: 0, -ENOMEM or a crypto API error.
 */
int quic_token_ctx_init(struct quic_token_ctx *ctx, const u8 *secret)
{
	u8 tkey[16], rkey[32];
	int err;

	if (secret)
		memmove(ctx->secret, secret, QUIC_TOKEN_SECRET_LEN);
	else
		get_random_bytes(ctx->secret, QUIC_TOKEN_SECRET_LEN);

	ctx->hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(ctx->hmac)) {
		err = PTR_ERR(ctx->hmac);
		ctx->hmac = NULL;
		goto out;
	}
	err = quic_crypto_hkdf_expand_label(ctx->hmac, ctx->secret,
					    QUIC_TOKEN_SECRET_LEN,
					    "quic token key", tkey,
					    sizeof(tkey));
	if (!err)
		err = quic_crypto_hkdf_expand_label(ctx->hmac, ctx->secret,
						    QUIC_TOKEN_SECRET_LEN,
						    "quic reset key", rkey,
						    sizeof(rkey));
	if (!err)
		err = crypto_shash_setkey(ctx->hmac, rkey, sizeof(rkey));
	if (err)
		goto out;
	ctx->aead = quic_aead_keyed("gcm(aes)", tkey, sizeof(tkey));
	if (IS_ERR(ctx->aead)) {
		err = PTR_ERR(ctx->aead);
		ctx->aead = NULL;
	}
out:
	memzero_explicit(tkey, sizeof(tkey));
	memzero_explicit(rkey, sizeof(rkey));
	if (err)
		quic_token_ctx_free(ctx);
	return err;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_token_ctx_init);

/**
 * quic_token_ctx_free - free and wipe a token context (zeroed on return)
 * @ctx: context, may be zeroed
 *
 * Context: any context except hard IRQ.
 */
void quic_token_ctx_free(struct quic_token_ctx *ctx)
{
	crypto_free_aead(ctx->aead);
	crypto_free_shash(ctx->hmac);
	memzero_explicit(ctx, sizeof(*ctx));
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_token_ctx_free);

/**
 * quic_token_seal - encrypt and authenticate a token (Retry or NEW_TOKEN)
 * @ctx: listener token context
 * @plain: the blob to protect (address, timestamp, flags: caller's format)
 * @plen: its length
 * @token: out: nonce || ciphertext || tag, @plen + QUIC_TOKEN_OVERHEAD bytes
 * @size: room at @token
 *
 * Any memory may be passed.
 * Context: any, never sleeps.
 * Return: the token length; -EINVAL if @ctx has no key; -ENOSPC, -ENOMEM or
 * a crypto API error.
 */
static int quic_token_seal(struct quic_token_ctx *ctx, const void *plain, u32 plen,
			   u8 *token, u32 size)
{
	int err;

	if (!ctx->aead)
		return -EINVAL;
	if (plen > 0xffff || size < plen + QUIC_TOKEN_OVERHEAD)
		return -ENOSPC;
	get_random_bytes(token, QUIC_IV_LEN);
	err = quic_aead_oneshot(ctx->aead, true, token, NULL, 0, plain, plen,
				token + QUIC_IV_LEN);
	if (err)
		return err;
	return plen + QUIC_TOKEN_OVERHEAD;
}

/* Address bytes of @addr into @out (16 bytes, v4 left-aligned); 0 if bad. */
static u8 quic_token_addr(const struct sockaddr *addr, u8 *out)
{
	memset(out, 0, 16);
	if (addr->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)addr)->sin_addr, 4);
		return AF_INET;
	}
	if (addr->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
		return AF_INET6;
	}
	return 0;
}

/* Token blob: type, time (be64 seconds), family, address[16], ODCID len, ODCID */
#define QUIC_TOKEN_BLOB_HDR	(1 + 8 + 1 + 16 + 1)

/**
 * quic_token_create - make an address validation token (RFC 9000 8.1)
 * @ctx: listener token context
 * @type: QUIC_TOKEN_RETRY or QUIC_TOKEN_NEW
 * @addr: the client's address (AF_INET or AF_INET6; the port is not bound,
 *	so that NAT rebinding keeps the token valid)
 * @odcid: for QUIC_TOKEN_RETRY, the client's original DCID, returned by
 *	quic_token_verify() for original_destination_connection_id
 * @odcid_len: its length (0 for QUIC_TOKEN_NEW)
 * @token: out
 * @size: room at @token (QUIC_TOKEN_CREATE_MAX_LEN is always enough)
 *
 * The token seals type, creation time (seconds), address and ODCID.
 * Context: any, never sleeps.
 * Return: the token length, -EINVAL, -ENOSPC or -ENOMEM.
 */
int quic_token_create(struct quic_token_ctx *ctx, u8 type,
		      const struct sockaddr *addr, const u8 *odcid,
		      u32 odcid_len, u8 *token, u32 size)
{
	u8 blob[QUIC_TOKEN_BLOB_HDR + QUIC_CID_MAX_LEN];
	int err;

	if ((type != QUIC_TOKEN_RETRY && type != QUIC_TOKEN_NEW) ||
	    odcid_len > QUIC_CID_MAX_LEN)
		return -EINVAL;
	blob[0] = type;
	put_unaligned_be64(ktime_get_real_seconds(), blob + 1);
	blob[9] = quic_token_addr(addr, blob + 10);
	if (!blob[9])
		return -EINVAL;
	blob[26] = odcid_len;
	if (odcid_len)
		memcpy(blob + QUIC_TOKEN_BLOB_HDR, odcid, odcid_len);
	err = quic_token_seal(ctx, blob, QUIC_TOKEN_BLOB_HDR + odcid_len,
			      token, size);
	memzero_explicit(blob, sizeof(blob));
	return err;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_token_create);

/* Authenticate and decrypt a token quic_token_seal() made: the blob's
 * length, -EINVAL if malformed or larger than @size, -EBADMSG if forged.
 */
static int quic_token_open(struct quic_token_ctx *ctx, const u8 *token,
			   u32 tlen, void *plain, u32 size)
{
	u32 plen;
	int err;

	if (!ctx->aead || tlen < QUIC_TOKEN_OVERHEAD || tlen > 0xffff)
		return -EINVAL;
	plen = tlen - QUIC_TOKEN_OVERHEAD;
	if (plen > size)
		return -EINVAL;
	err = quic_aead_oneshot(ctx->aead, false, token, NULL, 0,
				token + QUIC_IV_LEN, tlen - QUIC_IV_LEN, plain);
	return err ?: plen;
}

/**
 * quic_token_verify - check a token from a client Initial
 * @ctx: the token context that made it
 * @token: the token field of the Initial
 * @tlen: its length
 * @addr: the address the Initial came from
 * @v: out: what the token holds (type, age, and for QUIC_TOKEN_RETRY the
 *	client's original DCID)
 *
 * A token is good if @ctx sealed it, for @addr's IP address, and it was
 * not made in the future (a minute of clock skew is allowed); the caller
 * judges its age by its type.
 * Context: any, never sleeps.
 * Return: 0, -EINVAL (malformed, another address or from the future),
 * -EBADMSG (not ours, or altered), -ENOMEM.
 */
int quic_token_verify(struct quic_token_ctx *ctx, const u8 *token, u32 tlen,
		      const struct sockaddr *addr, struct quic_token_info *v)
{
	u8 blob[QUIC_TOKEN_BLOB_HDR + QUIC_CID_MAX_LEN], a[16];
	time64_t now = ktime_get_real_seconds(), t;
	int n, err = -EINVAL;

	n = quic_token_open(ctx, token, tlen, blob, sizeof(blob));
	if (n < 0)
		return n;
	if (n < QUIC_TOKEN_BLOB_HDR || blob[26] != n - QUIC_TOKEN_BLOB_HDR ||
	    (blob[0] != QUIC_TOKEN_RETRY && blob[0] != QUIC_TOKEN_NEW))
		goto out;
	t = get_unaligned_be64(blob + 1);
	if (t > now + 60 || blob[9] != quic_token_addr(addr, a) ||
	    crypto_memneq(a, blob + 10, sizeof(a)))
		goto out;
	v->type = blob[0];
	v->age = now > t ? now - t : 0;
	v->odcid_len = blob[26];
	memcpy(v->odcid, blob + QUIC_TOKEN_BLOB_HDR, blob[26]);
	err = 0;
out:
	memzero_explicit(blob, sizeof(blob));
	return err;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_token_verify);

/**
 * quic_stateless_reset_token - derive the reset token of a connection ID
 * @ctx: listener token context (accepted sockets inherit the secret)
 * @cid: the connection ID
 * @cid_len: its length
 * @token: out: QUIC_RESET_TOKEN_LEN bytes, HMAC-SHA256(key, cid) truncated
 *
 * Context: any, never sleeps.
 * Return: 0; -EINVAL if @ctx has no key; a crypto API error.
 */
int quic_stateless_reset_token(struct quic_token_ctx *ctx, const u8 *cid,
			       u32 cid_len, u8 *token)
{
	u8 digest[32];
	int err;

	if (!ctx->hmac)
		return -EINVAL;
	err = crypto_shash_tfm_digest(ctx->hmac, cid, cid_len, digest);
	if (!err)
		memcpy(token, digest, QUIC_RESET_TOKEN_LEN);
	memzero_explicit(digest, sizeof(digest));
	return err;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_stateless_reset_token);

/**
 * quic_session_ticket_key - derive the 64-byte session ticket key
 * @secret: the listener's QUIC_TOKEN_SECRET_LEN-byte secret
 * @addr: the peer address bytes (e.g. in_addr or in6_addr)
 * @addr_len: their length
 * @key: out: QUIC_TICKET_KEY_LEN bytes
 *
 * HKDF-Extract(salt = secret, IKM = addr), then HKDF-Expand with info
 * "quic ticket key".
 * Context: process context, may sleep (allocates a transform).
 * Return: 0 or a crypto API error.
 */
int quic_session_ticket_key(const u8 *secret, const void *addr, u32 addr_len,
			    u8 *key)
{
	static const char info[] = "quic ticket key";
	struct crypto_shash *hmac;
	u8 prk[32];
	int err;

	hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(hmac))
		return PTR_ERR(hmac);
	err = quic_crypto_hkdf_extract(hmac, secret, QUIC_TOKEN_SECRET_LEN,
				       addr, addr_len, prk);
	if (!err)
		err = quic_crypto_hkdf_expand(hmac, prk, sizeof(prk), info,
					      sizeof(info) - 1, key,
					      QUIC_TICKET_KEY_LEN);
	memzero_explicit(prk, sizeof(prk));
	crypto_free_shash(hmac);
	return err;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_session_ticket_key);
