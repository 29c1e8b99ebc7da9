/* cmd_replay.c - `kvmscope replay`: a trace through the engine, offline.
 *
 * The options; the replay itself (reading the trace, translating and
 * feeding records, the trace's span) is src/replay/session.c, and what
 * it answers (the summary on stderr, the table or CA's JSON, the heatmap
 * file) src/cli/replay_out.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "engine/symtab.h"
#include "cli/replay_out.h"
#include "replay/session.h"

#define MAX_DECOMP 4
#define PROG "kvmscope replay"

struct opts {
	struct ks_replay_conf rc;
	const char *decomp[MAX_DECOMP];
	struct ks_replay_out out;	/* file, metric and predicate set
					 * after parsing */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmscope replay FILE --metric M [--decompose F]... "
		"[--predicate JSON]\n"
		"                       [--granularity N] [--per-second] "
		"[--json | --raw]\n"
		"                       [--write-record OUT] "
		"[--heatmap-png OUT.png [--log]\n"
		"                       [--ymax N] [--width N] [--height N]]"
		"\n\n"
		"Feeds a kvm trace through the engine and prints the value of one\n"
		"instrumentation over the whole trace.  FILE is tracefs text (`cat\n"
		"trace`, trace_pipe, `trace-cmd report`; '-' reads stdin), `perf\n"
		"script` text, a perf.data file (from `perf record -e 'kvm:*'` or\n"
		"`perf kvm stat record`; read through `perf script`, so perf must be\n"
		"installed) or a kvmscope record file; the format is recognised by\n"
		"its content.\n\n"
		"  -m, --metric M        metric to count, e.g. vm.exits "
		"(kvmscope metrics)\n"
		"  -d, --decompose F     decompose by field F (at most one discrete\n"
		"                        and one numeric field); repeatable, or "
		"F1,F2\n"
		"  -p, --predicate JSON  CA predicate, e.g. "
		"'{\"eq\":[\"vcpu\",\"0\"]}'\n"
		"  -g, --granularity N   seconds per data point: 1 or a multiple "
		"of 5\n"
		"  -s, --per-second      one value per granularity interval\n"
		"  -j, --json            CA's value object(s) instead of a table\n"
		"  -r, --raw             table values as raw integers (ns, bytes)\n"
		"                        rather than in human units (12.3us)\n"
		"  -w, --write-record OUT  also write every record to a record "
		"file\n"
		"                        (--metric may then be left out)\n"
		"  -H, --heatmap-png OUT.png  draw CA's heatmap of the whole trace "
		"with\n"
		"                        axes, a legend and a title (needs a "
		"numeric\n"
		"                        --decompose; one column per interval)\n"
		"      --log             heatmap rows on a log scale\n"
		"      --ymax N          heatmap top, in the field's unit (ns for\n"
		"                        latency); default: CA's autoscale\n"
		"      --width N, --height N  heatmap plot area in pixels, 10 to "
		"1000\n"
		"                        (default 600 x 300); the file adds its "
		"margins\n"
		"  -h, --help            this text\n\n"
		"The trace clock is the engine's clock: time values are trace "
		"seconds.\n"
		"A summary of what was read, and of anything not counted, goes to "
		"stderr.\n");
}

/* What getopt cannot check: one FILE, and options that need others. */
static int check_args(int argc, char **argv, struct opts *o)
{
	if (optind != argc - 1) {
		fprintf(stderr, PROG ": %s\n", optind >= argc ?
			"FILE: a trace file is required" :
			"FILE: only one trace file may be given");
		usage(stderr);
		return 2;
	}
	o->out.file = argv[optind];
	if (o->out.heatmap && !o->rc.metric) {
		fprintf(stderr, PROG ": --heatmap-png: needs --metric\n");
		return 2;
	}
	if (!o->out.heatmap && (o->out.log || o->out.ymax || o->out.width || o->out.height)) {
		fprintf(stderr, PROG ": --%s: only applies to --heatmap-png\n",
			o->out.log ? "log" : o->out.ymax ? "ymax" : o->out.width ? "width" :
			"height");
		return 2;
	}
	if (o->out.json && o->out.raw) {
		fprintf(stderr, PROG ": --raw: JSON is always raw; give one "
			"of --json and --raw\n");
		return 2;
	}
	if (!o->rc.metric && !o->rc.write_record) {
		fprintf(stderr, PROG ": --metric: required (or --write-record "
			"to only convert)\n");
		return 2;
	}
	o->rc.decomp = o->decomp;
	o->out.metric = o->rc.metric;
	o->out.predicate = o->rc.predicate;
	o->rc.need_numeric = o->out.heatmap != NULL;
	return 0;
}

enum { OPT_LOG = 256, OPT_YMAX, OPT_WIDTH, OPT_HEIGHT };

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "metric", required_argument, NULL, 'm' },
		{ "decompose", required_argument, NULL, 'd' },
		{ "predicate", required_argument, NULL, 'p' },
		{ "granularity", required_argument, NULL, 'g' },
		{ "per-second", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "write-record", required_argument, NULL, 'w' },
		{ "heatmap-png", required_argument, NULL, 'H' },
		{ "log", no_argument, NULL, OPT_LOG },
		{ "ymax", required_argument, NULL, OPT_YMAX },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "height", required_argument, NULL, OPT_HEIGHT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:d:p:g:sjrw:H:h", lopts,
				NULL)) != -1) {
		switch (c) {
		case 'm': o->rc.metric = optarg; break;
		case 'p': o->rc.predicate = optarg; break;
		case 'g': o->rc.granularity = optarg; break;
		case 's': o->out.per_second = true; break;
		case 'j': o->out.json = true; break;
		case 'r': o->out.raw = true; break;
		case 'w': o->rc.write_record = optarg; break;
		case 'H': o->out.heatmap = optarg; break;
		case OPT_LOG: o->out.log = true; break;
		case OPT_YMAX: o->out.ymax = optarg; break;
		case OPT_WIDTH: o->out.width = optarg; break;
		case OPT_HEIGHT: o->out.height = optarg; break;
		case 'h': usage(stdout); return 1;
		case 'd':
			if (o->rc.ndecomp == MAX_DECOMP) {
				fprintf(stderr, PROG ": --decompose: at most %d "
					"fields\n", MAX_DECOMP);
				return 2;
			}
			o->decomp[o->rc.ndecomp++] = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	return check_args(argc, argv, o);
}

/* Replays; the exit status. */
static int replay(struct ks_replay *rp, const struct opts *o)
{
	struct ks_err err = { { 0 }, { 0 } };
	int rc = ks_replay__setup(rp, &o->rc, o->out.file, &err);

	if (rc) {
		fprintf(stderr, PROG ": --%s: %s\n", err.param, err.msg);
		return !strcmp(err.param, "write-record") && rc != -EINVAL ?
			       1 : 2;
	}
	rc = ks_replay__run(rp, o->out.file, &err);
	ks_replay_report_input(ks_replay__stats(rp), o->out.file);
	if (rc && !strcmp(err.param, "write-record")) {
		fprintf(stderr, PROG ": --write-record: %s\n", err.msg);
		return 1;
	}
	if (rc) {
		fprintf(stderr, PROG ": %s: %s\n", o->out.file, err.msg);
		return 1;
	}
	if (o->rc.write_record)
		fprintf(stderr, PROG ": wrote %s\n", o->rc.write_record);
	return ks_replay__instn(rp) ? ks_replay_output(rp, &o->out) : 0;
}

int cmd_replay(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ks_replay *rp;
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (!(rp = ks_replay__new())) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	rc = replay(rp, &o);
	ks_replay__free(rp);
	ks_sym_reset();
	return rc;
}
