/* fuzz_log.c - fuzz entry point for the escaping in emotion-detect's frame
 * logs (app/detect/elog.c) and the programs' JSON strings (jsonw): class
 * names come from model files, so any bytes. The input gives up to 7 class
 * names (split at NUL bytes) and the probabilities (NaN and infinity
 * included); the log written must stay valid in both formats: every JSON
 * line one JSON object of valid UTF-8, every CSV row the header's field
 * count. jsonw_escape's output must be one valid JSON string. Built as
 * fuzz_log (libFuzzer) and fuzz_log_replay; see fuzz_model.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elog.h"
#include "fuzz_util.h"
#include "jsonw.h"

/* ---- a strict JSON checker (RFC 8259), enough for an oracle ---- */

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = p[0], cp;
    int n;
    if (c < 0x80)
        return s + 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
    else return NULL;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return NULL;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return NULL;
    return s + n;
}

static const char *string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 5;
            } else if (*p && strchr("\"\\/bfnrt", *p)) {
                p++;
            } else {
                return NULL;
            }
        } else if (!(p = utf8(p))) {
            return NULL;
        }
    }
    return p + 1;
}

static const char *number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *value(const char *p, int depth)
{
    p = ws(p);
    if (depth > 16)
        return NULL;
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                if (!(p = string(ws(p))))
                    return NULL;
                p = ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = value(p, depth + 1)))
                return NULL;
            p = ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"')
        return string(p);
    if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    return number(p);
}

static int valid_json(const char *s)
{
    const char *end = value(s, 0);
    return end && *ws(end) == 0;
}

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
            int fields = 1;
            for (char *p = line; *p; p++)
                fields += *p == ',';
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
