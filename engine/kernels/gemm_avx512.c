/* AVX-512 GEMM micro-kernel (placeholder until the packed kernel lands). */
#include "nn_impl.h"
int nn_gemm_avx512_available(void);
int nn_gemm_avx512_available(void) { return 0; }
