/* fuzz_fromlog.c - fuzz entry point for the whole of `emotion-detect
 * --report DIR --from-log LOG` but the crops: the input is a frame log read
 * back by sreport_read_log (app/detect/sreport.c, through jsonr), whose session
 * is then written as the report (sreport_write.c: summary.json and .csv,
 * timeline.png, index.html) into a scratch folder. The log's source is not
 * opened (a fuzzer's path could name any file): the note the program
 * writes when it cannot be read stands in. Oracles besides the
 * sanitizers: a log refused says why; a log read has frames, and its
 * summary.json parses, counts the session's frames and gives each track
 * shares that sum to 1. Built as fuzz_fromlog (libFuzzer) and
 * fuzz_fromlog_replay; see fuzz_model.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_err.h"
#include "fuzz_util.h"
#include "jsonr.h"
#include "sreport.h"

static char dir[64];

static void remove_dir(void)
{
    char paths[SREPORT_N_FILES][4200];
    sreport_paths(dir, paths);
    for (int i = 0; i < SREPORT_N_FILES; i++)
        unlink(paths[i]);
    rmdir(dir);
}

static void check_summary(const sreport_session *s)
{
    char paths[SREPORT_N_FILES][4200];
    sreport_paths(dir, paths);
    FILE *f = fopen(paths[2], "rb"); /* summary.json */
    if (!f)
        abort();
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, 0, f);
    fclose(f);
    jsonr_val *v = n > 0 ? jsonr_parse(text, (size_t)n) : NULL;
    free(text);
    if (!v || jsonr_num(jsonr_get(v, "frames"), -1) != (double)sreport_frames(s))
        abort();
    const jsonr_val *tracks = jsonr_get(v, "tracks");
    if (!tracks || tracks->type != JSONR_ARR || tracks->n != sreport_n_tracks(s))
        abort();
    for (int i = 0; i < tracks->n; i++) {
        const jsonr_val *share = jsonr_get(&tracks->items[i], "share");
        if (!share || share->type != JSONR_OBJ)
            abort();
        double sum = 0;
        for (int c = 0; c < share->n; c++)
            sum += jsonr_num(&share->items[c], NAN);
        /* each written to 6 decimals */
        if (!(fabs(sum - 1) <= 1e-6 * share->n))
            abort();
    }
    jsonr_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz-fromlog-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    const char *path = fuzz_file(data, len);
    if (!path)
        abort();
    sreport_session *s = sreport_read_log(path);
    if (!s) {
        if (!*app_error())
            abort(); /* refused without saying why */
        return 0;
    }
    if (sreport_frames(s) <= 0)
        abort();
    sreport_set_note(s, "No faces.png: the source cannot be read again.");
    if (sreport_write(s, dir) != 0)
        abort();
    check_summary(s);
    sreport_free(s);
    return 0;
}
