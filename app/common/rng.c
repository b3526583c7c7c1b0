/* rng.c - see rng.h. */
#include "rng.h"

uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int rng_below(uint64_t *s, int n)
{
    return (int)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

float rng_unif(uint64_t *s) { return (float)(rng_next(s) >> 40) * 0x1.0p-24f; }

void rng_shuffle(int *a, int n, uint64_t *s)
{
    for (int i = n - 1; i > 0; i--) {
        int j = rng_below(s, i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
