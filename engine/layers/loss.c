/* loss.c - cross-entropy on softmax outputs, with label smoothing and
 * per-class weights, against labels or soft target distributions. Mean
 * over the batch: L = 1/n sum_i w_i * CE(t_i, p_i), where t_i is the
 * (smoothed) target row and w_i = sum_j t_ij w[j] before smoothing (w[y_i]
 * for a label). Since every target row sums to 1, the gradient at the
 * softmax inputs is w_i * (p_i - t_i) / n. */
#include "nn_impl.h"

#include <math.h>

float nn_xent(const float *p, const int *y, int n, int k, const nn_loss_cfg *cfg, float *dlogits)
{
    const float s = cfg ? cfg->label_smoothing : 0.0f;
    const float *cw = cfg ? cfg->class_weights : NULL;
    const float *soft = cfg ? cfg->targets : NULL;
    const float off = s / (float)k;
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const float *pi = p + (size_t)i * k;
        const float *ti = soft ? soft + (size_t)i * k : NULL;
        float w = 1.0f;
        if (cw && ti) {
            w = 0.0f;
            for (int j = 0; j < k; j++)
                w += ti[j] * cw[j];
        } else if (cw) {
            w = cw[y[i]];
        }
        double ce = 0;
        for (int j = 0; j < k; j++) {
            float hard = ti ? ti[j] : (float)(j == y[i]);
            float t = (1.0f - s) * hard + off;
            if (t > 0.0f)
                ce -= t * log(pi[j] > 1e-30f ? pi[j] : 1e-30f);
            if (dlogits)
                dlogits[(size_t)i * k + j] = w * (pi[j] - t) / (float)n;
        }
        loss += w * ce;
    }
    return (float)(loss / n);
}
