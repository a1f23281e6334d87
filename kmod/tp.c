// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC transport parameters: the TLS extension codec (RFC 9000 section 18,
 * RFC 9368, RFC 9287, RFC 9221) and the QUIC_SOCKOPT_TRANSPORT_PARAM
 * conversion.  The decoder treats its input as hostile: every length is
 * checked before it is read.
 */

#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/limits.h>
#include <linux/unaligned.h>

#include "tp.h"
#include "varint.h"
#include "test_export.h"

#define QUIC_MAX_STREAMS	BIT_ULL(60)

/* Decoder state: bit per known parameter, to reject duplicates. */
enum {
	QUIC_TPB_ODCID,
	QUIC_TPB_IDLE,
	QUIC_TPB_SRT,
	QUIC_TPB_UDP,
	QUIC_TPB_DATA,
	QUIC_TPB_SD_BL,
	QUIC_TPB_SD_BR,
	QUIC_TPB_SD_UNI,
	QUIC_TPB_ST_BIDI,
	QUIC_TPB_ST_UNI,
	QUIC_TPB_ADE,
	QUIC_TPB_MAD,
	QUIC_TPB_DAM,
	QUIC_TPB_PREF,
	QUIC_TPB_ACID,
	QUIC_TPB_ISCID,
	QUIC_TPB_RSCID,
	QUIC_TPB_VINFO,
	QUIC_TPB_DGRAM,
	QUIC_TPB_GREASE,
	QUIC_TPB_NO1RTT,
};

struct quic_tp_writer {
	u8	*buf;
	u32	size;
	u32	len;
	int	err;
};

static void quic_tp_put_varint(struct quic_tp_writer *w, u64 v)
{
	u8 n = quic_varint_len(v);

	if (w->err)
		return;
	if (v > QUIC_VARINT_MAX) {
		w->err = -EINVAL;
		return;
	}
	if (w->size - w->len < n) {
		w->err = -ENOSPC;
		return;
	}
	quic_put_varint(w->buf + w->len, v);
	w->len += n;
}

static void quic_tp_put_bytes(struct quic_tp_writer *w, const void *p, u32 n)
{
	if (w->err)
		return;
	if (w->size - w->len < n) {
		w->err = -ENOSPC;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void quic_tp_put_int(struct quic_tp_writer *w, u64 id, u64 v)
{
	quic_tp_put_varint(w, id);
	quic_tp_put_varint(w, quic_varint_len(v));
	quic_tp_put_varint(w, v);
}

static void quic_tp_put_flag(struct quic_tp_writer *w, u64 id)
{
	quic_tp_put_varint(w, id);
	quic_tp_put_varint(w, 0);
}

static void quic_tp_put_cid(struct quic_tp_writer *w, u64 id,
			    const struct quic_tp_cid *cid)
{
	if (cid->len > QUIC_TP_CID_MAX_LEN) {
		w->err = -EINVAL;
		return;
	}
	quic_tp_put_varint(w, id);
	quic_tp_put_varint(w, cid->len);
	quic_tp_put_bytes(w, cid->data, cid->len);
}

/**
 * quic_tp_init_peer - set RFC 9000 defaults for absent peer parameters
 * @tp: parameters to initialise
 */
void quic_tp_init_peer(struct quic_tp *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->max_udp_payload_size = QUIC_TP_DEF_MAX_UDP_PAYLOAD_SIZE;
	tp->ack_delay_exponent = QUIC_TP_DEF_ACK_DELAY_EXPONENT;
	tp->max_ack_delay = QUIC_TP_DEF_MAX_ACK_DELAY_US;
	tp->active_connection_id_limit = QUIC_TP_DEF_ACTIVE_CID_LIMIT;
}

/**
 * quic_tp_init_local - set the defaults of our own parameters (ABI.md)
 * @tp: parameters to initialise
 *
 * active_connection_id_limit 7, ack_delay_exponent 3, max_udp_payload_size
 * 65527, max_idle_timeout 30 s, max_ack_delay 25 ms, 100 streams of each
 * type, max_data 65535 * 32, stream data 65535 * 16, everything else off.
 * CIDs, tokens and versions are left for the caller.
 */
void quic_tp_init_local(struct quic_tp *tp)
{
	quic_tp_init_peer(tp);
	tp->active_connection_id_limit = 7;
	tp->max_idle_timeout = 30000000;
	tp->max_streams_bidi = 100;
	tp->max_streams_uni = 100;
	tp->max_data = 65535 * 32;
	tp->max_stream_data_bidi_local = 65535 * 16;
	tp->max_stream_data_bidi_remote = 65535 * 16;
	tp->max_stream_data_uni = 65535 * 16;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_tp_init_local);

/**
 * quic_tp_encode - serialise our parameters into the TLS extension body
 * @tp: our parameters
 * @is_serv: we are the server: include original_destination_connection_id,
 *	and retry_source_connection_id, stateless_reset_token and
 *	preferred_address when flagged present
 * @buf: output
 * @size: room at @buf (at most QUIC_TP_EXT_MAX_LEN is ever written)
 *
 * initial_source_connection_id is always sent; version_information unless
 * @tp->disable_compatible_version (Chosen Version @tp->chosen_version,
 * Available Versions the list, or just the chosen one if the list is empty).
 * Return: number of bytes written, -ENOSPC or -EINVAL (bad CID lengths).
 */
int quic_tp_encode(const struct quic_tp *tp, bool is_serv, u8 *buf, u32 size)
{
	struct quic_tp_writer w = {
		.buf = buf,
		.size = min_t(u32, size, QUIC_TP_EXT_MAX_LEN),
	};
	const struct quic_tp_pref_addr *pa = &tp->pref_addr;
	u8 i;

	if (is_serv)
		quic_tp_put_cid(&w, QUIC_TP_ORIGINAL_DESTINATION_CONNECTION_ID,
				&tp->original_dcid);
	if (tp->max_idle_timeout)
		quic_tp_put_int(&w, QUIC_TP_MAX_IDLE_TIMEOUT,
				div_u64(tp->max_idle_timeout, 1000));
	if (is_serv && tp->stateless_reset) {
		quic_tp_put_varint(&w, QUIC_TP_STATELESS_RESET_TOKEN);
		quic_tp_put_varint(&w, QUIC_TP_RESET_TOKEN_LEN);
		quic_tp_put_bytes(&w, tp->stateless_reset_token,
				  QUIC_TP_RESET_TOKEN_LEN);
	}
	if (tp->max_udp_payload_size != QUIC_TP_DEF_MAX_UDP_PAYLOAD_SIZE)
		quic_tp_put_int(&w, QUIC_TP_MAX_UDP_PAYLOAD_SIZE,
				tp->max_udp_payload_size);
	if (tp->max_data)
		quic_tp_put_int(&w, QUIC_TP_INITIAL_MAX_DATA, tp->max_data);
	if (tp->max_stream_data_bidi_local)
		quic_tp_put_int(&w, QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL,
				tp->max_stream_data_bidi_local);
	if (tp->max_stream_data_bidi_remote)
		quic_tp_put_int(&w, QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE,
				tp->max_stream_data_bidi_remote);
	if (tp->max_stream_data_uni)
		quic_tp_put_int(&w, QUIC_TP_INITIAL_MAX_STREAM_DATA_UNI,
				tp->max_stream_data_uni);
	if (tp->max_streams_bidi)
		quic_tp_put_int(&w, QUIC_TP_INITIAL_MAX_STREAMS_BIDI,
				tp->max_streams_bidi);
	if (tp->max_streams_uni)
		quic_tp_put_int(&w, QUIC_TP_INITIAL_MAX_STREAMS_UNI,
				tp->max_streams_uni);
	if (tp->ack_delay_exponent != QUIC_TP_DEF_ACK_DELAY_EXPONENT)
		quic_tp_put_int(&w, QUIC_TP_ACK_DELAY_EXPONENT,
				tp->ack_delay_exponent);
	if (tp->max_ack_delay != QUIC_TP_DEF_MAX_ACK_DELAY_US)
		quic_tp_put_int(&w, QUIC_TP_MAX_ACK_DELAY,
				tp->max_ack_delay / 1000);
	if (tp->disable_active_migration)
		quic_tp_put_flag(&w, QUIC_TP_DISABLE_ACTIVE_MIGRATION);
	if (is_serv && tp->pref_addr_present) {
		if (!pa->cid.len || pa->cid.len > QUIC_TP_CID_MAX_LEN)
			return -EINVAL;
		quic_tp_put_varint(&w, QUIC_TP_PREFERRED_ADDRESS);
		quic_tp_put_varint(&w, 4 + 2 + 16 + 2 + 1 + pa->cid.len +
				QUIC_TP_RESET_TOKEN_LEN);
		quic_tp_put_bytes(&w, pa->v4_addr, 4);
		quic_tp_put_bytes(&w, &(__be16){ cpu_to_be16(pa->v4_port) }, 2);
		quic_tp_put_bytes(&w, pa->v6_addr, 16);
		quic_tp_put_bytes(&w, &(__be16){ cpu_to_be16(pa->v6_port) }, 2);
		quic_tp_put_bytes(&w, &pa->cid.len, 1);
		quic_tp_put_bytes(&w, pa->cid.data, pa->cid.len);
		quic_tp_put_bytes(&w, pa->token, QUIC_TP_RESET_TOKEN_LEN);
	}
	if (tp->active_connection_id_limit != QUIC_TP_DEF_ACTIVE_CID_LIMIT)
		quic_tp_put_int(&w, QUIC_TP_ACTIVE_CONNECTION_ID_LIMIT,
				tp->active_connection_id_limit);
	quic_tp_put_cid(&w, QUIC_TP_INITIAL_SOURCE_CONNECTION_ID,
			&tp->initial_scid);
	if (is_serv && tp->retry_scid_present)
		quic_tp_put_cid(&w, QUIC_TP_RETRY_SOURCE_CONNECTION_ID,
				&tp->retry_scid);
	if (!tp->disable_compatible_version && tp->chosen_version) {
		u8 n = min_t(u8, tp->available_count, QUIC_TP_MAX_VERSIONS);

		quic_tp_put_varint(&w, QUIC_TP_VERSION_INFORMATION);
		quic_tp_put_varint(&w, 4 * (1 + (n ? n : 1)));
		quic_tp_put_bytes(&w, &(__be32){ cpu_to_be32(tp->chosen_version) },
				  4);
		if (!n)
			quic_tp_put_bytes(&w,
					  &(__be32){ cpu_to_be32(tp->chosen_version) },
				       4);
		for (i = 0; i < n; i++)
			quic_tp_put_bytes(&w,
					  &(__be32){ cpu_to_be32(tp->available_versions[i]) },
				       4);
	}
	if (tp->max_datagram_frame_size)
		quic_tp_put_int(&w, QUIC_TP_MAX_DATAGRAM_FRAME_SIZE,
				tp->max_datagram_frame_size);
	if (tp->grease_quic_bit)
		quic_tp_put_flag(&w, QUIC_TP_GREASE_QUIC_BIT);
	if (tp->disable_1rtt_encryption)
		quic_tp_put_flag(&w, QUIC_TP_DISABLE_1RTT_ENCRYPTION);

	return w.err ? w.err : w.len;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_tp_encode);

static int quic_tp_get_cid(struct quic_tp_cid *cid, const u8 *p, u64 len)
{
	if (len > QUIC_TP_CID_MAX_LEN)
		return -EINVAL;
	cid->len = len;
	memcpy(cid->data, p, len);
	return 0;
}

static int quic_tp_get_pref_addr(struct quic_tp_pref_addr *pa, const u8 *p,
				 u64 len)
{
	u8 cid_len;

	if (len < 4 + 2 + 16 + 2 + 1 + QUIC_TP_RESET_TOKEN_LEN)
		return -EINVAL;
	cid_len = p[24];
	if (!cid_len || cid_len > QUIC_TP_CID_MAX_LEN ||
	    len != 4 + 2 + 16 + 2 + 1 + cid_len + QUIC_TP_RESET_TOKEN_LEN)
		return -EINVAL;
	memcpy(pa->v4_addr, p, 4);
	pa->v4_port = get_unaligned_be16(p + 4);
	memcpy(pa->v6_addr, p + 6, 16);
	pa->v6_port = get_unaligned_be16(p + 22);
	pa->cid.len = cid_len;
	memcpy(pa->cid.data, p + 25, cid_len);
	memcpy(pa->token, p + 25 + cid_len, QUIC_TP_RESET_TOKEN_LEN);
	return 0;
}

static int quic_tp_get_version_info(struct quic_tp *tp, const u8 *p, u64 len)
{
	u32 v, i, n;

	if (len < 4 || len % 4)
		return -EINVAL;
	tp->chosen_version = get_unaligned_be32(p);
	if (!tp->chosen_version)
		return -EINVAL;
	n = len / 4 - 1;
	tp->available_count = 0;
	for (i = 0; i < n; i++) {
		v = get_unaligned_be32(p + 4 + 4 * i);
		if (!v)
			return -EINVAL;
		if (tp->available_count < QUIC_TP_MAX_VERSIONS)
			tp->available_versions[tp->available_count++] = v;
	}
	tp->version_info_present = 1;
	return 0;
}

/* Map a known ID to its duplicate-detection bit; -1 for unknown IDs. */
static int quic_tp_bit(u64 id)
{
	if (id <= QUIC_TP_VERSION_INFORMATION)
		return id;	/* 0x00..0x11 are contiguous */
	switch (id) {
	case QUIC_TP_MAX_DATAGRAM_FRAME_SIZE:
		return QUIC_TPB_DGRAM;
	case QUIC_TP_GREASE_QUIC_BIT:
		return QUIC_TPB_GREASE;
	case QUIC_TP_DISABLE_1RTT_ENCRYPTION:
		return QUIC_TPB_NO1RTT;
	}
	return -1;
}

static int quic_tp_get_one(struct quic_tp *tp, bool is_serv, u64 id,
			   const u8 *p, u64 len)
{
	struct quic_reader r;
	u64 v = 0;

	/* Parameters only a server may send */
	if (is_serv && (id == QUIC_TP_ORIGINAL_DESTINATION_CONNECTION_ID ||
			id == QUIC_TP_STATELESS_RESET_TOKEN ||
			id == QUIC_TP_PREFERRED_ADDRESS ||
			id == QUIC_TP_RETRY_SOURCE_CONNECTION_ID))
		return -EINVAL;

	switch (id) {
	case QUIC_TP_MAX_IDLE_TIMEOUT:
	case QUIC_TP_MAX_UDP_PAYLOAD_SIZE:
	case QUIC_TP_INITIAL_MAX_DATA:
	case QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL:
	case QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE:
	case QUIC_TP_INITIAL_MAX_STREAM_DATA_UNI:
	case QUIC_TP_INITIAL_MAX_STREAMS_BIDI:
	case QUIC_TP_INITIAL_MAX_STREAMS_UNI:
	case QUIC_TP_ACK_DELAY_EXPONENT:
	case QUIC_TP_MAX_ACK_DELAY:
	case QUIC_TP_ACTIVE_CONNECTION_ID_LIMIT:
	case QUIC_TP_MAX_DATAGRAM_FRAME_SIZE:
		/* The value must fill the parameter exactly. */
		r.p = p;
		r.end = p + len;
		if (!quic_get_varint(&r, &v) || r.p != r.end)
			return -EINVAL;
		break;
	case QUIC_TP_DISABLE_ACTIVE_MIGRATION:
	case QUIC_TP_GREASE_QUIC_BIT:
	case QUIC_TP_DISABLE_1RTT_ENCRYPTION:
		if (len)
			return -EINVAL;
		break;
	}

	switch (id) {
	case QUIC_TP_ORIGINAL_DESTINATION_CONNECTION_ID:
		tp->odcid_present = 1;
		return quic_tp_get_cid(&tp->original_dcid, p, len);
	case QUIC_TP_INITIAL_SOURCE_CONNECTION_ID:
		tp->iscid_present = 1;
		return quic_tp_get_cid(&tp->initial_scid, p, len);
	case QUIC_TP_RETRY_SOURCE_CONNECTION_ID:
		tp->retry_scid_present = 1;
		return quic_tp_get_cid(&tp->retry_scid, p, len);
	case QUIC_TP_STATELESS_RESET_TOKEN:
		if (len != QUIC_TP_RESET_TOKEN_LEN)
			return -EINVAL;
		memcpy(tp->stateless_reset_token, p, len);
		tp->stateless_reset = 1;
		return 0;
	case QUIC_TP_PREFERRED_ADDRESS:
		tp->pref_addr_present = 1;
		return quic_tp_get_pref_addr(&tp->pref_addr, p, len);
	case QUIC_TP_VERSION_INFORMATION:
		return quic_tp_get_version_info(tp, p, len);
	case QUIC_TP_MAX_IDLE_TIMEOUT:
		/* milliseconds; cap at ~11 days to keep microseconds sane */
		tp->max_idle_timeout = min_t(u64, v, 1000000000ULL) * 1000;
		return 0;
	case QUIC_TP_MAX_UDP_PAYLOAD_SIZE:
		if (v < 1200)
			return -EINVAL;
		tp->max_udp_payload_size = v;
		return 0;
	case QUIC_TP_INITIAL_MAX_DATA:
		tp->max_data = v;
		return 0;
	case QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL:
		tp->max_stream_data_bidi_local = v;
		return 0;
	case QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE:
		tp->max_stream_data_bidi_remote = v;
		return 0;
	case QUIC_TP_INITIAL_MAX_STREAM_DATA_UNI:
		tp->max_stream_data_uni = v;
		return 0;
	case QUIC_TP_INITIAL_MAX_STREAMS_BIDI:
		if (v > QUIC_MAX_STREAMS)
			return -EINVAL;
		tp->max_streams_bidi = v;
		return 0;
	case QUIC_TP_INITIAL_MAX_STREAMS_UNI:
		if (v > QUIC_MAX_STREAMS)
			return -EINVAL;
		tp->max_streams_uni = v;
		return 0;
	case QUIC_TP_ACK_DELAY_EXPONENT:
		if (v > 20)
			return -EINVAL;
		tp->ack_delay_exponent = v;
		return 0;
	case QUIC_TP_MAX_ACK_DELAY:
		if (v >= 16384)
			return -EINVAL;
		tp->max_ack_delay = v * 1000;
		return 0;
	case QUIC_TP_ACTIVE_CONNECTION_ID_LIMIT:
		if (v < 2)
			return -EINVAL;
		tp->active_connection_id_limit = v;
		return 0;
	case QUIC_TP_MAX_DATAGRAM_FRAME_SIZE:
		tp->max_datagram_frame_size = v;
		return 0;
	case QUIC_TP_DISABLE_ACTIVE_MIGRATION:
		tp->disable_active_migration = 1;
		return 0;
	case QUIC_TP_GREASE_QUIC_BIT:
		tp->grease_quic_bit = 1;
		return 0;
	case QUIC_TP_DISABLE_1RTT_ENCRYPTION:
		tp->disable_1rtt_encryption = 1;
		return 0;
	}
	return 0;	/* unknown: ignore */
}

/**
 * quic_tp_decode - parse and validate the peer's TLS extension body
 * @out: the peer's parameters (RFC defaults for absent ones)
 * @is_serv: we are the server (the peer is a client: server-only
 *	parameters are an error)
 * @version: version of the connection, checked against the peer's
 *	version_information Chosen Version (0 = don't check)
 * @buf: the extension body
 * @len: its length
 *
 * Unknown parameters are ignored.  A duplicated known parameter, a
 * malformed varint, a length mismatch, an out-of-range value, a
 * server-only parameter sent by a client, a missing
 * initial_source_connection_id (or original_destination_connection_id from a
 * server) are errors.  @out is only written on success.
 * Return: 0; -EINVAL (TRANSPORT_PARAMETER_ERROR); -EPROTONOSUPPORT
 * (VERSION_NEGOTIATION_ERROR: Chosen Version differs from @version).
 */
int quic_tp_decode(struct quic_tp *out, bool is_serv, u32 version,
		   const u8 *buf, u32 len)
{
	struct quic_reader r = { buf, buf + len };
	struct quic_tp peer;
	const u8 *p;
	u64 id, plen;
	u32 seen = 0;
	int bit, err;

	quic_tp_init_peer(&peer);
	while (r.p < r.end) {
		if (!quic_get_varint(&r, &id) || !quic_get_varint(&r, &plen) ||
		    !quic_get_bytes(&r, &p, plen))
			return -EINVAL;

		bit = quic_tp_bit(id);
		if (bit >= 0) {
			if (seen & BIT(bit))
				return -EINVAL;
			seen |= BIT(bit);
		}
		err = quic_tp_get_one(&peer, is_serv, id, p, plen);
		if (err)
			return err;
	}

	/* RFC 9000 section 7.3: authenticated connection IDs are mandatory. */
	if (!peer.iscid_present)
		return -EINVAL;
	if (!is_serv && !peer.odcid_present)
		return -EINVAL;
	/* RFC 9368 section 4: the Chosen Version must be the one in use. */
	if (peer.version_info_present && version && peer.chosen_version != version)
		return -EPROTONOSUPPORT;

	*out = peer;
	return 0;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_tp_decode);

static u32 quic_sat_u32(u64 v)
{
	return v > U32_MAX ? U32_MAX : v;
}

static u16 quic_sat_u16(u64 v)
{
	return v > U16_MAX ? U16_MAX : v;
}

static u8 quic_sat_u8(u64 v)
{
	return v > U8_MAX ? U8_MAX : v;
}

/**
 * quic_tp_to_user - fill the UAPI struct from internal parameters
 * @tp: parameters
 * @p: out (including @p->remote untouched)
 *
 * Values too large for the UAPI fields saturate.
 */
void quic_tp_to_user(const struct quic_tp *tp, struct quic_transport_param *p)
{
	p->disable_active_migration = tp->disable_active_migration;
	p->grease_quic_bit = tp->grease_quic_bit;
	p->stateless_reset = tp->stateless_reset;
	p->disable_1rtt_encryption = tp->disable_1rtt_encryption;
	p->disable_compatible_version = tp->disable_compatible_version;
	p->active_connection_id_limit =
		quic_sat_u8(tp->active_connection_id_limit);
	p->ack_delay_exponent = tp->ack_delay_exponent;
	p->max_datagram_frame_size = quic_sat_u16(tp->max_datagram_frame_size);
	p->max_udp_payload_size = quic_sat_u16(tp->max_udp_payload_size);
	p->max_idle_timeout = quic_sat_u32(tp->max_idle_timeout);
	p->max_ack_delay = tp->max_ack_delay;
	p->max_streams_bidi = quic_sat_u16(tp->max_streams_bidi);
	p->max_streams_uni = quic_sat_u16(tp->max_streams_uni);
	p->max_data = tp->max_data;
	p->max_stream_data_bidi_local = tp->max_stream_data_bidi_local;
	p->max_stream_data_bidi_remote = tp->max_stream_data_bidi_remote;
	p->max_stream_data_uni = tp->max_stream_data_uni;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_tp_to_user);

/**
 * quic_tp_set_user - QUIC_SOCKOPT_TRANSPORT_PARAM set: overlay and validate
 * @tp: parameters to update (unchanged on error)
 * @p: user values; every non-zero field overrides
 * @remote: @tp holds the peer's parameters (0-RTT restore): the local-only
 *	limits on max_data and stream data do not apply
 *
 * Validation (ABI.md 2.4): active_connection_id_limit 2..8,
 * ack_delay_exponent <= 20, max_datagram_frame_size 0 or >= 1200,
 * max_udp_payload_size 1200..65527, max_idle_timeout >= 1 s,
 * max_ack_delay < 16384 ms, max_streams_* <= 4096, local max_data
 * <= S32_MAX / 4, local stream data <= S32_MAX / 8.
 * Return: 0 or -EINVAL.
 */
int quic_tp_set_user(struct quic_tp *tp, const struct quic_transport_param *p,
		     bool remote)
{
	struct quic_transport_param v;

	quic_tp_to_user(tp, &v);

	/* Every non-zero field overrides the current value. */
	if (p->disable_active_migration)
		v.disable_active_migration = p->disable_active_migration;
	if (p->grease_quic_bit)
		v.grease_quic_bit = p->grease_quic_bit;
	if (p->stateless_reset)
		v.stateless_reset = p->stateless_reset;
	if (p->disable_1rtt_encryption)
		v.disable_1rtt_encryption = p->disable_1rtt_encryption;
	if (p->disable_compatible_version)
		v.disable_compatible_version = p->disable_compatible_version;
	if (p->active_connection_id_limit)
		v.active_connection_id_limit = p->active_connection_id_limit;
	if (p->ack_delay_exponent)
		v.ack_delay_exponent = p->ack_delay_exponent;
	if (p->max_datagram_frame_size)
		v.max_datagram_frame_size = p->max_datagram_frame_size;
	if (p->max_udp_payload_size)
		v.max_udp_payload_size = p->max_udp_payload_size;
	if (p->max_idle_timeout)
		v.max_idle_timeout = p->max_idle_timeout;
	if (p->max_ack_delay)
		v.max_ack_delay = p->max_ack_delay;
	if (p->max_streams_bidi)
		v.max_streams_bidi = p->max_streams_bidi;
	if (p->max_streams_uni)
		v.max_streams_uni = p->max_streams_uni;
	if (p->max_data)
		v.max_data = p->max_data;
	if (p->max_stream_data_bidi_local)
		v.max_stream_data_bidi_local = p->max_stream_data_bidi_local;
	if (p->max_stream_data_bidi_remote)
		v.max_stream_data_bidi_remote = p->max_stream_data_bidi_remote;
	if (p->max_stream_data_uni)
		v.max_stream_data_uni = p->max_stream_data_uni;

	if (v.active_connection_id_limit < 2 ||
	    v.active_connection_id_limit > 8)
		return -EINVAL;
	if (v.ack_delay_exponent > 20)
		return -EINVAL;
	if (v.max_datagram_frame_size && v.max_datagram_frame_size < 1200)
		return -EINVAL;
	if (v.max_udp_payload_size < 1200 || v.max_udp_payload_size > 65527)
		return -EINVAL;
	if (v.max_idle_timeout && v.max_idle_timeout < 1000000)
		return -EINVAL;
	if (v.max_ack_delay >= 16384000)
		return -EINVAL;
	if (v.max_streams_bidi > 4096 || v.max_streams_uni > 4096)
		return -EINVAL;
	if (!remote) {
		if (v.max_data > S32_MAX / 4)
			return -EINVAL;
		if (v.max_stream_data_bidi_local > S32_MAX / 8 ||
		    v.max_stream_data_bidi_remote > S32_MAX / 8 ||
		    v.max_stream_data_uni > S32_MAX / 8)
			return -EINVAL;
	}

	tp->disable_active_migration = !!v.disable_active_migration;
	tp->grease_quic_bit = !!v.grease_quic_bit;
	tp->stateless_reset = !!v.stateless_reset;
	tp->disable_1rtt_encryption = !!v.disable_1rtt_encryption;
	tp->disable_compatible_version = !!v.disable_compatible_version;
	tp->active_connection_id_limit = v.active_connection_id_limit;
	tp->ack_delay_exponent = v.ack_delay_exponent;
	tp->max_datagram_frame_size = v.max_datagram_frame_size;
	tp->max_udp_payload_size = v.max_udp_payload_size;
	tp->max_idle_timeout = v.max_idle_timeout;
	tp->max_ack_delay = v.max_ack_delay;
	tp->max_streams_bidi = v.max_streams_bidi;
	tp->max_streams_uni = v.max_streams_uni;
	tp->max_data = v.max_data;
	tp->max_stream_data_bidi_local = v.max_stream_data_bidi_local;
	tp->max_stream_data_bidi_remote = v.max_stream_data_bidi_remote;
	tp->max_stream_data_uni = v.max_stream_data_uni;
	return 0;
}
EXPORT_SYMBOL_IF_QUIC_TEST(quic_tp_set_user);

/**
 * quic_tp_early_reduced - did a server lower a limit a client used in 0-RTT?
 * @old: the remembered parameters
 * @cur: the ones of the handshake
 *
 * RFC 9000 7.4.1 lists the parameters that may not be smaller.
 *
 * Return: true if any of them is smaller in @cur than in @old.
 */
bool quic_tp_early_reduced(const struct quic_tp *old, const struct quic_tp *cur)
{
	return cur->active_connection_id_limit < old->active_connection_id_limit ||
	       cur->max_data < old->max_data ||
	       cur->max_stream_data_bidi_local < old->max_stream_data_bidi_local ||
	       cur->max_stream_data_bidi_remote < old->max_stream_data_bidi_remote ||
	       cur->max_stream_data_uni < old->max_stream_data_uni ||
	       cur->max_streams_bidi < old->max_streams_bidi ||
	       cur->max_streams_uni < old->max_streams_uni;
}
