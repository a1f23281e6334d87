/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: connection IDs and the table that maps them to sockets.
 */
#ifndef __NET_QUIC_CONNID_H
#define __NET_QUIC_CONNID_H

#include <linux/rculist.h>
#include "addr.h"
#include "crypto.h"

#define QUIC_CID_MAX_LEN	20
#define QUIC_CID_LEN		8	/* length of the IDs we issue */
#define QUIC_CID_MIN_ODCID	8	/* client's first DCID, RFC 9000 7.2 */
#define QUIC_SCID_MAX		16	/* source CID slots: issued and retiring */
#define QUIC_SCID_ISSUE_MAX	8	/* unretired source CIDs we issue */
#define QUIC_DCID_MAX		8	/* spare peer CIDs we store */
#define QUIC_RETIRE_MAX		16	/* RETIRE_CONNECTION_IDs owed */

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

struct quic_dcid_entry {
	u64 seq;
	struct quic_conn_id cid;
	u8 token[QUIC_RESET_TOKEN_LEN];
};

/* The connection's IDs (connection.c manages them): ours, issued with
 * NEW_CONNECTION_ID and retired by the peer, and the peer's, the one in
 * use and the spares.
 */
struct quic_cids {
	struct quic_conn_id scid;	/* the one in our long headers */
	struct quic_conn_id dcid;	/* the one we send to */
	struct quic_conn_id odcid;	/* the client's first DCID */
	struct quic_conn_id retry_scid;	/* client: the Retry's SCID */
	struct quic_cid_entry *scids[QUIC_SCID_MAX];
	struct quic_cid_entry *odcid_entry;
	u64 scid_next_seq;
	u64 scid_prior_to;		/* our Retire Prior To */
	u64 scid_active;		/* the highest of: the ID number the
					 * peer uses, the one the user set
					 */
	struct quic_dcid_entry dcids[QUIC_DCID_MAX];	/* spares */
	u8 dcid_count;
	u16 new_cid_pending;		/* bitmap of scids[] to announce */
	u64 dcid_seq;			/* number of @dcid */
	u64 dcid_prior_to;		/* the peer's largest Retire Prior To */
	u8 dcid_token[QUIC_RESET_TOKEN_LEN];	/* of @dcid, once switched */
	u64 retire[QUIC_RETIRE_MAX];	/* RETIRE_CONNECTION_IDs to send */
	u8 retire_count;
	u8 got_peer_scid:1;		/* client: dcid taken from the server */
	u8 dcid_token_set:1;
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
