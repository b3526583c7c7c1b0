/* paths.c - data file lookup; see paths.h. */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef ED_DATADIR
#define ED_DATADIR "/usr/local/share/emotion-detector"
#endif
#ifndef ED_SRCDIR
#define ED_SRCDIR "."
#endif

const char *paths_data(const char *rel, char *buf, size_t len)
{
    const char *env = getenv("EMOTION_DATADIR");
    const char *roots[] = {env, ED_SRCDIR, ED_DATADIR};
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
        if (!roots[i] || !*roots[i])
            continue;
        snprintf(buf, len, "%s/%s", roots[i], rel);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    snprintf(buf, len, "%s/%s", ED_DATADIR, rel);
    return buf;
}

const char *paths_default_model(void)
{
    static char buf[4096];
    return paths_data("models/default.model", buf, sizeof buf);
}
