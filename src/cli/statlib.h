/* statlib.h - what `kvmscope stat` and `kvmscope top` share.
 *
 * Both report live on the host's KVM guests, or on a recorded trace
 * (--input), and both must say so plainly when there is nothing to show
 * rather than print empty tables: the guest check looks at the VMs
 * discovery sees before any probe loads.  (Both print times in
 * util/units.h's human units.)
 */
#ifndef KS_CLI_STATLIB_H
#define KS_CLI_STATLIB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* What the guest check found. */
enum ks_guests {
	KS_GUESTS_SOME,		/* KVM guests (the one asked for, if any) */
	KS_GUESTS_NONE,		/* no KVM guest (no VM) on this host: said */
	KS_GUESTS_NO_SUCH,	/* the VM asked for is not a KVM guest here:
				 * said on stderr */
	KS_GUESTS_UNKNOWN,	/* discovery failed or cannot see (not root):
				 * the caller goes on, the probes will say */
};

/* Checks, before loading probes, that this host runs KVM guests (any VM,
 * TCG too, unless kvm_only) and that the one selected by pid (0: any) or
 * name (NULL: any) is one of them; prog prefixes the messages. */
enum ks_guests ks_cli_guests(const char *prog, uint32_t pid,
			     const char *name, bool kvm_only);

/* Set once SIGINT or SIGTERM arrived, after ks_cli_catch_stop(). */
extern volatile sig_atomic_t ks_cli_stop;
void ks_cli_catch_stop(void);

/* Sleeps until the CLOCK_MONOTONIC deadline (ns), or a stop. */
void ks_cli_wait_until(uint64_t mono_deadline);

/* s as a whole number from 1 to max, or -EINVAL with a line on stderr
 * naming prog and what. */
int ks_cli_parse_uint(const char *prog, const char *s, const char *what,
		      unsigned long max, unsigned long *out);

#endif /* KS_CLI_STATLIB_H */
