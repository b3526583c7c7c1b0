/* sreport_internal.h - the session report's data, shared by its two
 * halves: sreport.c collects (live or from a log), sreport_write.c writes
 * the files. Not for other modules: they use sreport.h. */
#ifndef ED_SREPORT_INTERNAL_H
#define ED_SREPORT_INTERNAL_H

#include "sreport.h"

/* One face in one frame, values at the log's precision. */
typedef struct sample {
    long frame;
    double t;     /* seconds */
    int id, cls;
    float conf;
} sample;

typedef struct track {
    int id;
    long frames;
    double first, last;  /* seconds */
    double conf_sum;
    long *cls_count;     /* [k] */
    float best_conf;
    long best_frame;
    cvw_rect best_box;
    uint8_t *crop;       /* BGR, crop_w x crop_h, or NULL */
    int crop_w, crop_h;
    char *best_file;     /* a log of images: the best frame's picture, else NULL */
} track;

struct sreport_session {
    int k;
    char names[NN_MAX_CLASSES][NN_NAME_MAX];
    const char *name_ptrs[NN_MAX_CLASSES];
    char *source, *model, *note;
    long frames;
    double first_t, last_t; /* seconds, of all frames */
    int with_files;         /* of pictures (their records name them): no duration */
    long probe_frame;       /* a log: its highest frame number ... */
    double probe_t_ms;      /* ... and that frame's time as logged */
    long cut_line;          /* a log: its last line, cut short and left out (0: none) */
    sample *s;
    float *probs;           /* [n][k] */
    long n, cap;
    track *tracks;
    int n_tracks, cap_tracks;
};

#endif
