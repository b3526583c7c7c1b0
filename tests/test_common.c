/* test_common.c - app/common's small shared helpers: the one image
 * extension list (the union the detector and the trainer both accept), the
 * sorted folder listing, the number parsers, argmax and splitmix64. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_err.h"
#include "asciify.h"
#include "cli.h"
#include "dirlist.h"
#include "probs.h"
#include "rng.h"
#include "testutil.h"

static void touch(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f && fclose(f) == 0);
}

static void test_images(void)
{
    const char *yes[] = {"a.png", "b.JPG", "c.jpeg", "d.jpe", "e.pbm", "f.tiff", "g.webp",
                         "h.jp2", "i.ras", "j.sr", "k.PnM"};
    const char *no[] = {"a", "a.txt", "png", "a.png.txt", "a.mp4", ".png.", "a.jp"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        CHECK_MSG(dirlist_is_image(yes[i]), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        CHECK_MSG(!dirlist_is_image(no[i]), "%s", no[i]);
}

static void test_listing(void)
{
    char dir[] = "/tmp/test_common.XXXXXX", sub[600];
    CHECK(mkdtemp(dir) != NULL);
    touch(dir, "b.png");
    touch(dir, "a.jpe");
    touch(dir, "notes.txt");
    touch(dir, ".hidden.png");
    snprintf(sub, sizeof sub, "%s/z.png", dir); /* a folder with an image's name */
    CHECK(mkdir(sub, 0700) == 0);
    snprintf(sub, sizeof sub, "%s/cls", dir);
    CHECK(mkdir(sub, 0700) == 0);

    dirlist l = {0};
    CHECK(dirlist_read(dir, DIRLIST_IMAGES, &l) == 0);
    CHECK(l.n == 2 && !strcmp(l.v[0], "a.jpe") && !strcmp(l.v[1], "b.png"));
    dirlist_free(&l);
    CHECK(l.n == 0 && l.v == NULL);
    CHECK(dirlist_read(dir, DIRLIST_FILES, &l) == 0);
    CHECK(l.n == 3 && !strcmp(l.v[2], "notes.txt"));
    dirlist_free(&l);
    CHECK(dirlist_read(dir, DIRLIST_DIRS, &l) == 0);
    CHECK(l.n == 2 && !strcmp(l.v[0], "cls") && !strcmp(l.v[1], "z.png"));
    dirlist_free(&l);

    snprintf(sub, sizeof sub, "%s/missing", dir);
    CHECK(dirlist_read(sub, DIRLIST_FILES, &l) == -1 && errno == ENOENT);
    CHECK(strstr(app_error(), sub) && strstr(app_error(), "No such file"));
    dirlist_free(&l);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static void test_argmax_rng(void)
{
    const float p[] = {0.1f, 0.4f, 0.4f, 0.1f};
    CHECK(probs_argmax(p, 4) == 1); /* the first on a tie */
    CHECK(probs_argmax(p, 1) == 0 && probs_argmax(p, 0) == 0);

    /* splitmix64's published first output for seed 0. */
    uint64_t s = 0;
    CHECK(rng_next(&s) == 0xE220A8397B1DCDAFull);
    int a[10], seen[10] = {0};
    for (int i = 0; i < 10; i++)
        a[i] = i;
    s = 42;
    rng_shuffle(a, 10, &s);
    for (int i = 0; i < 10; i++)
        seen[a[i]]++;
    for (int i = 0; i < 10; i++)
        CHECK(seen[i] == 1);
    for (int i = 0; i < 1000; i++) {
        int b = rng_below(&s, 7);
        float u = rng_unif(&s);
        CHECK(b >= 0 && b < 7 && u >= 0 && u < 1);
    }
}

/* One set of number parsers and one message style for both programs. */
static void test_numbers(void)
{
    long l = 0;
    double d = 0;
    CHECK(cli_parse_long("--n", "12", 1, 20, &l) == 0 && l == 12);
    CHECK(cli_parse_long("--n", "12x", 1, 20, &l) == -1 &&
          !strcmp(app_error(), "bad value '12x' for --n: not a whole number"));
    CHECK(cli_parse_long("--n", "21", 1, 20, &l) == -1 &&
          !strcmp(app_error(), "bad value '21' for --n: must be between 1 and 20"));
    CHECK(cli_parse_long("--n", "", 1, 20, &l) == -1 && l == 12);
    CHECK(cli_parse_double("--f", "0.5", 0, 1, &d) == 0 && d == 0.5);
    CHECK(cli_parse_double("--f", "nan", 0, 1, &d) == -1 &&
          !strcmp(app_error(), "bad value 'nan' for --f: not a number"));
    CHECK(cli_parse_double("--f", "1.5", 0, 1, &d) == -1 &&
          !strcmp(app_error(), "bad value '1.5' for --f: must be at least 0 and at most 1"));
    /* beyond a double or a long: numbers all the same, out of range, or
     * (too small for a double) about 0 */
    CHECK(cli_parse_double("--f", "1e-400", 0.25, 1, &d) == -1 &&
          !strcmp(app_error(), "bad value '1e-400' for --f: must be at least 0.25 and at most 1"));
    CHECK(cli_parse_double("--f", "1e-400", 0, 1, &d) == 0 && d >= 0 && d < 1e-300);
    d = 0.5;
    CHECK(cli_parse_double("--f", "-1e400", 0, 1, &d) == -1 &&
          !strcmp(app_error(), "bad value '-1e400' for --f: must be at least 0 and at most 1"));
    CHECK(cli_parse_long("--n", "99999999999999999999", 1, 20, &l) == -1 &&
          !strcmp(app_error(), "bad value '99999999999999999999' for --n: must be between 1 and 20"));
    CHECK(d == 0.5 && l == 12);
}

/* Context added to a message of app/ reads the buffer app_fail writes; a
 * long message (two paths) is kept whole. */
static void test_errors(void)
{
    CHECK(app_fail("cannot write 'x': it is a folder") == -1);
    CHECK(app_fail("record: %s", app_error()) == -1 &&
          !strcmp(app_error(), "record: cannot write 'x': it is a folder"));
    char path[4001];
    memset(path, 'p', 4000);
    path[4000] = 0;
    CHECK(app_fail_null("'%s' and '%s'", path, path) == NULL && strlen(app_error()) == 8009);
}

/* Repeated options found, values and stray arguments stepped over; a stray
 * argument after a flag once sent the walk back onto the flag for ever. */
static void test_repeated(void)
{
    static const char *const flags[] = {"--tta", "--help", NULL};
    char *stray_after_flag[] = {"--tta", "model", "--data", "d"};
    CHECK(cli_repeated(4, stray_after_flag, flags) == NULL);
    char *stray_first[] = {"x", "--tta", "y", "--tta"};
    const char *r = cli_repeated(4, stray_first, flags);
    CHECK(r && !strcmp(r, "--tta"));
    char *value_like_option[] = {"--out", "--data", "--data", "d"};
    r = cli_repeated(4, value_like_option, flags);
    CHECK(r == NULL); /* "--data" after --out is its value: a file so named */
    char *twice[] = {"--data", "a", "--help", "--data", "b"};
    r = cli_repeated(5, twice, flags);
    CHECK(r && !strcmp(r, "--data"));
    char *strays[] = {"--help", "a", "b", "c", "--tta"};
    CHECK(cli_repeated(5, strays, flags) == NULL);
}

/* Seeds: whole numbers 0..2^64-1, nothing that wraps or saturates. */
static void test_u64(void)
{
    unsigned long long v = 7;
    CHECK(cli_u64("--seed", "18446744073709551615", &v) == 0 && v == 18446744073709551615ULL);
    CHECK(cli_u64("--seed", "0", &v) == 0 && v == 0);
    CHECK(cli_u64("--seed", "-1", &v) == -1 && v == 0);
    CHECK(cli_u64("--seed", "18446744073709551616", &v) == -1);
    CHECK(cli_u64("--seed", "1x", &v) == -1 && cli_u64("--seed", "", &v) == -1);
}

/* "--option=value" as getopt_long reads it; not after "--", not "--=x". */
static void test_split_equals(void)
{
    char *in[] = {"train", "--epochs=3", "--data", "a=b", "--=x", "--out=", "--", "--lr=1"};
    int n = 0;
    char **out = cli_split_equals(8, in, &n);
    CHECK(out && n == 10);
    if (!out || n != 10)
        return;
    const char *want[] = {"train", "--epochs", "3", "--data", "a=b", "--=x", "--out", "", "--", "--lr=1"};
    int same = 1;
    for (int i = 0; i < n; i++)
        same &= !strcmp(out[i], want[i]);
    CHECK(same && out[n] == NULL);
    cli_free_args(out, n);
}

/* Text for the pictures' ASCII-only font: one character for one, accents
 * dropped ("colère" was drawn "col??re", a '?' per byte). */
static void test_asciify(void)
{
    static const char *const cases[][2] = {
        {"angry", "angry"},
        {"col\xc3\xa8re", "colere"},
        {"\xc3\x9c" "berrascht", "Uberrascht"},
        {"Stra\xc3\x9f" "e", "Strasse"},
        {"\xc5\x81\xc3\xb3" "d\xc5\xba", "Lodz"},
        {"\xc5\x93il \xc3\x86", "oeil AE"},
        {"a\xc2\xa0" "b", "a b"},
        {"\xe5\xb9\xb8\xe7\xa6\x8f", "??"},            /* two CJK characters */
        {"\xf0\x9f\x98\x80!", "?!"},                     /* an emoji */
        {"bad\xff\xc3", "bad??"},                         /* no valid UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[64];
        size_t n = asciify(cases[i][0], out, sizeof out);
        CHECK_MSG(!strcmp(out, cases[i][1]) && n == strlen(out), "'%s' -> '%s', want '%s'",
                  cases[i][0], out, cases[i][1]);
    }
    char small[4];
    CHECK(asciify("\xc3\x9f\xc3\x9f", small, sizeof small) == 3 && !strcmp(small, "sss"));
}

int main(void)
{
    test_repeated();
    test_split_equals();
    test_u64();
    test_errors();
    test_numbers();
    test_images();
    test_listing();
    test_argmax_rng();
    test_asciify();
    return test_done("test_common");
}
