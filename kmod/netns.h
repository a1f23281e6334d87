/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC: per-netns state and MIB counters.
 */
#ifndef __NET_QUIC_NETNS_H
#define __NET_QUIC_NETNS_H

#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/snmp.h>

#include "crypto.h"

enum quic_mib_field {
	QUIC_MIB_NUM = 0,
	QUIC_MIB_CONN_CURRENTESTABS,	/* connections now ESTABLISHED */
	QUIC_MIB_CONN_ACTIVEESTABS,	/* client connections established */
	QUIC_MIB_CONN_PASSIVEESTABS,	/* server connections established */
	QUIC_MIB_CONN_ACTIVEOPENS,	/* connect() calls */
	QUIC_MIB_CONN_PASSIVEOPENS,	/* accepted connections */
	QUIC_MIB_CONN_REQUESTS,		/* client Initials queued at listeners */
	QUIC_MIB_CONN_REQDROPS,		/* client Initials dropped at listeners */
	QUIC_MIB_CONN_CLOSESENT,	/* CONNECTION_CLOSE sent */
	QUIC_MIB_CONN_CLOSERCVD,	/* CONNECTION_CLOSE received */
	QUIC_MIB_CONN_IDLETIMEOUTS,	/* connections closed by idle timeout */
	QUIC_MIB_CONN_PROTOERRORS,	/* connections closed for peer errors */
	QUIC_MIB_PKT_RCV,		/* packets received */
	QUIC_MIB_PKT_RCVDROP,		/* packets dropped on receive */
	QUIC_MIB_PKT_DECFAIL,		/* packets that failed to decrypt */
	QUIC_MIB_PKT_SENT,		/* packets sent */
	QUIC_MIB_PKT_RETRANS,		/* packets declared lost */
	QUIC_MIB_PKT_PTO,		/* probe timeouts fired */
	QUIC_MIB_FRM_RCV,		/* frames received */
	QUIC_MIB_FRM_SENT,		/* frames sent */
	QUIC_MIB_CONN_PERSISTENT,	/* persistent congestion declared */
	QUIC_MIB_PKT_0RTT_SENT,		/* 0-RTT packets sent */
	QUIC_MIB_PKT_0RTT_RCV,		/* 0-RTT packets opened */
	QUIC_MIB_RCV_MEMDROP,		/* received data refused for memory */
	QUIC_MIB_PKT_DUPDROP,		/* duplicate packets dropped */
	QUIC_MIB_CONN_HELLODROPS,	/* malformed ClientHellos dropped */
	QUIC_MIB_CONN_RETRYSENT,	/* Retry packets sent */
	QUIC_MIB_CONN_RETRYAUTO,	/* of them, for a listener's full queue */
	QUIC_MIB_PKT_RESETSENT,		/* stateless resets sent */
	QUIC_MIB_CONN_CLOSELINGER,	/* closed connections kept to answer */
	QUIC_MIB_CONN_VERSION_SWITCHES,	/* compatible version switches */
	QUIC_MIB_CONG_HYSTART_CSS,	/* slow start left for CSS (HyStart++) */
	QUIC_MIB_ECN_CAPABLE,		/* paths found ECN-capable */
	QUIC_MIB_ECN_FAILED,		/* ECN validations failed */
	QUIC_MIB_ECN_CE_RCVD,		/* packets received marked CE */
	QUIC_MIB_ECN_CE_EVENTS,		/* ACKs reporting more CE marks */
	QUIC_MIB_GRO_RCV,		/* coalesced (GRO) datagram bursts */
	QUIC_MIB_GRO_SEGS,		/* datagrams received in them */
	QUIC_MIB_GSO_SENDS,		/* UDP GSO super-datagrams sent */
	QUIC_MIB_GSO_SEGS,		/* datagrams sent in them */
	QUIC_MIB_MAX
};

struct quic_mib {
	unsigned long mibs[QUIC_MIB_MAX];
};

struct quic_net {
	DEFINE_SNMP_STAT(struct quic_mib, stat);
	struct proc_dir_entry *proc_net;
	spinlock_t sock_lock;		/* protects sock_list */
	struct list_head sock_list;	/* every QUIC socket in this netns */
	struct mutex udp_lock;		/* protects udp_list */
	struct list_head udp_list;	/* shared UDP tunnel sockets */
	struct mutex listen_lock;	/* makes and frees listen ports */
	struct quic_token_ctx tokens;	/* address validation and stateless
					 * reset keys of the namespace
					 */
	unsigned long reset_window;	/* jiffies: start of this second */
	atomic_t reset_count[2];	/* resets sent, looked for, in it */
	atomic_t closing;		/* closed connections lingering */
	atomic_long_t rmem_alloc;	/* bytes charged by all QUIC sockets */
	unsigned long rmem_max_total;	/* sysctl net.quic.rmem_max_total */
	int ecn;			/* sysctl net.quic.ecn: mark ECT(0) */
	int gro;			/* sysctl net.quic.gro: UDP GRO */
	int gso;			/* sysctl net.quic.gso: batch sends */
	struct ctl_table_header *sysctl;
};

extern unsigned int quic_net_id;

static inline struct quic_net *quic_net(struct net *net)
{
	return net_generic(net, quic_net_id);
}

/* The namespace's token keys: every Retry and NEW_TOKEN token, and the
 * stateless reset token of every connection ID issued in it, so that a
 * reset can be sent for an ID no socket holds any more.
 */
static inline struct quic_token_ctx *quic_net_tokens(struct net *net)
{
	return &quic_net(net)->tokens;
}

#define QUIC_INC_STATS(net, field)	SNMP_INC_STATS(quic_net(net)->stat, field)
#define QUIC_DEC_STATS(net, field)	SNMP_DEC_STATS(quic_net(net)->stat, field)
#define QUIC_ADD_STATS(net, field, v)	SNMP_ADD_STATS(quic_net(net)->stat, field, v)

extern struct pernet_operations quic_net_ops;

#endif /* __NET_QUIC_NETNS_H */
