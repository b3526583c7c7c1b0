/* test_jsonw.c - app/common/jsonw: strings escaped so the output always
 * parses (quotes, backslashes, every control character, invalid UTF-8 as
 * U+FFFD, valid UTF-8 copied), the buffer form cut like snprintf, and
 * numbers that are never NaN or infinity. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "testutil.h"

/* What jsonw_string writes for s. */
static char *to_string(const char *s)
{
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    if (!m)
        return NULL;
    jsonw_string(m, s);
    fclose(m);
    return out;
}

static char *number(double v, int digits)
{
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    if (!m)
        return NULL;
    jsonw_number(m, v, digits);
    fclose(m);
    return out;
}

/* Both forms give want for s. */
static void expect(const char *s, const char *want, int line)
{
    char *got = to_string(s);
    CHECK_MSG(got && !strcmp(got, want), "line %d: jsonw_string gave [%s], want [%s]", line,
              got ? got : "(null)", want);
    free(got);
    char buf[256];
    size_t need = jsonw_escape(buf, sizeof buf, s);
    CHECK_MSG(need == strlen(want) && !strcmp(buf, want),
              "line %d: jsonw_escape gave [%s] (%zu), want [%s]", line, buf, need, want);
}
#define EXPECT(s, want) expect(s, want, __LINE__)

/* Every byte of out is printable ASCII or part of valid UTF-8, and no raw
 * control character is left: the output a JSON parser accepts. */
static int clean_json(const char *out)
{
    for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return 0;
    return 1;
}

static void test_strings(void)
{
    EXPECT("", "\"\"");
    EXPECT(NULL, "\"\"");
    EXPECT("plain text", "\"plain text\"");
    EXPECT("say \"hi\"", "\"say \\\"hi\\\"\"");
    EXPECT("C:\\dir\\f", "\"C:\\\\dir\\\\f\"");
    EXPECT("\\\"", "\"\\\\\\\"\"");
    EXPECT("a\nb\tc\rd\be\ff", "\"a\\nb\\tc\\rd\\be\\ff\"");
    EXPECT("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
    EXPECT("/ slash stays", "\"/ slash stays\"");
    /* Valid UTF-8 of every length copied as is. */
    EXPECT("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    /* Invalid UTF-8: one U+FFFD per bad byte, the rest kept. */
    EXPECT("a\xff" "b", "\"a\\ufffdb\"");
    EXPECT("Latin-1 caf\xe9", "\"Latin-1 caf\\ufffd\"");
    EXPECT("\xc3", "\"\\ufffd\"");                       /* cut sequence at the end */
    EXPECT("\xc3(", "\"\\ufffd(\"");                     /* bad continuation */
    EXPECT("\xc0\xaf", "\"\\ufffd\\ufffd\"");            /* overlong '/' */
    EXPECT("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* a surrogate */
    EXPECT("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* past U+10FFFF */
    EXPECT("\x80\"", "\"\\ufffd\\\"\"");                 /* lone continuation, then a quote */

    /* Every byte value 1..255 alone: never a raw control character out. */
    int all_clean = 1;
    for (int c = 1; c < 256; c++) {
        char s[2] = {(char)c, 0};
        char *got = to_string(s);
        all_clean &= got && clean_json(got) && got[0] == '"' && got[strlen(got) - 1] == '"';
        free(got);
    }
    CHECK(all_clean);
}

static void test_escape_cut(void)
{
    const char *s = "a\"b\nc";
    const char *want = "\"a\\\"b\\nc\"";
    char buf[64];
    size_t full = jsonw_escape(buf, sizeof buf, s);
    CHECK(full == strlen(want) && !strcmp(buf, want));
    /* Too small: NUL-terminated, the full length returned, the prefix kept. */
    memset(buf, 'X', sizeof buf);
    size_t need = jsonw_escape(buf, 5, s);
    CHECK(need == full);
    CHECK(buf[4] == 0 && !strncmp(buf, want, 4));
    CHECK(buf[5] == 'X'); /* nothing written past len */
    CHECK(jsonw_escape(buf, 0, s) == full && buf[0] == '"');
    buf[0] = 'X';
    CHECK(jsonw_escape(buf, 1, s) == full && buf[0] == 0);
}

/* A name as a reader of jsonw_string's output gets it back: what a name
 * on disk is compared with (--from-log on a folder). */
static void test_utf8(void)
{
    const char *cases[][2] = {
        {"caf\xc3\xa9 \xf0\x9f\x98\x80.png", "caf\xc3\xa9 \xf0\x9f\x98\x80.png"},
        {"\xff.png", "\xef\xbf\xbd.png"},
        {"caf\xe9", "caf\xef\xbf\xbd"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"a\"b\n", "a\"b\n"}, /* nothing escaped */
        {"", ""},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t need = jsonw_utf8(buf, sizeof buf, cases[i][0]);
        CHECK_MSG(need == strlen(cases[i][1]) && !strcmp(buf, cases[i][1]), "case %zu: [%s]", i,
                  buf);
    }
    CHECK(jsonw_utf8(buf, 0, "x") == 1);
    CHECK(jsonw_utf8(buf, 3, "\xffz") == 4 && buf[2] == 0); /* cut like snprintf */
}

static void test_numbers(void)
{
    struct { double v; int digits; const char *want; } cases[] = {
        {NAN, 6, "null"},
        {-NAN, 6, "null"},
        {INFINITY, 6, "null"},
        {-INFINITY, 3, "null"},
        {0.5, 6, "0.5"},
        {-2, 6, "-2"},
        {1.0 / 3, 4, "0.3333"},
        {1.0 / 3, 0, "0.3"},   /* at least one digit */
        {1.0 / 3, 99, "0.33333333333333331"}, /* at most 17 */
        {1e300, 3, "1e+300"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = number(cases[i].v, cases[i].digits);
        CHECK_MSG(got && !strcmp(got, cases[i].want), "case %zu: [%s], want [%s]", i,
                  got ? got : "(null)", cases[i].want);
        free(got);
    }
}

int main(void)
{
    test_strings();
    test_escape_cut();
    test_utf8();
    test_numbers();
    return test_done("test_jsonw");
}
