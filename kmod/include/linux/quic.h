/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's own include path has no <linux/quic.h> out of tree; this
 * wrapper makes the UAPI header resolve the way it would in-tree.
 */
#ifndef _LINUX_QUIC_H
#define _LINUX_QUIC_H

#include <uapi/linux/quic.h>

#endif /* _LINUX_QUIC_H */
