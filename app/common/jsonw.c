/* jsonw.c - see jsonw.h. */
#include "jsonw.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there
 * are not one (overlong forms, surrogates and values past U+10FFFF are
 * refused, as RFC 3629 requires). */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    int n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Calls out(piece, len, ctx) for each piece of the escaped string. */
typedef void (*sink_fn)(const char *piece, size_t len, void *ctx);

static void escape(const char *str, sink_fn out, void *ctx)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    char esc[8];
    out("\"", 1, ctx);
    while (*s) {
        unsigned c = *s;
        int n = utf8_len(s);
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            out(esc, 2, ctx);
        } else if (c < 0x20 || c == 0x7F) {
            const char *named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
                              : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (named) {
                out(named, 2, ctx);
            } else {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                out(esc, 6, ctx);
            }
        } else if (n == 0) {
            out("\\ufffd", 6, ctx);
            n = 1;
        } else {
            out((const char *)s, (size_t)n, ctx);
            s += n;
            continue;
        }
        s++;
    }
    out("\"", 1, ctx);
}

static void to_file(const char *piece, size_t len, void *ctx)
{
    fwrite(piece, 1, len, (FILE *)ctx);
}

void jsonw_string(FILE *f, const char *s)
{
    escape(s, to_file, f);
}

typedef struct {
    char *buf;
    size_t len, need;
} membuf;

static void to_mem(const char *piece, size_t len, void *ctx)
{
    membuf *m = ctx;
    for (size_t i = 0; i < len; i++, m->need++)
        if (m->need + 1 < m->len)
            m->buf[m->need] = piece[i];
}

size_t jsonw_escape(char *buf, size_t len, const char *s)
{
    membuf m = {buf, len, 0};
    escape(s, to_mem, &m);
    if (len > 0)
        buf[m.need < len ? m.need : len - 1] = 0;
    return m.need;
}

size_t jsonw_utf8(char *buf, size_t len, const char *str)
{
    membuf m = {buf, len, 0};
    for (const unsigned char *s = (const unsigned char *)(str ? str : ""); *s;) {
        int n = utf8_len(s);
        to_mem(n ? (const char *)s : "\xef\xbf\xbd", n ? (size_t)n : 3, &m);
        s += n ? n : 1;
    }
    if (len > 0)
        buf[m.need < len ? m.need : len - 1] = 0;
    return m.need;
}

void jsonw_number(FILE *f, double v, int digits)
{
    if (!isfinite(v))
        fputs("null", f);
    else
        fprintf(f, "%.*g", digits < 1 ? 1 : digits > 17 ? 17 : digits, v);
}
