/* test_bpfload.c - a verifier rejection is a failure, not a skip.
 *
 * The kernel answers EACCES to an unprivileged load and to a program its
 * verifier rejects alike.  Scripts skip a test on "needs root", so that
 * sentence must come only from a missing privilege.  The classification
 * is checked case by case, then for real where this process may load
 * BPF: a program the verifier must reject (it reads a register never
 * written) is loaded, and the message made of its errno must name the
 * verifier and not ask for root. */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "source/bpfload.h"

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(ks_bpfload_classify("load", -EPERM, true),
			 KS_BPFLOAD_NOPERM);
	assert_int_equal(ks_bpfload_classify("load", -EPERM, false),
			 KS_BPFLOAD_NOPERM);
	assert_int_equal(ks_bpfload_classify("load", -EACCES, false),
			 KS_BPFLOAD_NOPERM);
	assert_int_equal(ks_bpfload_classify("load", EACCES, true),
			 KS_BPFLOAD_REJECTED);
	assert_int_equal(ks_bpfload_classify("load", -EACCES, true),
			 KS_BPFLOAD_REJECTED);
	assert_int_equal(ks_bpfload_classify("attach", -EACCES, true),
			 KS_BPFLOAD_FAILED);
	assert_int_equal(ks_bpfload_classify("load", -EINVAL, true),
			 KS_BPFLOAD_FAILED);
}

static void test_rejected_is_a_failure(void **state)
{
	/* r0 = r2 (never written); exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_0,
		  .src_reg = BPF_REG_2 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log,
		    .log_size = sizeof(log), .log_level = 1);
	struct ks_err err;
	int fd, e;

	(void)state;
	if (!ks_bpfload_privileged())
		skip();		/* nothing to tell apart without CAP_BPF */
	fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "ks_bad", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &opts);
	e = fd < 0 ? -errno : 0;
	assert_true(fd < 0);
	assert_int_equal(e, -EACCES);
	assert_non_null(strstr(log, "R2 !read_ok"));
	assert_int_equal(ks_bpfload_err(&err, "test", "load", e), e);
	assert_null(strstr(err.msg, "needs root"));
	assert_non_null(strstr(err.msg, "verifier rejected"));
	/* The same errno without the privilege is a skip's "needs root". */
	assert_int_equal(ks_bpfload_classify("load", e, false),
			 KS_BPFLOAD_NOPERM);
	assert_int_equal(ks_bpfload_err(&err, "test", "load", -EPERM), -EPERM);
	assert_non_null(strstr(err.msg, "needs root"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_rejected_is_a_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
