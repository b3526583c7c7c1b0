/* test_outpath.c - app/common/outpath: same-file checks by inode (other
 * names, hard links, files not made yet), probes that refuse folders and
 * missing folders and leave nothing behind, whole-file writes that keep
 * the old file until the new one is complete and never replace a device;
 * files that grow during a run put in place when it has started, and
 * nothing left of them when it fails before; an earlier run's file (or a
 * folder with files in it) refused by name, free names for clock-stamped
 * files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_err.h"
#include "outpath.h"
#include "runprog.h"
#include "testutil.h"

static int entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
    if (d)
        closedir(d);
    return n;
}

int main(void)
{
    char dir[4096], a[4200], a2[4300], b[4200], link_a[4200], fresh[4200], fresh2[4300];
    CHECK(rp_tmpdir(dir, sizeof dir, "outpath") != NULL);
    snprintf(a, sizeof a, "%s/a.txt", dir);
    snprintf(a2, sizeof a2, "%s/./a.txt", dir);
    snprintf(b, sizeof b, "%s/b.txt", dir);
    snprintf(link_a, sizeof link_a, "%s/hard.txt", dir);
    snprintf(fresh, sizeof fresh, "%s/new.txt", dir);
    snprintf(fresh2, sizeof fresh2, "%s/../%s/new.txt", dir, strrchr(dir, '/') + 1);
    CHECK(rp_write(a, "input", 5) == 0);
    CHECK(link(a, link_a) == 0);

    /* Same file: by another name, a hard link, two new outputs. */
    outpath_path p1[] = {{"--input", a, OUTPATH_INPUT}, {"--out", a2, OUTPATH_FILE}};
    CHECK(outpath_distinct(p1, 2) == -1 && strstr(app_error(), "same file"));
    outpath_path p2[] = {{"--input", a, OUTPATH_INPUT}, {"--log", link_a, OUTPATH_FILE}};
    CHECK(outpath_distinct(p2, 2) == -1 && strstr(app_error(), "--input"));
    outpath_path p3[] = {{"--log", fresh, OUTPATH_FILE}, {"--record", fresh2, OUTPATH_FILE}};
    CHECK(outpath_distinct(p3, 2) == -1);
    outpath_path p4[] = {{"--input", a, OUTPATH_INPUT}, {"--out", b, OUTPATH_FILE}, {"--x", NULL, OUTPATH_FILE},
                    {"--data", dir, OUTPATH_INPUT}};
    CHECK(outpath_distinct(p4, 4) == 0);
    /* Two inputs may be one file. */
    outpath_path p5[] = {{"--data", a, OUTPATH_INPUT}, {"--val", a2, OUTPATH_INPUT}};
    CHECK(outpath_distinct(p5, 2) == 0);

    /* Probes. */
    int before = entries(dir);
    CHECK(outpath_probe(fresh) == 0);
    CHECK(entries(dir) == before); /* the probe file is gone */
    CHECK(outpath_probe(dir) == -1 && strstr(app_error(), "folder"));
    CHECK(outpath_probe("/nonexistent/x.model") == -1 && strstr(app_error(), "does not exist"));
    CHECK(outpath_probe(a) == 0);
    CHECK(outpath_probe("/dev/null") == 0);
    CHECK(outpath_probe_dir(fresh) == 0); /* missing: its parent is writable */
    CHECK(outpath_probe_dir(a) == -1);
    /* A link to nothing: was taken, and the output then replaced the
     * link with a file (a report folder failed only after the run). */
    char dang[4300], dang_sub[4400];
    snprintf(dang, sizeof dang, "%s/dangling", dir);
    snprintf(dang_sub, sizeof dang_sub, "%s/sub", dang);
    CHECK(symlink("missing/x", dang) == 0);
    CHECK(outpath_probe(dang) == -1 && strstr(app_error(), "link to 'missing/x'"));
    CHECK(outpath_probe_dir(dang) == -1 && strstr(app_error(), "create the folder"));
    CHECK(outpath_probe_dir(dang_sub) == -1 && strstr(app_error(), "link to 'missing/x'"));
    struct stat lst;
    CHECK(lstat(dang, &lst) == 0 && S_ISLNK(lst.st_mode));
    unlink(dang);

    /* Whole-file writes. */
    CHECK(outpath_write_mem(b, "hello", 5) == 0);
    char *t = rp_slurp(b);
    CHECK(t && !strcmp(t, "hello"));
    free(t);
    struct stat st;
    mode_t mask = umask(022);
    CHECK(outpath_write_mem(fresh, "x", 1) == 0);
    umask(mask);
    CHECK(stat(fresh, &st) == 0 && (st.st_mode & 0777) == 0644);
    outpath_file o;
    FILE *f = outpath_open(&o, b);
    CHECK(f != NULL);
    if (f) {
        fputs("half of a new ", f);
        outpath_abort(&o);
    }
    t = rp_slurp(b);
    CHECK(t && !strcmp(t, "hello")); /* the old file until a commit */
    free(t);
    CHECK(entries(dir) == before + 2); /* b and new: no temporary files left */
    CHECK(outpath_write_mem("/dev/null", "x", 1) == 0);
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    CHECK(outpath_write_mem("/dev/full", "x", 1) == -1 &&
          strstr(app_error(), "/dev/full") && strstr(app_error(), "No space"));
    CHECK(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode));
    CHECK(outpath_write_mem(dir, "x", 1) == -1 && strstr(app_error(), "folder"));

    /* What an earlier run made: a file with something in it is refused,
     * named with its option; missing, empty files and devices are not. */
    CHECK(outpath_refuse_existing("--record", b) == -1 && strstr(app_error(), "--record") &&
          strstr(app_error(), "b.txt") && strstr(app_error(), "--overwrite"));
    char empty[4300], gone[4300], name[4400];
    snprintf(empty, sizeof empty, "%s/empty.txt", dir);
    snprintf(gone, sizeof gone, "%s/gone.txt", dir);
    CHECK(rp_write(empty, "", 0) == 0);
    CHECK(outpath_refuse_existing("--log", empty) == 0);
    CHECK(outpath_refuse_existing("--log", gone) == 0);
    CHECK(outpath_refuse_existing("--log", NULL) == 0);
    CHECK(outpath_refuse_existing("--log", "/dev/null") == 0);
    /* A folder of outputs: refused once it holds anything. */
    char sub[4300], inner[4400];
    snprintf(sub, sizeof sub, "%s/rep", dir);
    snprintf(inner, sizeof inner, "%s/metrics.json", sub);
    CHECK(outpath_refuse_nonempty_dir("--report", sub) == 0); /* missing */
    CHECK(mkdir(sub, 0755) == 0);
    CHECK(outpath_refuse_nonempty_dir("--report", sub) == 0); /* empty */
    CHECK(rp_write(inner, "{}", 2) == 0);
    CHECK(outpath_refuse_nonempty_dir("--report", sub) == -1 && strstr(app_error(), "--report") &&
          strstr(app_error(), "rep'") && strstr(app_error(), "(1 entry)") &&
          strstr(app_error(), "--overwrite"));
    CHECK(outpath_refuse_nonempty_dir("--report", a) == 0); /* a file: the probe's to say */
    CHECK(outpath_refuse_nonempty_dir("--report", NULL) == 0);
    CHECK(unlink(inner) == 0 && rmdir(sub) == 0);

    /* A file that grows during a run: the old one stays until it is put
     * in place, then the new one grows there; dropped before that, it
     * leaves nothing. */
    int n0 = entries(dir);
    f = outpath_open(&o, b);
    CHECK(f != NULL);
    if (f) {
        fputs("first ", f);
        fflush(f);
        t = rp_slurp(b);
        CHECK(t && !strcmp(t, "hello"));
        free(t);
        CHECK(outpath_place(&o) == 0);
        fputs("second", f);
        fflush(f);
        t = rp_slurp(b);
        CHECK(t && !strcmp(t, "first second"));
        free(t);
        CHECK(outpath_commit(&o) == 0);
        CHECK(entries(dir) == n0);
    }
    f = outpath_open(&o, b);
    CHECK(f != NULL);
    if (f) {
        fputs("a run that fails", f);
        outpath_abort(&o);
    }
    t = rp_slurp(b);
    CHECK(t && !strcmp(t, "first second") && entries(dir) == n0);
    free(t);
    /* Staged for a writer that opens it by name: the extension kept. */
    char video[4300];
    snprintf(video, sizeof video, "%s/clip.avi", dir);
    CHECK(outpath_stage(&o, video) == 0);
    const char *tgt = outpath_target(&o);
    CHECK(strcmp(tgt, video) && strlen(tgt) > 4 && !strcmp(tgt + strlen(tgt) - 4, ".avi") &&
          stat(tgt, &st) == 0 && stat(video, &st) != 0);
    CHECK(rp_write(tgt, "frames", 6) == 0);
    CHECK(outpath_place(&o) == 0 && !strcmp(outpath_target(&o), video));
    t = rp_slurp(video);
    CHECK(t && !strcmp(t, "frames") && entries(dir) == n0 + 1);
    free(t);
    CHECK(outpath_stage(&o, video) == 0);
    outpath_abort(&o);
    CHECK(entries(dir) == n0 + 1);
    CHECK(outpath_stage(&o, "/dev/null") == 0 && o.direct &&
          !strcmp(outpath_target(&o), "/dev/null") && outpath_place(&o) == 0);
    /* A folder that exists but makes no files (/proc) is not "missing". */
    CHECK(outpath_probe("/proc/x.jsonl") == -1 && strstr(app_error(), "does not take new files"));

    /* Names from the clock: the next free one. */
    char stem[4300];
    snprintf(stem, sizeof stem, "%s/shot", dir);
    outpath_free_name(name, sizeof name, stem, "png");
    CHECK(!strcmp(name + strlen(dir), "/shot.png"));
    CHECK(rp_write(name, "1", 1) == 0);
    outpath_free_name(name, sizeof name, stem, "png");
    CHECK(!strcmp(name + strlen(dir), "/shot-2.png"));
    CHECK(rp_write(name, "2", 1) == 0);
    outpath_free_name(name, sizeof name, stem, "png");
    CHECK(!strcmp(name + strlen(dir), "/shot-3.png"));

    /* An output folder inside a folder of input pictures: refused, however
     * spelled and whether or not it exists; a sibling sharing a prefix,
     * or a file as the input, is not inside. */
    char data[4300], in1[4400], in2[4500], sib[4400];
    snprintf(data, sizeof data, "%s/faces", dir);
    snprintf(in1, sizeof in1, "%s/faces/rep", dir);
    snprintf(in2, sizeof in2, "%s/faces/../faces/new/deeper", dir);
    snprintf(sib, sizeof sib, "%s/facesrep", dir);
    CHECK(mkdir(data, 0755) == 0);
    CHECK(outpath_refuse_inside("--report", in1, "--data", data) == -1 && strstr(app_error(), "inside --data"));
    CHECK(outpath_refuse_inside("--report", in2, "--data", data) == -1);
    CHECK(outpath_refuse_inside("--report", data, "--data", data) == -1);
    CHECK(outpath_refuse_inside("--report", sib, "--data", data) == 0);
    CHECK(outpath_refuse_inside("--report", in1, "--data", a) == 0); /* a file (a CSV) */
    CHECK(outpath_refuse_inside("--report", NULL, "--data", data) == 0);
    CHECK(outpath_refuse_inside("--report", in1, "--val", NULL) == 0);
    CHECK(rmdir(data) == 0);

    /* /dev/stdout while standard output goes to a file (eval --json
     * /dev/stdout > out.txt): a new file was renamed over it, and what the
     * program printed before or after went to the file unlinked. It is
     * written through the stream now, after what was printed. */
    char out[4300];
    snprintf(out, sizeof out, "%s/stdout.txt", dir);
    fflush(stdout);
    int saved = dup(1);
    FILE *redirected = fopen(out, "w");
    CHECK(saved >= 0 && redirected && dup2(fileno(redirected), 1) == 1);
    fclose(redirected);
    struct stat was, now;
    CHECK(stat(out, &was) == 0);
    printf("table\n"); /* still in stdout's buffer */
    CHECK(outpath_probe("/dev/stdout") == 0);
    CHECK(outpath_refuse_existing("--json", "/dev/stdout") == 0);
    CHECK_MSG(outpath_write_mem("/dev/stdout", "json\n", 5) == 0, "%s", app_error());
    printf("after\n");
    fflush(stdout);
    CHECK(dup2(saved, 1) == 1);
    close(saved);
    CHECK(stat(out, &now) == 0 && now.st_ino == was.st_ino);
    t = rp_slurp(out);
    CHECK_MSG(t && !strcmp(t, "table\njson\nafter\n"), "standard output held '%s'", t ? t : "");
    free(t);
    CHECK(remove(out) == 0);

    if (!test_failures)
        rp_rmdir(dir);
    return test_done("test_outpath");
}
