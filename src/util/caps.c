/* caps.c - narrowing the agent's capabilities (see caps.h).
 *
 * Order matters: the bounding set is cut first, while CAP_SETPCAP is
 * still effective; then the ambient set is cleared and no_new_privs set;
 * capset() comes last, since it removes CAP_SETPCAP itself.  The result is
 * read back and compared, so a kernel that silently kept something is an
 * error rather than a false sense of safety.
 */
#include "util/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define MAX_CAP 63

static const char *const names[] = {
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner",
	"cap_fsetid", "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap",
	"cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
	"cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner",
	"cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
	"cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod",
	"cap_lease", "cap_audit_write", "cap_audit_control", "cap_setfcap",
	"cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
	"cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
	"cap_checkpoint_restore",
};

uint64_t ks_caps_agent_keep(bool proc, bool qmp, bool bpf)
{
	uint64_t keep = 0;

	if (proc)
		keep |= KS_CAP(CAP_SYS_PTRACE) | KS_CAP(CAP_DAC_READ_SEARCH);
	if (qmp)
		keep |= KS_CAP(CAP_DAC_OVERRIDE);
	if (bpf)
		keep |= KS_CAP(CAP_BPF);
	return keep;
}

static int capget_v3(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};

	return syscall(SYS_capget, &h, d) ? -errno : 0;
}

static uint64_t join(uint32_t lo, uint32_t hi)
{
	return (uint64_t)lo | (uint64_t)hi << 32;
}

int ks_caps_get(struct ks_caps *c)
{
	struct __user_cap_data_struct d[2];
	int rc = capget_v3(d);

	if (rc)
		return rc;
	c->effective = join(d[0].effective, d[1].effective);
	c->permitted = join(d[0].permitted, d[1].permitted);
	c->inheritable = join(d[0].inheritable, d[1].inheritable);
	c->bounding = 0;
	for (int cap = 0; cap <= MAX_CAP; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0)
			break;	/* past the kernel's last capability */
		if (in)
			c->bounding |= KS_CAP(cap);
	}
	return 0;
}

/* The number of threads of this process, from /proc/self/status. */
static int thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* Drops every bounding-set capability outside keep. */
static int cut_bounding(uint64_t keep, uint64_t have_eff)
{
	if (!(have_eff & KS_CAP(CAP_SETPCAP)))
		return 0;	/* cannot; exec gains nothing unprivileged */
	for (int cap = 0; cap <= MAX_CAP; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0)
			break;
		if (in && !(keep & KS_CAP(cap)) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return -errno;
	}
	return 0;
}

static int set_sets(uint64_t keep)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)keep, .permitted = (uint32_t)keep },
		{ .effective = (uint32_t)(keep >> 32),
		  .permitted = (uint32_t)(keep >> 32) },
	};

	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

int ks_caps_limit(uint64_t keep, struct ks_err *err)
{
	struct ks_caps c;
	char want[256], got[256];
	int rc, threads = thread_count();

	if (threads != 1)
		return ks_err_set(err, EBUSY, "capabilities", "cannot narrow "
				  "capabilities with %d threads running: it must "
				  "happen before any thread starts", threads);
	if ((rc = ks_caps_get(&c)))
		return ks_err_set(err, rc, "capabilities", "capget: %s",
				  strerror(-rc));
	keep &= c.permitted;
	if ((rc = cut_bounding(keep, c.effective)))
		return ks_err_set(err, rc, "capabilities", "cannot drop from "
				  "the bounding set: %s", strerror(-rc));
	/* Absent before Linux 4.3: nothing ambient to clear then. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return ks_err_set(err, errno, "capabilities", "no_new_privs: "
				  "%s", strerror(errno));
	if ((rc = set_sets(keep)))
		return ks_err_set(err, rc, "capabilities", "capset: %s",
				  strerror(-rc));
#ifdef __SANITIZE_ADDRESS__
	/* Losing capabilities made the process undumpable (the kernel's
	 * rule for any credential change), and LeakSanitizer's exit check
	 * attaches to it with ptrace.  Sanitizer builds only: a production
	 * agent stays undumpable. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	if ((rc = ks_caps_get(&c)))
		return ks_err_set(err, rc, "capabilities", "capget: %s",
				  strerror(-rc));
	if (c.effective != keep || c.permitted != keep || c.inheritable) {
		ks_caps_names(keep, want, sizeof(want));
		ks_caps_names(c.effective | c.permitted, got, sizeof(got));
		return ks_err_set(err, EPERM, "capabilities", "asked to keep "
				  "%s, still have %s", want, got);
	}
	return 0;
}

void ks_caps_names(uint64_t set, char *buf, size_t len)
{
	size_t off = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (int cap = 0; cap <= MAX_CAP && off < len; cap++) {
		if (!(set & KS_CAP(cap)))
			continue;
		if (cap < (int)(sizeof(names) / sizeof(names[0])))
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						off ? "," : "", names[cap]);
		else
			off += (size_t)snprintf(buf + off, len - off,
						"%scap_%d", off ? "," : "",
						cap);
	}
	if (!set)
		snprintf(buf, len, "none");
}
