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

#endif
