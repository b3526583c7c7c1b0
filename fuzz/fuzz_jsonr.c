/* fuzz_jsonr.c - fuzz entry point for the JSON reader behind
 * `emotion-detect --from-log` (app/detect/jsonr.c). The input is one JSON
 * text, any bytes. Oracles besides the sanitizers:
 *   - against the strict checker of json_check.h, written apart from the
 *     reader: on input of valid UTF-8 without NUL bytes, nested at most 15
 *     deep, both accept or both refuse; input holding a NUL byte is always
 *     refused (JSON has no place for one);
 *   - a parsed tree written out again (canonical form below) parses to the
 *     same tree, and writing that tree gives the same text: nothing is lost
 *     or invented between the bytes and the values;
 *   - jsonr_get finds every member name of an object, at its first
 *     occurrence.
 * Built as fuzz_jsonr (libFuzzer) and fuzz_jsonr_replay; see fuzz_model.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "fuzz_util.h"
#include "json_check.h"
#include "jsonr.h"

/* ---- the canonical form: no spaces, strings with only '"', '\\' and
 * control characters escaped, numbers at 17 digits (every double reads
 * back the same), infinity (a number too large for a double) as 1e999 ---- */

static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_val(FILE *f, const jsonr_val *v)
{
    switch (v->type) {
    case JSONR_NULL: fputs("null", f); break;
    case JSONR_BOOL: fputs(v->num != 0 ? "true" : "false", f); break;
    case JSONR_NUM:
        if (isinf(v->num))
            fputs(v->num > 0 ? "1e999" : "-1e999", f);
        else
            fprintf(f, "%.17g", v->num);
        break;
    case JSONR_STR: put_str(f, v->str); break;
    case JSONR_ARR:
    case JSONR_OBJ:
        fputc(v->type == JSONR_ARR ? '[' : '{', f);
        for (int i = 0; i < v->n; i++) {
            if (i)
                fputc(',', f);
            if (v->type == JSONR_OBJ) {
                put_str(f, v->keys[i]);
                fputc(':', f);
            }
            put_val(f, &v->items[i]);
        }
        fputc(v->type == JSONR_ARR ? ']' : '}', f);
        break;
    }
}

/* The canonical text of v, malloc'd, NUL-terminated; *len its length. */
static char *write_val(const jsonr_val *v, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        abort();
    put_val(f, v);
    if (fclose(f) != 0)
        abort();
    return buf;
}

static int same(const jsonr_val *a, const jsonr_val *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case JSONR_NULL: return 1;
    case JSONR_BOOL: return a->num == b->num;
    case JSONR_NUM: return a->num == b->num && signbit(a->num) == signbit(b->num);
    case JSONR_STR: return strcmp(a->str, b->str) == 0;
    case JSONR_ARR:
    case JSONR_OBJ:
        if (a->n != b->n)
            return 0;
        for (int i = 0; i < a->n; i++)
            if ((a->type == JSONR_OBJ && strcmp(a->keys[i], b->keys[i])) ||
                !same(&a->items[i], &b->items[i]))
                return 0;
        return 1;
    }
    return 0;
}

/* Containers nested in v, counting v itself. Also checks jsonr_get on every
 * object: each name found, at its first occurrence. */
static int depth(const jsonr_val *v)
{
    if (v->type != JSONR_ARR && v->type != JSONR_OBJ)
        return 0;
    int d = 0;
    for (int i = 0; i < v->n; i++) {
        if (v->type == JSONR_OBJ) {
            const jsonr_val *got = jsonr_get(v, v->keys[i]);
            if (!got || got > &v->items[i] || strcmp(v->keys[got - v->items], v->keys[i]))
                abort();
        }
        int di = depth(&v->items[i]);
        d = di > d ? di : d;
    }
    return d + 1;
}

static int valid_utf8(const char *s, size_t len)
{
    for (const char *p = s, *end = s + len; p < end;)
        if (!(p = jc_utf8(p)) || p > end)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    /* A copy of exactly len bytes, so that ASan sees any read past the end;
     * the checker gets a NUL-terminated one. */
    char *text = malloc(len ? len : 1), *z = malloc(len + 1);
    if (!text || !z)
        abort();
    memcpy(text, data, len);
    memcpy(z, data, len);
    z[len] = 0;

    jsonr_val *v = jsonr_parse(text, len);
    if (!v && strncmp(app_error(), "JSON: ", 6) != 0)
        abort(); /* refused, without saying why */
    if (memchr(data, 0, len)) {
        if (v)
            abort();
    } else if (valid_utf8(z, len) && (!v || depth(v) <= 15)) {
        if (!v != !valid_json(z))
            abort();
    }

    if (v) {
        depth(v);
        size_t n1, n2;
        char *t1 = write_val(v, &n1);
        jsonr_val *w = jsonr_parse(t1, n1);
        if (!w || !same(v, w))
            abort();
        char *t2 = write_val(w, &n2);
        if (n1 != n2 || memcmp(t1, t2, n1))
            abort();
        free(t2);
        free(t1);
        jsonr_free(w);
    }
    jsonr_free(v);
    free(z);
    free(text);
    return 0;
}
