/* cmd_predict.c - `emotion-train predict`: classify face pictures with a
 * model, one JSON line per picture on stdout. Pictures of any size and
 * colour are read as gray, resized to the model's input, preprocessed
 * (equalization, scaling) and run in batches. */
#include "cli.h"
#include "commands.h"
#include "cvw.h"
#include "heatmap.h"
#include "jsonw.h"
#include "nn.h"
#include "app_err.h"
#include "outpath.h"
#include "paths.h"
#include "probs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BATCH 32 /* pictures per forward pass: bounds memory for long lists */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: emotion-train predict [--model M] [--threads N] [--saliency DIR] IMAGE...\n"
            "\n"
            "Classify face pictures (already cropped to the face). Prints one JSON line per\n"
            "picture: {\"file\":..., \"emotion\":..., \"confidence\":..., \"probs\":{...}}.\n"
            "Unreadable pictures are reported on stderr and the exit status is 1.\n"
            "\n"
            "  -m, --model M     model file (default: %s)\n"
            "  -t, --threads N   threads for the network (default 1)\n"
            "  --saliency DIR    also write DIR/NAME.png per picture (NAME: its file name\n"
            "                    without folder and extension): the face as the model saw\n"
            "                    it, with a heat map of what moved its top class's score\n",
            paths_default_model());
}

static void print_result(const nn_net *net, const char *file, const float *p)
{
    int k = nn_net_n_classes(net), best = probs_argmax(p, k);
    fputs("{\"file\":", stdout);
    jsonw_string(stdout, file);
    fputs(",\"emotion\":", stdout);
    jsonw_string(stdout, nn_net_class(net, best));
    fputs(",\"confidence\":", stdout);
    jsonw_number(stdout, p[best], 6);
    fputs(",\"probs\":{", stdout);
    for (int j = 0; j < k; j++) {
        if (j)
            fputc(',', stdout);
        jsonw_string(stdout, nn_net_class(net, j));
        fputc(':', stdout);
        jsonw_number(stdout, p[j], 6);
    }
    fputs("}}\n", stdout);
}

/* Read picture `path` into x (preprocessed floats). Returns 0, or -1 after
 * printing why. */
static int load_picture(const nn_net *net, const char *path, uint8_t *face, float *x)
{
    int c, h, w, pw, ph;
    uint8_t *pix = NULL;
    nn_net_input_shape(net, &c, &h, &w);
    if (cvw_read_gray(path, &pix, &pw, &ph)) {
        cli_err("predict: %s", cvw_error());
        return -1;
    }
    int rc = cvw_resize_gray(pix, pw, ph, face, w, h);
    free(pix);
    if (rc) {
        cli_err("predict: %s: %s", path, cvw_error());
        return -1;
    }
    nn_preprocess_u8(net, face, x); /* colour models get gray in every channel */
    return 0;
}

/* ---- --saliency DIR --------------------------------------------------------- */

#define SAL_SCALE 4 /* the 48-pixel face shown 4 times larger */

/* DIR/NAME.png for picture `file` into out. */
static void saliency_path(const char *dir, const char *file, char *out, size_t len)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    const char *dot = strrchr(base, '.');
    int n = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    snprintf(out, len, "%s/%.*s.png", dir, n, base);
}

/* What moved the top class's score for the preprocessed face x (its gray
 * pixels `face`): the input gradient's map, smoothed, over the face
 * enlarged. Returns 0, or -1 after printing why. */
static int write_saliency(nn_net *net, const char *dir, const char *file, const uint8_t *face,
                          const float *x)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    const int W = w * SAL_SCALE, H = h * SAL_SCALE;
    size_t per = (size_t)c * h * w;
    float *dx = malloc(per * sizeof *dx), *map = malloc((size_t)h * w * 2 * sizeof *map);
    uint8_t *big = malloc((size_t)W * H), *bgr = malloc((size_t)W * H * 3);
    char path[4096 + 64];
    int rc = -1;
    if (!dx || !map || !big || !bgr) {
        cli_err("predict: out of memory");
        goto done;
    }
    if (nn_net_input_grad(net, x, -1, dx) < 0) {
        cli_err("predict: %s: saliency: %s", file, nn_error());
        goto done;
    }
    nn_saliency_map(dx, c, h, w, map);
    heatmap_smooth(map, w, h, 1, map + (size_t)h * w);
    if (cvw_resize_gray(face, w, h, big, W, H) != 0) {
        cli_err("predict: %s: %s", file, cvw_error());
        goto done;
    }
    for (size_t i = 0; i < (size_t)W * H; i++)
        bgr[3 * i] = bgr[3 * i + 1] = bgr[3 * i + 2] = big[i];
    heatmap_blend_bgr(bgr, W, H, 0, 0, W, H, map, w, h, 0.6f);
    saliency_path(dir, file, path, sizeof path);
    if (cvw_write_image(path, bgr, W, H, 3) != 0) {
        cli_err("predict: --saliency: %s", cvw_error());
        goto done;
    }
    rc = 0;
done:
    free(dx);
    free(map);
    free(big);
    free(bgr);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    const char *model = NULL, *sal_dir = NULL;
    int threads = 1, n_files = 0, options_done = 0;
    char **files = malloc((size_t)argc * sizeof *files);
    if (!files) {
        cli_err("predict: out of memory");
        return CLI_EXIT_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || !a[1]) {
            files[n_files++] = argv[i];
        } else if (!strcmp(a, "--")) {
            options_done = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(files);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argc, argv, &i))) {
                free(files);
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--saliency")) {
            if (!(sal_dir = cli_value(argc, argv, &i))) {
                free(files);
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || cli_int(a, v, 1, 256, &threads)) {
                free(files);
                return CLI_EXIT_USAGE;
            }
        } else {
            cli_err("predict: unknown option '%s' (try --help)", a);
            free(files);
            return CLI_EXIT_USAGE;
        }
    }
    if (n_files == 0) {
        cli_err("predict: no images given (usage: emotion-train predict [--model M] IMAGE...)");
        free(files);
        return CLI_EXIT_USAGE;
    }
    if (sal_dir) {
        if (outpath_probe_dir(sal_dir) != 0) {
            cli_err("predict: --saliency: %s", app_error());
            free(files);
            return CLI_EXIT_FAIL;
        }
        mkdir(sal_dir, 0777); /* may exist already; a real failure shows at the first write */
    }
    int default_model = !model;
    if (default_model)
        model = paths_default_model();
    nn_net *net = nn_net_load(model);
    if (!net) {
        cli_err("predict: %s%s", nn_error(), default_model ? " (no default model; pass --model M)" : "");
        free(files);
        return CLI_EXIT_FAIL;
    }
    if (nn_net_set_threads(net, threads)) {
        cli_err("predict: %s", nn_error());
        nn_net_free(net);
        free(files);
        return CLI_EXIT_FAIL;
    }

    int c, h, w, rc = CLI_EXIT_OK;
    nn_net_input_shape(net, &c, &h, &w);
    size_t per = (size_t)c * h * w;
    float *x = malloc(BATCH * per * sizeof *x);
    uint8_t *face = malloc((size_t)h * w * (sal_dir ? BATCH : 1));
    const char *names[BATCH];
    if (!x || !face) {
        cli_err("predict: out of memory");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    for (int next = 0; next < n_files;) {
        int n = 0;
        for (; next < n_files && n < BATCH; next++) {
            if (load_picture(net, files[next], face + (sal_dir ? (size_t)n * h * w : 0),
                             x + n * per)) {
                rc = CLI_EXIT_FAIL; /* keep going with the others */
                continue;
            }
            names[n++] = files[next];
        }
        if (n == 0)
            continue;
        const float *p = nn_net_forward(net, x, n, 0);
        if (!p) {
            cli_err("predict: %s", nn_error());
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        for (int i = 0; i < n; i++)
            print_result(net, names[i], p + (size_t)i * nn_net_n_classes(net));
        fflush(stdout);
        /* after printing: the gradient's passes reuse the net's buffers */
        for (int i = 0; sal_dir && i < n; i++)
            if (write_saliency(net, sal_dir, names[i], face + (size_t)i * h * w, x + i * per))
                rc = CLI_EXIT_FAIL;
    }
    if (ferror(stdout)) {
        cli_err("predict: error writing the results");
        rc = CLI_EXIT_FAIL;
    }
done:
    free(x);
    free(face);
    free(files);
    nn_net_free(net);
    return rc;
}
