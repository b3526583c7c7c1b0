/*
 * model_io.c - the `.model` file: save and load a network with everything
 * needed to use it (architecture, class names, input preprocessing,
 * training metadata, weights, batch-norm state).
 *
 * FORMAT, version 1. Every field is little-endian and fixed-width, written
 * and read byte by byte, so files move between machines unchanged. f32/f64
 * are IEEE-754 bit patterns. A `str` is a u32 byte count then the bytes
 * (no NUL terminator; NUL bytes inside are rejected).
 *
 *   offset    size  field
 *   0         8     magic "EMOMODEL"
 *   8         4     u32 version = 1
 *   12        8     u64 file size in bytes, this header and trailer included
 *   20        ...   sections, back to back, until the trailer
 *   size-4    4     u32 CRC-32 (IEEE 802.3, as zlib) of bytes [0, size-4)
 *
 * A section is   u8 tag[4] (ASCII), u64 length, `length` bytes of payload.
 * Sections may come in any order. Each version-1 section below must appear
 * exactly once and its payload must be consumed exactly; sections with
 * other tags are skipped, so a later version can add sections without
 * breaking older readers (a version bump is for incompatible changes).
 *
 *   ARCH  spec text as in nn_net_spec(), the section length is its length
 *         (<= 64 KiB, no NUL). The loader rebuilds the net with
 *         nn_net_from_spec(spec, n_classes).
 *   CLAS  u32 n_classes (1..NN_MAX_CLASSES), then n_classes x str name
 *         (< NN_NAME_MAX bytes each), in output order.
 *   INPT  u32 c, u32 h, u32 w: input geometry; must match the rebuilt net.
 *   PREP  u32 grayscale (1 iff c == 1), u32 equalize (0/1), f32 scale,
 *         f32 bias (finite): see struct nn_preproc.
 *   META  str dataset (< 256 bytes), str command (< 1024 bytes), i32 epochs,
 *         f32 val_accuracy, i64 created (unix time), f64 train_seconds.
 *   PARM  u64 count, count x f32: the flat trainable parameters; count must
 *         equal nn_net_n_params of the rebuilt net; all finite.
 *   STAT  u64 count, count x f32: the flat batch-norm running statistics;
 *         count must equal nn_net_n_state; all finite.
 *
 * Optional sections (at most once each; files without them load as
 * before, and readers that predate one skip it, so files with it still
 * load there, as uncalibrated FP32 models):
 *   QNT8  INT8 calibration (nn_net_calibrate_int8): u32 n_layers (must
 *         equal the rebuilt net's layer count, input included), then
 *         n_layers x (f32 lo, f32 hi): the range of each layer's output
 *         over the calibration images, finite, lo <= hi. The int8 weights
 *         are not stored: they are made from PARM when the net runs.
 *   CALB  probability calibration (struct nn_calib): u32 section version
 *         = 1, u32 kind (1 temperature, 2 vector scaling), u32 n_classes
 *         (must equal CLAS's), n_classes x f32 scale (finite, > 0), then
 *         n_classes x f32 bias (finite). Written only for a calibrated net.
 *         A later section version is refused rather than misread.
 *
 * The loader checks, in order: magic, version, header size against the
 * real size (truncation), CRC, then every section and every count against
 * the bytes that hold it before anything is sized from it.
 */
#include "nn_impl.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODEL_MAGIC "EMOMODEL"
#define MODEL_VERSION 1u
#define CALIB_VERSION 1u       /* of the optional CALB section */
#define HEADER_BYTES 20u       /* magic + version + file size */
#define SECTION_HEADER 12u     /* tag + u64 length */
#define SPEC_MAX (64u * 1024u) /* far above any sane architecture text */
/* nn_net_load refuses bigger files before reading them into memory. */
#define FILE_MAX ((long long)1 << 31)

/* ---- CRC-32 ------------------------------------------------------------- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1; /* reflected 0x04C11DB7 */
        crc_table[i] = c;
    }
}

uint32_t nn_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    pthread_once(&crc_once, crc_init);
    crc = ~crc; /* pre- and post-inversion make runs composable, as in zlib */
    for (size_t i = 0; i < len; i++)
        crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ---- little-endian byte access -------------------------------------------- */

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- writer ---------------------------------------------------------------- */

/* With p == NULL the writer only counts, so one function both sizes and
 * fills the buffer and the two can never disagree. */
typedef struct writer {
    uint8_t *p;
    size_t pos;
    int overflow;
} writer;

static void wr_bytes(writer *w, const void *src, size_t n)
{
    if (n > SIZE_MAX - w->pos) {
        w->overflow = 1;
        return;
    }
    if (w->p && n)
        memcpy(w->p + w->pos, src, n);
    w->pos += n;
}

static void wr_u32(writer *w, uint32_t v)
{
    uint8_t b[4];
    put_u32(b, v);
    wr_bytes(w, b, 4);
}

static void wr_u64(writer *w, uint64_t v)
{
    uint8_t b[8];
    put_u64(b, v);
    wr_bytes(w, b, 8);
}

static void wr_f32(writer *w, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    wr_u32(w, v);
}

static void wr_f64(writer *w, double f)
{
    uint64_t v;
    memcpy(&v, &f, 8);
    wr_u64(w, v);
}

static void wr_str(writer *w, const char *s, size_t n)
{
    wr_u32(w, (uint32_t)n);
    wr_bytes(w, s, n);
}

static void wr_floats(writer *w, const float *v, size_t n)
{
    wr_u64(w, (uint64_t)n);
    for (size_t i = 0; i < n; i++)
        wr_f32(w, v[i]);
}

/* Start a section: tag and a length patched in by wr_end. */
static size_t wr_begin(writer *w, const char tag[4])
{
    size_t start = w->pos;
    wr_bytes(w, tag, 4);
    wr_u64(w, 0);
    return start;
}

static void wr_end(writer *w, size_t start)
{
    if (w->p && !w->overflow)
        put_u64(w->p + start + 4, (uint64_t)(w->pos - start - SECTION_HEADER));
}

/* The const net's buffers are only read here; the accessors lack const
 * variants, hence the cast. */
static const float *params_of(const nn_net *net) { return net->params; } /* read only */
static float *state_of(const nn_net *net) { return nn_net_state((nn_net *)net); }

/* The optional QNT8 section, when the net has an INT8 calibration. */
static void serialize_qnt8(const nn_net *net, writer *w)
{
    const float *lo, *hi;
    int n = nn__q8_ranges(net, &lo, &hi);
    if (n <= 0)
        return;
    size_t s = wr_begin(w, "QNT8");
    wr_u32(w, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        wr_f32(w, lo[i]);
        wr_f32(w, hi[i]);
    }
    wr_end(w, s);
}

static void serialize(const nn_net *net, writer *w)
{
    const char *spec = nn_net_spec(net);
    int n_classes = nn_net_n_classes(net), c, h, ww;
    const nn_preproc *pre = nn_net_preproc_c(net);
    const nn_meta *meta = nn_net_meta_c(net);
    size_t s;

    nn_net_input_shape(net, &c, &h, &ww);
    wr_bytes(w, MODEL_MAGIC, 8);
    wr_u32(w, MODEL_VERSION);
    wr_u64(w, 0); /* file size, patched below */

    s = wr_begin(w, "ARCH");
    wr_bytes(w, spec, strlen(spec));
    wr_end(w, s);

    s = wr_begin(w, "CLAS");
    wr_u32(w, (uint32_t)n_classes);
    for (int i = 0; i < n_classes; i++) {
        const char *name = nn_net_class(net, i);
        if (!name)
            name = "";
        wr_str(w, name, strnlen(name, NN_NAME_MAX - 1));
    }
    wr_end(w, s);

    s = wr_begin(w, "INPT");
    wr_u32(w, (uint32_t)c);
    wr_u32(w, (uint32_t)h);
    wr_u32(w, (uint32_t)ww);
    wr_end(w, s);

    s = wr_begin(w, "PREP");
    wr_u32(w, c == 1);
    wr_u32(w, pre->equalize != 0);
    wr_f32(w, pre->scale);
    wr_f32(w, pre->bias);
    wr_end(w, s);

    s = wr_begin(w, "META");
    wr_str(w, meta->dataset, strnlen(meta->dataset, sizeof meta->dataset - 1));
    wr_str(w, meta->command, strnlen(meta->command, sizeof meta->command - 1));
    wr_u32(w, (uint32_t)meta->epochs);
    wr_f32(w, meta->val_accuracy);
    wr_u64(w, (uint64_t)meta->created);
    wr_f64(w, meta->train_seconds);
    wr_end(w, s);

    s = wr_begin(w, "PARM");
    wr_floats(w, params_of(net), nn_net_n_params(net));
    wr_end(w, s);

    s = wr_begin(w, "STAT");
    wr_floats(w, state_of(net), nn_net_n_state(net));
    wr_end(w, s);

    serialize_qnt8(net, w);

    const nn_calib *cal = nn_net_calib(net);
    if (cal->kind != NN_CALIB_NONE) {
        s = wr_begin(w, "CALB");
        wr_u32(w, CALIB_VERSION);
        wr_u32(w, (uint32_t)cal->kind);
        wr_u32(w, (uint32_t)cal->n_classes);
        for (int i = 0; i < cal->n_classes; i++)
            wr_f32(w, cal->scale[i]);
        for (int i = 0; i < cal->n_classes; i++)
            wr_f32(w, cal->bias[i]);
        wr_end(w, s);
    }

    if (w->p && !w->overflow) {
        put_u64(w->p + 12, (uint64_t)w->pos + 4);
        wr_u32(w, nn_crc32(0, w->p, w->pos));
    } else {
        wr_u32(w, 0);
    }
}

/* Refuse to write what the loader would refuse to read. */
static int check_savable(const nn_net *net)
{
    const char *spec = nn_net_spec(net);
    int n = nn_net_n_classes(net), c, h, w;
    const nn_preproc *pre = nn_net_preproc_c(net);
    const float *v;
    size_t count;

    if (!spec)
        return nn_fail("cannot save: network has no spec text");
    if (strlen(spec) > SPEC_MAX)
        return nn_fail("cannot save: spec text longer than %u bytes", SPEC_MAX);
    if (n < 1 || n > NN_MAX_CLASSES)
        return nn_fail("cannot save: %d classes (1..%d allowed)", n, NN_MAX_CLASSES);
    nn_net_input_shape(net, &c, &h, &w);
    if (c < 1 || h < 1 || w < 1)
        return nn_fail("cannot save: bad input shape %dx%dx%d", c, h, w);
    if (!isfinite(pre->scale) || !isfinite(pre->bias))
        return nn_fail("cannot save: preprocessing scale/bias not finite");
    v = params_of(net);
    count = nn_net_n_params(net);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(v[i]))
            return nn_fail("cannot save: parameter %zu is not finite (diverged training?)", i);
    v = state_of(net);
    count = nn_net_n_state(net);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(v[i]))
            return nn_fail("cannot save: batch-norm state %zu is not finite", i);
    return 0;
}

void *nn_net_save_mem(const nn_net *net, size_t *len)
{
    writer w = {0};
    *len = 0;
    if (check_savable(net) < 0)
        return NULL;
    serialize(net, &w);
    if (w.overflow)
        return nn_fail_null("cannot save: model too large");
    size_t size = w.pos;
    w = (writer){.p = malloc(size)};
    if (!w.p)
        return nn_fail_null("cannot save: out of memory (%zu bytes)", size);
    serialize(net, &w);
    *len = size;
    return w.p;
}

/* ---- file writing ------------------------------------------------------------ */

/* Through PATH.tmp-XXXXXX renamed into place (nn__write_file), so a crash or full
 * disk never leaves a half-written model under the real name. */
int nn_net_save(const nn_net *net, const char *path)
{
    size_t len;
    if (!*path)
        return nn_fail("cannot save: empty file name");
    void *buf = nn_net_save_mem(net, &len);
    if (!buf) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", nn_error());
        return nn_fail("%s: %s", path, msg);
    }
    int rc = nn__write_file(path, buf, len);
    free(buf);
    return rc;
}

/* ---- reader --------------------------------------------------------------------- */

/* A bounded cursor over one section's payload. Every read checks the
 * remaining length first, so no read can leave the buffer. */
typedef struct reader {
    const uint8_t *p;
    size_t len, pos;
    const char *sec; /* section tag, for messages */
} reader;

static int rd_need(reader *r, size_t n)
{
    if (r->len - r->pos < n)
        return nn_fail("truncated file (section %s)", r->sec);
    return 0;
}

static int rd_u32(reader *r, uint32_t *v)
{
    if (rd_need(r, 4) < 0)
        return -1;
    *v = get_u32(r->p + r->pos);
    r->pos += 4;
    return 0;
}

static int rd_u64(reader *r, uint64_t *v)
{
    if (rd_need(r, 8) < 0)
        return -1;
    *v = get_u64(r->p + r->pos);
    r->pos += 8;
    return 0;
}

static int rd_f32(reader *r, float *f)
{
    uint32_t v;
    if (rd_u32(r, &v) < 0)
        return -1;
    memcpy(f, &v, 4);
    return 0;
}

static int rd_f64(reader *r, double *f)
{
    uint64_t v;
    if (rd_u64(r, &v) < 0)
        return -1;
    memcpy(f, &v, 8);
    return 0;
}

/* A str into out[cap] (NUL-terminated): length < cap, no NUL inside. */
static int rd_str(reader *r, char *out, size_t cap, const char *what)
{
    uint32_t n;
    if (rd_u32(r, &n) < 0)
        return -1;
    if (n >= cap)
        return nn_fail("%s: %s is %u bytes (at most %zu allowed)", r->sec, what, n, cap - 1);
    if (rd_need(r, n) < 0)
        return -1;
    if (memchr(r->p + r->pos, 0, n))
        return nn_fail("%s: %s contains a NUL byte", r->sec, what);
    memcpy(out, r->p + r->pos, n);
    out[n] = '\0';
    r->pos += n;
    return 0;
}

/* The u64 count of a float array, checked against the bytes that follow. */
static int rd_count(reader *r, uint64_t *count)
{
    if (rd_u64(r, count) < 0)
        return -1;
    if (*count > (r->len - r->pos) / 4)
        return nn_fail("%s: count %llu exceeds the section's size", r->sec,
                       (unsigned long long)*count);
    return 0;
}

static int rd_floats(reader *r, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (rd_f32(r, &dst[i]) < 0)
            return -1;
        if (!isfinite(dst[i]))
            return nn_fail("%s: value %zu is not finite", r->sec, i);
    }
    return 0;
}

static int rd_done(const reader *r)
{
    if (r->pos != r->len)
        return nn_fail("%s: section is %zu bytes longer than its contents", r->sec,
                       r->len - r->pos);
    return 0;
}

enum { S_ARCH, S_CLAS, S_INPT, S_PREP, S_META, S_PARM, S_STAT, S_COUNT };
static const char *const section_tags[S_COUNT] = {
    "ARCH", "CLAS", "INPT", "PREP", "META", "PARM", "STAT",
};

/* Everything read before the net exists, so nothing is sized from the file
 * until it has been checked. */
typedef struct loaded {
    reader sec[S_COUNT];
    reader qnt8;           /* optional; p == NULL when absent */
    reader calib;            /* optional CALB (p NULL when absent) */
    char *spec;
    int n_classes;
    char names[NN_MAX_CLASSES][NN_NAME_MAX];
    uint32_t c, h, w;
    nn_preproc pre;
    nn_meta meta;
    uint64_t n_params, n_state;
} loaded;

/* Locate the sections between the header and the trailer. */
static int find_sections(loaded *m, const uint8_t *b, size_t end)
{
    size_t pos = HEADER_BYTES;
    while (pos < end) {
        uint64_t slen;
        int k;
        if (end - pos < SECTION_HEADER)
            return nn_fail("truncated file (section header at offset %zu)", pos);
        slen = get_u64(b + pos + 4);
        if (slen > end - pos - SECTION_HEADER)
            return nn_fail("section at offset %zu: length %llu runs past the end of the file",
                           pos, (unsigned long long)slen);
        for (k = 0; k < S_COUNT; k++)
            if (memcmp(b + pos, section_tags[k], 4) == 0)
                break;
        if (k < S_COUNT) {
            if (m->sec[k].p)
                return nn_fail("duplicate section %s", section_tags[k]);
            m->sec[k] = (reader){b + pos + SECTION_HEADER, (size_t)slen, 0, section_tags[k]};
        } else if (memcmp(b + pos, "QNT8", 4) == 0) {
            if (m->qnt8.p)
                return nn_fail("duplicate section QNT8");
            m->qnt8 = (reader){b + pos + SECTION_HEADER, (size_t)slen, 0, "QNT8"};
        } else if (memcmp(b + pos, "CALB", 4) == 0) {
            if (m->calib.p)
                return nn_fail("duplicate section CALB");
            m->calib = (reader){b + pos + SECTION_HEADER, (size_t)slen, 0, "CALB"};
        } /* else: a section from a later version; skip it */
        pos += SECTION_HEADER + (size_t)slen;
    }
    for (int k = 0; k < S_COUNT; k++)
        if (!m->sec[k].p)
            return nn_fail("missing section %s", section_tags[k]);
    return 0;
}

static int parse_sections(loaded *m)
{
    reader *r;
    uint32_t u, gray, eq;

    r = &m->sec[S_ARCH];
    if (r->len == 0 || r->len > SPEC_MAX)
        return nn_fail("ARCH: spec text is %zu bytes (1..%u allowed)", r->len, SPEC_MAX);
    if (memchr(r->p, 0, r->len))
        return nn_fail("ARCH: spec text contains a NUL byte");
    m->spec = malloc(r->len + 1); /* bounded by SPEC_MAX above */
    if (!m->spec)
        return nn_fail("out of memory");
    memcpy(m->spec, r->p, r->len);
    m->spec[r->len] = '\0';

    r = &m->sec[S_CLAS];
    if (rd_u32(r, &u) < 0)
        return -1;
    if (u < 1 || u > NN_MAX_CLASSES)
        return nn_fail("CLAS: %u classes (1..%d allowed)", u, NN_MAX_CLASSES);
    m->n_classes = (int)u;
    for (int i = 0; i < m->n_classes; i++)
        if (rd_str(r, m->names[i], NN_NAME_MAX, "class name") < 0)
            return -1;
    if (rd_done(r) < 0)
        return -1;

    r = &m->sec[S_INPT];
    if (rd_u32(r, &m->c) < 0 || rd_u32(r, &m->h) < 0 || rd_u32(r, &m->w) < 0 || rd_done(r) < 0)
        return -1;

    r = &m->sec[S_PREP];
    if (rd_u32(r, &gray) < 0 || rd_u32(r, &eq) < 0 || rd_f32(r, &m->pre.scale) < 0 ||
        rd_f32(r, &m->pre.bias) < 0 || rd_done(r) < 0)
        return -1;
    if (gray > 1 || eq > 1)
        return nn_fail("PREP: flags must be 0 or 1");
    if (gray != (m->c == 1))
        return nn_fail("PREP: grayscale flag %u contradicts an input of %u channels", gray, m->c);
    if (!isfinite(m->pre.scale) || !isfinite(m->pre.bias))
        return nn_fail("PREP: scale or bias is not finite");
    m->pre.equalize = (int)eq;

    r = &m->sec[S_META];
    uint64_t created;
    if (rd_str(r, m->meta.dataset, sizeof m->meta.dataset, "dataset") < 0 ||
        rd_str(r, m->meta.command, sizeof m->meta.command, "command") < 0 ||
        rd_u32(r, &u) < 0 || rd_f32(r, &m->meta.val_accuracy) < 0 ||
        rd_u64(r, &created) < 0 || rd_f64(r, &m->meta.train_seconds) < 0 || rd_done(r) < 0)
        return -1;
    m->meta.epochs = (int32_t)u;     /* two's complement bit pattern */
    m->meta.created = (int64_t)created;

    /* Counts only; the values are read once the net holds a buffer for them. */
    if (rd_count(&m->sec[S_PARM], &m->n_params) < 0 ||
        rd_count(&m->sec[S_STAT], &m->n_state) < 0)
        return -1;
    if (m->sec[S_PARM].len - m->sec[S_PARM].pos != m->n_params * 4)
        return nn_fail("PARM: section size does not match its count");
    if (m->sec[S_STAT].len - m->sec[S_STAT].pos != m->n_state * 4)
        return nn_fail("STAT: section size does not match its count");
    return 0;
}

/* The optional QNT8 section into the built net. */
static int load_qnt8(reader *r, nn_net *net)
{
    uint32_t n;
    if (rd_u32(r, &n) < 0)
        return -1;
    if (n != (uint32_t)net->n_layers)
        return nn_fail("QNT8: ranges for %u layers, the architecture has %d", n, net->n_layers);
    if (r->len - r->pos != (size_t)n * 8)
        return nn_fail("QNT8: section size does not match its count");
    float *lo = malloc(sizeof(float) * n), *hi = malloc(sizeof(float) * n);
    int rc = lo && hi ? 0 : nn_fail("out of memory");
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        if (rd_f32(r, &lo[i]) < 0 || rd_f32(r, &hi[i]) < 0)
            rc = -1;
        else if (!isfinite(lo[i]) || !isfinite(hi[i]) || lo[i] > hi[i])
            rc = nn_fail("QNT8: range %u is not finite and ordered", i);
    }
    if (rc == 0)
        rc = nn__q8_set_ranges(net, lo, hi, (int)n);
    free(lo);
    free(hi);
    return rc;
}

/* The optional CALB section into net (checked against it). */
static int read_calib(reader *r, nn_net *net)
{
    uint32_t version, kind, n;
    nn_calib c;
    memset(&c, 0, sizeof c);
    if (rd_u32(r, &version) < 0 || rd_u32(r, &kind) < 0 || rd_u32(r, &n) < 0)
        return -1;
    if (version != CALIB_VERSION)
        return nn_fail("CALB: calibration version %u is not supported (%u)", version, CALIB_VERSION);
    if (kind != NN_CALIB_TEMPERATURE && kind != NN_CALIB_VECTOR)
        return nn_fail("CALB: calibration kind %u is not known", kind);
    if (n != (uint32_t)nn_net_n_classes(net))
        return nn_fail("CALB: calibration for %u classes, the model has %d", n, nn_net_n_classes(net));
    c.kind = (nn_calib_kind)kind;
    c.n_classes = (int)n;
    if (rd_floats(r, c.scale, n) < 0 || rd_floats(r, c.bias, n) < 0 || rd_done(r) < 0)
        return -1;
    if (nn_net_set_calib(net, &c) < 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", nn_error());
        return nn_fail("CALB: %s", msg);
    }
    return 0;
}

/* Rebuild the net from the parsed sections and fill it. */
static nn_net *build(loaded *m)
{
    const char *names[NN_MAX_CLASSES];
    size_t np, ns;
    int c, h, w;

    /* Counts first, so a small file cannot make us allocate a huge net
     * only to find its weights missing. */
    if (nn_spec_counts(m->spec, m->n_classes, &np, &ns) == 0) {
        if (m->n_params != np)
            return nn_fail_null("PARM: file has %llu parameters, architecture needs %zu",
                                (unsigned long long)m->n_params, np);
        if (m->n_state != ns)
            return nn_fail_null("STAT: file has %llu state values, architecture needs %zu",
                                (unsigned long long)m->n_state, ns);
    }
    nn_net *net = nn_net_from_spec(m->spec, m->n_classes);
    if (!net) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", nn_error());
        return nn_fail_null("ARCH: %s", msg);
    }
    if (nn_net_n_classes(net) != m->n_classes) {
        nn_fail("ARCH: architecture has %d outputs but the file names %d classes",
                nn_net_n_classes(net), m->n_classes);
        goto fail;
    }
    nn_net_input_shape(net, &c, &h, &w);
    if ((uint32_t)c != m->c || (uint32_t)h != m->h || (uint32_t)w != m->w) {
        nn_fail("INPT: input %ux%ux%u does not match the architecture's %dx%dx%d", m->c,
                m->h, m->w, c, h, w);
        goto fail;
    }
    if (m->n_params != nn_net_n_params(net)) {
        nn_fail("PARM: file has %llu parameters, architecture needs %zu",
                (unsigned long long)m->n_params, nn_net_n_params(net));
        goto fail;
    }
    if (m->n_state != nn_net_n_state(net)) {
        nn_fail("STAT: file has %llu state values, architecture needs %zu",
                (unsigned long long)m->n_state, nn_net_n_state(net));
        goto fail;
    }
    if (rd_floats(&m->sec[S_PARM], nn_net_params(net), (size_t)m->n_params) < 0 ||
        rd_floats(&m->sec[S_STAT], nn_net_state(net), (size_t)m->n_state) < 0)
        goto fail;
    for (int i = 0; i < m->n_classes; i++)
        names[i] = m->names[i];
    if (nn_net_set_classes(net, names, m->n_classes) < 0)
        goto fail;
    *nn_net_preproc(net) = m->pre;
    *nn_net_meta(net) = m->meta;
    if (m->qnt8.p && load_qnt8(&m->qnt8, net) < 0)
        goto fail;
    if (m->calib.p && read_calib(&m->calib, net) < 0)
        goto fail;
    return net;
fail:
    nn_net_free(net);
    return NULL;
}

nn_net *nn_net_load_mem(const void *data, size_t len)
{
    const uint8_t *b = data;
    uint32_t version;
    uint64_t size;
    loaded *m;
    nn_net *net = NULL;

    if (len == 0)
        return nn_fail_null("empty file");
    if (!data)
        return nn_fail_null("no data");
    if (memcmp(b, MODEL_MAGIC, len < 8 ? len : 8) != 0) {
        /* emotion-train's checkpoints (app/train/checkpoint.c) are the file
         * people most often mistake for a model. */
        if (len >= 8 && !memcmp(b, "EMOCKPT", 8))
            return nn_fail_null("a training checkpoint, not a model file (emotion-train train --resume "
                                "continues the run; it writes the model when it ends)");
        return nn_fail_null("not a model file");
    }
    if (len < HEADER_BYTES)
        return nn_fail_null("truncated file (header)");
    /* Version before checksum: a later version may checksum differently,
     * and "too new" is the message that helps then. */
    version = get_u32(b + 8);
    if (version > MODEL_VERSION)
        return nn_fail_null("model version %u is newer than this program supports (%u)",
                            version, MODEL_VERSION);
    if (version == 0)
        return nn_fail_null("model version 0 is not valid");
    size = get_u64(b + 12);
    if (size < HEADER_BYTES + 4)
        return nn_fail_null("bad header: file size %llu is too small", (unsigned long long)size);
    if (size > len)
        return nn_fail_null("truncated file (%zu of %llu bytes)", len, (unsigned long long)size);
    if (size < len)
        return nn_fail_null("%zu bytes of unexpected data after the end of the model",
                            len - (size_t)size);
    if (nn_crc32(0, b, len - 4) != get_u32(b + len - 4))
        return nn_fail_null("checksum mismatch: file is damaged");

    /* The names table is 4 KiB: keep it off small thread stacks. */
    m = calloc(1, sizeof *m);
    if (!m)
        return nn_fail_null("out of memory");
    if (find_sections(m, b, len - 4) == 0 && parse_sections(m) == 0)
        net = build(m);
    free(m->spec);
    free(m);
    return net;
}

/* ---- file reading ---------------------------------------------------------------- */

static nn_net *load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    long long size;
    uint8_t *buf;
    nn_net *net;

    if (!f)
        return nn_fail_null("%s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return nn_fail_null("is a directory, not a model file");
    }
    if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) { /* /dev/zero, a pipe: no size to read */
        fclose(f);
        return nn_fail_null("not a regular file, so not a model file");
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        int err = errno;
        fclose(f);
        return nn_fail_null("cannot determine size: %s", strerror(err));
    }
    if (size > FILE_MAX) {
        fclose(f);
        return nn_fail_null("file is %lld bytes, larger than any model (%lld)", size, FILE_MAX);
    }
    buf = malloc(size ? (size_t)size : 1);
    if (!buf) {
        fclose(f);
        return nn_fail_null("out of memory (%lld bytes)", size);
    }
    /* A short read, or bytes past the measured end (the file changed under
     * us), would otherwise pass silently. */
    if (fread(buf, 1, (size_t)size, f) != (size_t)size || fgetc(f) != EOF || ferror(f)) {
        int err = ferror(f) ? errno : 0;
        free(buf);
        fclose(f);
        return nn_fail_null("read failed: %s", err ? strerror(err) : "file changed while reading");
    }
    fclose(f);
    net = nn_net_load_mem(buf, (size_t)size);
    free(buf);
    return net;
}

/* A file can pass every structural check and its checksum (it was saved
 * from a diverged run, or forged) and still compute nonsense: one forward
 * pass on two faces, mid-gray and a gray ramp, must give finite
 * probabilities summing to 1. Returns 0, or -1 with a message. */
static int check_output(nn_net *net)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    size_t pix = (size_t)h * w, per = pix * (size_t)(c > 0 ? c : 1);
    uint8_t *gray = malloc(pix);
    float *x = calloc(2 * per, sizeof *x);
    if (!gray || !x) {
        free(gray);
        free(x);
        return nn_fail("out of memory");
    }
    memset(gray, 128, pix);
    nn_preprocess_u8(net, gray, x);
    for (int y = 0; y < h; y++)
        for (int i = 0; i < w; i++)
            gray[(size_t)y * w + i] = (uint8_t)(255 * (y + i) / (h + w));
    nn_preprocess_u8(net, gray, x + per);
    const float *p = nn_net_forward(net, x, 2, 0);
    int rc = 0;
    if (!p) {
        rc = -1; /* nn_net_forward said why */
    } else {
        int k = nn_net_n_classes(net), ok = 1;
        for (int n = 0; n < 2; n++) {
            double sum = 0;
            for (int i = 0; i < k; i++) {
                float v = p[n * k + i];
                ok &= isfinite(v) && v >= 0 && v <= 1;
                sum += v;
            }
            ok &= fabs(sum - 1) < 1e-3;
        }
        if (!ok)
            rc = nn_fail("its weights give no valid probabilities (not a number or out of "
                         "range): the model is damaged");
    }
    free(gray);
    free(x);
    return rc;
}

nn_net *nn_net_load(const char *path)
{
    nn_net *net = load_file(path);
    if (net && check_output(net) != 0) {
        nn_net_free(net);
        net = NULL;
    }
    if (!net) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", nn_error());
        return nn_fail_null("%s: %s", path, msg);
    }
    return net;
}
