/* val_split - write the validation faces that `emotion-train train
 * --val-split SHARE --seed SEED --val-copies MODE` holds out, as PNGs in
 * OUT/copy/<class>/ (faces with an exact copy left in training) and
 * OUT/unique/<class>/, so that `emotion-train eval` can score a trained
 * model on each part: how much the copies lift its validation accuracy.
 *   build/tools/val_split DATA SHARE SEED exclude|allow OUT
 * OUT must not exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app_err.h"
#include "cvw.h"
#include "dataset.h"

static int in_training(const dataset *train, const uint8_t *img)
{
    size_t len = (size_t)train->w * train->h;
    for (int j = 0; j < train->n; j++)
        if (!memcmp(img, dataset_image(train, j), len))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6 || (strcmp(argv[4], "exclude") && strcmp(argv[4], "allow"))) {
        fprintf(stderr, "usage: val_split DATA SHARE SEED exclude|allow OUT\n");
        return 2;
    }
    const char *out = argv[5];
    if (mkdir(out, 0755)) {
        perror(out);
        return 1;
    }
    dataset_load_opts lo = {.w = 48, .h = 48, .threads = 2};
    dataset *train = dataset_load(argv[1], &lo);
    dataset_split_info info;
    dataset_copies copies = strcmp(argv[4], "allow") ? DATASET_COPIES_EXCLUDE : DATASET_COPIES_ALLOW;
    dataset *val = train ? dataset_split(train, atof(argv[2]), strtoull(argv[3], NULL, 10), copies, &info)
                         : NULL;
    if (!val) {
        fprintf(stderr, "val_split: %s\n", app_error());
        return 1;
    }
    int n_copy = 0;
    char path[4096];
    for (int i = 0; i < val->n; i++) {
        const char *kind = in_training(train, dataset_image(val, i)) ? "copy" : "unique";
        n_copy += kind[0] == 'c';
        snprintf(path, sizeof path, "%s/%s", out, kind);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/%s", out, kind, val->classes[val->labels[i]]);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/%s/%05d.png", out, kind, val->classes[val->labels[i]], i);
        if (cvw_write_image(path, dataset_image(val, i), val->w, val->h, 1)) {
            fprintf(stderr, "val_split: cannot write %s\n", path);
            return 1;
        }
    }
    printf("validation: %d faces, %d with an exact copy in training, %d without; "
           "%d of the data's %d faces have a copy in it\n",
           val->n, n_copy, val->n - n_copy, info.with_copy, train->n + val->n);
    dataset_free(val);
    dataset_free(train);
    return 0;
}
