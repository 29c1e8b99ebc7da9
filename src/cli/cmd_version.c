/* cmd_version.c - `kvmscope version` (and `kvmscope --version`): which
 * build this is, for bug reports and fleet inventories.
 *
 * The text form is one line, "kvmscope VERSION", as --version prints it
 * everywhere; -v adds the revision, the compiler and the libbpf the
 * binary runs with (which the BPF probes' loading depends on); --json
 * gives all of them as one object.
 */
#include <bpf/libbpf.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "util/version.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvmscope version [-j] [-v]\n"
"\n"
"Prints kvmscope's version (as `kvmscope --version` does): git describe\n"
"of the build's commit, or the release's version.\n"
"\n"
"  -j, --json     one JSON object: version, revision, compiler, libbpf\n"
"  -v, --verbose  also the revision, the compiler and libbpf's version\n"
"  -h, --help     this text\n");
}

int cmd_version(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, verbose = false;
	json_t *j;
	char *s;
	int c;

	while ((c = getopt_long(argc, argv, "jvh", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmscope version: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (!json) {
		printf("kvmscope %s\n", ks_version());
		if (verbose)
			printf("revision %s\ncompiler %s\nlibbpf %s\n",
			       ks_revision(), ks_compiler(),
			       libbpf_version_string());
		return 0;
	}
	j = json_pack("{s:s, s:s, s:s, s:s}", "version", ks_version(),
		      "revision", ks_revision(), "compiler", ks_compiler(),
		      "libbpf", libbpf_version_string());
	if (!j || !(s = json_dumps(j, JSON_COMPACT))) {
		json_decref(j);
		fprintf(stderr, "kvmscope version: out of memory\n");
		return 1;
	}
	printf("%s\n", s);
	free(s);
	json_decref(j);
	return 0;
}
