/* test_dataset.c - data set loading on small generated folders and CSVs
 * (good and bad rows, odd sizes, colour images, unreadable files), class
 * name normalisation and mapping across data sets (CK+ names), stratified
 * splits and subsets, class weights and the sampler. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_err.h"
#include "cvw.h"
#include "dataset.h"
#include "testutil.h"

static char tmpdir[256];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

static void mkdir_p(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    for (char *s = p + strlen(tmpdir) + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0777);
            *s = '/';
        }
    mkdir(p, 0777);
}

static void write_text(const char *rel, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A w x h gray image whose first pixel carries `tag` and whose others are
 * a smooth pattern (PNG is lossless, so tags survive). */
static void write_gray(const char *rel, int w, int h, uint8_t tag)
{
    uint8_t *px = malloc((size_t)w * h);
    for (int i = 0; i < w * h; i++)
        px[i] = (uint8_t)(i * 7 + tag);
    px[0] = tag;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    CHECK_MSG(cvw_write_image(p, px, w, h, 1) == 0, "%s", cvw_error());
    free(px);
}

static void write_uniform(const char *rel, int w, int h, int ch, const uint8_t *bgr)
{
    uint8_t *px = malloc((size_t)w * h * ch);
    for (int i = 0; i < w * h; i++)
        memcpy(px + (size_t)i * ch, bgr, (size_t)ch);
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    CHECK_MSG(cvw_write_image(p, px, w, h, ch) == 0, "%s", cvw_error());
    free(px);
}

static int progress_calls, progress_last, progress_total;
static void on_progress(void *user, int done, int total)
{
    (void)user;
    progress_calls++;
    progress_last = done;
    progress_total = total;
}

static int has_problem(const dataset *ds, const char *needle)
{
    for (int i = 0; i < ds->n_problems; i++)
        if (strstr(ds->problems[i], needle))
            return 1;
    return 0;
}

static void test_normalize(void)
{
    char b[NN_NAME_MAX];
    static const char *const cases[][2] = {
        {"anger", "angry"}, {"Angry", "angry"}, {"sadness", "sad"}, {"SAD", "sad"},
        {"happiness", "happy"}, {"Happy", "happy"}, {"surprised", "surprise"},
        {" Neutral ", "neutral"}, {"3_happy", "happy"}, {"03-fear", "fear"},
        {"contempt", "contempt"}, {"Disgusted", "disgust"}, {"Fearful", "fear"},
        {"Weird Name", "weird_name"}, {"7", "7"}, {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(!strcmp(dataset_class_normalize(cases[i][0], b, sizeof b), cases[i][1]),
                  "'%s' -> '%s', want '%s'", cases[i][0], b, cases[i][1]);
    CHECK(dataset_class_find(dataset_fer_classes, 7, "sadness") == 4);
    CHECK(dataset_class_find(dataset_fer_classes, 7, "ANGER") == 0);
    CHECK(dataset_class_find(dataset_fer_classes, 7, "contempt") == -1);
}

static void test_folder(void)
{
    /* Folder names from three conventions; sorted bytewise: "03_sad",
     * "Happy", "anger". */
    mkdir_p("faces/anger");
    mkdir_p("faces/Happy");
    mkdir_p("faces/03_sad");
    for (int i = 0; i < 5; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "faces/anger/a%d.png", i);
        write_gray(rel, 48, 48, (uint8_t)(10 + i));
        snprintf(rel, sizeof rel, "faces/Happy/h%d.png", i);
        write_gray(rel, 48, 48, (uint8_t)(20 + i));
    }
    write_gray("faces/03_sad/s0.png", 48, 48, 30);
    write_gray("faces/03_sad/s1_odd.png", 17, 23, 31); /* odd size: resized */
    const uint8_t red[3] = {0, 0, 200}; /* BGR */
    write_uniform("faces/03_sad/s2_colour.png", 64, 40, 3, red);
    write_text("faces/03_sad/s3_broken.png", "this is not a PNG\n");
    write_text("faces/03_sad/notes.txt", "not an image\n");
    write_text("faces/03_sad/.DS_Store", "hidden, ignored\n");
    mkdir_p("faces/Happy/nested"); /* folders inside classes are not read, but said */
    char link[512];
    snprintf(link, sizeof link, "%s/faces/anger/gone.png", tmpdir);
    CHECK(symlink("no-such-picture.png", link) == 0); /* dangling: said too */
    snprintf(link, sizeof link, "%s/faces/fear", tmpdir);
    CHECK(symlink("no-such-folder", link) == 0); /* beside the classes: said as well */

    char root[512];
    snprintf(root, sizeof root, "%s/faces", tmpdir);
    dataset_load_opts o = {.w = 48, .h = 48, .threads = 1, .progress = on_progress};
    dataset *ds = dataset_load(root, &o);
    CHECK_MSG(ds != NULL, "%s", app_error());
    if (!ds)
        return;
    CHECK(ds->n_classes == 3);
    CHECK(!strcmp(ds->classes[0], "sad"));
    CHECK(!strcmp(ds->classes[1], "happy"));
    CHECK(!strcmp(ds->classes[2], "angry"));
    CHECK(ds->n == 13);
    CHECK(ds->n_skipped == 5);
    CHECK(has_problem(ds, "s3_broken.png"));
    CHECK(has_problem(ds, "notes.txt"));
    CHECK(has_problem(ds, "Happy/nested: a folder in class folder 'Happy', not read"));
    CHECK(has_problem(ds, "anger/gone.png: a dangling symbolic link"));
    CHECK(has_problem(ds, "faces/fear: a dangling symbolic link (not read as a class folder)"));
    CHECK(progress_calls > 0 && progress_last == progress_total && progress_total == 14);
    int counts[3];
    dataset_class_counts(ds, counts);
    CHECK(counts[0] == 3 && counts[1] == 5 && counts[2] == 5);
    /* Sorted order: 03_sad/s0, s1_odd, s2_colour, then Happy, then anger. */
    CHECK(ds->labels[0] == 0 && dataset_image(ds, 0)[0] == 30);
    CHECK(ds->labels[3] == 1 && dataset_image(ds, 3)[0] == 20);
    CHECK(ds->labels[8] == 2 && dataset_image(ds, 8)[0] == 10);
    CHECK(dataset_image(ds, 12)[0] == 14 && dataset_image(ds, 12)[47 * 48 + 47] == (uint8_t)(2303 * 7 + 14));
    /* Colour to gray: 0.299 * 200 = 59.8 for pure red. */
    const uint8_t *c = dataset_image(ds, 2);
    int uniform = 1;
    for (int i = 0; i < 48 * 48; i++)
        uniform &= c[i] == c[0];
    CHECK(uniform);
    CHECK_MSG(c[0] >= 59 && c[0] <= 61, "red became %d", c[0]);

    /* Threads do not change the result. */
    dataset_load_opts o4 = {.w = 48, .h = 48, .threads = 4};
    dataset *d4 = dataset_load(root, &o4);
    CHECK(d4 && d4->n == ds->n);
    if (d4 && d4->n == ds->n) {
        CHECK(!memcmp(d4->pixels, ds->pixels, (size_t)ds->n * 48 * 48));
        CHECK(!memcmp(d4->labels, ds->labels, (size_t)ds->n * sizeof(int)));
    }
    dataset_free(d4);

    /* Another input size. */
    dataset_load_opts o32 = {.w = 32, .h = 24};
    dataset *d32 = dataset_load(root, &o32);
    CHECK(d32 && d32->n == 13 && d32->w == 32 && d32->h == 24);
    dataset_free(d32);

    /* A split argument makes no sense for a plain class folder. */
    dataset_load_opts os = {.w = 48, .h = 48, .split = "Training"};
    CHECK(dataset_load(root, &os) == NULL && strstr(app_error(), "split"));
    dataset_free(ds);

    /* Missing path, and a folder without classes. */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/nope", tmpdir);
    CHECK(dataset_load(missing, &o) == NULL && strstr(app_error(), "nope"));
    mkdir_p("empty");
    snprintf(missing, sizeof missing, "%s/empty", tmpdir);
    CHECK(dataset_load(missing, &o) == NULL && strstr(app_error(), "class folders"));
    /* Classes but no readable image at all. */
    mkdir_p("junk/happy");
    write_text("junk/happy/x.png", "junk");
    snprintf(missing, sizeof missing, "%s/junk", tmpdir);
    CHECK(dataset_load(missing, &o) == NULL && strstr(app_error(), "x.png"));
    /* A set one level deeper than --data: its classes were taken as
     * folders of one class "faces" with no pictures, and the message did
     * not say why. */
    mkdir_p("deep/faces/happy");
    write_gray("deep/faces/happy/h.png", 48, 48, 50);
    snprintf(missing, sizeof missing, "%s/deep", tmpdir);
    CHECK(dataset_load(missing, &o) == NULL);
    CHECK_MSG(strstr(app_error(), "no image files in its 1 class folder (first problem: ") &&
              strstr(app_error(), "deep/faces/happy: a folder in class folder 'faces'"),
              "%s", app_error());
    /* One picture given for the set (named anything): it was read as a
     * CSV and said its header lacked 'emotion'. */
    snprintf(missing, sizeof missing, "%s/deep/faces/happy/h.png", tmpdir);
    CHECK(dataset_load(missing, &o) == NULL);
    CHECK_MSG(strstr(app_error(), "h.png: a picture, not a data set"), "%s", app_error());
    write_text("face.csv", "\xff\xd8\xff\xe0 a JPEG's first bytes");
    snprintf(missing, sizeof missing, "%s/face.csv", tmpdir);
    CHECK(dataset_load(missing, &o) == NULL);
    CHECK_MSG(strstr(app_error(), "a picture, not a data set"), "%s", app_error());
}

/* Class folders root/names[i] (root relative to tmpdir), one 48x48
 * picture in each, of gray shade + i. */
static void class_folders(const char *root, const char *const *names, int n, int shade)
{
    for (int i = 0; i < n; i++) {
        char rel[200];
        snprintf(rel, sizeof rel, "%s/%s", root, names[i]);
        mkdir_p(rel);
        snprintf(rel, sizeof rel, "%s/%s/x.png", root, names[i]);
        write_gray(rel, 48, 48, (uint8_t)(shade + i));
    }
}

/* Folders whose names differ only by case, or are synonyms, become one
 * class, and the data set says which (it merged them without a word). */
static void test_merged_folders(void)
{
    const char *dirs[] = {"Happy", "happy", "anger", "angry", "sad"};
    class_folders("merge", dirs, 5, 40);
    char root[512];
    snprintf(root, sizeof root, "%s/merge", tmpdir);
    dataset_load_opts o = {.w = 48, .h = 48, .threads = 1};
    dataset *ds = dataset_load(root, &o);
    CHECK_MSG(ds != NULL, "%s", app_error());
    if (!ds)
        return;
    CHECK(ds->n_classes == 3 && ds->n == 5);
    /* one line per merged class, none for sad */
    CHECK_MSG(ds->merged && !strcmp(ds->merged, "'Happy', 'happy' merged into class 'happy'\n"
                                                 "'anger', 'angry' merged into class 'angry'\n"),
              "%s", ds->merged ? ds->merged : "(no note)");
    dataset_free(ds);
    /* None merged: no note. */
    snprintf(root, sizeof root, "%s/faces", tmpdir);
    ds = dataset_load(root, &o);
    CHECK(ds && ds->merged == NULL);
    dataset_free(ds);

    /* Two class names of 70 bytes that share their first 63 were cut to
     * one class, said only as a merge: a name past 63 bytes is refused. */
    const char *longs[] = {"smiling_with_the_mouth_open_and_the_eyes_narrowed_towards_the_end_A",
                           "smiling_with_the_mouth_open_and_the_eyes_narrowed_towards_the_end_B"};
    class_folders("long", longs, 2, 50);
    snprintf(root, sizeof root, "%s/long", tmpdir);
    ds = dataset_load(root, &o);
    CHECK(ds == NULL);
    CHECK_MSG(strstr(app_error(), "a class folder's name longer than 63 bytes (67)") &&
                  strstr(app_error(), "rename it"),
              "%s", app_error());
    dataset_free(ds);
    /* 63 bytes is the most a name may have */
    char name63[64];
    snprintf(name63, sizeof name63, "%.63s", longs[0]);
    const char *fit[] = {name63, "sad"};
    class_folders("long63", fit, 2, 60);
    snprintf(root, sizeof root, "%s/long63", tmpdir);
    ds = dataset_load(root, &o);
    CHECK_MSG(ds && ds->n_classes == 2 && strlen(ds->classes[1]) == 63, "%s", app_error()); /* after "sad" */
    dataset_free(ds);
}

static void test_split_folders(void)
{
    /* FER2013's download layout: train/ and test/, each with classes. */
    mkdir_p("fer/train/angry");
    mkdir_p("fer/train/happy");
    mkdir_p("fer/test/angry");
    mkdir_p("fer/test/happy");
    write_gray("fer/train/angry/1.png", 48, 48, 1);
    write_gray("fer/train/happy/2.png", 48, 48, 2);
    write_gray("fer/train/happy/3.png", 48, 48, 3);
    write_gray("fer/test/happy/4.png", 48, 48, 4);
    char root[512];
    snprintf(root, sizeof root, "%s/fer", tmpdir);
    dataset_load_opts o = {.w = 48, .h = 48};
    /* the option is named (it said "choose one with a split name") */
    CHECK(dataset_load(root, &o) == NULL);
    CHECK_MSG(strstr(app_error(), "holds splits (test, train): choose one with --split "
                                  "(--split test) or point at its folder"), "%s", app_error());
    o.split = "train";
    dataset *tr = dataset_load(root, &o);
    CHECK(tr && tr->n == 3 && tr->n_classes == 2);
    dataset_free(tr);
    o.split = "PublicTest";
    dataset *te = dataset_load(root, &o);
    CHECK(te && te->n == 1 && te->labels[0] == 1 && dataset_image(te, 0)[0] == 4);
    dataset_free(te);
    o.split = "PrivateTest";
    CHECK(dataset_load(root, &o) == NULL && strstr(app_error(), "PrivateTest"));
}

/* A CSV row of 48x48 pixels all equal to v, except pixel 0 = tag. */
static void row(FILE *f, const char *emotion, int tag, int v, int npix, const char *usage)
{
    fprintf(f, "%s,", emotion);
    for (int i = 0; i < npix; i++)
        fprintf(f, "%s%d", i ? " " : "", i == 0 ? tag : v);
    fprintf(f, ",%s\n", usage);
}

static void test_csv(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fer.csv", tmpdir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "emotion,pixels,Usage\n");          /* line 1 */
    row(f, "0", 1, 100, 2304, "Training");          /* 2 good: angry */
    row(f, "3", 2, 110, 2304, "Training");          /* 3 good: happy */
    row(f, "6", 3, 120, 2304, "PublicTest");        /* 4 good: neutral */
    row(f, "4", 4, 130, 2300, "Training");          /* 5 wrong pixel count */
    fprintf(f, "5,1 2 x 4,Training\n");             /* 6 non-numeric pixel */
    row(f, "9", 6, 100, 2304, "Training");          /* 7 bad emotion index */
    row(f, "x", 7, 100, 2304, "Training");          /* 8 non-numeric emotion */
    row(f, "2", 8, 256, 2304, "PrivateTest");       /* 9 value out of range */
    fprintf(f, "\n");                               /* 10 blank: ignored */
    fprintf(f, "1,\"");                             /* 11 good, quoted, CRLF */
    for (int i = 0; i < 2304; i++)
        fprintf(f, "%s%d", i ? " " : "", i == 0 ? 9 : 140);
    fprintf(f, "\",PrivateTest\r\n");
    row(f, "5", 10, 150, 2305, "PublicTest");       /* 12 too many pixels */
    fprintf(f, "2,only two fields\n");              /* 13 short row */
    fclose(f);

    dataset_load_opts o = {.w = 48, .h = 48};
    dataset *ds = dataset_load(path, &o);
    CHECK_MSG(ds != NULL, "%s", app_error());
    if (!ds)
        return;
    CHECK(ds->n_classes == 7 && !strcmp(ds->classes[6], "neutral"));
    CHECK(ds->n == 4);
    CHECK(ds->n_skipped == 7);
    char want[640];
    snprintf(want, sizeof want, "%s:5: expected 2304 pixels, found 2300", path);
    CHECK_MSG(has_problem(ds, want), "no '%s'", want);
    snprintf(want, sizeof want, "%s:6: bad pixel value 'x'", path);
    CHECK_MSG(has_problem(ds, want), "no '%s'", want);
    CHECK(has_problem(ds, "fer.csv:7: emotion index 9 out of range"));
    CHECK(has_problem(ds, "fer.csv:8: bad emotion index 'x'"));
    CHECK(has_problem(ds, "fer.csv:9: bad pixel value '256'"));
    CHECK(has_problem(ds, "fer.csv:12: expected 2304 pixels, found 2305"));
    CHECK(has_problem(ds, "fer.csv:13: expected 3 fields"));
    int labels[4] = {0, 3, 6, 1}, tags[4] = {1, 2, 3, 9}, vals[4] = {100, 110, 120, 140};
    for (int i = 0; i < 4 && i < ds->n; i++) {
        CHECK(ds->labels[i] == labels[i]);
        CHECK(dataset_image(ds, i)[0] == tags[i]);
        CHECK(dataset_image(ds, i)[2303] == vals[i]);
    }
    dataset_free(ds);

    /* Usage selects rows; bad rows of other splits are not reported. */
    o.split = "Training";
    ds = dataset_load(path, &o);
    CHECK(ds && ds->n == 2 && ds->labels[1] == 3);
    CHECK(ds && ds->n_skipped == 5); /* lines 5-8 and the short line 13 */
    dataset_free(ds);
    o.split = "PrivateTest";
    ds = dataset_load(path, &o);
    CHECK(ds && ds->n == 1 && ds->labels[0] == 1 && ds->n_skipped == 2);
    dataset_free(ds);
    o.split = "Validation";
    CHECK(dataset_load(path, &o) == NULL && strstr(app_error(), "Validation"));

    /* Resized to the model's input. */
    dataset_load_opts o2 = {.w = 24, .h = 24, .split = "PublicTest"};
    ds = dataset_load(path, &o2);
    CHECK(ds && ds->n == 1 && ds->w == 24 && dataset_image(ds, 0)[24 * 24 - 1] == 120);
    dataset_free(ds);

    /* Not the fer2013 layout. */
    snprintf(path, sizeof path, "%s/other.csv", tmpdir);
    f = fopen(path, "w");
    fprintf(f, "a,b,c\n1,2,3\n");
    fclose(f);
    CHECK(dataset_load(path, &o) == NULL && strstr(app_error(), "emotion"));

    /* Saved by a spreadsheet: a UTF-8 byte-order mark before the header. */
    snprintf(path, sizeof path, "%s/bom.csv", tmpdir);
    f = fopen(path, "w");
    fputs("\xEF\xBB\xBF" "emotion,pixels,Usage\r\n", f);
    row(f, "3", 2, 110, 2304, "Training");
    fclose(f);
    dataset_load_opts ob = {.w = 48, .h = 48};
    ds = dataset_load(path, &ob);
    CHECK_MSG(ds && ds->n == 1 && ds->labels[0] == 3, "BOM CSV: %s", ds ? "wrong rows" : app_error());
    dataset_free(ds);

    /* A header and only blank lines after it, and rows that lost their
     * Usage column: both said "no rows with Usage 'PublicTest'", as if the
     * split were wrong. */
    dataset_load_opts op = {.w = 48, .h = 48, .split = "PublicTest"};
    snprintf(path, sizeof path, "%s/header.csv", tmpdir);
    f = fopen(path, "w");
    fputs("emotion,pixels,Usage\r\n\r\n\n", f);
    fclose(f);
    CHECK(dataset_load(path, &op) == NULL);
    CHECK_MSG(strstr(app_error(), "header.csv: a header and no rows"), "%s", app_error());
    snprintf(path, sizeof path, "%s/two.csv", tmpdir);
    f = fopen(path, "w");
    fputs("emotion,pixels,Usage\n", f);
    fputs("3,", f);
    for (int i = 0; i < 2304; i++)
        fprintf(f, "%s110", i ? " " : "");
    fputc('\n', f);
    fclose(f);
    CHECK(dataset_load(path, &op) == NULL);
    CHECK_MSG(strstr(app_error(), "no usable rows (first problem: ") &&
              strstr(app_error(), "two.csv:2: expected 3 fields, found 2"), "%s", app_error());
    /* Lines ended by CR alone: one line to getline, which read as "a
     * header and no rows" */
    snprintf(path, sizeof path, "%s/cr.csv", tmpdir);
    f = fopen(path, "w");
    fputs("emotion,pixels,Usage\r", f);
    for (int r = 0; r < 2; r++) {
        fputs("3,", f);
        for (int i = 0; i < 2304; i++)
            fprintf(f, "%s7", i ? " " : "");
        fputs(",PublicTest\r", f);
    }
    fclose(f);
    CHECK(dataset_load(path, &op) == NULL);
    CHECK_MSG(strstr(app_error(), "cr.csv: its lines end in a carriage return alone"), "%s",
              app_error());
    /* Saved by a spreadsheet of a comma-decimal locale: ';' between fields
     * (it said only "expected a header with 'emotion' and 'pixels'") */
    snprintf(path, sizeof path, "%s/semi.csv", tmpdir);
    f = fopen(path, "w");
    fputs("emotion;pixels;Usage\n3;1 2 3;PublicTest\n", f);
    fclose(f);
    CHECK(dataset_load(path, &op) == NULL);
    CHECK_MSG(strstr(app_error(), "semi.csv:1: fields separated by ';', not commas"), "%s",
              app_error());
}

/* A data set whose image i carries i in its first two pixels. */
static dataset *tagged(const int *counts, int k, const char *const *names)
{
    dataset *ds = dataset_create(8, 8, names, k, 4);
    uint8_t img[64] = {0};
    int id = 0;
    /* Interleave classes so order matters. */
    for (int round = 0;; round++) {
        int any = 0;
        for (int c = 0; c < k; c++)
            if (round < counts[c]) {
                img[0] = (uint8_t)(id & 255);
                img[1] = (uint8_t)(id >> 8);
                img[2] = (uint8_t)c;
                dataset_push(ds, img, c);
                id++;
                any = 1;
            }
        if (!any)
            break;
    }
    return ds;
}

static int tag_of(const dataset *ds, int i)
{
    return dataset_image(ds, i)[0] | dataset_image(ds, i)[1] << 8;
}

/* Images with equal pixels: how many of ds's images have one in other. */
static int with_equal_in(const dataset *ds, const dataset *other)
{
    int n = 0;
    for (int i = 0; i < ds->n; i++) {
        int found = 0;
        for (int j = 0; !found && j < other->n; j++)
            found = !memcmp(dataset_image(ds, i), dataset_image(other, j), (size_t)ds->w * ds->h);
        n += found;
    }
    return n;
}

/* 150 images in 3 classes, 45 of them in 15 groups of exact copies (sizes
 * 2 to 4). */
static dataset *with_copies(int *n_with_copy)
{
    const char *names[3] = {"a", "b", "c"};
    int counts[3] = {80, 40, 30};
    dataset *ds = tagged(counts, 3, names);
    int copied = 0;
    for (int g = 0; g < 15; g++) {
        int size = 2 + g % 3, first = 10 * g;
        /* The group's members take the first's pixels (its tag); classes
         * interleave, so most groups cross classes, as noisy labels do. */
        for (int k = 1; k < size; k++)
            memcpy(dataset_image(ds, first + k), dataset_image(ds, first), 64);
        copied += size;
    }
    *n_with_copy = copied;
    return ds;
}

static void test_split_copies(void)
{
    int expect = 0;
    dataset *ds = with_copies(&expect);
    int *group = malloc((size_t)ds->n * sizeof *group);
    CHECK(group && dataset_copy_groups(ds, group) == expect);
    int right = 1;
    for (int i = 0; group && i < ds->n; i++) {
        int lead = i;
        for (int j = 0; j < i && lead == i; j++)
            if (!memcmp(dataset_image(ds, i), dataset_image(ds, j), 64))
                lead = j;
        right &= group[i] == lead;
    }
    CHECK(right);
    free(group);

    /* Excluded: no validation image has a copy in training, and the quota
     * is met from the other images. */
    dataset_split_info info = {-1, -1};
    dataset *val = dataset_split(ds, 0.3, 7, DATASET_COPIES_EXCLUDE, &info);
    CHECK(val && info.with_copy == expect && info.val_with_copy == 0);
    CHECK(val && val->n == 45 && with_equal_in(val, ds) == 0);
    int cv[3];
    if (val)
        dataset_class_counts(val, cv);
    CHECK(val && cv[0] == 24 && cv[1] == 12 && cv[2] == 9);
    dataset_free(val);
    dataset_free(ds);

    /* Allowed: the counts say how many leaked, and they do leak for some
     * seed (45 of 150 images have copies; 45 are drawn). */
    int leaked_somewhere = 0, counted_right = 1;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        ds = with_copies(&expect);
        val = dataset_split(ds, 0.3, seed, DATASET_COPIES_ALLOW, &info);
        CHECK(val != NULL);
        if (!val) {
            dataset_free(ds);
            continue;
        }
        int leaked = with_equal_in(val, ds);
        counted_right &= info.val_with_copy == leaked && info.with_copy == expect;
        leaked_somewhere |= leaked > 0;
        dataset_free(val);
        dataset_free(ds);
    }
    CHECK(counted_right && leaked_somewhere);

    /* A class of copies only: too few others, so validation gets fewer. */
    const char *names[2] = {"x", "y"};
    int counts[2] = {20, 10};
    ds = tagged(counts, 2, names);
    for (int i = 1; i < ds->n; i++)
        if (ds->labels[i] == 1)
            memcpy(dataset_image(ds, i), dataset_image(ds, 1), 64); /* image 1 is y's first */
    val = dataset_split(ds, 0.5, 3, DATASET_COPIES_EXCLUDE, &info);
    CHECK(val && info.with_copy == 10 && val->n == 10);
    if (val)
        dataset_class_counts(val, cv);
    CHECK(val && cv[0] == 10 && cv[1] == 0);
    dataset_free(val);
    dataset_free(ds);
}

static void test_mapping(void)
{
    /* CK+48's classes onto FER2013's. */
    const char *ck[7] = {"anger", "contempt", "disgust", "fear", "happy", "sadness",
                         "surprise"};
    int counts[7] = {3, 2, 4, 1, 5, 2, 3};
    dataset *ds = tagged(counts, 7, ck);
    CHECK(!strcmp(ds->classes[0], "angry") && !strcmp(ds->classes[5], "sad"));
    dataset_class_map map;
    CHECK(dataset_map_classes(ds, dataset_fer_classes, 7, &map) == 0);
    CHECK(map.n_unmatched == 1 && !strcmp(map.unmatched[0], "contempt"));
    CHECK(map.unmatched_count[0] == 2 && map.dropped == 2);
    CHECK(map.n_absent == 1 && !strcmp(map.absent[0], "neutral"));
    CHECK(ds->n == 18 && ds->n_classes == 7);
    /* Every image's old class (pixel 2) maps to the FER index by name. */
    const int ck_to_fer[7] = {0, -1, 1, 2, 3, 4, 5};
    int ok = 1;
    for (int i = 0; i < ds->n; i++)
        ok &= ds->labels[i] == ck_to_fer[dataset_image(ds, i)[2]];
    CHECK(ok);
    int c2[7];
    dataset_class_counts(ds, c2);
    CHECK(c2[0] == 3 && c2[1] == 4 && c2[3] == 5 && c2[6] == 0);

    /* No class in common: an error, nothing changed. */
    const char *other[2] = {"cat", "dog"};
    CHECK(dataset_map_classes(ds, other, 2, NULL) == -1 && strstr(app_error(), "angry"));
    CHECK(ds->n == 18 && ds->n_classes == 7);
    dataset_free(ds);

    /* A 6-class set in another order, mapped onto a model's list. */
    const char *six[6] = {"Surprised", "Sadness", "Happiness", "Fear", "Disgust", "Anger"};
    int c6[6] = {1, 1, 1, 1, 1, 1};
    ds = tagged(c6, 6, six);
    const char *model[3] = {"happy", "sad", "angry"};
    CHECK(dataset_map_classes(ds, model, 3, &map) == 0);
    CHECK(ds->n == 3 && map.n_unmatched == 3 && map.n_absent == 0);
    CHECK(!strcmp(ds->classes[0], "happy"));
    for (int i = 0; i < ds->n; i++) {
        int old = dataset_image(ds, i)[2]; /* 2 happiness, 1 sadness, 5 anger */
        CHECK((old == 2 && ds->labels[i] == 0) || (old == 1 && ds->labels[i] == 1) ||
              (old == 5 && ds->labels[i] == 2));
    }
    dataset_free(ds);
}

static void test_split_limit(void)
{
    const char *names[3] = {"a", "b", "c"};
    int counts[3] = {100, 10, 50};
    dataset *ds = tagged(counts, 3, names);
    dataset *val = dataset_split(ds, 0.2, 42, DATASET_COPIES_EXCLUDE, NULL);
    CHECK(val != NULL);
    if (!val) {
        dataset_free(ds);
        return;
    }
    int ct[3], cv[3];
    dataset_class_counts(ds, ct);
    dataset_class_counts(val, cv);
    CHECK(cv[0] == 20 && cv[1] == 2 && cv[2] == 10);
    CHECK(ct[0] == 80 && ct[1] == 8 && ct[2] == 40);
    /* Disjoint, complete, each part in original order. */
    unsigned char seen[160] = {0};
    int dup = 0, ordered = 1;
    for (int i = 0; i < ds->n; i++) {
        dup += seen[tag_of(ds, i)]++;
        if (i)
            ordered &= tag_of(ds, i) > tag_of(ds, i - 1);
    }
    for (int i = 0; i < val->n; i++) {
        dup += seen[tag_of(val, i)]++;
        if (i)
            ordered &= tag_of(val, i) > tag_of(val, i - 1);
    }
    CHECK(dup == 0 && ordered);
    int label_ok = 1;
    for (int i = 0; i < val->n; i++)
        label_ok &= val->labels[i] == dataset_image(val, i)[2];
    CHECK(label_ok);

    /* Same seed, same split; another seed, another split. */
    dataset *a = tagged(counts, 3, names), *b = tagged(counts, 3, names);
    /* No copies in these: excluding them changes nothing. */
    dataset *va = dataset_split(a, 0.2, 42, DATASET_COPIES_ALLOW, NULL),
            *vb = dataset_split(b, 0.2, 43, DATASET_COPIES_EXCLUDE, NULL);
    CHECK(va && va->n == val->n && !memcmp(va->pixels, val->pixels, (size_t)val->n * 64));
    CHECK(vb && memcmp(vb->pixels, val->pixels, (size_t)val->n * 64) != 0);
    CHECK(dataset_split(a, 1.5, 1, DATASET_COPIES_EXCLUDE, NULL) == NULL);
    dataset_free(a);
    dataset_free(b);
    dataset_free(va);
    dataset_free(vb);
    dataset_free(val);
    dataset_free(ds);

    /* Stratified subset: 16 of 160 keeps the shares 10:1:5. */
    ds = tagged(counts, 3, names);
    CHECK(dataset_limit(ds, 16, 7) == 0);
    dataset_class_counts(ds, ct);
    CHECK(ds->n == 16 && ct[0] == 10 && ct[1] == 1 && ct[2] == 5);
    dataset_free(ds);
    ds = tagged(counts, 3, names);
    CHECK(dataset_limit(ds, 7, 7) == 0); /* 4.375, 0.4375, 2.1875 -> 4, 1, 2 */
    dataset_class_counts(ds, ct);
    CHECK(ds->n == 7 && ct[0] == 4 && ct[1] == 1 && ct[2] == 2);
    CHECK(dataset_limit(ds, 1000, 7) == 0 && ds->n == 7);
    dataset_free(ds);
}

static void test_balance(void)
{
    const char *names[4] = {"a", "b", "c", "empty"};
    int counts[4] = {100, 10, 50, 0};
    dataset *ds = tagged(counts, 4, names);
    float w[4];
    dataset_class_weights(ds, 1.0, w);
    /* N / (K n_c) with K the 3 non-empty classes... normalised over images:
     * sum_c n_c w_c = N. */
    CHECK_NEAR(w[0] * 100 + w[1] * 10 + w[2] * 50, 160, 1e-3);
    CHECK_NEAR(w[1] / w[0], 10, 1e-4);
    CHECK_NEAR(w[0], 160.0 / 300, 1e-5);
    CHECK(w[3] == 0);
    dataset_class_weights(ds, 0.0, w);
    CHECK(w[0] == 1 && w[1] == 1 && w[2] == 1);

    /* A shuffle is a permutation; seeded. */
    int order[160], order2[160], cnt[160] = {0};
    uint64_t r1 = 5, r2 = 5;
    dataset_epoch_order(ds, NULL, &r1, order, 160);
    dataset_epoch_order(ds, NULL, &r2, order2, 160);
    int perm = 1;
    for (int i = 0; i < 160; i++)
        perm &= order[i] >= 0 && order[i] < 160 && cnt[order[i]]++ == 0;
    CHECK(perm && !memcmp(order, order2, sizeof order));
    CHECK(r1 == r2 && r1 != 5);

    /* Balanced sampling: inverse-frequency weights give equal classes. */
    enum { N = 30000 };
    int *draw = malloc(N * sizeof *draw);
    dataset_class_weights(ds, 1.0, w);
    dataset_epoch_order(ds, w, &r1, draw, N);
    int per[4] = {0};
    for (int i = 0; i < N; i++)
        per[ds->labels[draw[i]]]++;
    for (int c = 0; c < 3; c++)
        CHECK_MSG(abs(per[c] - N / 3) < N / 30, "class %d drawn %d times", c, per[c]);
    CHECK(per[3] == 0);
    free(draw);
    dataset_free(ds);
}

/* The data lines (after the header) that are not empty once their line
 * ending is stripped: each one the loader must either load or count as
 * skipped (when no split filters rows out). */
static int count_data_lines(const char *buf, size_t n)
{
    int count = 0, line = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && buf[i] != '\n')
            continue;
        size_t end = i;
        while (end > start && buf[end - 1] == '\r')
            end--;
        if (line++ > 0 && end > start)
            count++;
        start = i + 1; /* after a final newline: one empty line, not counted */
    }
    return count;
}

/* Mutated CSVs (flipped bytes, cuts, stray commas and quotes) never crash
 * the loader and give a consistent result: every non-empty data line is
 * loaded or counted as skipped, none lost or counted twice. A cheap fuzz
 * run that ASan builds make meaningful. */
static void test_csv_mutations(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz.csv", tmpdir);
    char *good = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&good, &len);
    fprintf(m, "emotion,pixels,Usage\n");
    row(m, "1", 5, 60, 2304, "Training");
    row(m, "6", 6, 70, 2304, "PublicTest");
    row(m, "3", 7, 80, 2304, "Training");
    fclose(m);
    static const char junk[] = ",\"\n\r x-9 0123456789\0";
    uint64_t rng = test_seed(12345);
    int ok = 1;
    for (int it = 0; it < 300; it++) {
        char *buf = malloc(len);
        memcpy(buf, good, len);
        size_t n = len;
        int edits = 1 + (int)(rng % 8);
        for (int e = 0; e < edits; e++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(rng >> 33) % n;
            if ((rng & 7) == 0)
                n = at + 1; /* cut */
            else
                buf[at] = junk[(rng >> 20) % (sizeof junk - 1)];
        }
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, n, f);
        fclose(f);
        int lines = count_data_lines(buf, n);
        free(buf);
        dataset_load_opts o = {.w = 48, .h = 48, .split = (it & 1) ? "Training" : NULL};
        dataset *ds = dataset_load(path, &o);
        if (ds) {
            int accounted = ds->n + ds->n_skipped;
            ok &= ds->n >= 1 && ds->n <= 3 && ds->n_skipped >= 0;
            /* A split filters rows out without counting them. */
            ok &= o.split ? accounted <= lines : accounted == lines;
            ok &= ds->n_problems == (ds->n_skipped < DATASET_MAX_PROBLEMS ? ds->n_skipped
                                                                      : DATASET_MAX_PROBLEMS);
            for (int i = 0; i < ds->n; i++)
                ok &= ds->labels[i] >= 0 && ds->labels[i] < 7;
            dataset_free(ds);
        } else {
            ok &= app_error()[0] != 0;
        }
    }
    CHECK(ok);
    free(good);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/ed_test_dataset_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_normalize();
    test_folder();
    test_merged_folders();
    test_split_folders();
    test_csv();
    test_csv_mutations();
    test_mapping();
    test_split_limit();
    test_split_copies();
    test_balance();
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return test_done("test_dataset");
}
