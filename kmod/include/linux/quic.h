/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC for the kernel: the UAPI, and the socket option helpers kernel
 * users call (see <net/quic.h> for how a kernel user drives a socket).
 * They are declared here, where the reference implementation's kernel
 * users include them from, so that those build unchanged.
 */
#ifndef _LINUX_QUIC_H
#define _LINUX_QUIC_H

#include <linux/sockptr.h>
#include <uapi/linux/quic.h>

struct sock;

int quic_do_setsockopt(struct sock *sk, int optname, sockptr_t optval,
		       unsigned int optlen);
int quic_do_getsockopt(struct sock *sk, int optname, sockptr_t optval,
		       sockptr_t optlen);

#endif /* _LINUX_QUIC_H */
