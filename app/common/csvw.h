/* csvw.h - CSV fields as RFC 4180 writes them, for the programs' tables and
 * logs (summary.csv, the frame log, eval's report). Writes to a FILE. */
#ifndef ED_CSVW_H
#define ED_CSVW_H

#include <stdio.h>

/* s as one field: as is, or quoted with its quotes doubled when it holds a
 * comma, a quote or a line end (a class name or a path may). */
void csvw_field(FILE *f, const char *s);

/* The same after prefix ("p_" + a class name: one header field). */
void csvw_field2(FILE *f, const char *prefix, const char *s);

#endif
