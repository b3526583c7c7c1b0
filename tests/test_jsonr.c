/* test_jsonr.c - the JSON reader --from-log uses (app/detect/jsonr.c):
 * values of every kind, escapes (\u with surrogate pairs, a lone surrogate
 * as U+FFFD), what RFC 8259 refuses (trailing commas, leading zeros, bare
 * words, control characters, text after the value), nesting past the
 * limit, and a frame record as elog writes it. */
#include <stdio.h>
#include <string.h>

#include "app_err.h"
#include "jsonr.h"
#include "testutil.h"

static jsonr_val *parse(const char *s) { return jsonr_parse(s, strlen(s)); }

int main(void)
{
    jsonr_val *v = parse(" {\"a\": [1, -2.5e2, true, false, null], \"b\": {\"c\": \"x\\ty\"},"
                      " \"a\": 7} ");
    CHECK(v && v->type == JSONR_OBJ && v->n == 3);
    const jsonr_val *a = jsonr_get(v, "a");
    CHECK(a && a->type == JSONR_ARR && a->n == 5); /* the first of a repeated name */
    if (a && a->n == 5) {
        CHECK(jsonr_num(&a->items[0], 0) == 1 && jsonr_num(&a->items[1], 0) == -250);
        CHECK(a->items[2].type == JSONR_BOOL && a->items[2].num == 1 && a->items[3].num == 0);
        CHECK(a->items[4].type == JSONR_NULL && jsonr_num(&a->items[4], 42) == 42);
    }
    CHECK(jsonr_str(jsonr_get(jsonr_get(v, "b"), "c")) && !strcmp(jsonr_str(jsonr_get(jsonr_get(v, "b"), "c")), "x\ty"));
    CHECK(jsonr_get(v, "missing") == NULL && jsonr_get(NULL, "a") == NULL && jsonr_str(a) == NULL);
    jsonr_free(v);

    v = parse("\"\\u00e9\\ud83d\\ude00\\ud800x\\\"\\\\\\/\"");
    CHECK(v && v->type == JSONR_STR &&
          !strcmp(v->str, "\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx\"\\/"));
    jsonr_free(v);
    v = parse("[]");
    CHECK(v && v->type == JSONR_ARR && v->n == 0);
    jsonr_free(v);
    /* a number of any length (found by fuzz_jsonr: 64 characters and more
     * were refused) */
    v = parse("[1000000000000000000000000000000000000000000000000000000000000000000000,"
              "0.0000000000000000000000000000000000000000000000000000000000000000000025]");
    CHECK(v && v->type == JSONR_ARR && v->n == 2 && jsonr_num(&v->items[0], 0) == 1e69 &&
          jsonr_num(&v->items[1], 0) == 2.5e-69);
    jsonr_free(v);

    const char *bad[] = {"", "[1,]", "{\"a\":1,}", "01", "1.", "-", "tru", "nul", "[1 2]",
                         "{\"a\" 1}", "{1:2}", "\"a\tb\"", "\"abc", "\"\\x\"", "\"\\u12g4\"",
                         "{} {}", "[", "{\"a\":"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = parse(bad[i]);
        CHECK_MSG(v == NULL && strstr(app_error(), "JSON: "), "accepted '%s'", bad[i]);
        jsonr_free(v);
    }
    char deep[300];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 99);
    deep[299] = 0;
    v = jsonr_parse(deep, 299);
    CHECK(v == NULL && strstr(app_error(), "nested too deep"));

    const char *rec = "{\"frame\":0,\"t_ms\":0.0,\"faces\":[{\"id\":1,\"box\":[442,210,120,120],"
                      "\"emotion\":\"happy\",\"confidence\":0.9435,\"probs\":{\"angry\":0.0030,"
                      "\"happy\":0.9435,\"sad\":null}}],\"session\":{\"source\":\"a.mp4\","
                      "\"model\":\"m\"}}";
    v = parse(rec);
    const jsonr_val *faces = jsonr_get(v, "faces");
    CHECK(faces && faces->n == 1);
    if (faces && faces->n == 1) {
        const jsonr_val *probs = jsonr_get(&faces->items[0], "probs");
        CHECK(probs && probs->n == 3 && !strcmp(probs->keys[1], "happy"));
        CHECK(jsonr_num(jsonr_get(probs, "happy"), 0) == 0.9435);
        CHECK(jsonr_num(jsonr_get(probs, "sad"), -1) == -1);
    }
    CHECK(jsonr_str(jsonr_get(jsonr_get(v, "session"), "source")) &&
          !strcmp(jsonr_str(jsonr_get(jsonr_get(v, "session"), "source")), "a.mp4"));
    jsonr_free(v);
    return test_done("test_jsonr");
}
