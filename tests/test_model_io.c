/*
 * test_model_io.c - the .model format: bit-exact round trips (memory and
 * file), and rejection without crashing of every kind of damaged file the
 * loader must survive: truncations, flipped bytes, junk, wrong magic, newer
 * versions, and structurally absurd contents behind a valid checksum.
 * Run it under ASan/UBSan: the point is as much "no crash" as "NULL".
 */
#include "nn_impl.h"
#include "testutil.h"

#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Small enough that every prefix and every flipped byte can be tried. */
static const char *const small_spec =
    "input 6 6 1\n"
    "conv 2 3x3 relu\n"
    "bn\n"
    "maxpool 2\n"
    "dense classes softmax\n";

static const char *const dense_spec =
    "input 4 3 1\n"
    "dense 5 relu\n"
    "dense classes softmax\n";

static const char *const emotions[] = {
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
};

/* ---- little helpers over the documented format ---------------------------- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the trailer so only the structural checks can object. */
static void fix_crc(uint8_t *buf, size_t len)
{
    wr32(buf + len - 4, nn_crc32(0, buf, len - 4));
}

/* Offset of section `tag`'s payload (and its length), or 0 if absent. */
static size_t find_sec(const uint8_t *buf, size_t len, const char *tag, size_t *plen)
{
    size_t pos = 20;
    while (pos + 12 <= len - 4) {
        uint64_t n = rd64(buf + pos + 4);
        if (memcmp(buf + pos, tag, 4) == 0) {
            *plen = (size_t)n;
            return pos + 12;
        }
        pos += 12 + (size_t)n;
    }
    return 0;
}

/* A copy of the file with section `tag` replaced by payload (dropped when
 * payload is NULL; appended when absent, or always when `append`), with
 * the size field and the CRC made valid again. */
static uint8_t *rebuild(const uint8_t *src, size_t len, const char *tag,
                        const void *payload, size_t plen, int append, size_t *out_len)
{
    uint8_t *out = malloc(len + plen + 12);
    size_t pos = 20, o = 20;
    int done = 0;
    memcpy(out, src, 20);
    while (pos + 12 <= len - 4) {
        size_t n = (size_t)rd64(src + pos + 4);
        if (!append && !done && memcmp(src + pos, tag, 4) == 0) {
            done = 1;
            if (payload) {
                memcpy(out + o, tag, 4);
                wr64(out + o + 4, plen);
                memcpy(out + o + 12, payload, plen);
                o += 12 + plen;
            }
        } else {
            memcpy(out + o, src + pos, 12 + n);
            o += 12 + n;
        }
        pos += 12 + n;
    }
    if (!done && payload) {
        memcpy(out + o, tag, 4);
        wr64(out + o + 4, plen);
        memcpy(out + o + 12, payload, plen);
        o += 12 + plen;
    }
    o += 4;
    wr64(out + 12, o);
    fix_crc(out, o);
    *out_len = o;
    return out;
}

/* Load from an exactly-sized heap copy, so ASan sees any over-read. */
static nn_net *load_exact(const uint8_t *buf, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (len)
        memcpy(copy, buf, len);
    nn_net *net = nn_net_load_mem(len ? copy : NULL, len);
    free(copy);
    return net;
}

static int rejected(const uint8_t *buf, size_t len, const char *needle, int line)
{
    nn_net *net = load_exact(buf, len);
    const char *e = nn_error();
    int ok = !net && e[0] && !strchr(e, '\n') && (!needle || strstr(e, needle));
    if (!ok)
        fprintf(stderr, "line %d: expected rejection containing '%s', got %s '%s'\n", line,
                needle ? needle : "", net ? "a net and" : "NULL and", e);
    if (ok && getenv("NN_TEST_VERBOSE")) /* to review the messages by eye */
        printf("line %d: %s\n", line, e);
    nn_net_free(net);
    return ok;
}
#define REJECT(buf, len, needle) CHECK(rejected((buf), (len), (needle), __LINE__))

/* ---- fixtures ----------------------------------------------------------------- */

static nn_net *make_net(const char *spec, int n_classes, uint64_t seed)
{
    nn_net *net = nn_net_from_spec(spec, n_classes);
    CHECK_MSG(net != NULL, "%s", nn_error());
    if (!net)
        return NULL;
    nn_net_init(net, seed);
    /* Non-trivial batch-norm statistics, variances positive. */
    uint64_t rng = seed * 2654435761u + 1;
    float *st = nn_net_state(net);
    for (size_t i = 0; i < nn_net_n_state(net); i++)
        st[i] = 0.5f + nn_rand_uniform(&rng);
    /* Biases are zero after init; make every parameter distinctive. */
    float *p = nn_net_params(net);
    for (size_t i = 0; i < nn_net_n_params(net); i++)
        p[i] += 0.01f * (nn_rand_uniform(&rng) - 0.5f);
    CHECK(nn_net_set_classes(net, emotions, n_classes) == 0);
    nn_preproc *pre = nn_net_preproc(net);
    pre->equalize = 1;
    pre->scale = 1.0f / 255.0f;
    pre->bias = -0.5f;
    nn_meta *m = nn_net_meta(net);
    snprintf(m->dataset, sizeof m->dataset, "fer2013 (%d classes)", n_classes);
    snprintf(m->command, sizeof m->command, "emotion-train --arch x --epochs %d", 7);
    m->epochs = 7;
    m->val_accuracy = 0.6251f;
    m->created = 1763700000;
    m->train_seconds = 1234.5678;
    return net;
}

static int same_bits(const void *a, const void *b, size_t bytes)
{
    return bytes == 0 || memcmp(a, b, bytes) == 0;
}

static void check_same(nn_net *a, nn_net *b)
{
    int ac, ah, aw, bc, bh, bw;
    CHECK(strcmp(nn_net_spec(a), nn_net_spec(b)) == 0);
    nn_net_input_shape(a, &ac, &ah, &aw);
    nn_net_input_shape(b, &bc, &bh, &bw);
    CHECK(ac == bc && ah == bh && aw == bw);
    CHECK(nn_net_n_classes(a) == nn_net_n_classes(b));
    for (int i = 0; i < nn_net_n_classes(a) && i < nn_net_n_classes(b); i++)
        CHECK(strcmp(nn_net_class(a, i), nn_net_class(b, i)) == 0);
    CHECK(nn_net_n_params(a) == nn_net_n_params(b));
    CHECK(nn_net_n_state(a) == nn_net_n_state(b));
    if (nn_net_n_params(a) == nn_net_n_params(b))
        CHECK(same_bits(nn_net_params(a), nn_net_params(b), nn_net_n_params(a) * 4));
    if (nn_net_n_state(a) == nn_net_n_state(b))
        CHECK(same_bits(nn_net_state(a), nn_net_state(b), nn_net_n_state(a) * 4));

    const nn_preproc *pa = nn_net_preproc_c(a), *pb = nn_net_preproc_c(b);
    CHECK(pa->equalize == pb->equalize);
    CHECK(same_bits(&pa->scale, &pb->scale, 4) && same_bits(&pa->bias, &pb->bias, 4));
    const nn_meta *ma = nn_net_meta_c(a), *mb = nn_net_meta_c(b);
    CHECK(strcmp(ma->dataset, mb->dataset) == 0);
    CHECK(strcmp(ma->command, mb->command) == 0);
    CHECK(ma->epochs == mb->epochs && ma->created == mb->created);
    CHECK(same_bits(&ma->val_accuracy, &mb->val_accuracy, 4));
    CHECK(same_bits(&ma->train_seconds, &mb->train_seconds, 8));

    /* The same inputs give the same outputs, bit for bit. */
    size_t in = (size_t)ac * ah * aw, k = (size_t)nn_net_n_classes(a);
    int n = in > 10000 ? 1 : 3;
    float *x = malloc(n * in * sizeof *x), *ya = malloc(n * k * sizeof *ya);
    uint64_t rng = 42;
    for (size_t i = 0; i < n * in; i++)
        x[i] = nn_rand_uniform(&rng) - 0.5f;
    const float *y = nn_net_forward(a, x, n, 0);
    CHECK_MSG(y != NULL, "%s", nn_error());
    if (y) {
        memcpy(ya, y, n * k * sizeof *ya);
        y = nn_net_forward(b, x, n, 0);
        CHECK_MSG(y != NULL, "%s", nn_error());
        if (y)
            CHECK(same_bits(ya, y, n * k * sizeof *ya));
    }
    free(x);
    free(ya);
}

static size_t n_params_of(const char *spec)
{
    nn_net *net = nn_net_from_spec(spec, 7);
    size_t n = net ? nn_net_n_params(net) : 0;
    nn_net_free(net);
    return n;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_crc(void)
{
    const char *s = "123456789";
    CHECK(nn_crc32(0, s, 9) == 0xCBF43926u); /* the standard check value */
    CHECK(nn_crc32(0, s, 0) == 0);
    CHECK(nn_crc32(nn_crc32(0, s, 4), s + 4, 5) == 0xCBF43926u);
}

static void test_round_trip(const char *spec, int n_classes)
{
    nn_net *a = make_net(spec, n_classes, 7), *b;
    size_t len, len2;
    uint8_t *buf, *buf2;
    if (!a)
        return;
    buf = nn_net_save_mem(a, &len);
    CHECK_MSG(buf != NULL, "%s", nn_error());
    if (!buf) {
        nn_net_free(a);
        return;
    }
    CHECK(memcmp(buf, "EMOMODEL", 8) == 0 && rd32(buf + 8) == 1 && rd64(buf + 12) == len);
    b = load_exact(buf, len);
    CHECK_MSG(b != NULL, "%s", nn_error());
    if (b) {
        check_same(a, b);
        /* Saving what was loaded reproduces the file byte for byte. */
        buf2 = nn_net_save_mem(b, &len2);
        CHECK(buf2 && len2 == len && memcmp(buf, buf2, len) == 0);
        free(buf2);
        nn_net_free(b);
    }
    free(buf);
    nn_net_free(a);
}

static void test_file_round_trip(void)
{
    char dir[] = "/tmp/test_model_io.XXXXXX", path[256], tmp[320], sub[300];
    nn_net *a = make_net(small_spec, 7, 11), *b;
    if (!a)
        return;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/m.model", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);

    CHECK_MSG(nn_net_save(a, path) == 0, "%s", nn_error());
    CHECK(access(tmp, F_OK) != 0);
    b = nn_net_load(path);
    CHECK_MSG(b != NULL, "%s", nn_error());
    if (b) {
        check_same(a, b);
        nn_net_free(b);
    }
    /* Overwriting an existing model works too. */
    nn_net_meta(a)->epochs = 8;
    CHECK_MSG(nn_net_save(a, path) == 0, "%s", nn_error());
    b = nn_net_load(path);
    CHECK(b && nn_net_meta_c(b)->epochs == 8);
    nn_net_free(b);

    /* Only the model itself is left in the directory. */
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    CHECK(entries == 1);

    CHECK(nn_net_save(a, "") == -1 && nn_error()[0]);
    /* Unwritable: a missing directory. */
    snprintf(sub, sizeof sub, "%s/no/such/dir.model", dir);
    CHECK(nn_net_save(a, sub) == -1);
    CHECK(strstr(nn_error(), sub) && strstr(nn_error(), "No such file"));
    /* The rename fails: a directory is in the way; the tmp must go. */
    snprintf(sub, sizeof sub, "%s/d.model", dir);
    CHECK(mkdir(sub, 0700) == 0);
    CHECK(nn_net_save(a, sub) == -1);
    CHECK_MSG(strstr(nn_error(), sub) != NULL, "%s", nn_error());
    snprintf(tmp, sizeof tmp, "%s.tmp", sub);
    CHECK(access(tmp, F_OK) != 0);
    CHECK(rmdir(sub) == 0);

    /* Loading: missing, empty, a directory, a damaged file. */
    snprintf(sub, sizeof sub, "%s/missing.model", dir);
    CHECK(nn_net_load(sub) == NULL && strstr(nn_error(), sub) == nn_error());
    snprintf(sub, sizeof sub, "%s/empty.model", dir);
    FILE *f = fopen(sub, "wb");
    CHECK(f && fclose(f) == 0);
    CHECK(nn_net_load(sub) == NULL && strstr(nn_error(), sub) == nn_error());
    CHECK(remove(sub) == 0);
    CHECK(nn_net_load(dir) == NULL && strstr(nn_error(), dir) == nn_error());
    f = fopen(path, "r+b");
    CHECK(f && fseek(f, 40, SEEK_SET) == 0 && fputc('!', f) == '!' && fclose(f) == 0);
    CHECK(nn_net_load(path) == NULL);
    CHECK_MSG(strstr(nn_error(), "checksum mismatch") && strstr(nn_error(), path) == nn_error(),
              "%s", nn_error());

    CHECK(remove(path) == 0);
    CHECK(rmdir(dir) == 0);
    nn_net_free(a);
}

/* Every prefix, every flipped byte, junk of many sizes. */
static void test_damage(const uint8_t *buf, size_t len)
{
    for (size_t k = 0; k < len; k++)
        REJECT(buf, k, NULL);
    REJECT(buf, 0, "empty");
    REJECT(buf, 8, "truncated file (header)");
    REJECT(buf, len - 1, "truncated");

    uint8_t *c = malloc(len + 64);
    for (size_t i = 0; i < len; i++) {
        memcpy(c, buf, len);
        c[i] ^= 0xFF;
        REJECT(c, len, NULL);
    }
    /* Bytes appended after a valid model. */
    memcpy(c, buf, len);
    memset(c + len, 0, 64);
    REJECT(c, len + 1, "unexpected data");
    REJECT(c, len + 64, "unexpected data");
    free(c);

    static const size_t sizes[] = {1, 4, 7, 8, 12, 19, 20, 23, 24, 32, 33, 100, 1000, 4096};
    uint64_t rng = test_seed(1234);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        uint8_t *z = calloc(1, n);
        REJECT(z, n, "not a model file");
        for (size_t i = 0; i < n; i++)
            z[i] = (uint8_t)nn_rand_u64(&rng);
        REJECT(z, n, NULL);
        /* Random content behind a valid header, size and CRC. */
        if (n >= 24) {
            memcpy(z, "EMOMODEL", 8);
            wr32(z + 8, 1);
            wr64(z + 12, n);
            fix_crc(z, n);
            REJECT(z, n, NULL);
        }
        free(z);
    }
}

/* Random edits with the checksum repaired: the structural checks alone
 * stand between the file and a crash. Loads may succeed; none may crash. */
static void test_mutations(const uint8_t *buf, size_t len)
{
    uint8_t *c = malloc(len);
    uint64_t rng = test_seed(99);
    for (int it = 0; it < 3000; it++) {
        memcpy(c, buf, len);
        int edits = 1 + (int)(nn_rand_u64(&rng) % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = 20 + (size_t)(nn_rand_u64(&rng) % (len - 24));
            uint64_t r = nn_rand_u64(&rng);
            switch (r % 4) {
            case 0: c[at] ^= (uint8_t)(1u << (r >> 8) % 8); break;
            case 1: c[at] = (uint8_t)(r >> 16); break;
            case 2: c[at] = 0xFF; break;
            default: c[at] = 0; break;
            }
        }
        fix_crc(c, len);
        nn_net_free(load_exact(c, len));
    }
    free(c);
}

static void test_header(const uint8_t *buf, size_t len)
{
    uint8_t *c = malloc(len);

    memcpy(c, buf, len);
    c[0] = 'X';
    REJECT(c, len, "not a model file");
    REJECT((const uint8_t *)"EMO", 3, "truncated");
    REJECT((const uint8_t *)"PK\3\4", 4, "not a model file");
    /* the trainer's checkpoint, the file most often mistaken for a model */
    REJECT((const uint8_t *)"EMOCKPT\0\1\0\0\0\0\0\0\0", 16, "a training checkpoint, not a model");
    /* a device has no size to read: said, not "file changed while reading" */
    CHECK(nn_net_load("/dev/zero") == NULL && strstr(nn_error(), "not a regular file"));

    memcpy(c, buf, len);
    wr32(c + 8, 3);
    fix_crc(c, len);
    REJECT(c, len, "model version 3 is newer than this program supports (1)");
    wr32(c + 8, 0xFFFFFFFFu);
    fix_crc(c, len);
    REJECT(c, len, "newer");
    wr32(c + 8, 0);
    fix_crc(c, len);
    REJECT(c, len, "version 0");

    memcpy(c, buf, len);
    wr64(c + 12, UINT64_MAX);
    fix_crc(c, len);
    REJECT(c, len, "truncated");
    wr64(c + 12, 5);
    fix_crc(c, len);
    REJECT(c, len, "too small");

    memcpy(c, buf, len);
    c[len - 1] ^= 1;
    REJECT(c, len, "checksum mismatch: file is damaged");
    free(c);
}

/* Structurally bad files with a valid size and CRC: each check must fire. */
static void test_structure(const uint8_t *buf, size_t len)
{
    static const char *const tags[] = {"ARCH", "CLAS", "INPT", "PREP", "META", "PARM", "STAT"};
    uint8_t p[2048], *f, *c;
    size_t flen, off, plen;
    nn_net *net;

#define WITH(tag, payload, n, needle) do { \
        f = rebuild(buf, len, (tag), (payload), (n), 0, &flen); \
        REJECT(f, flen, (needle)); \
        free(f); } while (0)

    /* The rebuilder itself reproduces a loadable file. */
    off = find_sec(buf, len, "INPT", &plen);
    CHECK(off != 0 && plen == 12);
    f = rebuild(buf, len, "INPT", buf + off, plen, 0, &flen);
    CHECK(flen == len && memcmp(f, buf, len) == 0);
    free(f);

    for (int i = 0; i < 7; i++)
        WITH(tags[i], NULL, 0, "missing section");
    off = find_sec(buf, len, "INPT", &plen);
    f = rebuild(buf, len, "INPT", buf + off, plen, 1, &flen);
    REJECT(f, flen, "duplicate section INPT");
    free(f);

    /* Unknown sections are skipped. */
    f = rebuild(buf, len, "XTRA", "future stuff", 12, 1, &flen);
    net = load_exact(f, flen);
    CHECK_MSG(net != NULL, "%s", nn_error());
    nn_net_free(net);
    free(f);
    f = rebuild(buf, len, "\0\0\0\0", "", 0, 1, &flen);
    net = load_exact(f, flen);
    CHECK_MSG(net != NULL, "%s", nn_error());
    nn_net_free(net);
    free(f);

    /* Section lengths that run past the end, huge or off by one. */
    c = malloc(len);
    for (int i = 0; i < 7; i++) {
        off = find_sec(buf, len, tags[i], &plen);
        uint64_t bad[] = {UINT64_MAX, (uint64_t)1 << 63, len, plen + (len - 4 - off - plen) + 1};
        for (int j = 0; j < 4; j++) {
            memcpy(c, buf, len);
            wr64(c + off - 8, bad[j]);
            fix_crc(c, len);
            REJECT(c, len, NULL);
        }
        /* A section cut short by one byte, the rest taken as a new one. */
        memcpy(c, buf, len);
        wr64(c + off - 8, plen ? plen - 1 : 0);
        fix_crc(c, len);
        REJECT(c, len, NULL);
    }
    free(c);

    /* ARCH: empty, with a NUL, too long, not a spec. */
    WITH("ARCH", "", 0, "ARCH");
    WITH("ARCH", "input 6 6 1\0conv", 16, "NUL");
    {
        size_t n = 70000;
        char *big = malloc(n);
        memset(big, '#', n);
        WITH("ARCH", big, n, "ARCH");
        free(big);
    }
    WITH("ARCH", "this is not a spec", 18, "ARCH");
    {
        /* Parses, same parameter count, other geometry: INPT must object. */
        const char *other = "input 7 6 1\nconv 2 3x3 relu\nbn\nmaxpool 2\ndense classes softmax\n";
        WITH("ARCH", other, strlen(other), "INPT");
    }

    /* CLAS: zero, too many, huge string lengths, NUL and overlong names. */
    off = find_sec(buf, len, "CLAS", &plen);
    memcpy(p, buf + off, plen);
    wr32(p, 0);
    WITH("CLAS", p, plen, "0 classes");
    wr32(p, NN_MAX_CLASSES + 1);
    WITH("CLAS", p, plen, "classes");
    wr32(p, 0xFFFFFFFFu);
    WITH("CLAS", p, plen, "classes");
    wr32(p, 8); /* one more than the names present */
    WITH("CLAS", p, plen, "truncated");
    memcpy(p, buf + off, plen);
    wr32(p + 4, 0xFFFFFFFFu);
    WITH("CLAS", p, plen, "class name");
    wr32(p + 4, 1000);
    WITH("CLAS", p, plen, "class name");
    memcpy(p, buf + off, plen);
    p[9] = 0; /* inside "angry" */
    WITH("CLAS", p, plen, "NUL");
    memcpy(p, buf + off, plen);
    WITH("CLAS", p, plen + 1, "longer than its contents");
    memcpy(p, buf + off, plen);
    wr32(p, 6); /* a consistent 6-name table for a 7-way net */
    WITH("CLAS", p, plen - 4 - strlen("neutral"), "PARM");
    {
        /* A 64-byte name: one too long. */
        size_t n = 0;
        wr32(p, 7);
        n = 4;
        for (int i = 0; i < 7; i++) {
            size_t l = i == 3 ? NN_NAME_MAX : 2;
            wr32(p + n, (uint32_t)l);
            memset(p + n + 4, 'a' + i, l);
            n += 4 + l;
        }
        WITH("CLAS", p, n, "class name");
    }

    /* INPT: a different geometry, short, long. */
    wr32(p, 1), wr32(p + 4, 6), wr32(p + 8, 7);
    WITH("INPT", p, 12, "INPT");
    wr32(p, 3), wr32(p + 4, 6), wr32(p + 8, 6);
    WITH("INPT", p, 12, NULL);
    wr32(p, 1), wr32(p + 4, 0xFFFFFFFFu), wr32(p + 8, 0xFFFFFFFFu);
    WITH("INPT", p, 12, "INPT");
    WITH("INPT", p, 8, "truncated");
    WITH("INPT", p, 13, "longer than its contents");

    /* PREP: flags out of range or contradicting, non-finite numbers. */
    off = find_sec(buf, len, "PREP", &plen);
    CHECK(plen == 16);
    memcpy(p, buf + off, 16);
    wr32(p, 0);
    WITH("PREP", p, 16, "grayscale");
    memcpy(p, buf + off, 16);
    wr32(p + 4, 2);
    WITH("PREP", p, 16, "PREP");
    memcpy(p, buf + off, 16);
    wr32(p + 8, 0x7FC00000u); /* NaN */
    WITH("PREP", p, 16, "finite");
    memcpy(p, buf + off, 16);
    wr32(p + 12, 0x7F800000u); /* +inf */
    WITH("PREP", p, 16, "finite");

    /* META: string lengths beyond the fields. */
    off = find_sec(buf, len, "META", &plen);
    memcpy(p, buf + off, plen);
    wr32(p, 256);
    WITH("META", p, plen, "dataset");
    wr32(p, 0xFFFFFFFFu);
    WITH("META", p, plen, "dataset");
    memcpy(p, buf + off, plen);
    WITH("META", p, plen - 1, "truncated");

    /* PARM and STAT: absurd counts, wrong counts, non-finite values. */
    for (int s = 0; s < 2; s++) {
        const char *tag = s ? "STAT" : "PARM";
        off = find_sec(buf, len, tag, &plen);
        uint8_t *q = calloc(1, plen + 8);
        uint64_t count = rd64(buf + off);
        CHECK(plen == 8 + 4 * count && count > 0);
        memcpy(q, buf + off, plen);
        wr64(q, UINT64_MAX);
        WITH(tag, q, plen, "count");
        wr64(q, (uint64_t)1 << 62); /* times 4 wraps to 0 */
        WITH(tag, q, plen, "count");
        wr64(q, count + 1);
        WITH(tag, q, plen, "count");
        wr64(q, count - 1);
        WITH(tag, q, plen, tag);
        WITH(tag, q, plen - 4, tag);
        memcpy(q, buf + off, plen);
        WITH(tag, q, plen + 4, tag);
        wr32(q + 8 + 4 * (count / 2), 0x7F800000u);
        WITH(tag, q, plen, "not finite");
        wr32(q + 8 + 4 * (count / 2), 0xFFC00001u);
        WITH(tag, q, plen, "not finite");
        free(q);
    }
#undef WITH
}

/* The last dense layer of net (the classifier). */
static const nn_layer *classifier(const nn_net *net)
{
    const nn_layer *head = NULL;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == NN_L_DENSE)
            head = &net->layers[i];
    return head;
}

/* nn_net_transfer: all but the classifier copied; classifier rows (and a
 * batch norm after it) follow class names, whatever their order; classes
 * the source lacks keep their own rows. */
static void test_transfer(void)
{
    static const char *const head_bn_spec =
        "input 6x6x1\nconv 3 3x3 same bn relu\nmaxpool 2\ndense 4 relu\ndense classes bn softmax\n";
    const char *src_names[3] = {"happy", "sad", "angry"};
    const char *perm_names[3] = {"angry", "happy", "sad"};  /* src 2, 0, 1 */
    const char *other_names[4] = {"fear", "sad", "disgust", "happy"}; /* -, 1, -, 0 */
    const int perm_from[3] = {2, 0, 1};
    nn_net *src = make_net(head_bn_spec, 3, 21);
    nn_net *perm = make_net(head_bn_spec, 3, 22);
    nn_net *other = make_net(head_bn_spec, 4, 23);
    nn_net *alien = make_net(small_spec, 3, 24);
    if (!src || !perm || !other || !alien)
        goto out;
    nn_net_set_classes(src, src_names, 3);
    nn_net_set_classes(perm, perm_names, 3);
    nn_net_set_classes(other, other_names, 4);
    nn_net_preproc(src)->equalize = 0;
    nn_net_preproc(src)->scale = 0.5f;

    CHECK(nn_net_transfer(perm, src) == 3);
    CHECK(nn_net_preproc_c(perm)->equalize == 0 && nn_net_preproc_c(perm)->scale == 0.5f);
    float x[2 * 36];
    uint64_t rng = 5;
    for (int i = 0; i < 2 * 36; i++)
        x[i] = nn_rand_uniform(&rng);
    float p_src[2 * 3], p_perm[2 * 3];
    memcpy(p_src, nn_net_forward(src, x, 2, 0), sizeof p_src);
    memcpy(p_perm, nn_net_forward(perm, x, 2, 0), sizeof p_perm);
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 3; i++)
            CHECK_NEAR(p_perm[n * 3 + i], p_src[n * 3 + perm_from[i]], 1e-6);

    /* Different class sets: the shared classes' rows move, the rest stay. */
    const nn_layer *sh = classifier(src), *oh = classifier(other);
    size_t row = oh->nw / (size_t)oh->out_c;
    float fear_row[64];
    CHECK(row <= 64);
    memcpy(fear_row, oh->w, row * sizeof(float));
    float fear_gamma = oh[1].w[0];
    CHECK(nn_net_transfer(other, src) == 2);
    CHECK(memcmp(oh->w, fear_row, row * sizeof(float)) == 0 && oh[1].w[0] == fear_gamma);
    CHECK(memcmp(oh->w + 1 * row, sh->w + 1 * row, row * sizeof(float)) == 0); /* sad */
    CHECK(memcmp(oh->w + 3 * row, sh->w + 0 * row, row * sizeof(float)) == 0); /* happy */
    CHECK(oh->b[3] == sh->b[0] && oh[1].w[3] == sh[1].w[0] && oh[1].mean[3] == sh[1].mean[0] &&
          oh[1].var[3] == sh[1].var[0]);
    /* Everything before the classifier is the source's. */
    const nn_layer *sc = &src->layers[1], *oc = &other->layers[1];
    CHECK(sc->kind == NN_L_CONV && memcmp(oc->w, sc->w, sc->nw * sizeof(float)) == 0 &&
          memcmp(oc->b, sc->b, sc->nb * sizeof(float)) == 0);
    CHECK(memcmp(other->layers[2].mean, src->layers[2].mean, 3 * sizeof(float)) == 0);

    CHECK(nn_net_transfer(alien, src) == -1 && strstr(nn_error(), "architectures differ"));
out:
    nn_net_free(src);
    nn_net_free(perm);
    nn_net_free(other);
    nn_net_free(alien);
}

static void test_save_refuses(void)
{
    nn_net *net = make_net(small_spec, 7, 3);
    size_t len = 123;
    if (!net)
        return;
    nn_net_params(net)[5] = NAN;
    CHECK(nn_net_save_mem(net, &len) == NULL && len == 0);
    CHECK(strstr(nn_error(), "not finite") != NULL);
    nn_net_params(net)[5] = 0;
    nn_net_preproc(net)->scale = INFINITY;
    CHECK(nn_net_save_mem(net, &len) == NULL);
    nn_net_free(net);
}

int main(void)
{
    test_crc();
    test_round_trip(small_spec, 7);
    test_round_trip(dense_spec, 2);
    /* The presets the app ships, and any other that is quick under ASan
     * (NN_TEST_SLOW=1 includes all). */
    for (int i = 0; nn_preset_names[i]; i++) {
        const char *name = nn_preset_names[i], *spec = nn_preset_spec(name);
        CHECK(spec != NULL);
        if (spec && (strcmp(name, "fer-classic") == 0 || strcmp(name, "fer-compact") == 0 ||
                     getenv("NN_TEST_SLOW") || n_params_of(spec) < 4000000))
            test_round_trip(spec, 7);
    }
    CHECK(nn_preset_spec("fer-classic") != NULL);
    CHECK(nn_preset_spec("fer-compact") != NULL);
    test_file_round_trip();
    test_save_refuses();
    test_transfer();

    nn_net *net = make_net(small_spec, 7, 5);
    size_t len;
    uint8_t *buf = net ? nn_net_save_mem(net, &len) : NULL;
    CHECK(buf != NULL);
    if (buf) {
        test_header(buf, len);
        test_structure(buf, len);
        test_damage(buf, len);
        test_mutations(buf, len);
    }
    free(buf);
    nn_net_free(net);
    return test_done("test_model_io");
}
