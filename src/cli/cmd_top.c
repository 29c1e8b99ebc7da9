#include "cli/commands.h"
int cmd_top(int argc, char **argv)
{
	(void)argc, (void)argv;
	return 1;
}
