/* input.c - opening a trace file of any format, and reading a whole one
 * (input.h).
 *
 * The format is told apart by the file's first bytes, read with pread()
 * so that a text file is then read from its start through the same fd.
 * Standard input is always text: it cannot be looked at twice.
 */
#include "replay/input.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay/kvmtrace.h"
#include "replay/tracefs.h"

/* Opens path into f->fd.  With KS_INPUT_STREAM, O_NONBLOCK keeps a FIFO
 * without a writer from holding the open; a pipe or device stays
 * non-blocking (f->stream), a regular file goes back to blocking. */
static int open_fd(struct ks_input_file *f, const char *path,
		   unsigned flags, struct ks_err *err)
{
	bool nb = flags & KS_INPUT_STREAM;
	struct stat st;
	int e;

	f->fd = open(path, O_RDONLY | O_CLOEXEC | (nb ? O_NONBLOCK : 0));
	if (f->fd < 0 || fstat(f->fd, &st))
		goto fail;
	f->stream = nb && !S_ISREG(st.st_mode);
	if (nb && !f->stream && fcntl(f->fd, F_SETFL, 0) < 0)
		goto fail;
	return 0;
fail:
	e = errno;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	return ks_err_set(err, e, "", "cannot open '%s': %s", path,
			  strerror(e));
}

int ks_input_open(struct ks_input_file *f, const char *path, unsigned flags,
		  struct ks_err *err)
{
	unsigned char head[KS_RECFILE_MAGIC_LEN];
	ssize_t n;
	int rc;

	*f = (struct ks_input_file){ .kind = KS_INPUT_TEXT,
				     .fd = STDIN_FILENO };
	if (!strcmp(path, "-"))
		return 0;
	if ((rc = open_fd(f, path, flags, err)))
		return rc;
	f->own_fd = true;
	if (f->stream)
		return 0;
	n = pread(f->fd, head, sizeof(head), 0);
	if (n == (ssize_t)sizeof(head) && ks_recfile_sniff(head, sizeof(head))) {
		close(f->fd);
		f->fd = -1;
		f->own_fd = false;
		f->kind = KS_INPUT_RECFILE;
		f->rd = ks_recfile_reader__open(path, err);
		return f->rd ? 0 : -EINVAL;
	}
	if ((flags & KS_INPUT_PERF) && n >= KS_PERFDATA_MAGIC_LEN &&
	    ks_perfdata_sniff(head, (size_t)n)) {
		close(f->fd);
		f->fd = -1;
		f->own_fd = false;
		f->kind = KS_INPUT_PERFDATA;
		if ((rc = ks_perfdata__open(&f->pd, path, err)))
			return rc;
		f->fd = f->pd.fd;
		/* perf's output comes as perf makes it: a stream too. */
		f->stream = (flags & KS_INPUT_STREAM) &&
			    fcntl(f->fd, F_SETFL, O_NONBLOCK) == 0;
		return 0;
	}
	return 0;
}

int ks_input_close(struct ks_input_file *f, struct ks_err *err)
{
	switch (f->kind) {
	case KS_INPUT_RECFILE:
		ks_recfile_reader__free(f->rd);
		return 0;
	case KS_INPUT_PERFDATA:
		return ks_perfdata__close(&f->pd, err);
	default:
		if (f->own_fd)
			close(f->fd);
		return 0;
	}
}

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

static int read_recfile(struct ks_recfile_reader *f, const char *path,
			struct reading *rd, struct ks_err *err)
{
	const struct ks_recfile_stats *fs;
	struct ks_record r;
	int rc;

	while ((rc = ks_recfile_reader__next(f, &r)) > 0)
		if ((rc = pass(rd, &r)) < 0)
			break;
	fs = ks_recfile_reader__stats(f);
	rd->st->unusable = fs->corrupt + fs->unknown_metric + fs->undecodable;
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
	struct reading rd = { fn, ctx, st };
	struct ks_input_file f;
	int rc;

	memset(st, 0, sizeof(*st));
	ks_err_clear(err);
	if ((rc = ks_input_open(&f, path, 0, err)))
		return rc;
	st->recfile = f.kind == KS_INPUT_RECFILE;
	if (st->recfile)
		rc = read_recfile(f.rd, path, &rd, err);
	else
		rc = read_text(f.fd, f.own_fd ? path : "(standard input)", &rd,
			       err);
	ks_input_close(&f, err);
	return rc;
}
