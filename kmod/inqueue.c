// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: the receive side.
 *
 * CRYPTO frames are reassembled per encryption level; in-order Initial and
 * Handshake data is queued for recvmsg() as one message per chunk, tagged
 * with its level.  APP-level CRYPTO data (a NewSessionTicket) is collected
 * in a ticket buffer instead.  Events are queued the same way, flagged.
 */

#include <linux/slab.h>
#include <net/sock.h>

#include "protocol.h"
#include "socket.h"
#include "connection.h"

struct quic_crypto_frag {
	struct list_head list;
	u64 off;
	u32 len;
	u8 data[];
};

void quic_inq_init(struct quic_crypto_in *in)
{
	in->off = 0;
	in->frag_bytes = 0;
	INIT_LIST_HEAD(&in->frags);
}

void quic_inq_free(struct quic_crypto_in *in)
{
	struct quic_crypto_frag *f, *tmp;

	list_for_each_entry_safe(f, tmp, &in->frags, list) {
		list_del(&f->list);
		kfree(f);
	}
	in->frag_bytes = 0;
}

static int quic_inq_queue(struct sock *sk, struct sk_buff *skb)
{
	skb_set_owner_r(skb, sk);
	__skb_queue_tail(&sk->sk_receive_queue, skb);
	sk->sk_data_ready(sk);
	return 0;
}

/* In-order data at @level: hand it to the user (or the ticket buffer). */
static int quic_inq_deliver(struct sock *sk, u8 level, const u8 *data, u32 len)
{
	struct quic_sock *qs = quic_sk(sk);
	struct sk_buff *skb;
	u32 n;

	if (!len)
		return 0;
	if (level == QUIC_CRYPTO_APP) {
		if (quic_is_serv(sk))	/* only servers send tickets */
			return 0;
		if (!qs->ticket) {
			qs->ticket = kmalloc(QUIC_TICKET_MAX_LEN, GFP_ATOMIC);
			if (!qs->ticket)
				return -ENOMEM;
		}
		n = min_t(u32, len, QUIC_TICKET_MAX_LEN - qs->ticket_len);
		memcpy(qs->ticket + qs->ticket_len, data, n);
		qs->ticket_len += n;
		quic_inq_event(sk, QUIC_EVENT_NEW_SESSION_TICKET, qs->ticket,
			       qs->ticket_len);
		return 0;
	}
	if (atomic_read(&sk->sk_rmem_alloc) + len > READ_ONCE(sk->sk_rcvbuf))
		return -ENOBUFS;
	skb = alloc_skb(len, GFP_ATOMIC);
	if (!skb)
		return -ENOMEM;
	skb_put_data(skb, data, len);
	memset(skb->cb, 0, sizeof(struct quic_rcv_cb));
	QUIC_RCV_CB(skb)->level = level;
	return quic_inq_queue(sk, skb);
}

/**
 * quic_inq_crypto_rcv - a CRYPTO frame arrived
 * @sk: the connection (locked)
 * @level: its encryption level
 * @off: stream offset (off + len checked <= 2^62 - 1 by the caller)
 * @data: the bytes
 * @len: their number
 *
 * Return: 0; -EPROTO after closing the connection for too much buffered
 * data; -ENOMEM/-ENOBUFS to drop the packet (the peer will resend).
 */
int quic_inq_crypto_rcv(struct sock *sk, u8 level, u64 off, const u8 *data,
			u32 len)
{
	struct quic_crypto_in *in = &quic_sk(sk)->cin[quic_level_space(level)];
	struct quic_crypto_frag *f, *tmp, *n;
	u64 end = off + len, skip;
	int err;

	if (end <= in->off)
		return 0;	/* old data */
	if (end - in->off > QUIC_CRYPTO_IN_WINDOW) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_CRYPTO_BUF_EXCEEDED,
				0x06);
		return -EPROTO;
	}
	if (off > in->off) {
		/* out of order: keep a copy, sorted by offset */
		if (in->frag_bytes + len > QUIC_CRYPTO_IN_WINDOW)
			return -ENOBUFS;
		n = kmalloc(struct_size(n, data, len), GFP_ATOMIC);
		if (!n)
			return -ENOMEM;
		n->off = off;
		n->len = len;
		memcpy(n->data, data, len);
		list_for_each_entry(f, &in->frags, list)
			if (f->off > off)
				break;
		list_add_tail(&n->list, &f->list);
		in->frag_bytes += len;
		return 0;
	}
	skip = in->off - off;
	err = quic_inq_deliver(sk, level, data + skip, len - skip);
	if (err)
		return err;
	in->off = end;

	list_for_each_entry_safe(f, tmp, &in->frags, list) {
		if (f->off > in->off)
			break;
		if (f->off + f->len > in->off) {
			skip = in->off - f->off;
			err = quic_inq_deliver(sk, level, f->data + skip,
					       f->len - skip);
			if (err)
				return err;
			in->off = f->off + f->len;
		}
		list_del(&f->list);
		in->frag_bytes -= f->len;
		kfree(f);
	}
	return 0;
}

/**
 * quic_inq_event - queue a notification if the user enabled its type
 * @sk: the socket
 * @type: QUIC_EVENT_*
 * @data: the event's payload
 * @len: its length
 *
 * recvmsg() returns the type byte followed by the payload.
 */
void quic_inq_event(struct sock *sk, u8 type, const void *data, u32 len)
{
	struct sk_buff *skb;

	if (!(quic_sk(sk)->events & BIT(type)))
		return;
	skb = alloc_skb(1 + len, GFP_ATOMIC);
	if (!skb)
		return;
	skb_put_u8(skb, type);
	skb_put_data(skb, data, len);
	memset(skb->cb, 0, sizeof(struct quic_rcv_cb));
	QUIC_RCV_CB(skb)->event = 1;
	quic_inq_queue(sk, skb);
}
