/* csvw.c - CSV fields; see csvw.h. */
#include "csvw.h"

#include <string.h>

static void quoted(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
}

void csvw_field2(FILE *f, const char *prefix, const char *s)
{
    if (!strpbrk(prefix, ",\"\n\r") && !strpbrk(s, ",\"\n\r")) {
        fputs(prefix, f);
        fputs(s, f);
        return;
    }
    fputc('"', f);
    quoted(f, prefix);
    quoted(f, s);
    fputc('"', f);
}

void csvw_field(FILE *f, const char *s)
{
    csvw_field2(f, "", s);
}
