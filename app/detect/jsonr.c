/* jsonr.c - the JSON reader of jsonr.h: recursive descent over a byte
 * buffer, with a depth limit. */
#include "jsonr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"

#define JSONR_MAX_DEPTH 64

typedef struct {
    const char *p, *start, *end;
    int depth;
} rd;

static int bad(rd *r, const char *what)
{
    return app_fail("JSON: %s at byte %ld", what, (long)(r->p - r->start));
}

static void skip_ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static void free_val(jsonr_val *v)
{
    if (v->type == JSONR_STR)
        free(v->str);
    if (v->type == JSONR_ARR || v->type == JSONR_OBJ) {
        for (int i = 0; i < v->n; i++) {
            free_val(&v->items[i]);
            if (v->keys)
                free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
    memset(v, 0, sizeof *v);
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80)
        return d[0] = (char)cp, 1;
    if (cp < 0x800)
        return d[0] = (char)(0xC0 | cp >> 6), d[1] = (char)(0x80 | (cp & 63)), 2;
    if (cp < 0x10000)
        return d[0] = (char)(0xE0 | cp >> 12), d[1] = (char)(0x80 | ((cp >> 6) & 63)),
               d[2] = (char)(0x80 | (cp & 63)), 3;
    return d[0] = (char)(0xF0 | cp >> 18), d[1] = (char)(0x80 | ((cp >> 12) & 63)),
           d[2] = (char)(0x80 | ((cp >> 6) & 63)), d[3] = (char)(0x80 | (cp & 63)), 4;
}

/* A string at r->p (on its opening quote) into a malloc'd buffer. An
 * escape never decodes longer than its source text, so the source length
 * bounds the buffer. */
static int parse_string(rd *r, char **out)
{
    const char *q = ++r->p;
    while (q < r->end && *q != '"')
        q += (*q == '\\' && q + 1 < r->end) ? 2 : 1;
    if (q >= r->end)
        return bad(r, "unterminated string");
    char *s = malloc((size_t)(q - r->p) + 1), *d = s;
    if (!s)
        return app_fail("out of memory");
    while (r->p < q) {
        unsigned char c = (unsigned char)*r->p;
        if (c < 0x20) {
            free(s);
            return bad(r, "control character in a string");
        }
        if (c != '\\') {
            *d++ = (char)c;
            r->p++;
            continue;
        }
        char e = r->p[1];
        r->p += 2;
        switch (e) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '/': *d++ = '/'; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (q - r->p < 4 || hex4(r->p, &cp) != 0) {
                free(s);
                return bad(r, "bad \\u escape");
            }
            r->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && q - r->p >= 6 && r->p[0] == '\\' &&
                r->p[1] == 'u' && hex4(r->p + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                r->p += 6;
            } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0xFFFD; /* a lone surrogate */
            }
            d += put_utf8(d, cp);
            break;
        }
        default:
            free(s);
            return bad(r, "bad escape");
        }
    }
    *d = 0;
    r->p = q + 1;
    *out = s;
    return 0;
}

static int parse_value(rd *r, jsonr_val *v);

static int grow(jsonr_val *v, int *cap, int obj)
{
    if (v->n < *cap)
        return 0;
    int nc = *cap ? *cap * 2 : 8;
    jsonr_val *items = realloc(v->items, sizeof *items * (size_t)nc);
    if (!items)
        return app_fail("out of memory");
    v->items = items;
    if (obj) {
        char **keys = realloc(v->keys, sizeof *keys * (size_t)nc);
        if (!keys)
            return app_fail("out of memory");
        v->keys = keys;
    }
    *cap = nc;
    return 0;
}

static int parse_container(rd *r, jsonr_val *v, int obj)
{
    if (++r->depth > JSONR_MAX_DEPTH)
        return bad(r, "nested too deep");
    v->type = obj ? JSONR_OBJ : JSONR_ARR;
    char close = obj ? '}' : ']';
    int cap = 0;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        r->depth--;
        return 0;
    }
    for (;;) {
        if (grow(v, &cap, obj) != 0)
            return -1;
        jsonr_val *it = &v->items[v->n];
        memset(it, 0, sizeof *it);
        if (obj) {
            skip_ws(r);
            v->keys[v->n] = NULL;
            if (r->p >= r->end || *r->p != '"')
                return bad(r, "expected a member name");
            if (parse_string(r, &v->keys[v->n]) != 0)
                return -1;
            v->n++; /* owned from here, freed with v on failure */
            skip_ws(r);
            if (r->p >= r->end || *r->p != ':')
                return bad(r, "expected ':'");
            r->p++;
            if (parse_value(r, it) != 0)
                return -1;
        } else {
            v->n++;
            if (parse_value(r, it) != 0)
                return -1;
        }
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            r->depth--;
            return 0;
        }
        return bad(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_number(rd *r, jsonr_val *v)
{
    const char *p = r->p;
    if (p < r->end && *p == '-')
        p++;
    if (p >= r->end || *p < '0' || *p > '9')
        return bad(r, "unexpected character");
    if (*p == '0')
        p++;
    else
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    if (p < r->end && *p == '.') {
        p++;
        if (p >= r->end || *p < '0' || *p > '9')
            return bad(r, "bad number");
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < r->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < r->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= r->end || *p < '0' || *p > '9')
            return bad(r, "bad number");
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    /* strtod on a NUL-terminated copy: the text need not end after it. Any
     * length is valid JSON (a long one is copied to the heap). */
    char small[64], *buf = small;
    size_t n = (size_t)(p - r->p);
    if (n >= sizeof small && !(buf = malloc(n + 1)))
        return app_fail("out of memory");
    memcpy(buf, r->p, n);
    buf[n] = 0;
    v->type = JSONR_NUM;
    v->num = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    r->p = p;
    return 0;
}

static int literal(rd *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
        return bad(r, "unexpected character");
    r->p += n;
    return 0;
}

static int parse_value(rd *r, jsonr_val *v)
{
    skip_ws(r);
    if (r->p >= r->end)
        return bad(r, "unexpected end");
    switch (*r->p) {
    case '{': return parse_container(r, v, 1);
    case '[': return parse_container(r, v, 0);
    case '"':
        v->type = JSONR_STR;
        return parse_string(r, &v->str);
    case 't': v->type = JSONR_BOOL, v->num = 1; return literal(r, "true");
    case 'f': v->type = JSONR_BOOL, v->num = 0; return literal(r, "false");
    case 'n': v->type = JSONR_NULL; return literal(r, "null");
    default: return parse_number(r, v);
    }
}

jsonr_val *jsonr_parse(const char *text, size_t len)
{
    rd r = {text, text, text + len, 0};
    jsonr_val *v = calloc(1, sizeof *v);
    if (!v)
        return app_fail_null("out of memory");
    if (parse_value(&r, v) == 0) {
        skip_ws(&r);
        if (r.p == r.end)
            return v;
        bad(&r, "text after the value");
    }
    free_val(v);
    free(v);
    return NULL;
}

void jsonr_free(jsonr_val *v)
{
    if (!v)
        return;
    free_val(v);
    free(v);
}

const jsonr_val *jsonr_get(const jsonr_val *v, const char *key)
{
    if (!v || v->type != JSONR_OBJ)
        return NULL;
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key))
            return &v->items[i];
    return NULL;
}

double jsonr_num(const jsonr_val *v, double dflt)
{
    return v && v->type == JSONR_NUM ? v->num : dflt;
}

const char *jsonr_str(const jsonr_val *v)
{
    return v && v->type == JSONR_STR ? v->str : NULL;
}
