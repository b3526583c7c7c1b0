/* commands.h - the emotion-train subcommands. Each takes the argv that
 * starts at the subcommand's name and returns the process exit code. */
#ifndef ED_COMMANDS_H
#define ED_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);

#endif
