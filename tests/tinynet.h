/* tinynet.h - the small convolutional net that tests train on generated
 * 32x32 faces (test_detect_neutral, test_saliency). The spec, seed, batch
 * and optimizer are shared, so those tests differ only in the faces they
 * draw and what they check afterwards. */
#ifndef TINYNET_H
#define TINYNET_H

#include <stdint.h>

#include "nn.h"
#include "testutil.h"

#define TINYNET_S 32

/* Draws one TINYNET_S x TINYNET_S face into img from the random state s and
 * returns its class. */
typedef int (*tinynet_sample)(uint8_t *img, uint64_t *s);

/* A net of `classes` outputs after `steps` Adam steps on batches of 16
 * faces from sample; s is the faces' random state, left where training
 * stopped so that a test can go on drawing. NULL (a failed check) when the
 * net cannot be made. */
static inline nn_net *tinynet_train(int classes, int steps, tinynet_sample sample, uint64_t *s)
{
    enum { B = 16, N = TINYNET_S * TINYNET_S };
    const char *spec = "input 32x32x1\nconv 8 3x3 same relu\nmaxpool 2\nconv 16 3x3 same relu\n"
                       "maxpool 2\nconv 16 3x3 same relu\nmaxpool 2\nflatten\ndense classes softmax\n";
    nn_net *net = nn_net_from_spec(spec, classes);
    CHECK_MSG(net != NULL, "%s", nn_error());
    if (!net)
        return NULL;
    nn_net_init(net, test_seed(3));
    nn_net_preproc(net)->scale = 1.0f / 255;
    nn_net_preproc(net)->bias = -0.5f;
    static float x[B * N];
    int y[B];
    uint8_t img[N];
    nn_optim_cfg cfg = nn_optim_defaults(NN_ADAM);
    cfg.lr = 3e-3f;
    nn_optim *opt = nn_optim_new(net, &cfg);
    CHECK(opt != NULL);
    for (int step = 0; opt && step < steps; step++) {
        for (int i = 0; i < B; i++) {
            y[i] = sample(img, s);
            nn_preprocess_u8(net, img, x + (size_t)i * N);
        }
        nn_net_forward(net, x, B, 1);
        nn_net_zero_grad(net);
        nn_net_backward(net, y, NULL);
        nn_optim_step(opt, cfg.lr);
    }
    nn_optim_free(opt);
    return net;
}

#endif
