/* gen_face_video - writes a synthetic face video (see facegen.h); makes
 * emotion-detect's demo clip, reproducibly:
 *   gen_face_video SRCDIR OUT.mp4 [FRAMES [FACES [WxH [FPS]]]]
 *   gen_face_video . assets/demo.mp4 90 2 640x480 15
 * With --truth, prints each frame's true face boxes instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facegen.h"

int main(int argc, char **argv)
{
    int truth = argc > 1 && !strcmp(argv[1], "--truth");
    if (truth) {
        argv++;
        argc--;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: gen_face_video [--truth] SRCDIR OUT.mp4 [FRAMES [FACES [WxH [FPS]]]]\n");
        return 2;
    }
    int frames = argc > 3 ? atoi(argv[3]) : 90;
    int faces = argc > 4 ? atoi(argv[4]) : 2;
    int w = 640, h = 480;
    if (argc > 5 && sscanf(argv[5], "%dx%d", &w, &h) != 2) {
        fprintf(stderr, "gen_face_video: bad size '%s'\n", argv[5]);
        return 2;
    }
    double fps = argc > 6 ? atof(argv[6]) : 15;
    if (frames < 1 || faces < 1 || w < 64 || h < 64 || fps <= 0) {
        fprintf(stderr, "gen_face_video: bad arguments\n");
        return 2;
    }
    char pic[4096], cas[4096], err[512];
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", argv[1]);
    snprintf(cas, sizeof cas, "%s/cascades/haarcascade_frontalface_default.xml", argv[1]);
    fg_scene s;
    if (fg_init(&s, pic, cas, w, h, frames, faces, err, sizeof err) != 0) {
        fprintf(stderr, "gen_face_video: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (truth) {
        for (int i = 0; i < frames; i++) {
            cvw_rect p[FG_MAX_FACES], f[FG_MAX_FACES];
            fg_layout(&s, i, p, f);
            printf("%d", i);
            for (int j = 0; j < s.n_faces; j++)
                printf(" %d,%d,%d,%d", f[j].x, f[j].y, f[j].w, f[j].h);
            printf("\n");
        }
    } else if (fg_write_video(&s, argv[2], fps) != 0) {
        fprintf(stderr, "gen_face_video: %s\n", cvw_error());
        rc = 1;
    }
    fg_free(&s);
    return rc;
}
