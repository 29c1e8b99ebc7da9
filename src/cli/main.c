/* main.c - the kvmscope binary: a table of subcommands.
 *
 * As in iproute2, the first argument names a command, matched by unique
 * prefix; each command parses its own options and has its own --help.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "replay", cmd_replay, "feed a recorded or tracefs trace through the engine" },
	{ "metrics", cmd_metrics, "list the metric catalogue" },
	{ "stat", cmd_stat, "per-vCPU VM exit and interrupt rates, as kvmstat" },
	{ "serve", cmd_serve, "serve Cloud Analytics' HTTP API (the agent)" },
	{ "vms", cmd_vms, "list the VMs on this host (pid, name, uuid, devices)" },
	{ "record", cmd_record, "record live data from this host's VMs to a file" },
	{ "check", cmd_check, "validate kvmscope on this host: facts, counts against KVM's, cost" },
	{ "top", cmd_top, "VMs sorted by exit rate, exit time, irq rate or disk latency" },
	{ "fleet", cmd_fleet, "serve Cloud Analytics' HTTP API over a fleet, from Prometheus" },
	{ "version", cmd_version, "print kvmscope's version" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmscope COMMAND [ARGS...]\n\n"
		   "Cloud Analytics for Linux KVM hosts.\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nkvmscope COMMAND --help for a command's options;\n"
		   "kvmscope --version for the version.\n");
}

int main(int argc, char **argv)
{
	const struct command *match = NULL;
	size_t len;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		char *v[] = { argv[1], NULL };

		return cmd_version(1, v);
	}
	len = strlen(argv[1]);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strncmp(commands[i].name, argv[1], len))
			continue;
		if (strlen(commands[i].name) == len) {
			match = &commands[i];
			break;
		}
		if (match) {
			fprintf(stderr, "kvmscope: '%s' is ambiguous\n", argv[1]);
			return 2;
		}
		match = &commands[i];
	}
	if (!match) {
		fprintf(stderr, "kvmscope: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	return match->fn(argc - 1, argv + 1);
}
