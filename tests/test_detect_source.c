/* test_detect_source.c - the reader thread's mailbox: live sources hand
 * over only the newest frame (the consumer is never more than one frame
 * behind), file-like sources every frame in order; errors and the end of
 * input come through; closing never hangs, even with the reader blocked. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app_err.h"
#include "cvw.h"
#include "source.h"
#include "testutil.h"

typedef struct fake {
    atomic_long made;   /* frames produced so far */
    long limit;         /* end after this many; -1 never */
    long fail_at;       /* error at this frame; -1 never */
    int delay_us;
} fake;

/* Stamps each frame with its number in the first pixel bytes. */
static source_status fake_read(void *ctx, source_frame *f)
{
    fake *k = ctx;
    long i = atomic_load(&k->made);
    if (k->limit >= 0 && i >= k->limit)
        return SOURCE_END;
    if (k->fail_at >= 0 && i >= k->fail_at)
        return SOURCE_ERROR;
    if (k->delay_us)
        usleep((useconds_t)k->delay_us);
    if (source_frame_reserve(f, 8, 4) != 0)
        return SOURCE_ERROR;
    memset(f->bgr, 0, 8 * 4 * 3);
    memcpy(f->bgr, &i, sizeof i);
    atomic_store(&k->made, i + 1);
    return SOURCE_FRAME;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long stamp(const source_frame *f)
{
    long i;
    memcpy(&i, f->bgr, sizeof i);
    return i;
}

static void test_live_latest(void)
{
    fake k = {.limit = -1, .fail_at = -1, .delay_us = 1000};
    source *s = source_open_fn(fake_read, &k, 1, 8, 4, 30);
    CHECK(s != NULL);
    if (!s)
        return;
    long last = -1, gaps = 0;
    for (int n = 0; n < 20; n++) {
        usleep(15000); /* a slow consumer: many frames arrive meanwhile */
        const source_frame *f;
        /* Counted before taking, so a consumer descheduled after the take
         * cannot make the check fail. */
        long made = atomic_load(&k.made);
        source_status r = source_next(s, &f, 1000);
        CHECK(r == SOURCE_FRAME);
        if (r != SOURCE_FRAME)
            break;
        long got = stamp(f);
        CHECK(f->w == 8 && f->h == 4);
        CHECK_MSG(got > last, "frame %ld after %ld", got, last);
        /* The newest frame made by then, or the one before it when the
         * reader had stamped a frame but not yet posted it: never older. */
        CHECK_MSG(got >= made - 2, "got frame %ld while %ld were made", got, made);
        gaps += got > last + 1;
        last = got;
    }
    CHECK(gaps > 10); /* frames were dropped, as they should be live */
    CHECK(source_ok(s));
    source_close(s);
}

static void test_files_every_frame(void)
{
    fake k = {.limit = 50, .fail_at = -1};
    source *s = source_open_fn(fake_read, &k, 0, 8, 4, 25);
    CHECK(s != NULL);
    if (!s)
        return;
    const source_frame *f;
    long want = 0;
    source_status r;
    while ((r = source_next(s, &f, 2000)) == SOURCE_FRAME) {
        CHECK_MSG(stamp(f) == want && f->index == want, "frame %ld, want %ld", stamp(f), want);
        CHECK_NEAR(f->t_ms, want * 40.0, 1e-6);
        want++;
        if (want % 10 == 0)
            usleep(20000); /* slow now and then: the reader must wait */
    }
    CHECK(r == SOURCE_END);
    CHECK(want == 50);
    CHECK(source_next(s, &f, 0) == SOURCE_END); /* stays ended */
    source_close(s);
}

static void test_error_and_close(void)
{
    fake k = {.limit = -1, .fail_at = 3};
    char msg[256];
    source *s = source_open_fn(fake_read, &k, 0, 8, 4, 25);
    CHECK(s != NULL);
    if (!s)
        return;
    const source_frame *f;
    int n = 0;
    source_status r;
    while ((r = source_next(s, &f, 2000)) == SOURCE_FRAME)
        n++;
    CHECK(n == 3);
    CHECK(r == SOURCE_ERROR);
    CHECK(source_message(s, msg, sizeof msg)[0] != 0);
    source_close(s);

    /* Closing while the reader waits for a full slot to be taken. */
    fake k2 = {.limit = -1, .fail_at = -1};
    s = source_open_fn(fake_read, &k2, 0, 8, 4, 25);
    usleep(20000);
    double t0 = now_s();
    source_close(s);
    CHECK(now_s() - t0 < 1.0);
}

typedef struct warnings {
    int n;
    char last[512];
    char all[8192]; /* every warning, a line each */
} warnings;

static void count_warning(void *ctx, const char *msg)
{
    warnings *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
    size_t used = strlen(w->all);
    snprintf(w->all + used, sizeof w->all - used, "%s\n", msg);
}

/* A folder: images in name order, each frame naming its file; a broken
 * image is skipped and reported to the caller's callback, not printed. */
static void test_folder_skips_through_callback(void)
{
    char dir[] = "/tmp/test_detect_source_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char a[600], b[600], c[600];
    snprintf(a, sizeof a, "%s/a.png", dir);
    snprintf(b, sizeof b, "%s/b.png", dir);
    snprintf(c, sizeof c, "%s/c.png", dir);
    uint8_t px[6 * 4 * 3];
    memset(px, 90, sizeof px);
    CHECK(cvw_write_image(a, px, 6, 4, 3) == 0);
    FILE *f0 = fopen(b, "w");
    CHECK(f0 != NULL);
    if (f0) {
        fputs("not an image", f0);
        fclose(f0);
    }
    CHECK(cvw_write_image(c, px, 6, 4, 3) == 0);
    warnings w = {0};
    source *s = source_open_path(dir, 0, count_warning, &w);
    CHECK_MSG(s != NULL, "%s", app_error());
    if (s) {
        CHECK(source_kind_of(s) == SOURCE_FOLDER);
        const source_frame *f;
        const char *want[] = {a, c};
        int n = 0;
        source_status r;
        while ((r = source_next(s, &f, 2000)) == SOURCE_FRAME) {
            CHECK(n < 2 && f->file && !strcmp(f->file, want[n]) && f->w == 6 && f->h == 4);
            n++;
        }
        CHECK(r == SOURCE_END && n == 2);
        source_close(s);
    }
    CHECK_MSG(w.n == 1 && strstr(w.last, "skipping") && strstr(w.last, "b.png"), "%d: %s", w.n,
              w.last);
    unlink(a);
    unlink(b);
    unlink(c);
    rmdir(dir);
}

/* A folder with entries that are not images to read: a FIFO, a dangling
 * symbolic link and a loop of them under image names, and a video. Each
 * is warned about once through the callback (they used to be left out
 * without a word); a text file and a sub-folder are not candidates and
 * not warned about; the images still come. */
static void test_folder_odd_entries(void)
{
    char dir[] = "/tmp/test_detect_source_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char p[8][600];
    const char *names[8] = {"a.png", "fifo.png", "dangling.png", "loop.png", "clip.avi",
                            "notes.txt", "sub", "z.png"};
    for (int i = 0; i < 8; i++)
        snprintf(p[i], sizeof p[i], "%s/%s", dir, names[i]);
    uint8_t px[6 * 4 * 3];
    memset(px, 90, sizeof px);
    CHECK(cvw_write_image(p[0], px, 6, 4, 3) == 0 && cvw_write_image(p[7], px, 6, 4, 3) == 0);
    CHECK(mkfifo(p[1], 0644) == 0);
    CHECK(symlink("nowhere.png", p[2]) == 0);
    CHECK(symlink("loop.png", p[3]) == 0);
    FILE *f0 = fopen(p[4], "w"), *f1 = fopen(p[5], "w");
    CHECK(f0 && f1);
    if (f0)
        fclose(f0);
    if (f1)
        fclose(f1);
    CHECK(mkdir(p[6], 0755) == 0);
    warnings w = {0};
    source *s = source_open_path(dir, 0, count_warning, &w);
    CHECK_MSG(s != NULL, "%s", app_error());
    int n = 0;
    if (s) {
        const source_frame *f;
        while (source_next(s, &f, 2000) == SOURCE_FRAME) {
            CHECK(n < 2 && f->file && !strcmp(f->file, p[n == 0 ? 0 : 7]));
            n++;
        }
        source_close(s);
    }
    CHECK(n == 2);
    CHECK_MSG(w.n == 4 && strstr(w.all, "fifo.png': not a regular file (a FIFO)") &&
                  strstr(w.all, "dangling.png': a dangling symbolic link") &&
                  strstr(w.all, "loop.png': a loop of symbolic links") &&
                  strstr(w.all, "clip.avi': a video, not an image") &&
                  !strstr(w.all, "notes.txt") && !strstr(w.all, "sub'"),
              "%d warnings:\n%s", w.n, w.all);
    for (int i = 0; i < 8; i++)
        i == 6 ? rmdir(p[i]) : unlink(p[i]);
    rmdir(dir);
}

/* A data set's folder, its pictures in class folders: named for that
 * (it said "folder has no images"); an empty folder as before. */
static void test_folder_of_folders(void)
{
    char dir[] = "/tmp/test_detect_source_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[2][600], pic[600];
    snprintf(sub[0], sizeof sub[0], "%s/happy", dir);
    snprintf(sub[1], sizeof sub[1], "%s/sad", dir);
    snprintf(pic, sizeof pic, "%s/happy/a.png", dir);
    source *s = source_open_path(dir, 0, NULL, NULL);
    CHECK(s == NULL && strstr(app_error(), "folder has no images"));
    CHECK(mkdir(sub[0], 0755) == 0 && mkdir(sub[1], 0755) == 0);
    uint8_t px[6 * 4 * 3];
    memset(px, 90, sizeof px);
    CHECK(cvw_write_image(pic, px, 6, 4, 3) == 0);
    s = source_open_path(dir, 0, NULL, NULL);
    CHECK(s == NULL);
    CHECK_MSG(strstr(app_error(), "no images in the folder itself, only folders (happy, sad): give "
                                  "one of them"), "%s", app_error());
    source_close(s);
    unlink(pic);
    rmdir(sub[0]);
    rmdir(sub[1]);
    rmdir(dir);
}

int main(void)
{
    test_folder_of_folders();
    test_folder_skips_through_callback();
    test_folder_odd_entries();
    test_live_latest();
    test_files_every_frame();
    test_error_and_close();
    return test_done("test_detect_source");
}
