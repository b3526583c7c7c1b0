/* json_check.h - a strict JSON checker (RFC 8259: the grammar, and valid
 * UTF-8 inside strings), written apart from the reader under test
 * (app/detect/jsonr.c) so that fuzz targets can use it as an oracle. Works
 * on NUL-terminated text; nesting deeper than 16 is refused. */
#ifndef FUZZ_JSON_CHECK_H
#define FUZZ_JSON_CHECK_H

#include <string.h>

static inline const char *jc_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static inline const char *jc_utf8(const char *s)
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

static inline const char *jc_string(const char *p)
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
        } else if (!(p = jc_utf8(p))) {
            return NULL;
        }
    }
    return p + 1;
}

static inline const char *jc_number(const char *p)
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

static inline const char *jc_value(const char *p, int depth)
{
    p = jc_ws(p);
    if (depth > 16)
        return NULL;
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = jc_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                if (!(p = jc_string(jc_ws(p))))
                    return NULL;
                p = jc_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = jc_value(p, depth + 1)))
                return NULL;
            p = jc_ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"')
        return jc_string(p);
    if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    return jc_number(p);
}

static inline int valid_json(const char *s)
{
    const char *end = jc_value(s, 0);
    return end && *jc_ws(end) == 0;
}

#endif
