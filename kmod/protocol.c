// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: module init and protocol registration.
 *
 * IPPROTO_QUIC (261) is registered for PF_INET and PF_INET6 with both
 * SOCK_STREAM and SOCK_DGRAM; the socket type does not change the
 * protocol, it is there so either works as existing code expects.
 */

#include <linux/init.h>
#include <linux/module.h>
#include <net/inet_common.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/protocol.h>
#include <net/transp_v6.h>

#include "netns.h"
#include "udp.h"
#include "packet.h"
#include "socket.h"
#include "connid.h"
#include "crypto.h"

/* Every UAPI type, referenced once so that it is described in the
 * module's debug info: a test checks the Python mirror against it.
 */
struct quic_uapi_types {
	struct quic_handshake_info handshake_info;
	struct quic_stream_info stream_info;
	struct quic_errinfo errinfo;
	struct quic_connection_id_info connection_id_info;
	struct quic_event_option event_option;
	struct quic_crypto_secret crypto_secret;
	struct quic_transport_param transport_param;
	struct quic_config config;
	struct quic_stream_update stream_update;
	struct quic_stream_max_data stream_max_data;
	struct quic_connection_close connection_close;
	union quic_event event;
	enum quic_msg_flags msg_flags;
	enum quic_crypto_level crypto_level;
	enum quic_cmsg_type cmsg_type;
	enum quic_cong_algo cong_algo;
	enum quic_event_type event_type;
};

static struct quic_uapi_types quic_uapi_types __used;

static struct inet_protosw quic_protosw[] = {
	{
		.type		= SOCK_STREAM,
		.protocol	= IPPROTO_QUIC,
		.prot		= &quic_prot,
		.ops		= &quic_proto_ops,
	},
	{
		.type		= SOCK_DGRAM,
		.protocol	= IPPROTO_QUIC,
		.prot		= &quic_prot,
		.ops		= &quic_proto_ops,
	},
};

static struct inet_protosw quicv6_protosw[] = {
	{
		.type		= SOCK_STREAM,
		.protocol	= IPPROTO_QUIC,
		.prot		= &quicv6_prot,
		.ops		= &quicv6_proto_ops,
	},
	{
		.type		= SOCK_DGRAM,
		.protocol	= IPPROTO_QUIC,
		.prot		= &quicv6_prot,
		.ops		= &quicv6_proto_ops,
	},
};

/* ---- module --------------------------------------------------------- */

static int __init quic_init(void)
{
	int err, i;

	err = quic_crypto_init();
	if (err)
		return err;
	err = quic_socket_init();
	if (err)
		goto err_crypto;
	err = quic_cid_init();
	if (err)
		goto err_socket;
	err = quic_udp_init(quic_packet_rcv);
	if (err)
		goto err_cid;

	err = proto_register(&quic_prot, 1);
	if (err)
		goto err_path;
	err = proto_register(&quicv6_prot, 1);
	if (err)
		goto err_prot;

	err = register_pernet_subsys(&quic_net_ops);
	if (err)
		goto err_prot6;

	for (i = 0; i < ARRAY_SIZE(quic_protosw); i++)
		inet_register_protosw(&quic_protosw[i]);
	for (i = 0; i < ARRAY_SIZE(quicv6_protosw); i++) {
		err = inet6_register_protosw(&quicv6_protosw[i]);
		if (err)
			goto err_protosw;
	}

	pr_info("quic: IPPROTO_QUIC (%d) registered for PF_INET and PF_INET6\n",
		IPPROTO_QUIC);
	return 0;

err_protosw:
	while (--i >= 0)
		inet6_unregister_protosw(&quicv6_protosw[i]);
	for (i = 0; i < ARRAY_SIZE(quic_protosw); i++)
		inet_unregister_protosw(&quic_protosw[i]);
	unregister_pernet_subsys(&quic_net_ops);
err_prot6:
	proto_unregister(&quicv6_prot);
err_prot:
	proto_unregister(&quic_prot);
err_path:
	quic_udp_exit();
err_cid:
	quic_cid_exit();
err_socket:
	quic_socket_exit();
err_crypto:
	quic_crypto_exit();
	return err;
}

static void __exit quic_exit(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(quicv6_protosw); i++)
		inet6_unregister_protosw(&quicv6_protosw[i]);
	for (i = 0; i < ARRAY_SIZE(quic_protosw); i++)
		inet_unregister_protosw(&quic_protosw[i]);
	unregister_pernet_subsys(&quic_net_ops);
	proto_unregister(&quicv6_prot);
	proto_unregister(&quic_prot);
	quic_udp_exit();
	quic_cid_exit();
	quic_socket_exit();
	quic_crypto_exit();
	pr_info("quic: unloaded\n");
}

module_init(quic_init);
module_exit(quic_exit);

/* socket(PF_INET{,6}, SOCK_STREAM/SOCK_DGRAM, IPPROTO_QUIC) loads us. */
MODULE_ALIAS("net-pf-2-proto-261");
MODULE_ALIAS("net-pf-10-proto-261");
MODULE_ALIAS("net-pf-2-proto-261-type-1");
MODULE_ALIAS("net-pf-2-proto-261-type-2");
MODULE_ALIAS("net-pf-10-proto-261-type-1");
MODULE_ALIAS("net-pf-10-proto-261-type-2");
MODULE_DESCRIPTION("QUIC protocol (RFC 9000) with a userspace TLS handshake");
MODULE_LICENSE("GPL");
