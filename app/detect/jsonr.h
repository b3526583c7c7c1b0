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

typedef enum { JR_NULL, JR_BOOL, JR_NUM, JR_STR, JR_ARR, JR_OBJ } jr_type;

typedef struct jr_val {
    jr_type type;
    double num;             /* JR_NUM; JR_BOOL: 0 or 1 */
    char *str;              /* JR_STR: NUL-terminated (may hold NULs as \u0000: cut there) */
    int n;                  /* JR_ARR, JR_OBJ: members */
    struct jr_val *items;   /* their values */
    char **keys;            /* JR_OBJ: their names */
} jr_val;

/* Parse text[0..len) as exactly one JSON value (surrounding white space
 * allowed). Returns the tree (free with jr_free), or NULL with app_error()
 * saying what is wrong and at which byte. */
jr_val *jr_parse(const char *text, size_t len);
/* Frees the tree; NULL is fine. */
void jr_free(jr_val *v);

/* The member named key of an object (the first, when repeated), or NULL
 * (also when v is NULL or not an object). */
const jr_val *jr_get(const jr_val *v, const char *key);
/* The number v holds, or dflt when v is NULL or not a number (null, as the
 * logs write for a value that was not finite, reads as dflt too). */
double jr_num(const jr_val *v, double dflt);
/* The string v holds, or NULL. */
const char *jr_str(const jr_val *v);

#endif
