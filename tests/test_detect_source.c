/* test_detect_source.c - the reader thread's mailbox: live sources hand
 * over only the newest frame (the consumer is never more than one frame
 * behind), file-like sources every frame in order; errors and the end of
 * input come through; closing never hangs, even with the reader blocked. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "source.h"
#include "testutil.h"

typedef struct fake {
    atomic_long made;   /* frames produced so far */
    long limit;         /* end after this many; -1 never */
    long fail_at;       /* error at this frame; -1 never */
    int delay_us;
} fake;

/* Stamps each frame with its number in the first pixel bytes. */
static int fake_read(void *ctx, src_frame *f)
{
    fake *k = ctx;
    long i = atomic_load(&k->made);
    if (k->limit >= 0 && i >= k->limit)
        return 0;
    if (k->fail_at >= 0 && i >= k->fail_at)
        return -1;
    if (k->delay_us)
        usleep((useconds_t)k->delay_us);
    if (src_frame_reserve(f, 8, 4) != 0)
        return -1;
    memset(f->bgr, 0, 8 * 4 * 3);
    memcpy(f->bgr, &i, sizeof i);
    atomic_store(&k->made, i + 1);
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long stamp(const src_frame *f)
{
    long i;
    memcpy(&i, f->bgr, sizeof i);
    return i;
}

static void test_live_latest(void)
{
    fake k = {.limit = -1, .fail_at = -1, .delay_us = 1000};
    char err[256];
    source *s = source_open_fn(fake_read, &k, 1, 8, 4, 30, err, sizeof err);
    CHECK(s != NULL);
    if (!s)
        return;
    long last = -1, gaps = 0;
    for (int n = 0; n < 20; n++) {
        usleep(15000); /* a slow consumer: many frames arrive meanwhile */
        const src_frame *f;
        /* Counted before taking, so a consumer descheduled after the take
         * cannot make the check fail. */
        long made = atomic_load(&k.made);
        int r = source_next(s, &f, 1000);
        CHECK(r == 1);
        if (r != 1)
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
    char err[256];
    source *s = source_open_fn(fake_read, &k, 0, 8, 4, 25, err, sizeof err);
    CHECK(s != NULL);
    if (!s)
        return;
    const src_frame *f;
    long want = 0;
    int r;
    while ((r = source_next(s, &f, 2000)) == 1) {
        CHECK_MSG(stamp(f) == want && f->index == want, "frame %ld, want %ld", stamp(f), want);
        CHECK_NEAR(f->t_ms, want * 40.0, 1e-6);
        want++;
        if (want % 10 == 0)
            usleep(20000); /* slow now and then: the reader must wait */
    }
    CHECK(r == -1);
    CHECK(want == 50);
    CHECK(source_next(s, &f, 0) == -1); /* stays ended */
    source_close(s);
}

static void test_error_and_close(void)
{
    fake k = {.limit = -1, .fail_at = 3};
    char err[256], msg[256];
    source *s = source_open_fn(fake_read, &k, 0, 8, 4, 25, err, sizeof err);
    CHECK(s != NULL);
    if (!s)
        return;
    const src_frame *f;
    int n = 0, r;
    while ((r = source_next(s, &f, 2000)) == 1)
        n++;
    CHECK(n == 3);
    CHECK(r == -2);
    CHECK(source_message(s, msg, sizeof msg)[0] != 0);
    source_close(s);

    /* Closing while the reader waits for a full slot to be taken. */
    fake k2 = {.limit = -1, .fail_at = -1};
    s = source_open_fn(fake_read, &k2, 0, 8, 4, 25, err, sizeof err);
    usleep(20000);
    double t0 = now_s();
    source_close(s);
    CHECK(now_s() - t0 < 1.0);
}

int main(void)
{
    test_live_latest();
    test_files_every_frame();
    test_error_and_close();
    return test_done("test_detect_source");
}
