/* outpath.c - same-file checks, writability probes and whole-file writes
 * through a temporary file; see outpath.h. */
#include "outpath.h"

#include "app_err.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The folder part of path ("." when it has none). */
static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

typedef struct {
    int exists;       /* st is the file's own */
    struct stat st;   /* else its folder's */
    const char *name; /* the last component, when !exists */
} ident;

static int identify(const char *path, ident *id)
{
    memset(id, 0, sizeof *id);
    if (stat(path, &id->st) == 0) {
        id->exists = 1;
        return 0;
    }
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    const char *slash = strrchr(path, '/');
    id->name = slash ? slash + 1 : path;
    return stat(dir, &id->st) == 0 ? 0 : -1;
}

static int same(const ident *a, const ident *b)
{
    if (a->exists != b->exists || a->st.st_dev != b->st.st_dev || a->st.st_ino != b->st.st_ino)
        return 0;
    return a->exists || !strcmp(a->name, b->name);
}

int outpath_distinct(const outpath_path *p, int n)
{
    for (int i = 0; i < n; i++) {
        if (!p[i].path || !p[i].output)
            continue;
        ident a;
        if (identify(p[i].path, &a) != 0)
            continue; /* its folder is missing: the probe will say so */
        for (int j = 0; j < n; j++) {
            if (j == i || !p[j].path || (p[j].output && j < i))
                continue;
            ident b;
            if (identify(p[j].path, &b) != 0 || !same(&a, &b))
                continue;
            /* Name the input first: "--record 'a.mp4' is --input 'a.mp4'". */
            if (!strcmp(p[i].path, p[j].path))
                return app_fail("%s and %s are the same file '%s'; refusing to overwrite it",
                                p[j].opt, p[i].opt, p[i].path);
            return app_fail("%s '%s' and %s '%s' are the same file; refusing to overwrite it",
                            p[j].opt, p[j].path, p[i].opt, p[i].path);
        }
    }
    return 0;
}

/* 1 or 2 when path names the file this process's standard output or error
 * goes to (/dev/stdout while it is redirected to a file): such a file is
 * written through that descriptor, after what went there before. Renaming
 * a new file over it lost the rest of the run's output, and a probe in
 * /dev failed for anyone but root. 0 otherwise. */
static int std_stream(const char *path)
{
    struct stat st, fs;
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    for (int fd = 1; fd <= 2; fd++)
        if (fstat(fd, &fs) == 0 && fs.st_dev == st.st_dev && fs.st_ino == st.st_ino)
            return fd;
    return 0;
}

int outpath_refuse_existing(const char *opt, const char *path)
{
    struct stat st;
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
        std_stream(path))
        return 0;
    return app_fail("%s '%s' exists (%lld bytes): give --overwrite to replace it, or another name",
                    opt, path, (long long)st.st_size);
}

int outpath_refuse_nonempty_dir(const char *opt, const char *dir)
{
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
        return 0;
    long n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    if (!n)
        return 0;
    return app_fail("%s '%s' is not empty (%ld entr%s): give --overwrite to replace its files, "
                    "or another folder", opt, dir, n, n == 1 ? "y" : "ies");
}

void outpath_free_name(char *buf, size_t len, const char *stem, const char *ext)
{
    struct stat st;
    snprintf(buf, len, "%s.%s", stem, ext);
    for (int i = 2; i < 1000 && lstat(buf, &st) == 0; i++)
        snprintf(buf, len, "%s-%d.%s", stem, i, ext);
}

/* Create and remove a file in dir: the only test that covers read-only
 * mounts, full inode tables, ACLs and root alike. */
static int try_create(const char *dir, const char *what)
{
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.write-probe-XXXXXX", dir);
    int fd = mkostemp(probe, O_CLOEXEC);
    if (fd < 0) {
        /* The folder exists (the callers saw it): ENOENT here is a file
         * system that makes no files at all (/proc, /sys), not a missing
         * folder. */
        if (errno == ENOENT)
            return app_fail("cannot write '%s': folder '%s' does not take new files", what, dir);
        return app_fail("cannot write '%s': cannot create a file in folder '%s': %s", what, dir,
                        strerror(errno));
    }
    /* One byte too: a full file system still makes empty files (tmpfs,
     * ext4), and a report is written only when the run ends, so the run
     * was made in vain. */
    int full = write(fd, "", 1) != 1;
    int e = errno;
    close(fd);
    unlink(probe);
    if (full)
        return app_fail("cannot write '%s': no room in folder '%s': %s", what, dir, strerror(e));
    return 0;
}

/* path is a symbolic link to nothing: writing would put a file in the
 * link's place (the link lost), and making what it names is a guess. */
static int dangling(const char *path, const char *kind)
{
    char to[4096];
    ssize_t n = readlink(path, to, sizeof to - 1);
    to[n > 0 ? n : 0] = 0;
    return app_fail("cannot write '%s': it is a link to '%s', which does not exist: create the "
                    "%s it names, or give another name", path, to, kind);
}

int outpath_probe(const char *path)
{
    if (!path || !*path)
        return app_fail("an empty path");
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return app_fail("cannot write '%s': it is a folder (give a file name)", path);
        if (!S_ISREG(st.st_mode) || std_stream(path)) {
            if (access(path, W_OK) != 0)
                return app_fail("cannot write '%s': %s", path, strerror(errno));
            return 0;
        }
    } else if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        return dangling(path, "file");
    }
    size_t pl = strlen(path);
    if (path[pl - 1] == '/')
        return app_fail("cannot write '%s': a folder name where a file is wanted", path);
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0)
        return app_fail("cannot write '%s': folder '%s' %s", path, dir,
                        errno == ENOENT ? "does not exist" : strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return app_fail("cannot write '%s': '%s' is not a folder", path, dir);
    return try_create(dir, path);
}

int outpath_probe_dir(const char *dir)
{
    if (!dir || !*dir)
        return app_fail("an empty path");
    char d[4096];
    snprintf(d, sizeof d, "%s", dir);
    for (;;) {
        struct stat st;
        if (stat(d, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                return app_fail("cannot write to folder '%s': '%s' is not a folder", dir, d);
            return try_create(d, dir);
        }
        if (errno != ENOENT)
            return app_fail("cannot write to folder '%s': %s", dir, strerror(errno));
        if (lstat(d, &st) == 0 && S_ISLNK(st.st_mode))
            return dangling(d, "folder");
        /* Missing: go up one level (it will be created). */
        size_t l = strlen(d);
        while (l > 1 && d[l - 1] == '/')
            d[--l] = 0;
        char *slash = strrchr(d, '/');
        if (!slash)
            snprintf(d, sizeof d, ".");
        else if (slash == d)
            d[1] = 0;
        else
            *slash = 0;
    }
}

/* o->path (a link to a file: the file it points to) and, for a regular or
 * missing file, a new empty temporary file beside it, "PATH.tmp-XXXXXX"
 * and then suffix, with the mode a plain fopen would give (or the old
 * file's). Returns its descriptor, or -2 for an existing device or pipe
 * (o->direct: written in place), or -1 with a message. */
static int make_temp(outpath_file *o, const char *path, const char *suffix)
{
    memset(o, 0, sizeof *o);
    if (!path || !*path)
        return app_fail("cannot write: an empty path");
    size_t len = strlen(path);
    if (len >= sizeof o->path)
        return app_fail("cannot write '%.64s...': path too long", path);
    memcpy(o->path, path, len + 1);
    struct stat st, lst;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISREG(st.st_mode) && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        /* A link to a file: replace the file it points to, not the link. */
        char *real = realpath(path, NULL);
        if (real && strlen(real) < sizeof o->path)
            snprintf(o->path, sizeof o->path, "%s", real);
        free(real);
    }
    path = o->path;
    if (exists && S_ISDIR(st.st_mode))
        return app_fail("cannot write '%s': it is a folder", path);
    if (exists && !S_ISREG(st.st_mode)) {
        /* A device or pipe: renaming over it would destroy it. */
        o->direct = 1;
        return -2;
    }
    o->replaces = exists && st.st_size > 0;
    size_t sl = suffix ? strlen(suffix) : 0;
    if (strlen(path) + 11 + sl >= sizeof o->tmp)
        return app_fail("cannot write '%.64s...': path too long", path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp-XXXXXX%s", path, suffix ? suffix : "");
    int fd = mkostemps(o->tmp, (int)sl, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        o->tmp[0] = 0;
        return app_fail("cannot write '%s': %s", path, strerror(e));
    }
    /* mkstemp makes 0600: give the file the mode a plain fopen would (or
     * keep the old file's). */
    mode_t mode;
    if (exists) {
        mode = st.st_mode & 07777;
    } else {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    if (fchmod(fd, mode) != 0) { /* harmless: the file is ours */ }
    return fd;
}

FILE *outpath_open(outpath_file *o, const char *path)
{
    const int std = std_stream(path);
    if (std) {
        memset(o, 0, sizeof *o);
        snprintf(o->path, sizeof o->path, "%s", path);
        o->direct = 1;
        fflush(std == 1 ? stdout : stderr); /* what the run printed comes first */
        int fd = dup(std);
        if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
            app_fail("cannot write '%s': %s", path, strerror(errno));
            if (fd >= 0)
                close(fd);
        }
        return o->f;
    }
    int fd = make_temp(o, path, NULL);
    if (fd == -1)
        return NULL;
    if (fd == -2) {
        if (!(o->f = fopen(o->path, "wb")))
            app_fail("cannot write '%s': %s", o->path, strerror(errno));
        return o->f;
    }
    if (!(o->f = fdopen(fd, "wb"))) {
        app_fail("cannot write '%s': %s", o->path, strerror(errno));
        close(fd);
        unlink(o->tmp);
        o->tmp[0] = 0;
        return NULL;
    }
    return o->f;
}

int outpath_stage(outpath_file *o, const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL, *slash = path ? strrchr(path, '/') : NULL;
    if (dot && slash && dot < slash)
        dot = NULL;
    int fd = make_temp(o, path, dot);
    if (fd == -1)
        return -1;
    if (fd >= 0)
        close(fd);
    return 0;
}

const char *outpath_target(const outpath_file *o)
{
    return o->direct || o->placed || !o->tmp[0] ? o->path : o->tmp;
}

int outpath_place(outpath_file *o)
{
    if (o->direct || o->placed)
        return 0;
    if (!o->tmp[0])
        return app_fail("cannot write '%s'", o->path);
    if (rename(o->tmp, o->path) != 0)
        return app_fail("cannot write '%s': %s", o->path, strerror(errno));
    o->placed = 1;
    o->tmp[0] = 0;
    return 0;
}

int outpath_place_new(outpath_file *o)
{
    return o->replaces ? 0 : outpath_place(o);
}

void outpath_abort(outpath_file *o)
{
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    if (!o->direct && !o->placed && o->tmp[0])
        unlink(o->tmp);
    o->tmp[0] = 0;
}

int outpath_commit(outpath_file *o)
{
    if (!o->f)
        return app_fail("cannot write '%s'", o->path);
    int e = 0;
    if (ferror(o->f))
        e = errno ? errno : EIO;
    if (!e && fflush(o->f) != 0)
        e = errno;
    if (!e && !o->direct && fsync(fileno(o->f)) != 0)
        e = errno;
    if (fclose(o->f) != 0 && !e)
        e = errno;
    o->f = NULL;
    if (!e && !o->direct && !o->placed && rename(o->tmp, o->path) != 0)
        e = errno;
    if (e) {
        if (!o->direct && !o->placed)
            unlink(o->tmp);
        o->tmp[0] = 0;
        return app_fail("cannot write '%s': %s", o->path, strerror(e));
    }
    o->tmp[0] = 0;
    return 0;
}

int outpath_mkdirs(const char *dir)
{
    char p[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof p)
        return app_fail("'%s': not a usable folder name", dir);
    memcpy(p, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        char save = p[i];
        p[i] = 0;
        if (mkdir(p, 0777) < 0 && errno != EEXIST)
            return app_fail("cannot create folder %s: %s", p, strerror(errno));
        p[i] = save;
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return app_fail("%s is not a folder", dir);
    return 0;
}

int outpath_stage_dir(outpath_staging *st, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n >= sizeof st->dir)
        return app_fail("'%s': the name is too long", dir);
    memcpy(st->dir, dir, n);
    st->dir[n] = '\0';
    if (outpath_mkdirs(st->dir) != 0)
        return -1;
    snprintf(st->stage, sizeof st->stage, "%s/.report-XXXXXX", st->dir);
    if (!mkdtemp(st->stage))
        return app_fail("cannot write in '%s': %s", st->dir, strerror(errno));
    return 0;
}

void outpath_stage_path(const outpath_staging *st, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", st->stage, name);
}

int outpath_stage_finish(outpath_staging *st, const char *const *names, int n, int place)
{
    int rc = 0;
    char from[4400], to[4400];
    if (!place) { /* the failure's message names the file the user asked for */
        char msg[4800];
        snprintf(msg, sizeof msg, "%s", app_error());
        const char *at = strstr(msg, st->stage);
        if (at)
            app_fail("%.*s%s%s", (int)(at - msg), msg, st->dir, at + strlen(st->stage));
        rc = -1;
    }
    for (int i = 0; place && rc == 0 && i < n; i++) {
        struct stat sb;
        outpath_stage_path(st, names[i], from, sizeof from);
        snprintf(to, sizeof to, "%s/%s", st->dir, names[i]);
        if (lstat(from, &sb) == 0 && rename(from, to) != 0)
            rc = app_fail("cannot put '%s' in place: %s", to, strerror(errno));
    }
    for (int i = 0; i < n; i++) { /* what a failure left; moved ones are gone */
        outpath_stage_path(st, names[i], from, sizeof from);
        unlink(from);
    }
    rmdir(st->stage);
    return rc;
}

int outpath_write_mem(const char *path, const void *data, size_t n)
{
    outpath_file o;
    if (!outpath_open(&o, path))
        return -1;
    if (n && fwrite(data, 1, n, o.f) != n) {
        int e = errno;
        outpath_abort(&o);
        return app_fail("cannot write '%s': %s", path, strerror(e ? e : EIO));
    }
    return outpath_commit(&o);
}

int outpath_close_checked(FILE *f, const char *path)
{
    if (!f)
        return 0;
    int e = 0;
    if (ferror(f))
        e = errno ? errno : EIO;
    if (!e && fflush(f) != 0)
        e = errno;
    if (fclose(f) != 0 && !e)
        e = errno;
    return e ? app_fail("cannot write '%s': %s", path, strerror(e)) : 0;
}

static int exists_dir_of(const char *path)
{
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    struct stat st;
    return stat(dir, &st) == 0;
}

int outpath_check_outputs(const outpath_path *p, int n)
{
    if (outpath_distinct(p, n) != 0) {
        cli_err("%s", app_error());
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++) {
        if (!p[i].path || p[i].output == OUTPATH_INPUT)
            continue;
        /* "-" means standard output to most programs (emotion-detect's
         * --log -); here it made a file named '-'. */
        if (!strcmp(p[i].path, "-")) {
            if (p[i].output == OUTPATH_FOLDER)
                cli_err("%s -: a folder named '-'? give ./- for that name", p[i].opt);
            else
                cli_err("%s -: '-' is not standard output here (it would be a file named '-'): "
                        "give /dev/stdout, or ./- for that name", p[i].opt);
            return CLI_EXIT_USAGE;
        }
        int rc;
        if (p[i].output == OUTPATH_FOLDER) {
            rc = outpath_probe_dir(p[i].path);
        } else if (p[i].output == OUTPATH_FILE_MKDIRS && !exists_dir_of(p[i].path)) {
            char dir[4096];
            dir_of(p[i].path, dir, sizeof dir);
            rc = outpath_probe_dir(dir);
        } else {
            rc = outpath_probe(p[i].path);
        }
        if (rc != 0) {
            cli_err("%s: %s", p[i].opt, app_error());
            return CLI_EXIT_FAIL;
        }
    }
    return 0;
}

int outpath_refuse_inside(const char *opt, const char *path, const char *dir_opt, const char *dir)
{
    struct stat st;
    char d[PATH_MAX], r[PATH_MAX], p[PATH_MAX];
    if (!path || !dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(dir, d))
        return 0;
    /* The path need not exist yet: its nearest existing folder decides. */
    snprintf(p, sizeof p, "%s", path);
    while (!realpath(p, r)) {
        char *slash = strrchr(p, '/');
        if (!slash || slash == p) {
            if (!realpath(slash == p ? "/" : ".", r))
                return 0;
            break;
        }
        *slash = 0;
    }
    size_t n = strlen(d);
    if (!strcmp(r, d) || (!strncmp(r, d, n) && (r[n] == '/' || !strcmp(d, "/"))))
        return app_fail("%s '%s' is inside %s '%s': its pictures would be read as that folder's "
                        "next time; give another folder", opt, path, dir_opt, dir);
    return 0;
}
