/* runprog.h - run a program under test with its output captured to files
 * and a time limit; read files back. For the tests that drive a binary. */
#ifndef RUNPROG_H
#define RUNPROG_H

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline double rp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Start argv with stdout/stderr into files; returns the pid or -1. */
/* Start argv with stdin read from the file in (NULL: /dev/null), stdout
 * and stderr into out and err; its pid. */
static inline pid_t rp_start_in(char *const *argv, const char *in, const char *out, const char *err)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fi = open(in ? in : "/dev/null", O_RDONLY);
    if (fo < 0 || fe < 0 || fi < 0)
        _exit(127);
    dup2(fi, 0);
    dup2(fo, 1);
    dup2(fe, 2);
    execv(argv[0], argv);
    _exit(127);
}

static inline pid_t rp_start(char *const *argv, const char *out, const char *err)
{
    return rp_start_in(argv, NULL, out, err);
}

/* Lines (newlines) in a file; 0 when it cannot be read. */
static inline int rp_count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, ch;
    while (f && (ch = getc(f)) != EOF)
        n += ch == '\n';
    if (f)
        fclose(f);
    return n;
}

/* Wait up to timeout seconds; kills on timeout and returns -1, else the
 * exit status (128 + signal when killed by one). */
static inline int rp_wait(pid_t pid, double timeout, double *elapsed)
{
    double t0 = rp_now();
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (rp_now() - t0 > timeout) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            if (elapsed)
                *elapsed = rp_now() - t0;
            return -1;
        }
        usleep(10000);
    }
    if (elapsed)
        *elapsed = rp_now() - t0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline int rp_run(char *const *argv, const char *out, const char *err, double timeout,
                  double *elapsed)
{
    pid_t pid = rp_start(argv, out, err);
    return pid < 0 ? -1 : rp_wait(pid, timeout, elapsed);
}

static inline char *rp_slurp(const char *path);

/* Run exe with the arguments that follow, up to a NULL (at most 30), stdout
 * and stderr into the files out and err; returns rp_wait's status and, when
 * errtext is not NULL, stderr as a malloc'd string in *errtext. */
static inline int rp_run_args(const char *exe, const char *out, const char *err, double timeout,
                              char **errtext, ...)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)exe;
    va_list ap;
    va_start(ap, errtext);
    for (const char *a; n < 31 && (a = va_arg(ap, const char *));)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    int rc = rp_run(argv, out, err, timeout, NULL);
    if (errtext)
        *errtext = rp_slurp(err);
    return rc;
}

/* Whole file as a NUL-terminated malloc'd string, or NULL. */
static inline char *rp_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    size_t got;
    while (s && (got = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            char *t = realloc(s, cap * 2);
            if (!t) {
                free(s);
                s = NULL;
                break;
            }
            s = t;
            cap *= 2;
        }
    }
    fclose(f);
    if (s)
        s[n] = 0;
    return s;
}

static inline int rp_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* A fresh temporary directory into buf. */
static inline const char *rp_tmpdir(char *buf, size_t len, const char *tag)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, len, "%s/%s-XXXXXX", base && *base ? base : "/tmp", tag);
    return mkdtemp(buf);
}

/* rm -r of a temp dir made by rp_tmpdir (one level of files). */
static inline void rp_rmdir(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

#endif
