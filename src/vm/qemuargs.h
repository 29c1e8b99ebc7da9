/* qemuargs.h - what a QEMU command line says about its VM.
 *
 * The command line is the one description of a QEMU VM that needs no
 * cooperation from QEMU or libvirt: the VM's name (-name guest=X, which is
 * also libvirt's domain name), UUID, accelerator, NICs (-netdev/-nic/-net
 * joined to their -device by netdev id, for the guest MAC and model),
 * disks (-drive, -blockdev chains and the -device using them) and QMP
 * monitors (-qmp, or -chardev socket + -mon mode=control).  Both QEMU's
 * key=value option syntax (QemuOpts: an implied first key, ",," for a
 * comma) and the JSON syntax libvirt uses are read.
 *
 * What the line cannot say is left for discovery to find in /proc: the tap
 * interface of a netdev passed as an fd, the path of a monitor socket
 * passed as an fd.  Those are returned as fd numbers.
 */
#ifndef KS_VM_QEMUARGS_H
#define KS_VM_QEMUARGS_H

#include <stdbool.h>
#include <stddef.h>

/* Options of one -xxx argument, key=value, in order. */
struct ks_qopt {
	char *key;
	char *val;
};

struct ks_qopts {
	struct ks_qopt *v;
	size_t n;
};

/* Parses "a,k=v,k2=v2" (the first item without '=' is implied_key's value;
 * later bare items are key=on, "noKEY" is KEY=off) or a JSON object, whose
 * nested objects become dotted keys ("file.filename").  0 or -ENOMEM;
 * malformed JSON gives -EINVAL. */
int ks_qopts_parse(const char *s, const char *implied_key, struct ks_qopts *o);
/* The last value of key, or NULL. */
const char *ks_qopts_get(const struct ks_qopts *o, const char *key);
void ks_qopts_fini(struct ks_qopts *o);

enum ks_qemu_accel {
	KS_QEMU_ACCEL_DEFAULT,	/* not said: QEMU's default */
	KS_QEMU_ACCEL_KVM,
	KS_QEMU_ACCEL_TCG,
	KS_QEMU_ACCEL_OTHER,
};

struct ks_qemu_nic {
	char *netdev;		/* netdev id; NULL for a bare device */
	char *type;		/* "tap", "bridge", "user", ... */
	char *ifname;		/* ifname= */
	int fds[8];		/* tap fds passed in (fd=, fds=a:b) */
	size_t nfds;
	char *mac;		/* the device's mac= (or -net nic macaddr=) */
	char *model;		/* device driver, e.g. "virtio-net-pci" */
	char *device;		/* device id= */
};

struct ks_qemu_disk {
	char *id;		/* device id, else drive id or node name */
	char *drive;		/* -drive id or -blockdev node name */
	char *file;		/* image file at the bottom of the chain */
	char *iface;		/* if= of -drive, else the device driver */
	bool readonly;
};

struct ks_qemu_cfg {
	char *name;		/* -name guest=NAME; NULL if absent */
	char *uuid;		/* -uuid; NULL if absent */
	enum ks_qemu_accel accel;
	bool debug_threads;	/* -name ...,debug-threads=on: named threads */
	unsigned smp;		/* -smp N (cpus=N); 0 if not given */
	char *qmp;		/* unix socket path of a QMP monitor */
	int qmp_fd;		/* fd of a QMP listening socket passed in; -1 */
	struct ks_qemu_nic *nics;
	size_t nnics;
	struct ks_qemu_disk *disks;
	size_t ndisks;
};

/* True if argv[0] or the process comm names a QEMU system emulator
 * ("qemu-system-*", "qemu-kvm", "kvm"). */
bool ks_qemu_is_qemu(const char *argv0, const char *comm);

/* Fills cfg from argv.  Unknown options are ignored; a value that cannot
 * be parsed leaves its item out.  0 or -ENOMEM (cfg is then empty). */
int ks_qemu_cfg_parse(char *const *argv, size_t argc, struct ks_qemu_cfg *cfg);
void ks_qemu_cfg_fini(struct ks_qemu_cfg *cfg);

#endif /* KS_VM_QEMUARGS_H */
