// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: connection IDs and the table that maps them to sockets.
 *
 * Every connection ID we issue is hashed here; the receive path looks up
 * the Destination Connection ID of each datagram under RCU and takes a
 * reference on the socket it finds.
 */

#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <net/netns/hash.h>
#include <net/sock.h>

#include "connid.h"

#define QUIC_CID_HASH_BITS	10

struct quic_cid_bucket {
	spinlock_t lock;	/* protects writers of @head */
	struct hlist_head head;
};

static struct quic_cid_bucket *quic_cid_table;
static u32 quic_cid_seed __read_mostly;

static struct quic_cid_bucket *quic_cid_bucket(struct net *net, const u8 *cid,
					       u8 len)
{
	u32 h = jhash(cid, len, quic_cid_seed ^ net_hash_mix(net));

	return &quic_cid_table[hash_32(h, QUIC_CID_HASH_BITS)];
}

/**
 * quic_cid_generate - make a random connection ID
 * @cid: out: the ID
 * @len: its length, at most QUIC_CID_MAX_LEN
 */
void quic_cid_generate(struct quic_conn_id *cid, u8 len)
{
	cid->len = len;
	get_random_bytes(cid->data, len);
}

/**
 * quic_cid_add - hash a connection ID for @sk
 * @sk: the owning socket; the entry does not hold a reference, the owner
 *	removes its entries before it is freed
 * @cid: the ID
 * @seq: its sequence number
 * @odcid_peer: non-NULL for a client's original DCID: match only this peer
 *
 * Return: the entry, or NULL if out of memory or the ID is in use.
 */
struct quic_cid_entry *quic_cid_add(struct sock *sk,
				    const struct quic_conn_id *cid, u64 seq,
				    const union quic_addr *odcid_peer)
{
	struct quic_cid_bucket *b;
	struct quic_cid_entry *e, *o;
	struct net *net = sock_net(sk);

	e = kzalloc(sizeof(*e), GFP_ATOMIC);
	if (!e)
		return NULL;
	e->sk = sk;
	e->net = net;
	e->cid = *cid;
	e->seq = seq;
	if (odcid_peer) {
		e->odcid = 1;
		e->peer = *odcid_peer;
	}

	b = quic_cid_bucket(net, cid->data, cid->len);
	spin_lock_bh(&b->lock);
	hlist_for_each_entry(o, &b->head, node) {
		if (o->net == net && !o->odcid && !e->odcid &&
		    quic_cid_equal(&o->cid, cid)) {
			spin_unlock_bh(&b->lock);
			kfree(e);
			return NULL;
		}
	}
	hlist_add_head_rcu(&e->node, &b->head);
	spin_unlock_bh(&b->lock);
	return e;
}

/**
 * quic_cid_del - unhash and free a connection ID entry
 * @e: the entry from quic_cid_add(), or NULL
 *
 * The entry is freed after an RCU grace period, so that a concurrent
 * quic_cid_lookup() may still walk it.
 * Context: any context except hard IRQ (takes the bucket lock with BHs
 * off).
 */
void quic_cid_del(struct quic_cid_entry *e)
{
	struct quic_cid_bucket *b;

	if (!e)
		return;
	b = quic_cid_bucket(e->net, e->cid.data, e->cid.len);
	spin_lock_bh(&b->lock);
	hlist_del_rcu(&e->node);
	spin_unlock_bh(&b->lock);
	kfree_rcu(e, rcu);
}

/**
 * quic_cid_lookup - find the socket a Destination Connection ID belongs to
 * @net: namespace of the receiving UDP socket
 * @cid: the ID bytes
 * @len: their length
 * @from: the datagram's source (for original-DCID entries)
 *
 * Return: the socket with a reference held, or NULL.
 */
struct sock *quic_cid_lookup(struct net *net, const u8 *cid, u8 len,
			     const union quic_addr *from)
{
	struct quic_cid_bucket *b;
	struct quic_cid_entry *e;
	struct sock *sk = NULL;

	if (!len || len > QUIC_CID_MAX_LEN)
		return NULL;
	b = quic_cid_bucket(net, cid, len);
	rcu_read_lock();
	hlist_for_each_entry_rcu(e, &b->head, node) {
		if (e->net != net || e->cid.len != len ||
		    memcmp(e->cid.data, cid, len))
			continue;
		if (e->odcid && !quic_addr_equal(&e->peer, from))
			continue;
		if (refcount_inc_not_zero(&e->sk->sk_refcnt))
			sk = e->sk;
		break;
	}
	rcu_read_unlock();
	return sk;
}

/**
 * quic_cid_init - allocate the module-wide connection ID table
 *
 * Context: process context (module init), may sleep.
 * Return: 0 or -ENOMEM.
 */
int quic_cid_init(void)
{
	int i;

	quic_cid_table = kvmalloc_array(1 << QUIC_CID_HASH_BITS,
					sizeof(*quic_cid_table), GFP_KERNEL);
	if (!quic_cid_table)
		return -ENOMEM;
	for (i = 0; i < (1 << QUIC_CID_HASH_BITS); i++) {
		spin_lock_init(&quic_cid_table[i].lock);
		INIT_HLIST_HEAD(&quic_cid_table[i].head);
	}
	quic_cid_seed = get_random_u32();
	return 0;
}

/**
 * quic_cid_exit - free the connection ID table
 *
 * Waits for the entries still queued by kfree_rcu(); every entry must
 * have been removed with quic_cid_del().
 * Context: process context (module exit), may sleep.
 */
void quic_cid_exit(void)
{
	rcu_barrier();	/* pending kfree_rcu() */
	kvfree(quic_cid_table);
}
