/* vmwatch.c - inotify on /dev/kvm and the proc connector (see vmwatch.h).
 *
 * Both descriptors sit in one epoll set so a caller's event loop waits on
 * a single fd.  The proc connector is asked, on kernels that can filter
 * (6.6 and later), for exec and exit events only; older kernels send fork
 * and other events too, which are read and ignored.  A receive-buffer
 * overrun (ENOBUFS) means events were lost, and is reported as such so
 * discovery rescans rather than trusting its table.
 */
#include "vm/vmwatch.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

struct ks_vmwatch {
	int ep;			/* epoll of the two below; -1 if neither */
	int ino;		/* inotify; -1 */
	int nl;			/* proc connector socket; -1 */
};

/* The filtering form of PROC_CN_MCAST_LISTEN (Linux 6.6, struct
 * proc_input), spelled out since the installed headers may predate it. */
struct cn_listen_filtered {
	uint32_t mcast_op;
	uint32_t event_type;
};

static bool kernel_filters_events(void)
{
	struct utsname u;
	unsigned maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &maj, &min) != 2)
		return false;
	return maj > 6 || (maj == 6 && min >= 6);
}

static int nl_listen(int sk)
{
	char buf[NLMSG_SPACE(sizeof(struct cn_msg) +
			     sizeof(struct cn_listen_filtered))];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct cn_msg *cn = NLMSG_DATA(nh);
	struct cn_listen_filtered f = { PROC_CN_MCAST_LISTEN,
					PROC_EVENT_EXEC | PROC_EVENT_EXIT };
	uint32_t op = PROC_CN_MCAST_LISTEN;
	size_t len = kernel_filters_events() ? sizeof(f) : sizeof(op);

	memset(buf, 0, sizeof(buf));
	nh->nlmsg_len = (uint32_t)NLMSG_LENGTH(sizeof(*cn) + len);
	nh->nlmsg_type = NLMSG_DONE;
	cn->id.idx = CN_IDX_PROC;
	cn->id.val = CN_VAL_PROC;
	cn->len = (uint16_t)len;
	memcpy(cn->data, len == sizeof(f) ? (void *)&f : (void *)&op, len);
	return send(sk, buf, nh->nlmsg_len, 0) < 0 ? -errno : 0;
}

static int nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = CN_IDX_PROC };
	int sk = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			NETLINK_CONNECTOR);

	if (sk < 0)
		return -1;
	if (bind(sk, (struct sockaddr *)&sa, sizeof(sa)) || nl_listen(sk)) {
		close(sk);
		return -1;
	}
	return sk;
}

static int ino_open(const char *devkvm)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return -1;
	if (inotify_add_watch(fd, devkvm, IN_OPEN | IN_CLOSE) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int ep_add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return fd < 0 ? 0 : epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

struct ks_vmwatch *ks_vmwatch__new(const char *devkvm, bool proc_connector)
{
	struct ks_vmwatch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->ep = w->ino = w->nl = -1;
	if (!devkvm)
		devkvm = "/dev/kvm";
	if (*devkvm)
		w->ino = ino_open(devkvm);
	if (proc_connector)
		w->nl = nl_open();
	if (w->ino < 0 && w->nl < 0)
		return w;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0 || ep_add(w->ep, w->ino) || ep_add(w->ep, w->nl)) {
		/* Without the epoll set the signals cannot be waited on;
		 * they are still drained on each update. */
		if (w->ep >= 0)
			close(w->ep);
		w->ep = -1;
	}
	return w;
}

void ks_vmwatch__free(struct ks_vmwatch *w)
{
	if (!w)
		return;
	if (w->ep >= 0)
		close(w->ep);
	if (w->ino >= 0)
		close(w->ino);
	if (w->nl >= 0)
		close(w->nl);
	free(w);
}

int ks_vmwatch__fd(const struct ks_vmwatch *w)
{
	return w->ep;
}

unsigned ks_vmwatch__active(const struct ks_vmwatch *w)
{
	return (w->ino >= 0 ? 1u : 0u) | (w->nl >= 0 ? 2u : 0u);
}

typedef void (*event_fn)(void *ctx, enum ks_vmwatch_event ev, pid_t pid);

static void drain_inotify(int fd, event_fn fn, void *ctx)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ie = (const void *)p;

			if (ie->mask & IN_Q_OVERFLOW)
				fn(ctx, KS_VMW_OVERRUN, 0);
			else if (ie->mask & IN_OPEN)
				fn(ctx, KS_VMW_KVM_OPEN, 0);
			else if (ie->mask & IN_CLOSE)
				fn(ctx, KS_VMW_KVM_CLOSE, 0);
			p += sizeof(*ie) + ie->len;
		}
	}
}

static void one_proc_event(const struct proc_event *pe, event_fn fn,
			   void *ctx)
{
	if (pe->what == PROC_EVENT_EXEC)
		fn(ctx, KS_VMW_EXEC, pe->event_data.exec.process_tgid);
	else if (pe->what == PROC_EVENT_EXIT &&
		 pe->event_data.exit.process_pid ==
		 pe->event_data.exit.process_tgid)
		fn(ctx, KS_VMW_EXIT, pe->event_data.exit.process_tgid);
}

static void drain_netlink(int sk, event_fn fn, void *ctx)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t got;
	int n;

	for (;;) {
		got = recv(sk, buf, sizeof(buf), 0);
		if (got < 0 && errno == ENOBUFS) {
			fn(ctx, KS_VMW_OVERRUN, 0);
			continue;
		}
		if (got <= 0)
			return;
		n = (int)got;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		     NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			const struct cn_msg *cn = NLMSG_DATA(nh);

			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*cn)) ||
			    cn->len < sizeof(struct proc_event) ||
			    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*cn) + cn->len))
				continue;
			struct proc_event pe;

			/* The event sits 4 bytes off 8-byte alignment
			 * after the connector header: copy it out. */
			memcpy(&pe, cn->data, sizeof(pe));
			one_proc_event(&pe, fn, ctx);
		}
	}
}

int ks_vmwatch__drain(struct ks_vmwatch *w, event_fn fn, void *ctx)
{
	if (w->ino >= 0)
		drain_inotify(w->ino, fn, ctx);
	if (w->nl >= 0)
		drain_netlink(w->nl, fn, ctx);
	return 0;
}
