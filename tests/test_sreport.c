/* test_sreport.c - the session report of a model trained on other classes
 * than FER2013's: every class gets a colour of its own (on the page, in the
 * timeline's legend), whatever the names and however many there are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "cvw.h"
#include "runprog.h"
#include "sreport.h"
#include "testutil.h"

/* A session of one face seen over ten frames, classes names[0..k). */
static sreport_session *session(const char *const *names, int k)
{
    sreport_session *s = sreport_new(names, k);
    CHECK(s != NULL);
    if (!s)
        return NULL;
    sreport_set_info(s, "clip.mp4", "own.model");
    for (int f = 0; f < 10; f++) {
        pipeline_result r;
        memset(&r, 0, sizeof r);
        r.n = 1;
        r.faces[0].id = 1;
        r.faces[0].box = (cvw_rect){10, 10, 40, 40};
        r.faces[0].cls = f % k;
        for (int c = 0; c < k; c++)
            r.faces[0].probs[c] = c == f % k ? 0.5f : 0.5f / (k - 1);
        r.faces[0].conf = 0.5f;
        CHECK(sreport_add(s, f, f * 100.0, &r, NULL, 0, 0, NULL) == 0);
    }
    return s;
}

/* The class colours index.html's table header shows, in class order. */
static int page_colours(const char *dir, unsigned *rgb, int max)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *page = rp_slurp(path);
    CHECK(page != NULL);
    if (!page)
        return 0;
    int n = 0;
    const char *tag = "<th><span class=\"sw\" style=\"background:#";
    for (const char *p = strstr(page, tag); p && n < max; p = strstr(p + 1, tag))
        sscanf(p + strlen(tag), "%6x", &rgb[n++]);
    free(page);
    return n;
}

static void check_distinct(const char *what, const char *const *names, int k)
{
    char dir[256];
    CHECK(rp_tmpdir(dir, sizeof dir, "sreport") != NULL);
    sreport_session *s = session(names, k);
    if (!s)
        return;
    CHECK_MSG(sreport_write(s, dir) == 0, "%s", app_error());
    unsigned rgb[64];
    int n = page_colours(dir, rgb, 64);
    CHECK_MSG(n == k, "%s: %d colours on the page, want %d", what, n, k);
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            CHECK_MSG(rgb[a] != rgb[b], "%s: '%s' and '%s' share the colour #%06x", what,
                      names[a], names[b], rgb[a]);
    sreport_free(s);
    rp_rmdir(dir);
}

int main(void)
{
    /* Known names keep their colours; a model's own classes beside them
     * must not take one (the fourth class took angry's red). */
    static const char *const mixed[] = {"angry", "calm", "bored", "tired", "sad"};
    check_distinct("known and own names", mixed, 5);
    /* More classes than the palette has colours. */
    static const char *const many[] = {"c01", "c02", "c03", "c04", "c05", "c06", "c07",
                                       "c08", "c09", "c10", "c11", "c12", "c13", "c14"};
    check_distinct("14 classes", many, 14);
    return test_done("test_sreport");
}
