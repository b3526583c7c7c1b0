/*
 * dataset_classes.c - class names: normalising ("3_Happy", "happiness" and
 * "joy" are all "happy"), matching a data set's classes to a model's by
 * name, and the names of splits (train/test/validation) in folders and
 * Usage columns.
 */
#include "dataset_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app_err.h"

/* ---- class names ---- */

struct synonym { const char *from, *to; };
static const struct synonym synonyms[] = {
    {"anger", "angry"}, {"angry", "angry"}, {"mad", "angry"},
    {"disgust", "disgust"}, {"disgusted", "disgust"}, {"disgusting", "disgust"},
    {"fear", "fear"}, {"fearful", "fear"}, {"afraid", "fear"}, {"scared", "fear"},
    {"happy", "happy"}, {"happiness", "happy"}, {"joy", "happy"},
    {"joyful", "happy"}, {"smile", "happy"},
    {"sad", "sad"}, {"sadness", "sad"}, {"sorrow", "sad"},
    {"surprise", "surprise"}, {"surprised", "surprise"},
    {"surprising", "surprise"}, {"suprise", "surprise"},
    {"neutral", "neutral"}, {"neutrality", "neutral"}, {"none", "neutral"},
    {"contempt", "contempt"}, {"contemptuous", "contempt"},
};

char *dataset_class_normalize(const char *name, char *out, size_t len)
{
    if (!len)
        return out;
    while (isspace((unsigned char)*name))
        name++;
    /* A numeric prefix ("3_happy") orders folders; it is not the name. */
    const char *p = name;
    while (isdigit((unsigned char)*p))
        p++;
    if (p > name && (*p == '_' || *p == '-' || *p == ' ' || *p == '.')) {
        const char *q = p;
        while (*q == '_' || *q == '-' || *q == ' ' || *q == '.')
            q++;
        if (*q)
            name = q;
    }
    char tmp[NN_NAME_MAX];
    size_t n = 0;
    for (; *name && n + 1 < sizeof tmp; name++) {
        unsigned char c = (unsigned char)*name;
        tmp[n++] = (c == ' ' || c == '-') ? '_' : (char)tolower(c);
    }
    while (n > 0 && (tmp[n - 1] == '_' || isspace((unsigned char)tmp[n - 1])))
        n--; /* trailing blanks became '_' above */
    tmp[n] = 0;
    const char *res = tmp;
    for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++)
        if (!strcmp(tmp, synonyms[i].from)) {
            res = synonyms[i].to;
            break;
        }
    snprintf(out, len, "%s", res);
    return out;
}

int dataset_class_find(const char *const *names, int count, const char *name)
{
    char a[NN_NAME_MAX], b[NN_NAME_MAX];
    dataset_class_normalize(name, a, sizeof a);
    for (int i = 0; i < count; i++)
        if (!strcmp(a, dataset_class_normalize(names[i], b, sizeof b)))
            return i;
    return -1;
}

/* ---- splits (train/test names in folders and Usage columns) ---- */

int dataset__split_group(const char *s)
{
    static const struct { const char *name; int group; } tab[] = {
        {"train", 0}, {"training", 0},
        {"test", 1}, {"testing", 1}, {"publictest", 1}, {"public_test", 1},
        {"privatetest", 2}, {"private_test", 2}, {"private", 2},
        {"val", 3}, {"valid", 3}, {"validation", 3},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcasecmp(s, tab[i].name))
            return tab[i].group;
    return -1;
}

int dataset__split_match(const char *want, const char *have)
{
    int a = dataset__split_group(want), b = dataset__split_group(have);
    if (a >= 0 || b >= 0)
        return a == b;
    return !strcasecmp(want, have);
}

/* ---- class mapping ---- */

int dataset_map_classes(dataset *ds, const char *const *names, int count,
                   dataset_class_map *map)
{
    if (count <= 0 || count > DATASET_MAX_CLASSES) {
        app_fail("%d target classes; expected 1..%d", count, DATASET_MAX_CLASSES);
        return -1;
    }
    dataset_class_map local;
    if (!map)
        map = &local;
    memset(map, 0, sizeof *map);
    int to[DATASET_MAX_CLASSES], counts[DATASET_MAX_CLASSES];
    dataset_class_counts(ds, counts);
    int matched = 0;
    for (int c = 0; c < ds->n_classes; c++) {
        to[c] = dataset_class_find(names, count, ds->classes[c]);
        if (to[c] >= 0) {
            matched++;
        } else {
            memcpy(map->unmatched[map->n_unmatched], ds->classes[c], NN_NAME_MAX);
            map->unmatched_count[map->n_unmatched++] = counts[c];
            map->dropped += counts[c];
        }
    }
    for (int k = 0; k < count; k++) {
        int found = 0;
        for (int c = 0; c < ds->n_classes; c++)
            found |= to[c] == k;
        if (!found)
            snprintf(map->absent[map->n_absent++], NN_NAME_MAX, "%s", names[k]);
    }
    if (!matched) {
        char have[512] = "";
        for (int c = 0; c < ds->n_classes; c++) {
            size_t l = strlen(have);
            snprintf(have + l, sizeof have - l, "%s%s", c ? ", " : "", ds->classes[c]);
        }
        app_fail("none of the data's classes (%s) is among the model's", have);
        return -1;
    }
    unsigned char *keep = malloc(ds->n ? (size_t)ds->n : 1);
    if (!keep) {
        app_fail("out of memory");
        return -1;
    }
    for (int i = 0; i < ds->n; i++) {
        int t = to[ds->labels[i]];
        keep[i] = t >= 0;
        ds->labels[i] = t;
    }
    dataset__compact(ds, keep);
    free(keep);
    for (int k = 0; k < count; k++)
        snprintf(ds->classes[k], NN_NAME_MAX, "%s", names[k]);
    ds->n_classes = count;
    return 0;
}

