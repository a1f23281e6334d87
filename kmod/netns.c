// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: per-netns state: the MIB counters, /proc/net/quic, the sysctls
 * and the namespace-wide receive memory budget.
 */

#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sysctl.h>
#include <linux/swap.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "netns.h"
#include "socket.h"

unsigned int quic_net_id __read_mostly;

/* ---- /proc/net/quic ------------------------------------------------- */

static const char *const quic_mib_names[QUIC_MIB_MAX] = {
	[QUIC_MIB_NUM]			= NULL,
	[QUIC_MIB_CONN_CURRENTESTABS]	= "QuicConnCurrentEstabs",
	[QUIC_MIB_CONN_ACTIVEESTABS]	= "QuicConnActiveEstabs",
	[QUIC_MIB_CONN_PASSIVEESTABS]	= "QuicConnPassiveEstabs",
	[QUIC_MIB_CONN_ACTIVEOPENS]	= "QuicConnActiveOpens",
	[QUIC_MIB_CONN_PASSIVEOPENS]	= "QuicConnPassiveOpens",
	[QUIC_MIB_CONN_REQUESTS]	= "QuicConnRequests",
	[QUIC_MIB_CONN_REQDROPS]	= "QuicConnRequestDrops",
	[QUIC_MIB_CONN_CLOSESENT]	= "QuicConnCloseSent",
	[QUIC_MIB_CONN_CLOSERCVD]	= "QuicConnCloseRcvd",
	[QUIC_MIB_CONN_IDLETIMEOUTS]	= "QuicConnIdleTimeouts",
	[QUIC_MIB_CONN_PROTOERRORS]	= "QuicConnProtocolErrors",
	[QUIC_MIB_PKT_RCV]		= "QuicPktRcv",
	[QUIC_MIB_PKT_RCVDROP]		= "QuicPktRcvDrop",
	[QUIC_MIB_PKT_DECFAIL]		= "QuicPktDecFail",
	[QUIC_MIB_PKT_SENT]		= "QuicPktSent",
	[QUIC_MIB_PKT_RETRANS]		= "QuicPktLost",
	[QUIC_MIB_PKT_PTO]		= "QuicPktProbeTimeouts",
	[QUIC_MIB_FRM_RCV]		= "QuicFrmRcv",
	[QUIC_MIB_FRM_SENT]		= "QuicFrmSent",
	[QUIC_MIB_CONN_PERSISTENT]	= "QuicPersistentCongestion",
	[QUIC_MIB_PKT_0RTT_SENT]	= "QuicPkt0RttSent",
	[QUIC_MIB_PKT_0RTT_RCV]		= "QuicPkt0RttRcv",
	[QUIC_MIB_RCV_MEMDROP]		= "QuicRcvMemDrops",
	[QUIC_MIB_PKT_DUPDROP]		= "QuicPktDupDrops",
	[QUIC_MIB_CONN_HELLODROPS]	= "QuicConnHelloDrops",
	[QUIC_MIB_CONN_RETRYSENT]	= "QuicConnRetrySent",
	[QUIC_MIB_CONN_RETRYAUTO]	= "QuicConnRetryAuto",
	[QUIC_MIB_PKT_RESETSENT]	= "QuicPktResetSent",
	[QUIC_MIB_CONN_CLOSELINGER]	= "QuicConnCloseLinger",
	[QUIC_MIB_CONN_VERSION_SWITCHES] = "QuicConnVersionSwitches",
	[QUIC_MIB_CONG_HYSTART_CSS]	= "QuicHystartCss",
	[QUIC_MIB_ECN_CAPABLE]		= "QuicEcnCapable",
	[QUIC_MIB_ECN_FAILED]		= "QuicEcnFailed",
	[QUIC_MIB_ECN_CE_RCVD]		= "QuicEcnCeRcvd",
	[QUIC_MIB_ECN_CE_EVENTS]	= "QuicEcnCeEvents",
	[QUIC_MIB_GRO_RCV]		= "QuicGroRcv",
	[QUIC_MIB_GRO_SEGS]		= "QuicGroSegs",
	[QUIC_MIB_GSO_SENDS]		= "QuicGsoSends",
	[QUIC_MIB_GSO_SEGS]		= "QuicGsoSegs",
};

static int quic_snmp_seq_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct quic_net *qn = quic_net(net);
	int i;

	for (i = QUIC_MIB_NUM + 1; i < QUIC_MIB_MAX; i++)
		seq_printf(seq, "%-32s\t%lu\n", quic_mib_names[i],
			   snmp_fold_field(qn->stat, i));
	/* a gauge, not a counter: receive memory charged right now */
	seq_printf(seq, "%-32s\t%ld\n", "QuicRcvMemAlloc",
		   atomic_long_read(&qn->rmem_alloc));
	return 0;
}

static const char *const quic_state_names[] = {
	[QUIC_SS_CLOSED]	= "CLOSED",
	[QUIC_SS_LISTENING]	= "LISTENING",
	[QUIC_SS_ESTABLISHING]	= "ESTABLISHING",
	[QUIC_SS_ESTABLISHED]	= "ESTABLISHED",
};

static void *quic_eps_seq_start(struct seq_file *seq, loff_t *pos)
{
	struct quic_net *qn = quic_net(seq_file_net(seq));

	spin_lock_bh(&qn->sock_lock);
	return seq_list_start_head(&qn->sock_list, *pos);
}

static void *quic_eps_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct quic_net *qn = quic_net(seq_file_net(seq));

	return seq_list_next(v, &qn->sock_list, pos);
}

static void quic_eps_seq_stop(struct seq_file *seq, void *v)
{
	struct quic_net *qn = quic_net(seq_file_net(seq));

	spin_unlock_bh(&qn->sock_lock);
}

static const char * const quic_ecn_state_names[] = {
	[QUIC_ECN_TESTING]	= "testing",
	[QUIC_ECN_UNKNOWN]	= "unknown",
	[QUIC_ECN_CAPABLE]	= "capable",
	[QUIC_ECN_FAILED]	= "failed",
	[QUIC_ECN_OFF]		= "off",
};

static int quic_eps_seq_show(struct seq_file *seq, void *v)
{
	struct quic_net *qn = quic_net(seq_file_net(seq));
	const char *state = "UNKNOWN";
	struct quic_sock *qs;
	struct sock *sk;

	if (v == &qn->sock_list) {
		seq_puts(seq, "INODE  UID  FAMILY  TYPE    STATE         LOCAL_ADDRESS                                  REMOTE_ADDRESS  SCID  DCID  CWND  SRTT  PACING_RATE  PERSISTENT  RMEM  RCVBUF  ECN  CE  PMTU  LOST\n");
		return 0;
	}
	qs = list_entry(v, struct quic_sock, node);
	sk = &qs->inet.sk;
	if (sk->sk_state < ARRAY_SIZE(quic_state_names) &&
	    quic_state_names[sk->sk_state])
		state = quic_state_names[sk->sk_state];
	seq_printf(seq, "%lu  %u  %s  %s  %-12s  %-45pISpc  %pISpc",
		   sock_i_ino(sk),
		   from_kuid_munged(seq_user_ns(seq), sock_i_uid(sk)),
		   sk->sk_family == AF_INET6 ? "INET6" : "INET",
		   sk->sk_type == SOCK_STREAM ? "STREAM" : "DGRAM",
		   state, &quic_paths(sk)->local.sa, &quic_paths(sk)->peer.sa);
	/* connection IDs in hex, "-" when there is none */
	if (quic_cids(sk)->scid.len)
		seq_printf(seq, "  %*phN", quic_cids(sk)->scid.len, quic_cids(sk)->scid.data);
	else
		seq_puts(seq, "  -");
	if (quic_cids(sk)->dcid.len)
		seq_printf(seq, "  %*phN", quic_cids(sk)->dcid.len, quic_cids(sk)->dcid.data);
	else
		seq_puts(seq, "  -");
	/* congestion: window (bytes), smoothed RTT (us), pacing rate
	 * (bytes/s) and how often persistent congestion was declared
	 */
	seq_printf(seq, "  %llu  %u  %llu  %u", qs->cong.cwnd,
		   qs->rtt.smoothed,
		   quic_cong_pacing_rate(&qs->cong, &qs->rtt,
					 READ_ONCE(sk->sk_max_pacing_rate)),
		   qs->cong.persistent);
	/* receive memory charged (bytes) and its budget */
	seq_printf(seq, "  %d  %d", atomic_read(&sk->sk_rmem_alloc),
		   READ_ONCE(sk->sk_rcvbuf));
	/* ECN: the path's validation state, the CE marks the peer reported */
	seq_printf(seq, "  %s  %llu", quic_ecn_state_names[qs->ecn.state],
		   qs->ecn.peer[QUIC_PN_APP][QUIC_ECN_CE]);
	/* the datagram size (UDP payload) in use: PLPMTUD's or the route's */
	seq_printf(seq, "  %u", qs->mss ?: QUIC_MAX_DGRAM);
	/* packets of this connection declared lost (all spaces) */
	seq_printf(seq, "  %llu\n", quic_outq(sk)->lost);
	return 0;
}

static const struct seq_operations quic_eps_seq_ops = {
	.start	= quic_eps_seq_start,
	.next	= quic_eps_seq_next,
	.stop	= quic_eps_seq_stop,
	.show	= quic_eps_seq_show,
};

static int __net_init quic_net_proc_init(struct net *net)
{
	struct quic_net *qn = quic_net(net);

	qn->proc_net = proc_net_mkdir(net, "quic", net->proc_net);
	if (!qn->proc_net)
		return -ENOMEM;
	if (!proc_create_net_single("snmp", 0444, qn->proc_net,
				    quic_snmp_seq_show, NULL))
		goto err;
	if (!proc_create_net("eps", 0444, qn->proc_net, &quic_eps_seq_ops,
			     sizeof(struct seq_net_private)))
		goto err;
	return 0;
err:
	remove_proc_subtree("quic", net->proc_net);
	qn->proc_net = NULL;
	return -ENOMEM;
}

/* ---- sysctl --------------------------------------------------------- */

static unsigned long quic_rmem_min = PAGE_SIZE;
static unsigned long quic_rmem_max = LONG_MAX;

/* net.quic.rmem_max_total: bytes all QUIC sockets of the namespace may
 * hold on their receive side together (see quic_inq_charge()).
 * net.quic.ecn: 1 (default) marks new paths ECT(0) and validates them,
 * 0 never marks (ecn.c); the peer's marks are reported either way.
 * net.quic.gro: 1 (default) lets UDP GRO coalesce received bursts on the
 * UDP sockets created from then on (udp.c), 0 not.
 * net.quic.gso: 1 (default) sends a flush's 1-RTT datagrams of one size
 * as UDP GSO super-datagrams (packet.c), 0 each on its own.
 */
enum {
	QUIC_SYSCTL_RMEM_MAX_TOTAL,
	QUIC_SYSCTL_ECN,
	QUIC_SYSCTL_GRO,
	QUIC_SYSCTL_GSO,
};

static const struct ctl_table quic_sysctl_table[] = {
	[QUIC_SYSCTL_RMEM_MAX_TOTAL] = {
		.procname	= "rmem_max_total",
		.maxlen		= sizeof(unsigned long),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_minmax,
		.extra1		= &quic_rmem_min,
		.extra2		= &quic_rmem_max,
	},
	[QUIC_SYSCTL_ECN] = {
		.procname	= "ecn",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	[QUIC_SYSCTL_GRO] = {
		.procname	= "gro",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	[QUIC_SYSCTL_GSO] = {
		.procname	= "gso",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
};

static int __net_init quic_net_sysctl_init(struct net *net)
{
	struct quic_net *qn = quic_net(net);
	struct ctl_table *t;

	/* like tcp_mem's pressure level: an eighth of the buffer pages */
	qn->rmem_max_total = (nr_free_buffer_pages() / 8) << PAGE_SHIFT;
	t = kmemdup(quic_sysctl_table, sizeof(quic_sysctl_table), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	qn->ecn = 1;
	qn->gro = 1;
	qn->gso = 1;
	t[QUIC_SYSCTL_RMEM_MAX_TOTAL].data = &qn->rmem_max_total;
	t[QUIC_SYSCTL_ECN].data = &qn->ecn;
	t[QUIC_SYSCTL_GRO].data = &qn->gro;
	t[QUIC_SYSCTL_GSO].data = &qn->gso;
	/* the limit protects the host: a namespace owned by another user
	 * namespace (a container's root) may read it but not raise it
	 */
	if (net->user_ns != &init_user_ns)
		t[QUIC_SYSCTL_RMEM_MAX_TOTAL].mode = 0444;
	qn->sysctl = register_net_sysctl_sz(net, "net/quic", t,
					    ARRAY_SIZE(quic_sysctl_table));
	if (!qn->sysctl) {
		kfree(t);
		return -ENOMEM;
	}
	return 0;
}

static void quic_net_sysctl_exit(struct net *net)
{
	struct quic_net *qn = quic_net(net);
	const struct ctl_table *t = qn->sysctl->ctl_table_arg;

	unregister_net_sysctl_table(qn->sysctl);
	kfree(t);
}

/* ---- per-netns state ------------------------------------------------ */

static int __net_init quic_net_init(struct net *net)
{
	struct quic_net *qn = quic_net(net);
	int err;

	spin_lock_init(&qn->sock_lock);
	INIT_LIST_HEAD(&qn->sock_list);
	mutex_init(&qn->udp_lock);
	mutex_init(&qn->listen_lock);
	INIT_LIST_HEAD(&qn->udp_list);

	qn->stat = alloc_percpu(struct quic_mib);
	if (!qn->stat)
		return -ENOMEM;

	atomic_long_set(&qn->rmem_alloc, 0);
	err = quic_token_ctx_init(&qn->tokens, NULL);
	if (err)
		goto err_stat;
	err = quic_net_sysctl_init(net);
	if (err)
		goto err_tokens;
	err = quic_net_proc_init(net);
	if (err)
		goto err_sysctl;
	return 0;
err_sysctl:
	quic_net_sysctl_exit(net);
err_tokens:
	quic_token_ctx_free(&qn->tokens);
err_stat:
	free_percpu(qn->stat);
	return err;
}

static void __net_exit quic_net_exit(struct net *net)
{
	struct quic_net *qn = quic_net(net);

	remove_proc_subtree("quic", net->proc_net);
	quic_net_sysctl_exit(net);
	WARN_ON_ONCE(atomic_long_read(&qn->rmem_alloc));
	quic_token_ctx_free(&qn->tokens);
	free_percpu(qn->stat);
}

struct pernet_operations quic_net_ops = {
	.init	= quic_net_init,
	.exit	= quic_net_exit,
	.id	= &quic_net_id,
	.size	= sizeof(struct quic_net),
};
