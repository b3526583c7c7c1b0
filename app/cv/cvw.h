/*
 * cvw.h - the C face of OpenCV. app/cv/ is the only C++ in the tree; every
 * function here is extern "C", catches every C++ exception, and reports
 * failure as a NULL or negative return with a one-line message readable
 * through cvw_error() (per thread). Handles are opaque.
 *
 * Sections: images (file I/O, conversions), dnn (ONNX cross-check),
 * drawing (report pictures), video and detection (the app).
 */
#ifndef CVW_H
#define CVW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Last error message of the calling thread ("" when none). */
const char *cvw_error(void);

/* ---- images ---------------------------------------------------------------- */

/* Read an image file of any format, size or colour as 8-bit grayscale.
 * On success *pixels is malloc'd (caller frees with free()), w*h bytes.
 * Returns 0, or -1 with a message naming the file. */
int cvw_read_gray(const char *path, uint8_t **pixels, int *w, int *h);
/* (cvw_read_bgr, cvw_bgr_to_gray and cvw_equalize_gray are with video.) */

/* Resize an 8-bit gray image (area interpolation when shrinking, linear
 * when enlarging). */
int cvw_resize_gray(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);

/* Write an 8-bit image (channels 1, 3 BGR or 4 BGRA) to a file whose extension
 * picks the format (.png, .jpg). */
int cvw_write_image(const char *path, const uint8_t *pixels, int w, int h, int channels);

/* ---- dnn ---------------------------------------------------------------------- */

/* An ONNX model loaded by OpenCV's DNN module (CPU, float32), used to
 * cross-check the engine's exporter. NULL with a message on failure. */
typedef struct cvw_dnn cvw_dnn;
cvw_dnn *cvw_dnn_load_onnx(const char *path);
/* Run on n images of c x h x w floats (NCHW, fed to the graph input named
 * "input"); out receives the n x k output floats. Returns 0 or -1, also
 * when the output does not have n*k values. */
int cvw_dnn_forward(cvw_dnn *net, const float *in, int n, int c, int h, int w,
                    float *out, int k);
void cvw_dnn_free(cvw_dnn *net); /* frees the network; NULL is fine */

/* ---- drawing ---- */

/* Report pictures, drawn on white with titles, axes and labels, and written
 * to path (its extension picks the format; use .png). They take plain
 * arrays and return 0, or -1 with a message. Colours are 0xRRGGBB. */

/* One line of a chart: y[i] is plotted at x = i + 1; NaN leaves a gap. */
typedef struct cvw_series {
    const char *label; /* legend entry */
    const float *y;
    int n;
    uint32_t rgb;
} cvw_series;

/* One chart. ymin == ymax fits the y range to the data. */
typedef struct cvw_panel {
    const char *title, *xlabel, *ylabel;
    const cvw_series *series;
    int n_series;
    float ymin, ymax;
} cvw_panel;

/* Line charts side by side under a common title (training curves). */
int cvw_draw_plots(const char *path, const char *title, const cvw_panel *panels,
                   int n_panels);

/* Confusion matrix counts[k][k] (row: true class, column: predicted),
 * row-normalised: cells coloured and labelled by their share of the row
 * (with the count when there is room), class names on both axes, a colour
 * scale. */
int cvw_draw_confusion(const char *path, const char *title, const int *counts,
                       int k, const char *const *names);

/* Convolution filters w[n_out][n_in][kh][kw]: one tile per output filter
 * (its input channels side by side), each scaled to its own largest |w|:
 * red positive, blue negative, white zero. */
int cvw_draw_filters(const char *path, const char *title, const float *w,
                     int n_out, int n_in, int kh, int kw);

/* Feature maps of n faces: one row per face, the face (faces[n][fh][fw],
 * 8-bit gray) then its first max_maps maps of maps[n][c][mh][mw] (all when
 * max_maps <= 0), each scaled to its own min..max. */
int cvw_draw_feature_maps(const char *path, const char *title,
                          const uint8_t *faces, int n, int fw, int fh,
                          const float *maps, int c, int mh, int mw, int max_maps);

/* Sample predictions: a grid of faces[n][h][w] (8-bit gray), each with its
 * true and predicted class under it, green when right, red when wrong.
 * conf (may be NULL): the probability of the predicted class. Labels index
 * names[0..k-1]. */
int cvw_draw_samples(const char *path, const char *title, const uint8_t *faces,
                     int n, int w, int h, const int *truth, const int *pred,
                     const float *conf, const char *const *names, int k);

/* ---- video and detection ---------------------------------------------------- */

/* A video source: a camera or a video file. Frames are 8-bit BGR, w*h*3
 * bytes, rows packed. Opening reads the first frame, so a file that opens is
 * known to hold video and its size is known. */
typedef struct cvw_capture cvw_capture;
/* Camera by index (V4L2 on Linux). Fails at once, without waiting, when there
 * is no such device. width/height > 0 request a size (the camera may pick
 * another); 0 keeps the camera's default. */
cvw_capture *cvw_capture_open_camera(int index, int width, int height);
/* A frame rate to ask of cameras opened from now on (0: their default). */
void cvw_camera_request_fps(double fps);
/* Video file. Errors say whether the file is missing, unreadable or not a
 * video. */
cvw_capture *cvw_capture_open_file(const char *path);
/* Next frame into bgr (room for cap_bytes bytes); *w, *h receive its size.
 * Returns 1 for a frame, 0 at end of stream, -1 on error (a camera that
 * went away; also when the frame does not fit: *w, *h then say the size
 * and the same frame is returned by the next call). */
int cvw_capture_read(cvw_capture *cap, uint8_t *bgr, size_t cap_bytes, int *w, int *h);
int cvw_capture_width(const cvw_capture *cap);
int cvw_capture_height(const cvw_capture *cap);
/* Frames per second as the source reports it: 0 when unknown, and maybe
 * NaN, infinite or absurd from a damaged container; see CVW_FPS_MAX. */
double cvw_capture_fps(const cvw_capture *cap);
/* The highest frame rate taken as real: frames 0.1 ms apart (the log's
 * resolution) stay apart, and MPEG-4's time base holds it. High-speed
 * footage (240, 960, 1000 fps) is well inside. */
#define CVW_FPS_MAX 10000.0
/* Frame count a file reports (an estimate for some containers), or -1. */
long cvw_capture_frame_count(const cvw_capture *cap);
/* Position of the last frame read, in milliseconds (files), or -1. */
double cvw_capture_pos_ms(const cvw_capture *cap);
void cvw_capture_close(cvw_capture *cap); /* frees cap; NULL is fine */

/* Read an image file as 8-bit BGR; *pixels is malloc'd (free()), w*h*3.
 * Deeper pictures are scaled: 16-bit values over 257, floats as 0..1
 * (clipped); signed-integer ones are refused by name. */
int cvw_read_bgr(const char *path, uint8_t **pixels, int *w, int *h);

/* A face box, or any rectangle, in pixels. */
typedef struct cvw_rect {
    int x, y, w, h;
} cvw_rect;

/* Object detector (Haar or LBP cascade XML). */
typedef struct cvw_cascade cvw_cascade;
cvw_cascade *cvw_cascade_load(const char *path);
/* Detect on an 8-bit gray image (detectMultiScale). min_size/max_size are
 * the smallest/largest object side in pixels (0 = no limit). Writes at most
 * max_out boxes, largest first, and returns how many were found in all
 * (may exceed max_out), or -1. */
int cvw_cascade_detect(cvw_cascade *c, const uint8_t *gray, int w, int h,
                       double scale_factor, int min_neighbors,
                       int min_size, int max_size, cvw_rect *out, int max_out);
void cvw_cascade_free(cvw_cascade *c); /* NULL is fine */
/* The cascade's features, in OpenCV's numbering: 0 Haar, 1 LBP, 2 HOG; -1
 * when unknown. Detectors of different kinds frame faces differently. */
int cvw_cascade_feature_type(const cvw_cascade *c);

/* Threads OpenCV's own parallel loops (the detector) may use; 0 = default. */
void cvw_set_threads(int n);

/* Video file writer: the extension picks the codec (.mp4 mp4v, .avi MJPG,
 * .mkv mp4v). Frames must be w x h BGR, followed by CVW_WRITER_PAD bytes
 * that may be read: FFmpeg's scaler (libswscale) reads up to 16 bytes past
 * the end of a frame. */
#define CVW_WRITER_PAD 64
typedef struct cvw_writer cvw_writer;
/* fps: up to 1000 as given (what every container above holds), faster
 * rates (to CVW_FPS_MAX) as 1000, and 25 for one that is not a rate. */
cvw_writer *cvw_writer_open(const char *path, double fps, int w, int h);
/* The same, writing path but naming shown in messages (a temporary file
 * that becomes shown; cvw_writer_moved tells the writer its new name). */
cvw_writer *cvw_writer_open_as(const char *path, const char *shown, double fps, int w, int h);
void cvw_writer_moved(cvw_writer *wr, const char *path);
int cvw_writer_write(cvw_writer *wr, const uint8_t *bgr);
/* Finish the file (trailer written, playable), read it back to show that
 * its last frame decodes (OpenCV reports no write errors, so this is how a
 * full disk is found), and free wr; NULL is fine. Returns 0 or -1. */
int cvw_writer_close(cvw_writer *wr);

/* Conversions on packed 8-bit images. */
int cvw_bgr_to_gray(const uint8_t *bgr, int w, int h, uint8_t *gray);
int cvw_equalize_gray(uint8_t *gray, int w, int h); /* in place */
/* Contrast-limited adaptive equalization (8x8 tiles, clip 2), in place. */
int cvw_clahe_gray(uint8_t *gray, int w, int h);
/* A rotated, scaled window of a gray image: dst pixel (u, v) samples the
 * source at (cx, cy) + scale * R(angle) * (u - (dw-1)/2, v - (dh-1)/2),
 * where R turns by angle_deg from the x axis towards the y axis (image
 * coordinates, y down). So a face whose eye line runs at angle_deg in the
 * source is level in dst, scale source pixels to a dst pixel. Bilinear;
 * shrinking by more than 1.5 averages areas first; outside the source the
 * border repeats. */
int cvw_warp_gray(const uint8_t *src, int sw, int sh, double cx, double cy,
                  double angle_deg, double scale, uint8_t *dst, int dw, int dh);
int cvw_resize_bgr(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);
/* Crop r (clamped to the image) out of a gray image and resize it to
 * dw x dh (area when shrinking, linear when enlarging). */
int cvw_crop_resize_gray(const uint8_t *src, int sw, int sh, cvw_rect r,
                         uint8_t *dst, int dw, int dh);
/* Composite src (sw x sh BGR) scaled to r onto dst (dw x dh BGR), clipped.
 * For generating test videos. */
int cvw_paste_bgr(uint8_t *dst, int dw, int dh, const uint8_t *src, int sw, int sh,
                  cvw_rect r);

#ifdef __cplusplus
}
#endif
#endif /* CVW_H */
