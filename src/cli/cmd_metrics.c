/* cmd_metrics.c - `kvmscope metrics`: the metric catalogue.
 *
 * Text for people, --json for scripts (the same object as GET /ca).  Which
 * metrics this host can supply live, and why not, comes with the probes.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "engine/describe.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmscope metrics [--json]\n\n"
		   "Lists every metric with its unit and fields.\n"
		   "  -j, --json   print CA's self-description object\n");
}

static void print_text(void)
{
	printf("%-24s %-10s %-8s %s\n", "METRIC", "UNIT", "KIND", "FIELDS");
	for (int m = 0; m < KS_M__COUNT; m++) {
		const struct ks_metricinfo *mi = ks_metric_info(m);
		char name[64];

		snprintf(name, sizeof(name), "%s.%s", mi->module, mi->stat);
		printf("%-24s %-10s %-8s", name,
		       mi->unit ? mi->unit : ks_type_info(mi->type)->name,
		       mi->point ? "point" : "interval");
		for (size_t i = 0; i < mi->nfields; i++)
			printf("%s%s", i ? "," : " ",
			       ks_field_info(mi->fields[i])->name);
		printf("\n");
	}
}

int cmd_metrics(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmscope metrics: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (json) {
		json_t *o = ks_describe_catalog();

		if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) || printf("\n") < 0) {
			json_decref(o);
			fprintf(stderr, "kvmscope metrics: out of memory\n");
			return 1;
		}
		json_decref(o);
		return 0;
	}
	print_text();
	return 0;
}
