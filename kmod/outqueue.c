// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: the send side.
 *
 * quic_outq_flush() fills datagrams with what each packet number space
 * owes the peer: ACKs, control frames and CRYPTO data, coalescing
 * Initial, Handshake and 1-RTT packets into one datagram.  A record of
 * every ack-eliciting packet is kept until it is acknowledged or declared
 * lost (RFC 9002 section 6), and lost CRYPTO data is sent again.
 */

#include <linux/slab.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "protocol.h"
#include "socket.h"
#include "packet.h"
#include "frame.h"
#include "connection.h"

int quic_outq_crypto_append(struct sock *sk, u8 space, const void *data,
			    u32 len, struct iov_iter *from)
{
	struct quic_crypto_out *o = &quic_sk(sk)->cout[space];
	u32 need = o->len + len, size;
	u8 *buf;

	if (need > QUIC_CRYPTO_OUT_MAX)
		return -EMSGSIZE;
	if (need > o->size) {
		size = max_t(u32, roundup_pow_of_two(need), 1024);
		buf = krealloc(o->buf, size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		o->buf = buf;
		o->size = size;
	}
	if (from) {
		if (!copy_from_iter_full(o->buf + o->len, len, from))
			return -EFAULT;
	} else {
		memcpy(o->buf + o->len, data, len);
	}
	o->len += len;
	return 0;
}

static bool quic_outq_amp_limited(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);

	if (!quic_is_serv(sk) || qs->addr_validated)
		return false;
	return qs->tx_bytes + QUIC_MAX_DGRAM > 3 * qs->rx_bytes;
}

static bool quic_outq_space_wants(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = &qs->space[space];

	if (s->discarded || !qs->crypto[quic_space_level(space)].tx_ready)
		return false;
	if (s->ack_pending && s->ack_immediate)
		return true;
	if (qs->cout[space].sent < qs->cout[space].len && !qs->corked)
		return true;
	if (qs->probe_mask & BIT(space))
		return true;
	if (space == QUIC_PN_APP &&
	    (qs->hs_done_pending || qs->new_cid_pending ||
	     qs->path_response_pending))
		return true;
	return false;
}

static u8 *quic_put_ack(struct quic_pnspace *s, u8 *p, u32 room, u64 now,
			u8 exponent)
{
	u64 delay = now > s->largest_recv_time ? now - s->largest_recv_time : 0;
	u8 *start = p, *count;
	s64 smallest;
	int i;

	if (room < 32 || !s->nr_ranges)
		return p;
	p = quic_put_varint(p, QUIC_FRAME_ACK);
	p = quic_put_varint(p, s->ranges[0].end);
	p = quic_put_varint(p, delay >> exponent);
	count = p;
	p = quic_put_varint(p, 0);	/* range count, patched below */
	p = quic_put_varint(p, s->ranges[0].end - s->ranges[0].start);
	smallest = s->ranges[0].start;
	for (i = 1; i < s->nr_ranges && i < 64; i++) {
		if ((u32)(p - start) + 16 > room)
			break;
		p = quic_put_varint(p, smallest - s->ranges[i].end - 2);
		p = quic_put_varint(p, s->ranges[i].end - s->ranges[i].start);
		smallest = s->ranges[i].start;
	}
	*count = i - 1;		/* < 64: a one-byte varint */
	return p;
}

static void quic_sent_add_frame(struct quic_sent_pkt *sp, u8 type, u64 off,
				u32 len)
{
	if (sp->nr_frames >= QUIC_SENT_FRAMES_MAX)
		return;
	sp->frames[sp->nr_frames].type = type;
	sp->frames[sp->nr_frames].offset = off;
	sp->frames[sp->nr_frames].len = len;
	sp->nr_frames++;
}

/* Write one packet of @space into @dg.  Return true if it was useful. */
static bool quic_outq_build(struct sock *sk, struct quic_dgram *dg, u8 space,
			    u64 now)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = &qs->space[space];
	struct quic_crypto_out *o = &qs->cout[space];
	struct sk_buff *skb = dg->skb;
	struct quic_sent_pkt *sp;
	u32 room, n, hdr, start;
	bool eliciting = false;
	u8 *p, *base;
	int i;

	if (quic_pkt_begin(sk, dg, quic_space_level(space), s->next_pn))
		return false;
	sp = kzalloc(sizeof(*sp), GFP_ATOMIC);
	if (!sp)
		goto undo;
	start = skb->len;
	base = skb_tail_pointer(skb);
	p = base;

	if (s->ack_pending) {
		room = quic_dgram_room(dg);
		p = quic_put_ack(s, p, room, now,
				 space == QUIC_PN_APP ?
				 qs->local_tp.ack_delay_exponent : 0);
		if (p != base) {
			s->ack_pending = 0;
			s->ack_immediate = 0;
			s->ack_eliciting_rcvd = 0;
			if (space == QUIC_PN_APP)
				quic_timer_stop(sk, QUIC_TIMER_ACK);
		}
	}
	if (space == QUIC_PN_APP) {
		if (qs->hs_done_pending) {
			*p++ = QUIC_FRAME_HANDSHAKE_DONE;
			qs->hs_done_pending = 0;
			quic_sent_add_frame(sp, QUIC_FRAME_HANDSHAKE_DONE, 0, 0);
			eliciting = true;
		}
		if (qs->path_response_pending) {
			*p++ = QUIC_FRAME_PATH_RESPONSE;
			p = quic_put_data(p, qs->path_response, 8);
			qs->path_response_pending = 0;
			eliciting = true;
		}
		for (i = 0; i < QUIC_SCID_MAX && qs->new_cid_pending; i++) {
			struct quic_cid_entry *e = qs->scids[i];
			u8 token[QUIC_RESET_TOKEN_LEN] = {};

			if (!(qs->new_cid_pending & BIT(i)))
				continue;
			skb_put(skb, p - base);
			base = p;
			if (quic_dgram_room(dg) < 48)
				break;
			qs->new_cid_pending &= ~BIT(i);
			if (!e)
				continue;
			if (qs->token_ctx.hmac)
				quic_stateless_reset_token(&qs->token_ctx,
							   e->cid.data,
							   e->cid.len, token);
			*p++ = QUIC_FRAME_NEW_CONNECTION_ID;
			p = quic_put_varint(p, e->seq);
			p = quic_put_varint(p, 0);
			*p++ = e->cid.len;
			p = quic_put_data(p, e->cid.data, e->cid.len);
			p = quic_put_data(p, token, QUIC_RESET_TOKEN_LEN);
			quic_sent_add_frame(sp, QUIC_FRAME_NEW_CONNECTION_ID,
					    i, 0);
			eliciting = true;
		}
	}
	skb_put(skb, p - base);

	/* CRYPTO data: lost ranges rewind o->sent, so this resends too */
	while (!qs->corked && o->sent < o->len &&
	       sp->nr_frames < QUIC_SENT_FRAMES_MAX) {
		room = quic_dgram_room(dg);
		hdr = 1 + quic_varint_len(o->sent) + 2;
		if (room < hdr + 16)
			break;
		n = min_t(u32, o->len - o->sent, room - hdr);
		p = skb_put(skb, 1 + quic_varint_len(o->sent) +
			    quic_varint_len(n) + n);
		*p++ = QUIC_FRAME_CRYPTO;
		p = quic_put_varint(p, o->sent);
		p = quic_put_varint(p, n);
		memcpy(p, o->buf + o->sent, n);
		quic_sent_add_frame(sp, QUIC_FRAME_CRYPTO, o->sent, n);
		o->sent += n;
		eliciting = true;
	}

	if (!eliciting && (qs->probe_mask & BIT(space)) &&
	    quic_dgram_room(dg)) {
		skb_put_u8(skb, QUIC_FRAME_PING);
		eliciting = true;
	}
	if (skb->len == start) {	/* nothing was written after all */
		kfree(sp);
		goto undo;
	}
	if (eliciting)
		qs->probe_mask &= ~BIT(space);

	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_FRM_SENT);
	sp->pn = s->next_pn++;
	sp->time = now;
	if (eliciting) {
		sp->ack_eliciting = 1;
		sp->in_flight = 1;
		sp->size = skb->len - start;
		s->bytes_in_flight += sp->size;
		s->ack_eliciting_in_flight++;
		s->last_ack_eliciting_time = now;
		list_add_tail(&sp->list, &s->sent);
		/* a server pads datagrams with ack-eliciting Initials */
		if (space == QUIC_PN_INITIAL)
			dg->pad = 1;
	} else {
		kfree(sp);
	}
	if (eliciting && !qs->ack_eliciting_sent) {
		qs->ack_eliciting_sent = 1;
		quic_conn_idle_reset(sk);
	}
	return true;

undo:
	quic_pkt_undo(dg);
	return false;
}

/**
 * quic_outq_flush - send everything that is due
 * @sk: the connection (locked)
 */
void quic_outq_flush(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_dgram dg;
	u64 now = quic_now();
	bool any;
	u8 space;
	int loops = 64;

	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED)
		return;
	while (loops--) {
		if (quic_outq_amp_limited(sk))
			break;
		for (space = 0; space < QUIC_PN_MAX; space++)
			if (quic_outq_space_wants(sk, space))
				break;
		if (space == QUIC_PN_MAX)
			break;
		if (quic_dgram_init(sk, &dg, QUIC_MAX_DGRAM))
			break;
		any = false;
		for (space = 0; space < QUIC_PN_MAX; space++) {
			if (!quic_outq_space_wants(sk, space))
				continue;
			if (quic_outq_build(sk, &dg, space, now))
				any = true;
		}
		if (!any) {
			kfree_skb(dg.skb);
			break;
		}
		/* the client pads every datagram with an Initial; a server
		 * those with an ack-eliciting Initial (RFC 9000 14.1)
		 */
		quic_dgram_send(sk, &dg);
		if (!quic_is_serv(sk) && qs->space[QUIC_PN_HANDSHAKE].next_pn &&
		    !qs->space[QUIC_PN_INITIAL].discarded)
			/* RFC 9001 4.9.1: client drops Initial keys once it
			 * sends a Handshake packet
			 */
			quic_conn_discard_space(sk, QUIC_PN_INITIAL);
	}
	quic_outq_set_loss_timer(sk);
}

/* ---- close ---------------------------------------------------------- */

static void quic_put_close(struct sock *sk, struct quic_dgram *dg, u8 level)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_connection_close *c = &qs->local_close;
	u8 space = quic_level_space(level);
	struct sk_buff *skb = dg->skb;
	u32 plen = 0, err;
	u64 frame = qs->close_frame;
	bool app = qs->close_app;
	u8 *p, *base;

	if (quic_pkt_begin(sk, dg, level, qs->space[space].next_pn++))
		return;
	err = qs->close_errcode;
	if (app && level != QUIC_CRYPTO_APP) {
		/* RFC 9000 10.2.3: no application details before 1-RTT */
		app = false;
		err = QUIC_TRANSPORT_ERROR_APPLICATION;
		frame = 0;
	} else if (app) {
		plen = strnlen(c->phrase, QUIC_CLOSE_PHRASE_BUFFER_SIZE);
	}
	base = skb_tail_pointer(skb);
	p = base;
	*p++ = app ? QUIC_FRAME_CONNECTION_CLOSE_APP : QUIC_FRAME_CONNECTION_CLOSE;
	p = quic_put_varint(p, err);
	if (!app)
		p = quic_put_varint(p, frame);
	p = quic_put_varint(p, plen);
	p = quic_put_data(p, c->phrase, plen);
	skb_put(skb, p - base);
}

/* Send one datagram carrying CONNECTION_CLOSE at every level we can. */
void quic_outq_send_close(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_dgram dg;
	u8 space;

	if (qs->draining || !qs->dcid.len)
		return;
	if (quic_dgram_init(sk, &dg, QUIC_MAX_DGRAM))
		return;
	for (space = 0; space < QUIC_PN_MAX; space++) {
		if (qs->space[space].discarded ||
		    !qs->crypto[quic_space_level(space)].tx_ready)
			continue;
		quic_put_close(sk, &dg, quic_space_level(space));
	}
	if (quic_is_serv(sk))
		dg.pad = 0;
	quic_dgram_send(sk, &dg);
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_CONN_CLOSESENT);
}

/* ---- acknowledgements and loss ------------------------------------- */

static void quic_outq_lost(struct sock *sk, u8 space, struct quic_sent_pkt *sp)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_crypto_out *o = &qs->cout[space];
	int i;

	for (i = 0; i < sp->nr_frames; i++) {
		switch (sp->frames[i].type) {
		case QUIC_FRAME_CRYPTO:
			if (sp->frames[i].offset < o->sent)
				o->sent = sp->frames[i].offset;
			break;
		case QUIC_FRAME_HANDSHAKE_DONE:
			if (!qs->confirmed || quic_is_serv(sk))
				qs->hs_done_pending = 1;
			break;
		case QUIC_FRAME_NEW_CONNECTION_ID:
			if (qs->scids[sp->frames[i].offset])
				qs->new_cid_pending |= BIT(sp->frames[i].offset);
			break;
		}
	}
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_PKT_RETRANS);
}

static void quic_sent_remove(struct quic_pnspace *s, struct quic_sent_pkt *sp)
{
	if (sp->in_flight)
		s->bytes_in_flight -= sp->size;
	if (sp->ack_eliciting)
		s->ack_eliciting_in_flight--;
	list_del(&sp->list);
	kfree(sp);
}

/* RFC 9002 6.1: packets sent before an acknowledged one are lost after
 * three later packets or 9/8 RTT.
 */
static void quic_outq_detect_lost(struct sock *sk, u8 space, u64 now)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = &qs->space[space];
	u64 delay = quic_rtt_loss_delay(&qs->rtt);
	struct quic_sent_pkt *sp, *tmp;

	s->loss_time = 0;
	list_for_each_entry_safe(sp, tmp, &s->sent, list) {
		if (sp->pn > s->largest_acked)
			break;
		if (sp->time + delay <= now ||
		    s->largest_acked >= sp->pn + QUIC_PKT_THRESHOLD) {
			quic_outq_lost(sk, space, sp);
			quic_sent_remove(s, sp);
			continue;
		}
		if (!s->loss_time || sp->time + delay < s->loss_time)
			s->loss_time = sp->time + delay;
	}
}

/**
 * quic_outq_ack_rcv - an ACK frame arrived
 * @sk: the connection (locked)
 * @space: its packet number space
 * @ranges: acknowledged ranges, descending
 * @nr: their number (>= 1)
 * @delay: the encoded ACK Delay
 *
 * Return: 0, or -EPROTO after closing the connection because the peer
 * acknowledged a packet we never sent.
 */
int quic_outq_ack_rcv(struct sock *sk, u8 space,
		      const struct quic_ack_range *ranges, u32 nr, u64 delay)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = &qs->space[space];
	struct quic_sent_pkt *sp, *tmp;
	s64 largest = ranges[0].end;
	bool eliciting = false, hs_done = false;
	u64 now = quic_now(), largest_time = 0;
	u32 i, ack_delay = 0;

	if (largest >= s->next_pn) {
		quic_conn_error(sk, QUIC_TRANSPORT_ERROR_PROTOCOL_VIOLATION,
				QUIC_FRAME_ACK);
		return -EPROTO;
	}
	list_for_each_entry_safe(sp, tmp, &s->sent, list) {
		if (sp->pn > largest)
			break;
		for (i = 0; i < nr; i++)
			if (sp->pn >= ranges[i].start && sp->pn <= ranges[i].end)
				break;
		if (i == nr)
			continue;
		if (sp->pn == largest)
			largest_time = sp->time;
		if (sp->ack_eliciting)
			eliciting = true;
		for (i = 0; i < sp->nr_frames; i++)
			if (sp->frames[i].type == QUIC_FRAME_HANDSHAKE_DONE)
				hs_done = true;
		quic_sent_remove(s, sp);
	}
	/* the client has the handshake: drop our Handshake keys */
	if (hs_done && quic_is_serv(sk))
		quic_conn_confirmed(sk);
	if (largest > s->largest_acked) {
		s->largest_acked = largest;
		if (largest_time && eliciting) {
			if (space == QUIC_PN_APP)
				ack_delay = min_t(u64, delay <<
						  qs->remote_tp.ack_delay_exponent,
						  U32_MAX);
			quic_rtt_update(&qs->rtt, now - largest_time, ack_delay,
					qs->confirmed,
					qs->remote_tp.max_ack_delay);
		}
	}
	if (eliciting)
		qs->pto_count = 0;
	quic_outq_detect_lost(sk, space, now);
	quic_outq_set_loss_timer(sk);
	return 0;
}

/* The PTO deadline of @space, 0 if none (RFC 9002 A.8). */
static u64 quic_outq_pto_time(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_pnspace *s = &qs->space[space];
	u64 pto = quic_rtt_pto(&qs->rtt);

	if (s->discarded || !s->ack_eliciting_in_flight)
		return 0;
	if (space == QUIC_PN_APP) {
		if (sk->sk_state != QUIC_SS_ESTABLISHED)
			return 0;
		pto += qs->remote_tp.max_ack_delay;
	}
	return s->last_ack_eliciting_time +
	       (pto << min_t(u8, qs->pto_count, QUIC_PTO_MAX_BACKOFF));
}

void quic_outq_set_loss_timer(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u64 t = 0, x, now;
	u8 space;

	if (sk->sk_state != QUIC_SS_ESTABLISHING &&
	    sk->sk_state != QUIC_SS_ESTABLISHED) {
		quic_timer_stop(sk, QUIC_TIMER_LOSS);
		return;
	}
	for (space = 0; space < QUIC_PN_MAX; space++) {
		x = qs->space[space].loss_time;
		if (x && (!t || x < t))
			t = x;
	}
	if (!t) {
		/* RFC 9002 6.2.2.1: no PTO while blocked by amplification */
		if (quic_outq_amp_limited(sk)) {
			quic_timer_stop(sk, QUIC_TIMER_LOSS);
			return;
		}
		for (space = 0; space < QUIC_PN_MAX; space++) {
			x = quic_outq_pto_time(sk, space);
			if (x && (!t || x < t))
				t = x;
		}
	}
	if (!t && !quic_is_serv(sk) && !qs->confirmed &&
	    qs->space[QUIC_PN_INITIAL].next_pn &&
	    sk->sk_state == QUIC_SS_ESTABLISHING) {
		/* RFC 9002 6.2.2.1: client anti-deadlock probe */
		t = quic_now() + (quic_rtt_pto(&qs->rtt) <<
				  min_t(u8, qs->pto_count, QUIC_PTO_MAX_BACKOFF));
	}
	if (!t) {
		quic_timer_stop(sk, QUIC_TIMER_LOSS);
		return;
	}
	now = quic_now();
	quic_timer_reset(sk, QUIC_TIMER_LOSS, t > now ? t - now : 0);
}

/* Resend everything unacknowledged in @space as the probe. */
static void quic_outq_probe_space(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_crypto_out *o = &qs->cout[space];
	struct quic_sent_pkt *sp;
	int i;

	list_for_each_entry(sp, &qs->space[space].sent, list) {
		for (i = 0; i < sp->nr_frames; i++) {
			if (sp->frames[i].type == QUIC_FRAME_CRYPTO &&
			    sp->frames[i].offset < o->sent)
				o->sent = sp->frames[i].offset;
			if (sp->frames[i].type == QUIC_FRAME_HANDSHAKE_DONE &&
			    quic_is_serv(sk))
				qs->hs_done_pending = 1;
		}
	}
}

/* The loss detection timer fired (socket locked). */
void quic_outq_loss_timeout(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u64 now = quic_now(), t = 0, x;
	u8 space, pick = QUIC_PN_MAX;

	for (space = 0; space < QUIC_PN_MAX; space++) {
		x = qs->space[space].loss_time;
		if (x && (!t || x < t)) {
			t = x;
			pick = space;
		}
	}
	if (pick < QUIC_PN_MAX) {
		quic_outq_detect_lost(sk, pick, now);
		quic_outq_flush(sk);
		return;
	}

	t = 0;
	for (space = 0; space < QUIC_PN_MAX; space++) {
		x = quic_outq_pto_time(sk, space);
		if (x && (!t || x < t)) {
			t = x;
			pick = space;
		}
	}
	if (pick == QUIC_PN_MAX) {
		if (quic_is_serv(sk))
			goto out;
		/* anti-deadlock: a Handshake packet if we can, else Initial */
		pick = qs->crypto[QUIC_CRYPTO_HANDSHAKE].tx_ready ?
		       QUIC_PN_HANDSHAKE : QUIC_PN_INITIAL;
	}
	QUIC_INC_STATS(sock_net(sk), QUIC_MIB_PKT_PTO);
	if (qs->pto_count < QUIC_PTO_MAX_BACKOFF)
		qs->pto_count++;
	/* the probe resends unacknowledged data, or is a PING */
	quic_outq_probe_space(sk, pick);
	qs->probe_mask |= BIT(pick);
out:
	quic_outq_flush(sk);
}

void quic_outq_discard_space(struct sock *sk, u8 space)
{
	struct quic_sock *qs = quic_sk(sk);
	struct quic_crypto_out *o = &qs->cout[space];

	quic_pnspace_free(&qs->space[space]);
	qs->space[space].discarded = 1;
	kfree_sensitive(o->buf);
	memset(o, 0, sizeof(*o));
	quic_inq_free(&qs->cin[space]);
	skb_queue_purge(&qs->pending[space]);
}

void quic_outq_free(struct sock *sk)
{
	struct quic_sock *qs = quic_sk(sk);
	u8 space;

	for (space = 0; space < QUIC_PN_MAX; space++) {
		quic_pnspace_free(&qs->space[space]);
		kfree_sensitive(qs->cout[space].buf);
		memset(&qs->cout[space], 0, sizeof(qs->cout[space]));
		quic_inq_free(&qs->cin[space]);
		skb_queue_purge(&qs->pending[space]);
	}
}
