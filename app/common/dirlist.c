/* dirlist.c - see dirlist.h. */
#include "dirlist.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "app_err.h"

int dirlist_push(dirlist *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

void dirlist_free(dirlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int dirlist_is_image(const char *name)
{
    static const char *const ext[] = {
        "png", "jpg", "jpeg", "jpe", "bmp", "pgm", "ppm", "pbm", "pnm",
        "tif", "tiff", "webp", "jp2", "ras", "sr",
    };
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot + 1, ext[i]))
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 folder, 0 regular file, -1 anything else (or gone). */
static int entry_kind(const char *dir, const struct dirent *e)
{
    if (e->d_type != DT_UNKNOWN && e->d_type != DT_LNK)
        return e->d_type == DT_DIR ? 1 : e->d_type == DT_REG ? 0 : -1;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (stat(path, &st) < 0)
        return -1;
    return S_ISDIR(st.st_mode) ? 1 : S_ISREG(st.st_mode) ? 0 : -1;
}

int dirlist_read(const char *dir, dirlist_what what, dirlist *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        app_fail("%s: %s", dir, strerror(e));
        errno = e;
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (what == DIRLIST_IMAGES && !dirlist_is_image(e->d_name))
            continue;
        if (entry_kind(dir, e) != (what == DIRLIST_DIRS))
            continue;
        if (dirlist_push(out, e->d_name) < 0) {
            closedir(d);
            app_fail("out of memory listing %s", dir);
            errno = ENOMEM;
            return -1;
        }
    }
    closedir(d);
    if (out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return 0;
}
