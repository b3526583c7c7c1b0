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

/* Distillation: T^2 * KL(q || softmax(z/T)), mean over the batch, whose
 * gradient at z is T * (softmax(z/T) - q) / n (the T^2 keeps its size
 * comparable to the label loss's as T grows). */
static double distill(const float *z, const float *q, int n, int k, float T, float alpha, float *dz)
{
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const float *zi = z + (size_t)i * k, *qi = q + (size_t)i * k;
        double m = -INFINITY, s = 0, pt[NN_MAX_CLASSES];
        for (int j = 0; j < k; j++)
            m = zi[j] / T > m ? zi[j] / T : m;
        for (int j = 0; j < k; j++)
            s += pt[j] = exp(zi[j] / T - m);
        const double lse = m + log(s);
        double kl = 0;
        for (int j = 0; j < k; j++) {
            if (qi[j] > 0)
                kl += qi[j] * (log(qi[j]) - (zi[j] / T - lse));
            if (dz)
                dz[(size_t)i * k + j] += (float)(alpha * T * (pt[j] / s - qi[j]) / n);
        }
        loss += (double)T * T * kl;
    }
    return loss / n;
}

float nn_loss(const float *z, const float *p, const int *y, int n, int k, const nn_loss_cfg *cfg,
              float *dlogits)
{
    float ce = nn_xent(p, y, n, k, cfg, dlogits);
    if (!cfg || !cfg->teacher || k > NN_MAX_CLASSES)
        return ce;
    const float a = cfg->distill_alpha, T = cfg->distill_t > 0 ? cfg->distill_t : 1.0f;
    if (dlogits)
        for (size_t i = 0; i < (size_t)n * k; i++)
            dlogits[i] *= 1.0f - a;
    return (float)((1.0 - a) * ce + a * distill(z, cfg->teacher, n, k, T, a, dlogits));
}
