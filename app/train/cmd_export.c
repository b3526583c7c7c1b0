/* cmd_export.c - on its way. */
#include "cli.h"
#include "commands.h"
int cmd_export(int argc, char **argv) { (void)argc; (void)argv; ed_err("export: not available yet"); return 1; }
