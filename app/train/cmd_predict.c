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
#include "report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BATCH 32 /* pictures per forward pass: bounds memory for long lists */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: emotion-train predict [--model M] [--threads N] [--saliency DIR [--overwrite]]\n"
            "         IMAGE...\n"
            "\n"
            "Classify face pictures (already cropped to the face). Prints one JSON line per\n"
            "picture: {\"file\":..., \"emotion\":..., \"confidence\":..., \"probs\":{...}}.\n"
            "Unreadable pictures are reported on stderr and the exit status is 1.\n"
            "\n"
            "  -m, --model M     model file (default: %s)\n"
            "  -t, --threads N   threads for the network (default 1)\n"
            "  --saliency DIR    also write DIR/NAME.png per picture (NAME: its file name\n"
            "                    without folder and extension; a picture whose NAME an\n"
            "                    earlier one took gets NAME-2.png, NAME-3.png..., in the\n"
            "                    order given; the JSON line's \"saliency\" names it): the\n"
            "                    face as the model saw it, with a heat map of what moved\n"
            "                    its top class's score. DIR and missing parents are made;\n"
            "                    a heat map never replaces a picture given\n"
            "  --overwrite       let --saliency replace files there (without it, an\n"
            "                    existing file of one of those names is refused)\n",
            paths_default_model());
}

static void print_result(const nn_net *net, const char *file, const char *saliency, const float *p)
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
    fputc('}', stdout);
    if (saliency) {
        fputs(",\"saliency\":", stdout);
        if (*saliency)
            jsonw_string(stdout, saliency);
        else
            fputs("null", stdout); /* not written (said on stderr) */
    }
    fputs("}\n", stdout);
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

/* Whether path is in the set (open addressing, cap a power of two);
 * adds it when not. */
static int taken(const char **set, size_t cap, const char *path)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *c = path; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ULL;
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (!set[i]) {
            set[i] = path;
            return 0;
        }
        if (!strcmp(set[i], path))
            return 1;
    }
}

/* The heat map's file for each picture: DIR/NAME.png (NAME: its file name
 * without folder and extension), or DIR/NAME-2.png, NAME-3.png... when an
 * earlier picture of this run took the name (a/face.png and b/face.png,
 * face.png and face.jpg). Returns n malloc'd paths, or NULL (out of memory). */
static char **saliency_paths(const char *dir, char *const *files, int n)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)n)
        cap *= 2;
    const char **set = calloc(cap, sizeof *set);
    char **out = calloc((size_t)n, sizeof *out);
    if (!set || !out)
        goto oom;
    int dl = (int)strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--; /* "out/" names out/face.png */
    for (int i = 0; i < n; i++) {
        const char *base = strrchr(files[i], '/');
        base = base ? base + 1 : files[i];
        const char *dot = strrchr(base, '.');
        int len = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
        size_t size = (size_t)dl + (size_t)len + 32;
        if (!(out[i] = malloc(size)))
            goto oom;
        const char *sep = dl == 1 && dir[0] == '/' ? "" : "/";
        snprintf(out[i], size, "%.*s%s%.*s.png", dl, dir, sep, len, base);
        for (int k = 2; taken(set, cap, out[i]); k++)
            snprintf(out[i], size, "%.*s%s%.*s-%d.png", dl, dir, sep, len, base, k);
    }
    free(set);
    return out;
oom:
    for (int i = 0; out && i < n; i++)
        free(out[i]);
    free(out);
    free(set);
    return NULL;
}

typedef struct file_id {
    dev_t dev;
    ino_t ino;
    int i; /* the picture's index, -1 for --model */
} file_id;

static int file_id_cmp(const void *pa, const void *pb)
{
    const file_id *a = pa, *b = pb;
    if (a->dev != b->dev)
        return a->dev < b->dev ? -1 : 1;
    if (a->ino != b->ino)
        return a->ino < b->ino ? -1 : 1;
    return 0;
}

/* Before anything is written: no heat map may be a picture given or the
 * model (by device and inode: other names, links), and none may replace
 * an earlier run's file unless --overwrite. Returns 0, or the exit code
 * after one line on stderr. */
static int check_saliency(char *const *files, int n, char *const *out, const char *model,
                          int overwrite)
{
    file_id *ids = malloc(((size_t)n + 1) * sizeof *ids);
    if (!ids) {
        cli_err("predict: out of memory");
        return CLI_EXIT_FAIL;
    }
    int m = 0;
    struct stat st;
    for (int i = -1; i < n; i++)
        if (stat(i < 0 ? model : files[i], &st) == 0)
            ids[m++] = (file_id){st.st_dev, st.st_ino, i};
    qsort(ids, (size_t)m, sizeof *ids, file_id_cmp);
    int rc = 0;
    for (int j = 0; j < n && !rc; j++) {
        if (stat(out[j], &st) != 0)
            continue; /* a new file is no input */
        file_id key = {st.st_dev, st.st_ino, 0};
        const file_id *hit = bsearch(&key, ids, (size_t)m, sizeof *ids, file_id_cmp);
        if (!hit)
            continue;
        outpath_path pair[] = {{hit->i < 0 ? "--model" : "picture", hit->i < 0 ? model : files[hit->i],
                                OUTPATH_INPUT},
                               {"--saliency", out[j], OUTPATH_FILE}};
        if (outpath_distinct(pair, 2) != 0) {
            cli_err("predict: %s", app_error());
            rc = CLI_EXIT_USAGE;
        }
    }
    free(ids);
    for (int j = 0; j < n && !rc && !overwrite; j++)
        if (outpath_refuse_existing("--saliency", out[j]) != 0) {
            cli_err("predict: %s", app_error());
            rc = CLI_EXIT_USAGE;
        }
    return rc;
}

/* What moved the top class's score for the preprocessed face x (its gray
 * pixels `face`): the input gradient's map, smoothed, over the face
 * enlarged. Returns 0, or -1 after printing why. */
static int write_saliency(nn_net *net, const char *path, const char *file, const uint8_t *face,
                          const float *x)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    const int W = w * SAL_SCALE, H = h * SAL_SCALE;
    size_t per = (size_t)c * h * w;
    float *dx = malloc(per * sizeof *dx), *map = malloc((size_t)h * w * 2 * sizeof *map);
    uint8_t *big = malloc((size_t)W * H), *bgr = malloc((size_t)W * H * 3);
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
    int threads = 1, n_files = 0, options_done = 0, overwrite = 0;
    char **files = malloc((size_t)argc * sizeof *files), **sal = NULL;
    nn_net *net = NULL;
    float *x = NULL, *probs = NULL;
    uint8_t *face = NULL;
    int rc = CLI_EXIT_USAGE;
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
            rc = CLI_EXIT_OK;
            goto done;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argc, argv, &i)))
                goto done;
        } else if (!strcmp(a, "--saliency")) {
            if (!(sal_dir = cli_value(argc, argv, &i)))
                goto done;
        } else if (!strcmp(a, "--overwrite")) {
            overwrite = 1;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || cli_int(a, v, 1, 256, &threads))
                goto done;
        } else {
            cli_err("predict: unknown option '%s' (try --help)", a);
            goto done;
        }
    }
    if (n_files == 0) {
        cli_err("predict: no images given (usage: emotion-train predict [--model M] IMAGE...)");
        goto done;
    }
    int default_model = !model;
    if (default_model)
        model = paths_default_model();
    /* Every heat map's name, and what it may not replace, before the model
     * loads and anything is written. */
    if (sal_dir) {
        if (outpath_probe_dir(sal_dir) != 0) {
            cli_err("predict: --saliency: %s", app_error());
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        if (!(sal = saliency_paths(sal_dir, files, n_files))) {
            cli_err("predict: out of memory");
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        if ((rc = check_saliency(files, n_files, sal, model, overwrite)) != 0)
            goto done;
    }
    rc = CLI_EXIT_FAIL;
    if (!(net = nn_net_load(model))) {
        cli_err("predict: %s%s", nn_error(), default_model ? " (no default model; pass --model M)" : "");
        goto done;
    }
    if (nn_net_set_threads(net, threads)) {
        cli_err("predict: %s", nn_error());
        goto done;
    }
    if (sal_dir && outpath_mkdirs(sal_dir) != 0) {
        cli_err("predict: --saliency: %s", app_error());
        goto done;
    }

    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    size_t per = (size_t)c * h * w;
    x = malloc(BATCH * per * sizeof *x);
    face = malloc((size_t)h * w * (sal_dir ? BATCH : 1));
    probs = malloc((size_t)BATCH * nn_net_n_classes(net) * sizeof *probs);
    int index[BATCH];
    if (!x || !face || !probs) {
        cli_err("predict: out of memory");
        goto done;
    }
    rc = CLI_EXIT_OK;
    for (int next = 0; next < n_files;) {
        int n = 0;
        for (; next < n_files && n < BATCH; next++) {
            if (load_picture(net, files[next], face + (sal_dir ? (size_t)n * h * w : 0),
                             x + n * per)) {
                rc = CLI_EXIT_FAIL; /* keep going with the others */
                continue;
            }
            index[n++] = next;
        }
        if (n == 0)
            continue;
        const float *p = nn_net_forward(net, x, n, 0);
        if (!p) {
            cli_err("predict: %s", nn_error());
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        int k = nn_net_n_classes(net);
        /* kept: the gradient's passes reuse the net's buffers */
        memcpy(probs, p, (size_t)n * k * sizeof *probs);
        /* Each picture written before its line, so the line never names a
         * picture that is not there (a full disk: "saliency":null). */
        int wrote[BATCH];
        for (int i = 0; i < n; i++) {
            wrote[i] = sal && !write_saliency(net, sal[index[i]], files[index[i]],
                                              face + (size_t)i * h * w, x + i * per);
            if (sal && !wrote[i])
                rc = CLI_EXIT_FAIL;
        }
        for (int i = 0; i < n; i++)
            print_result(net, files[index[i]], !sal ? NULL : wrote[i] ? sal[index[i]] : "",
                         probs + (size_t)i * k);
        fflush(stdout);
    }
    if (ferror(stdout)) {
        cli_err("predict: error writing the results");
        rc = CLI_EXIT_FAIL;
    }
done:
    free(x);
    free(face);
    free(probs);
    for (int i = 0; sal && i < n_files; i++)
        free(sal[i]);
    free(sal);
    free(files);
    nn_net_free(net);
    return rc;
}
