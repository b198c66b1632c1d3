/*
 * nas_blas: float32 matrix products for the tfjs wasm backend, computed by a native BLAS (OpenBLAS) directly on
 * the wasm heap. See src/models/native-blas.ts for why and how it is used.
 *
 * The BLAS is opened at run time with dlopen, not linked: the addon then builds with a C compiler and Node's
 * headers alone (no BLAS development package), and a machine without OpenBLAS simply reports it unavailable.
 *
 *   load(libraryPath | undefined) -> string | null   open a BLAS and use it from now on; returns its description, or
 *       null if it does not load (the one in use, if any, stays). Without a path, the first load looks up OpenBLAS
 *       and later ones return the library already in use.
 *   gemm(buffer, transA, transB, m, n, k, aOffset, bOffset, cOffset, batch, strideA, strideB, strideC)
 *       for i in [0, batch):  C_i[m, n] = op(A_i) · op(B_i)   (row-major, float32; offsets/strides in floats)
 *       op(A_i) is A_i[m, k], or A_i[k, m] transposed when transA; likewise op(B_i) is B_i[k, n] or B_i[n, k]ᵀ.
 *       A stride of 0 repeats one operand for every batch item (broadcasting).
 * and the fused training kernels of kernels.c (see there).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nas_blas.h"

typedef void (*set_threads_fn)(int);
typedef char *(*get_config_fn)(void);

sgemm_fn nas_sgemm = NULL; /* also used by the fused kernels (kernels.c) */
static char description[1280];

#define CHECK(call)                                                       \
  do {                                                                    \
    if ((call) != napi_ok) {                                              \
      napi_throw_error(env, NULL, "nas_blas: N-API call failed: " #call); \
      return NULL;                                                        \
    }                                                                     \
  } while (0)

/* One library: must export cblas_sgemm and, unless named explicitly by the caller, be OpenBLAS (a reference BLAS
 * is slower than the wasm backend's own XNNPACK products). It runs on one thread: trainers run one per core. */
static int open_blas(const char *path, int require_openblas) {
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) return 0;
  sgemm_fn gemm = (sgemm_fn)dlsym(lib, "cblas_sgemm");
  set_threads_fn set_threads = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
  get_config_fn get_config = (get_config_fn)dlsym(lib, "openblas_get_config");
  if (!gemm || (require_openblas && !set_threads)) {
    dlclose(lib);
    return 0;
  }
  if (set_threads) set_threads(1);
  snprintf(description, sizeof description, "%s (%s)", get_config ? get_config() : "cblas", path);
  nas_sgemm = gemm; /* an earlier library stays open: products in flight elsewhere never run on a closed one */
  return 1;
}

static napi_value load(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type = napi_undefined;
  if (argc >= 1) CHECK(napi_typeof(env, argv[0], &type));
  int ok = 0;
  if (type == napi_string) {
    char path[1024];
    size_t len = 0;
    CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len));
    ok = open_blas(path, 0);
  } else if (nas_sgemm) {
    ok = 1;
  } else {
    static const char *candidates[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates && !ok; i++) ok = open_blas(candidates[i], 1);
  }
  napi_value result;
  if (ok) CHECK(napi_create_string_utf8(env, description, NAPI_AUTO_LENGTH, &result));
  else CHECK(napi_get_null(env, &result));
  return result;
}

static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 13) {
    napi_throw_type_error(env, NULL, "nas_blas.gemm: expected 13 arguments");
    return NULL;
  }
  if (!nas_sgemm) {
    napi_throw_error(env, NULL, "nas_blas.gemm: no BLAS loaded (call load() first)");
    return NULL;
  }
  void *data = NULL;
  size_t byteLength = 0;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &data, &byteLength));
  bool transA, transB;
  CHECK(napi_get_value_bool(env, argv[1], &transA));
  CHECK(napi_get_value_bool(env, argv[2], &transB));
  int64_t v[10]; /* m, n, k, aOffset, bOffset, cOffset, batch, strideA, strideB, strideC */
  for (int i = 0; i < 10; i++) CHECK(napi_get_value_int64(env, argv[3 + i], &v[i]));
  const int64_t m = v[0], n = v[1], k = v[2], batch = v[6];
  const int64_t floats = (int64_t)(byteLength / sizeof(float));
  for (int i = 0; i < 10; i++) {
    if (v[i] < 0) {
      napi_throw_range_error(env, NULL, "nas_blas.gemm: negative size, offset or stride");
      return NULL;
    }
  }
  /* Every item of every operand must lie inside the buffer: a wrong offset must not write outside the heap. */
  const int64_t last = batch > 0 ? batch - 1 : 0;
  if (v[3] + last * v[7] + m * k > floats || v[4] + last * v[8] + k * n > floats || v[5] + last * v[9] + m * n > floats) {
    napi_throw_range_error(env, NULL, "nas_blas.gemm: operand outside the buffer");
    return NULL;
  }
  if (m == 0 || n == 0) return NULL; /* an empty output: nothing to compute */
  float *heap = (float *)data;
  /* Leading dimensions of the row-major operands as stored; BLAS requires them ≥ 1 even for empty operands. */
  const int lda = (int)(transA ? m : (k > 0 ? k : 1));
  const int ldb = (int)(transB ? (k > 0 ? k : 1) : n);
  for (int64_t i = 0; i < batch; i++) {
    const float *a = heap + v[3] + i * v[7];
    const float *b = heap + v[4] + i * v[8];
    float *c = heap + v[5] + i * v[9];
    if (k == 0) {
      memset(c, 0, (size_t)(m * n) * sizeof(float));
      continue;
    }
    nas_sgemm(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, (int)m, (int)n, (int)k, 1.0f, a, lda, b,
                ldb, 0.0f, c, (int)n);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"load", NULL, load, NULL, NULL, NULL, napi_default, NULL},
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof *props, props) != napi_ok) return NULL;
  if (nas_define_kernels(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
