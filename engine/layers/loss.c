/* loss.c - cross-entropy on softmax outputs, with label smoothing and
 * per-class weights. Mean over the batch: L = 1/n sum_i w[y_i] * CE_i. */
#include "nn_impl.h"

#include <math.h>

float nn_xent(const float *p, const int *y, int n, int k, const nn_loss_cfg *cfg, float *dlogits)
{
    const float s = cfg ? cfg->label_smoothing : 0.0f;
    const float *cw = cfg ? cfg->class_weights : NULL;
    const float off = s / (float)k, on = 1.0f - s + off;
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const float *pi = p + (size_t)i * k;
        const float w = cw ? cw[y[i]] : 1.0f;
        double ce = 0;
        for (int j = 0; j < k; j++) {
            float t = j == y[i] ? on : off;
            if (t > 0.0f)
                ce -= t * log(pi[j] > 1e-30f ? pi[j] : 1e-30f);
            if (dlogits)
                dlogits[(size_t)i * k + j] = w * (pi[j] - t) / (float)n;
        }
        loss += w * ce;
    }
    return (float)(loss / n);
}
