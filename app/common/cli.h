/* cli.h - option parsing helpers shared by the programs. Each parser prints
 * one clear line naming the option and the problem, and returns -1; the
 * caller exits with CLI_EXIT_USAGE. */
#ifndef ED_CLI_H
#define ED_CLI_H

/* Exit codes of both programs; 130 is the shell's for a Ctrl-C (128 + SIGINT). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_INTERRUPTED = 130 };

/* The program name used as the prefix of every message. */
extern const char *cli_prog;

/* Print "PROG: message" to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The one set of number parsers for both programs' options: a whole
 * number or a finite number in lo..hi. They print nothing: they return 0,
 * or -1 with app_error() set to "bad value 'VAL' for OPT: reason". */
int cli_parse_long(const char *opt, const char *val, long lo, long hi, long *out);
int cli_parse_double(const char *opt, const char *val, double lo, double hi, double *out);
/* The same, printing the message (cli_err) on failure; cli_u64 takes any
 * unsigned 64-bit whole number (seeds). */
int cli_int(const char *opt, const char *val, long lo, long hi, int *out);
int cli_float(const char *opt, const char *val, double lo, double hi, float *out);
int cli_u64(const char *opt, const char *val, unsigned long long *out);
/* An inference precision: "fp32" or "int8", as the value of nn.h's
 * nn_precision (NN_PRECISION_FP32 or NN_PRECISION_INT8). */
int cli_precision(const char *opt, const char *val, int *out);
/* For "--opt VALUE": the value at argv[*i + 1] (advancing *i), or NULL with
 * a message when it is missing, or when argv[*i] is no option at all (a
 * stray argument reaching a parser's "every other option" branch). */
const char *cli_value(int argc, char **argv, int *i);
/* argv with every "--option=value" before a "--" split into "--option"
 * and "value" (the spelling getopt_long accepts): a new NULL-ended array
 * of *n copied words, for cli_free_args. NULL when out of memory. */
char **cli_split_equals(int argc, char **argv, int *n);
void cli_free_args(char **args, int n);

/* The first "--option" that appears twice in argv (options named in
 * `flags`, a NULL-terminated list, take no value; every other one takes
 * the next argument), or NULL. The caller refuses the run: the last value
 * would otherwise win silently. */
const char *cli_repeated(int argc, char **argv, const char *const *flags);

#endif
