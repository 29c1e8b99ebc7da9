/* input.c - reading a trace file of either format (input.h). */
#include "replay/input.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "replay/kvmtrace.h"
#include "replay/recfile.h"
#include "replay/tracefs.h"

struct reading {
	ks_input_fn fn;
	void *ctx;
	struct ks_input_stats *st;
};

static int pass(void *ctx, const struct ks_record *r)
{
	struct reading *rd = ctx;

	if (!rd->st->records++ || r->ts < rd->st->first_ts)
		rd->st->first_ts = r->ts;
	if (r->ts > rd->st->last_ts)
		rd->st->last_ts = r->ts;
	return rd->fn(rd->ctx, r);
}

static int read_recfile(const char *path, struct reading *rd,
			struct ks_err *err)
{
	struct ks_recfile_reader *f = ks_recfile_reader__open(path, err);
	const struct ks_recfile_stats *fs;
	struct ks_record r;
	int rc;

	if (!f)
		return -EINVAL;
	while ((rc = ks_recfile_reader__next(f, &r)) > 0)
		if ((rc = pass(rd, &r)) < 0)
			break;
	fs = ks_recfile_reader__stats(f);
	rd->st->unusable = fs->corrupt + fs->unknown_metric + fs->undecodable;
	ks_recfile_reader__free(f);
	if (rc < 0 && !err->msg[0])
		ks_err_set(err, -rc, "", "reading '%s': %s", path,
			   strerror(-rc));
	return rc < 0 ? rc : 0;
}

static int read_text(int fd, const char *path, struct reading *rd,
		     struct ks_err *err)
{
	struct ks_tfs_reader *t = ks_tfs_reader__new_fd(fd);
	struct ks_kvmtrace *kt = ks_kvmtrace__new(pass, rd);
	const struct ks_tfs_stats *ts;
	struct ks_tfs_event ev;
	int rc = -ENOMEM;

	if (!t || !kt) {
		ks_err_set(err, ENOMEM, "", "out of memory");
		goto out;
	}
	while ((rc = ks_tfs_reader__next(t, &ev, err)) > 0)
		if ((rc = ks_kvmtrace__event(kt, &ev)) < 0)
			break;
	if (!rc)
		rc = ks_kvmtrace__finish(kt);
	ts = ks_tfs_reader__stats(t);
	rd->st->unusable = ts->malformed + ks_kvmtrace__stats(kt)->bad;
	rd->st->unpaired = ks_kvmtrace__stats(kt)->unpaired;
	if (!rc && !ts->events && ts->malformed)
		rc = ks_err_set(err, EINVAL, "", "'%s' is not a trace: no line "
				"is an ftrace event, and it is not a kvmscope "
				"record file", path);
	else if (rc < 0 && !err->msg[0])
		ks_err_set(err, -rc, "", "reading '%s': %s", path,
			   strerror(-rc));
out:
	ks_kvmtrace__free(kt);
	ks_tfs_reader__free(t);
	return rc < 0 ? rc : 0;
}

int ks_input_read(const char *path, ks_input_fn fn, void *ctx,
		  struct ks_input_stats *st, struct ks_err *err)
{
	unsigned char head[KS_RECFILE_MAGIC_LEN];
	struct reading rd = { fn, ctx, st };
	int fd, rc;

	memset(st, 0, sizeof(*st));
	ks_err_clear(err);
	if (!strcmp(path, "-"))
		return read_text(STDIN_FILENO, "(standard input)", &rd, err);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ks_err_set(err, errno, "", "cannot open '%s': %s", path,
				  strerror(errno));
	if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	    ks_recfile_sniff(head, sizeof(head))) {
		close(fd);
		st->recfile = true;
		return read_recfile(path, &rd, err);
	}
	rc = read_text(fd, path, &rd, err);
	close(fd);
	return rc;
}
