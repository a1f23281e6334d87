/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: connection IDs and the table that maps them to sockets.
 */
#ifndef __NET_QUIC_CONNID_H
#define __NET_QUIC_CONNID_H

#include <linux/rculist.h>
#include "addr.h"

#define QUIC_CID_MAX_LEN	20
#define QUIC_CID_LEN		8	/* length of the IDs we issue */
#define QUIC_CID_MIN_ODCID	8	/* client's first DCID, RFC 9000 7.2 */

struct quic_conn_id {
	u8 len;
	u8 data[QUIC_CID_MAX_LEN];
};

/* One entry of the connection ID table.  An entry for a client's original
 * DCID (@odcid) only matches datagrams from @peer: that ID was chosen by
 * the client, so it need not be unique.
 */
struct quic_cid_entry {
	struct hlist_node node;
	struct rcu_head rcu;
	struct sock *sk;
	struct net *net;
	struct quic_conn_id cid;
	u64 seq;
	union quic_addr peer;
	u8 odcid:1;
};

static inline bool quic_cid_equal(const struct quic_conn_id *a,
				  const struct quic_conn_id *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

static inline void quic_cid_set(struct quic_conn_id *c, const u8 *data, u8 len)
{
	c->len = len;
	memcpy(c->data, data, len);
}

void quic_cid_generate(struct quic_conn_id *cid, u8 len);
struct quic_cid_entry *quic_cid_add(struct sock *sk,
				    const struct quic_conn_id *cid, u64 seq,
				    const union quic_addr *odcid_peer);
void quic_cid_del(struct quic_cid_entry *e);
struct sock *quic_cid_lookup(struct net *net, const u8 *cid, u8 len,
			     const union quic_addr *from);

int quic_cid_init(void);
void quic_cid_exit(void);

#endif /* __NET_QUIC_CONNID_H */
