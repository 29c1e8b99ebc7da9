/* vmrec.c - identity fields on records (see vmrec.h). */
#include "vm/vmrec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/symtab.h"

int ks_vmrec_str(struct ks_record *r, enum ks_field f, const char *s)
{
	size_t len = strlen(s);
	uint32_t sym;

	/* A value longer than the symbol table takes is cut, not lost.
	 * Only the record holds it: VMs come and go. */
	sym = ks_sym_transient_n(s, len > KS_SYM_MAXLEN ? KS_SYM_MAXLEN : len);

	if (!sym)
		return -ENOMEM;
	ks_record_set(r, f, sym);
	return 0;
}

int ks_vmrec_ident(struct ks_record *r, const struct ks_vm *vm)
{
	char pid[16];
	int e;

	snprintf(pid, sizeof(pid), "%d", (int)vm->pid);
	if ((e = ks_vmrec_str(r, KS_F_VM, vm->name)) ||
	    (e = ks_vmrec_str(r, KS_F_PID, pid)))
		return e;
	return vm->uuid ? ks_vmrec_str(r, KS_F_VMUUID, vm->uuid) : 0;
}
