/*
 * elog.h - the per-frame log: JSON lines (.jsonl, .json) or CSV (.csv).
 *
 * JSON lines, one object per processed frame:
 *   {"frame":12,"t_ms":480.0,"faces":[{"id":1,"box":[x,y,w,h],
 *    "emotion":"happy","confidence":0.87,"probs":{"angry":0.01,...}}]}
 * (the first record may end with a "session" member, see elog_session);
 * CSV, one row per face (a frame without faces gets a row with empty face
 * fields, so every frame appears; every row has the header's fields):
 *   frame,t_ms,id,x,y,w,h,emotion,confidence,p_<class>...,hint,calibrated
 * (hint: the frame's "hint" of the JSON log, or empty; calibrated: 1 when
 * the face's probabilities are corrected by a personal calibration, else 0,
 * empty on a row without a face).
 * A log of images (with_file) names each record's image: "file":"PATH"
 * after "frame" in JSON, a `file` column after `frame` in CSV (quoted as
 * RFC 4180 says when the path holds a comma, a quote or a line break).
 * Boxes are in the source frame's pixels. Each frame is flushed, so a crash
 * loses at most the frame being written.
 */
#ifndef ED_ELOG_H
#define ED_ELOG_H

#include <stddef.h>

#include "pipeline.h"

typedef struct elog elog;

/* Open for writing: "-" is standard output, a device or pipe is written
 * in place, any other path through a temporary file beside it
 * (outpath.h), so that an existing log is replaced only by elog_place or
 * elog_close, never by a run that fails before. names: the k class names.
 * NULL with a message in app_error(). */
elog *elog_open(const char *path, const char *const *names, int k, int with_file);
/* Name the session in the first JSON record, after its faces:
 *   ...],"session":{"source":"clip.mp4","model":"models/default.model"}}
 * so that --from-log can say what the log came from (and re-read the
 * source's faces). Call before the first frame; CSV logs leave it out. */
void elog_session(elog *l, const char *source, const char *model);
/* file: the image's path for a log opened with_file (else ignored).
 * Returns 0, or -1 when the write failed (disk full). */
int elog_frame(elog *l, long frame, double t_ms, const char *file, const pipeline_result *r);
/* Put the log in place now (the run has started); it stays open. A log
 * that replaces an earlier one (--overwrite) waits for elog_close, so a
 * failure or a kill on the way keeps the earlier log. 0, or -1 with a
 * message. */
int elog_place(elog *l);
/* Closes the file, putting it in place if elog_place has not; returns -1
 * with "cannot write 'PATH': reason" in app_error() when a write or the
 * close failed (an unplaced log is then removed). NULL is fine. */
int elog_close(elog *l);
/* Closes without a message; a log not yet placed is removed, leaving the
 * old file (or none) as it was. NULL is fine. */
void elog_discard(elog *l);

#endif
