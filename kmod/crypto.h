/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC packet protection (RFC 9001, RFC 9369) through the kernel crypto API.
 *
 * One struct quic_crypto holds the keys of one encryption level (Initial,
 * 0-RTT, Handshake or 1-RTT) for both directions.  Key material comes from
 * HKDF-Expand-Label over the traffic secrets that the userspace TLS stack
 * hands in with QUIC_SOCKOPT_CRYPTO_SECRET, or, for the Initial level, from
 * the client's first Destination Connection ID.
 *
 * Locking: the caller serialises all operations on one struct quic_crypto
 * (the socket lock).  The per-packet functions never sleep and may run in
 * softirq context; functions that install keys allocate transforms and may
 * sleep (process context only).
 *
 * Memory: packet buffers handed to quic_crypto_encrypt() and
 * quic_crypto_decrypt() are mapped with a scatterlist, so they must be
 * linear, directly mapped memory: skb linear data or kmalloc()ed memory.
 * Never pass stack or vmalloc() memory.
 *
 * Key update (1-RTT, RFC 9001 section 6): each direction keeps its current
 * key generation and a precomputed next one; receive also keeps the
 * previous one.  A short header packet whose key phase bit differs from
 * the current phase is opened with the previous keys if its packet number
 * is below the first one received in the current phase, else with the next
 * keys; success with the next keys rotates both directions (the peer
 * started an update).  Rotation only moves key slots, so it can happen in
 * softirq context; refilling the freed slot with the generation after
 * (quic_crypto_key_update_prepare()) needs process context.  Our own update
 * (quic_crypto_key_update()) is pending until a packet in the new phase
 * arrives; no further update may start before that.
 */

#ifndef __NET_QUIC_CRYPTO_H
#define __NET_QUIC_CRYPTO_H

#include <linux/types.h>
#include <uapi/linux/quic.h>

struct sockaddr;

struct crypto_aead;
struct crypto_shash;
struct crypto_sync_skcipher;
struct aead_request;

#define QUIC_TAG_LEN		16	/* AEAD tag of every QUIC cipher suite */
#define QUIC_IV_LEN		12	/* AEAD nonce length */
#define QUIC_HP_SAMPLE_LEN	16	/* header protection sample */
#define QUIC_PN_MAX_LEN		4	/* encoded packet number length */
#define QUIC_SECRET_MAX_LEN	48	/* SHA-384 */
#define QUIC_KEY_MAX_LEN	32	/* AES-256 / ChaCha20 */
#define QUIC_RESET_TOKEN_LEN	16	/* stateless reset token */
#define QUIC_TOKEN_SECRET_LEN	32	/* per-listener random secret */
#define QUIC_TICKET_KEY_LEN	64	/* session ticket key (SESSION_TICKET) */
#define QUIC_CID_MAX_LEN	20	/* RFC 9000 section 17.2 */

/* Token sealing overhead: 12-byte random nonce in front, tag behind. */
#define QUIC_TOKEN_OVERHEAD	(QUIC_IV_LEN + QUIC_TAG_LEN)

/**
 * struct quic_crypto_key - one direction's packet protection key generation
 * @aead: synchronous AEAD transform, keyed with this generation's key
 * @req: request preallocated for @aead
 * @fast: faster (SIMD) implementation behind an async wrapper, used only
 *	while it completes inline (may_use_simd()); NULL if none
 * @fast_req: request preallocated for @fast
 * @iv: static IV; the nonce is @iv XOR the packet number
 * @secret: traffic secret of this generation (input of "quic ku")
 */
struct quic_crypto_key {
	struct crypto_aead	*aead;
	struct aead_request	*req;
	struct crypto_aead	*fast;
	struct aead_request	*fast_req;
	u8			iv[QUIC_IV_LEN];
	u8			secret[QUIC_SECRET_MAX_LEN];
};

/**
 * struct quic_crypto - packet protection state of one encryption level
 * @tx: current send key
 * @tx_next: precomputed next-generation send key (1-RTT only)
 * @rx: current receive key
 * @rx_prev: previous-generation receive key, kept after a key update for
 *	reordered packets (1-RTT only)
 * @rx_next: precomputed next-generation receive key (1-RTT only)
 * @tx_hp: header protection transform for sending
 * @rx_hp: header protection transform for receiving
 * @hmac: hmac(sha256|sha384) transform used for "quic ku" derivations
 * @tx_buf: kmalloc()ed scratch for the send path (nonce, sample, mask)
 * @rx_buf: kmalloc()ed scratch for the receive path
 * @rx_first_pn: lowest packet number received in the current key phase,
 *	-1 if none yet
 * @tx_packets: packets sealed with the current send key
 * @rx_auth_failures: packets that failed authentication at this level
 * @conf_limit: confidentiality limit of the suite (RFC 9001 section 6.6)
 * @integ_limit: integrity limit of the suite
 * @cipher_type: TLS_CIPHER_* of this level
 * @version: QUIC version whose labels were used (QUIC_VERSION_V1/V2)
 * @secret_len: 32 (SHA-256 suites) or 48 (SHA-384)
 * @key_len: AEAD key length
 * @tx_ready: a send key is installed
 * @rx_ready: a receive key is installed
 * @key_phase: current key phase bit (1-RTT)
 * @key_pending: we started a key update that the peer has not confirmed
 *	yet (no packet in the new phase received); no new update may start
 * @tx_next_stale: @tx_next must be rekeyed by quic_crypto_key_update_prepare()
 * @rx_next_stale: @rx_next must be rekeyed by quic_crypto_key_update_prepare()
 * @rx_prev_valid: @rx_prev holds usable old keys
 * @has_ku: the update slots (@tx_next, @rx_prev, @rx_next) are allocated
 *
 * Embed it anywhere (all memory the crypto API maps is allocated
 * separately).  Zero-initialise before first use; quic_crypto_free()
 * returns it to the zeroed state and may be called on a zeroed struct.
 */
struct quic_crypto {
	struct quic_crypto_key		tx;
	struct quic_crypto_key		tx_next;
	struct quic_crypto_key		rx;
	struct quic_crypto_key		rx_prev;
	struct quic_crypto_key		rx_next;
	struct crypto_sync_skcipher	*tx_hp;
	struct crypto_sync_skcipher	*rx_hp;
	struct crypto_shash		*hmac;
	u8				*tx_buf;
	u8				*rx_buf;
	s64				rx_first_pn;
	u64				tx_packets;
	u64				rx_auth_failures;
	u64				conf_limit;
	u64				integ_limit;
	u32				cipher_type;
	u32				version;
	u8				secret_len;
	u8				key_len;
	u8				tx_ready:1,
					rx_ready:1,
					key_phase:1,
					key_pending:1,
					tx_next_stale:1,
					rx_next_stale:1,
					rx_prev_valid:1,
					has_ku:1;
};

/**
 * struct quic_crypto_pktinfo - in/out parameters of quic_crypto_decrypt()
 * @pn_offset: in: offset of the (protected) packet number field, i.e. the
 *	header length without the packet number
 * @largest_pn: in: largest packet number received so far in this packet
 *	number space, -1 if none (RFC 9000 Appendix A.3)
 * @pn: out: reconstructed full packet number
 * @hlen: out: header length including the packet number (the AAD length,
 *	offset of the plaintext payload)
 * @pn_len: out: encoded packet number length, 1..4
 * @payload_len: out: plaintext payload length (packet length - @hlen - tag)
 * @key_phase: out: key phase bit of a short header packet
 * @key_update: out: the peer started a key update with this packet; our
 *	send keys and key phase were rotated as well.  The caller reports
 *	QUIC_EVENT_KEY_UPDATE and calls quic_crypto_key_update_prepare() from
 *	process context.
 * @first_byte: out: first header byte with header protection removed (the
 *	caller checks the reserved bits after successful decryption)
 */
struct quic_crypto_pktinfo {
	u32	pn_offset;
	s64	largest_pn;
	s64	pn;
	u32	hlen;
	u8	pn_len;
	u32	payload_len;
	u8	key_phase:1,
		key_update:1;
	u8	first_byte;
};

/* Installing and freeing keys (process context; documented in crypto.c) */
int quic_crypto_initial_keys_install(struct quic_crypto *c, const u8 *dcid,
				     u32 dcid_len, u32 version, bool is_serv);
int quic_crypto_set_secret(struct quic_crypto *c,
			   const struct quic_crypto_secret *srt, u32 version);
void quic_crypto_free(struct quic_crypto *c);

/* Retry integrity (RFC 9001 section 5.8), module-wide transforms */
#define QUIC_RETRY_TAG_LEN	16
int quic_crypto_init(void);
void quic_crypto_exit(void);
int quic_crypto_retry_tag(u32 version, const u8 *odcid, u32 odcid_len,
			  const u8 *retry, u32 len, u8 *tag);
int quic_crypto_retry_verify(u32 version, const u8 *odcid, u32 odcid_len,
			     const u8 *retry, u32 len);

/* Opening first Initials at a listener (process context) */
int quic_crypto_initial_open(struct quic_crypto *c, const u8 *dcid,
			     u32 dcid_len, u32 version, u8 *data, u32 len,
			     struct quic_crypto_pktinfo *pi);

/* Per-packet protection (any context, never sleeps) */
int quic_crypto_encrypt(struct quic_crypto *c, u8 *data, u32 len,
			u32 pn_offset, s64 pn);
int quic_crypto_decrypt(struct quic_crypto *c, u8 *data, u32 len,
			struct quic_crypto_pktinfo *pi);

/* Key update (RFC 9001 section 6) */
int quic_crypto_key_update(struct quic_crypto *c);
int quic_crypto_key_update_prepare(struct quic_crypto *c);

/**
 * quic_crypto_key_update_needs_prepare - whether key slots are stale
 * @c: level state
 *
 * Return: true if quic_crypto_key_update_prepare() has slots to rekey.
 */
static inline bool quic_crypto_key_update_needs_prepare(const struct quic_crypto *c)
{
	return c->tx_next_stale || c->rx_next_stale;
}

/**
 * quic_crypto_key_update_due - the send key nears its confidentiality limit
 * @c: the APP level state
 *
 * True once 3/4 of the suite's limit is used: start a key update (and stop
 * sending if it cannot happen before the limit, RFC 9001 section 6.6).
 *
 * Return: true once 3/4 of the confidentiality limit is used.
 */
static inline bool quic_crypto_key_update_due(const struct quic_crypto *c)
{
	return c->tx_packets >= c->conf_limit / 4 * 3;
}

/**
 * quic_crypto_integrity_limit_reached - too many forged packets
 * @c: level state
 *
 * Check after quic_crypto_decrypt() returned -EBADMSG; when true, close the
 * connection with AEAD_LIMIT_REACHED.
 *
 * Return: true once the suite's integrity limit is reached.
 */
static inline bool quic_crypto_integrity_limit_reached(const struct quic_crypto *c)
{
	return c->rx_auth_failures >= c->integ_limit;
}

/**
 * quic_crypto_key_phase - current key phase bit of the send keys
 * @c: level state
 *
 * Return: the key phase bit, 0 or 1.
 */
static inline u8 quic_crypto_key_phase(const struct quic_crypto *c)
{
	return c->key_phase;
}

/**
 * struct quic_token_ctx - per-listener keys derived from its random secret
 * @aead: AES-128-GCM keyed for address validation tokens
 * @hmac: hmac(sha256) keyed for stateless reset tokens
 * @secret: the listener's random secret (inherited by accepted sockets)
 */
struct quic_token_ctx {
	struct crypto_aead	*aead;
	struct crypto_shash	*hmac;
	u8			secret[QUIC_TOKEN_SECRET_LEN];
};

/* Address validation tokens, stateless reset, session tickets */
int quic_token_ctx_init(struct quic_token_ctx *ctx, const u8 *secret);
void quic_token_ctx_free(struct quic_token_ctx *ctx);

/* Address validation token types */
#define QUIC_TOKEN_RETRY	1	/* sent in a Retry packet */
#define QUIC_TOKEN_NEW		2	/* sent in a NEW_TOKEN frame */

/* Largest token quic_token_create() makes (fits the 120-byte client store) */
#define QUIC_TOKEN_CREATE_MAX_LEN	(1 + 8 + 1 + 16 + 1 + QUIC_CID_MAX_LEN + \
				 QUIC_TOKEN_OVERHEAD)

/* What a verified token holds */
struct quic_token_info {
	u8 type;			/* QUIC_TOKEN_RETRY or QUIC_TOKEN_NEW */
	u64 age;			/* seconds */
	u8 odcid_len;			/* Retry: the client's original DCID */
	u8 odcid[QUIC_CID_MAX_LEN];
};

int quic_token_create(struct quic_token_ctx *ctx, u8 type,
		      const struct sockaddr *addr, const u8 *odcid,
		      u32 odcid_len, u8 *token, u32 size);
int quic_token_verify(struct quic_token_ctx *ctx, const u8 *token, u32 tlen,
		      const struct sockaddr *addr, struct quic_token_info *v);
int quic_stateless_reset_token(struct quic_token_ctx *ctx, const u8 *cid,
			       u32 cid_len, u8 *token);
int quic_session_ticket_key(const u8 *secret, const void *addr, u32 addr_len,
			    u8 *key);

/* HKDF (RFC 5869, RFC 8446 section 7.1) and packet number decoding */
int quic_crypto_hkdf_expand_label(struct crypto_shash *hmac, const u8 *secret,
				  u32 secret_len, const char *label, u8 *out,
				  u32 out_len);
int quic_crypto_hkdf_extract(struct crypto_shash *hmac, const u8 *salt,
			     u32 salt_len, const u8 *ikm, u32 ikm_len, u8 *prk);
int quic_crypto_hkdf_expand(struct crypto_shash *hmac, const u8 *prk,
			    u32 prk_len, const u8 *info, u32 info_len, u8 *out,
			    u32 out_len);
s64 quic_crypto_decode_pn(s64 largest_pn, u32 truncated, u8 pn_len);

#endif /* __NET_QUIC_CRYPTO_H */
