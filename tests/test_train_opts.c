/* test_train_opts.c - train's effective arguments across resumes: each
 * option once, the transient ones dropped, and --val-copies written out
 * for a fresh run so that a checkpoint says which validation split it had
 * (one without it is older, and resumes with the split that allowed
 * copies); a resume may not change the run's data, split or network. */
#include "testutil.h"
#include "train_opts.h"

#include <string.h>

static int count(char **args, int n, const char *s)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += !strcmp(args[i], s);
    return k;
}

static int value_of(char **args, int n, const char *opt, const char *want)
{
    for (int i = 0; i + 1 < n; i++)
        if (!strcmp(args[i], opt))
            return !strcmp(args[i + 1], want);
    return 0;
}

int main(void)
{
    /* A fresh run without --val-copies: its default is written out. */
    char *fresh[] = {"train", "--data", "d", "--out", "m", "--threads", "2", "--overwrite"};
    int n = 0;
    char **args = train_opts_args(NULL, 0, 8, fresh, &n);
    CHECK(args && n == 8 && count(args, n, "--val-copies") == 1 &&
          value_of(args, n, "--val-copies", "exclude") && count(args, n, "--overwrite") == 0);
    train_opts o;
    train_opts_defaults(&o);
    CHECK(args && train_opts_parse(n, args, &o, NULL) == TRAIN_OPTS_RUN &&
          o.val_copies == DATASET_COPIES_EXCLUDE);

    /* Resumed from that checkpoint: nothing added, an option given again
     * replaces the saved one, the split stays excluded. */
    char *again[] = {"train", "--resume", "m.ckpt", "--threads", "1"};
    int m = 0;
    char **resumed = train_opts_args(args, n, 5, again, &m);
    CHECK(resumed && m == 8 && count(resumed, m, "--val-copies") == 1 &&
          count(resumed, m, "--threads") == 1 && value_of(resumed, m, "--threads", "1") &&
          count(resumed, m, "--resume") == 0);
    CHECK(resumed && train_opts_parse_resumed(m, resumed, &o) == TRAIN_OPTS_RUN &&
          o.val_copies == DATASET_COPIES_EXCLUDE && o.threads == 1);
    train_opts_free_args(resumed, m);
    train_opts_free_args(args, n);

    /* Given by the user: kept as given, once. */
    char *allow[] = {"train", "--data", "d", "--val-copies", "allow", "--out", "m"};
    args = train_opts_args(NULL, 0, 7, allow, &n);
    CHECK(args && n == 6 && count(args, n, "--val-copies") == 1 &&
          value_of(args, n, "--val-copies", "allow"));
    train_opts_free_args(args, n);

    /* A checkpoint from before the option: resumed with copies allowed,
     * unless the resume says otherwise. */
    char *old[] = {"--data", "d", "--out", "m", "--seed", "1"};
    CHECK(train_opts_parse_resumed(6, old, &o) == TRAIN_OPTS_RUN &&
          o.val_copies == DATASET_COPIES_ALLOW && o.seed == 1);
    char *old_now[] = {"--data", "d", "--out", "m", "--val-copies", "exclude"};
    CHECK(train_opts_parse_resumed(6, old_now, &o) == TRAIN_OPTS_RUN &&
          o.val_copies == DATASET_COPIES_EXCLUDE);

    /* On resume, what makes the run (data, split, network) may be given
     * again only as it was; the rest may change. */
    char *run[] = {"--data", "d", "--arch", "fer-compact", "--seed", "3", "--no-equalize", "--epochs", "5"};
    const char *now = NULL, *was = NULL;
    char *same[] = {"train", "--resume", "c", "--seed", "3", "--epochs", "9", "--threads", "1"};
    CHECK(train_opts_changed_on_resume(run, 9, 9, same, &now, &was) == NULL);
    char *other_arch[] = {"train", "--resume", "c", "--arch", "fer-classic"};
    const char *c = train_opts_changed_on_resume(run, 9, 5, other_arch, &now, &was);
    CHECK(c && !strcmp(c, "--arch") && !strcmp(now, "fer-classic") && was && !strcmp(was, "fer-compact"));
    char *new_limit[] = {"train", "--resume", "c", "--limit", "100"};
    c = train_opts_changed_on_resume(run, 9, 5, new_limit, &now, &was);
    CHECK(c && !strcmp(c, "--limit") && was == NULL);
    char *other_data[] = {"train", "--data", "e", "--resume", "c"};
    c = train_opts_changed_on_resume(run, 9, 5, other_data, &now, &was);
    CHECK(c && !strcmp(c, "--data"));

    /* A fresh parse defaults to excluding; a bad value is refused. */
    train_opts_defaults(&o);
    CHECK(o.val_copies == DATASET_COPIES_EXCLUDE);
    char *bad[] = {"--val-copies", "some"};
    CHECK(train_opts_parse(2, bad, &o, NULL) == TRAIN_OPTS_BAD);
    return test_done("test_train_opts");
}
