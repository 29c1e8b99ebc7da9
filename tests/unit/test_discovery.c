/* test_discovery.c - VM discovery: command lines, devices, /proc scans.
 *
 * The QEMU command-line reader is checked option by option against what
 * QEMU itself does (implied keys, ",," escapes, JSON options, the ids
 * QEMU gives drives without one, -nic and legacy -net, monitors).  The
 * joins of tap descriptors to NICs and of thread names to vCPUs are
 * checked on their own.  Then whole scans run on a fake /proc tree built
 * in a temporary directory - QEMU under KVM and TCG, a non-QEMU KVM VMM,
 * ordinary processes, a zombie, an exiting process - and the tree is
 * changed under discovery (a VM ends, a pid is reused) to check that it
 * follows, with its generation counter.  The query-blockstats parser and
 * the histogram edges are checked against a reply captured from QEMU 7.2.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bpf/loglin.h"
#include "replay/tracefs.h"
#include "vm/blkprobe.h"
#include "vm/elfsym.h"
#include "vm/blockstats.h"
#include "vm/discovery.h"
#include "vm/qemuargs.h"
#include "vm/vmdevs.h"

/* ---- helpers ------------------------------------------------------------- */

/* Splits a command line on spaces ('~' stands for a space inside an
 * argument) into a NULL-terminated argv. */
static size_t split(char *line, char **argv, size_t max)
{
	size_t n = 0;

	for (char *t = strtok(line, " "); t && n < max - 1; t = strtok(NULL, " ")) {
		for (char *p = t; *p; p++)
			if (*p == '~')
				*p = ' ';
		argv[n++] = t;
	}
	argv[n] = NULL;
	return n;
}

static void parse_line(const char *line, struct ks_qemu_cfg *cfg)
{
	char buf[4096], *argv[128];
	size_t argc;

	snprintf(buf, sizeof(buf), "%s", line);
	argc = split(buf, argv, 128);
	assert_int_equal(ks_qemu_cfg_parse(argv, argc, cfg), 0);
}

/* ---- option strings ------------------------------------------------------- */

static void test_qopts(void **state)
{
	struct ks_qopts o;

	(void)state;
	assert_int_equal(ks_qopts_parse("guest=vm1,debug-threads=on", "guest",
					&o), 0);
	assert_string_equal(ks_qopts_get(&o, "guest"), "vm1");
	assert_string_equal(ks_qopts_get(&o, "debug-threads"), "on");
	ks_qopts_fini(&o);
	/* Implied key, ",," for a comma, bare flags, noFLAG. */
	assert_int_equal(ks_qopts_parse("my,,vm,process=q,server,nowait",
					"guest", &o), 0);
	assert_string_equal(ks_qopts_get(&o, "guest"), "my,vm");
	assert_string_equal(ks_qopts_get(&o, "process"), "q");
	assert_string_equal(ks_qopts_get(&o, "server"), "on");
	assert_string_equal(ks_qopts_get(&o, "wait"), "off");
	assert_null(ks_qopts_get(&o, "nowait"));
	ks_qopts_fini(&o);
	/* The last of a repeated key wins, as in QemuOpts. */
	assert_int_equal(ks_qopts_parse("a=1,a=2,,3", NULL, &o), 0);
	assert_string_equal(ks_qopts_get(&o, "a"), "2,3");
	ks_qopts_fini(&o);
	/* JSON: nested objects become dotted keys; numbers, booleans. */
	assert_int_equal(ks_qopts_parse("{\"driver\":\"qcow2\",\"file\":"
					"{\"driver\":\"file\",\"filename\":\"/x\"},"
					"\"fd\":30,\"read-only\":true}", NULL, &o), 0);
	assert_string_equal(ks_qopts_get(&o, "file.filename"), "/x");
	assert_string_equal(ks_qopts_get(&o, "fd"), "30");
	assert_string_equal(ks_qopts_get(&o, "read-only"), "on");
	ks_qopts_fini(&o);
	assert_int_equal(ks_qopts_parse("{\"broken\":", NULL, &o), -EINVAL);
	assert_int_equal(ks_qopts_parse("", "guest", &o), 0);
	assert_int_equal(o.n, 0);
	ks_qopts_fini(&o);
}

/* ---- identity ---------------------------------------------------------------- */

static void test_cfg_identity(void **state)
{
	struct ks_qemu_cfg c;

	(void)state;
	parse_line("/usr/bin/qemu-system-x86_64 -name guest=web1,debug-threads=on "
		   "-uuid 0E1D2C3B-4A59-4687-9A0B-C1D2E3F4A5B1 -enable-kvm "
		   "-smp 4,sockets=1 -m 1024", &c);
	assert_string_equal(c.name, "web1");
	assert_true(c.debug_threads);
	assert_string_equal(c.uuid, "0E1D2C3B-4A59-4687-9A0B-C1D2E3F4A5B1");
	assert_int_equal(c.accel, KS_QEMU_ACCEL_KVM);
	assert_int_equal(c.smp, 4);
	ks_qemu_cfg_fini(&c);

	parse_line("qemu-system-x86_64 --name plain -accel tcg,thread=multi "
		   "-smp cpus=2", &c);
	assert_string_equal(c.name, "plain");
	assert_false(c.debug_threads);
	assert_null(c.uuid);
	assert_int_equal(c.accel, KS_QEMU_ACCEL_TCG);
	assert_int_equal(c.smp, 2);
	ks_qemu_cfg_fini(&c);

	parse_line("qemu-system-x86_64 -machine pc,accel=kvm:tcg", &c);
	assert_null(c.name);
	assert_int_equal(c.accel, KS_QEMU_ACCEL_KVM);
	ks_qemu_cfg_fini(&c);

	/* A kernel command line's "-name" is the value of -append. */
	parse_line("qemu-system-x86_64 -append -name~x -name real -M q35", &c);
	assert_string_equal(c.name, "real");
	assert_int_equal(c.accel, KS_QEMU_ACCEL_DEFAULT);
	ks_qemu_cfg_fini(&c);

	assert_true(ks_qemu_is_qemu("/usr/bin/qemu-system-aarch64", NULL));
	assert_true(ks_qemu_is_qemu(NULL, "qemu-system-x86"));
	assert_true(ks_qemu_is_qemu("/usr/libexec/qemu-kvm", "qemu-kvm"));
	assert_false(ks_qemu_is_qemu("/usr/bin/qemu-img", "qemu-img"));
	assert_false(ks_qemu_is_qemu("bash", "bash"));
}

/* ---- NICs ---------------------------------------------------------------------- */

static void test_cfg_nics(void **state)
{
	struct ks_qemu_cfg c;

	(void)state;
	parse_line("qemu-system-x86_64 "
		   "-netdev tap,id=n0,ifname=tap0,script=no "
		   "-device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01,id=nic0 "
		   "-netdev tap,fds=30:31,id=hostnet1,vhost=on "
		   "-device {\"driver\":\"virtio-net-pci\",\"netdev\":\"hostnet1\","
		   "\"mac\":\"52:54:00:00:00:02\"} "
		   "-nic tap,model=e1000,mac=52:54:00:00:00:03 "
		   "-netdev user,id=u0", &c);
	assert_int_equal(c.nnics, 4);
	assert_string_equal(c.nics[0].netdev, "n0");
	assert_string_equal(c.nics[0].ifname, "tap0");
	assert_string_equal(c.nics[0].mac, "52:54:00:00:00:01");
	assert_string_equal(c.nics[0].model, "virtio-net-pci");
	assert_string_equal(c.nics[0].device, "nic0");
	assert_int_equal(c.nics[1].nfds, 2);
	assert_int_equal(c.nics[1].fds[0], 30);
	assert_int_equal(c.nics[1].fds[1], 31);
	assert_string_equal(c.nics[1].mac, "52:54:00:00:00:02");
	assert_null(c.nics[1].ifname);
	/* -nic: QEMU's netdev name for it, and its own model and MAC. */
	assert_string_equal(c.nics[2].netdev, "__org.qemu.nic0");
	assert_string_equal(c.nics[2].type, "tap");
	assert_string_equal(c.nics[2].model, "e1000");
	assert_string_equal(c.nics[2].mac, "52:54:00:00:00:03");
	assert_string_equal(c.nics[3].type, "user");
	assert_null(c.nics[3].mac);
	ks_qemu_cfg_fini(&c);

	/* Legacy -net: front ends pair with back ends in order. */
	parse_line("qemu-system-x86_64 -net nic,macaddr=52:54:00:00:00:0a,model=rtl8139 "
		   "-net tap,ifname=tapL,script=no", &c);
	assert_int_equal(c.nnics, 1);
	assert_string_equal(c.nics[0].ifname, "tapL");
	assert_string_equal(c.nics[0].mac, "52:54:00:00:00:0a");
	assert_string_equal(c.nics[0].model, "rtl8139");
	ks_qemu_cfg_fini(&c);
}

/* ---- disks ----------------------------------------------------------------------- */

static void test_cfg_disks(void **state)
{
	struct ks_qemu_cfg c;

	(void)state;
	/* Ids QEMU gives drives without one (blockdev.c drive_new). */
	parse_line("qemu-system-x86_64 -drive file=/a.img,if=virtio "
		   "-drive file=/b,,x.img,if=virtio,readonly=on "
		   "-drive file=/c.img -drive file=/d.img "
		   "-cdrom /e.iso -hdd /f.img", &c);
	assert_int_equal(c.ndisks, 6);
	assert_string_equal(c.disks[0].id, "virtio0");
	assert_string_equal(c.disks[0].file, "/a.img");
	assert_string_equal(c.disks[0].iface, "virtio");
	assert_string_equal(c.disks[1].id, "virtio1");
	assert_string_equal(c.disks[1].file, "/b,x.img");
	assert_true(c.disks[1].readonly);
	assert_string_equal(c.disks[2].id, "ide0-hd0");
	assert_string_equal(c.disks[3].id, "ide0-hd1");
	assert_string_equal(c.disks[4].id, "ide1-cd0");
	assert_true(c.disks[4].readonly);
	assert_string_equal(c.disks[5].id, "ide1-hd1");
	ks_qemu_cfg_fini(&c);

	/* -drive if=none used by a -device; a blockdev chain (libvirt). */
	parse_line("qemu-system-x86_64 -drive file=/g.img,if=none,id=d0,format=raw "
		   "-device virtio-blk-pci,drive=d0,id=vd0 "
		   "-blockdev {\"driver\":\"file\",\"filename\":\"/h.qcow2\","
		   "\"node-name\":\"libvirt-1-storage\"} "
		   "-blockdev {\"node-name\":\"libvirt-1-format\",\"driver\":\"qcow2\","
		   "\"file\":\"libvirt-1-storage\",\"read-only\":false} "
		   "-device {\"driver\":\"virtio-blk-pci\",\"drive\":\"libvirt-1-format\","
		   "\"id\":\"virtio-disk0\"} "
		   "-blockdev driver=raw,node-name=n2,file.driver=file,file.filename=/i.img "
		   "-device scsi-hd,drive=n2 "
		   "-drive file=/unused.img,if=none,id=spare", &c);
	assert_int_equal(c.ndisks, 4);
	assert_string_equal(c.disks[0].id, "vd0");
	assert_string_equal(c.disks[0].drive, "d0");
	assert_string_equal(c.disks[0].file, "/g.img");
	assert_string_equal(c.disks[0].iface, "virtio-blk-pci");
	assert_string_equal(c.disks[1].id, "virtio-disk0");
	assert_string_equal(c.disks[1].drive, "libvirt-1-format");
	assert_string_equal(c.disks[1].file, "/h.qcow2");
	assert_false(c.disks[1].readonly);
	/* A device without an id is named by its node. */
	assert_string_equal(c.disks[2].id, "n2");
	assert_string_equal(c.disks[2].file, "/i.img");
	assert_string_equal(c.disks[3].id, "spare");
	assert_string_equal(c.disks[3].iface, "none");
	ks_qemu_cfg_fini(&c);
}

/* ---- monitors ---------------------------------------------------------------------- */

static void test_cfg_monitors(void **state)
{
	struct ks_qemu_cfg c;

	(void)state;
	parse_line("qemu-system-x86_64 -qmp unix:/run/q,,1.sock,server,nowait", &c);
	assert_string_equal(c.qmp, "/run/q,1.sock");
	ks_qemu_cfg_fini(&c);

	parse_line("qemu-system-x86_64 -qmp tcp:localhost:4444,server "
		   "-chardev socket,id=hmp,path=/run/hmp.sock,server=on "
		   "-mon chardev=hmp "
		   "-chardev socket,id=charmonitor,path=/run/mon.sock,server=on,wait=off "
		   "-mon chardev=charmonitor,id=monitor,mode=control", &c);
	/* tcp is not read; a readline (HMP) monitor is not QMP. */
	assert_string_equal(c.qmp, "/run/mon.sock");
	ks_qemu_cfg_fini(&c);

	/* libvirt passes the listening socket as an fd. */
	parse_line("qemu-system-x86_64 -chardev socket,id=charmonitor,fd=23,server=on,wait=off "
		   "-mon chardev=charmonitor,id=monitor,mode=control", &c);
	assert_null(c.qmp);
	assert_int_equal(c.qmp_fd, 23);
	ks_qemu_cfg_fini(&c);

	parse_line("qemu-system-x86_64 -monitor stdio -nographic", &c);
	assert_null(c.qmp);
	assert_int_equal(c.qmp_fd, -1);
	ks_qemu_cfg_fini(&c);
}

/* ---- threads and taps -------------------------------------------------------------- */

static void test_vcpu_names(void **state)
{
	(void)state;
	assert_int_equal(ks_vmdevs_vcpu_of_comm("CPU 0/KVM"), 0);
	assert_int_equal(ks_vmdevs_vcpu_of_comm("CPU 12/TCG"), 12);
	assert_int_equal(ks_vmdevs_vcpu_of_comm("fc_vcpu 3"), 3);
	assert_int_equal(ks_vmdevs_vcpu_of_comm("vcpu7"), 7);
	assert_int_equal(ks_vmdevs_vcpu_of_comm("crosvm_vcpu2"), 2);
	assert_int_equal(ks_vmdevs_vcpu_of_comm("CPU 1/KVMx"), -1);
	assert_int_equal(ks_vmdevs_vcpu_of_comm("CPU /KVM"), -1);
	assert_int_equal(ks_vmdevs_vcpu_of_comm("ALL CPUs/TCG"), -1);
	assert_int_equal(ks_vmdevs_vcpu_of_comm("worker"), -1);
	assert_int_equal(ks_vmdevs_vcpu_of_comm("qemu-system-x86"), -1);
	assert_int_equal(ks_vmdevs_vcpu_of_comm("CPU 99999999/KVM"), -1);
}

static void test_nic_join(void **state)
{
	struct ks_vmdevs_tap taps[] = {
		{ 31, "vnet7", KS_VM_NIC_TAP },	/* multiqueue: fds 30, 31 */
		{ 30, "vnet7", KS_VM_NIC_TAP },
		{ 25, "tapA", KS_VM_NIC_TAP },
		{ 40, "macvtap0", KS_VM_NIC_MACVTAP },
		{ 27, "stray0", KS_VM_NIC_TAP },
	};
	struct ks_qemu_cfg c;
	struct ks_vm_nic *n;
	size_t nn;

	(void)state;
	parse_line("qemu-system-x86_64 "
		   "-netdev tap,id=a,script=no "	/* no fd, no ifname */
		   "-device e1000,netdev=a,mac=52:54:00:00:00:0a "
		   "-netdev tap,fds=30:31,id=b -device virtio-net-pci,netdev=b,mac=52:54:00:00:00:0b "
		   "-netdev tap,fd=40,id=c -device virtio-net-pci,netdev=c,mac=52:54:00:00:00:0c "
		   "-netdev tap,ifname=gone0,id=d", &c);
	assert_int_equal(ks_vmdevs_nics(&c, taps, 5, true, &n, &nn), 0);
	/* One NIC per interface, in fd order. */
	assert_int_equal(nn, 4);
	assert_string_equal(n[0].ifname, "tapA");
	assert_string_equal(n[0].mac, "52:54:00:00:00:0a");	/* by order */
	assert_string_equal(n[1].ifname, "stray0");
	assert_null(n[1].mac);				/* nobody's */
	assert_string_equal(n[2].ifname, "vnet7");
	assert_int_equal(n[2].fd, 30);
	assert_string_equal(n[2].mac, "52:54:00:00:00:0b");	/* by fds */
	assert_string_equal(n[3].ifname, "macvtap0");
	assert_int_equal(n[3].kind, KS_VM_NIC_MACVTAP);
	assert_string_equal(n[3].mac, "52:54:00:00:00:0c");	/* by fd */
	assert_true(ks_vmdevs_nics_equal(n, nn, n, nn));
	assert_false(ks_vmdevs_nics_equal(n, nn, n, nn - 1));
	free(n);
	/* fds unreadable: what the command line names. */
	assert_int_equal(ks_vmdevs_nics(&c, taps, 0, false, &n, &nn), 0);
	assert_int_equal(nn, 1);
	assert_string_equal(n[0].ifname, "gone0");
	free(n);
	ks_qemu_cfg_fini(&c);
}

/* ---- a fake /proc -------------------------------------------------------------------- */

struct fake {
	char root[64];
	char devkvm[96];
};

static void put(const struct fake *f, const char *rel, const void *data,
		size_t len)
{
	char path[512], *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	/* Make the parents. */
	for (slash = strchr(path + strlen(f->root) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

static void puts_(const struct fake *f, const char *rel, const char *s)
{
	put(f, rel, s, strlen(s));
}

static void link_(const struct fake *f, const char *rel, const char *target)
{
	char path[512], dir[512];

	snprintf(dir, sizeof(dir), "%s/%s", f->root, rel);
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
}

/* /proc/PID/stat with comm, state, flags and start time. */
static void stat_(const struct fake *f, int pid, const char *comm, char st,
		  unsigned flags, unsigned long start)
{
	char rel[64], line[256];

	snprintf(rel, sizeof(rel), "%d/stat", pid);
	snprintf(line, sizeof(line), "%d (%s) %c 1 %d %d 0 -1 %u 0 0 0 0 0 0 0 0 "
		 "20 0 3 0 %lu 100000 200 18446744073709551615\n", pid, comm, st,
		 pid, pid, flags, start);
	puts_(f, rel, line);
}

static void cmdline(const struct fake *f, int pid, const char *line)
{
	char rel[64], buf[2048];
	size_t n = strlen(line) + 1;

	snprintf(rel, sizeof(rel), "%d/cmdline", pid);
	memcpy(buf, line, n);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == ' ')
			buf[i] = '\0';
	put(f, rel, buf, n);
}

static void task(const struct fake *f, int pid, int tid, const char *comm)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "%d/task/%d/comm", pid, tid);
	puts_(f, rel, comm);
}

static void fd_(const struct fake *f, int pid, int fd, const char *target,
		const char *fdinfo)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "%d/fd/%d", pid, fd);
	link_(f, rel, target);
	snprintf(rel, sizeof(rel), "%d/fdinfo/%d", pid, fd);
	puts_(f, rel, fdinfo ? fdinfo : "pos:\t0\nflags:\t02\n");
}

static void rm_rf(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/ks-fakeproc.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->devkvm, sizeof(f->devkvm), "%s/devkvm", f->root);
	puts_(f, "devkvm", "");
	/* 100: QEMU under KVM, threads named, a tap, a QMP socket by fd. */
	stat_(f, 100, "qemu-system-x86", 'S', 0x400100, 5000);
	cmdline(f, 100, "/usr/bin/qemu-system-x86_64 -name guest=web1,debug-threads=on "
		"-uuid 0E1D2C3B-4A59-4687-9A0B-C1D2E3F4A5B1 -enable-kvm -smp 2 "
		"-netdev tap,fd=25,id=hostnet0 "
		"-device virtio-net-pci,netdev=hostnet0,id=net0,mac=52:54:00:aa:bb:01 "
		"-drive file=/img/web1.qcow2,if=none,id=drive0 "
		"-device virtio-blk-pci,drive=drive0,id=virtio-disk0 "
		"-chardev socket,id=charmonitor,fd=23,server=on,wait=off "
		"-mon chardev=charmonitor,id=monitor,mode=control");
	task(f, 100, 100, "qemu-system-x86\n");
	task(f, 100, 101, "IO mon_iothread\n");
	task(f, 100, 103, "CPU 1/KVM\n");
	task(f, 100, 102, "CPU 0/KVM\n");
	fd_(f, 100, 0, "/dev/null", NULL);
	fd_(f, 100, 12, f->devkvm, NULL);
	fd_(f, 100, 13, "anon_inode:kvm-vm", NULL);
	fd_(f, 100, 14, "anon_inode:kvm-vcpu:0", NULL);
	fd_(f, 100, 23, "socket:[987654]", NULL);
	fd_(f, 100, 25, "/dev/net/tun", "pos:\t0\nflags:\t0104002\nmnt_id:\t25\n"
	    "ino:\t1087\niff:\tvnet3\n");
	puts_(f, "100/net/unix", "Num       RefCount Protocol Flags    Type St "
	      "Inode Path\n"
	      "0000000000000000: 00000002 00000000 00010000 0001 01 987653 /run/other.sock\n"
	      "0000000000000000: 00000002 00000000 00010000 0001 01 987654 "
	      "/var/lib/libvirt/qemu/domain-1-web1/monitor.sock\n");
	/* 200: a shell. */
	stat_(f, 200, "bash", 'S', 0x400100, 6000);
	cmdline(f, 200, "-bash");
	fd_(f, 200, 0, "/dev/pts/0", NULL);
	/* 300: Firecracker, a KVM VMM that is not QEMU. */
	stat_(f, 300, "firecracker", 'S', 0x400100, 7000);
	cmdline(f, 300, "/usr/bin/firecracker --api-sock /run/fc.sock");
	task(f, 300, 300, "firecracker\n");
	task(f, 300, 301, "fc_vcpu 0\n");
	fd_(f, 300, 5, f->devkvm, NULL);
	fd_(f, 300, 6, "anon_inode:kvm-vm", NULL);
	/* 400: a QEMU zombie; 500: a QEMU exiting (PF_EXITING). */
	stat_(f, 400, "qemu-system-x86", 'Z', 0x400100, 8000);
	stat_(f, 500, "qemu-system-x86", 'R', 0x400104, 8500);
	cmdline(f, 500, "qemu-system-x86_64 -name guest=dying");
	/* 600: QEMU under TCG, no KVM fds, unnamed threads. */
	stat_(f, 600, "qemu-system-x86", 'S', 0x400100, 9000);
	cmdline(f, 600, "qemu-system-x86_64 -accel tcg -qmp unix:/run/q600.sock,server,nowait "
		"-drive file=/t.img,if=virtio");
	task(f, 600, 600, "qemu-system-x86\n");
	task(f, 600, 601, "CPU 0/TCG\n");	/* not read: no debug-threads */
	fd_(f, 600, 3, "/dev/null", NULL);
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	rm_rf(f->root);
	free(f);
	return 0;
}

static struct ks_vmdisc *fake_disc(const struct fake *f)
{
	struct ks_vmdisc_opts o;
	struct ks_vmdisc *d;
	struct ks_err err;

	ks_vmdisc_opts_init(&o);
	o.procroot = f->root;
	o.devkvm = f->devkvm;
	o.debugfs = "";
	o.no_watch = true;
	d = ks_vmdisc__new(&o, &err);
	assert_non_null(d);
	return d;
}

static void test_scan(void **state)
{
	const struct fake *f = *state;
	struct ks_vmdisc *d = fake_disc(f);
	const struct ks_vm *vm;

	assert_int_equal(ks_vmdisc__scan(d), 0);
	/* 100, 300, 600; not the shell, the zombie or the exiting one. */
	assert_int_equal(ks_vmdisc__count(d), 3);
	assert_int_equal(ks_vmdisc__at(d, 0)->pid, 100);
	assert_int_equal(ks_vmdisc__at(d, 1)->pid, 300);
	assert_int_equal(ks_vmdisc__at(d, 2)->pid, 600);
	assert_null(ks_vmdisc__find(d, 200));
	assert_null(ks_vmdisc__find(d, 400));
	assert_null(ks_vmdisc__find(d, 500));

	vm = ks_vmdisc__find(d, 100);
	assert_non_null(vm);
	assert_string_equal(vm->name, "web1");
	assert_true(vm->named);
	assert_string_equal(vm->uuid, "0e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b1");
	assert_int_equal(vm->accel, KS_VM_ACCEL_KVM);
	assert_int_equal(vm->start, 5000);
	assert_int_equal(vm->smp, 2);
	assert_int_equal(vm->nvcpus, 2);
	assert_int_equal(vm->vcpus[0].index, 0);
	assert_int_equal(vm->vcpus[0].tid, 102);
	assert_int_equal(vm->vcpus[1].index, 1);
	assert_int_equal(vm->vcpus[1].tid, 103);
	assert_int_equal(ks_vm_vcpu_of_tid(vm, 103), 1);
	assert_int_equal(ks_vm_vcpu_of_tid(vm, 101), -1);
	assert_int_equal(vm->nnics, 1);
	assert_string_equal(vm->nics[0].ifname, "vnet3");
	assert_string_equal(vm->nics[0].mac, "52:54:00:aa:bb:01");
	assert_string_equal(vm->nics[0].device, "net0");
	assert_int_equal(vm->ndisks, 1);
	assert_string_equal(vm->disks[0].id, "virtio-disk0");
	assert_string_equal(vm->disks[0].file, "/img/web1.qcow2");
	assert_string_equal(vm->qmp, "/var/lib/libvirt/qemu/domain-1-web1/monitor.sock");

	vm = ks_vmdisc__find(d, 300);
	assert_string_equal(vm->name, "firecracker-300");
	assert_false(vm->named);
	assert_false(vm->qemu);
	assert_int_equal(vm->accel, KS_VM_ACCEL_KVM);
	assert_int_equal(vm->nvcpus, 1);
	assert_int_equal(vm->vcpus[0].tid, 301);
	assert_int_equal(vm->ndisks, 0);

	vm = ks_vmdisc__find(d, 600);
	assert_string_equal(vm->name, "qemu-system-x86-600");
	assert_int_equal(vm->accel, KS_VM_ACCEL_TCG);
	assert_int_equal(vm->nvcpus, 0);
	assert_string_equal(vm->qmp, "/run/q600.sock");
	assert_string_equal(vm->disks[0].id, "virtio0");
	ks_vmdisc__free(d);
}

static void test_changes(void **state)
{
	const struct fake *f = *state;
	struct ks_vmdisc *d = fake_disc(f);
	uint64_t g0, g1, s100, s300;
	char path[256];

	assert_int_equal(ks_vmdisc__scan(d), 0);
	g0 = ks_vmdisc__generation(d);
	s100 = ks_vmdisc__find(d, 100)->serial;
	s300 = ks_vmdisc__find(d, 300)->serial;
	assert_int_not_equal(s100, s300);
	/* Nothing changed: the same generation, the same serials. */
	assert_int_equal(ks_vmdisc__scan(d), 0);
	assert_int_equal(ks_vmdisc__generation(d), g0);
	assert_int_equal(ks_vmdisc__find(d, 100)->serial, s100);
	assert_int_equal(ks_vmdisc__update(d, UINT64_MAX), 0);	/* fresh */
	assert_int_equal(ks_vmdisc__update(d, 0), 1);

	/* A NIC is hot-plugged into 100. */
	fd_(f, 100, 26, "/dev/net/tun", "iff:\tvnet4\n");
	assert_int_equal(ks_vmdisc__scan(d), 0);
	g1 = ks_vmdisc__generation(d);
	assert_int_not_equal(g1, g0);
	assert_int_equal(ks_vmdisc__find(d, 100)->nnics, 2);

	/* 100 ends. */
	snprintf(path, sizeof(path), "%s/100", f->root);
	rm_rf(path);
	assert_int_equal(ks_vmdisc__scan(d), 0);
	assert_int_not_equal(ks_vmdisc__generation(d), g1);
	assert_null(ks_vmdisc__find(d, 100));
	assert_int_equal(ks_vmdisc__count(d), 2);

	/* 300's pid is reused by a shell: another start time, no VM. */
	snprintf(path, sizeof(path), "%s/300", f->root);
	rm_rf(path);
	stat_(f, 300, "bash", 'S', 0x400100, 99999);
	cmdline(f, 300, "bash");
	fd_(f, 300, 0, "/dev/null", NULL);
	assert_int_equal(ks_vmdisc__scan(d), 0);
	assert_null(ks_vmdisc__find(d, 300));
	/* ... and then by a new Firecracker: a new VM, a new serial. */
	stat_(f, 300, "firecracker", 'S', 0x400100, 123456);
	fd_(f, 300, 6, "anon_inode:kvm-vm", NULL);
	assert_int_equal(ks_vmdisc__scan(d), 0);
	assert_non_null(ks_vmdisc__find(d, 300));
	assert_int_equal(ks_vmdisc__find(d, 300)->start, 123456);
	assert_true(ks_vmdisc__find(d, 300)->serial > s300);
	assert_true(ks_vmdisc__stats(d)->removed >= 2);
	ks_vmdisc__free(d);
}

/* A process that holds /dev/kvm but has no VM yet is looked at again
 * every scan; one that becomes a VM is found. */
static void test_candidate(void **state)
{
	const struct fake *f = *state;
	struct ks_vmdisc *d = fake_disc(f);

	stat_(f, 700, "cloud-hypervisor", 'S', 0x400100, 11000);
	cmdline(f, 700, "cloud-hypervisor --kernel x");
	fd_(f, 700, 4, f->devkvm, NULL);
	assert_int_equal(ks_vmdisc__scan(d), 0);
	assert_null(ks_vmdisc__find(d, 700));
	fd_(f, 700, 5, "anon_inode:kvm-vm", NULL);
	task(f, 700, 701, "vcpu0\n");
	assert_int_equal(ks_vmdisc__scan(d), 0);
	assert_non_null(ks_vmdisc__find(d, 700));
	assert_int_equal(ks_vmdisc__find(d, 700)->vcpus[0].tid, 701);
	ks_vmdisc__free(d);
}

/* With the /dev/kvm watch on, a process once seen without a VM is not
 * read again until /dev/kvm is opened (the only way to get a VM); the
 * open is a change signal that makes the next update rescan at once. */
static void test_watch(void **state)
{
	const struct fake *f = *state;
	struct ks_vmdisc_opts o;
	struct ks_vmdisc *d;
	struct ks_err err;
	int fd;

	ks_vmdisc_opts_init(&o);
	o.procroot = f->root;
	o.devkvm = f->devkvm;
	o.debugfs = "";
	d = ks_vmdisc__new(&o, &err);
	assert_non_null(d);
	assert_true(ks_vmdisc__stats(d)->watch & 1u);
	stat_(f, 800, "crosvm", 'S', 0x400100, 12000);
	cmdline(f, 800, "crosvm run");
	fd_(f, 800, 3, "/dev/null", NULL);
	assert_int_equal(ks_vmdisc__scan(d), 0);
	assert_null(ks_vmdisc__find(d, 800));
	/* A VM fd without an open of /dev/kvm: not looked for. */
	fd_(f, 800, 7, "anon_inode:kvm-vm", NULL);
	assert_int_equal(ks_vmdisc__update(d, UINT64_MAX), 0);
	assert_int_equal(ks_vmdisc__scan(d), 0);
	assert_null(ks_vmdisc__find(d, 800));
	/* /dev/kvm opened: the next update rescans and reads fds again. */
	fd = open(f->devkvm, O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ks_vmdisc__update(d, UINT64_MAX), 1);
	assert_non_null(ks_vmdisc__find(d, 800));
	assert_true(ks_vmdisc__stats(d)->signals >= 1);
	ks_vmdisc__free(d);
}

static void test_bad_root(void **state)
{
	struct ks_vmdisc_opts o;
	struct ks_err err;

	(void)state;
	ks_vmdisc_opts_init(&o);
	o.procroot = "/nonexistent/proc";
	o.no_watch = true;
	ks_err_clear(&err);
	assert_null(ks_vmdisc__new(&o, &err));
	assert_string_equal(err.param, "procroot");
	assert_non_null(strstr(err.msg, "/nonexistent/proc"));
}

/* ---- query-blockstats ----------------------------------------------------------------- */

/* Cut from QEMU 7.2's reply for -drive if=none,id=d0 + -device
 * virtio-blk-pci,id=vd0 and a -drive if=virtio, plus a histogram. */
static const char *blockstats_reply =
	"[{\"device\": \"d0\", \"stats\": {\"unmap_operations\": 0, "
	"\"flush_total_time_ns\": 0, \"wr_bytes\": 4096, \"wr_operations\": 1, "
	"\"failed_wr_operations\": 0, \"rd_bytes\": 1536, \"rd_operations\": 3, "
	"\"flush_operations\": 2, \"unmap_bytes\": 0, "
	"\"rd_latency_histogram\": {\"boundaries\": [10, 50, 100], "
	"\"bins\": [1, 2, 0, 0]}}, \"node-name\": \"#block199\", "
	"\"qdev\": \"/machine/peripheral/vd0/virtio-backend\"}, "
	"{\"device\": \"virtio0\", \"stats\": {\"rd_operations\": 7}, "
	"\"qdev\": \"/machine/peripheral-anon/device[0]/virtio-backend\"}, "
	"{\"device\": \"\", \"stats\": {}, \"node-name\": \"libvirt-1-format\"}, "
	"{\"device\": \"x\"}]";

static void test_blockstats(void **state)
{
	struct ks_blockstats bs;
	const struct ks_bs_dev *d;
	json_t *j = json_loads(blockstats_reply, 0, NULL);
	char buf[64];

	(void)state;
	assert_non_null(j);
	assert_int_equal(ks_blockstats_parse(j, &bs), 0);
	json_decref(j);
	assert_int_equal(bs.n, 3);	/* "x" has no stats */
	d = ks_blockstats_find(&bs, "vd0");
	assert_non_null(d);
	assert_string_equal(d->qdev, "/machine/peripheral/vd0/virtio-backend");
	assert_int_equal(d->ops[KS_BS_READ], 3);
	assert_int_equal(d->bytes[KS_BS_READ], 1536);
	assert_int_equal(d->ops[KS_BS_WRITE], 1);
	assert_int_equal(d->ops[KS_BS_FLUSH], 2);
	assert_int_equal(d->hist[KS_BS_READ].nbins, 4);
	assert_int_equal(d->hist[KS_BS_READ].bins[1], 2);
	assert_false(ks_blockstats_hist_ours(&d->hist[KS_BS_READ]));
	assert_int_equal(d->hist[KS_BS_WRITE].nbins, 0);
	assert_non_null(ks_blockstats_find(&bs, "virtio0"));
	assert_non_null(ks_blockstats_find(&bs, "libvirt-1-format"));
	ks_blockstats_fini(&bs);

	assert_string_equal(ks_blockstats_name("d", "/machine/peripheral/id9/x",
					       NULL, buf, sizeof(buf)), "id9");
	assert_string_equal(ks_blockstats_name("", "/machine/peripheral-anon/d",
					       "n", buf, sizeof(buf)), "n");
	assert_null(ks_blockstats_name("", NULL, "", buf, sizeof(buf)));
	j = json_loads("{\"a\": 1}", 0, NULL);
	assert_int_equal(ks_blockstats_parse(j, &bs), -EPROTO);
	json_decref(j);
}

/* Our boundaries are consecutive log-linear bucket edges, so bin i's
 * records land in exactly the bucket QEMU counted them in. */
static void test_hist_edges(void **state)
{
	const uint64_t *b;
	size_t n = ks_blockstats_bounds(&b);
	struct ks_bs_hist h;
	json_t *args;

	(void)state;
	assert_true(n > 100);
	assert_int_equal(b[0], 256);
	assert_int_equal(b[n - 1], 1ULL << 36);
	for (size_t i = 1; i < n; i++) {
		assert_int_equal(ks_ll_index(b[i]), ks_ll_index(b[i - 1]) + 1);
		assert_int_equal(ks_ll_index(b[i] - 1), ks_ll_index(b[i - 1]));
		assert_int_equal(ks_blockstats_bin_latency(i), b[i - 1]);
	}
	assert_int_equal(ks_blockstats_bin_latency(0), 0);
	assert_int_equal(ks_blockstats_bin_latency(n), 1ULL << 36);
	h.bounds = (uint64_t *)b;
	h.nbins = n + 1;
	assert_true(ks_blockstats_hist_ours(&h));
	h.nbins = n;
	assert_false(ks_blockstats_hist_ours(&h));
	args = ks_blockstats_hist_args("/machine/peripheral/vd0/virtio-backend");
	assert_non_null(args);
	assert_string_equal(json_string_value(json_object_get(args, "id")),
			    "/machine/peripheral/vd0/virtio-backend");
	assert_int_equal(json_array_size(json_object_get(args, "boundaries")), n);
	json_decref(args);
}

/* ---- uprobe events ---------------------------------------------------------- */

/* Lines as the instance's trace_pipe prints them (QEMU 7.2, TCG). */
static const char *const up_lines[] = {
	/* Two 4 KiB reads merged into one 8 KiB submission at 4096. */
	" qemu-system-x86-17108   (  17108) [000] DBZff  3081.616149: start: "
	"(0x55b326d500b0) stats=0x55b3674fb620 cookie=0x55b3673ff798 bytes=4096 type=1",
	" qemu-system-x86-17108   (  17108) [000] DBZff  3081.616150: start: "
	"(0x55b326d500b0) stats=0x55b3674fb620 cookie=0x55b3673ff7f0 bytes=4096 type=1",
	" qemu-system-x86-17108   (  17108) [000] DBZff  3081.616157: readv: "
	"(0x55b326d571c0) blk=0x55b3674fb500 off=4096 size=8192 name=\"d0\"",
	" qemu-system-x86-17108   (  17108) [000] DBZff  3081.617201: done: "
	"(0x55b326d50270) stats=0x55b3674fb620 cookie=0x55b3673ff7f0 bytes=4096 "
	"start=3081616150925 type=1",
	" qemu-system-x86-17108   (  17108) [000] DBZff  3081.617301: done: "
	"(0x55b326d50270) stats=0x55b3674fb620 cookie=0x55b3673ff798 bytes=4096 "
	"start=3081616149000 type=1",
	/* A flush: no submission probe, no offset. */
	" IO iothread1-17111   (  17108) [001] ....  3081.700000: start: "
	"(0x1) stats=0x55b3674fb620 cookie=0x77 bytes=0 type=3",
	" IO iothread1-17111   (  17108) [001] ....  3081.700500: failed: "
	"(0x2) stats=0x55b3674fb620 cookie=0x77 bytes=0 start=3081700001000 type=3",
	/* A write whose start was missed (kvmscope began mid-flight). */
	" qemu-system-x86-17108   (  17108) [000] ....  3081.800000: done: "
	"(0x3) stats=0x55b3674fb620 cookie=0x99 bytes=512 start=3081799000000 type=2",
};

static void test_blkprobe(void **state)
{
	struct ks_blkprobe *b = ks_blkprobe__new(70222);
	struct ks_blkop ops[8];
	size_t nops = 0;

	(void)state;
	assert_non_null(b);
	for (size_t i = 0; i < sizeof(up_lines) / sizeof(up_lines[0]); i++) {
		struct ks_tfs_event te;
		struct ks_blkev ev;
		uint64_t lost;

		assert_int_equal(ks_tfs_parse_line(up_lines[i], strlen(up_lines[i]),
						   &te, &lost), KS_TFS_EVENT);
		assert_true(te.has_tgid);
		assert_int_equal(ks_blkev_parse(te.name, te.name_len, te.fields,
						te.fields_len, &ev), 0);
		ev.tgid = te.tgid;
		ev.tid = te.tid;
		ev.ts = te.ts;
		if (ks_blkprobe__feed(b, &ev, &ops[nops]) == 1)
			nops++;
	}
	assert_int_equal(nops, 4);
	/* The second request completed first; merged offsets in order. */
	assert_int_equal(ops[0].op, KS_BS_READ);
	assert_true(ops[0].has_offset);
	assert_int_equal(ops[0].offset, 8192);
	assert_int_equal(ops[0].bytes, 4096);
	assert_int_equal(ops[0].latency, 3081617201000ULL - 3081616150925ULL);
	assert_string_equal(ops[0].disk, "d0");
	assert_int_equal(ops[1].offset, 4096);
	assert_int_equal(ops[1].tgid, 17108);
	assert_int_equal(ops[2].op, KS_BS_FLUSH);
	assert_true(ops[2].failed);
	assert_false(ops[2].has_offset);
	assert_int_equal(ops[2].latency, 499000);
	assert_int_equal(ops[3].op, KS_BS_WRITE);
	assert_false(ops[3].has_offset);
	assert_int_equal(ops[3].bytes, 512);
	assert_string_equal(ops[3].disk, "d0");	/* learned from the reads */
	assert_int_equal(ks_blkprobe__stats(b)->no_offset, 1);
	ks_blkprobe__free(b);
}

static void test_blkev_parse(void **state)
{
	struct ks_blkev ev;
	const char *f = "blk=0x1 off=-5 size=12 name=(fault)";

	(void)state;
	assert_int_equal(ks_blkev_parse("writev", 6, f, strlen(f), &ev), 0);
	assert_int_equal(ev.kind, KS_BLKEV_WRITEV);
	assert_int_equal(ev.offset, -5);
	assert_string_equal(ev.name, "");
	f = "blk=0x1 off=0 size=1 name=\"a b\"";
	assert_int_equal(ks_blkev_parse("discard", 7, f, strlen(f), &ev), 0);
	assert_string_equal(ev.name, "a b");
	f = "stats=0x1 cookie=0x2 bytes=3";
	assert_int_equal(ks_blkev_parse("start", 5, f, strlen(f), &ev), -EINVAL);
	assert_int_equal(ks_blkev_parse("other", 5, f, strlen(f), &ev), -EINVAL);
	f = "stats=0x1 cookie=zz bytes=3 type=1";
	assert_int_equal(ks_blkev_parse("start", 5, f, strlen(f), &ev), -EINVAL);
	/* BlockAcctType moved in QEMU 8.1 (zone append before flush). */
	assert_int_equal(ks_blkprobe_op(70222, 3), KS_BS_FLUSH);
	assert_int_equal(ks_blkprobe_op(70222, 4), KS_BS_DISCARD);
	assert_int_equal(ks_blkprobe_op(80100, 3), KS_BS_WRITE);
	assert_int_equal(ks_blkprobe_op(80100, 4), KS_BS_FLUSH);
	assert_int_equal(ks_blkprobe_op(80100, 5), KS_BS_DISCARD);
	assert_int_equal(ks_blkprobe_op(70222, 0), -1);
	assert_int_equal(ks_blkprobe_op(70222, 9), -1);
}

/* Offsets from .dynsym, checked against the running code: the bytes at
 * libc's file offset for getpid are the bytes the process runs. */
static void test_elfsym(void **state)
{
	const char *const names[] = { "getpid", "no_such_function_here" };
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	unsigned char file[16];
	void *h, *fn;
	uint64_t off[2];
	int fd;

	(void)state;
	if (access(libc, R_OK) || !(h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD)))
		skip();
	fn = dlsym(h, "getpid");
	assert_non_null(fn);
	assert_int_equal(ks_elf_func_offsets(libc, names, 2, off), 1);
	assert_true(off[0] > 0);
	assert_int_equal(off[1], 0);
	fd = open(libc, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, file, sizeof(file), (off_t)off[0]), sizeof(file));
	close(fd);
	assert_memory_equal(file, fn, sizeof(file));
	dlclose(h);
	{
		char tmp[] = "/tmp/ks-notelf.XXXXXX";
		int t = mkstemp(tmp);

		assert_true(t >= 0);
		assert_int_equal(write(t, "\177ELF but not really", 20), 20);
		close(t);
		assert_int_equal(ks_elf_func_offsets(tmp, names, 2, off),
				 -ENOEXEC);
		unlink(tmp);
	}
	assert_int_equal(ks_elf_func_offsets("/nonexistent", names, 2, off),
			 -ENOENT);
	assert_int_equal(ks_elf_qemu_version(libc), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qopts),
		cmocka_unit_test(test_cfg_identity),
		cmocka_unit_test(test_cfg_nics),
		cmocka_unit_test(test_cfg_disks),
		cmocka_unit_test(test_cfg_monitors),
		cmocka_unit_test(test_vcpu_names),
		cmocka_unit_test(test_nic_join),
		cmocka_unit_test_setup_teardown(test_scan, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_changes, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_candidate, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_watch, fake_setup,
						fake_teardown),
		cmocka_unit_test(test_bad_root),
		cmocka_unit_test(test_blockstats),
		cmocka_unit_test(test_hist_edges),
		cmocka_unit_test(test_blkprobe),
		cmocka_unit_test(test_blkev_parse),
		cmocka_unit_test(test_elfsym),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
