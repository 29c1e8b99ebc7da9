/* kvmtest.c - a tiny VMM on the raw KVM API whose VM exits are known.
 *
 * kvmscope's lab boots a Linux L1 guest under QEMU TCG (which emulates AMD
 * SVM), and inside it this program is the L2: it opens /dev/kvm, makes a VM
 * with one 64 KiB memslot at GPA 0 and no in-kernel irqchip, and runs a few
 * bytes of guest code whose exits the tests can count exactly.  In the
 * default "burst" mode each vCPU starts in real mode and interleaves N
 * writes to port 0x10 (userspace io exits), M byte writes to the unbacked
 * GPA 0x10000 (npf exits that reach userspace as KVM_EXIT_MMIO) and K cpuid
 * (handled in the kernel), then halts: one KVM_EXIT_HLT ends the vCPU.
 *
 * Interrupts are injected with KVM_INTERRUPT, the userspace-irqchip way:
 * only when kvm_run says the guest is ready, asking for an interrupt window
 * otherwise.  Every vector has a 7-byte handler that reports its vector on
 * port 0x11, so delivered interrupts are counted per vector next to the
 * injected ones.  Injections are driven by count (-i: every K-th port-0x10
 * exit, deterministic), by time (-p: every P ms at a fixed phase of
 * CLOCK_MONOTONIC, or of the wall clock with -W, like a timer tick), or
 * follow work and sleep (-s/-V: after each burst the guest halts, the host
 * sleeps, then wakes it with a vector, like a device interrupt ending an
 * idle period; the mean work and wake-to-wake times are reported, since
 * they set the slope of the stair such a device draws on a subsecond
 * heatmap).  -d repeats bursts for a duration.
 *
 * The "cr3" mode (-r A:B) starts each vCPU in 32-bit protected mode with
 * paging and two page directories; the guest spins A units of time under
 * the first cr3 and B under the second, with one port-0x12 exit per cycle,
 * so that cr3 sampling can be checked against a known time ratio.  -R C:D@S
 * changes the ratio to C:D at the first cycle end after S seconds, after a
 * pause of PAUSE_S with the vCPUs idle, so that the two ratios fall in
 * separate wall-clock seconds and one VM draws "a process's share shrinks".
 *
 * After the run it prints key=value counts, and, while the VM is still
 * open, the VM's debugfs stats and its binary stats (KVM_GET_STATS_FD).
 * It is built static (the L1 userland is busybox) by tests/lab/build.sh.
 * Exit status: 0 done, 1 a system call failed, 2 usage, 3 an exit or
 * port it did not expect, 4 the guest shut down (a triple fault, which
 * the guest code here never causes: the scenarios run such a run again
 * once, and say so).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE	0x10000	/* the memslot; GPA 0x10000 up is MMIO */
#define CODE_GPA	0x1000
#define PARAM_GPA	0x500	/* per-vCPU parameter block ... */
#define PARAM_SIZE	0x20	/* ... of this size, addressed through DS */
#define STUB_GPA	0x3000	/* 8-byte interrupt handler per vector */
#define PD_A_GPA	0x4000	/* cr3 mode: the two page directories */
#define PD_B_GPA	0x5000
#define STACK_TOP	0x8000
#define STACK_SIZE	0x400
#define MAX_VCPUS	8
#define NVEC		256
/* -R: idle time between the two ratios: at least two whole seconds, so
 * that one stays empty even where a source credits the first moments of a
 * second to the one before. */
#define PAUSE_S		3.0
#define QUEUE_LEN	64

#define PORT_WORK	0x10
#define PORT_ISR	0x11
#define PORT_CYCLE	0x12

/* offsets in a vCPU's parameter block */
#define P_NIO		0x0
#define P_NMMIO		0x4
#define P_NCPUID	0x8
#define P_WAKE		0xc

/*
 * Guest code, assembled by gas into .rodata and copied to CODE_GPA.  The
 * real-mode part reads its counts through DS, which the host points at the
 * vCPU's own parameter block, so vCPUs share code but not counts.  After a
 * burst it halts until the host sets the wake word, so an interrupt taken
 * while "asleep" does not start the next burst early.
 */
extern const unsigned char guest_blob[], guest_blob_end[], guest_rm[],
	guest_pm[];
__asm__(
	".pushsection .rodata\n"
	".globl guest_blob, guest_blob_end, guest_rm, guest_pm\n"
	"guest_blob:\n"
	".code16\n"
	"guest_rm:\n"
	"	sti\n"
	"rm_burst:\n"
	"	movl	0x0, %esi\n"		/* P_NIO */
	"	movl	0x4, %edi\n"		/* P_NMMIO */
	"	movl	0x8, %ebp\n"		/* P_NCPUID */
	"rm_loop:\n"
	"	testl	%esi, %esi\n"
	"	jz	1f\n"
	"	outb	%al, $0x10\n"
	"	decl	%esi\n"
	"1:	testl	%edi, %edi\n"
	"	jz	2f\n"
	"	movb	%al, %es:0\n"		/* ES base 0x10000: MMIO */
	"	decl	%edi\n"
	"2:	testl	%ebp, %ebp\n"
	"	jz	3f\n"
	"	xorl	%eax, %eax\n"
	"	cpuid\n"
	"	decl	%ebp\n"
	"3:	movl	%esi, %eax\n"
	"	orl	%edi, %eax\n"
	"	orl	%ebp, %eax\n"
	"	jnz	rm_loop\n"
	"rm_sleep:\n"
	"	hlt\n"
	"	cmpl	$0, 0xc\n"		/* P_WAKE */
	"	je	rm_sleep\n"
	"	movl	$0, 0xc\n"
	"	jmp	rm_burst\n"
	".code32\n"
	"guest_pm:\n"				/* ebx, ebp: cr3 A, B; */
	"	movl	%ebx, %cr3\n"		/* esi, edi: spins in A, B */
	"	movl	%esi, %ecx\n"
	"4:	decl	%ecx\n"
	"	jnz	4b\n"
	"	movl	%ebp, %cr3\n"
	"	movl	%edi, %ecx\n"
	"5:	decl	%ecx\n"
	"	jnz	5b\n"
	"	outb	%al, $0x12\n"
	"	jmp	guest_pm\n"
	"guest_blob_end:\n"
	".code64\n"
	".popsection\n");

enum mode { MODE_BURST, MODE_CR3 };

struct opts {
	enum mode mode;
	long n_io, n_mmio, n_cpuid;	/* per burst; -1: default */
	int vcpus;
	long inject_every;		/* -i: every K-th port-0x10 exit */
	int vec;			/* -v: vector of -i and -p */
	long period_ms;			/* -p */
	long phase_ms;			/* -P; -1: half the period */
	int wake_vec;			/* -V; -1: none */
	long sleep_ms;			/* -s */
	double duration;		/* -d seconds; 0: one burst */
	int hold;			/* -H seconds */
	long ratio_a, ratio_b;		/* -r A:B */
	long ratio_c, ratio_d;		/* -R C:D@S; 0: no change */
	double switch_s;		/* -R: S */
	bool wall_phase;		/* -W: -P is a phase of the wall clock */
	long spin_unit;			/* -u: loop iterations per unit */
	bool no_stats;			/* -q */
};

struct vcpu {
	pthread_t th;
	int idx, fd;
	struct kvm_run *run;
	uint8_t *param;
	uint64_t exits, io, isr, cycles, mmio, hlt, irqwin, intr;
	uint64_t bursts, missed, overflow;
	uint64_t injected[NVEC], delivered[NVEC];
	uint8_t queue[QUEUE_LEN];	/* vectors waiting for a window */
	unsigned int qhead, qlen;
	bool asleep, switched;
	double start, end, next_tick, wake_at, secs;
	double work_start, work_sum, last_wake, cycle_sum;
	uint64_t works, wakes, cycles_before;
	double switch_wall, resume_wall;	/* -R, on the wall clock */
	volatile double run_since;	/* in KVM_RUN since, 0: not in it */
	uint64_t kicks;			/* watchdog kicks out of KVM_RUN */
};

enum step { GO, STOP };

static struct opts o = {
	.n_io = 1000, .n_mmio = -1, .n_cpuid = -1, .vcpus = 1,
	.vec = 0x20, .phase_ms = -1, .wake_vec = -1, .spin_unit = 100000,
};
static int kvm_fd, vm_fd;
static uint8_t *mem;
static double wall_minus_mono;	/* -W: CLOCK_REALTIME - CLOCK_MONOTONIC */

static void die(const char *what)
{
	fprintf(stderr, "kvmtest: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage_error(const char *opt, const char *msg)
{
	fprintf(stderr, "kvmtest: %s: %s (see kvmtest -h)\n", opt, msg);
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t };

	ts.tv_nsec = (long)((t - ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

static bool timed(void)
{
	return o.duration > 0 || o.period_ms > 0;
}

/* ---- options ---- */

static long num_arg(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end)
		usage_error(opt, "not a number");
	if (v < lo || v > hi)
		usage_error(opt, "out of range");
	return v;
}

static void parse_ratio(const char *s)
{
	char a[32];
	const char *colon = strchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(a))
		usage_error("-r", "expected A:B, e.g. 3:1");
	memcpy(a, s, colon - s);
	a[colon - s] = 0;
	o.ratio_a = num_arg("-r", a, 1, 1000);
	o.ratio_b = num_arg("-r", colon + 1, 1, 1000);
	o.mode = MODE_CR3;
}

/* -R C:D@S */
static void parse_switch(const char *s)
{
	char r[32];
	const char *at = strchr(s, '@'), *colon = strchr(s, ':');

	if (!at || !colon || colon > at || (size_t)(at - s) >= sizeof(r))
		usage_error("-R", "expected C:D@S, e.g. 1:19@10");
	memcpy(r, s, colon - s);
	r[colon - s] = 0;
	o.ratio_c = num_arg("-R", r, 1, 1000);
	memcpy(r, colon + 1, at - colon - 1);
	r[at - colon - 1] = 0;
	o.ratio_d = num_arg("-R", r, 1, 1000);
	o.switch_s = num_arg("-R", at + 1, 1, 86400);
}

static void usage(void)
{
	puts("usage: kvmtest [options]\n"
	     "  -n N    port-0x10 writes per burst (1000)\n"
	     "  -m M    MMIO writes to GPA 0x10000 per burst (N/16)\n"
	     "  -C K    cpuid per burst (N/16)\n"
	     "  -c V    vCPUs, 1..8 (1)\n"
	     "  -i K    inject vector -v after every K-th port-0x10 exit\n"
	     "  -v VEC  vector for -i and -p (0x20)\n"
	     "  -p MS   inject -v every MS ms, at phase -P of CLOCK_MONOTONIC\n"
	     "  -P MS   phase of -p within its period (half the period)\n"
	     "  -W      -P is a phase of the wall clock (CLOCK_REALTIME)\n"
	     "  -s MS   after each burst, halt MS ms before the next\n"
	     "  -V VEC  wake the halted guest with vector VEC\n"
	     "  -d SEC  repeat bursts for SEC seconds (one burst if 0)\n"
	     "  -r A:B  cr3 mode: spin A units under cr3 A, B under cr3 B\n"
	     "  -u N    cr3 mode: loop iterations per unit (100000)\n"
	     "  -R C:D@S  cr3 mode: ratio C:D from the first cycle end after\n"
	     "          S s, after 3 s with the vCPUs idle\n"
	     "  -H SEC  keep the VM open SEC seconds after the run\n"
	     "  -q      do not print debugfs and binary stats");
}

static void parse_opts(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "n:m:C:c:i:v:p:P:Ws:V:d:r:R:u:H:qh")) !=
	       -1) {
		switch (c) {
		case 'n': o.n_io = num_arg("-n", optarg, 0, INT_MAX); break;
		case 'm': o.n_mmio = num_arg("-m", optarg, 0, INT_MAX); break;
		case 'C': o.n_cpuid = num_arg("-C", optarg, 0, INT_MAX); break;
		case 'c': o.vcpus = num_arg("-c", optarg, 1, MAX_VCPUS); break;
		case 'i': o.inject_every = num_arg("-i", optarg, 0, INT_MAX);
			  break;
		case 'v': o.vec = num_arg("-v", optarg, 0, NVEC - 1); break;
		case 'p': o.period_ms = num_arg("-p", optarg, 1, 3600000);
			  break;
		case 'P': o.phase_ms = num_arg("-P", optarg, 0, 3600000);
			  break;
		case 's': o.sleep_ms = num_arg("-s", optarg, 0, 3600000);
			  break;
		case 'V': o.wake_vec = num_arg("-V", optarg, 0, NVEC - 1);
			  break;
		case 'd': o.duration = num_arg("-d", optarg, 0, 86400); break;
		case 'r': parse_ratio(optarg); break;
		case 'R': parse_switch(optarg); break;
		case 'W': o.wall_phase = true; break;
		case 'u': o.spin_unit = num_arg("-u", optarg, 1, 10000000);
			  break;
		case 'H': o.hold = num_arg("-H", optarg, 0, 86400); break;
		case 'q': o.no_stats = true; break;
		case 'h': usage(); exit(0);
		default: usage_error("options", "unknown option");
		}
	}
	if (optind != argc)
		usage_error(argv[optind], "unexpected argument");
	if (o.n_mmio < 0)
		o.n_mmio = o.n_io / 16;
	if (o.n_cpuid < 0)
		o.n_cpuid = o.n_io / 16;
	if (o.n_io + o.n_mmio + o.n_cpuid == 0 && o.duration > 0)
		usage_error("-d", "bursts with no work would spin");
	if (o.phase_ms < 0)
		o.phase_ms = o.period_ms / 2;
	if (o.period_ms && o.phase_ms >= o.period_ms)
		usage_error("-P", "phase must be below the period");
	if ((o.sleep_ms || o.wake_vec >= 0) && o.duration <= 0)
		usage_error("-s/-V", "sleeping between bursts needs -d");
	if (o.mode == MODE_CR3 && (o.inject_every || o.period_ms ||
				   o.sleep_ms || o.wake_vec >= 0))
		usage_error("-r", "the cr3 mode runs with interrupts off: "
			    "no -i, -p, -s or -V");
	if (o.mode == MODE_CR3 && o.duration <= 0)
		o.duration = 2;
	if (o.ratio_c && o.mode != MODE_CR3)
		usage_error("-R", "changes the ratio of -r");
	if (o.ratio_c && o.switch_s >= o.duration)
		usage_error("-R", "the change must come before the end (-d)");
	if (o.wall_phase && !o.period_ms)
		usage_error("-W", "sets the clock of -p");
	if ((unsigned long long)o.spin_unit * (o.ratio_a > o.ratio_b ?
	    o.ratio_a : o.ratio_b) > UINT32_MAX ||
	    (unsigned long long)o.spin_unit * (o.ratio_c > o.ratio_d ?
	    o.ratio_c : o.ratio_d) > UINT32_MAX)
		usage_error("-u", "spin unit times ratio exceeds 32 bits");
}

/* ---- guest memory and vCPU setup ---- */

/* One handler per vector: push ax; mov al,VEC; out 0x11,al; pop ax; iret.
 * AX is saved because the burst loop's exit test lives in EAX. */
static void write_stubs(void)
{
	for (int v = 0; v < NVEC; v++) {
		uint8_t *s = mem + STUB_GPA + v * 8;
		const uint8_t code[] = { 0x50, 0xb0, (uint8_t)v, 0xe6,
					 PORT_ISR, 0x58, 0xcf };
		uint16_t off = (uint16_t)(STUB_GPA + v * 8);

		memcpy(s, code, sizeof(code));
		memcpy(mem + v * 4, &off, 2);	/* IVT: offset, segment 0 */
		memset(mem + v * 4 + 2, 0, 2);
	}
}

/* Two non-PAE page directories, each one 4 MiB page mapping GPA 0
 * (identity); the second also aliases it at 4 MiB so they differ.  The
 * entries come accessed and dirty, so no page walk writes them: both
 * vCPUs walk them after every cr3 load, and in the lab that walk is
 * QEMU TCG's emulation of nested paging, not hardware. */
static void write_page_dirs(void)
{
	uint32_t big = 0xe3;	/* present, writable, accessed, dirty, 4 MiB */

	memcpy(mem + PD_A_GPA, &big, 4);
	memcpy(mem + PD_B_GPA, &big, 4);
	memcpy(mem + PD_B_GPA + 4, &big, 4);
}

static void setup_memory(void)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
	};
	size_t len = guest_blob_end - guest_blob;

	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap guest memory");
	memcpy(mem + CODE_GPA, guest_blob, len);
	write_stubs();
	write_page_dirs();
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
}

static void set_rm_seg(struct kvm_segment *s, uint16_t sel)
{
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
}

static void setup_real_mode(struct vcpu *v, struct kvm_sregs *sr,
			    struct kvm_regs *r)
{
	uint32_t *p = (uint32_t *)v->param;

	p[P_NIO / 4] = (uint32_t)o.n_io;
	p[P_NMMIO / 4] = (uint32_t)o.n_mmio;
	p[P_NCPUID / 4] = (uint32_t)o.n_cpuid;
	set_rm_seg(&sr->cs, 0);
	set_rm_seg(&sr->ss, 0);
	set_rm_seg(&sr->ds, (PARAM_GPA + v->idx * PARAM_SIZE) >> 4);
	set_rm_seg(&sr->es, MEM_SIZE >> 4);
	r->rip = CODE_GPA + (guest_rm - guest_blob);
}

static void set_flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel,
		.type = type, .present = 1, .s = 1, .db = 1, .g = 1,
	};
}

static void setup_prot_mode(struct kvm_sregs *sr, struct kvm_regs *r)
{
	set_flat_seg(&sr->cs, 0x08, 0xb);
	set_flat_seg(&sr->ds, 0x10, 0x3);
	sr->es = sr->fs = sr->gs = sr->ss = sr->ds;
	sr->cr0 = 0x80000011;	/* PG, ET, PE */
	sr->cr4 = 0x10;		/* PSE: 4 MiB pages */
	sr->cr3 = PD_A_GPA;
	sr->efer = 0;
	r->rbx = PD_A_GPA;
	r->rbp = PD_B_GPA;
	r->rsi = (uint64_t)o.ratio_a * o.spin_unit;
	r->rdi = (uint64_t)o.ratio_b * o.spin_unit;
	r->rip = CODE_GPA + (guest_pm - guest_blob);
}

static void setup_vcpu(struct vcpu *v, int run_size)
{
	struct kvm_sregs sr;
	struct kvm_regs r = { .rflags = 0x2 };

	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, v->idx);
	if (v->fd < 0)
		die("KVM_CREATE_VCPU");
	v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED)
		die("mmap kvm_run");
	v->param = mem + PARAM_GPA + v->idx * PARAM_SIZE;
	if (ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		die("KVM_GET_SREGS");
	if (o.mode == MODE_CR3)
		setup_prot_mode(&sr, &r);
	else
		setup_real_mode(v, &sr, &r);
	/* separate stacks: interrupt frames of two vCPUs must not collide */
	r.rsp = STACK_TOP - v->idx * STACK_SIZE;
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) < 0)
		die("KVM_SET_SREGS");
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		die("KVM_SET_REGS");
}

/* ---- injection ---- */

static void enqueue(struct vcpu *v, int vec)
{
	if (v->qlen == QUEUE_LEN) {
		v->overflow++;	/* reported; the tests assert it is 0 */
		return;
	}
	v->queue[(v->qhead + v->qlen++) % QUEUE_LEN] = (uint8_t)vec;
}

/* Userspace irqchip: inject only when KVM says the guest can take an
 * interrupt now, else ask to exit as soon as it can. */
static void inject_pending(struct vcpu *v)
{
	if (v->qlen && v->run->ready_for_interrupt_injection) {
		struct kvm_interrupt irq = { .irq = v->queue[v->qhead] };

		if (ioctl(v->fd, KVM_INTERRUPT, &irq) < 0)
			die("KVM_INTERRUPT");
		v->injected[irq.irq]++;
		v->qhead = (v->qhead + 1) % QUEUE_LEN;
		v->qlen--;
	}
	v->run->request_interrupt_window = v->qlen > 0;
}

/* The first multiple of the period, plus the phase, after t (monotonic);
 * with -W the multiples are those of the wall clock. */
static double next_phase(double t)
{
	double period = o.period_ms / 1e3, phase = o.phase_ms / 1e3;
	double off = o.wall_phase ? wall_minus_mono : 0;

	return (floor((t + off - phase) / period) + 1) * period + phase - off;
}

/* A timer tick that came due is queued; ticks that passed unseen (the
 * thread was busy elsewhere) are counted as missed, not queued late. */
static bool tick_due(struct vcpu *v, double t)
{
	double period = o.period_ms / 1e3;

	if (!o.period_ms || t < v->next_tick)
		return false;
	enqueue(v, o.vec);
	v->missed += (uint64_t)floor((t - v->next_tick) / period);
	v->next_tick = next_phase(t);
	return true;
}

/* ---- exits ---- */

/* -R: at a cycle end, so the last cycle of A:B is whole; the vCPU idles
 * until PAUSE_S after the switch time, then spins C:D. */
static void switch_ratio(struct vcpu *v)
{
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		die("KVM_GET_REGS");
	r.rsi = (uint64_t)o.ratio_c * o.spin_unit;
	r.rdi = (uint64_t)o.ratio_d * o.spin_unit;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		die("KVM_SET_REGS");
	v->switched = true;
	v->cycles_before = v->cycles;
	v->switch_wall = wall_now();
	sleep_until(v->start + o.switch_s + PAUSE_S);
	v->resume_wall = wall_now();
}

static enum step on_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	const uint8_t *data = (const uint8_t *)r + r->io.data_offset;

	if (r->io.direction != KVM_EXIT_IO_OUT || r->io.size != 1 ||
	    r->io.count != 1) {
		fprintf(stderr, "kvmtest: vcpu%d: unexpected io port 0x%x "
			"dir %d size %d\n", v->idx, r->io.port,
			r->io.direction, r->io.size);
		exit(3);
	}
	switch (r->io.port) {
	case PORT_WORK:
		v->io++;
		if (o.inject_every && v->io % o.inject_every == 0)
			enqueue(v, o.vec);
		return GO;
	case PORT_ISR:
		v->isr++;
		v->delivered[*data]++;
		return GO;
	case PORT_CYCLE:
		v->cycles++;
		if (o.ratio_c && !v->switched && now() >= v->start + o.switch_s)
			switch_ratio(v);
		return GO;
	}
	fprintf(stderr, "kvmtest: vcpu%d: write to unexpected port 0x%x\n",
		v->idx, r->io.port);
	exit(3);
}

/* The guest halted: at the end of a burst, or again after an interrupt
 * taken while asleep.  Sleep until the wake time, the next tick or the end,
 * whichever is first; a tick is delivered and the guest halts again. */
static enum step on_hlt(struct vcpu *v)
{
	double t;

	if (o.duration <= 0)
		return STOP;
	t = now();
	if (!v->asleep) {
		v->asleep = true;
		v->bursts++;
		v->work_sum += t - v->work_start;
		v->works++;
		v->wake_at = t + o.sleep_ms / 1e3;
	}
	for (;;) {
		double until = v->wake_at < v->end ? v->wake_at : v->end;

		if (o.period_ms && v->next_tick < until)
			until = v->next_tick;
		if (t < until) {
			sleep_until(until);
			t = now();
		}
		if (t >= v->end)
			return STOP;
		if (tick_due(v, t))
			return GO;
		if (t >= v->wake_at) {
			v->asleep = false;
			if (v->wakes)
				v->cycle_sum += t - v->last_wake;
			v->wakes++;
			v->last_wake = v->work_start = t;
			*(volatile uint32_t *)(v->param + P_WAKE) = 1;
			if (o.wake_vec >= 0)
				enqueue(v, o.wake_vec);
			return GO;
		}
	}
}

/* A triple fault: the guest code here takes no exception by design (no
 * IDT, interrupts off in the cr3 mode), so this is the platform's doing
 * (the lab's nested paging is QEMU TCG's emulation).  Print where the
 * guest was, and exit 4 so that a caller can tell it from our errors. */
static __attribute__((noreturn)) void on_shutdown(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs sr;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		die("KVM_GET_REGS after a shutdown");
	fprintf(stderr, "kvmtest: vcpu%d: guest shutdown (triple fault) "
		"after %llu cycles: rip 0x%llx rsp 0x%llx rcx 0x%llx "
		"cr0 0x%llx cr3 0x%llx cr4 0x%llx cs 0x%x\n", v->idx,
		(unsigned long long)v->cycles, (unsigned long long)r.rip,
		(unsigned long long)r.rsp, (unsigned long long)r.rcx,
		(unsigned long long)sr.cr0, (unsigned long long)sr.cr3,
		(unsigned long long)sr.cr4, sr.cs.selector);
	exit(4);
}

static enum step handle_exit(struct vcpu *v)
{
	switch (v->run->exit_reason) {
	case KVM_EXIT_IO:
		return on_io(v);
	case KVM_EXIT_MMIO:
		v->mmio++;
		return GO;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		v->irqwin++;
		return GO;
	case KVM_EXIT_INTR:
		v->intr++;
		return GO;
	case KVM_EXIT_HLT:
		v->hlt++;
		return on_hlt(v);
	case KVM_EXIT_SHUTDOWN:
		on_shutdown(v);
	}
	/* hw is meaningful only for KVM_EXIT_UNKNOWN; for others the union
	 * still holds the last I/O exit's fields */
	fprintf(stderr, "kvmtest: vcpu%d: unexpected exit reason %u",
		v->idx, v->run->exit_reason);
	if (v->run->exit_reason == KVM_EXIT_UNKNOWN)
		fprintf(stderr, " (hardware reason 0x%llx)",
			(unsigned long long)v->run->hw.hardware_exit_reason);
	fputc('\n', stderr);
	exit(3);
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;

	v->start = v->work_start = now();
	v->end = v->start + o.duration;
	if (o.period_ms)
		v->next_tick = next_phase(v->start);
	for (;;) {
		int rc;

		inject_pending(v);
		v->run_since = now();
		rc = ioctl(v->fd, KVM_RUN, 0);
		v->run_since = 0;
		if (rc < 0) {
			if (errno != EINTR)
				die("KVM_RUN");
			v->intr++;
		} else {
			v->exits++;
			if (handle_exit(v) == STOP)
				break;
		}
		if (timed()) {
			double t = now();

			if (o.duration > 0 && t >= v->end)
				break;
			tick_due(v, t);
		}
	}
	v->secs = now() - v->start;
	return NULL;
}

/* The watchdog: a timed run checks its clock after each exit, so a
 * guest that stopped exiting to user space (an interrupt lost between
 * the userspace irqchip and a halted guest) would keep KVM_RUN, and the
 * run, going for good.  A vCPU 2 s in KVM_RUN is kicked out with a
 * signal (EINTR, counted in intr), at most every 0.5 s; a normal run
 * exits to user space far more often and is never kicked. */
static void on_kick(int sig)
{
	(void)sig;
}

struct watch {
	struct vcpu *vs;
	int n;
};

static void *watchdog(void *arg)
{
	const struct watch *w = arg;
	struct timespec half = { 0, 500000000L };

	for (;;) {
		nanosleep(&half, NULL);
		for (int i = 0; i < w->n; i++) {
			double since = w->vs[i].run_since;

			if (since > 0 && now() - since > 2.0) {
				w->vs[i].kicks++;
				pthread_kill(w->vs[i].th, SIGUSR1);
			}
		}
	}
	return NULL;
}

/* ---- report ---- */

static void print_vcpu(const struct vcpu *v)
{
	uint64_t inj = 0, del = 0;

	for (int i = 0; i < NVEC; i++) {
		inj += v->injected[i];
		del += v->delivered[i];
	}
	printf("vcpu%d exits=%llu io=%llu isr=%llu mmio=%llu hlt=%llu "
	       "irqwin=%llu intr=%llu cycles=%llu bursts=%llu injected=%llu "
	       "delivered=%llu missed=%llu overflow=%llu secs=%.3f "
	       "exits_per_s=%.0f\n", v->idx,
	       (unsigned long long)v->exits, (unsigned long long)v->io,
	       (unsigned long long)v->isr, (unsigned long long)v->mmio,
	       (unsigned long long)v->hlt, (unsigned long long)v->irqwin,
	       (unsigned long long)v->intr, (unsigned long long)v->cycles,
	       (unsigned long long)v->bursts, (unsigned long long)inj,
	       (unsigned long long)del, (unsigned long long)v->missed,
	       (unsigned long long)v->overflow, v->secs,
	       v->secs > 0 ? v->exits / v->secs : 0.0);
	for (int i = 0; i < NVEC; i++)
		if (v->injected[i] || v->delivered[i])
			printf("vcpu%d vector=0x%02x injected=%llu "
			       "delivered=%llu\n", v->idx, i,
			       (unsigned long long)v->injected[i],
			       (unsigned long long)v->delivered[i]);
	/* Mean burst time (wake to the burst's hlt) and wake-to-wake time. */
	if (v->works && o.sleep_ms)
		printf("vcpu%d worksleep works=%llu work_ms=%.2f wakes=%llu "
		       "cycle_ms=%.2f\n", v->idx, (unsigned long long)v->works,
		       1e3 * v->work_sum / v->works,
		       (unsigned long long)v->wakes,
		       v->wakes > 1 ? 1e3 * v->cycle_sum / (v->wakes - 1) : 0.0);
	if (o.ratio_c)
		printf("vcpu%d switch switched=%d cycles_before=%llu "
		       "cycles_after=%llu switch_wall=%.3f resume_wall=%.3f\n",
		       v->idx, v->switched,
		       (unsigned long long)v->cycles_before,
		       (unsigned long long)(v->cycles - v->cycles_before),
		       v->switch_wall, v->resume_wall);
}

static void print_total(const struct vcpu *vs, double wall)
{
	uint64_t t[7] = { 0 };

	for (int i = 0; i < o.vcpus; i++) {
		const struct vcpu *v = &vs[i];

		t[0] += v->exits; t[1] += v->io; t[2] += v->isr;
		t[3] += v->mmio; t[4] += v->hlt; t[5] += v->cycles;
		t[6] += v->irqwin;
	}
	printf("TOTAL exits=%llu io=%llu isr=%llu mmio=%llu hlt=%llu "
	       "cycles=%llu irqwin=%llu wall=%.3f exits_per_s=%.0f\n",
	       (unsigned long long)t[0], (unsigned long long)t[1],
	       (unsigned long long)t[2], (unsigned long long)t[3],
	       (unsigned long long)t[4], (unsigned long long)t[5],
	       (unsigned long long)t[6], wall, wall > 0 ? t[0] / wall : 0.0);
}

/* Every file of one debugfs stats directory, as "debugfs WHO NAME VALUE". */
static void dump_debugfs_dir(const char *dir, const char *who)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		printf("debugfs %s unavailable: %s\n", who, strerror(errno));
		return;
	}
	while ((e = readdir(d))) {
		char path[600], buf[128] = "";
		FILE *f;

		if (e->d_name[0] == '.' || e->d_type == DT_DIR)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
		printf("debugfs %s %s %s\n", who, e->d_name, buf);
	}
	closedir(d);
}

static void dump_debugfs(void)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "/sys/kernel/debug/kvm/%d-%d", getpid(),
		 vm_fd);
	dump_debugfs_dir(dir, "vm");
	strncat(dir, "/vcpu0", sizeof(dir) - strlen(dir) - 1);
	dump_debugfs_dir(dir, "vcpu0");
}

/* The binary stats of one fd (KVM_GET_STATS_FD, Linux 5.14+), first
 * bucket only for histograms: "binstats WHO NAME VALUE". */
static void dump_binstats(int fd, const char *who)
{
	struct kvm_stats_header h;
	char *descs;
	size_t dsz;
	int sfd = ioctl(fd, KVM_GET_STATS_FD, NULL);

	if (sfd < 0) {
		printf("binstats %s unavailable: %s\n", who, strerror(errno));
		return;
	}
	if (pread(sfd, &h, sizeof(h), 0) != sizeof(h))
		die("read stats header");
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = calloc(h.num_desc, dsz);
	if (!descs || pread(sfd, descs, dsz * h.num_desc, h.desc_offset) !=
	    (ssize_t)(dsz * h.num_desc))
		die("read stats descriptors");
	for (unsigned int i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *sd = (void *)(descs + i * dsz);
		uint64_t val = 0;

		if (pread(sfd, &val, sizeof(val), h.data_offset + sd->offset)
		    != sizeof(val))
			die("read stats data");
		printf("binstats %s %s %llu\n", who, sd->name,
		       (unsigned long long)val);
	}
	free(descs);
	close(sfd);
}

static void print_config(void)
{
	if (o.mode == MODE_CR3) {
		printf("kvmtest mode=cr3 vcpus=%d cr3_a=0x%x cr3_b=0x%x "
		       "ratio=%ld:%ld spin_unit=%ld duration=%.0f "
		       "ratio2=%ld:%ld switch_s=%.0f\n", o.vcpus,
		       PD_A_GPA, PD_B_GPA, o.ratio_a, o.ratio_b, o.spin_unit,
		       o.duration, o.ratio_c, o.ratio_d, o.switch_s);
		return;
	}
	printf("kvmtest mode=burst vcpus=%d n_io=%ld n_mmio=%ld n_cpuid=%ld "
	       "inject_every=%ld vec=0x%02x period_ms=%ld phase_ms=%ld "
	       "sleep_ms=%ld wake_vec=0x%02x duration=%.0f clock=%s\n",
	       o.vcpus, o.n_io, o.n_mmio, o.n_cpuid, o.inject_every, o.vec,
	       o.period_ms, o.phase_ms, o.sleep_ms, o.wake_vec, o.duration,
	       o.wall_phase ? "wall" : "monotonic");
}

int main(int argc, char **argv)
{
	struct vcpu *vs;
	int run_size;
	double t0;

	parse_opts(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	wall_minus_mono = wall_now() - now();
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		die("open /dev/kvm");
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("KVM_GET_API_VERSION");
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		die("KVM_CREATE_VM");
	setup_memory();
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE");
	vs = calloc(o.vcpus, sizeof(*vs));
	if (!vs)
		die("calloc");
	for (int i = 0; i < o.vcpus; i++) {
		vs[i].idx = i;
		setup_vcpu(&vs[i], run_size);
	}
	print_config();
	printf("pid=%d vmfd=%d\n", getpid(), vm_fd);
	t0 = now();
	for (int i = 0; i < o.vcpus; i++)
		if ((errno = pthread_create(&vs[i].th, NULL, vcpu_main,
					    &vs[i])))
			die("pthread_create");
	if (timed()) {
		static struct watch w;
		struct sigaction sa = { .sa_handler = on_kick };
		pthread_t wt;

		sigaction(SIGUSR1, &sa, NULL);
		w = (struct watch){ vs, o.vcpus };
		if ((errno = pthread_create(&wt, NULL, watchdog, &w)))
			die("pthread_create");
		pthread_detach(wt);
	}
	for (int i = 0; i < o.vcpus; i++)
		pthread_join(vs[i].th, NULL);
	for (int i = 0; i < o.vcpus; i++) {
		print_vcpu(&vs[i]);
		if (vs[i].kicks)
			printf("vcpu%d watchdog kicks=%llu (KVM_RUN over 2 s)\n",
			       vs[i].idx, (unsigned long long)vs[i].kicks);
	}
	print_total(vs, now() - t0);
	if (!o.no_stats) {
		dump_debugfs();
		dump_binstats(vm_fd, "vm");
		dump_binstats(vs[0].fd, "vcpu0");
	}
	if (o.hold > 0) {
		printf("holding the VM open for %d s\n", o.hold);
		sleep(o.hold);
	}
	return 0;
}
