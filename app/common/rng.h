/* rng.h - the one random number generator of app/: splitmix64, tiny, fast
 * and good enough to shuffle and augment. The state is a plain uint64_t the
 * caller owns (seed it with anything); no global state, so threads with
 * their own states never share. */
#ifndef ED_RNG_H
#define ED_RNG_H

#include <stdint.h>

/* Advance *s and return the next 64 random bits. */
uint64_t rng_next(uint64_t *s);
/* Uniform integer in [0, n), n > 0. */
int rng_below(uint64_t *s, int n);
/* Uniform float in [0, 1). */
float rng_unif(uint64_t *s);
/* Fisher-Yates shuffle of a[0..n). */
void rng_shuffle(int *a, int n, uint64_t *s);

#endif
