/* Shared between the two sources of the nas_blas addon: sgemm.c (the BLAS it opened, and gemm) and kernels.c
 * (fused training kernels built on the same BLAS). */
#ifndef NAS_BLAS_H
#define NAS_BLAS_H

#include <node_api.h>
#include <stdint.h>

/* Loops compiled for AVX-512 and AVX2 beside the baseline, chosen at load by the CPU's features (GCC function
 * multi-versioning on CPUID bits: "arch=haswell" clones would be chosen by the CPU's model, which a virtual machine
 * that reports a plain "Intel Xeon Processor" does not match, leaving the baseline SSE2 code). GCC 12 vectorises the
 * elementwise, activation, norm, softmax and AdamW loops so (the AdamW loop thanks to -fno-math-errno, the
 * activations' clamps thanks to -fno-trapping-math); the double-precision sums stay scalar, as their order of
 * addition is kept. */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTORISED
#endif

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);

/* cblas_sgemm of the library load() opened, or NULL before a successful load. */
extern sgemm_fn nas_sgemm;

/* Adds kernels.c's functions to the addon's exports (and flows.c's, through nas_define_flow_kernels). */
napi_status nas_define_kernels(napi_env env, napi_value exports);
napi_status nas_define_flow_kernels(napi_env env, napi_value exports);

/* ---- helpers of kernels.c that flows.c shares ---- */

/* The wasm heap as floats. */
typedef struct {
  float *base;
  int64_t floats;
} Heap;

/* Reads argv[0] as the heap and argv[1..expected) as integers into v (NULL: none read); throws `name` on a wrong count. */
int nas_read_args(napi_env env, napi_callback_info info, size_t expected, const char *name, Heap *heap, int64_t *v, napi_value *argv);
/* True when [offset, offset + count) lies inside the heap; throws otherwise (never write outside the heap). */
int nas_inside(napi_env env, const Heap *h, int64_t offset, int64_t count);
/* True when a BLAS is loaded; throws otherwise. */
int nas_need_blas(napi_env env);
/* Row-major C[m,n] = alpha·op(A)·op(B) + beta·C on the loaded BLAS (k = 0: C = beta·C). */
void nas_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
              float *c, int64_t ldc);
/* out[c] = Σ_r x[r, c]. */
void nas_column_sums(const float *x, float *out, int64_t rows, int64_t cols);

#endif
