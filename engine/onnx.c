/*
 * onnx.c - export a network to ONNX, so other runtimes (OpenCV DNN, ONNX
 * Runtime) can run a trained model and cross-check the engine.
 *
 * The graph, in order:
 *   input "input"  float32 [N, C, H, W], raw pixels 0..255 after grayscale,
 *                  resize and (when the model wants it) histogram equalization
 *   Mul  pre.scale, Add pre.bias      the model's nn_preproc scaling
 *   one node per layer: Conv, MaxPool, AveragePool, GlobalAveragePool, Gemm
 *   (transB=1, preceded by a Flatten when its input still has spatial dims),
 *   Relu, BatchNormalization, Flatten, Softmax (axis 1); dropout is the
 *   identity at inference and emits nothing; a calibrated model's last
 *   Softmax is preceded by Mul calib.scale [n_classes] and Add calib.bias;
 *   a residual block's end is Add(block output, skip), the skip being the
 *   tensor of the layer before the block, through a 1x1 Conv first when the
 *   block has a projection; squeeze-and-excitation is GlobalAveragePool,
 *   Conv 1x1, Relu, Conv 1x1, Sigmoid, Resize (nearest, the gates spread
 *   over H x W) and Mul(input, gates) (the 1x1 Convs on N x C x 1 x 1 are
 *   its two dense maps); a crop is Slice over H and W
 *   (int64 initializers starts, ends, axes) taking its inference window,
 *   the centre
 *   output "probs" float32 [N, n_classes]
 * Weights are initializers stored as raw_data (little-endian float32).
 * metadata_props carry what the graph cannot: class names ("classes",
 * comma-joined, see join_classes), "equalize" ("true"/"false"), the scale and bias, input
 * size, the normalized spec and training metadata.
 *
 * ir_version 8 with the default-domain opset 13: old enough for OpenCV 4.6's
 * importer, new enough for current ONNX Runtime.
 *
 * Protobuf is written by hand (wire format: varint keys field<<3|type,
 * type 0 varint, 2 length-delimited, 5 fixed32). Each nested message is built
 * in its own buffer and then appended with its length, which copies the
 * weights once or twice: a few megabytes at most for these models.
 * Field numbers below are those of onnx.proto.
 */
#include "nn_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ONNX_IR_VERSION 8
#define ONNX_OPSET 13

/* onnx.proto enums */
enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_INTS = 7 };
enum { DTYPE_FLOAT = 1, DTYPE_INT64 = 7 };

/* ---- protobuf writer --------------------------------------------------- */

/* A growing byte buffer. A failed allocation sets oom and turns every later
 * write into a no-op, so callers check once at the end. */
typedef struct pb {
    uint8_t *p;
    size_t n, cap;
    int oom;
} pb;

static void pb_free(pb *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static int pb_reserve(pb *b, size_t more)
{
    if (b->oom)
        return -1;
    if (more <= b->cap - b->n)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->n < more) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void pb_put(pb *b, const void *data, size_t len)
{
    if (len == 0 || pb_reserve(b, len))
        return;
    memcpy(b->p + b->n, data, len);
    b->n += len;
}

static void pb_varint(pb *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    pb_put(b, tmp, n);
}

static void pb_key(pb *b, int field, int wire)
{
    pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

/* int64/int32/enum fields: negative numbers are 10-byte two's complement. */
static void pb_int(pb *b, int field, int64_t v)
{
    pb_key(b, field, 0);
    pb_varint(b, (uint64_t)v);
}

static void pb_bytes(pb *b, int field, const void *data, size_t len)
{
    pb_key(b, field, 2);
    pb_varint(b, len);
    pb_put(b, data, len);
}

static void pb_str(pb *b, int field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

/* Little-endian float32 whatever the host's byte order. */
static void put_f32le(uint8_t *dst, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    dst[0] = (uint8_t)u;
    dst[1] = (uint8_t)(u >> 8);
    dst[2] = (uint8_t)(u >> 16);
    dst[3] = (uint8_t)(u >> 24);
}

static void pb_f32(pb *b, int field, float f)
{
    uint8_t tmp[4];
    pb_key(b, field, 5);
    put_f32le(tmp, f);
    pb_put(b, tmp, 4);
}

/* Append sub as embedded message `field` and free it. */
static void pb_msg(pb *b, int field, pb *sub)
{
    if (sub->oom)
        b->oom = 1;
    else
        pb_bytes(b, field, sub->p, sub->n);
    pb_free(sub);
}

/* ---- ONNX messages ------------------------------------------------------ */

/* NodeProto attributes (AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20) */
static void attr_int(pb *node, const char *name, int64_t v)
{
    pb a = {0};
    pb_str(&a, 1, name);
    pb_int(&a, 20, ATTR_INT);
    pb_int(&a, 3, v);
    pb_msg(node, 5, &a);
}

static void attr_float(pb *node, const char *name, float v)
{
    pb a = {0};
    pb_str(&a, 1, name);
    pb_int(&a, 20, ATTR_FLOAT);
    pb_f32(&a, 2, v);
    pb_msg(node, 5, &a);
}

static void attr_str(pb *node, const char *name, const char *v)
{
    pb a = {0};
    pb_str(&a, 1, name);
    pb_int(&a, 20, ATTR_STRING);
    pb_str(&a, 4, v);
    pb_msg(node, 5, &a);
}

static void attr_ints(pb *node, const char *name, const int64_t *v, int n)
{
    pb a = {0};
    pb_str(&a, 1, name);
    pb_int(&a, 20, ATTR_INTS);
    /* proto2 repeated scalars are unpacked by default; parsers accept both */
    for (int i = 0; i < n; i++)
        pb_int(&a, 8, v[i]);
    pb_msg(node, 5, &a);
}

/* TensorProto initializer (dims 1, data_type 2, name 8, raw_data 9). */
static void add_initializer(pb *graph, const char *name, const int64_t *dims, int ndims,
                            const float *data, size_t count)
{
    pb t = {0};
    for (int i = 0; i < ndims; i++)
        pb_int(&t, 1, dims[i]);
    pb_int(&t, 2, DTYPE_FLOAT);
    pb_str(&t, 8, name);
    size_t bytes = count * 4; /* count comes from the net's own sizes */
    pb_key(&t, 9, 2);
    pb_varint(&t, bytes);
    if (pb_reserve(&t, bytes) == 0) {
        for (size_t i = 0; i < count; i++)
            put_f32le(t.p + t.n + 4 * i, data[i]);
        t.n += bytes;
    }
    pb_msg(graph, 5, &t);
}

/* A 1-D int64 initializer (Slice's starts, ends and axes). */
static void add_int64s(pb *graph, const char *name, const int64_t *v, int count)
{
    pb t = {0};
    pb_int(&t, 1, count);
    pb_int(&t, 2, DTYPE_INT64);
    pb_str(&t, 8, name);
    pb_key(&t, 9, 2);
    pb_varint(&t, (uint64_t)count * 8);
    if (pb_reserve(&t, (size_t)count * 8) == 0) {
        for (int i = 0; i < count; i++)
            for (int b = 0; b < 8; b++)
                t.p[t.n + 8 * (size_t)i + (size_t)b] = (uint8_t)((uint64_t)v[i] >> (8 * b));
        t.n += (size_t)count * 8;
    }
    pb_msg(graph, 5, &t);
}

/* ValueInfoProto for a float32 tensor; dims < 0 stand for the symbolic
 * batch size "N". (ValueInfo: name 1, type 2; TypeProto: tensor_type 1;
 * Tensor: elem_type 1, shape 2; TensorShape: dim 1; Dimension: dim_value 1,
 * dim_param 2.) */
static void add_value_info(pb *graph, int field, const char *name, const int64_t *dims, int ndims)
{
    pb shape = {0}, tensor = {0}, type = {0}, vi = {0};
    for (int i = 0; i < ndims; i++) {
        pb d = {0};
        if (dims[i] < 0)
            pb_str(&d, 2, "N");
        else
            pb_int(&d, 1, dims[i]);
        pb_msg(&shape, 1, &d);
    }
    pb_int(&tensor, 1, DTYPE_FLOAT);
    pb_msg(&tensor, 2, &shape);
    pb_msg(&type, 1, &tensor);
    pb_str(&vi, 1, name);
    pb_msg(&vi, 2, &type);
    pb_msg(graph, field, &vi);
}

static void add_meta(pb *model, const char *key, const char *value)
{
    pb e = {0};
    pb_str(&e, 1, key);
    pb_str(&e, 2, value);
    pb_msg(model, 14, &e);
}

/* ---- graph construction ------------------------------------------------- */

/* What the exporter emits, planned before writing so that the last node's
 * output can be named "probs". */
typedef enum {
    S_MUL, S_ADD, S_FLATTEN, S_CONV, S_MAXPOOL, S_AVGPOOL, S_GAP, S_GEMM,
    S_RELU, S_BN, S_SOFTMAX, S_CALIB_MUL, S_CALIB_ADD, S_PROJ, S_RESADD, S_SE, S_CROP
} step_op;

typedef struct step {
    step_op op;
    const nn_layer *l; /* NULL for MUL, ADD and inserted Flattens */
    int li;            /* layer index, for initializer names */
} step;

/* Bottom/right padding: whatever the output size needs beyond top/left. */
static int pad_after(int in, int out, int k, int stride, int before)
{
    int total = (out - 1) * stride + k - in;
    int after = total - before;
    return after > 0 ? after : 0;
}

/* Plan the steps; returns their count or -1 for a layer we cannot export. */
static int plan(const nn_net *net, step *s, int max)
{
    int n = 0, rank = 4; /* rank of the current tensor: 4 NCHW, 2 NF */
#define PUSH(o, layer, i) do { if (n >= max) return nn_fail("onnx: too many nodes"); \
        s[n].op = (o); s[n].l = (layer); s[n].li = (i); n++; } while (0)
    PUSH(S_MUL, NULL, 0);
    PUSH(S_ADD, NULL, 0);
    for (int i = 1; i < net->n_layers; i++) {
        const nn_layer *l = &net->layers[i];
        switch (l->kind) {
        case NN_L_GAP:
            if (rank == 2)
                break; /* flat data is 1x1 per feature: the identity */
            /* fall through */
        case NN_L_CONV:
        case NN_L_MAXPOOL:
        case NN_L_AVGPOOL:
            if (rank != 4)
                return nn_fail("onnx: layer %d (line %d): spatial layer after flat data", i, l->line);
            PUSH(l->kind == NN_L_CONV ? S_CONV : l->kind == NN_L_MAXPOOL ? S_MAXPOOL
                 : l->kind == NN_L_AVGPOOL ? S_AVGPOOL : S_GAP, l, i);
            break;
        case NN_L_DENSE:
            if (rank == 4)
                PUSH(S_FLATTEN, NULL, i); /* the engine's implicit flatten */
            PUSH(S_GEMM, l, i);
            rank = 2;
            break;
        case NN_L_FLATTEN:
            if (rank == 4)
                PUSH(S_FLATTEN, l, i);
            rank = 2;
            break;
        case NN_L_SOFTMAX:
            /* the engine normalises over all of an image's values */
            if (rank == 4)
                PUSH(S_FLATTEN, NULL, i);
            if (i == net->n_layers - 1 && net->calib.kind != NN_CALIB_NONE) {
                PUSH(S_CALIB_MUL, NULL, i);
                PUSH(S_CALIB_ADD, NULL, i);
            }
            PUSH(S_SOFTMAX, l, i);
            rank = 2;
            break;
        case NN_L_RELU:
            PUSH(S_RELU, l, i);
            break;
        case NN_L_BN:
            PUSH(S_BN, l, i);
            break;
        case NN_L_DROPOUT:
            break; /* identity at inference */
        case NN_L_CROP:
            if (rank != 4)
                return nn_fail("onnx: layer %d (line %d): crop after flat data", i, l->line);
            PUSH(S_CROP, l, i);
            break;
        case NN_L_SE:
            if (rank != 4)
                return nn_fail("onnx: layer %d (line %d): se after flat data", i, l->line);
            PUSH(S_SE, l, i);
            break;
        case NN_L_ADD:
            if (l->nw)
                PUSH(S_PROJ, l, i);
            PUSH(S_RESADD, l, i);
            break;
        default:
            return nn_fail("onnx: layer %d (line %d): kind %d cannot be exported",
                           i, l->line, (int)l->kind);
        }
    }
    if (rank == 4) /* "probs" is [N, n_classes] */
        PUSH(S_FLATTEN, NULL, net->n_layers);
#undef PUSH
    return n;
}

/* kernel_shape, strides and pads [top, left, bottom, right] of a conv or
 * pool layer. */
static void window_attrs(pb *node, const nn_layer *l)
{
    int64_t ks[2] = {l->k, l->k}, strides[2] = {l->stride, l->stride};
    int64_t pads[4] = {l->pad_t, l->pad_l,
                       pad_after(l->in_h, l->out_h, l->k, l->stride, l->pad_t),
                       pad_after(l->in_w, l->out_w, l->k, l->stride, l->pad_l)};
    attr_ints(node, "kernel_shape", ks, 2);
    attr_ints(node, "strides", strides, 2);
    attr_ints(node, "pads", pads, 4);
}

static void node_begin(pb *node, const char *op, const char *name, const char *in,
                       const char *out)
{
    pb_str(node, 1, in);
    pb_str(node, 2, out);
    pb_str(node, 3, name);
    pb_str(node, 4, op);
}

/* Squeeze-and-excitation as seven nodes (see the top of the file). */
static void emit_se(pb *graph, const nn_layer *l, int li, const char *in, const char *out)
{
    const int C = l->in_c, M = l->k;
    char g[32], h0[32], h[32], z[32], s[32], sx[32], name[32], wname[2][32], bname[2][32], rname[32];
    snprintf(g, sizeof g, "se%d_g", li);
    snprintf(h0, sizeof h0, "se%d_h0", li);
    snprintf(h, sizeof h, "se%d_h", li);
    snprintf(z, sizeof z, "se%d_z", li);
    snprintf(s, sizeof s, "se%d_s", li);
    snprintf(sx, sizeof sx, "se%d_sx", li);
    snprintf(rname, sizeof rname, "se_%d.scales", li);
    for (int k = 0; k < 2; k++) {
        snprintf(wname[k], sizeof wname[k], "se_%d.w%d", li, k + 1);
        snprintf(bname[k], sizeof bname[k], "se_%d.b%d", li, k + 1);
    }
    int64_t d1[4] = {M, C, 1, 1}, d2[4] = {C, M, 1, 1}, db1[1] = {M}, db2[1] = {C}, d4[1] = {4};
    const float scales[4] = {1.0f, 1.0f, (float)l->in_h, (float)l->in_w};
    add_initializer(graph, wname[0], d1, 4, l->w, (size_t)M * C);
    add_initializer(graph, bname[0], db1, 1, l->b, (size_t)M);
    add_initializer(graph, wname[1], d2, 4, l->w + (size_t)M * C, (size_t)C * M);
    add_initializer(graph, bname[1], db2, 1, l->b + M, (size_t)C);
    add_initializer(graph, rname, d4, 1, scales, 4);
    /* The gates are spread over H x W (Resize, nearest) before the Mul:
     * OpenCV 4.6 multiplies by an N x C x 1 x 1 tensor only when N is 1. */
    static const char *const ops[7] = {"GlobalAveragePool", "Conv", "Relu", "Conv", "Sigmoid",
                                       "Resize", "Mul"};
    const char *ins[7] = {in, g, h0, h, z, s, in}, *outs[7] = {g, h0, h, z, s, sx, out};
    for (int k = 0; k < 7; k++) {
        pb node = {0};
        snprintf(name, sizeof name, "se_%d_%d", li, k);
        node_begin(&node, ops[k], name, ins[k], outs[k]);
        if (k == 1 || k == 3) {
            pb_str(&node, 1, wname[k / 2]);
            pb_str(&node, 1, bname[k / 2]);
            int64_t ks[2] = {1, 1};
            attr_ints(&node, "kernel_shape", ks, 2);
        }
        if (k == 5) { /* roi unused, then the scales */
            pb_str(&node, 1, "");
            pb_str(&node, 1, rname);
            attr_str(&node, "mode", "nearest");
        }
        if (k == 6)
            pb_str(&node, 1, sx);
        pb_msg(graph, 1, &node);
    }
}

/* Emit one step as a NodeProto (input 1, output 2, name 3, op_type 4,
 * attribute 5) plus its initializers into graph. */
static int emit(pb *graph, const nn_net *net, const step *st, int idx,
                const char *in, const char *out)
{
    const nn_layer *l = st->l;
    char name[64], wname[64], bname[64], mname[64], vname[64];
    pb node = {0};
    int64_t dims[4];

    switch (st->op) {
    case S_MUL:
    case S_ADD: {
        float v = st->op == S_MUL ? net->pre.scale : net->pre.bias;
        const char *cname = st->op == S_MUL ? "pre.scale" : "pre.bias";
        dims[0] = 1;
        add_initializer(graph, cname, dims, 1, &v, 1);
        node_begin(&node, st->op == S_MUL ? "Mul" : "Add",
                   st->op == S_MUL ? "pre_scale" : "pre_bias", in, out);
        pb_str(&node, 1, cname);
        break;
    }
    case S_CALIB_MUL:
    case S_CALIB_ADD: {
        const int mul = st->op == S_CALIB_MUL;
        const char *cname = mul ? "calib.scale" : "calib.bias";
        dims[0] = net->n_classes;
        add_initializer(graph, cname, dims, 1, mul ? net->calib.scale : net->calib.bias,
                        (size_t)net->n_classes);
        node_begin(&node, mul ? "Mul" : "Add", mul ? "calib_scale" : "calib_bias", in, out);
        pb_str(&node, 1, cname);
        break;
    }
    case S_PROJ: /* `in` is the skip */
        snprintf(name, sizeof name, "proj_%d", st->li);
        snprintf(wname, sizeof wname, "proj_%d.weight", st->li);
        snprintf(bname, sizeof bname, "proj_%d.bias", st->li);
        dims[0] = l->out_c; dims[1] = l->src_c; dims[2] = 1; dims[3] = 1;
        add_initializer(graph, wname, dims, 4, l->w, l->nw);
        dims[0] = l->out_c;
        add_initializer(graph, bname, dims, 1, l->b, l->nb);
        node_begin(&node, "Conv", name, in, out);
        pb_str(&node, 1, wname);
        pb_str(&node, 1, bname);
        {
            int64_t ks[2] = {1, 1}, strides[2] = {l->stride, l->stride}, pads[4] = {0, 0, 0, 0};
            attr_ints(&node, "kernel_shape", ks, 2);
            attr_ints(&node, "strides", strides, 2);
            attr_ints(&node, "pads", pads, 4);
        }
        break;
    case S_RESADD: /* `in` is "block output,skip" */
        snprintf(name, sizeof name, "add_%d", st->li);
        {
            char first[32];
            const char *comma = strchr(in, ',');
            snprintf(first, sizeof first, "%.*s", (int)(comma - in), in);
            node_begin(&node, "Add", name, first, out);
            pb_str(&node, 1, comma + 1);
        }
        break;
    case S_SE:
        emit_se(graph, l, st->li, in, out);
        return 0;
    case S_CROP: { /* the inference window, the centre: Slice over H and W */
        const int64_t t = (l->in_h - l->out_h) / 2, le = (l->in_w - l->out_w) / 2;
        const int64_t starts[2] = {t, le}, ends[2] = {t + l->out_h, le + l->out_w}, axes[2] = {2, 3};
        snprintf(name, sizeof name, "crop_%d", st->li);
        snprintf(wname, sizeof wname, "crop_%d.starts", st->li);
        snprintf(bname, sizeof bname, "crop_%d.ends", st->li);
        snprintf(mname, sizeof mname, "crop_%d.axes", st->li);
        add_int64s(graph, wname, starts, 2);
        add_int64s(graph, bname, ends, 2);
        add_int64s(graph, mname, axes, 2);
        node_begin(&node, "Slice", name, in, out);
        pb_str(&node, 1, wname);
        pb_str(&node, 1, bname);
        pb_str(&node, 1, mname);
        break;
    }
    case S_FLATTEN:
        snprintf(name, sizeof name, "flatten_%d", idx);
        node_begin(&node, "Flatten", name, in, out);
        attr_int(&node, "axis", 1);
        break;
    case S_CONV: {
        if (!l->w || l->nw != (size_t)l->out_c * l->in_c * l->k * l->k)
            return nn_fail("onnx: conv layer %d: unexpected weight count", st->li);
        snprintf(name, sizeof name, "conv_%d", st->li);
        snprintf(wname, sizeof wname, "conv_%d.weight", st->li);
        snprintf(bname, sizeof bname, "conv_%d.bias", st->li);
        dims[0] = l->out_c; dims[1] = l->in_c; dims[2] = l->k; dims[3] = l->k;
        add_initializer(graph, wname, dims, 4, l->w, l->nw);
        node_begin(&node, "Conv", name, in, out);
        pb_str(&node, 1, wname);
        if (l->b) {
            dims[0] = l->out_c;
            add_initializer(graph, bname, dims, 1, l->b, (size_t)l->out_c);
            pb_str(&node, 1, bname);
        }
        window_attrs(&node, l);
        break;
    }
    case S_MAXPOOL:
    case S_AVGPOOL:
        snprintf(name, sizeof name, "%s_%d", st->op == S_MAXPOOL ? "maxpool" : "avgpool", st->li);
        node_begin(&node, st->op == S_MAXPOOL ? "MaxPool" : "AveragePool", name, in, out);
        if (st->op == S_AVGPOOL) /* the engine's pools never pad; say so anyway */
            attr_int(&node, "count_include_pad", 0);
        window_attrs(&node, l);
        break;
    case S_GAP:
        snprintf(name, sizeof name, "gap_%d", st->li);
        node_begin(&node, "GlobalAveragePool", name, in, out);
        break;
    case S_GEMM: {
        size_t nin = (size_t)l->in_c * l->in_h * l->in_w;
        size_t nout = (size_t)l->out_c * l->out_h * l->out_w;
        if (!l->w || !l->b || l->nw != nin * nout || l->nb != nout)
            return nn_fail("onnx: dense layer %d: unexpected weight count", st->li);
        snprintf(name, sizeof name, "dense_%d", st->li);
        snprintf(wname, sizeof wname, "dense_%d.weight", st->li);
        snprintf(bname, sizeof bname, "dense_%d.bias", st->li);
        dims[0] = (int64_t)nout; dims[1] = (int64_t)nin;
        add_initializer(graph, wname, dims, 2, l->w, l->nw);
        dims[0] = (int64_t)nout;
        add_initializer(graph, bname, dims, 1, l->b, l->nb);
        node_begin(&node, "Gemm", name, in, out);
        pb_str(&node, 1, wname);
        pb_str(&node, 1, bname);
        attr_int(&node, "transB", 1); /* w is [out][in] */
        break;
    }
    case S_RELU:
        snprintf(name, sizeof name, "relu_%d", st->li);
        node_begin(&node, "Relu", name, in, out);
        break;
    case S_SOFTMAX:
        snprintf(name, sizeof name, "softmax_%d", st->li);
        node_begin(&node, "Softmax", name, in, out);
        attr_int(&node, "axis", 1);
        break;
    case S_BN: {
        size_t c = (size_t)l->in_c; /* per channel; flat data: per feature */
        if (!l->w || !l->b || !l->mean || !l->var || l->nw != c || l->nb != c)
            return nn_fail("onnx: batch-norm layer %d: unexpected parameter count", st->li);
        snprintf(name, sizeof name, "bn_%d", st->li);
        snprintf(wname, sizeof wname, "bn_%d.scale", st->li);
        snprintf(bname, sizeof bname, "bn_%d.bias", st->li);
        snprintf(mname, sizeof mname, "bn_%d.mean", st->li);
        snprintf(vname, sizeof vname, "bn_%d.var", st->li);
        dims[0] = (int64_t)c;
        add_initializer(graph, wname, dims, 1, l->w, c);
        add_initializer(graph, bname, dims, 1, l->b, c);
        add_initializer(graph, mname, dims, 1, l->mean, c);
        add_initializer(graph, vname, dims, 1, l->var, c);
        node_begin(&node, "BatchNormalization", name, in, out);
        pb_str(&node, 1, wname);
        pb_str(&node, 1, bname);
        pb_str(&node, 1, mname);
        pb_str(&node, 1, vname);
        attr_float(&node, "epsilon", l->eps);
        break;
    }
    }
    pb_msg(graph, 1, &node);
    return 0;
}

/* Comma-joined class names; a comma or backslash inside a name gets a
 * backslash before it, so that any name survives the round trip. */
static char *join_classes(const nn_net *net)
{
    size_t len = 1;
    for (int i = 0; i < net->n_classes; i++)
        len += 2 * strlen(nn_net_class(net, i)) + 1;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    for (int i = 0; i < net->n_classes; i++) {
        if (i)
            *p++ = ',';
        for (const char *c = nn_net_class(net, i); *c; c++) {
            if (*c == ',' || *c == '\\')
                *p++ = '\\';
            *p++ = *c;
        }
    }
    *p = 0;
    return s;
}

static void add_metadata(pb *model, const nn_net *net)
{
    char buf[128];
    int c, h, w;
    char *classes = join_classes(net);
    if (!classes) {
        model->oom = 1;
        return;
    }
    add_meta(model, "classes", classes);
    free(classes);
    add_meta(model, "equalize", net->pre.equalize ? "true" : "false");
    snprintf(buf, sizeof buf, "%.9g", (double)net->pre.scale);
    add_meta(model, "scale", buf);
    snprintf(buf, sizeof buf, "%.9g", (double)net->pre.bias);
    add_meta(model, "bias", buf);
    nn_net_input_shape(net, &c, &h, &w);
    snprintf(buf, sizeof buf, "%dx%dx%d", w, h, c);
    add_meta(model, "input_size", buf); /* width x height x channels */
    add_meta(model, "preprocessing",
             c == 1 ? "grayscale, resize to input_size, equalizeHist if equalize, "
                      "raw 0..255 floats; scale and bias are applied in the graph"
                    : "resize to input_size, raw 0..255 floats; scale and bias are "
                      "applied in the graph");
    if (net->spec)
        add_meta(model, "spec", net->spec);
    if (net->meta.dataset[0])
        add_meta(model, "dataset", net->meta.dataset);
    if (net->meta.epochs > 0) {
        snprintf(buf, sizeof buf, "%d", (int)net->meta.epochs);
        add_meta(model, "epochs", buf);
    }
    if (net->meta.val_accuracy >= 0) {
        snprintf(buf, sizeof buf, "%.4f", (double)net->meta.val_accuracy);
        add_meta(model, "val_accuracy", buf);
    }
}

/* Build the whole ModelProto in *model. Returns 0 or -1. */
static int build_model(const nn_net *net, pb *model)
{
    int n_steps_max = 2 * net->n_layers + 6;
    step *steps = malloc((size_t)n_steps_max * sizeof *steps);
    if (!steps)
        return nn_fail("onnx: out of memory");
    int n = plan(net, steps, n_steps_max);
    if (n < 0) {
        free(steps);
        return -1;
    }

    pb graph = {0};
    char in[32], out[32], args[72], proj[32] = "";
    snprintf(in, sizeof in, "input");
    for (int i = 0; i < n; i++) {
        if (i == n - 1)
            snprintf(out, sizeof out, "probs");
        else
            snprintf(out, sizeof out, "t%d", i);
        const char *from = in;
        if (steps[i].op == S_PROJ || steps[i].op == S_RESADD) {
            /* the skip: the last tensor of a step at or before the layer
             * before the block (the preprocessing's for the input) */
            char skip[32] = "input";
            for (int j = 0; j < i; j++)
                if (steps[j].li <= steps[i].l->src && steps[j].op != S_PROJ)
                    snprintf(skip, sizeof skip, "t%d", j);
            if (steps[i].op == S_PROJ) {
                if (emit(&graph, net, &steps[i], i, skip, out))
                    goto fail;
                snprintf(proj, sizeof proj, "%s", out);
                continue; /* the main tensor is still `in` */
            }
            snprintf(args, sizeof args, "%s,%s", in, steps[i].l->nw ? proj : skip);
            from = args;
        }
        if (emit(&graph, net, &steps[i], i, from, out))
            goto fail;
        memcpy(in, out, sizeof in);
    }
    free(steps);

    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    int64_t in_dims[4] = {-1, c, h, w}, out_dims[2] = {-1, net->n_classes};
    pb_str(&graph, 2, "emotion_net");
    add_value_info(&graph, 11, "input", in_dims, 4);
    add_value_info(&graph, 12, "probs", out_dims, 2);

    /* ModelProto: ir_version 1, producer_name 2, producer_version 3,
     * doc_string 6, graph 7, opset_import 8 (domain 1, version 2),
     * metadata_props 14 */
    pb opset = {0};
    pb_str(&opset, 1, "");
    pb_int(&opset, 2, ONNX_OPSET);
    pb_int(model, 1, ONNX_IR_VERSION);
    pb_str(model, 2, "emotion-detector");
    pb_str(model, 3, NN_VERSION_STRING);
    pb_str(model, 6, "Facial emotion classifier; input: grayscale face, raw 0..255 "
                     "after resize and equalization; output: class probabilities.");
    pb_msg(model, 7, &graph);
    pb_msg(model, 8, &opset);
    add_metadata(model, net);
    if (model->oom)
        return nn_fail("onnx: out of memory");
    return 0;
fail:
    free(steps);
    pb_free(&graph);
    return -1;
}

static int check_net(const nn_net *net)
{
    if (!net || net->n_layers < 2 || !net->layers)
        return nn_fail("onnx: empty network");
    const nn_layer *last = &net->layers[net->n_layers - 1];
    long outputs = (long)last->out_c * last->out_h * last->out_w;
    if (outputs != net->n_classes)
        return nn_fail("onnx: network ends with %ld outputs per image, not %d classes",
                       outputs, net->n_classes);
    return 0;
}

void *nn_export_onnx_mem(const nn_net *net, size_t *len)
{
    if (check_net(net))
        return NULL;
    pb model = {0};
    if (build_model(net, &model)) {
        pb_free(&model);
        return NULL;
    }
    *len = model.n;
    return model.p; /* ownership passes to the caller */
}

int nn_export_onnx(const nn_net *net, const char *path)
{
    if (!path || !*path)
        return nn_fail("onnx: empty output path");
    if (check_net(net))
        return -1;
    pb model = {0};
    if (build_model(net, &model)) {
        pb_free(&model);
        return -1;
    }

    int rc = nn__write_file(path, model.p, model.n);
    pb_free(&model);
    return rc;
}
