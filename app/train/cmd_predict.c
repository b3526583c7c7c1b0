/* cmd_predict.c - on its way. */
#include "cli.h"
#include "commands.h"
int cmd_predict(int argc, char **argv) { (void)argc; (void)argv; ed_err("predict: not available yet"); return 1; }
