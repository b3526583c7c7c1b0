/* spec.c - the architecture text format and the built-in presets: parses a
 * spec into layers, works out every layer's geometry and parameter count,
 * and allocates the net. Errors name the offending line. */
#include "nn_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const nn_preset_names[] = {
    "fer-classic", "fer-compact", "einterface-128", "fer-vgg", "fer-vgg-wide", "fer-resnet", NULL
};

/* The classic Keras FER2013 design (2.87 M parameters, 77.8 M MACs). */
static const char spec_fer_classic[] =
    "# fer-classic: the classic Keras FER2013 design\n"
    "input 48x48x1\n"
    "conv 32 3x3 valid relu\n"
    "conv 64 3x3 relu\n"
    "maxpool 2\n"
    "dropout 0.25\n"
    "conv 128 3x3 relu\n"
    "maxpool 2\n"
    "conv 128 3x3 relu\n"
    "maxpool 2\n"
    "dropout 0.25\n"
    "flatten\n"
    "dense 1024 relu\n"
    "dropout 0.5\n"
    "dense 512 relu\n"
    "dense classes softmax\n";

static const char spec_fer_compact[] =
    "# fer-compact: a small, fast net\n"
    "input 48x48x1\n"
    "conv 32 3x3 valid relu\n"
    "maxpool 2\n"
    "conv 64 3x3 relu\n"
    "maxpool 2\n"
    "conv 128 3x3 relu\n"
    "flatten\n"
    "dense 128 relu\n"
    "dropout 0.5\n"
    "dense classes softmax\n";

static const char spec_einterface[] =
    "# einterface-128: for 6-class sets of larger faces\n"
    "input 128x128x1\n"
    "conv 32 3x3 relu\n"
    "maxpool 2\n"
    "conv 64 3x3 relu\n"
    "maxpool 2\n"
    "flatten\n"
    "dense 128 relu\n"
    "dense classes softmax\n";

/* VGG-style: pairs of 3x3 convolutions with batch norm, widths doubling as
 * the resolution halves, global average pooling instead of a wide dense
 * layer (few parameters, little over-fitting). */
static const char spec_fer_vgg[] =
    "# fer-vgg: VGG-style 3x3 convolutions, batch norm, global average pooling\n"
    "input 48x48x1\n"
    "conv 32 3x3 same bn relu\n"
    "conv 32 3x3 same bn relu\n"
    "maxpool 2\n"
    "conv 64 3x3 same bn relu\n"
    "conv 64 3x3 same bn relu\n"
    "maxpool 2\n"
    "dropout 0.1\n"
    "conv 128 3x3 same bn relu\n"
    "conv 128 3x3 same bn relu\n"
    "maxpool 2\n"
    "dropout 0.2\n"
    "conv 256 3x3 same bn relu\n"
    "conv 256 3x3 same bn relu\n"
    "gap\n"
    "dropout 0.4\n"
    "dense 256 bn relu\n"
    "dropout 0.4\n"
    "dense classes softmax\n";

/* fer-vgg at 1.5x the width: 2.2x the multiply-adds, for more accuracy
 * where a face can take 3 ms. */
static const char spec_fer_vgg_wide[] =
    "# fer-vgg-wide: fer-vgg with 1.5x the channels\n"
    "input 48x48x1\n"
    "conv 48 3x3 same bn relu\n"
    "conv 48 3x3 same bn relu\n"
    "maxpool 2\n"
    "conv 96 3x3 same bn relu\n"
    "conv 96 3x3 same bn relu\n"
    "maxpool 2\n"
    "dropout 0.1\n"
    "conv 192 3x3 same bn relu\n"
    "conv 192 3x3 same bn relu\n"
    "maxpool 2\n"
    "dropout 0.2\n"
    "conv 384 3x3 same bn relu\n"
    "conv 384 3x3 same bn relu\n"
    "gap\n"
    "dropout 0.4\n"
    "dense 384 bn relu\n"
    "dropout 0.4\n"
    "dense classes softmax\n";

/* ResNet-18's layout (a stem, then four stages of two basic blocks, each
 * two 3x3 convolutions with an identity skip, or a 1x1 projection where a
 * stage halves the size and doubles the width) at half its widths, 32 to
 * 256 channels, with the stages at 48, 24, 12 and 6 px: the resolutions
 * and weight count of fer-vgg-wide (an early 512-wide 3x3 stage made
 * single faces several times slower: its 11 M weights are read per face). */
static const char spec_fer_resnet[] =
    "# fer-resnet: ResNet-18's basic blocks at half width on 48x48 faces\n"
    "input 48x48x1\n"
    "conv 32 3x3 same bn relu\n"
    "residual\n"
    "conv 32 3x3 same bn relu\n"
    "conv 32 3x3 same bn\n"
    "end relu\n"
    "residual\n"
    "conv 32 3x3 same bn relu\n"
    "conv 32 3x3 same bn\n"
    "end relu\n"
    "residual\n"
    "conv 64 3x3 stride 2 same bn relu\n"
    "conv 64 3x3 same bn\n"
    "end relu\n"
    "residual\n"
    "conv 64 3x3 same bn relu\n"
    "conv 64 3x3 same bn\n"
    "end relu\n"
    "residual\n"
    "conv 128 3x3 stride 2 same bn relu\n"
    "conv 128 3x3 same bn\n"
    "end relu\n"
    "residual\n"
    "conv 128 3x3 same bn relu\n"
    "conv 128 3x3 same bn\n"
    "end relu\n"
    "residual\n"
    "conv 256 3x3 stride 2 same bn relu\n"
    "conv 256 3x3 same bn\n"
    "end relu\n"
    "residual\n"
    "conv 256 3x3 same bn relu\n"
    "conv 256 3x3 same bn\n"
    "end relu\n"
    "gap\n"
    "dropout 0.3\n"
    "dense classes softmax\n";

const char *nn_preset_spec(const char *name)
{
    static const struct { const char *name, *spec; } presets[] = {
        {"fer-classic", spec_fer_classic},
        {"fer-compact", spec_fer_compact},
        {"einterface-128", spec_einterface},
        {"fer-vgg", spec_fer_vgg},
        {"fer-vgg-wide", spec_fer_vgg_wide},
        {"fer-resnet", spec_fer_resnet},
    };
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (name && strcmp(name, presets[i].name) == 0)
            return presets[i].spec;
    return NULL;
}

static const nn_layer_ops *const ops_by_kind[NN_L_KINDS] = {
    [NN_L_INPUT] = NULL,
    [NN_L_CONV] = &nn_conv_ops,
    [NN_L_MAXPOOL] = &nn_maxpool_ops,
    [NN_L_AVGPOOL] = &nn_avgpool_ops,
    [NN_L_GAP] = &nn_gap_ops,
    [NN_L_DENSE] = &nn_dense_ops,
    [NN_L_RELU] = &nn_relu_ops,
    [NN_L_DROPOUT] = &nn_dropout_ops,
    [NN_L_BN] = &nn_bn_ops,
    [NN_L_FLATTEN] = &nn_flatten_ops,
    [NN_L_SOFTMAX] = &nn_softmax_ops,
    [NN_L_ADD] = &nn_add_ops,
    [NN_L_SE] = &nn_se_ops,
    [NN_L_CROP] = &nn_crop_ops,
};

#define MAX_TOKENS 16
#define MAX_LAYERS 256
#define MAX_DIM 4096
#define MAX_CHANNELS 65536

#define MAX_NESTING 16

typedef struct {
    nn_layer *layers;
    int n, cap;
    int line;
    int n_classes;
    /* open residual blocks: the layer before each, and its line */
    int open[MAX_NESTING], open_line[MAX_NESTING], n_open;
} builder;

static int add_layer(builder *b, nn_layer_kind kind)
{
    if (b->n == MAX_LAYERS)
        return nn_fail("line %d: more than %d layers", b->line, MAX_LAYERS);
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 16;
        nn_layer *l = realloc(b->layers, (size_t)cap * sizeof *l);
        if (!l)
            return nn_fail("out of memory");
        b->layers = l;
        b->cap = cap;
    }
    nn_layer *l = &b->layers[b->n++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->ops = ops_by_kind[kind];
    l->line = b->line;
    l->stride = 1;
    return 0;
}

/* Strict positive integer within [lo, hi]. */
static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* "3x3" or "3" -> 3; non-square kernels are refused. */
static int parse_kernel(const builder *b, const char *s, int *k)
{
    char buf[32];
    const char *x = strchr(s, 'x');
    if (!x)
        return parse_int(s, 1, 64, k) ? nn_fail("line %d: bad kernel size '%s'", b->line, s) : 0;
    size_t len = (size_t)(x - s);
    if (len == 0 || len >= sizeof buf)
        return nn_fail("line %d: bad kernel size '%s'", b->line, s);
    memcpy(buf, s, len);
    buf[len] = 0;
    int a, c;
    if (parse_int(buf, 1, 64, &a) || parse_int(x + 1, 1, 64, &c))
        return nn_fail("line %d: bad kernel size '%s'", b->line, s);
    if (a != c)
        return nn_fail("line %d: kernel %s is not square; only KxK kernels are supported", b->line, s);
    *k = a;
    return 0;
}

/* Up to max sizes 1..MAX_DIM after the layer's name, split by spaces or
 * 'x' ("48x48x1", "48 48 1", "48x48 1"): their count, or -1 naming usage. */
static int parse_sizes(const builder *b, char **tok, int nt, int *dims, int max, const char *usage)
{
    int nd = 0;
    for (int i = 1; i < nt; i++) {
        char *save = NULL;
        for (char *p = strtok_r(tok[i], "x", &save); p; p = strtok_r(NULL, "x", &save)) {
            if (nd == max || parse_int(p, 1, MAX_DIM, &dims[nd]))
                return nn_fail("line %d: expected '%s' with sizes 1..%d", b->line, usage, MAX_DIM);
            nd++;
        }
    }
    return nd;
}

static int parse_line(builder *b, char **tok, int nt)
{
    const char *op = tok[0];
    nn_layer *l;
    int first = b->n == 0;
    if (first && strcmp(op, "input") != 0)
        return nn_fail("line %d: the first layer must be 'input W H C', found '%s'", b->line, op);
    if (!first && strcmp(op, "input") == 0)
        return nn_fail("line %d: 'input' may only be the first layer", b->line);

    if (strcmp(op, "input") == 0) {
        /* input 48x48x1 | input 48x48 1 | input 48 48 1 | input 48 48 */
        int dims[3] = {0, 0, 1}, nd = parse_sizes(b, tok, nt, dims, 3, "input W H [C]");
        if (nd < 0)
            return -1;
        if (nd < 2)
            return nn_fail("line %d: expected 'input W H [C]'", b->line);
        if (dims[2] > 64)
            return nn_fail("line %d: input channels must be 1..64", b->line);
        if (add_layer(b, NN_L_INPUT))
            return -1;
        l = &b->layers[b->n - 1];
        l->out_w = dims[0];
        l->out_h = dims[1];
        l->out_c = dims[2];
        return 0;
    }
    if (strcmp(op, "conv") == 0) {
        int out, k;
        if (nt < 3 || parse_int(tok[1], 1, MAX_CHANNELS, &out))
            return nn_fail("line %d: expected 'conv OUT KxK [stride S] [valid|same] [bn] [relu]'", b->line);
        if (parse_kernel(b, tok[2], &k))
            return -1;
        if (add_layer(b, NN_L_CONV))
            return -1;
        int conv_idx = b->n - 1;
        b->layers[conv_idx].out_c = out;
        b->layers[conv_idx].k = k;
        for (int i = 3; i < nt; i++) {
            l = &b->layers[conv_idx];
            if (strcmp(tok[i], "valid") == 0)
                l->pad = NN_PAD_VALID;
            else if (strcmp(tok[i], "same") == 0)
                l->pad = NN_PAD_SAME;
            else if (strcmp(tok[i], "stride") == 0) {
                if (i + 1 >= nt || parse_int(tok[i + 1], 1, 64, &l->stride))
                    return nn_fail("line %d: 'stride' needs a number 1..64", b->line);
                i++;
            } else if (strcmp(tok[i], "relu") == 0) {
                if (add_layer(b, NN_L_RELU))
                    return -1;
            } else if (strcmp(tok[i], "bn") == 0) {
                if (add_layer(b, NN_L_BN))
                    return -1;
            } else
                return nn_fail("line %d: unknown conv option '%s'", b->line, tok[i]);
        }
        return 0;
    }
    if (strcmp(op, "maxpool") == 0 || strcmp(op, "avgpool") == 0) {
        int k, stride;
        if (nt < 2 || parse_kernel(b, tok[1], &k))
            return nn_fail("line %d: expected '%s K [stride S]'", b->line, op);
        stride = k;
        if (nt == 4 && strcmp(tok[2], "stride") == 0) {
            if (parse_int(tok[3], 1, 64, &stride))
                return nn_fail("line %d: 'stride' needs a number 1..64", b->line);
        } else if (nt != 2)
            return nn_fail("line %d: expected '%s K [stride S]'", b->line, op);
        if (add_layer(b, op[0] == 'm' ? NN_L_MAXPOOL : NN_L_AVGPOOL))
            return -1;
        l = &b->layers[b->n - 1];
        l->k = k;
        l->stride = stride;
        return 0;
    }
    if (strcmp(op, "dense") == 0) {
        int units;
        if (nt < 2)
            return nn_fail("line %d: expected 'dense UNITS|classes [bn] [relu|softmax]'", b->line);
        if (strcmp(tok[1], "classes") == 0)
            units = b->n_classes;
        else if (parse_int(tok[1], 1, 1 << 20, &units))
            return nn_fail("line %d: bad unit count '%s'", b->line, tok[1]);
        if (add_layer(b, NN_L_DENSE))
            return -1;
        b->layers[b->n - 1].out_c = units;
        for (int i = 2; i < nt; i++) {
            nn_layer_kind kind;
            if (strcmp(tok[i], "relu") == 0)
                kind = NN_L_RELU;
            else if (strcmp(tok[i], "softmax") == 0)
                kind = NN_L_SOFTMAX;
            else if (strcmp(tok[i], "bn") == 0)
                kind = NN_L_BN;
            else
                return nn_fail("line %d: unknown dense option '%s'", b->line, tok[i]);
            if (add_layer(b, kind))
                return -1;
        }
        return 0;
    }
    if (strcmp(op, "se") == 0) {
        int r;
        if (nt != 2 || parse_int(tok[1], 1, 1024, &r))
            return nn_fail("line %d: expected 'se R' (channels / R hidden units, R 1..1024)", b->line);
        if (add_layer(b, NN_L_SE))
            return -1;
        b->layers[b->n - 1].rate = (float)r; /* resolved into k below */
        return 0;
    }
    if (strcmp(op, "residual") == 0) {
        if (nt != 1)
            return nn_fail("line %d: 'residual' takes no arguments", b->line);
        if (b->n_open == MAX_NESTING)
            return nn_fail("line %d: residual blocks nested more than %d deep", b->line, MAX_NESTING);
        b->open_line[b->n_open] = b->line;
        b->open[b->n_open++] = b->n - 1;
        return 0;
    }
    if (strcmp(op, "end") == 0) {
        if (nt > 2 || (nt == 2 && strcmp(tok[1], "relu") != 0))
            return nn_fail("line %d: expected 'end [relu]'", b->line);
        if (b->n_open == 0)
            return nn_fail("line %d: 'end' without 'residual'", b->line);
        int src = b->open[--b->n_open];
        if (src == b->n - 1)
            return nn_fail("line %d: empty residual block", b->line);
        if (add_layer(b, NN_L_ADD))
            return -1;
        b->layers[b->n - 1].src = src;
        if (nt == 2 && add_layer(b, NN_L_RELU))
            return -1;
        return 0;
    }
    if (strcmp(op, "crop") == 0) {
        /* crop 40 | crop 40x40 | crop W H, as the input's sizes */
        int dims[2] = {0, 0}, nd = parse_sizes(b, tok, nt, dims, 2, "crop W[xH]");
        if (nd < 0)
            return -1;
        if (nd == 0)
            return nn_fail("line %d: expected 'crop W[xH]'", b->line);
        if (add_layer(b, NN_L_CROP))
            return -1;
        b->layers[b->n - 1].out_w = dims[0];
        b->layers[b->n - 1].out_h = nd == 2 ? dims[1] : dims[0];
        return 0;
    }
    if (strcmp(op, "dropout") == 0) {
        char *end;
        float r = nt == 2 ? strtof(tok[1], &end) : -1;
        if (nt != 2 || *end || !(r >= 0.0f && r < 1.0f))
            return nn_fail("line %d: expected 'dropout RATE' with 0 <= RATE < 1", b->line);
        if (add_layer(b, NN_L_DROPOUT))
            return -1;
        b->layers[b->n - 1].rate = r;
        return 0;
    }
    static const struct { const char *name; nn_layer_kind kind; } simple[] = {
        {"gap", NN_L_GAP}, {"bn", NN_L_BN}, {"relu", NN_L_RELU},
        {"flatten", NN_L_FLATTEN}, {"softmax", NN_L_SOFTMAX},
    };
    for (size_t i = 0; i < sizeof simple / sizeof *simple; i++)
        if (strcmp(op, simple[i].name) == 0) {
            if (nt != 1)
                return nn_fail("line %d: '%s' takes no arguments", b->line, op);
            return add_layer(b, simple[i].kind);
        }
    return nn_fail("line %d: unknown layer '%s'", b->line, op);
}

/* Works out output geometry, padding and parameter counts in order. */
static int resolve_geometry(nn_layer *L, int n, size_t *n_params, size_t *n_state)
{
    size_t np = 0, ns = 0;
    for (int i = 1; i < n; i++) {
        nn_layer *l = &L[i], *p = &L[i - 1];
        l->in_c = p->out_c;
        l->in_h = p->out_h;
        l->in_w = p->out_w;
        int spatial = l->in_h > 1 || l->in_w > 1;
        switch (l->kind) {
        case NN_L_CONV:
        case NN_L_MAXPOOL:
        case NN_L_AVGPOOL: {
            if (p->kind == NN_L_FLATTEN || p->kind == NN_L_DENSE)
                return nn_fail("line %d: %s needs an image, but its input is flat", l->line, l->ops->name);
            int k = l->k, s = l->stride;
            if (l->pad == NN_PAD_SAME) {
                l->out_h = (l->in_h + s - 1) / s;
                l->out_w = (l->in_w + s - 1) / s;
                int th = (l->out_h - 1) * s + k - l->in_h, tw = (l->out_w - 1) * s + k - l->in_w;
                l->pad_t = th > 0 ? th / 2 : 0;
                l->pad_l = tw > 0 ? tw / 2 : 0;
            } else {
                if (l->in_h < k || l->in_w < k)
                    return nn_fail("line %d: %dx%d window does not fit the %dx%d input",
                                   l->line, k, k, l->in_w, l->in_h);
                l->out_h = (l->in_h - k) / s + 1;
                l->out_w = (l->in_w - k) / s + 1;
            }
            if (l->kind == NN_L_CONV) {
                l->nw = (size_t)l->out_c * l->in_c * k * k;
                l->nb = (size_t)l->out_c;
            } else
                l->out_c = l->in_c;
            break;
        }
        case NN_L_GAP:
            if (!spatial && p->kind == NN_L_FLATTEN)
                return nn_fail("line %d: gap needs an image, but its input is flat", l->line);
            l->out_c = l->in_c;
            l->out_h = l->out_w = 1;
            break;
        case NN_L_DENSE: {
            size_t in = (size_t)l->in_c * l->in_h * l->in_w;
            if (in > (1u << 24))
                return nn_fail("line %d: dense input of %zu values is too large", l->line, in);
            l->out_h = l->out_w = 1;
            l->nw = in * (size_t)l->out_c;
            l->nb = (size_t)l->out_c;
            break;
        }
        case NN_L_BN:
            l->out_c = l->in_c;
            l->out_h = l->in_h;
            l->out_w = l->in_w;
            l->nw = l->nb = (size_t)l->in_c;
            l->eps = 1e-5f;
            l->momentum = 0.9f;
            ns += 2 * (size_t)l->in_c;
            break;
        case NN_L_FLATTEN:
            l->out_c = l->in_c * l->in_h * l->in_w;
            l->out_h = l->out_w = 1;
            break;
        case NN_L_ADD: {
            nn_layer *s = &L[l->src];
            int flat_src = s->out_h == 1 && s->out_w == 1;
            for (int j = l->src + 1; j < i && !flat_src; j++)
                if (L[j].kind == NN_L_GAP || L[j].kind == NN_L_FLATTEN || L[j].kind == NN_L_DENSE)
                    return nn_fail("line %d: a residual block on an image must keep it an image "
                                   "(line %d)", l->line, L[j].line);
            l->src_c = s->out_c;
            l->src_h = s->out_h;
            l->src_w = s->out_w;
            l->out_c = l->in_c;
            l->out_h = l->in_h;
            l->out_w = l->in_w;
            l->stride = 1;
            if (l->src_c != l->out_c || l->src_h != l->out_h || l->src_w != l->out_w) {
                /* a 1x1 projection of the stride that gives the block's size */
                int st = 1;
                while (st <= 64 && ((l->src_h - 1) / st + 1 != l->out_h || (l->src_w - 1) / st + 1 != l->out_w))
                    st++;
                if (st > 64)
                    return nn_fail("line %d: the block turns %dx%d into %dx%d, which no strided "
                                   "projection of the skip matches", l->line, l->src_w, l->src_h,
                                   l->out_w, l->out_h);
                l->stride = st;
                l->nw = (size_t)l->out_c * l->src_c;
                l->nb = (size_t)l->out_c;
            }
            s->skip_src = 1;
            break;
        }
        case NN_L_SE: {
            if (p->kind == NN_L_FLATTEN || p->kind == NN_L_DENSE || !spatial)
                return nn_fail("line %d: se needs an image, but its input is flat", l->line);
            if (l->in_c > NN_SE_MAX_C)
                return nn_fail("line %d: se takes at most %d channels", l->line, NN_SE_MAX_C);
            int r = (int)l->rate;
            l->k = l->in_c / r > 0 ? l->in_c / r : 1;
            l->out_c = l->in_c;
            l->out_h = l->in_h;
            l->out_w = l->in_w;
            l->nw = 2 * (size_t)l->k * l->in_c;
            l->nb = (size_t)l->k + l->in_c;
            break;
        }
        case NN_L_CROP:
            if (p->kind == NN_L_FLATTEN || p->kind == NN_L_DENSE || !spatial)
                return nn_fail("line %d: crop needs an image, but its input is flat", l->line);
            if (l->out_w > l->in_w || l->out_h > l->in_h)
                return nn_fail("line %d: a %dx%d crop does not fit the %dx%d input", l->line,
                               l->out_w, l->out_h, l->in_w, l->in_h);
            l->out_c = l->in_c;
            break;
        case NN_L_SOFTMAX:
            if (spatial)
                return nn_fail("line %d: softmax needs a flat input (add flatten or gap)", l->line);
            if (i != n - 1)
                return nn_fail("line %d: softmax must be the last layer", l->line);
            /* fall through */
        default: /* relu, dropout: shape preserved */
            l->out_c = l->in_c;
            l->out_h = l->in_h;
            l->out_w = l->in_w;
            break;
        }
        if (l->out_c < 1 || l->out_h < 1 || l->out_w < 1)
            return nn_fail("line %d: output size is empty", l->line);
        size_t elems = (size_t)l->out_c * l->out_h * l->out_w;
        if (elems > (1u << 26))
            return nn_fail("line %d: output of %zu values per image is too large", l->line, elems);
        np += l->nw + l->nb;
        if (np > (1u << 28))
            return nn_fail("line %d: more than %u parameters", l->line, 1u << 28);
    }
    *n_params = np;
    *n_state = ns;
    return 0;
}

/* Points every layer's parameter views into the flat buffers. */
static void bind_params(nn_net *net)
{
    size_t off = 0, soff = 0;
    for (int i = 0; i < net->n_layers; i++) {
        nn_layer *l = &net->layers[i];
        if (l->nw) {
            l->w = net->params + off;
            l->dw = net->grads + off;
            off += l->nw;
        }
        if (l->nb) {
            l->b = net->params + off;
            l->db = net->grads + off;
            off += l->nb;
        }
        if (l->kind == NN_L_BN) {
            l->mean = net->state + soff;
            l->var = net->state + soff + l->in_c;
            soff += 2 * (size_t)l->in_c;
        }
    }
}

/* Parses and resolves a spec into a layer array (caller frees), without
 * allocating any parameter memory. */
static nn_layer *parse_spec(const char *spec, int n_classes, int *n_layers, size_t *np_out,
                            size_t *ns_out)
{
    if (!spec)
        return nn_fail_null("no architecture spec");
    if (n_classes < 2 || n_classes > NN_MAX_CLASSES)
        return nn_fail_null("class count %d out of range 2..%d", n_classes, NN_MAX_CLASSES);
    size_t len = strlen(spec);
    if (len > (1u << 20))
        return nn_fail_null("architecture spec too long");
    char *text = malloc(len + 1);
    if (!text)
        return nn_fail_null("out of memory");
    memcpy(text, spec, len + 1);

    builder b = {.n_classes = n_classes};
    int ok = 1;
    /* strtok_r would merge blank lines and lose line numbers: split by hand. */
    char *p = text;
    for (b.line = 1; ok && p && *p; b.line++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        char *hash = strchr(p, '#');
        if (hash)
            *hash = 0;
        char *tok[MAX_TOKENS];
        int nt = 0;
        char *save = NULL;
        for (char *t = strtok_r(p, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
            if (nt == MAX_TOKENS) {
                nn_fail("line %d: too many words", b.line);
                ok = 0;
                break;
            }
            for (char *c = t; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            tok[nt++] = t;
        }
        if (ok && nt > 0 && parse_line(&b, tok, nt))
            ok = 0;
        p = nl ? nl + 1 : NULL;
    }
    free(text);
    size_t np = 0, ns = 0;
    if (ok && b.n == 0) {
        nn_fail("architecture spec has no layers");
        ok = 0;
    }
    if (ok && b.n < 2) {
        nn_fail("architecture spec has only an input layer");
        ok = 0;
    }
    if (ok && b.n_open) {
        nn_fail("line %d: 'residual' without 'end'", b.open_line[b.n_open - 1]);
        ok = 0;
    }
    if (ok && resolve_geometry(b.layers, b.n, &np, &ns))
        ok = 0;
    if (ok) {
        nn_layer *last = &b.layers[b.n - 1];
        if (last->kind != NN_L_SOFTMAX) {
            nn_fail("line %d: the net must end in 'dense classes softmax' (the last layer is "
                    "'%s', without softmax)", last->line, last->ops ? last->ops->name : "?");
            ok = 0;
        } else if (last->out_c != n_classes) {
            nn_fail("line %d: the net must end in 'dense classes softmax' (%d outputs, found %d)",
                    last->line, n_classes, last->out_c);
            ok = 0;
        }
    }
    if (!ok) {
        free(b.layers);
        return NULL;
    }
    *n_layers = b.n;
    *np_out = np;
    *ns_out = ns;
    return b.layers;
}

int nn_spec_counts(const char *spec, int n_classes, size_t *n_params, size_t *n_state)
{
    int n;
    nn_layer *layers = parse_spec(spec, n_classes, &n, n_params, n_state);
    free(layers);
    return layers ? 0 : -1;
}

nn_net *nn_net_from_spec(const char *spec, int n_classes)
{
    int n_layers;
    size_t np, ns;
    nn_layer *layers = parse_spec(spec, n_classes, &n_layers, &np, &ns);
    if (!layers)
        return NULL;
    size_t len = strlen(spec);
    nn_net *net = calloc(1, sizeof *net);
    if (!net) {
        free(layers);
        return nn_fail_null("out of memory");
    }
    net->layers = layers;
    net->n_layers = n_layers;
    net->n_classes = n_classes;
    net->n_params = np;
    net->n_state = ns;
    net->threads = 1;
    net->rng = 0x9E3779B97F4A7C15ULL;
    net->pre.equalize = 1;
    net->pre.scale = 1.0f / 255.0f;
    net->pre.bias = 0.0f;
    net->meta.val_accuracy = -1;
    net->spec = malloc(len + 1);
    net->classes = calloc((size_t)n_classes, sizeof *net->classes);
    net->params = nn_zalloc((np ? np : 1) * sizeof(float));
    net->grads = nn_zalloc((np ? np : 1) * sizeof(float));
    net->state = nn_zalloc((ns ? ns : 1) * sizeof(float));
    if (!net->spec || !net->classes || !net->params || !net->grads || !net->state) {
        nn_net_free(net);
        return nn_fail_null("out of memory");
    }
    memcpy(net->spec, spec, len + 1);
    for (int i = 0; i < n_classes; i++)
        snprintf(net->classes[i], NN_NAME_MAX, "class%d", i);
    bind_params(net);
    /* Running variance starts at 1 so an untrained BN is the identity. */
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == NN_L_BN)
            for (int c = 0; c < net->layers[i].in_c; c++)
                net->layers[i].var[c] = 1.0f;
    return net;
}

nn_net *nn_net_from_arch(const char *name, int n_classes)
{
    const char *preset = nn_preset_spec(name);
    if (preset)
        return nn_net_from_spec(preset, n_classes);
    struct stat st;
    if (stat(name, &st) == 0 && S_ISDIR(st.st_mode))
        return nn_fail_null("%s: a folder, not an architecture spec file", name);
    FILE *f = fopen(name, "rb");
    if (!f) {
        char names[256] = "";
        for (int i = 0; nn_preset_names[i]; i++) {
            strcat(names, i ? ", " : "");
            strcat(names, nn_preset_names[i]);
        }
        return nn_fail_null("'%s' is neither a preset (%s) nor a readable spec file", name, names);
    }
    char *buf = malloc(1 << 20);
    size_t got = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!buf)
        return nn_fail_null("out of memory");
    if (err) {
        free(buf);
        return nn_fail_null("%s: read error", name);
    }
    buf[got] = 0;
    /* What else a user may hand --arch: its line-1 complaint ("found
     * 'emomodel'", bytes of a picture) did not say what the file is. */
    const char *why = got >= 8 && !memcmp(buf, "EMOMODEL", 8)
                          ? "a model file, not an architecture spec (a trained model is "
                            "--model, or train --init to start from its weights)"
                      : got >= 8 && !memcmp(buf, "EMOCKPT", 8)
                          ? "a training checkpoint, not an architecture spec (train --resume "
                            "continues it)"
                      : memchr(buf, 0, got) ? "not a text file (an architecture spec is text)"
                                            : NULL;
    if (why) {
        free(buf);
        return nn_fail_null("%s: %s", name, why);
    }
    /* A spec saved by an editor that starts UTF-8 files with a byte-order
     * mark read "found '\xEF\xBB\xBFinput'" on line 1. */
    const char *spec = buf;
    if (got >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
        spec += 3;
    nn_net *net = nn_net_from_spec(spec, n_classes);
    free(buf);
    if (!net) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", nn_error());
        return nn_fail_null("%s: %s", name, msg);
    }
    return net;
}
