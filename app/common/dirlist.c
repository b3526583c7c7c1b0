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

int dirlist_is_video(const char *name)
{
    static const char *const ext[] = {"mp4", "avi", "mkv", "mov", "webm", "m4v", "mpg",
                                      "mpeg", "wmv", "flv", "ts", "3gp"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
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

/* 1 folder, 0 regular file, -1 anything else (or gone), with why it is
 * neither in why. Symbolic links count as what they point to. */
static int entry_kind(const char *dir, const struct dirent *e, char *why, size_t len)
{
    unsigned char t = e->d_type;
    why[0] = 0;
    if (t == DT_UNKNOWN || t == DT_LNK) {
        char path[4096];
        struct stat st, lst;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) < 0) {
            int err = errno;
            const int link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
            snprintf(why, len, "%s", err == ELOOP ? "a loop of symbolic links"
                                     : err == ENOENT && link ? "a dangling symbolic link"
                                                             : strerror(err));
            return -1;
        }
        t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG
            : S_ISFIFO(st.st_mode) ? DT_FIFO : S_ISSOCK(st.st_mode) ? DT_SOCK
            : S_ISCHR(st.st_mode) ? DT_CHR : S_ISBLK(st.st_mode) ? DT_BLK : DT_UNKNOWN;
    }
    if (t == DT_DIR || t == DT_REG)
        return t == DT_DIR;
    snprintf(why, len, "not a regular file (%s)", t == DT_FIFO ? "a FIFO" : t == DT_SOCK ? "a socket"
                                                   : t == DT_CHR || t == DT_BLK ? "a device"
                                                                                : "unknown kind");
    return -1;
}

/* Records entry name as left out, and why. 0 or -1 (out of memory). */
static int skip(dirlist *names, dirlist *why, const char *name, const char *reason)
{
    if (!names)
        return 0;
    return dirlist_push(names, name) < 0 || dirlist_push(why, reason) < 0 ? -1 : 0;
}

int dirlist_read(const char *dir, dirlist_what what, dirlist *out)
{
    return dirlist_read_skips(dir, what, out, NULL, NULL);
}

int dirlist_read_skips(const char *dir, dirlist_what what, dirlist *out, dirlist *skipped,
                       dirlist *why)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        app_fail("%s: %s", dir, strerror(e));
        errno = e;
        return -1;
    }
    struct dirent *e;
    char reason[256];
    int oom = 0;
    const int first_skip = skipped ? skipped->n : 0;
    while (!oom && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        const int image_name = dirlist_is_image(e->d_name);
        if (what == DIRLIST_IMAGES && !image_name && !skipped)
            continue;
        const int kind = entry_kind(dir, e, reason, sizeof reason);
        if (what == DIRLIST_IMAGES && !image_name) {
            /* a file of another kind is not a candidate; a video in a
             * folder of images may be a mistake, and odd entries are said */
            if (kind < 0 || (kind == 0 && dirlist_is_video(e->d_name)))
                oom = skip(skipped, why, e->d_name, kind < 0 ? reason : "a video, not an image");
            continue;
        }
        if (kind != (what == DIRLIST_DIRS)) {
            if (kind < 0)
                oom = skip(skipped, why, e->d_name, reason);
            continue;
        }
        oom = dirlist_push(out, e->d_name) < 0;
    }
    closedir(d);
    if (oom) {
        app_fail("out of memory listing %s", dir);
        errno = ENOMEM;
        return -1;
    }
    if (out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    /* what was left out by name too, its reasons alongside (few) */
    for (int i = first_skip + 1; skipped && i < skipped->n; i++)
        for (int j = i; j > first_skip && strcmp(skipped->v[j - 1], skipped->v[j]) > 0; j--) {
            char *t = skipped->v[j];
            skipped->v[j] = skipped->v[j - 1];
            skipped->v[j - 1] = t;
            t = why->v[j];
            why->v[j] = why->v[j - 1];
            why->v[j - 1] = t;
        }
    return 0;
}
