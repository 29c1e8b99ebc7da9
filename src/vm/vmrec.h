/* vmrec.h - a discovered VM's identity on engine records.
 *
 * Every live source that knows which VM an event belongs to names it the
 * same way, so decompositions by vm, vmuuid and pid line up across
 * metrics: vm is discovery's name, vmuuid the UUID (absent when the VM has
 * none), pid the VMM's pid in decimal (as the trace reader writes it).
 */
#ifndef KS_VM_VMREC_H
#define KS_VM_VMREC_H

#include "engine/record.h"
#include "vm/vm.h"

/* Sets the vm, vmuuid and pid fields of r.  0 or -ENOMEM. */
int ks_vmrec_ident(struct ks_record *r, const struct ks_vm *vm);

/* Sets discrete field f to the string s.  0 or -ENOMEM. */
int ks_vmrec_str(struct ks_record *r, enum ks_field f, const char *s);

#endif /* KS_VM_VMREC_H */
