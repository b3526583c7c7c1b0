/*
 * nn.h - the emotion detector's CNN engine: the whole interface, for the
 * programs (app/) and the tests. It includes emotion_engine.h, the public
 * part installed as a library (load, input shape, class names, preprocess,
 * forward, errors, free), and adds the rest: specs, training, optimizers,
 * calibration, INT8, kernels, saving and export. Not installed.
 *
 * Pure C11 (libc, libm, pthreads). A network is a sequence of layers built
 * from a small text spec (one layer per line, see nn_net_from_spec), holding
 * float32 NCHW activations. The same object runs inference on a batch of
 * faces, trains (forward, backward, optimizer step), and is saved to and
 * loaded from a checksummed `.model` file together with its class names,
 * input preprocessing and training metadata.
 *
 * Errors are values: functions that can fail return NULL or a negative
 * number and leave a one-line message readable with nn_error() (per thread).
 * Nothing here prints or exits.
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

#include "emotion_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NN_MAX_CLASSES 64
#define NN_NAME_MAX 64 /* longest class name, bytes, including NUL */

/* ---- threads and kernels ------------------------------------------------ */

/* The GEMM micro-kernels in use, one per class of shapes: a single face's
 * inference, a batch's, training's. On first use the kernels the CPU
 * supports ("avx512", "avx2"; "ref" is the portable C one) are timed on
 * each class's typical products and the fastest kept, cached per CPU model
 * under $XDG_CACHE_HOME/emotion-detector (or ~/.cache). Environment:
 * NN_KERNEL=ref|avx2|avx512 forces one kernel for every class (an
 * unsupported one is ignored), NN_KERNEL_CACHE=0 turns the cache off,
 * NN_CONV=im2col turns off the Winograd convolutions, for comparisons. */
typedef enum { NN_SHAPES_SINGLE = 0, NN_SHAPES_BATCH = 1, NN_SHAPES_TRAIN = 2 } nn_shape_class;
/* The kernel of one class, e.g. "avx2". */
const char *nn_kernel_for(nn_shape_class c);
/* All classes and how they were chosen, e.g.
 * "single:avx2 batch:avx512 train:avx512 (measured)"; the source is
 * "measured", "cache", "NN_KERNEL" or "only one". */
const char *nn_kernel_name(void);

/* ---- networks ------------------------------------------------------------ */

/* Image preprocessing a model expects, applied by the caller (the app, the
 * trainer) before nn_net_forward: convert to grayscale when in_c == 1,
 * resize to in_w x in_h, histogram-equalize when `equalize`, then
 * x = pixel * scale + bias for pixel values 0..255. */
typedef struct nn_preproc {
    int equalize;
    float scale;
    float bias;
} nn_preproc;

/* Training metadata stored in a model file. Strings are NUL-terminated. */
typedef struct nn_meta {
    char dataset[256];    /* data the model was trained on */
    char command[1024];   /* command line that trained it */
    int32_t epochs;       /* epochs trained */
    float val_accuracy;   /* best validation accuracy, 0..1, or -1 unknown */
    int64_t created;      /* unix time of training end, 0 unknown */
    double train_seconds; /* wall time of training */
} nn_meta;

/* Names of the built-in architectures, NULL-terminated. */
extern const char *const nn_preset_names[];
/* Spec text of a preset, or NULL when there is no such preset. */
const char *nn_preset_spec(const char *name);

/*
 * Build a network from a spec. One layer per line; '#' starts a comment;
 * blank lines are ignored. Grammar:
 *   input W H C                   (or WxH C), must be the first layer
 *   conv OUT KxK [stride S] [valid|same] [relu]
 *   maxpool K [stride S]          (stride defaults to K; valid)
 *   avgpool K [stride S]
 *   gap                           global average pool
 *   bn                            batch norm (per channel)
 *   relu | flatten | softmax
 *   dropout RATE
 *   dense UNITS|classes [relu|softmax]
 *   residual ... end [relu]       a block whose input (the output of the
 *                                 layer before `residual`) is added to its
 *                                 output, through a 1x1 projection of the
 *                                 block's stride when width or size differ;
 *                                 `relu` follows the sum. Blocks nest.
 *   se R                          squeeze-and-excitation: channels scaled by
 *                                 sigmoid(W2 relu(W1 mean(x) + b1) + b2),
 *                                 C/R hidden units
 * `classes` stands for n_classes. Layers after a conv or pool that need flat
 * input (dense) flatten implicitly. Errors name the line ("line 3: ...").
 * Weights are zero until nn_net_init or a load.
 */
nn_net *nn_net_from_spec(const char *spec, int n_classes);
/* nn_net_from_spec(nn_preset_spec(name) or, if name is not a preset, the
 * contents of the file at path `name`). */
nn_net *nn_net_from_arch(const char *name_or_file, int n_classes);

/* He-normal initialisation of weights, zero biases, BN gamma 1 beta 0. */
void nn_net_init(nn_net *net, uint64_t seed);

/* Start dst from src's trained weights (fine-tuning, transfer learning).
 * Both must come from the same spec, perhaps for different class counts;
 * dst's classes must be set. Everything is copied, preprocessing included,
 * except the classifier (the last dense layer and any batch norm after it),
 * whose rows follow class names: dst's classes that src has too get src's
 * rows, the others keep dst's own values (say, from nn_net_init). Returns
 * how many of dst's classes src has, or -1 with nn_error set. */
int nn_net_transfer(nn_net *dst, const nn_net *src);

/* Re-estimating batch-norm running statistics for weights that never ran
 * with their own, such as an average of weights from several epochs:
 * nn_net_bn_reset zeroes them, then nn_net_bn_accumulate runs batch k
 * (1, 2, ...) of n images forward in training mode (dropout on, as the
 * statistics were gathered in training) and folds its statistics in, so
 * after K batches they are the mean over all K. Returns 0 or -1. */
void nn_net_bn_reset(nn_net *net);
int nn_net_bn_accumulate(nn_net *net, const float *x, int n, int k);

/* Geometry and counts. */
size_t nn_net_n_params(const nn_net *net);  /* trainable parameters */
uint64_t nn_net_macs(const nn_net *net);    /* multiply-adds per image */
int nn_net_n_layers(const nn_net *net);
/* One-line description of layer i, e.g. "conv 64 3x3 valid -> 64x44x44". */
const char *nn_net_layer_desc(const nn_net *net, int i, char *buf, size_t len);
/* Profiling: with seconds non-NULL (n_layers entries), every FP32 or BF16
 * forward pass adds each layer's wall time to seconds[i]; a convolution or
 * batch norm that runs fused with the ReLU after it counts both on itself
 * (the ReLU gets nothing), and an INT8 pass counts whole on the last layer.
 * NULL stops it. Costs two clock reads per layer. */
void nn_net_time_layers(nn_net *net, double *seconds);
const char *nn_net_spec(const nn_net *net); /* normalized spec text */

/* Class names in output order. nn_net_set_classes copies them; count must
 * equal nn_net_n_classes. Returns 0 or -1. */
int nn_net_set_classes(nn_net *net, const char *const *names, int count);

nn_preproc *nn_net_preproc(nn_net *net);
const nn_preproc *nn_net_preproc_c(const nn_net *net);
nn_meta *nn_net_meta(nn_net *net);
const nn_meta *nn_net_meta_c(const nn_net *net);

/* Threads used by forward and backward (nn_net_set_threads). */
int nn_net_threads(const nn_net *net);

/* Arithmetic of a net: FP32 (the default) everywhere; BF16: the training
 * GEMMs (forward, dX, dW, Winograd's too) on BF16 operands with FP32 sums,
 * where the CPU has AVX512_BF16 (about twice the multiply-adds per
 * instruction), weights, gradients and the optimizer staying FP32 and
 * inference passes FP32; INT8: inference passes (nn_net_forward with
 * train == 0) in 8-bit integers, which needs a calibration (see
 * nn_net_calibrate_int8), training staying FP32. Not stored in the model
 * file. */
typedef enum nn_precision {
    NN_PRECISION_FP32 = 0,
    NN_PRECISION_BF16 = 1,
    NN_PRECISION_INT8 = 2,
} nn_precision;
/* 1 when this CPU and OS can run BF16 GEMMs (and NN_KERNEL does not force
 * a kernel without them), else 0. */
int nn_bf16_supported(void);
/* Returns 0, or -1 (net unchanged) for BF16 where it is not supported or
 * INT8 without a calibration. In INT8, nn_net_layer_output has only the
 * outputs of layers that still ran in float (the last ones): the others
 * exist only as 8-bit integers. */
int nn_net_set_precision(nn_net *net, nn_precision p);
nn_precision nn_net_precision(const nn_net *net);
/* Sets, and returns, the faster inference precision for one face: INT8
 * when the net has an INT8 calibration and INT8 passes time faster than
 * FP32 ones on this CPU (a few passes of each on a mid-gray face, about
 * ten face times in all), else FP32. Where the CPU has two INT8 kernels
 * (VNNI and AVX2) it first times both and sets the faster for this net
 * (nn_net_set_int8_kernel), unless NN_INT8_KERNEL forces one. For programs
 * whose models were checked to lose no accuracy in INT8 (emotion-detect's
 * default). */
nn_precision nn_net_use_faster_precision(nn_net *net);

/* nn_net_forward (emotion_engine.h): `train` selects batch-norm batch
 * statistics and active dropout. Once warmed up, a pass allocates nothing. */

/* Loss settings for nn_net_backward. */
typedef struct nn_loss_cfg {
    float label_smoothing;       /* 0 = off; target = (1-s)*onehot + s/K */
    const float *class_weights;  /* NULL or [n_classes] per-class weights */
    /* NULL, or soft targets [n][n_classes] (each row a distribution, as
     * mixup and cutmix make) used instead of the labels y, which may then
     * be NULL. Smoothing applies to them as to a one-hot row, (1-s)*t + s/K,
     * and an image's class weight is the targets' mix of the weights,
     * sum_j t_j * w[j], which is w[y] for a one-hot row. */
    const float *targets;
    /* Knowledge distillation: NULL, or the teacher's probabilities at
     * temperature T, q[n][n_classes] (softmax(teacher logits / T), averaged
     * over teachers). The loss becomes
     *   alpha * T^2 * KL(q || softmax(z / T)) + (1 - alpha) * CE(labels)
     * with z the student's logits (class weights apply to CE only). */
    const float *teacher;
    float distill_t, distill_alpha;
} nn_loss_cfg;

/* Cross-entropy of probabilities p[n][k] against labels y[n] (or
 * cfg->targets); with cfg as above (cfg may be NULL). If dlogits is not
 * NULL it receives the gradient of the mean loss with respect to the
 * softmax inputs. Returns the loss. */
float nn_xent(const float *p, const int *y, int n, int k,
              const nn_loss_cfg *cfg, float *dlogits);
/* The whole training loss nn_net_backward uses, on logits z[n][k] and
 * their softmax p: nn_xent, plus the distillation term when cfg->teacher
 * is set. dlogits (may be NULL) receives its gradient at z. */
float nn_loss(const float *z, const float *p, const int *y, int n, int k,
              const nn_loss_cfg *cfg, float *dlogits);

/*
 * Backward pass for the last nn_net_forward(train=1) call: computes the
 * cross-entropy loss against labels y (or cfg->targets) and accumulates parameter gradients
 * (nn_net_zero_grad clears them). Returns the mean loss, or a negative
 * number on error. The network must end in softmax.
 */
float nn_net_backward(nn_net *net, const int *y, const nn_loss_cfg *cfg);
void nn_net_zero_grad(nn_net *net);

/* Flat parameter and gradient buffers (n_params floats each). Getting the
 * parameter buffer counts as changing it: weights derived from it (the
 * Winograd-transformed kernels) are remade on the next pass. So after
 * writing parameters, call nn_net_params again before the next pass rather
 * than keep writing through an old pointer. */
float *nn_net_params(nn_net *net);
float *nn_net_grads(nn_net *net);
/* The dropout RNG state (saved in checkpoints so a resumed run repeats). */
uint64_t *nn_net_rng(nn_net *net);

/* Index of the first convolution layer, or -1; its weights [out][in][k][k]. */
int nn_net_first_conv(const nn_net *net, const float **w, int *out, int *in, int *k);
/* Output of layer i from the last forward pass, [n][c][h][w] (NULL before
 * any pass). */
const float *nn_net_layer_output(const nn_net *net, int i, int *c, int *h, int *w);

/* Flat non-trainable state (batch-norm running mean and variance). */
float *nn_net_state(nn_net *net);
size_t nn_net_n_state(const nn_net *net);

/* ---- precision: INT8 inference ------------------------------------------ */

/* Post-training INT8 quantization: runs n preprocessed images x (a few
 * hundred training faces) through the net in FP32 and keeps the range of
 * every layer's output, from which activations are quantized to u8;
 * weights are quantized per output channel (symmetric int8) from the FP32
 * weights, which stay. The ranges are saved with the model (an optional
 * section). Calibrate again after changing the weights. Returns 0 or -1. */
int nn_net_calibrate_int8(nn_net *net, const float *x, int n);
/* Whether the net has an INT8 calibration (from the call above or a file). */
int nn_net_has_int8(const nn_net *net);
/* The INT8 kernel in use: "vnni", "avx2" or "ref", by cpuid;
 * NN_INT8_KERNEL=ref|avx2|vnni forces one (if supported). The avx2 kernel
 * runs 3x3 convolutions as integer Winograd, exactly (the same outputs);
 * NN_INT8_WINOGRAD=0 turns that off, =all uses it even on few channels. */
const char *nn_int8_kernel_name(void);
/* This net's INT8 kernel: name NULL for the process's (above), else one
 * this CPU runs. All give the same outputs bit for bit; only speed
 * differs. Returns 0, or -1 (unknown or unsupported here; no calibration). */
int nn_net_set_int8_kernel(nn_net *net, const char *name);
const char *nn_net_int8_kernel(const nn_net *net);

/* ---- calibration ---------------------------------------------------------- */

/*
 * Probability calibration stored with a model: the logits z (the softmax
 * layer's input) become scale[j] * z[j] + bias[j] before the softmax. A
 * temperature T is scale 1/T for every class and no bias; vector scaling
 * has a scale and a bias per class. Inference (nn_net_forward with
 * train == 0) applies it, so every probability a model gives out is
 * calibrated; training passes never do.
 */
typedef enum { NN_CALIB_NONE = 0, NN_CALIB_TEMPERATURE = 1, NN_CALIB_VECTOR = 2 } nn_calib_kind;

typedef struct nn_calib {
    nn_calib_kind kind;
    int n_classes;                 /* must equal the net's */
    float scale[NN_MAX_CLASSES];   /* > 0, finite */
    float bias[NN_MAX_CLASSES];    /* finite */
} nn_calib;

/* The net's calibration (kind NN_CALIB_NONE when it has none). */
const nn_calib *nn_net_calib(const nn_net *net);
/* Set (a copy of) c, or remove it with NULL or kind NN_CALIB_NONE. The net
 * must end in softmax. Returns 0 or -1. */
int nn_net_set_calib(nn_net *net, const nn_calib *c);
/* The raw logits [n][n_classes] of the last forward pass (the softmax
 * layer's input, before any calibration), or NULL with nn_error set. */
const float *nn_net_logits(const nn_net *net);

/* Fit a calibration of `kind` to logits[n][k] of images labelled y by
 * minimising the mean negative log-likelihood. TEMPERATURE: a 1-D search
 * over T. VECTOR: starts from the fitted temperature and runs L-BFGS on the
 * NLL plus l2 * (sum (scale_j - 1/T)^2 + sum bias_j^2), which keeps it near
 * the temperature where data is thin. Returns 0 or -1. */
int nn_calib_fit(nn_calib *out, nn_calib_kind kind, const float *logits, const int *y, int n, int k,
                 float l2);
/* Apply c to logits z[n][k] and softmax them into p[n][k] (c NULL: plain
 * softmax). z and p may be the same buffer. */
void nn_calib_probs(const nn_calib *c, const float *z, float *p, int n, int k);
/* T of a temperature calibration (1 when none, 0 for vector scaling). */
float nn_calib_temperature(const nn_calib *c);

/* Mean negative log-likelihood of labels y under probabilities p[n][k]. */
double nn_nll(const float *p, const int *y, int n, int k);
/* Expected calibration error: top-1 confidences in `bins` equal-width
 * bins over [0, 1] (a confidence of exactly 1 goes in the last), ECE =
 * sum over bins of |bin| / n * |accuracy(bin) - mean confidence(bin)|. */
double nn_ece(const float *p, const int *y, int n, int k, int bins);

/* ---- what the model looks at (saliency.c) -------------------------------- */

/* The gradient of class cls's score (its logit: the softmax's input, before
 * any calibration) with respect to the input x of one preprocessed image
 * [c][h][w]: how much each input value moves that score. cls < 0 takes the
 * class the net ranks first. Runs an inference pass in FP32 (whatever the
 * precision set) and a backward pass through it: batch norm as its running
 * statistics, dropout as the identity. dx receives c*h*w floats. Parameter
 * gradients are accumulated into on the way (nn_net_zero_grad clears
 * them), so do not call it between a training pass and its optimizer step.
 * The net must end in softmax. Returns the class, or -1 with nn_error set. */
int nn_net_input_grad(nn_net *net, const float *x, int cls, float *dx);
/* A saliency map from such a gradient: per pixel the largest |dx| over the
 * channels, divided by the largest of all so it spans 0..1 (all zero when
 * dx is). out has h*w floats. */
void nn_saliency_map(const float *dx, int c, int h, int w, float *out);

/* ---- optimizers and schedules ------------------------------------------- */

typedef enum { NN_SGD, NN_ADAM, NN_ADAMW } nn_optim_kind;

typedef struct nn_optim_cfg {
    nn_optim_kind kind;
    float lr;
    float momentum;     /* SGD */
    int nesterov;       /* SGD */
    float beta1, beta2, eps; /* Adam, AdamW */
    float weight_decay; /* SGD/Adam: L2 added to the gradient; AdamW: decoupled.
                           Applied to conv and dense weights only. */
} nn_optim_cfg;

/* Sensible defaults for a kind (lr 0.01 SGD momentum 0.9, lr 1e-3 Adam). */
nn_optim_cfg nn_optim_defaults(nn_optim_kind kind);

typedef struct nn_optim nn_optim;
nn_optim *nn_optim_new(nn_net *net, const nn_optim_cfg *cfg);
void nn_optim_free(nn_optim *opt);
/* One update of the net's parameters from its gradients at learning rate lr. */
void nn_optim_step(nn_optim *opt, float lr);
/* Optimizer state (moments, step count) as a flat buffer for checkpoints. */
size_t nn_optim_state_size(const nn_optim *opt); /* floats */
float *nn_optim_state(nn_optim *opt);
int64_t *nn_optim_step_count(nn_optim *opt);

typedef enum { NN_SCHED_CONST, NN_SCHED_STEP, NN_SCHED_COSINE, NN_SCHED_PLATEAU } nn_sched_kind;

typedef struct nn_sched {
    nn_sched_kind kind;
    float base_lr;
    int warmup_epochs;   /* linear warm-up, all kinds */
    int step_every;      /* STEP: epochs between drops */
    float gamma;         /* STEP and PLATEAU: multiplier per drop */
    int total_epochs;    /* COSINE */
    float min_lr;        /* COSINE floor, PLATEAU floor */
    int patience;        /* PLATEAU: epochs without improvement */
    /* PLATEAU state */
    float best;
    int bad_epochs;
    float cur_lr;
} nn_sched;

/* Parse "const", "step:EVERY:GAMMA", "cosine", "plateau:PATIENCE:GAMMA"
 * (fields optional). Returns 0 or -1 with nn_error set. */
int nn_sched_parse(nn_sched *s, const char *text, float base_lr, int total_epochs);
/* Learning rate for epoch e (0-based). */
float nn_sched_lr(nn_sched *s, int epoch);
/* Report an epoch's validation loss to PLATEAU (others ignore it). */
void nn_sched_observe(nn_sched *s, float val_loss);

/* ---- model files and export ---------------------------------------------- */

/* Save architecture, classes, preprocessing, metadata, weights and state.
 * Writes PATH.tmp-XXXXXX (a new file) then renames it into place. Returns 0 or -1. */
int nn_net_save(const nn_net *net, const char *path);
/* Loading: nn_net_load, nn_net_load_mem (emotion_engine.h). */
/* Serialize to a malloc'd buffer; *len receives its size. */
void *nn_net_save_mem(const nn_net *net, size_t *len);

/* CRC-32 (IEEE 802.3), continuing from crc (start with 0). */
uint32_t nn_crc32(uint32_t crc, const void *data, size_t len);

/* Export to ONNX: input "input" [N,C,H,W] float32 raw 0..255 after resize
 * and equalization; scaling is inside the graph; output "probs"
 * [N,n_classes]. Returns 0 or -1. */
int nn_export_onnx(const nn_net *net, const char *path);
/* The same ONNX model as a malloc'd buffer (the caller writes and frees
 * it); *len receives its size. NULL on failure. */
void *nn_export_onnx_mem(const nn_net *net, size_t *len);

/* ---- utilities ----------------------------------------------------------- */

/* Histogram equalization of an 8-bit image in place, identical to OpenCV's
 * equalizeHist (so the engine and the app agree bit for bit). */
void nn_equalize_u8(uint8_t *img, int w, int h);

/* Monotonic clock in seconds. */
double nn_now(void);

#ifdef __cplusplus
}
#endif
#endif /* NN_H */
