/*
 * devtools.h - emotion-detect for people who build on it (issue 14): the
 * session report tied to a run or a log (report_cmd.c), the camera list
 * (cameras.c) and many videos in one command (batch.c). Each entry point
 * returns an exit code (cli.h), or -1 to let the run go on.
 */
#ifndef ED_DEVTOOLS_H
#define ED_DEVTOOLS_H

#include <stddef.h>
#include <stdio.h>

#include "app.h"
#include "opts.h"

/* --report DIR: before anything loads, refuse a report file that is an
 * input, show that DIR can be written, and, without --overwrite, refuse a
 * DIR holding an earlier report (any of its files, not empty). 0 to go on,
 * or the exit code (CLI_EXIT_USAGE or CLI_EXIT_FAIL) after one line. */
int report_cmd_check(const opts *o);
/* -1 with "OPT 'DIR/index.html' exists (N bytes): give --overwrite ..."
 * in app_error() when DIR holds a non-empty file of a report; else 0. */
int report_cmd_refuse_existing(const char *opt, const char *dir);
/* After the source is open: start collecting (a->report). 0 to go on, or
 * CLI_EXIT_FAIL after one line. */
int report_cmd_begin(app *a);
/* After the run: write the report when frames came (one line on stderr
 * saying where), free it. Returns the run's code, or CLI_EXIT_FAIL when the
 * report could not be written. */
int report_cmd_end(app *a, int rc);
/* --report DIR --from-log LOG: the whole command. */
int report_cmd_from_log(const opts *o);

/* What the run reads, for logs and reports: the input path, or "camera N". */
const char *report_cmd_source_name(const app *a, char *buf, size_t len);
/* The model path the run uses. */
const char *report_cmd_model_name(const opts *o);

/* --list-cameras: the V4L2 devices named /dev/video* (dev_dir: "/dev"),
 * with names and frame sizes, to out; "no cameras found" when there are
 * none. Problems with one device are said on its line. Returns 0. */
int cameras_list(const char *dev_dir, FILE *out);
/* After a camera opened with --camera-size or --camera-fps: one line on
 * stderr comparing what was asked with what the camera gives. */
void cameras_granted(const app *a);

/* --out-dir: every input in turn (or --jobs at a time), each a child
 * emotion-detect writing into DIR, given this command's options as
 * o->given has them; exe is this program. Returns 0, or CLI_EXIT_FAIL
 * when any input failed. */
int batch_run(const opts *o, const char *exe);

#endif
