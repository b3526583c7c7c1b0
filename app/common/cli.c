/* cli.c - see cli.h. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"

const char *cli_prog = "emotion";

void cli_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_parse_long(const char *opt, const char *val, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    /* a number past long's range is a number, only out of this one's */
    if (end != val && !*end && errno == ERANGE)
        v = v < 0 ? LONG_MIN : LONG_MAX;
    else if (end == val || *end || errno)
        return app_fail("bad value '%s' for %s: not a whole number", val, opt);
    if (v < lo || v > hi)
        return app_fail("bad value '%s' for %s: must be between %ld and %ld", val, opt, lo, hi);
    *out = v;
    return 0;
}

int cli_parse_double(const char *opt, const char *val, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    /* 1e400 is a number, beyond a double: out of range (strtod gives
     * +-HUGE_VAL with ERANGE); 1e-400 is one too, rounded to about 0 */
    int whole = end != val && !*end, range = errno == ERANGE && isinf(v);
    if (!whole || (errno && errno != ERANGE) || (!isfinite(v) && !range))
        return app_fail("bad value '%s' for %s: not a number", val, opt);
    if (range || v < lo || v > hi)
        return app_fail("bad value '%s' for %s: must be at least %g and at most %g", val, opt,
                        lo, hi);
    *out = v;
    return 0;
}

/* rc, after printing the message when it is a failure. */
static int said(int rc)
{
    if (rc)
        cli_err("%s", app_error());
    return rc;
}

int cli_int(const char *opt, const char *val, long lo, long hi, int *out)
{
    long v;
    if (said(cli_parse_long(opt, val, lo, hi, &v)))
        return -1;
    *out = (int)v;
    return 0;
}

int cli_float(const char *opt, const char *val, double lo, double hi, float *out)
{
    double v;
    if (said(cli_parse_double(opt, val, lo, hi, &v)))
        return -1;
    *out = (float)v;
    return 0;
}

int cli_u64(const char *opt, const char *val, unsigned long long *out)
{
    char *end;
    errno = 0;
    /* strtoull takes "-1" as 2^64-1 and saturates on overflow: both refused */
    unsigned long long v = strtoull(val, &end, 10);
    if (end == val || *end || strchr(val, '-'))
        return said(app_fail("bad value '%s' for %s: not a whole number 0 or more", val, opt));
    if (errno == ERANGE)
        return said(app_fail("bad value '%s' for %s: larger than %llu", val, opt, ULLONG_MAX));
    *out = v;
    return 0;
}

const char *cli_value(int argc, char **argv, int *i)
{
    if (argv[*i][0] != '-') { /* parsers ask only for options' values */
        cli_err("unexpected argument '%s' (options start with --; see --help)", argv[*i]);
        return NULL;
    }
    if (*i + 1 >= argc) {
        cli_err("%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int is_flag(const char *a, const char *const *flags)
{
    for (; *flags; flags++)
        if (!strcmp(a, *flags))
            return 1;
    return 0;
}

/* From argv[i] to the next option name: over a flag, an option and its
 * value, or a stray argument (which the command's parser reports). */
static int step(char **argv, int i, const char *const *flags)
{
    if (strncmp(argv[i], "--", 2) || is_flag(argv[i], flags))
        return 1;
    return 2;
}

const char *cli_repeated(int argc, char **argv, const char *const *flags)
{
    /* The option names, stepping over values ("--out --x" names a file). */
    for (int i = 0; i < argc; i += step(argv, i, flags)) {
        if (strncmp(argv[i], "--", 2))
            continue;
        for (int j = i + step(argv, i, flags); j < argc; j += step(argv, j, flags))
            if (!strcmp(argv[i], argv[j]))
                return argv[i];
    }
    return NULL;
}

char **cli_split_equals(int argc, char **argv, int *n)
{
    /* at most twice as many words, and the terminating NULL */
    char **out = calloc((size_t)argc * 2 + 1, sizeof *out);
    if (!out)
        return NULL;
    int k = 0, options = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        if (!strcmp(a, "--"))
            options = 0;
        int split = options && !strncmp(a, "--", 2) && eq && eq > a + 2;
        if (!(out[k++] = split ? strndup(a, (size_t)(eq - a)) : strdup(a)) ||
            (split && !(out[k++] = strdup(eq + 1)))) {
            cli_free_args(out, k);
            return NULL;
        }
    }
    *n = k;
    return out;
}

void cli_free_args(char **args, int n)
{
    for (int i = 0; args && i < n; i++)
        free(args[i]);
    free(args);
}

int cli_precision(const char *opt, const char *val, int *out)
{
    if (!strcmp(val, "fp32"))
        *out = 0; /* NN_PRECISION_FP32 */
    else if (!strcmp(val, "int8"))
        *out = 2; /* NN_PRECISION_INT8 */
    else {
        cli_err("%s: '%s' is not fp32 or int8", opt, val);
        return -1;
    }
    return 0;
}
