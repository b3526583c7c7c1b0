/* outpath.h - outputs that never destroy what the user owns.
 *
 * Three pieces both programs use before and while they write:
 *  - outpath_distinct: refuse a run whose output is one of its inputs or another
 *    of its outputs, by device and inode (names lie: ./a, a, links);
 *  - outpath_probe / outpath_probe_dir: show that an output can be written (create
 *    and remove a probe file in its folder) before any work starts;
 *  - outpath_open / outpath_commit (and outpath_write_mem): a whole file written to a
 *    temporary file in the same folder and renamed into place, so a failed
 *    or interrupted write leaves the old file as it was. Every write, flush
 *    and close is checked. An existing device or pipe (/dev/stdout) is
 *    written directly, never replaced; so is the file the program's
 *    standard output or error is redirected to (/dev/stdout > file), after
 *    what the program wrote there;
 *  - outpath_place / outpath_stage: the same for files that grow during a
 *    run (logs, recordings), put in place once the run has started.
 * Every function returns 0 (outpath_open: the FILE), or -1 (NULL) with one
 * line in app_error() (app_err.h) naming the file and the reason (no
 * program prefix; the caller adds it). */
#ifndef ED_OUTPATH_H
#define ED_OUTPATH_H

#include <stddef.h>
#include <stdio.h>

/* OUTPATH_FILE_MKDIRS: a file whose missing folders the writer creates. */
enum { OUTPATH_INPUT = 0, OUTPATH_FILE = 1, OUTPATH_FOLDER = 2, OUTPATH_FILE_MKDIRS = 3 };

typedef struct outpath_path {
    const char *opt;  /* what the user calls it: "--out", "--input" */
    const char *path; /* NULL = not given, skipped */
    int output;       /* OUTPATH_INPUT, or OUTPATH_FILE / OUTPATH_FOLDER for what this run writes */
} outpath_path;

/* Fails when an output is the same file as an input or another output.
 * Paths that do not exist yet compare by their folder and name. */
int outpath_distinct(const outpath_path *p, int n);

/* Both checks for a command's start, before anything is loaded: the same
 * file twice, or an output named "-" (not standard output here), is a
 * usage error (CLI_EXIT_USAGE), an output that cannot be
 * written CLI_EXIT_FAIL, each after one line on stderr. Returns 0 to go on. */
int outpath_check_outputs(const outpath_path *p, int n);

/* An output that would replace what an earlier run made: fails when path
 * is an existing regular file holding anything ("--record 'a.avi' exists
 * (N bytes): give --overwrite to replace it, or another name"). Empty
 * files, devices and pipes (/dev/null, a fifo) hold nothing to lose. */
int outpath_refuse_existing(const char *opt, const char *path);

/* The same for a folder of outputs (a report): fails when dir is an
 * existing folder with anything in it ("--report 'rep' is not empty (8
 * entries): give --overwrite to replace its files, or another folder"), so
 * that two runs' files are never mixed in one folder. A missing or empty
 * folder (or a path that is not a folder: the probe says so) passes. */
int outpath_refuse_nonempty_dir(const char *opt, const char *dir);

/* An output folder inside an input folder of pictures (--report inside
 * --data): fails, since the next run reading that folder would take the
 * output's pictures for its own (a report's PNGs as a class of training
 * faces). dir that is not a folder (a CSV) holds nothing to mix into. */
int outpath_refuse_inside(const char *opt, const char *path, const char *dir_opt, const char *dir);

/* "STEM.EXT", or the first free "STEM-2.EXT", "STEM-3.EXT"... (names made
 * from the clock: two in one second must not replace each other). */
void outpath_free_name(char *buf, size_t len, const char *stem, const char *ext);

/* Whether path can be written as a file: not a folder, its folder exists,
 * and a file can be created there (found by trying). An existing device
 * or pipe needs only write permission. */
int outpath_probe(const char *path);

/* The same for a folder of outputs (--report DIR): an existing writable
 * folder, or a missing one whose nearest existing parent is writable. */
int outpath_probe_dir(const char *dir);

typedef struct outpath_file {
    FILE *f;
    int direct;        /* writing the target itself (a device, pipe or standard stream) */
    int placed;        /* renamed into place by outpath_place, still open */
    int replaces;      /* path held a non-empty regular file when the temporary was made */
    char path[4096];
    char tmp[4096 + 32];
} outpath_file;

/* Open a temporary file beside path for writing; returns o->f or NULL.
 * Finish with outpath_commit, or outpath_abort to drop it. */
FILE *outpath_open(outpath_file *o, const char *path);
/* Flush, sync, close and rename into place; on any failure the temporary
 * file is removed and the old file (if any) is left untouched. */
int outpath_commit(outpath_file *o);
void outpath_abort(outpath_file *o);

/* A file that grows while a program runs (a log, a recording) and should
 * replace an old one only once the run has really started: written under
 * the temporary name and put in place by outpath_place, after which it
 * stays open and grows where the user looks for it. outpath_commit
 * finishes it (and places it when that has not happened); outpath_abort
 * before outpath_place removes it, leaving the old file (or no file) as it
 * was, and after it only closes. outpath_place renames now; 0 or -1 with a
 * message. */
int outpath_place(outpath_file *o);
/* outpath_place, but not for a file that replaces an earlier one (written
 * with --overwrite: o->replaces): that one stays under its temporary name
 * until outpath_commit, so a run that fails or is killed on the way keeps
 * the earlier file whole. Returns 0 or -1 as outpath_place. */
int outpath_place_new(outpath_file *o);

/* For a writer that opens the file by name itself (a video writer picks
 * the container by its extension): outpath_open's temporary file, created
 * empty and closed, named "PATH.tmp-XXXXXX.EXT" with path's extension
 * kept. The writer writes to outpath_target(o): the temporary file, or
 * path itself when it is a device or pipe (o->direct) or once placed.
 * 0 or -1 with a message. */
int outpath_stage(outpath_file *o, const char *path);
const char *outpath_target(const outpath_file *o);

/* Create dir and its missing parents; 0, or -1 with a message (also
 * when dir exists but is not a folder). */
int outpath_mkdirs(const char *dir);

/* A folder of files that stand together (a report): written into a
 * staging folder inside dir and moved into place only once every one is
 * whole, so a failure half-way (a full disk) leaves an earlier set in dir
 * as it was. outpath_stage_dir makes DIR/.report-XXXXXX in st->stage (dir
 * made first, with its parents); outpath_stage_path gives a name's path in
 * it; outpath_stage_finish moves the named files found there into dir when
 * `place` (all were written), then removes whatever is left and the
 * staging folder. It returns 0, or -1 with a message: when not `place`, the
 * writer's message from app_error(), the staging folder's name in it put
 * back as dir's, so it names the file the user asked for. */
typedef struct outpath_staging {
    char dir[4096];   /* dir without trailing slashes */
    char stage[4200];
} outpath_staging;
int outpath_stage_dir(outpath_staging *st, const char *dir);
void outpath_stage_path(const outpath_staging *st, const char *name, char *buf, size_t len);
int outpath_stage_finish(outpath_staging *st, const char *const *names, int n, int place);

/* n bytes as the whole of path, through outpath_open/outpath_commit. */
int outpath_write_mem(const char *path, const void *data, size_t n);

/* Checks that a file written piece by piece (logs) took every byte:
 * returns 0, or -1 with "cannot write 'path': reason" in app_error().
 * Closes f. */
int outpath_close_checked(FILE *f, const char *path);

#endif
