/*
 * emotion_engine.h - the emotion detector's CNN engine as a library: the
 * installed public header (libemotion-engine, pkg-config emotion-engine).
 *
 * Load a `.model` written by emotion-train, turn 8-bit gray face crops into
 * the network's input, run a batch forward and read one probability per
 * class:
 *
 *     nn_net *net = nn_net_load("default.model");   // NULL: see nn_error()
 *     int c, h, w;
 *     nn_net_input_shape(net, &c, &h, &w);
 *     float *x = malloc(sizeof(float) * c * h * w);
 *     nn_preprocess_u8(net, face_w_by_h_gray, x);
 *     const float *p = nn_net_forward(net, x, 1, 0);  // [1][n_classes]
 *     ... nn_net_class(net, k) names p[k] ...
 *     nn_net_free(net);
 *
 * Errors are values: a function that can fail returns NULL or a negative
 * number and leaves a one-line message readable with nn_error(). Nothing
 * here prints or exits. A net is not safe to use from two threads at once;
 * separate nets are independent.
 *
 * Versions: NN_VERSION_* below is the version of this header; nn_version()
 * that of the library loaded. The shared library's soname carries
 * NN_VERSION_MAJOR, which changes when a program built against an older
 * header could break.
 *
 * Only what is declared here is part of the library's interface. The
 * engine's other functions (training, optimizers, network specs,
 * calibration, INT8, kernels) are for the emotion-detector programs, are
 * declared in its internal nn.h and are not exported by the shared library.
 */
#ifndef EMOTION_ENGINE_H
#define EMOTION_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NN_VERSION_MAJOR 0
#define NN_VERSION_MINOR 1
#define NN_VERSION_PATCH 0
#define NN_VERSION_STRING "0.1.0"

/* The library's version, "MAJOR.MINOR.PATCH" (may differ from the
 * header's NN_VERSION_STRING when a newer library of the same MAJOR is
 * installed). */
const char *nn_version(void);

/* Last error message of the calling thread ("" when none). */
const char *nn_error(void);

/* A network with its weights, class names and input preprocessing. */
typedef struct nn_net nn_net;

/* Load a model file. Its format is checked (magic, version, sizes,
 * checksum), and a model that gives no valid probabilities for a mid-gray
 * face (NaN weights) is refused too. Returns NULL with nn_error() set on
 * failure. */
nn_net *nn_net_load(const char *path);
/* Same, from len bytes of a model file in memory (not kept). */
nn_net *nn_net_load_mem(const void *data, size_t len);
/* Free the net and everything it owns (NULL is a no-op). */
void nn_net_free(nn_net *net);

/* The input one image must have: c channels of h x w floats, NCHW. */
void nn_net_input_shape(const nn_net *net, int *c, int *h, int *w);
/* Number of classes, the length of one image's output row. */
int nn_net_n_classes(const nn_net *net);
/* Name of class i (0 <= i < nn_net_n_classes), e.g. "happy"; owned by the
 * net. */
const char *nn_net_class(const nn_net *net, int i);

/* Preprocess one 8-bit gray face crop that is already the net's input size
 * (w x h pixels, row-major, no padding; resize it first) into the c*h*w
 * floats the net takes: the model's own histogram equalization and scaling,
 * the gray image repeated in each channel for a colour model. */
void nn_preprocess_u8(const nn_net *net, const uint8_t *gray, float *out);

/* Threads a forward pass may use (default 1). Returns 0 or -1. */
int nn_net_set_threads(nn_net *net, int threads);

/*
 * Forward pass on n images x[n][c][h][w] (each made by nn_preprocess_u8).
 * Returns the class probabilities [n][n_classes], owned by the net and
 * valid until the next call on it, or NULL with nn_error() set. Pass
 * train = 0 (1 is the trainer's: batch statistics and dropout). Buffers
 * grow to the largest n seen and are then reused.
 */
const float *nn_net_forward(nn_net *net, const float *x, int n, int train);

#ifdef __cplusplus
}
#endif
#endif /* EMOTION_ENGINE_H */
