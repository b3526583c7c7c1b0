/* probs.c - see probs.h. */
#include "probs.h"

int probs_argmax(const float *p, int k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (p[j] > p[best])
            best = j;
    return best;
}
