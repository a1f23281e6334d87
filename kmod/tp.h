/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC transport parameters (RFC 9000 section 18.2) and their TLS extension
 * codec, plus version_information (RFC 9368), grease_quic_bit (RFC 9287),
 * max_datagram_frame_size (RFC 9221) and the private disable_1rtt_encryption
 * (0xbaad).
 */

#ifndef __NET_QUIC_TP_H
#define __NET_QUIC_TP_H

#include <linux/types.h>
#include <uapi/linux/quic.h>

#define QUIC_TP_EXT_MAX_LEN		512	/* encoded extension body */
#define QUIC_TP_CID_MAX_LEN		20
#define QUIC_TP_RESET_TOKEN_LEN		16
#define QUIC_TP_MAX_VERSIONS		16

/* Transport parameter IDs */
#define QUIC_TP_ORIGINAL_DESTINATION_CONNECTION_ID	0x00
#define QUIC_TP_MAX_IDLE_TIMEOUT			0x01
#define QUIC_TP_STATELESS_RESET_TOKEN			0x02
#define QUIC_TP_MAX_UDP_PAYLOAD_SIZE			0x03
#define QUIC_TP_INITIAL_MAX_DATA			0x04
#define QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL	0x05
#define QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE	0x06
#define QUIC_TP_INITIAL_MAX_STREAM_DATA_UNI		0x07
#define QUIC_TP_INITIAL_MAX_STREAMS_BIDI		0x08
#define QUIC_TP_INITIAL_MAX_STREAMS_UNI			0x09
#define QUIC_TP_ACK_DELAY_EXPONENT			0x0a
#define QUIC_TP_MAX_ACK_DELAY				0x0b
#define QUIC_TP_DISABLE_ACTIVE_MIGRATION		0x0c
#define QUIC_TP_PREFERRED_ADDRESS			0x0d
#define QUIC_TP_ACTIVE_CONNECTION_ID_LIMIT		0x0e
#define QUIC_TP_INITIAL_SOURCE_CONNECTION_ID		0x0f
#define QUIC_TP_RETRY_SOURCE_CONNECTION_ID		0x10
#define QUIC_TP_VERSION_INFORMATION			0x11
#define QUIC_TP_MAX_DATAGRAM_FRAME_SIZE			0x20
#define QUIC_TP_GREASE_QUIC_BIT				0x2ab2
#define QUIC_TP_DISABLE_1RTT_ENCRYPTION			0xbaad

/* RFC defaults of absent parameters */
#define QUIC_TP_DEF_MAX_UDP_PAYLOAD_SIZE	65527
#define QUIC_TP_DEF_ACK_DELAY_EXPONENT		3
#define QUIC_TP_DEF_MAX_ACK_DELAY_US		25000
#define QUIC_TP_DEF_ACTIVE_CID_LIMIT		2

/**
 * struct quic_tp_cid - a connection ID carried in a transport parameter
 * @len: length, 0..20
 * @data: the ID
 */
struct quic_tp_cid {
	u8	len;
	u8	data[QUIC_TP_CID_MAX_LEN];
};

/**
 * struct quic_tp_pref_addr - preferred_address (RFC 9000 section 18.2)
 * @v4_addr: IPv4 address (network order, all zero if none)
 * @v4_port: IPv4 port (host order, 0 if none)
 * @v6_addr: IPv6 address (network order)
 * @v6_port: IPv6 port (host order)
 * @cid: connection ID to use on the new path (1..20 bytes)
 * @token: its stateless reset token
 */
struct quic_tp_pref_addr {
	u8			v4_addr[4];
	u16			v4_port;
	u8			v6_addr[16];
	u16			v6_port;
	struct quic_tp_cid	cid;
	u8			token[QUIC_TP_RESET_TOKEN_LEN];
};

/**
 * struct quic_tp - one endpoint's transport parameters
 * @max_idle_timeout: microseconds (wire: milliseconds); 0 = none
 * @max_udp_payload_size: bytes
 * @max_data: initial_max_data
 * @max_stream_data_bidi_local: initial_max_stream_data_bidi_local
 * @max_stream_data_bidi_remote: initial_max_stream_data_bidi_remote
 * @max_stream_data_uni: initial_max_stream_data_uni
 * @max_streams_bidi: initial_max_streams_bidi (<= 2^60)
 * @max_streams_uni: initial_max_streams_uni (<= 2^60)
 * @max_ack_delay: microseconds (wire: milliseconds, < 2^14)
 * @ack_delay_exponent: 0..20
 * @active_connection_id_limit: >= 2
 * @max_datagram_frame_size: 0 = datagrams not supported
 * @disable_active_migration: flag
 * @grease_quic_bit: flag (RFC 9287)
 * @disable_1rtt_encryption: flag (private 0xbaad)
 * @stateless_reset: @stateless_reset_token is present / to be sent
 * @pref_addr_present: @pref_addr is present / to be sent
 * @retry_scid_present: @retry_scid is present / to be sent
 * @odcid_present: @original_dcid is present (decode)
 * @iscid_present: @initial_scid is present (decode)
 * @disable_compatible_version: encode: omit version_information
 * @version_info_present: decode: version_information was received
 * @original_dcid: original_destination_connection_id (server)
 * @initial_scid: initial_source_connection_id
 * @retry_scid: retry_source_connection_id (server, after Retry)
 * @stateless_reset_token: stateless_reset_token (server)
 * @pref_addr: preferred_address (server)
 * @chosen_version: version_information Chosen Version
 * @available_count: number of @available_versions
 * @available_versions: version_information Available Versions
 */
struct quic_tp {
	u64	max_idle_timeout;
	u64	max_udp_payload_size;
	u64	max_data;
	u64	max_stream_data_bidi_local;
	u64	max_stream_data_bidi_remote;
	u64	max_stream_data_uni;
	u64	max_streams_bidi;
	u64	max_streams_uni;
	u32	max_ack_delay;
	u8	ack_delay_exponent;
	u64	active_connection_id_limit;
	u64	max_datagram_frame_size;

	u8	disable_active_migration:1,
		grease_quic_bit:1,
		disable_1rtt_encryption:1,
		stateless_reset:1,
		pref_addr_present:1,
		retry_scid_present:1,
		odcid_present:1,
		iscid_present:1;
	u8	disable_compatible_version:1,
		version_info_present:1;

	struct quic_tp_cid		original_dcid;
	struct quic_tp_cid		initial_scid;
	struct quic_tp_cid		retry_scid;
	u8				stateless_reset_token[QUIC_TP_RESET_TOKEN_LEN];
	struct quic_tp_pref_addr	pref_addr;

	u32	chosen_version;
	u8	available_count;
	u32	available_versions[QUIC_TP_MAX_VERSIONS];
};

/* Defaults, extension codec and UAPI conversion (documented in tp.c) */
void quic_tp_init_local(struct quic_tp *tp);
void quic_tp_init_peer(struct quic_tp *tp);
int quic_tp_encode(const struct quic_tp *tp, bool is_serv, u8 *buf, u32 size);
int quic_tp_decode(struct quic_tp *tp, bool is_serv, u32 version,
		   const u8 *buf, u32 len);
void quic_tp_to_user(const struct quic_tp *tp, struct quic_transport_param *p);
int quic_tp_set_user(struct quic_tp *tp, const struct quic_transport_param *p,
		     bool remote);
bool quic_tp_early_reduced(const struct quic_tp *old,
			   const struct quic_tp *cur);

#endif /* __NET_QUIC_TP_H */
