/* asciify.c - see asciify.h. */
#include "asciify.h"

#include <string.h>

/* U+00C0..U+00FF and U+0100..U+017F by their base letters; '*' marks the
 * few that take two (see two_letters). */
static const char latin1[] = "AAAAAA*CEEEEIIIIDNOOOOOxOUUUUY**aaaaaa*ceeeeiiiidnooooo/ouuuuy*y";
static const char latin_ext_a[] = "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkk"
                                  "LlLlLlLlLlNnNnNnnNnOoOoOo**RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWw"
                                  "YyYZzZzZzs";

static const char *two_letters(unsigned cp)
{
    switch (cp) {
    case 0xC6: return "AE";
    case 0xDE: return "Th";
    case 0xDF: return "ss";
    case 0xE6: return "ae";
    case 0xFE: return "th";
    case 0x152: return "OE";
    case 0x153: return "oe";
    default: return "?";
    }
}

/* The code point at s (advancing *len bytes), or -1 for bytes that are
 * no UTF-8 sequence (then *len is 1). */
static long decode(const unsigned char *s, size_t *len)
{
    int n = s[0] >= 0xF5 ? 0 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    *len = 1;
    if (!n)
        return -1;
    long cp = s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    *len = (size_t)n;
    return cp;
}

size_t asciify(const char *utf8, char *out, size_t cap)
{
    size_t j = 0;
    if (!cap)
        return 0;
    const unsigned char *s = (const unsigned char *)utf8;
    while (*s && j + 1 < cap) {
        if (*s < 0x80) {
            out[j++] = (char)*s++;
            continue;
        }
        size_t len;
        long cp = decode(s, &len);
        s += len;
        const char *put = "?";
        char one[2] = {0, 0};
        if (cp == 0xA0) {
            put = " ";
        } else if (cp >= 0xC0 && cp <= 0x17F) {
            one[0] = cp < 0x100 ? latin1[cp - 0xC0] : latin_ext_a[cp - 0x100];
            put = one[0] == '*' ? two_letters((unsigned)cp) : one;
        }
        for (; *put && j + 1 < cap; put++)
            out[j++] = *put;
    }
    out[j] = 0;
    return j;
}
