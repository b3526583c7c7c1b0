/* net.c - running a network: accessors, weight initialisation, activation
 * buffers sized to the largest batch seen, forward and backward passes. */
#include "nn_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t layer_out_size(const nn_layer *l)
{
    return (size_t)l->out_c * l->out_h * l->out_w;
}

static void free_buffers(nn_net *net)
{
    for (int i = 0; net->act && i < net->n_layers; i++) {
        nn_free(net->act[i]);
        nn_free(net->dact[i]);
        nn_free(net->layers[i].aux);
        nn_free(net->layers[i].wino_t);
        nn_free(net->layers[i].wino_v);
        net->layers[i].aux = net->layers[i].wino_t = NULL;
        net->layers[i].wino_v = NULL;
        net->layers[i].wino_v_cap = 0;
        net->layers[i].wino_v_m = 0;
    }
    free(net->act);
    free(net->dact);
    net->act = net->dact = NULL;
    for (int t = 0; net->scratch && t < net->threads; t++)
        nn_free(net->scratch[t]);
    free(net->scratch);
    net->scratch = NULL;
    net->scratch_len = 0;
    net->cap_n = 0;
}

void nn_net_free(nn_net *net)
{
    if (!net)
        return;
    free_buffers(net);
    nn__q8_free(net->q8);
    nn_pool_free(net->pool);
    nn_free(net->params);
    nn_free(net->grads);
    nn_free(net->state);
    free(net->classes);
    free(net->spec);
    free(net->layers);
    free(net);
}

/* Grows the activation, gradient, auxiliary and scratch buffers to hold a
 * batch of n; a no-op once they are big enough, so steady-state inference
 * allocates nothing. */
static int reserve(nn_net *net, int n)
{
    if (n <= net->cap_n && net->scratch)
        return 0;
    int cap = n > net->cap_n ? n : net->cap_n;
    free_buffers(net);
    net->act = calloc((size_t)net->n_layers, sizeof *net->act);
    net->dact = calloc((size_t)net->n_layers, sizeof *net->dact);
    net->scratch = calloc((size_t)net->threads, sizeof *net->scratch);
    if (!net->act || !net->dact || !net->scratch)
        goto oom;
    size_t scratch = 1;
    for (int i = 0; i < net->n_layers; i++) {
        nn_layer *l = &net->layers[i];
        size_t sz;
        if (nn_mul_size(layer_out_size(l), (size_t)cap, &sz) || sz > ((size_t)1 << 34))
            return nn_fail("batch of %d is too large for this net", n);
        if (!(net->act[i] = nn_alloc(sz * sizeof(float))) ||
            !(net->dact[i] = nn_alloc(sz * sizeof(float))))
            goto oom;
        if (l->kind == NN_L_DROPOUT)
            l->aux_len = sz;
        else if (l->kind == NN_L_BN)
            l->aux_len = 2 * (size_t)l->in_c; /* batch mean and 1/std */
        else if (l->kind == NN_L_CONV)
            l->aux_len = nn_conv_wino_aux(l);
        else if (l->kind == NN_L_SE) /* per image: the gate's inputs, outputs and gradients */
            l->aux_len = nn__se_aux_per_image(l) * (size_t)cap;
        else if (l->kind == NN_L_CROP) /* each image's window offsets */
            l->aux_len = 2 * (size_t)cap;
        else if (l->kind == NN_L_ADD) /* the skip's gradient */
            l->aux_len = (size_t)l->src_c * l->src_h * l->src_w * (size_t)cap;
        else
            l->aux_len = 0;
        if (l->aux_len && !(l->aux = nn_zalloc(l->aux_len * sizeof(float))))
            goto oom;
        l->wino_m = l->wino_ut = 0; /* nothing cached in the new aux */
        if (l->ops && l->ops->scratch) {
            size_t s = l->ops->scratch(l, cap);
            if (s > scratch)
                scratch = s;
        }
    }
    for (int t = 0; t < net->threads; t++)
        if (!(net->scratch[t] = nn_alloc(scratch * sizeof(float))))
            goto oom;
    net->scratch_len = scratch;
    net->cap_n = cap;
    return 0;
oom:
    free_buffers(net);
    return nn_fail("out of memory for a batch of %d", n);
}

void nn_net_init(nn_net *net, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    if (!s)
        s = 1;
    net->params_gen++;
    for (int i = 0; i < net->n_layers; i++) {
        nn_layer *l = &net->layers[i];
        if (l->kind == NN_L_CONV || l->kind == NN_L_DENSE || (l->kind == NN_L_ADD && l->nw)) {
            /* He-normal: keeps activation variance steady through ReLUs. */
            size_t fan_in = l->nw / (size_t)l->out_c;
            float sd = sqrtf(2.0f / (float)fan_in);
            for (size_t j = 0; j < l->nw; j++)
                l->w[j] = sd * nn_rand_normal(&s);
            memset(l->b, 0, l->nb * sizeof(float));
        } else if (l->kind == NN_L_SE) {
            /* He-normal for each of its two dense maps, zero biases */
            size_t n1 = (size_t)l->k * l->in_c;
            float sd1 = sqrtf(2.0f / (float)l->in_c), sd2 = sqrtf(2.0f / (float)l->k);
            for (size_t j = 0; j < l->nw; j++)
                l->w[j] = (j < n1 ? sd1 : sd2) * nn_rand_normal(&s);
            memset(l->b, 0, l->nb * sizeof(float));
        } else if (l->kind == NN_L_BN) {
            for (int c = 0; c < l->in_c; c++) {
                l->w[c] = 1.0f;
                l->b[c] = 0.0f;
                l->mean[c] = 0.0f;
                l->var[c] = 1.0f;
            }
        }
    }
    net->rng = s ^ 0xD1B54A32D192ED03ULL;
    if (!net->rng)
        net->rng = 1;
}

/* Copies channel/row j of src's classifier layer into channel/row i of
 * dst's: a dense layer's weight row and bias, a batch norm's gamma, beta
 * and running statistics. */
static void copy_class_slot(nn_layer *d, const nn_layer *s, int i, int j)
{
    size_t row = d->kind == NN_L_DENSE ? d->nw / (size_t)d->out_c : 1;
    memcpy(d->w + (size_t)i * row, s->w + (size_t)j * row, row * sizeof(float));
    d->b[i] = s->b[j];
    if (d->mean) {
        d->mean[i] = s->mean[j];
        d->var[i] = s->var[j];
    }
}

int nn_net_transfer(nn_net *dst, const nn_net *src)
{
    if (strcmp(dst->spec, src->spec) || dst->n_layers != src->n_layers)
        return nn_fail("the architectures differ");
    int head = 0; /* the classifier: the last dense layer, and what follows */
    for (int i = 0; i < dst->n_layers; i++)
        if (dst->layers[i].kind == NN_L_DENSE)
            head = i;
    if (!head)
        return nn_fail("the net has no dense classifier layer");
    int from[NN_MAX_CLASSES], found = 0;
    for (int i = 0; i < dst->n_classes; i++) {
        from[i] = -1;
        for (int j = 0; j < src->n_classes; j++)
            if (!strcmp(dst->classes[i], src->classes[j]))
                from[i] = j;
        found += from[i] >= 0;
    }
    for (int li = 1; li < dst->n_layers; li++) {
        nn_layer *d = &dst->layers[li];
        const nn_layer *s = &src->layers[li];
        if (!d->w)
            continue;
        if (li < head) {
            if (d->nw != s->nw || d->nb != s->nb)
                return nn_fail("line %d: the layer's size depends on the class count", d->line);
            memcpy(d->w, s->w, d->nw * sizeof(float));
            memcpy(d->b, s->b, d->nb * sizeof(float));
            if (d->mean) {
                memcpy(d->mean, s->mean, (size_t)d->in_c * sizeof(float));
                memcpy(d->var, s->var, (size_t)d->in_c * sizeof(float));
            }
        } else {
            for (int i = 0; i < dst->n_classes; i++)
                if (from[i] >= 0)
                    copy_class_slot(d, s, i, from[i]);
        }
    }
    dst->pre = src->pre;
    dst->params_gen++;
    return found;
}

void nn_net_bn_reset(nn_net *net)
{
    for (int i = 0; i < net->n_layers; i++) {
        nn_layer *l = &net->layers[i];
        if (l->kind == NN_L_BN) {
            memset(l->mean, 0, (size_t)l->in_c * sizeof(float));
            memset(l->var, 0, (size_t)l->in_c * sizeof(float));
        }
    }
}

int nn_net_bn_accumulate(nn_net *net, const float *x, int n, int k)
{
    if (k < 1)
        return nn_fail("batch number %d must be 1 or more", k);
    /* With momentum (k-1)/k the running value becomes the mean of the k
     * batches' statistics. */
    const float keep = (float)(k - 1) / (float)k;
    float saved = 0.9f; /* every batch norm has the same (spec.c) */
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == NN_L_BN) {
            saved = net->layers[i].momentum;
            net->layers[i].momentum = keep;
        }
    const float *p = nn_net_forward(net, x, n, 1);
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == NN_L_BN)
            net->layers[i].momentum = saved;
    return p ? 0 : -1;
}

void nn_net_input_shape(const nn_net *net, int *c, int *h, int *w)
{
    const nn_layer *in = &net->layers[0];
    if (c)
        *c = in->out_c;
    if (h)
        *h = in->out_h;
    if (w)
        *w = in->out_w;
}

int nn_net_n_classes(const nn_net *net) { return net->n_classes; }
size_t nn_net_n_params(const nn_net *net) { return net->n_params; }
int nn_net_n_layers(const nn_net *net) { return net->n_layers; }
const char *nn_net_spec(const nn_net *net) { return net->spec; }
float *nn_net_params(nn_net *net)
{
    net->params_gen++; /* the caller may write through it */
    return net->params;
}
float *nn_net_grads(nn_net *net) { return net->grads; }
float *nn_net_state(nn_net *net) { return net->state; }
size_t nn_net_n_state(const nn_net *net) { return net->n_state; }
nn_preproc *nn_net_preproc(nn_net *net) { return &net->pre; }
const nn_preproc *nn_net_preproc_c(const nn_net *net) { return &net->pre; }
nn_meta *nn_net_meta(nn_net *net) { return &net->meta; }
const nn_meta *nn_net_meta_c(const nn_net *net) { return &net->meta; }
int nn_net_threads(const nn_net *net) { return net->threads; }

int nn_net_set_precision(nn_net *net, nn_precision p)
{
    if (p != NN_PRECISION_FP32 && p != NN_PRECISION_BF16 && p != NN_PRECISION_INT8)
        return nn_fail("unknown precision %d", (int)p);
    if (p == NN_PRECISION_BF16 && !nn_bf16_supported())
        return nn_fail("this CPU has no BF16 instructions (AVX512_BF16)");
    if (p == NN_PRECISION_INT8 && !net->q8)
        return nn_fail("the model has no INT8 calibration (emotion-train quantize makes one)");
    net->precision = p;
    return 0;
}

nn_precision nn_net_precision(const nn_net *net) { return net->precision; }
uint64_t *nn_net_rng(nn_net *net) { return &net->rng; }

int nn_net_first_conv(const nn_net *net, const float **w, int *out, int *in, int *k)
{
    for (int i = 1; i < net->n_layers; i++) {
        const nn_layer *l = &net->layers[i];
        if (l->kind == NN_L_CONV) {
            *w = l->w;
            *out = l->out_c;
            *in = l->in_c;
            *k = l->k;
            return i;
        }
    }
    return -1;
}

const float *nn_net_layer_output(const nn_net *net, int i, int *c, int *h, int *w)
{
    if (i < 0 || i >= net->n_layers || !net->act)
        return NULL;
    const nn_layer *l = &net->layers[i];
    *c = l->out_c;
    *h = l->out_h;
    *w = l->out_w;
    return net->act[i];
}

uint64_t nn_net_macs(const nn_net *net)
{
    uint64_t macs = 0;
    for (int i = 1; i < net->n_layers; i++) {
        const nn_layer *l = &net->layers[i];
        if (l->kind == NN_L_SE)
            macs += l->nw; /* its two small dense maps */
        else if (l->kind == NN_L_CONV || l->kind == NN_L_DENSE || l->kind == NN_L_ADD)
            macs += (uint64_t)l->nw * (l->out_h * l->out_w);
    }
    return macs;
}

const char *nn_net_layer_desc(const nn_net *net, int i, char *buf, size_t len)
{
    const nn_layer *l = &net->layers[i];
    char what[96];
    switch (l->kind) {
    case NN_L_INPUT: snprintf(what, sizeof what, "input"); break;
    case NN_L_CONV:
        snprintf(what, sizeof what, "conv %d %dx%d stride %d %s", l->out_c, l->k, l->k,
                 l->stride, l->pad == NN_PAD_SAME ? "same" : "valid");
        break;
    case NN_L_MAXPOOL:
    case NN_L_AVGPOOL:
        snprintf(what, sizeof what, "%s %d stride %d", l->ops->name, l->k, l->stride);
        break;
    case NN_L_DENSE: snprintf(what, sizeof what, "dense %d", l->out_c); break;
    case NN_L_DROPOUT: snprintf(what, sizeof what, "dropout %.2f", (double)l->rate); break;
    case NN_L_SE: snprintf(what, sizeof what, "se %d hidden", l->k); break;
    case NN_L_CROP:
        snprintf(what, sizeof what, "crop %dx%d", l->out_w, l->out_h);
        break;
    case NN_L_ADD:
        if (l->nw)
            snprintf(what, sizeof what, "add layer %d, 1x1 stride %d proj", l->src, l->stride);
        else
            snprintf(what, sizeof what, "add layer %d", l->src);
        break;
    default: snprintf(what, sizeof what, "%s", l->ops->name); break;
    }
    snprintf(buf, len, "%-28s -> %dx%dx%d  params %zu", what, l->out_w, l->out_h, l->out_c,
             l->nw + l->nb);
    return buf;
}

int nn_net_set_classes(nn_net *net, const char *const *names, int count)
{
    if (count != net->n_classes)
        return nn_fail("%d class names given for a net with %d outputs", count, net->n_classes);
    for (int i = 0; i < count; i++) {
        size_t len = strlen(names[i]);
        if (len == 0 || len >= NN_NAME_MAX)
            return nn_fail("class name '%s' must be 1..%d bytes", names[i], NN_NAME_MAX - 1);
    }
    for (int i = 0; i < count; i++)
        snprintf(net->classes[i], NN_NAME_MAX, "%s", names[i]);
    return 0;
}

const char *nn_net_class(const nn_net *net, int i)
{
    return i >= 0 && i < net->n_classes ? net->classes[i] : "?";
}

int nn_net_set_threads(nn_net *net, int threads)
{
    if (threads < 1 || threads > 256)
        return nn_fail("thread count %d out of range 1..256", threads);
    if (threads == net->threads && (threads == 1 || net->pool))
        return 0;
    nn_pool *pool = NULL;
    if (threads > 1 && !(pool = nn_pool_new(threads)))
        return -1;
    int cap = net->cap_n;
    free_buffers(net);
    nn_pool_free(net->pool);
    net->pool = pool;
    net->threads = threads;
    return cap ? reserve(net, cap) : 0;
}

static nn_ctx make_ctx(nn_net *net, int train)
{
    nn_ctx c = {
        .pool = net->pool, .train = train, .rng = &net->rng,
        .scratch = net->scratch, .scratch_len = net->scratch_len,
        .params_gen = net->params_gen,
    };
    return c;
}

/* A conv or batch norm followed by a ReLU runs as one layer: both outputs
 * are kept (so nn_net_layer_output still shows either), but the data is
 * read once. In backward, a ReLU followed by a max pool goes with the
 * pool instead, which reads the ReLU's output anyway. */
static int fused_relu(const nn_net *net, int i)
{
    nn_layer_kind k = net->layers[i].kind;
    /* not when a residual add reads the conv's own output: its gradient
     * there is needed, and the fused backward never forms it */
    return (k == NN_L_CONV || k == NN_L_BN) && i + 1 < net->n_layers &&
           net->layers[i + 1].kind == NN_L_RELU && !net->layers[i].skip_src;
}

/* Backward, at the moment dact[i] is complete but before layer i uses it:
 * the gradients that residual adds sent back to layer i's output. */
static void add_skip_grads(nn_net *net, int i, int n)
{
    if (!net->layers[i].skip_src)
        return;
    const size_t len = (size_t)n * layer_out_size(&net->layers[i]);
    for (int a = i + 1; a < net->n_layers; a++) {
        const nn_layer *l = &net->layers[a];
        if (l->kind == NN_L_ADD && l->src == i)
            for (size_t j = 0; j < len; j++)
                net->dact[i][j] += l->aux[j];
    }
}

/* Where backward puts the gradient at layer i's input: dact[i - 1], or NULL
 * when no layer before i has parameters (the input, a crop), for nothing
 * would read it and the first convolution's dX is not free. */
static float *input_grad(nn_net *net, int i)
{
    for (int j = 1; j < i; j++)
        if (net->layers[j].nw + net->layers[j].nb)
            return net->dact[i - 1];
    return NULL;
}

/* The GEMM mode for a pass (see nn_gemm_set_mode): the shape class, which
 * picks the fastest kernel for it, and BF16 for training when asked. */
static int gemm_mode(const nn_net *net, int train, int n)
{
    if (train)
        return NN_GEMM_TRAIN | (net->precision == NN_PRECISION_BF16 ? NN_GEMM_BF16 : 0);
    return n == 1 ? NN_GEMM_SINGLE : NN_GEMM_BATCH;
}

/* Runs layer i, and the ReLU after it when fused (then returns 1: that
 * layer is done too). */
static int forward_layer(nn_net *net, const nn_ctx *c, int i, int n, int train)
{
    nn_layer *l = &net->layers[i];
    if (fused_relu(net, i)) { /* the ReLU's output too */
        if (l->kind == NN_L_CONV)
            nn_conv_forward_relu(l, c, net->act[i - 1], net->act[i], net->act[i + 1], n);
        else
            nn_bn_forward_relu(l, c, net->act[i - 1], net->act[i], net->act[i + 1], n);
        return 1;
    }
    if (i == net->n_layers - 1 && !train && nn_calib_forward(net, n))
        return 0; /* calibrated probabilities written */
    if (l->kind == NN_L_ADD)
        nn_add_forward(l, c, net->act[i - 1], net->act[l->src], net->act[i], n);
    else
        l->ops->forward(l, c, net->act[i - 1], net->act[i], n);
    return 0;
}

void nn_net_time_layers(nn_net *net, double *seconds) { net->layer_seconds = seconds; }

const float *nn_net_forward(nn_net *net, const float *x, int n, int train)
{
    if (n < 1)
        return nn_fail_null("batch size %d must be at least 1", n);
    if (reserve(net, n))
        return NULL;
    unsigned fp = nn_fp_enter();
    int mode = nn_gemm_set_mode(gemm_mode(net, train, n));
    nn_ctx c = make_ctx(net, train);
    memcpy(net->act[0], x, (size_t)n * layer_out_size(&net->layers[0]) * sizeof(float));
    for (int i = 0; !train && i < net->n_layers; i++)
        net->layers[i].wino_v_m = 0; /* V kept by a training pass is stale now */
    if (!train && net->precision == NN_PRECISION_INT8 && net->q8) {
        double t0 = net->layer_seconds ? nn_now() : 0;
        int rc = nn__q8_forward(net, &c, n);
        if (net->layer_seconds)
            net->layer_seconds[net->n_layers - 1] += nn_now() - t0;
        nn_gemm_set_mode(mode);
        nn_fp_leave(fp);
        if (rc < 0)
            return NULL;
        net->last_n = n;
        net->last_train = 0;
        return net->act[net->n_layers - 1];
    }
    for (int i = 1; i < net->n_layers; i++) {
        double t0 = net->layer_seconds ? nn_now() : 0;
        int skip = forward_layer(net, &c, i, n, train);
        if (net->layer_seconds)
            net->layer_seconds[i] += nn_now() - t0;
        i += skip;
    }
    net->last_n = n;
    net->last_train = train;
    nn_gemm_set_mode(mode);
    nn_fp_leave(fp);
    return net->act[net->n_layers - 1];
}

void nn_net_zero_grad(nn_net *net)
{
    memset(net->grads, 0, net->n_params * sizeof(float));
}

float nn_net_backward(nn_net *net, const int *y, const nn_loss_cfg *cfg)
{
    int n = net->last_n, L = net->n_layers;
    if (!n || !net->last_train)
        return (float)nn_fail("backward needs a preceding forward pass in training mode");
    if (!(cfg && cfg->targets) && !y)
        return (float)nn_fail("backward needs labels or soft targets");
    for (int i = 0; y && !(cfg && cfg->targets) && i < n; i++)
        if (y[i] < 0 || y[i] >= net->n_classes)
            return (float)nn_fail("label %d out of range 0..%d", y[i], net->n_classes - 1);
    unsigned fp = nn_fp_enter();
    int mode = nn_gemm_set_mode(gemm_mode(net, 1, n));
    nn_ctx c = make_ctx(net, 1);
    /* Softmax and cross-entropy together: the gradient at the logits is
     * simply p - target, which is both cheaper and better conditioned. */
    float loss = nn_loss(net->act[L - 2], net->act[L - 1], y, n, net->n_classes, cfg, net->dact[L - 2]);
    for (int i = L - 2; i >= 1; i--) {
        nn_layer *l = &net->layers[i];
        add_skip_grads(net, i, n);
        if (l->kind == NN_L_ADD) {
            nn_add_backward(l, &c, net->act[l->src], net->dact[i], net->dact[i - 1],
                            l->src >= 1 ? l->aux : NULL, n);
            continue;
        }
        if (l->kind == NN_L_MAXPOOL && i >= 2 && net->layers[i - 1].kind == NN_L_RELU &&
            !net->layers[i - 1].skip_src) {
            /* the pool and the ReLU before it at once: the pool reads the
             * ReLU's output anyway, and its mask comes free */
            nn_maxpool_backward_relu(l, &c, net->act[i - 1], net->act[i], net->dact[i],
                                     input_grad(net, i - 1), n, 1);
            i--;
            continue;
        }
        if (i >= 2 && fused_relu(net, i - 1)) { /* conv or bn and its ReLU at once */
            nn_layer *p = &net->layers[i - 1];
            float *dx = input_grad(net, i - 1);
            if (p->kind == NN_L_CONV)
                nn_conv_backward_relu(p, &c, net->act[i - 2], net->act[i], net->dact[i], dx, n);
            else
                nn_bn_backward_relu(p, &c, net->act[i - 2], net->act[i], net->dact[i], dx, n);
            i--;
            continue;
        }
        l->ops->backward(l, &c, net->act[i - 1], net->act[i], net->dact[i],
                         input_grad(net, i), n);
    }
    nn_gemm_set_mode(mode);
    nn_fp_leave(fp);
    return loss;
}
