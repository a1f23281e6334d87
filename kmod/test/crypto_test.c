// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Known-answer tests of QUIC packet protection (crypto.c): RFC 9001
 * Appendix A and RFC 9369 Appendix A (Initial secrets and keys, client and
 * server Initial packets, ChaCha20-Poly1305 short header packet, "quic ku"),
 * a 1-RTT packet of every cipher suite, a live key update, HKDF (RFC 5869),
 * packet number decoding and random packets.
 *
 * corrupt=1 breaks the expected digest of the RFC 9001 A.2 client Initial,
 * so that "client_initial" must fail: this proves the comparisons detect
 * broken packet protection.  bench=1 measures every cipher suite.
 */

#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tls.h>
#include <linux/ktime.h>
#include <crypto/aead.h>
#include <crypto/hash.h>
#include <crypto/sha2.h>

#include "../crypto.h"
#include "quic_test.h"

static bool corrupt;
module_param(corrupt, bool, 0444);
MODULE_PARM_DESC(corrupt,
		 "Break one expected vector (RFC 9001 A.2): the run must fail");

static bool bench;
module_param(bench, bool, 0444);
MODULE_PARM_DESC(bench, "Also measure the throughput of every cipher suite");

/* RFC 9001 A.2 / RFC 9369 A.2: the client's CRYPTO frame (ClientHello) */
static const u8 qt_client_crypto[] = {
	0x06, 0x00, 0x40, 0xf1, 0x01, 0x00, 0x00, 0xed, 0x03, 0x03, 0xeb, 0xf8,
	0xfa, 0x56, 0xf1, 0x29, 0x39, 0xb9, 0x58, 0x4a, 0x38, 0x96, 0x47, 0x2e,
	0xc4, 0x0b, 0xb8, 0x63, 0xcf, 0xd3, 0xe8, 0x68, 0x04, 0xfe, 0x3a, 0x47,
	0xf0, 0x6a, 0x2b, 0x69, 0x48, 0x4c, 0x00, 0x00, 0x04, 0x13, 0x01, 0x13,
	0x02, 0x01, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00,
	0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f,
	0x6d, 0xff, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x06,
	0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x10, 0x00, 0x07, 0x00, 0x05,
	0x04, 0x61, 0x6c, 0x70, 0x6e, 0x00, 0x05, 0x00, 0x05, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20,
	0x93, 0x70, 0xb2, 0xc9, 0xca, 0xa4, 0x7f, 0xba, 0xba, 0xf4, 0x55, 0x9f,
	0xed, 0xba, 0x75, 0x3d, 0xe1, 0x71, 0xfa, 0x71, 0xf5, 0x0f, 0x1c, 0xe1,
	0x5d, 0x43, 0xe9, 0x94, 0xec, 0x74, 0xd7, 0x48, 0x00, 0x2b, 0x00, 0x03,
	0x02, 0x03, 0x04, 0x00, 0x0d, 0x00, 0x10, 0x00, 0x0e, 0x04, 0x03, 0x05,
	0x03, 0x06, 0x03, 0x02, 0x03, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x00,
	0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x1c, 0x00, 0x02, 0x40, 0x01, 0x00,
	0x39, 0x00, 0x32, 0x04, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x05, 0x04, 0x80, 0x00, 0xff, 0xff, 0x07, 0x04, 0x80, 0x00, 0xff,
	0xff, 0x08, 0x01, 0x10, 0x01, 0x04, 0x80, 0x00, 0x75, 0x30, 0x09, 0x01,
	0x10, 0x0f, 0x08, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0x06,
	0x04, 0x80, 0x00, 0xff, 0xff,
};

/* The client Initial's payload: the CRYPTO frame padded to 1162 bytes */
#define QT_CLIENT_PAYLOAD_LEN	1162

/* RFC 9001 A.3 / RFC 9369 A.3: the server's ACK and CRYPTO (ServerHello) */
static const u8 qt_server_payload[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x40, 0x5a, 0x02, 0x00, 0x00,
	0x56, 0x03, 0x03, 0xee, 0xfc, 0xe7, 0xf7, 0xb3, 0x7b, 0xa1, 0xd1, 0x63,
	0x2e, 0x96, 0x67, 0x78, 0x25, 0xdd, 0xf7, 0x39, 0x88, 0xcf, 0xc7, 0x98,
	0x25, 0xdf, 0x56, 0x6d, 0xc5, 0x43, 0x0b, 0x9a, 0x04, 0x5a, 0x12, 0x00,
	0x13, 0x01, 0x00, 0x00, 0x2e, 0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00,
	0x20, 0x9d, 0x3c, 0x94, 0x0d, 0x89, 0x69, 0x0b, 0x84, 0xd0, 0x8a, 0x60,
	0x99, 0x3c, 0x14, 0x4e, 0xca, 0x68, 0x4d, 0x10, 0x81, 0x28, 0x7c, 0x83,
	0x4d, 0x53, 0x11, 0xbc, 0xf3, 0x2b, 0xb9, 0xda, 0x1a, 0x00, 0x2b, 0x00,
	0x02, 0x03, 0x04,
};

/* RFC 9001 A.5 / RFC 9369 A.5: the 1-RTT secret of the ChaCha20 example */
static const u8 qt_chacha_secret[] = {
	0x9a, 0xc3, 0x12, 0xa7, 0xf8, 0x77, 0x46, 0x8e, 0xbe, 0x69, 0x42, 0x27,
	0x48, 0xad, 0x00, 0xa1, 0x54, 0x43, 0xf1, 0x82, 0x03, 0xa0, 0x7d, 0x60,
	0x60, 0xf6, 0x88, 0xf3, 0x0f, 0x21, 0x63, 0x2b,
};

/* The A.5 packet: short header, packet number 654360564, then PING */
static const u8 qt_chacha_hdr[] = { 0x42, 0x00, 0xbf, 0xf4 };
static const u8 qt_ping[] = { 0x01 };

/* The client's first Destination Connection ID (A.1) */
static const u8 qt_dcid[] = {
	0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08,
};

/**
 * struct qt_version - the expected values of one QUIC version
 * @name: parameter description
 * @version: QUIC version
 * @client_secret: client_initial_secret (A.1)
 * @client_key: client Initial key (A.1)
 * @client_iv: client Initial IV (A.1)
 * @client_hp: client Initial header protection key (A.1)
 * @server_secret: server_initial_secret (A.1)
 * @server_key: server Initial key (A.1)
 * @server_iv: server Initial IV (A.1)
 * @server_hp: server Initial header protection key (A.1)
 * @client_hdr: unprotected client Initial header (A.2)
 * @client_sha256: SHA-256 of the whole 1200-byte protected client Initial
 * @server_hdr: unprotected server Initial header (A.3)
 * @server_packet: protected server Initial (A.3)
 * @chacha_packet: protected ChaCha20-Poly1305 short header packet (A.5)
 * @ku: "quic ku" / "quicv2 ku" of the A.5 secret
 * @retry: the Retry packet of A.4 (for ODCID 8394c8f03e515708), tag included
 */
struct qt_version {
	const char	*name;
	u32		version;
	u8		client_secret[32];
	u8		client_key[16];
	u8		client_iv[QUIC_IV_LEN];
	u8		client_hp[16];
	u8		server_secret[32];
	u8		server_key[16];
	u8		server_iv[QUIC_IV_LEN];
	u8		server_hp[16];
	u8		client_hdr[22];
	u8		client_sha256[SHA256_DIGEST_SIZE];
	u8		server_hdr[20];
	u8		server_packet[135];
	u8		chacha_packet[21];
	u8		ku[32];
	u8		retry[36];
};

static const struct qt_version qt_versions[] = {
	{
		.name = "v1",
		.version = QUIC_VERSION_V1,
		.client_secret = {
			0xc0, 0x0c, 0xf1, 0x51, 0xca, 0x5b, 0xe0, 0x75, 0xed, 0x0e, 0xbf, 0xb5,
			0xc8, 0x03, 0x23, 0xc4, 0x2d, 0x6b, 0x7d, 0xb6, 0x78, 0x81, 0x28, 0x9a,
			0xf4, 0x00, 0x8f, 0x1f, 0x6c, 0x35, 0x7a, 0xea,
		},
		.client_key = {
			0x1f, 0x36, 0x96, 0x13, 0xdd, 0x76, 0xd5, 0x46, 0x77, 0x30, 0xef, 0xcb,
			0xe3, 0xb1, 0xa2, 0x2d,
		},
		.client_iv = {
			0xfa, 0x04, 0x4b, 0x2f, 0x42, 0xa3, 0xfd, 0x3b, 0x46, 0xfb, 0x25, 0x5c,
		},
		.client_hp = {
			0x9f, 0x50, 0x44, 0x9e, 0x04, 0xa0, 0xe8, 0x10, 0x28, 0x3a, 0x1e, 0x99,
			0x33, 0xad, 0xed, 0xd2,
		},
		.server_secret = {
			0x3c, 0x19, 0x98, 0x28, 0xfd, 0x13, 0x9e, 0xfd, 0x21, 0x6c, 0x15, 0x5a,
			0xd8, 0x44, 0xcc, 0x81, 0xfb, 0x82, 0xfa, 0x8d, 0x74, 0x46, 0xfa, 0x7d,
			0x78, 0xbe, 0x80, 0x3a, 0xcd, 0xda, 0x95, 0x1b,
		},
		.server_key = {
			0xcf, 0x3a, 0x53, 0x31, 0x65, 0x3c, 0x36, 0x4c, 0x88, 0xf0, 0xf3, 0x79,
			0xb6, 0x06, 0x7e, 0x37,
		},
		.server_iv = {
			0x0a, 0xc1, 0x49, 0x3c, 0xa1, 0x90, 0x58, 0x53, 0xb0, 0xbb, 0xa0, 0x3e,
		},
		.server_hp = {
			0xc2, 0x06, 0xb8, 0xd9, 0xb9, 0xf0, 0xf3, 0x76, 0x44, 0x43, 0x0b, 0x49,
			0x0e, 0xea, 0xa3, 0x14,
		},
		.client_hdr = {
			0xc3, 0x00, 0x00, 0x00, 0x01, 0x08, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51,
			0x57, 0x08, 0x00, 0x00, 0x44, 0x9e, 0x00, 0x00, 0x00, 0x02,
		},
		.client_sha256 = {
			0x73, 0xfa, 0x02, 0x10, 0xcb, 0x4a, 0x5a, 0x17, 0xdc, 0x10, 0xb9, 0xdc,
			0x98, 0xe5, 0xcc, 0x35, 0x9b, 0xa1, 0xc2, 0x0f, 0xe7, 0xc0, 0xe9, 0x3a,
			0x9e, 0x1d, 0xcb, 0x47, 0x3c, 0x37, 0xe0, 0x97,
		},
		.server_hdr = {
			0xc1, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0xf0, 0x67, 0xa5, 0x50, 0x2a,
			0x42, 0x62, 0xb5, 0x00, 0x40, 0x75, 0x00, 0x01,
		},
		.server_packet = {
			0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0xf0, 0x67, 0xa5, 0x50, 0x2a,
			0x42, 0x62, 0xb5, 0x00, 0x40, 0x75, 0xc0, 0xd9, 0x5a, 0x48, 0x2c, 0xd0,
			0x99, 0x1c, 0xd2, 0x5b, 0x0a, 0xac, 0x40, 0x6a, 0x58, 0x16, 0xb6, 0x39,
			0x41, 0x00, 0xf3, 0x7a, 0x1c, 0x69, 0x79, 0x75, 0x54, 0x78, 0x0b, 0xb3,
			0x8c, 0xc5, 0xa9, 0x9f, 0x5e, 0xde, 0x4c, 0xf7, 0x3c, 0x3e, 0xc2, 0x49,
			0x3a, 0x18, 0x39, 0xb3, 0xdb, 0xcb, 0xa3, 0xf6, 0xea, 0x46, 0xc5, 0xb7,
			0x68, 0x4d, 0xf3, 0x54, 0x8e, 0x7d, 0xde, 0xb9, 0xc3, 0xbf, 0x9c, 0x73,
			0xcc, 0x3f, 0x3b, 0xde, 0xd7, 0x4b, 0x56, 0x2b, 0xfb, 0x19, 0xfb, 0x84,
			0x02, 0x2f, 0x8e, 0xf4, 0xcd, 0xd9, 0x37, 0x95, 0xd7, 0x7d, 0x06, 0xed,
			0xbb, 0x7a, 0xaf, 0x2f, 0x58, 0x89, 0x18, 0x50, 0xab, 0xbd, 0xca, 0x3d,
			0x20, 0x39, 0x8c, 0x27, 0x64, 0x56, 0xcb, 0xc4, 0x21, 0x58, 0x40, 0x7d,
			0xd0, 0x74, 0xee,
		},
		.chacha_packet = {
			0x4c, 0xfe, 0x41, 0x89, 0x65, 0x5e, 0x5c, 0xd5, 0x5c, 0x41, 0xf6, 0x90,
			0x80, 0x57, 0x5d, 0x79, 0x99, 0xc2, 0x5a, 0x5b, 0xfb,
		},
		.ku = {
			0x12, 0x23, 0x50, 0x47, 0x55, 0x03, 0x6d, 0x55, 0x63, 0x42, 0xee, 0x93,
			0x61, 0xd2, 0x53, 0x42, 0x1a, 0x82, 0x6c, 0x9e, 0xcd, 0xf3, 0xc7, 0x14,
			0x86, 0x84, 0xb3, 0x6b, 0x71, 0x48, 0x81, 0xf9,
		},
		.retry = {
			0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0xf0, 0x67, 0xa5, 0x50, 0x2a,
			0x42, 0x62, 0xb5, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x04, 0xa2, 0x65, 0xba,
			0x2e, 0xff, 0x4d, 0x82, 0x90, 0x58, 0xfb, 0x3f, 0x0f, 0x24, 0x96, 0xba,
		},
	},
	{
		.name = "v2",
		.version = QUIC_VERSION_V2,
		.client_secret = {
			0x14, 0xec, 0x9d, 0x6e, 0xb9, 0xfd, 0x7a, 0xf8, 0x3b, 0xf5, 0xa6, 0x68,
			0xbc, 0x17, 0xa7, 0xe2, 0x83, 0x76, 0x6a, 0xad, 0xe7, 0xec, 0xd0, 0x89,
			0x1f, 0x70, 0xf9, 0xff, 0x7f, 0x4b, 0xf4, 0x7b,
		},
		.client_key = {
			0x8b, 0x1a, 0x0b, 0xc1, 0x21, 0x28, 0x42, 0x90, 0xa2, 0x9e, 0x09, 0x71,
			0xb5, 0xcd, 0x04, 0x5d,
		},
		.client_iv = {
			0x91, 0xf7, 0x3e, 0x23, 0x51, 0xd8, 0xfa, 0x91, 0x66, 0x0e, 0x90, 0x9f,
		},
		.client_hp = {
			0x45, 0xb9, 0x5e, 0x15, 0x23, 0x5d, 0x6f, 0x45, 0xa6, 0xb1, 0x9c, 0xbc,
			0xb0, 0x29, 0x4b, 0xa9,
		},
		.server_secret = {
			0x02, 0x63, 0xdb, 0x17, 0x82, 0x73, 0x1b, 0xf4, 0x58, 0x8e, 0x7e, 0x4d,
			0x93, 0xb7, 0x46, 0x39, 0x07, 0xcb, 0x8c, 0xd8, 0x20, 0x0b, 0x5d, 0xa5,
			0x5a, 0x8b, 0xd4, 0x88, 0xea, 0xfc, 0x37, 0xc1,
		},
		.server_key = {
			0x82, 0xdb, 0x63, 0x78, 0x61, 0xd5, 0x5e, 0x1d, 0x01, 0x1f, 0x19, 0xea,
			0x71, 0xd5, 0xd2, 0xa7,
		},
		.server_iv = {
			0xdd, 0x13, 0xc2, 0x76, 0x49, 0x9c, 0x02, 0x49, 0xd3, 0x31, 0x06, 0x52,
		},
		.server_hp = {
			0xed, 0xf6, 0xd0, 0x5c, 0x83, 0x12, 0x12, 0x01, 0xb4, 0x36, 0xe1, 0x68,
			0x77, 0x59, 0x3c, 0x3a,
		},
		.client_hdr = {
			0xd3, 0x6b, 0x33, 0x43, 0xcf, 0x08, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51,
			0x57, 0x08, 0x00, 0x00, 0x44, 0x9e, 0x00, 0x00, 0x00, 0x02,
		},
		.client_sha256 = {
			0xb0, 0xb7, 0x66, 0xfe, 0x7e, 0x76, 0x25, 0x77, 0x07, 0x2d, 0x33, 0x65,
			0xcc, 0x4f, 0x96, 0x35, 0x80, 0x92, 0x10, 0xcb, 0xa3, 0x01, 0xa6, 0x7f,
			0x84, 0x57, 0xf5, 0xe6, 0xfd, 0xac, 0x5c, 0x68,
		},
		.server_hdr = {
			0xd1, 0x6b, 0x33, 0x43, 0xcf, 0x00, 0x08, 0xf0, 0x67, 0xa5, 0x50, 0x2a,
			0x42, 0x62, 0xb5, 0x00, 0x40, 0x75, 0x00, 0x01,
		},
		.server_packet = {
			0xdc, 0x6b, 0x33, 0x43, 0xcf, 0x00, 0x08, 0xf0, 0x67, 0xa5, 0x50, 0x2a,
			0x42, 0x62, 0xb5, 0x00, 0x40, 0x75, 0xd9, 0x2f, 0xaa, 0xf1, 0x6f, 0x05,
			0xd8, 0xa4, 0x39, 0x8c, 0x47, 0x08, 0x96, 0x98, 0xba, 0xee, 0xa2, 0x6b,
			0x91, 0xeb, 0x76, 0x1d, 0x9b, 0x89, 0x23, 0x7b, 0xbf, 0x87, 0x26, 0x30,
			0x17, 0x91, 0x53, 0x58, 0x23, 0x00, 0x35, 0xf7, 0xfd, 0x39, 0x45, 0xd8,
			0x89, 0x65, 0xcf, 0x17, 0xf9, 0xaf, 0x6e, 0x16, 0x88, 0x6c, 0x61, 0xbf,
			0xc7, 0x03, 0x10, 0x6f, 0xba, 0xf3, 0xcb, 0x4c, 0xfa, 0x52, 0x38, 0x2d,
			0xd1, 0x6a, 0x39, 0x3e, 0x42, 0x75, 0x75, 0x07, 0x69, 0x80, 0x75, 0xb2,
			0xc9, 0x84, 0xc7, 0x07, 0xf0, 0xa0, 0x81, 0x2d, 0x8c, 0xd5, 0xa6, 0x88,
			0x1e, 0xaf, 0x21, 0xce, 0xda, 0x98, 0xf4, 0xbd, 0x23, 0xf6, 0xfe, 0x1a,
			0x3e, 0x2c, 0x43, 0xed, 0xd9, 0xce, 0x7c, 0xa8, 0x4b, 0xed, 0x85, 0x21,
			0xe2, 0xe1, 0x40,
		},
		.chacha_packet = {
			0x55, 0x58, 0xb1, 0xc6, 0x0a, 0xe7, 0xb6, 0xb9, 0x32, 0xbc, 0x27, 0xd7,
			0x86, 0xf4, 0xbc, 0x2b, 0xb2, 0x0f, 0x21, 0x62, 0xba,
		},
		.ku = {
			0xc6, 0x93, 0x74, 0xc4, 0x9e, 0x3d, 0x2a, 0x94, 0x66, 0xfa, 0x68, 0x9e,
			0x49, 0xd4, 0x76, 0xdb, 0x5d, 0x0d, 0xfb, 0xc8, 0x7d, 0x32, 0xce, 0xea,
			0xa6, 0x34, 0x3f, 0xd0, 0xae, 0x4c, 0x7d, 0x88,
		},
		.retry = {
			0xcf, 0x6b, 0x33, 0x43, 0xcf, 0x00, 0x08, 0xf0, 0x67, 0xa5, 0x50, 0x2a,
			0x42, 0x62, 0xb5, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0xc8, 0x64, 0x6c, 0xe8,
			0xbf, 0xe3, 0x39, 0x52, 0xd9, 0x55, 0x54, 0x36, 0x65, 0xdc, 0xc7, 0xb6,
		},
	},
};

static void qt_version_desc(const struct qt_version *v, char *desc)
{
	strscpy(desc, v->name, QUIC_TEST_PARAM_DESC_SIZE);
}

QUIC_TEST_ARRAY_PARAM(qt_version, qt_versions, qt_version_desc);

/**
 * struct qt_suite - a 1-RTT packet of one cipher suite
 * @type: TLS_CIPHER_*
 * @name: parameter description
 * @packet: the packet qt_suite_case() must produce
 *
 * Secret 0x11 repeated, 24 bytes 0..23 as payload, packet number 7; the
 * expected packets come from independent implementations (aioquic, and
 * Python cryptography's AESCCM for AES-128-CCM, which aioquic lacks).
 */
struct qt_suite {
	u32		type;
	const char	*name;
	u8		packet[51];
};

static const struct qt_suite qt_suites[] = {
	{
		.type = TLS_CIPHER_AES_GCM_128,
		.name = "AES-128-GCM",
		.packet = {
			0x4a, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0x73, 0x9d, 0x53,
			0x2a, 0x96, 0x91, 0x25, 0xb5, 0x20, 0xaf, 0x9d, 0xeb, 0xad, 0xb2, 0x56,
			0x9b, 0x3b, 0x08, 0xdb, 0x86, 0x78, 0x76, 0xfd, 0xaa, 0x7f, 0x42, 0x7d,
			0xae, 0x95, 0x16, 0x73, 0x31, 0xe9, 0xa5, 0xb7, 0x26, 0x40, 0xae, 0x5d,
			0xf7, 0xa9, 0xb1,
		},
	},
	{
		.type = TLS_CIPHER_AES_GCM_256,
		.name = "AES-256-GCM",
		.packet = {
			0x43, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0x65, 0xb7, 0x10,
			0x53, 0x21, 0x76, 0x32, 0x5c, 0xa6, 0xb8, 0x7c, 0x41, 0x8c, 0x76, 0x82,
			0xea, 0xf7, 0xd2, 0xc3, 0x39, 0x48, 0x67, 0x09, 0xd9, 0x14, 0x79, 0x39,
			0x2b, 0x2a, 0x10, 0xf9, 0x1a, 0x8c, 0x70, 0x7e, 0x3b, 0x32, 0xf3, 0xac,
			0x0e, 0x69, 0x61,
		},
	},
	{
		.type = TLS_CIPHER_AES_CCM_128,
		.name = "AES-128-CCM",
		.packet = {
			0x40, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0x48, 0xca, 0xcc,
			0xae, 0x85, 0xcd, 0xf6, 0xf0, 0x9a, 0xe6, 0x16, 0x51, 0x53, 0x05, 0x11,
			0xbb, 0xf7, 0xb5, 0x54, 0x4a, 0x93, 0x73, 0x7a, 0x4c, 0x07, 0x6e, 0xec,
			0xfd, 0x67, 0x2a, 0x7f, 0xf1, 0x55, 0x2c, 0x2f, 0x7f, 0x53, 0xee, 0x66,
			0x35, 0xf6, 0x36,
		},
	},
	{
		.type = TLS_CIPHER_CHACHA20_POLY1305,
		.name = "ChaCha20-Poly1305",
		.packet = {
			0x41, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0x48, 0x4d, 0x1a,
			0xff, 0x5a, 0x38, 0xe5, 0x15, 0x4e, 0xeb, 0xe3, 0xe0, 0xab, 0x74, 0x3b,
			0xea, 0x1e, 0xf0, 0x27, 0x43, 0xeb, 0xd9, 0x5d, 0x57, 0x0f, 0x40, 0xd6,
			0xeb, 0x24, 0x41, 0xd6, 0xd3, 0xf4, 0x91, 0x7d, 0x63, 0x91, 0xa0, 0xc5,
			0xd5, 0xf0, 0x72,
		},
	},
};

static void qt_suite_desc(const struct qt_suite *s, char *desc)
{
	strscpy(desc, s->name, QUIC_TEST_PARAM_DESC_SIZE);
}

QUIC_TEST_ARRAY_PARAM(qt_suite, qt_suites, qt_suite_desc);

static void qt_crypto_free_action(void *c)
{
	quic_crypto_free(c);
}

/* A zeroed level state, freed (keys and transforms) when the case ends */
static struct quic_crypto *qt_crypto_new(struct quic_test *test)
{
	struct quic_crypto *c;

	c = quic_test_kzalloc(test, sizeof(*c), GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, c);
	QUIC_ASSERT_EQ(test, quic_test_add_action(test, qt_crypto_free_action,
						  c), 0);
	return c;
}

/* A kmalloc()ed buffer (packet buffers are mapped with a scatterlist) */
static u8 *qt_buf(struct quic_test *test, const void *data, u32 len, u32 size)
{
	u8 *buf;

	buf = quic_test_kzalloc(test, max(size, 1U), GFP_KERNEL);
	QUIC_ASSERT_NOT_NULL(test, buf);
	if (len)
		memcpy(buf, data, len);
	return buf;
}

static int qt_set_secret(struct quic_crypto *c, u32 type, const u8 *secret,
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

/**
 * struct qt_packet - a packet for qt_protect()
 * @hdr: unprotected header, packet number included
 * @hlen: its length
 * @payload: plaintext payload
 * @plen: its length
 * @pn_offset: offset of the packet number in @hdr
 * @pn: full packet number
 * @expect: the protected packet, or NULL
 * @expect_sha256: SHA-256 of the protected packet, or NULL
 */
struct qt_packet {
	const u8	*hdr;
	u32		hlen;
	const u8	*payload;
	u32		plen;
	u32		pn_offset;
	s64		pn;
	const u8	*expect;
	const u8	*expect_sha256;
};

/*
 * Protect @p with @tx and compare it with the expected packet (or its
 * digest), open it with @rx and compare it back; then check that a forged
 * tag and a packet too short for the header protection sample are refused.
 * @tx must be fresh (no packet sealed yet).
 */
static void qt_protect(struct quic_test *test, struct quic_crypto *tx,
		       struct quic_crypto *rx, const struct qt_packet *p)
{
	u32 len = p->hlen + p->plen + QUIC_TAG_LEN;
	u32 short_len = p->pn_offset + QUIC_PN_MAX_LEN + QUIC_HP_SAMPLE_LEN - 1;
	struct quic_crypto_pktinfo pi = {};
	u8 digest[SHA256_DIGEST_SIZE], *buf;
	u64 failures;

	buf = qt_buf(test, p->hdr, p->hlen, len);
	memcpy(buf + p->hlen, p->payload, p->plen);

	QUIC_ASSERT_EQ(test, quic_crypto_encrypt(tx, buf, len, p->pn_offset,
						 p->pn), 0);
	if (p->expect)
		QUIC_ASSERT_MEMEQ(test, buf, p->expect, len);
	if (p->expect_sha256) {
		sha256(buf, len, digest);
		QUIC_ASSERT_MEMEQ(test, digest, p->expect_sha256,
				  SHA256_DIGEST_SIZE);
	}

	pi.pn_offset = p->pn_offset;
	pi.largest_pn = p->pn - 1;
	QUIC_ASSERT_EQ(test, quic_crypto_decrypt(rx, buf, len, &pi), 0);
	QUIC_EXPECT_EQ(test, pi.pn, p->pn);
	QUIC_EXPECT_EQ(test, pi.hlen, p->hlen);
	QUIC_EXPECT_EQ(test, pi.payload_len, p->plen);
	QUIC_EXPECT_MEMEQ(test, buf, p->hdr, p->hlen);
	QUIC_EXPECT_MEMEQ(test, buf + p->hlen, p->payload, p->plen);

	/* A forged tag is detected and counted; short input is refused. */
	QUIC_ASSERT_EQ(test, quic_crypto_encrypt(tx, buf, len, p->pn_offset,
						 p->pn), 0);
	buf[len - 1] ^= 0x80;
	failures = rx->rx_auth_failures;
	QUIC_EXPECT_EQ(test, quic_crypto_decrypt(rx, buf, len, &pi), -EBADMSG);
	QUIC_EXPECT_EQ(test, rx->rx_auth_failures, failures + 1);
	QUIC_EXPECT_TRUE(test, !quic_crypto_integrity_limit_reached(rx));
	QUIC_EXPECT_EQ(test, tx->tx_packets, 2);
	QUIC_EXPECT_TRUE(test, !quic_crypto_key_update_due(tx));
	QUIC_EXPECT_EQ(test, quic_crypto_decrypt(rx, buf, short_len, &pi),
		       -EINVAL);
	QUIC_EXPECT_EQ(test, quic_crypto_encrypt(tx, buf, short_len,
						 p->pn_offset, p->pn), -EINVAL);
}

/* Client and server Initial keys of @v, installed from the client's DCID */
static void qt_initial_pair(struct quic_test *test, const struct qt_version *v,
			    struct quic_crypto **client,
			    struct quic_crypto **server)
{
	*client = qt_crypto_new(test);
	*server = qt_crypto_new(test);
	QUIC_ASSERT_EQ(test, quic_crypto_initial_keys_install(*client, qt_dcid,
							      sizeof(qt_dcid),
							      v->version,
							      false), 0);
	QUIC_ASSERT_EQ(test, quic_crypto_initial_keys_install(*server, qt_dcid,
							      sizeof(qt_dcid),
							      v->version,
							      true), 0);
}

/* The client Initial of A.2: the CRYPTO frame padded to 1162 bytes */
static u8 *qt_client_payload(struct quic_test *test)
{
	return qt_buf(test, qt_client_crypto, sizeof(qt_client_crypto),
		      QT_CLIENT_PAYLOAD_LEN);
}

/* Key and header protection key derived from an Initial secret (A.1) */
static void qt_expect_keys(struct quic_test *test, struct crypto_shash *hmac,
			   const u8 *secret, u32 version, const u8 *key_exp,
			   const u8 *hp_exp)
{
	bool v2 = version == QUIC_VERSION_V2;
	u8 key[16], hp[16];

	QUIC_ASSERT_EQ(test, quic_crypto_hkdf_expand_label(hmac, secret, 32,
							   v2 ? "quicv2 key" :
							   "quic key", key,
							   sizeof(key)), 0);
	QUIC_ASSERT_EQ(test, quic_crypto_hkdf_expand_label(hmac, secret, 32,
							   v2 ? "quicv2 hp" :
							   "quic hp", hp,
							   sizeof(hp)), 0);
	QUIC_EXPECT_MEMEQ(test, key, key_exp, sizeof(key));
	QUIC_EXPECT_MEMEQ(test, hp, hp_exp, sizeof(hp));
}

/* A.1: Initial secrets, keys, IVs and header protection keys */
static void initial_keys(struct quic_test *test)
{
	const struct qt_version *v = test->param_value;
	struct quic_crypto *c, *s;

	qt_initial_pair(test, v, &c, &s);
	QUIC_EXPECT_MEMEQ(test, c->tx.secret, v->client_secret, 32);
	QUIC_EXPECT_MEMEQ(test, c->tx.iv, v->client_iv, QUIC_IV_LEN);
	QUIC_EXPECT_MEMEQ(test, c->rx.secret, v->server_secret, 32);
	QUIC_EXPECT_MEMEQ(test, c->rx.iv, v->server_iv, QUIC_IV_LEN);
	QUIC_EXPECT_MEMEQ(test, s->rx.secret, v->client_secret, 32);
	QUIC_EXPECT_MEMEQ(test, s->tx.secret, v->server_secret, 32);
	qt_expect_keys(test, c->hmac, c->tx.secret, v->version, v->client_key,
		       v->client_hp);
	qt_expect_keys(test, c->hmac, c->rx.secret, v->version, v->server_key,
		       v->server_hp);
}

/* A.2: the 1200-byte client Initial, packet number 2 */
static void client_initial(struct quic_test *test)
{
	const struct qt_version *v = test->param_value;
	u8 digest[SHA256_DIGEST_SIZE];
	struct qt_packet p = {
		.hdr = v->client_hdr,
		.hlen = sizeof(v->client_hdr),
		.plen = QT_CLIENT_PAYLOAD_LEN,
		.pn_offset = 18,
		.pn = 2,
		.expect_sha256 = digest,
	};
	struct quic_crypto *c, *s;

	memcpy(digest, v->client_sha256, sizeof(digest));
	if (corrupt && v->version == QUIC_VERSION_V1) {
		quic_test_info(test, "corrupt=1: breaking the expected digest");
		digest[7] ^= 0x01;
	}
	qt_initial_pair(test, v, &c, &s);
	p.payload = qt_client_payload(test);
	qt_protect(test, c, s, &p);
}

/*
 * A client Initial opened as a listener does before any socket exists:
 * one context, first keyed for another DCID, then rekeyed for the
 * packet's.
 */
static void initial_open(struct quic_test *test)
{
	const struct qt_version *v = test->param_value;
	u32 hlen = sizeof(v->client_hdr);
	u32 len = hlen + QT_CLIENT_PAYLOAD_LEN + QUIC_TAG_LEN;
	static const u8 other[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct quic_crypto *c, *s, *o = qt_crypto_new(test);
	struct quic_crypto_pktinfo pi = {};
	u8 *payload, *buf, *copy;

	qt_initial_pair(test, v, &c, &s);
	payload = qt_client_payload(test);
	buf = qt_buf(test, v->client_hdr, hlen, len);
	memcpy(buf + hlen, payload, QT_CLIENT_PAYLOAD_LEN);
	QUIC_ASSERT_EQ(test, quic_crypto_encrypt(c, buf, len, 18, 2), 0);
	copy = qt_buf(test, buf, len, len);

	pi.pn_offset = 18;
	QUIC_EXPECT_EQ(test, quic_crypto_initial_open(o, other, sizeof(other),
						      v->version, copy, len,
						      &pi), -EBADMSG);
	memcpy(copy, buf, len);
	pi.pn_offset = 18;
	QUIC_ASSERT_EQ(test, quic_crypto_initial_open(o, qt_dcid,
						      sizeof(qt_dcid),
						      v->version, buf, len,
						      &pi), 0);
	QUIC_EXPECT_EQ(test, pi.pn, 2);
	QUIC_EXPECT_EQ(test, pi.hlen, hlen);
	QUIC_EXPECT_EQ(test, pi.payload_len, QT_CLIENT_PAYLOAD_LEN);
	QUIC_EXPECT_MEMEQ(test, buf, v->client_hdr, hlen);
	QUIC_EXPECT_MEMEQ(test, buf + hlen, payload, QT_CLIENT_PAYLOAD_LEN);

	copy[len - 20] ^= 0x10;
	pi.pn_offset = 18;
	QUIC_EXPECT_EQ(test, quic_crypto_initial_open(o, qt_dcid,
						      sizeof(qt_dcid),
						      v->version, copy, len,
						      &pi), -EBADMSG);
	pi.pn_offset = 18;
	QUIC_EXPECT_EQ(test, quic_crypto_initial_open(o, qt_dcid,
						      sizeof(qt_dcid),
						      v->version, copy,
						      18 + 19, &pi), -EINVAL);
}

/* A.4: the Retry integrity tag, and what must not verify */
static void retry_tag(struct quic_test *test)
{
	const struct qt_version *v = test->param_value;
	u32 len = sizeof(v->retry);
	u8 *retry = qt_buf(test, v->retry, len, len);
	u8 tag[QUIC_RETRY_TAG_LEN];

	QUIC_ASSERT_EQ(test, quic_crypto_retry_tag(v->version, qt_dcid,
						   sizeof(qt_dcid), retry,
						   len - QUIC_RETRY_TAG_LEN, tag), 0);
	QUIC_EXPECT_MEMEQ(test, tag, retry + len - QUIC_RETRY_TAG_LEN,
			  QUIC_RETRY_TAG_LEN);
	QUIC_EXPECT_EQ(test, quic_crypto_retry_verify(v->version, qt_dcid,
						      sizeof(qt_dcid), retry,
						      len), 0);
	/* another original DCID, another version, a flipped bit */
	QUIC_EXPECT_EQ(test, quic_crypto_retry_verify(v->version, qt_dcid,
						      sizeof(qt_dcid) - 1, retry,
						      len), -EBADMSG);
	QUIC_EXPECT_EQ(test, quic_crypto_retry_verify(v->version ==
						      QUIC_VERSION_V1 ?
						      QUIC_VERSION_V2 :
						      QUIC_VERSION_V1, qt_dcid,
						      sizeof(qt_dcid), retry,
						      len), -EBADMSG);
	retry[len - 1] ^= 1;
	QUIC_EXPECT_EQ(test, quic_crypto_retry_verify(v->version, qt_dcid,
						      sizeof(qt_dcid), retry,
						      len), -EBADMSG);
	QUIC_EXPECT_EQ(test, quic_crypto_retry_verify(v->version, qt_dcid,
						      sizeof(qt_dcid), retry,
						      QUIC_RETRY_TAG_LEN - 1),
		       -EINVAL);
}

/* A.3: the server Initial, packet number 1 */
static void server_initial(struct quic_test *test)
{
	const struct qt_version *v = test->param_value;
	struct qt_packet p = {
		.hdr = v->server_hdr,
		.hlen = sizeof(v->server_hdr),
		.plen = sizeof(qt_server_payload),
		.pn_offset = 18,
		.pn = 1,
		.expect = v->server_packet,
	};
	struct quic_crypto *c, *s;

	BUILD_BUG_ON(sizeof(v->server_packet) != sizeof(v->server_hdr) +
		     sizeof(qt_server_payload) + QUIC_TAG_LEN);
	qt_initial_pair(test, v, &c, &s);
	p.payload = qt_buf(test, qt_server_payload, sizeof(qt_server_payload),
			   sizeof(qt_server_payload));
	qt_protect(test, s, c, &p);
}

/* A.5: a ChaCha20-Poly1305 short header packet, and "quic ku" */
static void chacha20_short_header(struct quic_test *test)
{
	const struct qt_version *v = test->param_value;
	struct qt_packet p = {
		.hdr = qt_chacha_hdr,
		.hlen = sizeof(qt_chacha_hdr),
		.payload = qt_ping,
		.plen = sizeof(qt_ping),
		.pn_offset = 1,
		.pn = 654360564,
		.expect = v->chacha_packet,
	};
	struct quic_crypto *c, *s;

	c = qt_crypto_new(test);
	s = qt_crypto_new(test);
	QUIC_ASSERT_EQ(test, qt_set_secret(c, TLS_CIPHER_CHACHA20_POLY1305,
					   qt_chacha_secret,
					   sizeof(qt_chacha_secret), true,
					   v->version), 0);
	QUIC_ASSERT_EQ(test, qt_set_secret(s, TLS_CIPHER_CHACHA20_POLY1305,
					   qt_chacha_secret,
					   sizeof(qt_chacha_secret), false,
					   v->version), 0);
	QUIC_EXPECT_MEMEQ(test, c->tx_next.secret, v->ku, 32);
	QUIC_EXPECT_MEMEQ(test, s->rx_next.secret, v->ku, 32);
	qt_protect(test, c, s, &p);
}

/* Every cipher suite on a 1-RTT packet */
static void cipher_suites(struct quic_test *test)
{
	static const u8 hdr[] = {
		0x41, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0x00,
		0x07,
	};
	const struct qt_suite *suite = test->param_value;
	struct qt_packet p = {
		.hdr = hdr,
		.hlen = sizeof(hdr),
		.plen = 24,
		.pn_offset = 9,
		.pn = 7,
		.expect = suite->packet,
	};
	struct quic_crypto *c, *s;
	u8 secret[48], payload[24];
	int i;

	BUILD_BUG_ON(sizeof(suite->packet) != sizeof(hdr) + sizeof(payload) +
		     QUIC_TAG_LEN);
	memset(secret, 0x11, sizeof(secret));
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = i;
	p.payload = payload;
	c = qt_crypto_new(test);
	s = qt_crypto_new(test);
	QUIC_ASSERT_EQ(test, qt_set_secret(c, suite->type, secret,
					   sizeof(secret), true,
					   QUIC_VERSION_V1), 0);
	QUIC_ASSERT_EQ(test, qt_set_secret(s, suite->type, secret,
					   sizeof(secret), false,
					   QUIC_VERSION_V1), 0);
	/* which implementation runs: fast_aead=0 must never show SIMD */
	quic_test_info(test, "%s: %s%s", suite->name,
		       crypto_tfm_alg_driver_name(crypto_aead_tfm(c->tx.aead)),
		       c->tx.fast ? " + SIMD" : "");
	qt_protect(test, c, s, &p);
}

#define QT_KU_LEN	(1 + 8 + 2 + 24 + QUIC_TAG_LEN)

/*
 * Seal one short header packet from @a (packet number @pn) into @buf and,
 * with @deliver, open it at @b and check whether it started a key update.
 */
static void qt_ku_send(struct quic_test *test, struct quic_crypto *a,
		       struct quic_crypto *b, u8 *buf, s64 pn,
		       bool expect_update, bool deliver)
{
	struct quic_crypto_pktinfo pi = {};
	int i;

	buf[0] = 0x41;		/* short header, 2-byte packet number */
	memset(buf + 1, 0xab, 8);
	buf[9] = pn >> 8;
	buf[10] = pn;
	for (i = 0; i < 24; i++)
		buf[11 + i] = i + pn;
	QUIC_ASSERT_EQ(test, quic_crypto_encrypt(a, buf, QT_KU_LEN, 9, pn), 0);
	if (!deliver)
		return;
	pi.pn_offset = 9;
	pi.largest_pn = pn - 1;
	QUIC_ASSERT_EQ(test, quic_crypto_decrypt(b, buf, QT_KU_LEN, &pi), 0);
	QUIC_EXPECT_EQ(test, pi.pn, pn);
	QUIC_EXPECT_EQ(test, pi.payload_len, 24);
	QUIC_EXPECT_EQ(test, buf[11], (u8)pn);
	QUIC_ASSERT_EQ(test, pi.key_update, expect_update);
	if (!pi.key_update)
		return;
	QUIC_EXPECT_TRUE(test, quic_crypto_key_update_needs_prepare(b));
	QUIC_ASSERT_EQ(test, quic_crypto_key_update_prepare(b), 0);
	QUIC_EXPECT_TRUE(test, !quic_crypto_key_update_needs_prepare(b));
}

/* A live key update between two endpoints, started by each in turn */
static void live_key_update(struct quic_test *test)
{
	const struct qt_suite *suite = test->param_value;
	struct quic_crypto_pktinfo pi = {};
	struct quic_crypto *a, *b;
	u8 s1[48], s2[48], *buf, *old;

	memset(s1, 0x11, sizeof(s1));
	memset(s2, 0x22, sizeof(s2));
	a = qt_crypto_new(test);
	b = qt_crypto_new(test);
	buf = qt_buf(test, NULL, 0, QT_KU_LEN);
	old = qt_buf(test, NULL, 0, QT_KU_LEN);
	QUIC_ASSERT_EQ(test, qt_set_secret(a, suite->type, s1, 48, true,
					   QUIC_VERSION_V1), 0);
	QUIC_ASSERT_EQ(test, qt_set_secret(a, suite->type, s2, 48, false,
					   QUIC_VERSION_V1), 0);
	QUIC_ASSERT_EQ(test, qt_set_secret(b, suite->type, s2, 48, true,
					   QUIC_VERSION_V1), 0);
	QUIC_ASSERT_EQ(test, qt_set_secret(b, suite->type, s1, 48, false,
					   QUIC_VERSION_V1), 0);

	qt_ku_send(test, a, b, buf, 0, false, true);
	qt_ku_send(test, b, a, buf, 0, false, true);
	/* a packet of the old phase, delivered after the update */
	qt_ku_send(test, a, b, old, 1, false, false);

	QUIC_ASSERT_EQ(test, quic_crypto_key_update(a), 0);
	QUIC_EXPECT_EQ(test, quic_crypto_key_update(a), -EAGAIN);
	QUIC_EXPECT_EQ(test, quic_crypto_key_phase(a), 1);

	qt_ku_send(test, a, b, buf, 2, true, true);	/* b follows */
	QUIC_EXPECT_EQ(test, quic_crypto_key_phase(b), 1);
	pi.pn_offset = 9;
	pi.largest_pn = 2;
	QUIC_EXPECT_EQ(test, quic_crypto_decrypt(b, old, QT_KU_LEN, &pi), 0);
	QUIC_EXPECT_EQ(test, pi.pn, 1);
	QUIC_EXPECT_TRUE(test, !pi.key_update);
	qt_ku_send(test, b, a, buf, 1, false, true);	/* confirms */
	QUIC_EXPECT_TRUE(test, !a->key_pending);

	/* The other side starts the next one. */
	QUIC_ASSERT_EQ(test, quic_crypto_key_update(b), 0);
	qt_ku_send(test, b, a, buf, 2, true, true);
	qt_ku_send(test, a, b, buf, 3, false, true);
	QUIC_EXPECT_EQ(test, quic_crypto_key_phase(a), 0);
	QUIC_EXPECT_EQ(test, quic_crypto_key_phase(b), 0);
	QUIC_EXPECT_MEMEQ(test, a->tx.secret, b->rx.secret, 48);
	QUIC_EXPECT_MEMEQ(test, a->rx.secret, b->tx.secret, 48);
}

static void qt_shash_free_action(void *hmac)
{
	crypto_free_shash(hmac);
}

/* RFC 5869 A.1: HKDF-SHA256 with a two-block expand */
static void hkdf_rfc5869(struct quic_test *test)
{
	static const u8 prk_exp[] = {
		0x07, 0x77, 0x09, 0x36, 0x2c, 0x2e, 0x32, 0xdf, 0x0d, 0xdc,
		0x3f, 0x0d, 0xc4, 0x7b, 0xba, 0x63, 0x90, 0xb6, 0xc7, 0x3b,
		0xb5, 0x0f, 0x9c, 0x31, 0x22, 0xec, 0x84, 0x4a, 0xd7, 0xc2,
		0xb3, 0xe5,
	};
	static const u8 okm_exp[] = {
		0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43,
		0x4f, 0x64, 0xd0, 0x36, 0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90,
		0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56, 0xec, 0xc4,
		0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18,
		0x58, 0x65,
	};
	u8 ikm[22], salt[13], info[10], prk[32], okm[42];
	struct crypto_shash *hmac;
	int i;

	hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	QUIC_ASSERT_TRUE(test, !IS_ERR(hmac));
	QUIC_ASSERT_EQ(test, quic_test_add_action(test, qt_shash_free_action,
						  hmac), 0);
	memset(ikm, 0x0b, sizeof(ikm));
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = i;
	for (i = 0; i < sizeof(info); i++)
		info[i] = 0xf0 + i;
	QUIC_ASSERT_EQ(test, quic_crypto_hkdf_extract(hmac, salt, sizeof(salt),
						      ikm, sizeof(ikm), prk), 0);
	QUIC_EXPECT_MEMEQ(test, prk, prk_exp, sizeof(prk));
	QUIC_ASSERT_EQ(test, quic_crypto_hkdf_expand(hmac, prk, sizeof(prk),
						     info, sizeof(info), okm,
						     sizeof(okm)), 0);
	QUIC_EXPECT_MEMEQ(test, okm, okm_exp, sizeof(okm));
	QUIC_EXPECT_EQ(test, quic_crypto_hkdf_expand(hmac, prk, sizeof(prk),
						     info, sizeof(info), okm,
						     255 * 32 + 1), -EINVAL);
}

/* RFC 9000 A.3 and the edges of packet number reconstruction */
static void packet_number_decode(struct quic_test *test)
{
	QUIC_EXPECT_EQ(test, quic_crypto_decode_pn(0xa82f30ea, 0x9b32, 2),
		       0xa82f9b32);
	QUIC_EXPECT_EQ(test, quic_crypto_decode_pn(-1, 0, 1), 0);
	QUIC_EXPECT_EQ(test, quic_crypto_decode_pn(0xff, 0x00, 1), 0x100);
}

/* Unknown cipher suites and versions are refused */
static void bad_secrets(struct quic_test *test)
{
	struct quic_crypto *c = qt_crypto_new(test);
	u8 secret[32] = {};

	QUIC_EXPECT_EQ(test, qt_set_secret(c, 55, secret, 32, true,
					   QUIC_VERSION_V1), -EINVAL);
	QUIC_EXPECT_EQ(test, qt_set_secret(c, 0, secret, 32, true,
					   QUIC_VERSION_V1), -EINVAL);
	QUIC_EXPECT_EQ(test, qt_set_secret(c, TLS_CIPHER_AES_GCM_128, secret,
					   32, true, 7), -EINVAL);
	QUIC_EXPECT_EQ(test, quic_crypto_initial_keys_install(c, qt_dcid,
							      sizeof(qt_dcid),
							      7, false),
		       -EINVAL);
}

/*
 * Random packets of every small length, each in an exactly sized
 * allocation so that KFENCE and slab checks catch a read past the end.
 */
static void packet_fuzz(struct quic_test *test)
{
	struct quic_crypto *c = qt_crypto_new(test), *o = qt_crypto_new(test);
	struct quic_crypto_pktinfo pi;
	u8 secret[32] = {}, *buf;
	int i, len, err;

	QUIC_ASSERT_EQ(test, qt_set_secret(c, TLS_CIPHER_CHACHA20_POLY1305,
					   secret, 32, false, QUIC_VERSION_V1),
		       0);
	for (i = 0; i < 600; i++) {
		len = i % 60;
		buf = kmalloc(len ?: 1, GFP_KERNEL);
		QUIC_ASSERT_NOT_NULL(test, buf);
		get_random_bytes(buf, len);
		memset(&pi, 0, sizeof(pi));
		pi.pn_offset = (i / 60) % 12;
		pi.largest_pn = -1;
		err = quic_crypto_decrypt(c, buf, len, &pi);
		QUIC_EXPECT_TRUE_MSG(test, err == -EINVAL || err == -EBADMSG ||
				     err == -EKEYREJECTED, "%d bytes: %d", len,
				     err);
		if (len)
			buf[0] |= 0x80;
		memset(&pi, 0, sizeof(pi));
		pi.pn_offset = (i / 60) % 12;
		pi.largest_pn = -1;
		err = quic_crypto_initial_open(o, secret, 8, QUIC_VERSION_V1,
					       buf, len, &pi);
		kfree(buf);
		QUIC_EXPECT_TRUE_MSG(test, err == -EINVAL || err == -EBADMSG,
				     "Initial of %d bytes: %d", len, err);
	}
}

/* bench=1: rough throughput of 1200-byte packets, per cipher suite */
static void bench_cipher_suites(struct quic_test *test)
{
	u32 len = 1 + 8 + 2 + 1200 + QUIC_TAG_LEN;
	struct quic_crypto_pktinfo pi = {};
	u64 enc_ns, dec_ns, bytes;
	struct quic_crypto *c, *s;
	int i, j, n = 2000;
	u8 secret[48] = {};
	ktime_t t0;
	u8 *buf;

	if (!bench)
		quic_test_skip(test, "bench=0");
	buf = qt_buf(test, NULL, 0, len);
	for (j = 0; j < ARRAY_SIZE(qt_suites); j++) {
		c = qt_crypto_new(test);
		s = qt_crypto_new(test);
		QUIC_ASSERT_EQ(test, qt_set_secret(c, qt_suites[j].type, secret,
						   48, true, QUIC_VERSION_V1),
			       0);
		QUIC_ASSERT_EQ(test, qt_set_secret(s, qt_suites[j].type, secret,
						   48, false, QUIC_VERSION_V1),
			       0);
		t0 = ktime_get();
		for (i = 0; i < n; i++) {
			buf[0] = 0x41;	/* the header is protected in place */
			QUIC_ASSERT_EQ(test, quic_crypto_encrypt(c, buf, len, 9,
								 i), 0);
		}
		enc_ns = ktime_to_ns(ktime_sub(ktime_get(), t0)) ?: 1;
		dec_ns = 1;
		for (i = 0; i < n; i++) {
			buf[0] = 0x41;
			buf[9] = i >> 8;
			buf[10] = i;
			QUIC_ASSERT_EQ(test, quic_crypto_encrypt(c, buf, len, 9,
								 i), 0);
			pi.pn_offset = 9;
			pi.largest_pn = i - 1;
			t0 = ktime_get();
			QUIC_ASSERT_EQ(test, quic_crypto_decrypt(s, buf, len,
								 &pi), 0);
			dec_ns += ktime_to_ns(ktime_sub(ktime_get(), t0));
		}
		bytes = (u64)n * 1200 * 1000;
		quic_test_info(test, "%s (%s%s): seal %llu MB/s, open %llu MB/s",
			       qt_suites[j].name,
			       crypto_tfm_alg_driver_name(crypto_aead_tfm(c->tx.aead)),
			       c->tx.fast ? " + SIMD" : "",
			       div64_u64(bytes, enc_ns),
			       div64_u64(bytes, dec_ns));
	}
}

static struct quic_test_case quic_crypto_test_cases[] = {
	QUIC_TEST_CASE_PARAM(initial_keys, qt_version_gen_params),
	QUIC_TEST_CASE_PARAM(client_initial, qt_version_gen_params),
	QUIC_TEST_CASE_PARAM(initial_open, qt_version_gen_params),
	QUIC_TEST_CASE_PARAM(retry_tag, qt_version_gen_params),
	QUIC_TEST_CASE_PARAM(server_initial, qt_version_gen_params),
	QUIC_TEST_CASE_PARAM(chacha20_short_header, qt_version_gen_params),
	QUIC_TEST_CASE_PARAM(cipher_suites, qt_suite_gen_params),
	QUIC_TEST_CASE_PARAM(live_key_update, qt_suite_gen_params),
	QUIC_TEST_CASE(hkdf_rfc5869),
	QUIC_TEST_CASE(packet_number_decode),
	QUIC_TEST_CASE(bad_secrets),
	QUIC_TEST_CASE(packet_fuzz),
	QUIC_TEST_CASE(bench_cipher_suites),
	{}
};

struct quic_test_suite quic_crypto_test_suite = {
	.name = "quic_crypto",
	.test_cases = quic_crypto_test_cases,
};
