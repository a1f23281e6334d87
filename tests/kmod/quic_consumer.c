// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * quic_consumer: a test-only kernel user of QUIC, as SMB or NFS would be.
 *
 * It opens a QUIC socket in the kernel, has the TLS handshake done in
 * userspace through the net/handshake netlink upcall
 * (tls_client_hello_x509/_psk, tls_server_hello_x509/_psk, answered by
 * libquic/tools/handshaked.py), then exchanges one message on a stream.
 *
 * Driven through /proc/quic_consumer (root only).  A write of
 *
 *	MODE ADDR PORT ALPNS PEERNAME AUTH KEY
 *
 * MODE "client" or "server", ADDR an IPv4 or IPv6 address, ALPNS a
 * comma-separated list, PEERNAME the host name to verify ("-" for none),
 * AUTH "x509" or "psk", KEY the PSK's key serial (0 with x509), and for a
 * client an optional TICKET: "save" asks the handshake daemon to wait for
 * the server's session ticket (quic_config.receive_session_ticket) and
 * keeps what it stored in QUIC_SOCKOPT_SESSION_TICKET; "resume" hands that
 * back to the next handshake, as SMB or NFS would to resume a session
 *
 * blocks until the exchange is over and fails with its error.  The client
 * sends "hello from the kernel" on stream 0 and reads the reply; the
 * server reads one message and answers "kernel got: <message>".  A read
 * returns the last outcome: "status=N alpn=A [ticket=T ]message=M", T the
 * length of the saved ticket when the command had a TICKET.
 */

#include <linux/completion.h>
#include <linux/file.h>
#include <linux/inet.h>
#include <linux/in6.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/nsproxy.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uaccess.h>
#include <net/handshake.h>
#include <net/sock.h>
#include <net/quic.h>

#define QC_TIMEOUT_MS	20000
#define QC_MSG_MAX	256
#define QC_CMD_MAX	512
#define QC_TICKET_MAX	4096

struct qc_req {
	char mode[8];
	char addr[64];
	u16 port;
	char alpns[128];
	char peername[64];
	char auth[8];
	key_serial_t key;
	char ticket[8];
	struct sockaddr_storage ss;
	int sslen;
};

struct qc_result {
	int status;
	int ticket;		/* saved ticket length, -1: no TICKET given */
	char alpn[128];
	char message[QC_MSG_MAX];
};

struct qc_wait {
	struct completion done;
	int status;
};

static DEFINE_MUTEX(qc_lock);	/* one exchange at a time; guards these */
static struct qc_result qc_last = { .status = -ENODATA, .ticket = -1 };
static u8 qc_ticket[QC_TICKET_MAX];
static int qc_ticket_len;

static int qc_parse(char *cmd, struct qc_req *r)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&r->ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&r->ss;
	unsigned int port;
	int n;

	memset(r, 0, sizeof(*r));
	n = sscanf(cmd, "%7s %63s %u %127s %63s %7s %d %7s", r->mode, r->addr,
		   &port, r->alpns, r->peername, r->auth, &r->key, r->ticket);
	if (n < 7 || !port || port > 65535)
		return -EINVAL;
	if (n == 8 && strcmp(r->ticket, "save") && strcmp(r->ticket, "resume"))
		return -EINVAL;
	if (strcmp(r->mode, "client") && strcmp(r->mode, "server"))
		return -EINVAL;
	if (strcmp(r->auth, "x509") && strcmp(r->auth, "psk"))
		return -EINVAL;
	r->port = port;
	if (in4_pton(r->addr, -1, (u8 *)&sin->sin_addr.s_addr, -1, NULL)) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(r->port);
		r->sslen = sizeof(*sin);
	} else if (in6_pton(r->addr, -1, sin6->sin6_addr.s6_addr, -1, NULL)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(r->port);
		r->sslen = sizeof(*sin6);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* A kernel QUIC socket with a file: handshake_req_submit() needs one. */
static int qc_socket(const struct qc_req *r, struct socket **sockp,
		     struct file **filep)
{
	struct socket *sock;
	struct file *file;
	int err;

	err = sock_create_kern(current->nsproxy->net_ns, r->ss.ss_family,
			       SOCK_STREAM, IPPROTO_QUIC, &sock);
	if (err)
		return err;
	file = sock_alloc_file(sock, 0, NULL);
	if (IS_ERR(file))
		return PTR_ERR(file);	/* the socket is released */
	sock->sk->sk_rcvtimeo = msecs_to_jiffies(QC_TIMEOUT_MS);
	sock->sk->sk_sndtimeo = msecs_to_jiffies(QC_TIMEOUT_MS);
	err = quic_do_setsockopt(sock->sk, QUIC_SOCKOPT_ALPN,
				 KERNEL_SOCKPTR((void *)r->alpns), strlen(r->alpns));
	if (err) {
		fput(file);
		return err;
	}
	*sockp = sock;
	*filep = file;
	return 0;
}

static void qc_done(void *data, int status, key_serial_t peerid)
{
	struct qc_wait *w = data;

	w->status = status;
	complete(&w->done);
}

static int qc_handshake(struct socket *sock, const struct qc_req *r,
			bool server)
{
	struct tls_handshake_args args = {};
	bool psk = !strcmp(r->auth, "psk");
	struct qc_wait w;
	int err;

	init_completion(&w.done);
	w.status = -ETIMEDOUT;
	args.ta_sock = sock;
	args.ta_done = qc_done;
	args.ta_data = &w;
	args.ta_timeout_ms = QC_TIMEOUT_MS;
	if (strcmp(r->peername, "-"))
		args.ta_peername = r->peername;
	if (psk) {
		args.ta_my_peerids[0] = r->key;
		args.ta_num_peerids = 1;
	}
	if (server)
		err = psk ? tls_server_hello_psk(&args, GFP_KERNEL) :
			    tls_server_hello_x509(&args, GFP_KERNEL);
	else
		err = psk ? tls_client_hello_psk(&args, GFP_KERNEL) :
			    tls_client_hello_x509(&args, GFP_KERNEL);
	if (err)
		return err;
	if (!wait_for_completion_timeout(&w.done,
					 msecs_to_jiffies(QC_TIMEOUT_MS + 5000))) {
		if (tls_handshake_cancel(sock->sk))
			return -ETIMEDOUT;
		wait_for_completion(&w.done);	/* done is being called */
	}
	return w.status;
}

static int qc_send(struct socket *sock, s64 sid, u32 flags, const char *buf,
		   size_t len)
{
	u8 cbuf[CMSG_SPACE(sizeof(struct quic_stream_info))] = {};
	struct msghdr msg = {};
	struct quic_stream_info *info;
	struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct cmsghdr *cmsg;
	int ret;

	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_QUIC;
	cmsg->cmsg_type = QUIC_STREAM_INFO;
	cmsg->cmsg_len = CMSG_LEN(sizeof(*info));
	info = (struct quic_stream_info *)CMSG_DATA(cmsg);
	info->stream_id = sid;
	info->stream_flags = flags;
	ret = kernel_sendmsg(sock, &msg, &iov, 1, len);
	if (ret < 0)
		return ret;
	return ret == len ? 0 : -EIO;
}

/* Read one whole stream message (until FIN) into @buf; its ID in @sid. */
static int qc_recv(struct socket *sock, s64 *sid, char *buf, size_t size)
{
	u8 cbuf[CMSG_SPACE(sizeof(struct quic_stream_info))];
	struct quic_stream_info *info;
	struct cmsghdr *cmsg;
	size_t got = 0;
	bool fin = false;
	int ret;

	while (!fin) {
		struct kvec iov = { .iov_base = buf + got,
				    .iov_len = size - 1 - got };
		struct msghdr msg = {};

		if (!iov.iov_len)
			return -EMSGSIZE;
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		ret = kernel_recvmsg(sock, &msg, &iov, 1, iov.iov_len, 0);
		if (ret < 0)
			return ret;
		cmsg = (struct cmsghdr *)cbuf;
		if (!ret && !cmsg->cmsg_len)
			return -ECONNRESET;	/* the peer closed */
		if (cmsg->cmsg_level != SOL_QUIC ||
		    cmsg->cmsg_type != QUIC_STREAM_INFO ||
		    cmsg->cmsg_len < CMSG_LEN(sizeof(*info)))
			return -EPROTO;
		info = (struct quic_stream_info *)CMSG_DATA(cmsg);
		*sid = info->stream_id;
		fin = info->stream_flags & MSG_QUIC_STREAM_FIN;
		got += ret;
	}
	buf[got] = '\0';
	return got;
}

static void qc_get_alpn(struct socket *sock, struct qc_result *res)
{
	int len = sizeof(res->alpn) - 1;

	if (quic_do_getsockopt(sock->sk, QUIC_SOCKOPT_ALPN,
			       KERNEL_SOCKPTR(res->alpn), KERNEL_SOCKPTR(&len)))
		len = 0;
	res->alpn[clamp(len, 0, (int)sizeof(res->alpn) - 1)] = '\0';
}

/* Before the handshake: ask for the session ticket, or hand one back. */
static int qc_ticket_before(struct socket *sock, const struct qc_req *r)
{
	struct quic_config conf = {};
	int len = sizeof(conf), err;

	if (!strcmp(r->ticket, "resume"))
		return quic_do_setsockopt(sock->sk, QUIC_SOCKOPT_SESSION_TICKET,
					  KERNEL_SOCKPTR(qc_ticket),
					  qc_ticket_len);
	if (strcmp(r->ticket, "save"))
		return 0;
	err = quic_do_getsockopt(sock->sk, QUIC_SOCKOPT_CONFIG,
				 KERNEL_SOCKPTR(&conf), KERNEL_SOCKPTR(&len));
	if (err)
		return err;
	conf.receive_session_ticket = 2;	/* seconds */
	return quic_do_setsockopt(sock->sk, QUIC_SOCKOPT_CONFIG,
				  KERNEL_SOCKPTR(&conf), sizeof(conf));
}

/* After the handshake: keep what the daemon stored. */
static int qc_ticket_after(struct socket *sock, const struct qc_req *r)
{
	int len = sizeof(qc_ticket), err;

	if (strcmp(r->ticket, "save"))
		return 0;
	err = quic_do_getsockopt(sock->sk, QUIC_SOCKOPT_SESSION_TICKET,
				 KERNEL_SOCKPTR(qc_ticket), KERNEL_SOCKPTR(&len));
	qc_ticket_len = err ? 0 : len;
	return err;
}

static int qc_client(const struct qc_req *r, struct qc_result *res)
{
	static const char hello[] = "hello from the kernel";
	struct socket *sock;
	struct file *file;
	s64 sid;
	int err;

	err = qc_socket(r, &sock, &file);
	if (err)
		return err;
	err = kernel_connect(sock, (struct sockaddr *)&r->ss, r->sslen, 0);
	if (!err)
		err = qc_ticket_before(sock, r);
	if (!err)
		err = qc_handshake(sock, r, false);
	if (!err)
		err = qc_ticket_after(sock, r);
	if (!err) {
		qc_get_alpn(sock, res);
		err = qc_send(sock, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN,
			      hello, sizeof(hello) - 1);
	}
	if (!err) {
		err = qc_recv(sock, &sid, res->message, sizeof(res->message));
		err = err < 0 ? err : 0;
	}
	fput(file);
	return err;
}

static int qc_server(const struct qc_req *r, struct qc_result *res)
{
	struct socket *lsock, *sock = NULL;
	struct file *lfile, *file;
	char *reply;
	s64 sid;
	int err;

	err = qc_socket(r, &lsock, &lfile);
	if (err)
		return err;
	err = kernel_bind(lsock, (struct sockaddr *)&r->ss, r->sslen);
	if (!err)
		err = kernel_listen(lsock, 1);
	if (!err)
		err = kernel_accept(lsock, &sock, 0);
	fput(lfile);
	if (err)
		return err;
	file = sock_alloc_file(sock, 0, NULL);
	if (IS_ERR(file))
		return PTR_ERR(file);
	sock->sk->sk_rcvtimeo = msecs_to_jiffies(QC_TIMEOUT_MS);
	sock->sk->sk_sndtimeo = msecs_to_jiffies(QC_TIMEOUT_MS);
	err = qc_handshake(sock, r, true);
	if (!err) {
		qc_get_alpn(sock, res);
		err = qc_recv(sock, &sid, res->message, sizeof(res->message));
	}
	if (err >= 0) {
		reply = kasprintf(GFP_KERNEL, "kernel got: %s", res->message);
		err = reply ? qc_send(sock, sid, MSG_QUIC_STREAM_FIN, reply,
				      strlen(reply)) : -ENOMEM;
		kfree(reply);
	}
	if (!err) {
		char tail[8];

		/* close() drops unsent data: wait for the client to close */
		err = qc_recv(sock, &sid, tail, sizeof(tail));
		err = err == -ECONNRESET ? 0 : err < 0 ? err : -EPROTO;
	}
	fput(file);
	return err;
}

static ssize_t qc_write(struct file *f, const char __user *ubuf, size_t len,
			loff_t *off)
{
	struct qc_result *res;
	struct qc_req *r;
	char *cmd;
	int err;

	if (len >= QC_CMD_MAX)
		return -EINVAL;
	cmd = memdup_user_nul(ubuf, len);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	res = kzalloc(sizeof(*res), GFP_KERNEL);
	err = r && res ? qc_parse(strim(cmd), r) : -ENOMEM;
	kfree(cmd);
	if (!err) {
		mutex_lock(&qc_lock);
		err = r->mode[0] == 'c' ? qc_client(r, res) : qc_server(r, res);
		res->status = err;
		res->ticket = r->ticket[0] ? qc_ticket_len : -1;
		qc_last = *res;
		mutex_unlock(&qc_lock);
	}
	kfree(r);
	kfree(res);
	return err ? err : len;
}

static ssize_t qc_read(struct file *f, char __user *ubuf, size_t len,
		       loff_t *off)
{
	char *out;
	ssize_t ret;

	out = kmalloc(QC_CMD_MAX, GFP_KERNEL);
	if (!out)
		return -ENOMEM;
	mutex_lock(&qc_lock);
	if (qc_last.ticket >= 0)
		ret = scnprintf(out, QC_CMD_MAX,
				"status=%d alpn=%s ticket=%d message=%s\n",
				qc_last.status, qc_last.alpn, qc_last.ticket,
				qc_last.message);
	else
		ret = scnprintf(out, QC_CMD_MAX, "status=%d alpn=%s message=%s\n",
				qc_last.status, qc_last.alpn, qc_last.message);
	mutex_unlock(&qc_lock);
	ret = simple_read_from_buffer(ubuf, len, off, out, ret);
	kfree(out);
	return ret;
}

static const struct proc_ops qc_proc_ops = {
	.proc_read = qc_read,
	.proc_write = qc_write,
	.proc_lseek = default_llseek,
};

static int __init qc_init(void)
{
	if (!proc_create("quic_consumer", 0600, NULL, &qc_proc_ops))
		return -ENOMEM;
	return 0;
}

static void __exit qc_exit(void)
{
	remove_proc_entry("quic_consumer", NULL);
}

module_init(qc_init);
module_exit(qc_exit);
MODULE_DESCRIPTION("Test consumer of in-kernel QUIC through the handshake upcall");
MODULE_LICENSE("GPL");
MODULE_SOFTDEP("pre: quic");
