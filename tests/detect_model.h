/* detect_model.h - an untrained FER-shaped model for emotion-detect's
 * tests: the real architecture with random weights, saved with the engine,
 * so the tests need no trained model. */
#ifndef DETECT_MODEL_H
#define DETECT_MODEL_H

#include <stdio.h>

#include "nn.h"

static const char *const fer_names[7] = {"angry", "disgust", "fear", "happy",
                                         "sad", "surprise", "neutral"};

static inline int make_test_model(const char *path)
{
    nn_net *net = nn_net_from_arch("fer-compact", 7);
    if (!net) {
        fprintf(stderr, "make_test_model: %s\n", nn_error());
        return -1;
    }
    nn_net_init(net, 42);
    int rc = nn_net_set_classes(net, fer_names, 7);
    if (rc == 0)
        rc = nn_net_save(net, path);
    if (rc != 0)
        fprintf(stderr, "make_test_model: %s\n", nn_error());
    nn_net_free(net);
    return rc;
}

/* An untrained roll model (rollnet.h): 13 bins named roll-30 .. roll+30,
 * for the checks of a model's kind. */
static inline int make_test_roll_model(const char *path)
{
    static const char *const bins[13] = {"roll-30", "roll-25", "roll-20", "roll-15", "roll-10",
                                         "roll-5", "roll+0", "roll+5", "roll+10", "roll+15",
                                         "roll+20", "roll+25", "roll+30"};
    nn_net *net = nn_net_from_arch("fer-compact", 13);
    if (!net)
        return -1;
    nn_net_init(net, 7);
    int rc = nn_net_set_classes(net, bins, 13);
    if (rc == 0)
        rc = nn_net_save(net, path);
    nn_net_free(net);
    return rc;
}

#endif
