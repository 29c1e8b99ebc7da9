/* kvmhost.c - reading what a host offers KVM instrumentation.
 *
 * Small files, read once: /proc/cpuinfo's first vendor_id and flags lines,
 * /sys/module/<kvm module>/parameters, the tracefs kvm event
 * directories, /sys/kernel/btf.  Which parameters matter is a table per
 * module; a parameter the running kernel lacks (they come and go between
 * versions) is shown as absent rather than guessed.
 */
#include "vm/kvmhost.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static const char *const tp_names[KS_TP__COUNT] = {
	[KS_TP_EXIT] = "kvm_exit",
	[KS_TP_ENTRY] = "kvm_entry",
	[KS_TP_USERSPACE_EXIT] = "kvm_userspace_exit",
	[KS_TP_INJ_VIRQ] = "kvm_inj_virq",
	[KS_TP_APIC_ACCEPT_IRQ] = "kvm_apic_accept_irq",
	[KS_TP_PIO] = "kvm_pio",
	[KS_TP_MMIO] = "kvm_mmio",
};

struct param_row {
	const char *name, *what;
};

static const struct param_row vmx_params[] = {
	{ "ept", "nested paging (EPT): guest page faults stay in the guest" },
	{ "enable_apicv", "APIC virtualisation and posted interrupts: "
	  "interrupts delivered without an exit or an injection" },
	{ "enable_ipiv", "IPI virtualisation: guest IPIs without exits" },
	{ "vpid", "tagged TLBs" },
	{ "unrestricted_guest", "real mode without emulation" },
	{ "pml", "page-modification logging" },
	{ "nested", "guests may run guests" },
};

static const struct param_row svm_params[] = {
	{ "npt", "nested paging (NPT): guest page faults stay in the guest" },
	{ "avic", "AVIC: interrupts delivered without an exit or an "
	  "injection" },
	{ "vgif", "virtual GIF" },
	{ "vls", "virtual VMLOAD/VMSAVE" },
	{ "sev", "encrypted guests (their registers are not readable)" },
	{ "sev_es", "encrypted guest state (VMCB save area unreadable)" },
	{ "nested", "guests may run guests" },
};

const char *ks_kvmhost_tp_name(enum ks_kvm_tp tp)
{
	return tp < KS_TP__COUNT ? tp_names[tp] : "?";
}

const char *ks_kvmhost_vendor_name(enum ks_kvm_vendor v)
{
	return v == KS_VENDOR_VMX ? "Intel VMX" :
	       v == KS_VENDOR_SVM ? "AMD SVM" : "none";
}

const char *ks_kvmhost_debugfs(void)
{
	return "/sys/kernel/debug/kvm";
}

static bool exists(const char *root, const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s%s", root, path);
	return access(p, F_OK) == 0;
}

/* The first line of root+path, without its newline, into buf. */
static bool first_line(const char *root, const char *path, char *buf,
		       size_t size)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", root, path);
	if (!(f = fopen(p, "re")))
		return false;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/* Whether the space-separated flag list holds word. */
static bool has_flag(const char *flags, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = flags; (p = strstr(p, word)); p += n)
		if ((p == flags || p[-1] == ' ' || p[-1] == '\t') &&
		    (p[n] == ' ' || p[n] == '\0' || p[n] == '\n'))
			return true;
	return false;
}

static void read_cpuinfo(struct ks_kvmhost *h, const char *root)
{
	char p[512], line[8192];
	bool vendor = false, flags = false;
	FILE *f;

	snprintf(p, sizeof(p), "%s/proc/cpuinfo", root);
	if (!(f = fopen(p, "re")))
		return;
	while ((!vendor || !flags) && fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (!v)
			continue;
		v += 1 + (v[1] == ' ');
		v[strcspn(v, "\n")] = '\0';
		if (!vendor && !strncmp(line, "vendor_id", 9)) {
			snprintf(h->cpu_vendor, sizeof(h->cpu_vendor), "%s", v);
			vendor = true;
		} else if (!flags && !strncmp(line, "flags", 5)) {
			h->vendor = has_flag(v, "vmx") ? KS_VENDOR_VMX :
				    has_flag(v, "svm") ? KS_VENDOR_SVM :
				    KS_VENDOR_NONE;
			flags = true;
		}
	}
	fclose(f);
}

static void read_params(struct ks_kvmhost *h, const char *root,
			const struct param_row *rows, size_t n)
{
	char path[256];

	for (size_t i = 0; i < n && h->nparams < KS_KVMHOST_MAXPARAM; i++) {
		struct ks_kvm_param *p = &h->param[h->nparams++];

		p->name = rows[i].name;
		p->what = rows[i].what;
		snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s",
			 h->module, rows[i].name);
		if (!first_line(root, path, p->value, sizeof(p->value)))
			p->value[0] = '\0';
	}
}

static void read_tracepoints(struct ks_kvmhost *h, const char *root)
{
	static const char *const dirs[] = { "/sys/kernel/tracing/events/kvm",
					    "/sys/kernel/debug/tracing/events/kvm" };
	char path[256];

	for (size_t d = 0; d < 2 && !h->tracefs; d++) {
		if (!exists(root, dirs[d]))
			continue;
		h->tracefs = true;
		for (int t = 0; t < KS_TP__COUNT; t++) {
			snprintf(path, sizeof(path), "%s/%s", dirs[d],
				 tp_names[t]);
			h->tp[t] = exists(root, path);
		}
	}
}

void ks_kvmhost__probe(struct ks_kvmhost *h, const char *root)
{
	struct utsname u;
	char path[256];

	memset(h, 0, sizeof(*h));
	if (!*root && !uname(&u))
		snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
	else
		first_line(root, "/proc/sys/kernel/osrelease", h->kernel,
			   sizeof(h->kernel));
	read_cpuinfo(h, root);
	h->kvm_loaded = exists(root, "/sys/module/kvm");
	if (exists(root, "/sys/module/kvm_intel"))
		snprintf(h->module, sizeof(h->module), "kvm_intel");
	else if (exists(root, "/sys/module/kvm_amd"))
		snprintf(h->module, sizeof(h->module), "kvm_amd");
	h->dev_kvm = exists(root, "/dev/kvm");
	h->debugfs_kvm = exists(root, ks_kvmhost_debugfs());
	read_tracepoints(h, root);
	h->btf_vmlinux = exists(root, "/sys/kernel/btf/vmlinux");
	h->btf_kvm = exists(root, "/sys/kernel/btf/kvm");
	if (*h->module) {
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", h->module);
		h->btf_module = exists(root, path);
	}
	if (!strcmp(h->module, "kvm_intel"))
		read_params(h, root, vmx_params,
			    sizeof(vmx_params) / sizeof(vmx_params[0]));
	else if (!strcmp(h->module, "kvm_amd"))
		read_params(h, root, svm_params,
			    sizeof(svm_params) / sizeof(svm_params[0]));
}
