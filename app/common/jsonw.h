/* jsonw.h - the little JSON the programs print: one object per line for
 * scripts (emotion-train predict, reports). Writes to a FILE; no
 * allocation. */
#ifndef ED_JSONW_H
#define ED_JSONW_H

#include <stddef.h>
#include <stdio.h>

/* s as a quoted JSON string: '"', '\\' and control characters escaped,
 * valid UTF-8 copied as is, each byte of invalid UTF-8 (a file name in
 * another encoding) replaced by U+FFFD so the output always parses. */
void jsonw_string(FILE *f, const char *s);

/* The same into buf (always NUL-terminated when len > 0). Returns the
 * length the full result needs, like snprintf; a result cut short may end
 * inside an escape, so callers check the return against len. */
size_t jsonw_escape(char *buf, size_t len, const char *s);

/* s as a JSON reader gets it back from jsonw_string: each byte of invalid
 * UTF-8 replaced by U+FFFD (EF BF BD), the rest copied; for comparing a
 * name on disk with one read from a log. Into buf like jsonw_escape: the
 * return is the length the full result needs. */
size_t jsonw_utf8(char *buf, size_t len, const char *s);

/* A number with `digits` significant digits; null when not finite (JSON
 * has no NaN or infinity). */
void jsonw_number(FILE *f, double v, int digits);

#endif
