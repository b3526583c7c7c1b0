/* test_ensemble.c - eval's ensembles: the ensemble's probabilities equal
 * the mean of each model's own predictions, with the models' classes in
 * different orders, different input sizes, preprocessing and calibration;
 * test-time views average in the same way; models whose classes differ
 * are refused. */
#include "cvw.h"
#include "ensemble.h"
#include "testutil.h"
#include "cmd_common.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void make_data(void)
{
    static const char *cls[3] = {"happy", "sad", "angry"};
    char path[512];
    uint64_t s = 5;
    for (int c = 0; c < 3; c++) {
        snprintf(path, sizeof path, "%s/%s", dir, cls[c]);
        mkdir(path, 0755);
        for (int i = 0; i < 6; i++) {
            uint8_t img[32 * 30];
            for (int p = 0; p < 32 * 30; p++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                img[p] = (uint8_t)((s >> 56) / 2 + (p % 32) * 4 * (c + 1) % 128);
            }
            snprintf(path, sizeof path, "%s/%s/%d.png", dir, cls[c], i);
            CHECK(cvw_write_image(path, img, 32, 30, 1) == 0);
        }
    }
}

static nn_net *make_model(const char *spec, const char *const *classes, int k, uint64_t seed)
{
    nn_net *net = nn_net_from_spec(spec, k);
    CHECK_MSG(net != NULL, "%s", nn_error());
    nn_net_init(net, seed);
    float *p = nn_net_params(net);
    uint64_t s = seed;
    for (size_t i = 0; i < nn_net_n_params(net); i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] += 0.2f * ((float)(s >> 40) / 16777216.0f - 0.5f);
    }
    nn_net_set_classes(net, classes, k);
    return net;
}

static void save(nn_net *net, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_MSG(nn_net_save(net, path) == 0, "%s", nn_error());
}

static void flip_view(int v, const uint8_t *src, uint8_t *dst, int w, int h)
{
    (void)v;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            dst[y * w + x] = src[y * w + w - 1 - x];
}

/* One model's probabilities for the data, in `order`'s class order. */
static void single(nn_net *net, const char *const *order, int k, int views, float *out, int *n_out)
{
    dataset *d = cmd_load_for_model(net, dir, NULL, 0, 1, 1);
    CHECK(d != NULL);
    if (!d)
        return;
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    size_t per = (size_t)c * h * w;
    float *x = malloc(d->n * per * sizeof *x), *p = malloc(d->n * k * sizeof *p);
    uint8_t *tmp = malloc((size_t)w * h);
    const char *names[8];
    for (int j = 0; j < k; j++)
        names[j] = nn_net_class(net, j);
    memset(out, 0, d->n * k * sizeof *out);
    for (int v = 0; v < views; v++) {
        for (int i = 0; i < d->n; i++) {
            const uint8_t *src = dataset_image(d, i);
            if (v) {
                flip_view(v, src, tmp, w, h);
                src = tmp;
            }
            nn_preprocess_u8(net, src, x + i * per);
        }
        CHECK(cmd_classify(net, x, d->n, NULL, p, NULL, NULL) == 0);
        for (int i = 0; i < d->n; i++)
            for (int j = 0; j < k; j++)
                out[i * k + j] += p[i * k + dataset_class_find(names, k, order[j])] / views;
    }
    *n_out = d->n;
    free(x);
    free(p);
    free(tmp);
    dataset_free(d);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_ensemble.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    make_data();
    static const char *const order_a[3] = {"happy", "sad", "angry"}, *const order_b[3] = {"angry", "happy", "sad"};
    static const char *const other[3] = {"happy", "sad", "fear"};
    nn_net *a = make_model("input 24x24 1\nconv 4 3x3 same relu\nmaxpool 2\nflatten\ndense classes softmax\n",
                           order_a, 3, 11);
    nn_net *b = make_model("input 20x18 1\nconv 3 3x3 same bn relu\ngap\ndense classes softmax\n", order_b, 3, 12);
    nn_net *o = make_model("input 24x24 1\nconv 4 3x3 same relu\nmaxpool 2\nflatten\ndense classes softmax\n",
                           other, 3, 13);
    if (!a || !b || !o)
        return test_done("test_ensemble");
    nn_net_preproc(a)->scale = 1.0f / 255;
    nn_net_preproc(a)->equalize = 1;
    nn_net_preproc(b)->scale = 1.0f / 128;
    nn_net_preproc(b)->bias = -1.0f;
    nn_calib t = {.kind = NN_CALIB_TEMPERATURE, .n_classes = 3, .scale = {0.5f, 0.5f, 0.5f}};
    CHECK(nn_net_set_calib(b, &t) == 0);
    save(a, "a.model");
    save(b, "b.model");
    save(o, "o.model");

    char list[600];
    snprintf(list, sizeof list, "%s/a.model,%s/b.model", dir, dir);
    for (int views = 1; views <= 2; views++) {
        ens e;
        CHECK(ensemble_load(&e, list, 1) == 0);
        if (e.n != 2)
            break;
        dataset *ds = cmd_load_for_model(e.net[0], dir, NULL, 0, 1, 1);
        CHECK(ds && ds->n == 18);
        float pe[18 * 3], pa[18 * 3], pb[18 * 3];
        int na = 0, nb = 0;
        CHECK(ensemble_classify(&e, ds, dir, NULL, 1, views, flip_view, pe) == 0);
        single(a, order_a, 3, views, pa, &na);
        single(b, order_a, 3, views, pb, &nb);
        CHECK(na == 18 && nb == 18);
        double worst = 0, from_a = 0;
        for (int i = 0; i < 18 * 3; i++) {
            worst = fmax(worst, fabs(pe[i] - 0.5 * (pa[i] + pb[i])));
            from_a = fmax(from_a, fabs(pe[i] - pa[i]));
        }
        printf("views %d: ensemble vs mean of singles %.3g (vs a alone %.3g)\n", views, worst, from_a);
        CHECK(worst < 1e-6);
        CHECK(from_a > 1e-3); /* b really counted */
        dataset_free(ds);
        ensemble_free(&e);
    }
    /* a model with other classes is refused; so is a missing one */
    ens e;
    snprintf(list, sizeof list, "%s/a.model,%s/o.model", dir, dir);
    CHECK(ensemble_load(&e, list, 1) == -1 && e.n == 0);
    snprintf(list, sizeof list, "%s/a.model,,%s/b.model", dir, dir);
    CHECK(ensemble_load(&e, list, 1) == -1);
    snprintf(list, sizeof list, "%s/a.model,%s/nope.model", dir, dir);
    CHECK(ensemble_load(&e, list, 1) == -1);
    nn_net_free(a);
    nn_net_free(b);
    nn_net_free(o);
    if (!test_failures) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    }
    return test_done("test_ensemble");
}
