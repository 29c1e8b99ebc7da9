/* commands.h - the kvmscope subcommands, one handler each.
 *
 * Each handler takes the arguments after the command name (argv[0] is the
 * command itself), prints data on stdout (text, or JSON with --json), errors
 * on stderr, and returns the process exit status.
 */
#ifndef KS_CLI_COMMANDS_H
#define KS_CLI_COMMANDS_H

int cmd_replay(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_vms(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif /* KS_CLI_COMMANDS_H */
