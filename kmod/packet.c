// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: packet parsing and building.
 */

#include <linux/skbuff.h>
#include <net/sock.h>

#include "protocol.h"
#include "path.h"
#include "packet.h"

/* Entry point for every datagram received on a QUIC UDP tunnel socket,
 * softirq context, skb->data at the UDP header, checksum verified.
 */
void quic_packet_rcv(struct quic_udp_sock *us, struct sk_buff *skb)
{
	QUIC_INC_STATS(us->net, QUIC_MIB_PKT_RCV);
	QUIC_INC_STATS(us->net, QUIC_MIB_PKT_RCVDROP);
	kfree_skb(skb);
}
