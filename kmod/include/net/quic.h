/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: the interface for kernel users (SMB, NFS, ...).
 *
 * A kernel user creates an IPPROTO_QUIC socket with sock_create_kern(),
 * gives it a file (sock_alloc_file(): net/handshake requires one), sets
 * SOL_QUIC options such as QUIC_SOCKOPT_ALPN with these helpers, connects
 * or accepts, and has the TLS handshake done in userspace with
 * tls_client_hello_*() / tls_server_hello_*() from <net/handshake.h>.
 * Stream data then moves with kernel_sendmsg()/kernel_recvmsg() and the
 * QUIC_STREAM_INFO cmsg, as for userspace sockets.
 */
#ifndef __NET_QUIC_H
#define __NET_QUIC_H

#include <linux/quic.h>	/* quic_do_setsockopt(), quic_do_getsockopt() */

#endif /* __NET_QUIC_H */
