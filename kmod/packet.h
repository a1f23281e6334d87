/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: packet parsing and building.
 */
#ifndef __NET_QUIC_PACKET_H
#define __NET_QUIC_PACKET_H

struct quic_udp_sock;
struct sk_buff;

void quic_packet_rcv(struct quic_udp_sock *us, struct sk_buff *skb);

#endif /* __NET_QUIC_PACKET_H */
