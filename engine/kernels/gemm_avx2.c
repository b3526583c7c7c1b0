/* AVX2/FMA GEMM micro-kernel (placeholder until the packed kernel lands). */
#include "nn_impl.h"
int nn_gemm_avx2_available(void);
int nn_gemm_avx2_available(void) { return 0; }
