/* fuzz_csv.c - fuzz entry point for the FER2013 CSV reader (dataset_load on a
 * file that is not a folder). A data set that loads must be consistent:
 * every label a known class, every image readable. Built as fuzz_csv
 * (libFuzzer) and fuzz_csv_replay; see fuzz_model.c. */
#include <string.h>

#include "dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *path = fuzz_file(data, len);
    if (!path)
        return 0;
    /* Small images keep each run fast; the parser is the same. */
    dataset_load_opts o = {.w = 8, .h = 8, .threads = 1};
    if (len > 0 && data[0] & 1)
        o.split = "Training";
    dataset *ds = dataset_load(path, &o);
    if (ds) {
        unsigned sum = 0;
        for (int i = 0; i < ds->n; i++) {
            if (ds->labels[i] < 0 || ds->labels[i] >= ds->n_classes)
                abort();
            sum += dataset_image(ds, i)[ds->w * ds->h - 1];
        }
        (void)sum;
        dataset_free(ds);
    }
    return 0;
}
