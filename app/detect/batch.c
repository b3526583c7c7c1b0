/* batch.c - many videos in one command (--out-dir, devtools.h). Each input
 * is processed by a child emotion-detect of its own, with the options of
 * this command and its own outputs:
 *   DIR/NAME.jsonl (or .csv)  the frame log
 *   DIR/NAME/                 the session report
 *   DIR/NAME.avi|mkv|mp4      the annotated video, with --record FORMAT
 * where NAME is the input's file name without its extension (-2, -3 added
 * when two inputs share one). A child of its own per video means a video
 * that crashes its decoder fails alone, and --jobs N is N children. A
 * folder stands for the videos in it (by extension, sorted); a folder with
 * none is one input, a folder of images. Failures are reported as they
 * happen; the rest go on; the exit status says whether any failed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "devtools.h"
#include "app_err.h"
#include "dirlist.h"
#include "outpath.h"

typedef struct job {
    char *path;     /* the input */
    char name[256]; /* NAME */
    pid_t pid;
    FILE *err;      /* the child's stderr, read when it ends */
    int rc;
} job;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct list {
    job *j;
    int n, cap;
} list;

static int add(list *l, const char *path)
{
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 16;
        job *j = realloc(l->j, sizeof *j * (size_t)nc);
        if (!j)
            return -1;
        l->j = j;
        l->cap = nc;
    }
    job *j = &l->j[l->n];
    memset(j, 0, sizeof *j);
    j->path = strdup(path);
    if (!j->path)
        return -1;
    l->n++;
    return 0;
}

/* A folder: its videos, sorted; none: the folder itself. */
static int add_input(list *l, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return add(l, path); /* a missing file fails in its child, said there */
    DIR *d = opendir(path);
    if (!d)
        return add(l, path);
    char **names = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !dirlist_is_video(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, sizeof *nn * (size_t)cap);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1) /* an empty folder has no array at all */
        qsort(names, (size_t)n, sizeof *names, cmp_str);
    size_t pl = strlen(path);
    while (pl > 1 && path[pl - 1] == '/')
        pl--;
    for (int i = 0; i < n && rc == 0; i++) {
        char full[8400];
        snprintf(full, sizeof full, "%.*s/%s", (int)pl, path, names[i]);
        rc = add(l, full);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == 0 && n == 0)
        rc = add(l, path);
    return rc;
}

/* The last component of path (trailing slashes ignored) into out: for
 * ".", ".." and "/" the name of the folder they are (realpath), "root"
 * for the root; "input" when the folder cannot be resolved. A path's text
 * alone would name "." or ".." logs hidden files in --out-dir and put
 * their reports in --out-dir itself. */
static void last_component(const char *path, char *out, size_t len)
{
    size_t pl = strlen(path);
    while (pl > 1 && path[pl - 1] == '/')
        pl--;
    const char *s = path;
    for (size_t k = 0; k < pl; k++)
        if (path[k] == '/' && k + 1 < pl)
            s = path + k + 1;
    snprintf(out, len, "%.*s", (int)(path + pl - s), s);
    if (strcmp(out, ".") && strcmp(out, "..") && strcmp(out, "/") && out[0])
        return;
    char *real = realpath(path, NULL);
    const char *slash = real ? strrchr(real, '/') : NULL;
    snprintf(out, len, "%s", !real ? "input" : slash && slash[1] ? slash + 1 : "root");
    free(real);
}

/* NAME: the last component without its extension, unique in the list. */
static void name_jobs(list *l)
{
    for (int i = 0; i < l->n; i++) {
        char base[256];
        last_component(l->j[i].path, base, sizeof base);
        char *dot = strrchr(base, '.');
        if (dot && dot != base)
            *dot = 0;
        snprintf(l->j[i].name, sizeof l->j[i].name, "%s", base);
        for (int k = 2;; k++) {
            int taken = 0;
            for (int q = 0; q < i; q++)
                taken |= !strcmp(l->j[q].name, l->j[i].name);
            if (!taken)
                break;
            snprintf(l->j[i].name, sizeof l->j[i].name, "%.200s-%d", base, k);
        }
    }
}

/* Options of this command that the children get their own way (by the
 * long names opts_parse records). */
static int own_option(const char *name)
{
    static const char *const own[] = {"input", "out-dir", "jobs", "log", "record", "threads",
                                      "headless", "quiet", NULL};
    for (const char *const *o = own; *o; o++)
        if (!strcmp(name, *o))
            return 1;
    return 0;
}

enum { JOB_PATH_MAX = 4400 };

/* A job's log and recording (recp is empty without --record). */
static void job_outputs(const opts *o, const job *j, char *logp, char *recp)
{
    snprintf(logp, JOB_PATH_MAX, "%s/%s.%s", o->out_dir, j->name, o->batch_log_ext);
    recp[0] = 0;
    if (o->batch_record_ext)
        snprintf(recp, JOB_PATH_MAX, "%s/%s.%s", o->out_dir, j->name, o->batch_record_ext);
}

/* The child's command line is made from the options as parsed
 * (o->given: full names, values apart), not from this command's text: an
 * abbreviation (--inp) or a "--" there would otherwise reach the child as
 * written, next to the options it is given. */
static int start(const opts *o, const char *exe, job *j, const char *dir, int threads)
{
    char logp[JOB_PATH_MAX], repp[JOB_PATH_MAX], recp[JOB_PATH_MAX], thr[16];
    char names[OPTS_MAX_GIVEN][48];
    job_outputs(o, j, logp, recp);
    snprintf(repp, sizeof repp, "%s/%s", dir, j->name);
    snprintf(thr, sizeof thr, "%d", threads);
    char **cargv = calloc((size_t)o->n_given * 2 + 16, sizeof *cargv);
    if (!cargv)
        return -1;
    int n = 0;
    cargv[n++] = (char *)exe;
    for (int i = 0; i < o->n_given; i++) {
        if (own_option(o->given[i].name))
            continue;
        snprintf(names[i], sizeof names[i], "--%s", o->given[i].name);
        cargv[n++] = names[i];
        if (o->given[i].value)
            cargv[n++] = (char *)o->given[i].value;
    }
    char *fixed[] = {"--headless", "-q", "--threads", thr, "--input", j->path, "--log", logp,
                     "--report", repp};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        cargv[n++] = fixed[i];
    if (o->batch_record_ext) {
        cargv[n++] = "--record";
        cargv[n++] = recp;
    }
    cargv[n] = NULL;
    j->err = tmpfile();
    if (!j->err) {
        free(cargv);
        return -1;
    }
    /* Only its own child gets it (as stderr, through dup2). */
    fcntl(fileno(j->err), F_SETFD, FD_CLOEXEC);
    fflush(NULL);
    j->pid = fork();
    if (j->pid == 0) {
        int fd = fileno(j->err), null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        dup2(fd, 2);
        execv(exe, cargv);
        fprintf(stderr, "emotion-detect: cannot run '%s': %s\n", exe, strerror(errno));
        _exit(127);
    }
    free(cargv);
    if (j->pid < 0) {
        fclose(j->err);
        j->err = NULL;
        return -1;
    }
    return 0;
}

/* The child's messages: its summary's first line on success (or that it
 * was interrupted), everything on failure, indented under the input's
 * line. Returns 1 when the child stopped before the end of its input
 * (interrupted: its outputs are whole but cover part of it), else 0. */
static int finish(job *j, int idx, int total)
{
    char line[4200], first[4200] = "";
    int failed = j->rc != 0, stopped = 0;
    rewind(j->err);
    while (!failed && fgets(line, sizeof line, j->err)) {
        stopped |= strstr(line, "interrupted; outputs closed") != NULL;
        if (!first[0] && strstr(line, " frames, ")) {
            const char *p = strstr(line, ": ");
            snprintf(first, sizeof first, "%s", p ? p + 2 : line);
        }
    }
    fprintf(stderr, "emotion-detect: [%d/%d] %s: %s", idx, total, j->path,
            failed ? "FAILED" : stopped ? "interrupted" : "done");
    if (failed) {
        fprintf(stderr, " (exit %d)\n", j->rc);
        rewind(j->err);
        while (fgets(line, sizeof line, j->err))
            fprintf(stderr, "    %s", line);
    } else {
        fprintf(stderr, "%s%s", first[0] ? ", " : "\n", first);
    }
    fclose(j->err);
    j->err = NULL;
    return stopped;
}

/* An output that is one of the inputs (--out-dir the videos' own folder
 * with --record of their format, or a folder of images as NAME/): it was
 * refused as an earlier run's output ("give --overwrite"), and with
 * --overwrite only by that video's child. Said at the start, as what it
 * is; outputs that do not exist yet cost one stat each. */
static int output_is_input(const list *l, const char *what, const char *out, const char *of)
{
    struct stat so, si;
    if (!out || !*out || stat(out, &so) != 0)
        return 0;
    for (int k = 0; k < l->n; k++)
        if (stat(l->j[k].path, &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
            return app_fail("--out-dir: the %s of '%s' would be '%s', which is the input '%s': "
                            "give another --out-dir", what, of, out, l->j[k].path);
    return 0;
}

static void list_free(list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->j[i].path);
    free(l->j);
}

int batch_run(const opts *o, const char *exe)
{
    if (outpath_probe_dir(o->out_dir) != 0) {
        cli_err("--out-dir: %s", app_error());
        return CLI_EXIT_FAIL;
    }
    if (outpath_mkdirs(o->out_dir) != 0) { /* parents too, as for a report folder */
        cli_err("--out-dir: %s", app_error());
        return CLI_EXIT_FAIL;
    }
    list l = {0};
    int rc = o->input ? add_input(&l, o->input) : 0;
    for (int i = 0; rc == 0 && i < o->n_more_inputs; i++)
        rc = add_input(&l, o->more_inputs[i]);
    if (rc != 0) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    name_jobs(&l);
    for (int i = 0; i < l.n; i++) {
        char logp[JOB_PATH_MAX], recp[JOB_PATH_MAX], repp[JOB_PATH_MAX];
        job_outputs(o, &l.j[i], logp, recp);
        snprintf(repp, sizeof repp, "%s/%s", o->out_dir, l.j[i].name);
        if (output_is_input(&l, "log", logp, l.j[i].path) != 0 ||
            output_is_input(&l, "recording", recp, l.j[i].path) != 0 ||
            output_is_input(&l, "report", repp, l.j[i].path) != 0) {
            cli_err("%s", app_error());
            list_free(&l);
            return CLI_EXIT_USAGE;
        }
    }
    /* A batch run again into the same folder: refused before any video
     * starts, not video by video (each child would refuse its own). */
    for (int i = 0; i < l.n && !o->overwrite; i++) {
        char logp[JOB_PATH_MAX], recp[JOB_PATH_MAX], repp[JOB_PATH_MAX];
        job_outputs(o, &l.j[i], logp, recp);
        snprintf(repp, sizeof repp, "%s/%s", o->out_dir, l.j[i].name);
        if (outpath_refuse_existing("--out-dir", logp) != 0 ||
            outpath_refuse_existing("--out-dir", recp[0] ? recp : NULL) != 0 ||
            report_cmd_refuse_existing("--out-dir", repp) != 0) {
            cli_err("%s", app_error());
            rc = CLI_EXIT_USAGE;
            break;
        }
    }
    if (rc != 0) {
        list_free(&l);
        return rc;
    }
    int jobs = o->jobs > 0 ? o->jobs : 1;
    if (jobs > l.n)
        jobs = l.n;
    int threads = o->threads / jobs > 0 ? o->threads / jobs : 1;
    cli_err("%d input%s into %s, %d at a time, %d thread%s each", l.n, l.n == 1 ? "" : "s",
           o->out_dir, jobs, threads, threads == 1 ? "" : "s");
    int next = 0, running = 0, ok = 0, failed = 0, stopped = 0, forwarded = 0;
    while (next < l.n || running > 0) {
        while (!app_interrupted && running < jobs && next < l.n) {
            if (start(o, exe, &l.j[next], o->out_dir, threads) != 0) {
                cli_err("[%d/%d] %s: cannot start: %s", next + 1, l.n, l.j[next].path,
                       strerror(errno));
                l.j[next].pid = 0;
                failed++;
            } else {
                running++;
            }
            next++;
        }
        if (running == 0)
            break;
        if (app_interrupted && !forwarded) {
            /* Ctrl-C reaches the children by itself (one process group);
             * a SIGTERM sent to this process alone is passed on, so every
             * child closes its outputs and ends. */
            for (int i = 0; i < next; i++)
                if (l.j[i].pid > 0)
                    kill(l.j[i].pid, SIGINT);
            forwarded = 1;
        }
        int st;
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue; /* Ctrl-C: the children stop on their own */
            break;
        }
        for (int i = 0; i < next; i++)
            if (l.j[i].pid == pid) {
                l.j[i].rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                l.j[i].pid = 0;
                running--;
                failed += l.j[i].rc != 0;
                /* an interrupted video is not done: it was cut short */
                if (finish(&l.j[i], i + 1, l.n))
                    stopped++;
                else
                    ok += l.j[i].rc == 0;
            }
    }
    if (app_interrupted && next < l.n)
        cli_err("interrupted: %d input%s not started", l.n - next, l.n - next == 1 ? "" : "s");
    char cut[48] = "";
    if (stopped)
        snprintf(cut, sizeof cut, " %d interrupted,", stopped);
    cli_err("%d input%s: %d done,%s %d failed; outputs in %s", l.n, l.n == 1 ? "" : "s", ok,
            cut, failed, o->out_dir);
    list_free(&l);
    return failed || stopped || (app_interrupted && next < l.n) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
