/*
 * sreport.h - the session report of `emotion-detect --report DIR`: what
 * happened to each tracked face over a run, as pictures, tables and a page.
 *
 * A session collects every frame's faces (live from the pipeline, or read
 * back from a JSON-lines log with --from-log) and writes into DIR:
 *   timeline.png  per track (one row each, the longest-seen tracks first,
 *                 at most SREPORT_MAX_ROWS): each emotion's probability over
 *                 time in seconds, smoothed over half a second, lines in
 *                 the emotion's colour, and above them a band coloured by
 *                 the dominant emotion at each moment;
 *   faces.png     a contact sheet: each track's most confident frame,
 *                 cropped around the face, labelled with its id and
 *                 dominant emotion (left out, with a note, when no frame
 *                 pixels are at hand: a log whose source cannot be read);
 *   summary.json  {"source","model","frames","duration_s","fps","classes",
 *                  "tracks":[{"id","first_s","last_s","frames","dominant",
 *                  "mean_confidence","best_frame","best_confidence",
 *                  "share":{class: share of the track's frames}}]}
 *   summary.csv   one row per track: id,first_s,last_s,frames,dominant,
 *                 mean_confidence,best_frame,share_<class>...,source,model,
 *                 session_frames,duration_s,fps (a session without tracks:
 *                 one row with the track fields empty);
 *   index.html    one page showing all of it (the pictures beside it).
 *
 * Definitions. A track's frames are the frames it was seen in; its share of
 * an emotion is the fraction of those frames whose top class (after the
 * pipeline's smoothing) was that emotion, so shares sum to 1; its dominant
 * emotion is the one with the largest share (the first on a tie); mean
 * confidence is the mean top-class probability. The session's duration is
 * the span of its frame times plus one frame interval, (last - first) *
 * frames / (frames - 1); fps is frames / duration (the source's rate for a
 * file, the processed rate for a camera). Values are taken at the
 * precision the log writes (0.1 ms, 4 decimals), so a live report and one
 * rebuilt from its log have the same summary.
 *
 * Errors are values (app_err.h); nothing here prints.
 */
#ifndef ED_SREPORT_H
#define ED_SREPORT_H

#include <stddef.h>
#include <stdint.h>

#include "outpath.h"
#include "pipeline.h"

#define SREPORT_MAX_ROWS 12   /* tracks drawn in timeline.png */
#define SREPORT_MAX_TILES 32  /* tracks shown in faces.png */

typedef struct sreport_session sreport_session;

/* A new, empty session; names[0..k) the classes (k may be 0 when they are
 * not known yet: the log reader learns them from the first face). NULL
 * with app_error() when out of memory. */
sreport_session *sreport_new(const char *const *names, int k);
void sreport_free(sreport_session *s); /* NULL is fine */

/* What the session ran on and with, for the summary (copied). */
void sreport_set_info(sreport_session *s, const char *source, const char *model);

/* One frame: its number in the source, time, and faces. bgr (w x h, may be
 * NULL) gives the crops for faces.png; file is the picture's path for a
 * still (the report then counts pictures, not time), NULL for video.
 * Returns 0, or -1 (out of memory). */
int sreport_add(sreport_session *s, long frame, double t_ms, const pipeline_result *r, const uint8_t *bgr,
           int w, int h, const char *file);

/* A session rebuilt from a JSON-lines frame log (elog.h's format); path
 * "-" reads standard input. A last line cut short (the program was killed
 * mid-write) is left out. Returns the session, or NULL with app_error()
 * naming the file and line. */
sreport_session *sreport_read_log(const char *path);

/* The source the log named (sreport_read_log), or NULL. */
const char *sreport_source(const sreport_session *s);

/* Read the crops of the tracks' best frames from a video, image or folder
 * (the session's source read again). Returns how many tracks got a crop,
 * -1 with app_error() when the source cannot be read, or
 * SREPORT_NOT_THE_SOURCE with app_error() saying why when, as far as a
 * log read back tells, path is not what it was made from: images for a
 * log of a video or the other way round; a best frame's picture of
 * another name (a log of images names each one); a video whose frame
 * rate puts the log's last frame at another time (not for a camera's
 * log), or whose frames a best face's box lies outside of. */
#define SREPORT_NOT_THE_SOURCE (-2)
int sreport_fetch_faces(sreport_session *s, const char *path);

/* A line for index.html and faces.png's absence, e.g. why there are no
 * crops. Copied. */
void sreport_set_note(sreport_session *s, const char *note);

/* The five outputs' paths inside dir, for outpath_distinct: paths[i] receives
 * dir/name (each up to len bytes). */
#define SREPORT_N_FILES 5
extern const char *const sreport_file_names[SREPORT_N_FILES];
void sreport_paths(const char *dir, char paths[SREPORT_N_FILES][4200]);

/* Write the report into dir (created, with missing parents). Every file
 * is written whole through a temporary file. Returns 0, or -1 with
 * app_error() naming the first file that failed (the others are still
 * attempted). */
int sreport_write(const sreport_session *s, const char *dir);

/* The session's figures as summary.json has them, for the program's
 * messages: frames, tracks. */
long sreport_frames(const sreport_session *s);
/* Whether the session is of pictures (a folder, an image), not video. */
int sreport_stills(const sreport_session *s);
int sreport_n_tracks(const sreport_session *s);
/* A log read back: the number of its last line when that line was cut
 * short (a run killed mid-write) and so left out; 0 when none was. */
long sreport_cut_line(const sreport_session *s);

#endif
