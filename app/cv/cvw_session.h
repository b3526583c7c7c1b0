/*
 * cvw_session.h - the pictures of emotion-detect's session report
 * (app/detect/sreport.h), drawn with OpenCV on white like the trainer's
 * report and with the same helpers (cvw_drawing.hpp). extern "C", every
 * exception caught; 0, or -1 with cvw_error(). Colours are 0xRRGGBB.
 */
#ifndef CVW_SESSION_H
#define CVW_SESSION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One row of the timeline: a track's n samples at times t[i] (seconds,
 * increasing), probabilities p[i*k + c], and band[i], the class to colour
 * the dominant-emotion band with at t[i] (-1: none). Samples further apart
 * than `gap` seconds are not joined (the face was away). */
typedef struct cvw_timeline_row {
    const char *label;    /* left of the row, e.g. "face 3" */
    const char *sublabel; /* under it, e.g. "happy 64%" (may be NULL) */
    const float *t;
    const float *p;
    const int *band;
    int n;
} cvw_timeline_row;

/* Rows one above the other on a common time axis t0..t1 (seconds), the
 * legend (names[c] in rgb[c]) under the title. In the band a sample
 * lasts until the next; the last before a gap lasts `frame` seconds. */
int cvw_draw_timeline(const char *path, const char *title, const cvw_timeline_row *rows,
                      int n_rows, const char *const *names, const uint32_t *rgb, int k,
                      double t0, double t1, double gap, double frame);

/* One tile of a contact sheet: a BGR picture w x h (w*h*3 bytes), framed in
 * rgb, with two lines of caption. */
typedef struct cvw_tile {
    const uint8_t *bgr;
    int w, h;
    const char *line1, *line2;
    uint32_t rgb;
} cvw_tile;

/* Tiles in a grid (each picture scaled to fit a square cell), under a
 * title. */
int cvw_draw_contact_sheet(const char *path, const char *title, const cvw_tile *tiles,
                           int n);

#ifdef __cplusplus
}
#endif
#endif
