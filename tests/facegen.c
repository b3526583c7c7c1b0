/* facegen.c - synthetic face videos; see facegen.h. */
#include "facegen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fg_init(fg_scene *s, const char *picture, const char *cascade, int frame_w, int frame_h,
            int n_frames, int n_faces, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    uint8_t *full = NULL, *gray = NULL;
    int w, h;
    cvw_cascade *cc = NULL;
    if (cvw_read_bgr(picture, &full, &w, &h) != 0)
        goto cv_fail;
    cc = cvw_cascade_load(cascade);
    gray = malloc((size_t)w * h);
    if (!cc || !gray || cvw_bgr_to_gray(full, w, h, gray) != 0)
        goto cv_fail;
    cvw_rect f;
    if (cvw_cascade_detect(cc, gray, w, h, 1.05, 12, w / 8, 0, &f, 1) < 1) {
        snprintf(err, errlen, "no face found in %s", picture);
        goto fail;
    }
    /* Crop a square twice the face's size around it: the head and some
     * shoulders, as a webcam would show. */
    int side = 2 * f.w;
    int cx = f.x + f.w / 2, cy = f.y + f.h / 2;
    int x0 = cx - side / 2, y0 = cy - side / 2;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x0 + side > w) x0 = w - side;
    if (y0 + side > h) y0 = h - side;
    if (x0 < 0 || y0 < 0) {
        snprintf(err, errlen, "face too large in %s", picture);
        goto fail;
    }
    s->pic = malloc((size_t)side * side * 3);
    if (!s->pic)
        goto fail;
    for (int y = 0; y < side; y++)
        memcpy(s->pic + (size_t)y * side * 3, full + ((size_t)(y0 + y) * w + x0) * 3,
               (size_t)side * 3);
    s->pw = s->ph = side;
    s->face = (cvw_rect){f.x - x0, f.y - y0, f.w, f.h};
    s->frame_w = frame_w;
    s->frame_h = frame_h;
    s->n_frames = n_frames;
    s->n_faces = n_faces < 1 ? 1 : (n_faces > FG_MAX_FACES ? FG_MAX_FACES : n_faces);
    free(full);
    free(gray);
    cvw_cascade_free(cc);
    return 0;
cv_fail:
    snprintf(err, errlen, "%s", cvw_error());
fail:
    free(full);
    free(gray);
    cvw_cascade_free(cc);
    free(s->pic);
    s->pic = NULL;
    return -1;
}

void fg_free(fg_scene *s)
{
    free(s->pic);
    s->pic = NULL;
}

void fg_layout(const fg_scene *s, int i, cvw_rect *pics, cvw_rect *faces)
{
    int W = s->frame_w, H = s->frame_h, n = s->n_faces;
    double t = s->n_frames > 1 ? (double)i / (s->n_frames - 1) : 0;
    for (int j = 0; j < n; j++) {
        /* Each copy sways in its own column and breathes a little in size,
         * so boxes move and scale the way a person in front of a camera
         * does, without two copies ever overlapping. */
        double col = (double)W / n;
        int side = (int)lround(fmin(col * 0.8, H * 0.6) * (0.9 + 0.1 * sin(2 * M_PI * t + j)));
        double cx = col * (j + 0.5) + col * 0.08 * sin(2 * M_PI * t * 1.5 + 2 * j);
        double cy = H * 0.5 + H * 0.1 * cos(2 * M_PI * t + j);
        cvw_rect p = {(int)lround(cx - side / 2.0), (int)lround(cy - side / 2.0), side, side};
        double k = (double)side / s->pw;
        pics[j] = p;
        faces[j] = (cvw_rect){p.x + (int)lround(s->face.x * k), p.y + (int)lround(s->face.y * k),
                              (int)lround(s->face.w * k), (int)lround(s->face.h * k)};
    }
}

int fg_render(const fg_scene *s, int i, uint8_t *bgr)
{
    int W = s->frame_w, H = s->frame_h;
    /* A plain diagonal gradient: nothing in it looks like a face. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = bgr + ((size_t)y * W + x) * 3;
            p[0] = (uint8_t)(90 + 60 * x / W);
            p[1] = (uint8_t)(80 + 40 * y / H);
            p[2] = (uint8_t)(60 + 30 * (x + y) / (W + H));
        }
    cvw_rect pics[FG_MAX_FACES], faces[FG_MAX_FACES];
    fg_layout(s, i, pics, faces);
    for (int j = 0; j < s->n_faces; j++)
        if (cvw_paste_bgr(bgr, W, H, s->pic, s->pw, s->ph, pics[j]) != 0)
            return -1;
    return 0;
}

int fg_write_video(const fg_scene *s, const char *path, double fps)
{
    uint8_t *buf = calloc((size_t)s->frame_w * s->frame_h * 3 + CVW_WRITER_PAD, 1);
    cvw_writer *wr = buf ? cvw_writer_open(path, fps, s->frame_w, s->frame_h) : NULL;
    int rc = wr ? 0 : -1;
    for (int i = 0; rc == 0 && i < s->n_frames; i++)
        if (fg_render(s, i, buf) != 0 || cvw_writer_write(wr, buf) != 0)
            rc = -1;
    if (cvw_writer_close(wr) != 0)
        rc = -1;
    free(buf);
    return rc;
}

long fg_count_frames(const char *video, int *w, int *h)
{
    cvw_capture *c = cvw_capture_open_file(video);
    if (!c)
        return -1;
    int cw = cvw_capture_width(c), ch = cvw_capture_height(c);
    if (w)
        *w = cw;
    if (h)
        *h = ch;
    size_t cap = (size_t)cw * ch * 3;
    uint8_t *buf = malloc(cap);
    long n = 0;
    while (buf && cvw_capture_read(c, buf, cap, NULL, NULL) == 1)
        n++;
    free(buf);
    cvw_capture_close(c);
    return n;
}

/* Little-endian fields of the AVI headers. */
static void put32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, f);
}

static void put16(FILE *f, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    fwrite(b, 1, 2, f);
}

int fg_write_raw_avi(const char *path, int w, int h, int n_frames, double fps)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint32_t stride = ((uint32_t)w * 3 + 3) & ~3u, frame = stride * (uint32_t)h;
    uint32_t chunk = 8 + frame + (frame & 1);
    uint32_t strl = 4 + (8 + 56) + (8 + 40), hdrl = 4 + (8 + 56) + (8 + strl);
    uint32_t movi = 4 + chunk * (uint32_t)n_frames, idx = 16 * (uint32_t)n_frames;
    uint32_t riff = 4 + (8 + hdrl) + (8 + movi) + (8 + idx);
    uint32_t us = (uint32_t)(1e6 / fps);
    fwrite("RIFF", 1, 4, f), put32(f, riff), fwrite("AVI ", 1, 4, f);
    fwrite("LIST", 1, 4, f), put32(f, hdrl), fwrite("hdrl", 1, 4, f);
    fwrite("avih", 1, 4, f), put32(f, 56);
    put32(f, us), put32(f, frame * 30), put32(f, 0), put32(f, 0x10 /* has index */);
    put32(f, (uint32_t)n_frames), put32(f, 0), put32(f, 1), put32(f, frame);
    put32(f, (uint32_t)w), put32(f, (uint32_t)h);
    for (int i = 0; i < 4; i++)
        put32(f, 0);
    fwrite("LIST", 1, 4, f), put32(f, strl), fwrite("strl", 1, 4, f);
    fwrite("strh", 1, 4, f), put32(f, 56);
    fwrite("vids", 1, 4, f), fwrite("DIB ", 1, 4, f), put32(f, 0), put16(f, 0), put16(f, 0);
    put32(f, 0), put32(f, 1000), put32(f, (uint32_t)(fps * 1000)), put32(f, 0);
    put32(f, (uint32_t)n_frames), put32(f, frame), put32(f, 0xFFFFFFFFu), put32(f, 0);
    put16(f, 0), put16(f, 0), put16(f, (uint16_t)w), put16(f, (uint16_t)h);
    fwrite("strf", 1, 4, f), put32(f, 40);
    put32(f, 40), put32(f, (uint32_t)w), put32(f, (uint32_t)h), put16(f, 1), put16(f, 24);
    put32(f, 0), put32(f, frame), put32(f, 0), put32(f, 0), put32(f, 0), put32(f, 0);
    fwrite("LIST", 1, 4, f), put32(f, movi), fwrite("movi", 1, 4, f);
    uint8_t *px = malloc(frame + 1);
    if (px)
        memset(px, 128, frame + 1);
    for (int i = 0; px && i < n_frames; i++) {
        fwrite("00db", 1, 4, f), put32(f, frame);
        fwrite(px, 1, frame + (frame & 1), f);
    }
    fwrite("idx1", 1, 4, f), put32(f, idx);
    for (int i = 0; i < n_frames; i++) {
        fwrite("00db", 1, 4, f), put32(f, 0x10 /* key frame */);
        put32(f, 4 + chunk * (uint32_t)i), put32(f, frame);
    }
    int ok = px && !ferror(f);
    free(px);
    return fclose(f) == 0 && ok ? 0 : -1;
}
