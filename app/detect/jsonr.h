/*
 * jsonr.h - a small JSON reader (RFC 8259) for reading emotion-detect's own
 * frame logs back (--from-log) and for tests that check JSON output. One
 * document in, a tree of values out; numbers as doubles, strings decoded
 * to UTF-8 (\u escapes included). Depth is limited so hostile input cannot
 * exhaust the stack. Errors are values: NULL with app_error() set.
 */
#ifndef ED_JSONR_H
#define ED_JSONR_H

#include <stddef.h>

typedef enum { JSONR_NULL, JSONR_BOOL, JSONR_NUM, JSONR_STR, JSONR_ARR, JSONR_OBJ } jsonr_type;

typedef struct jsonr_val {
    jsonr_type type;
    double num;             /* JSONR_NUM; JSONR_BOOL: 0 or 1 */
    char *str;              /* JSONR_STR: NUL-terminated (may hold NULs as \u0000: cut there) */
    int n;                  /* JSONR_ARR, JSONR_OBJ: members */
    struct jsonr_val *items;   /* their values */
    char **keys;            /* JSONR_OBJ: their names */
} jsonr_val;

/* Parse text[0..len) as exactly one JSON value (surrounding white space
 * allowed). Returns the tree (free with jsonr_free), or NULL with app_error()
 * saying what is wrong and at which byte. */
jsonr_val *jsonr_parse(const char *text, size_t len);
/* Frees the tree; NULL is fine. */
void jsonr_free(jsonr_val *v);

/* The member named key of an object (the first, when repeated), or NULL
 * (also when v is NULL or not an object). */
const jsonr_val *jsonr_get(const jsonr_val *v, const char *key);
/* The number v holds, or dflt when v is NULL or not a number (null, as the
 * logs write for a value that was not finite, reads as dflt too). */
double jsonr_num(const jsonr_val *v, double dflt);
/* The string v holds, or NULL. */
const char *jsonr_str(const jsonr_val *v);

#endif
