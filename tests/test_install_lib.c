/* test_install_lib.c - the engine as an installed library, as another
 * program would use it: `meson install` into a temporary DESTDIR; the
 * shared library exports exactly the functions of the installed header;
 * examples/classify.c compiles with `cc` and the installed emotion-engine.pc
 * (PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR pointing into DESTDIR), once
 * against the shared library and once against the static one; a model
 * trained here by emotion-train on generated faces then names the class of
 * a fresh face of each class through both programs.
 *
 * A C++ program links against it too (the header's extern "C").
 *
 * argv: meson, build dir, source dir, emotion-train, prefix, libdir (both
 * as configured), the C compiler command, extra compiler flags (the
 * sanitizers of the build: its libraries need their runtime), soversion,
 * the C++ compiler command. */

#include "emotion_engine.h" /* NN_VERSION_STRING only: this program does not link the engine */
#include "testutil.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

/* Run a shell command with output appended to dir/log; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd + 1, sizeof cmd - 512, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof cmd - 512)
        return -1;
    /* In parentheses, so that a pipeline keeps its own stdin. */
    cmd[0] = '(';
    snprintf(cmd + 1 + n, sizeof cmd - 1 - n, ") >>%s/log 2>&1 </dev/null", dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The whole file (up to 64 KiB) in a static buffer, or NULL. */
static char *slurp(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* One 32x32 face of class c (0 bars across, 1 bars down, 2 a bright disc),
 * shifted by off, with noise from *s when noisy; written as a binary PGM. */
static void write_face(const char *path, int c, int off, int noisy, uint64_t *s)
{
    uint8_t img[32 * 32];
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) {
            int v;
            if (c == 0)
                v = ((y + off) / 4) % 2 ? 200 : 60;
            else if (c == 1)
                v = ((x + off) / 4) % 2 ? 200 : 60;
            else
                v = (x - 14 - off) * (x - 14 - off) + (y - 14 - off) * (y - 14 - off) < 64 ? 220 : 70;
            *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
            if (noisy)
                v += (int)(*s >> 59) * 4 - 32;
            img[y * 32 + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f && fprintf(f, "P5\n32 32\n255\n") > 0 && fwrite(img, 1, sizeof img, f) == sizeof img,
              "cannot write %s", path);
    if (f)
        fclose(f);
}

/* Sets of names as ",a,b,c," (start with ","): add name unless present;
 * count the additions in *n. */
static int set_has(const char *set, const char *name, size_t nlen)
{
    char item[160];
    snprintf(item, sizeof item, ",%.*s,", (int)nlen, name);
    return strstr(set, item) != NULL;
}

static void set_add(char *set, size_t len, const char *name, size_t nlen, int *n)
{
    if (set_has(set, name, nlen) || strlen(set) + nlen + 2 > len)
        return;
    strncat(set, name, nlen);
    strcat(set, ",");
    ++*n;
}

/* The functions the header declares: every identifier nn_... directly
 * followed by '(' on a line that starts a declaration (not in a comment,
 * which here always starts with '/' or ' '). */
static int header_functions(const char *hdr, char *set, size_t len)
{
    int n = 0;
    strcpy(set, ",");
    for (const char *line = hdr; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (*line == ' ' || *line == '/' || *line == '#' || *line == '*' || *line == '\n')
            continue;
        for (const char *p = line; *p && *p != '\n'; p++) {
            size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
            if (k > 3 && !strncmp(p, "nn_", 3) && p[k] == '(')
                set_add(set, len, p, k, &n);
            if (k)
                p += k - 1;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 11) {
        fprintf(stderr, "usage: test_install_lib MESON BUILDDIR SRCDIR EMOTION-TRAIN PREFIX LIBDIR CC "
                        "CFLAGS SOVERSION CXX\n");
        return 2;
    }
    const char *meson = argv[1], *build = argv[2], *src = argv[3], *train = argv[4];
    const char *prefix = argv[5], *libdir_opt = argv[6], *cc = argv[7], *cflags = argv[8];
    const char *soversion = argv[9], *cxx = argv[10];
    snprintf(dir, sizeof dir, "/tmp/test_install_lib.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);

    /* 1. install: the libraries, the header, the .pc file */
    CHECK_MSG(sh("'%s' install -C '%s' --destdir '%s/root' --no-rebuild --tags devel,runtime", meson, build,
                 dir) == 0,
              "meson install failed, see %s/log", dir);
    char root[512], libdir[1024], path[2048];
    snprintf(root, sizeof root, "%s/root", dir);
    /* libdir may be relative to the prefix (the usual case) or absolute. */
    if (libdir_opt[0] == '/')
        snprintf(libdir, sizeof libdir, "%s%s", root, libdir_opt);
    else
        snprintf(libdir, sizeof libdir, "%s%s/%s", root, prefix, libdir_opt);
    static const char *const installed[] = {"libemotion-engine.a", "libemotion-engine.so",
                                            "pkgconfig/emotion-engine.pc"};
    for (size_t i = 0; i < sizeof installed / sizeof *installed; i++) {
        snprintf(path, sizeof path, "%s/%s", libdir, installed[i]);
        CHECK_MSG(access(path, R_OK) == 0, "%s not installed", path);
    }
    snprintf(path, sizeof path, "%s/libemotion-engine.so.%s", libdir, soversion);
    CHECK_MSG(access(path, R_OK) == 0, "%s (the soname) not installed", path);
    snprintf(path, sizeof path, "%s%s/include/nn.h", root, prefix);
    CHECK_MSG(access(path, F_OK) != 0, "the internal nn.h is installed");
    snprintf(path, sizeof path, "%s%s/include/emotion_engine.h", root, prefix);
    char header_set[4096];
    int n_public = header_functions(slurp(path), header_set, sizeof header_set);
    CHECK_MSG(n_public >= 10, "%s declares %d functions", path, n_public);

    /* 2. the shared library exports exactly the header's functions */
    char exported[4096] = ",", cmd[4096];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s/libemotion-engine.so'", libdir);
    FILE *nm = popen(cmd, "r");
    CHECK(nm != NULL);
    char line[512];
    int n_exported = 0, all_declared = 1;
    while (nm && fgets(line, sizeof line, nm)) {
        char addr[64], type[8], sym[256];
        if (sscanf(line, "%63s %7s %255s", addr, type, sym) != 3 || strcmp(type, "T") != 0)
            continue;
        size_t k = strcspn(sym, "@"); /* nn_error@@EMOTION_ENGINE_0 */
        if (!set_has(header_set, sym, k)) {
            fprintf(stderr, "exported but not in the header: %.*s\n", (int)k, sym);
            all_declared = 0;
        }
        set_add(exported, sizeof exported, sym, k, &n_exported);
    }
    CHECK(nm && pclose(nm) == 0);
    /* Every export declared, as many as declared: the same sets. */
    CHECK_MSG(all_declared && n_exported == n_public, "exports %s, the header declares %s", exported,
              header_set);

    /* 3. the example, built with pkg-config against the installed files */
    char pc[4096];
    snprintf(pc, sizeof pc, "PKG_CONFIG_PATH='%s/pkgconfig' PKG_CONFIG_SYSROOT_DIR='%s' pkg-config", libdir, root);
    CHECK_MSG(sh("%s --exists --print-errors 'emotion-engine >= 0.1'", pc) == 0, "pkg-config cannot find it");
    CHECK_MSG(sh("%s -std=c11 -Wall -Wextra -Werror %s '%s/examples/classify.c' -o '%s/classify_shared' "
                 "$(%s --cflags --libs emotion-engine)",
                 cc, cflags, src, dir, pc) == 0,
              "the example does not build against the shared library, see %s/log", dir);
    /* -l:FILE makes the linker take the archive; the rest of --static
     * --libs (libm, pthreads) is what the archive needs. */
    CHECK_MSG(sh("%s -std=c11 -Wall -Wextra -Werror %s '%s/examples/classify.c' -o '%s/classify_static' "
                 "$(%s --cflags emotion-engine) "
                 "$(%s --static --libs emotion-engine | sed 's/-lemotion-engine/-l:libemotion-engine.a/')",
                 cc, cflags, src, dir, pc, pc) == 0,
              "the example does not build against the static library, see %s/log", dir);
    /* C++: the declarations must have C linkage to link. */
    snprintf(path, sizeof path, "%s/use.cpp", dir);
    FILE *cpp = fopen(path, "w");
    CHECK(cpp && fputs("#include <emotion_engine.h>\n#include <cstdio>\n"
                       "int main() { nn_net *net = nn_net_load(\"/nonexistent\");\n"
                       "  std::printf(\"%s %s\\n\", nn_version(), net ? \"?\" : nn_error()); }\n",
                       cpp) >= 0);
    if (cpp)
        fclose(cpp);
    CHECK_MSG(sh("%s -std=c++17 -Wall -Wextra -Werror %s '%s' -o '%s/use_cpp' $(%s --cflags --libs emotion-engine)",
                 cxx, cflags, path, dir, pc) == 0,
              "a C++ program does not build against the library, see %s/log", dir);
    /* The shared build needs the installed library, the static one not. */
    CHECK_MSG(sh("LD_LIBRARY_PATH='%s' ldd '%s/classify_shared' | grep -F '%s/libemotion-engine.so.%s'", libdir,
                 dir, libdir, soversion) == 0,
              "classify_shared does not load the installed libemotion-engine.so.%s", soversion);
    CHECK_MSG(sh("readelf -d '%s/classify_static' | grep -q libemotion-engine; test $? = 1", dir) == 0,
              "classify_static needs libemotion-engine.so");

    snprintf(cmd, sizeof cmd, "env LD_LIBRARY_PATH='%s' '%s/use_cpp'", libdir, dir);
    FILE *use = popen(cmd, "r");
    char got[512] = "";
    if (!use || !fgets(got, sizeof got, use))
        strcpy(got, "(nothing)\n");
    CHECK_MSG(use && pclose(use) == 0 && !strncmp(got, NN_VERSION_STRING " ", strlen(NN_VERSION_STRING) + 1) &&
                  strstr(got, "/nonexistent"),
              "the C++ program says %s", got);

    /* 4. a model trained here: three classes of generated 32x32 faces for a
     * net with a 24x24 input (so the example's resize counts) */
    static const char *const cls[3] = {"happy", "sad", "surprise"};
    uint64_t s = test_seed(11);
    snprintf(path, sizeof path, "%s/data", dir);
    CHECK(mkdir(path, 0755) == 0);
    for (int c = 0; c < 3; c++) {
        snprintf(path, sizeof path, "%s/data/%s", dir, cls[c]);
        CHECK(mkdir(path, 0755) == 0);
        for (int i = 0; i < 60; i++) {
            snprintf(path, sizeof path, "%s/data/%s/%03d.pgm", dir, cls[c], i);
            write_face(path, c, i % 5, 1, &s);
        }
    }
    snprintf(path, sizeof path, "%s/arch.txt", dir);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs("input 24x24x1\nconv 8 3x3 same bn relu\nmaxpool 2\nconv 16 3x3 same relu\ngap\n"
                     "dense classes softmax\n", f) >= 0);
    if (f)
        fclose(f);
    CHECK_MSG(sh("'%s' train --data '%s/data' --val-split 0.25 --arch '%s/arch.txt' --epochs 6 --batch 16 "
                 "--lr 0.01 --seed 3 --threads 2 --out '%s/m.model'",
                 train, dir, dir, dir) == 0,
              "emotion-train failed, see %s/log", dir);

    /* 5. both builds name each class's fresh face (a shift not in the data) */
    for (int c = 0; c < 3; c++) {
        char face[512];
        snprintf(face, sizeof face, "%s/face%d.pgm", dir, c);
        write_face(face, c, 2, 0, &s);
        for (int k = 0; k < 2; k++) {
            const char *kind = k ? "static" : "shared";
            char env[1100] = "env -u LD_LIBRARY_PATH";
            if (!k)
                snprintf(env, sizeof env, "env LD_LIBRARY_PATH='%s'", libdir);
            snprintf(cmd, sizeof cmd, "%s '%s/classify_%s' '%s/m.model' '%s' 2>&1", env, dir, kind, dir, face);
            FILE *out = popen(cmd, "r");
            char got[512] = "";
            if (!out || !fgets(got, sizeof got, out))
                strcpy(got, "(nothing)\n");
            int st = out ? pclose(out) : -1;
            size_t n = strlen(cls[c]);
            CHECK_MSG(st == 0 && !strncmp(got, cls[c], n) && got[n] == ' ', "classify_%s on a %s face: %s",
                      kind, cls[c], got);
            printf("classify_%s, a %s face: %s", kind, cls[c], got);
        }
    }
    if (!test_failures)
        sh("rm -rf '%s'", dir);
    else
        fprintf(stderr, "files kept in %s\n", dir);
    return test_done("test_install_lib");
}
