/* Shared between the two sources of the nas_blas addon: sgemm.c (the BLAS it opened, and gemm) and kernels.c
 * (fused training kernels built on the same BLAS). */
#ifndef NAS_BLAS_H
#define NAS_BLAS_H

#include <node_api.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);

/* cblas_sgemm of the library load() opened, or NULL before a successful load. */
extern sgemm_fn nas_sgemm;

/* Adds kernels.c's functions to the addon's exports. */
napi_status nas_define_kernels(napi_env env, napi_value exports);

#endif
