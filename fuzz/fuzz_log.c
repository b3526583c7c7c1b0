/* fuzz_log.c - fuzz entry point for the escaping in emotion-detect's frame
 * logs (app/detect/elog.c) and the programs' JSON strings (jsonw): class
 * names come from model files, so any bytes. The input gives up to 7 class
 * names (split at NUL bytes) and the probabilities (NaN and infinity
 * included); the log written must stay valid in both formats: every JSON
 * line one JSON object of valid UTF-8, every CSV row the header's field
 * count (RFC 4180's quoting read). jsonw_escape's output must be one valid JSON string. Built as
 * fuzz_log (libFuzzer) and fuzz_log_replay; see fuzz_model.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elog.h"
#include "fuzz_util.h"
#include "json_check.h"
#include "jsonw.h"

/* ---- the target ---- */

static int check_log(const char *path, int csv)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int header = -1, ok = 1, rows = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n') {
            ok = 0;
            break;
        }
        line[n - 1] = 0;
        rows++;
        if (csv) {
            /* RFC 4180: a comma inside quotes is not a separator. */
            int fields = 1, quoted = 0;
            for (char *p = line; *p; p++) {
                quoted ^= *p == '"';
                fields += *p == ',' && !quoted;
            }
            ok &= !quoted;
            if (header < 0)
                header = fields;
            ok &= fields == header;
        } else {
            ok &= line[0] == '{' && valid_json(line);
        }
    }
    free(line);
    fclose(f);
    return ok && rows == (csv ? 3 : 2);
}

static char dir[64];
static void remove_dir(void) { rmdir(dir); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz-log-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    /* Up to 7 names, split at NUL bytes; the rest sets probabilities. */
    char names[7][NN_NAME_MAX];
    const char *np[7];
    int k = 0;
    size_t i = 0;
    while (k < 7 && i < len) {
        size_t j = 0;
        while (i < len && data[i] && j + 1 < NN_NAME_MAX)
            names[k][j++] = (char)data[i++];
        names[k][j] = 0;
        np[k] = names[k];
        k++;
        if (i < len && data[i] == 0)
            i++;
    }
    if (k == 0)
        return 0;
    pipeline_result r;
    memset(&r, 0, sizeof r);
    r.n = 1;
    r.faces[0].id = 1;
    r.faces[0].box = (cvw_rect){1, 2, 3, 4};
    r.faces[0].cls = k - 1;
    static const float specials[4] = {NAN, INFINITY, -INFINITY, 0.5f};
    for (int c = 0; c < k; c++)
        r.faces[0].probs[c] = i + c < len ? specials[data[i + c] % 4] : 0.25f;
    r.faces[0].conf = r.faces[0].probs[k - 1];

    for (int csv = 0; csv < 2; csv++) {
        char path[128];
        snprintf(path, sizeof path, "%s/log.%s", dir, csv ? "csv" : "jsonl");
        elog *l = elog_open(path, np, k, 0);
        if (!l)
            abort();
        pipeline_result none;
        memset(&none, 0, sizeof none);
        if (elog_frame(l, 0, 0.0, NULL, &r) != 0 || elog_frame(l, 1, 40.0, NULL, &none) != 0 ||
            elog_close(l) != 0)
            abort();
        if (!check_log(path, csv))
            abort();
        unlink(path);
    }
    for (int c = 0; c < k; c++) {
        char buf[NN_NAME_MAX * 6 + 3];
        size_t need = jsonw_escape(buf, sizeof buf, names[c]);
        if (need >= sizeof buf || !valid_json(buf))
            abort();
    }
    return 0;
}
