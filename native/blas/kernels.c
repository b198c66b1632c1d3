/*
 * Fused training kernels for the tfjs wasm backend, run natively on the wasm heap beside the sgemm of sgemm.c.
 * See src/models/native-kernels.ts for why and how they are used; every kernel has a plain-tfjs twin there that
 * computes the same quantity, and tests compare the two.
 *
 * Every function takes the wasm heap (an ArrayBuffer) first; offsets and sizes are in floats. Every operand is
 * checked to lie inside the heap before anything is read or written. Shapes: row-major, d = heads · hd.
 *
 *   linearForward(heap, x, w, b, y, m, k, n)               y[m,n] = x[m,k]·w[k,n] + b[n]   (b < 0: no bias)
 *   linearBackward(heap, dy, x, w, dx, dw, db, m, k, n)    dx = dy·wᵀ, dw = xᵀ·dy, db = Σ_rows dy (< 0: skipped)
 *   attentionForward(heap, q, k, v, bias, biasHeads, y, p, batch, T, heads, hd, scale)
 *       per sequence b and head h, with Q_bh = q[b·T:(b+1)·T, h·hd:(h+1)·hd] (likewise K, V, Y):
 *       P_bh = softmax(scale·Q_bh·K_bhᵀ + bias[h or 0]) → p[b, h, T, T];  Y_bh = P_bh·V_bh → y[B·T, d]
 *   attentionBackward(heap, dy, q, k, v, p, dq, dk, dv, batch, T, heads, hd, scale)
 *       dS = scale · P ⊙ (dY·Vᵀ − rowsum(dY·Vᵀ ⊙ P));  dQ = dS·K,  dK = dSᵀ·Q,  dV = Pᵀ·dY
 *   sumSquares(heap, table) -> number           Σ g² over every gradient of an optimizer table (in double)
 *   adamw(heap, table, m, v, lr, beta1, beta2, eps, bc1, bc2, gradScale)
 *       the AdamW step of src/models/training/adamw.ts for every parameter of `table` (Float64Array, 5 numbers a
 *       parameter: param, grad, out, size, decay): m, v (Float32Arrays, all parameters one after the other) are
 *       updated in place, the new weights written to `out`. Arithmetic in double, as the JavaScript update does.
 *   binary(heap, op, a, aOuter, aInner, b, bOuter, bInner, out, rows, cols)
 *       out[r, c] = a[r·aOuter + c·aInner] op b[r·bOuter + c·bInner], op 0..3 = + − × ÷ (strides 0 broadcast)
 *   unary(heap, op, x, out, size)               op 0..5 = square, rsqrt, sigmoid, neg, exp, sqrt
 *   rowReduce(heap, op, x, out, rows, cols)     op 0..2 = sum, mean, max over each row
 *   softmaxRows(heap, x, out, rows, cols)       softmax over each row
 *   normForward(heap, x, gamma, beta, y, stats, rows, cols, eps, rms)
 *       LayerNorm (rms 0): y = (x − μ)·r·γ + β, r = 1/√(σ² + ε); RMSNorm (rms 1, beta < 0): y = x·r·γ, r = 1/√(mean x² + ε);
 *       stats[rows, 2] = (μ, r) per row (μ = 0 for RMSNorm), kept for the backward pass. Row moments in double
 *       (four partial sums per row, as the backward pass's row sums take eight, in float).
 *   activationForward(heap, op, x, y, size)      op 0 = GELU (tanh form) x·σ(c·(x + 0.044715x³)), c = 2√(2/π); 1 = swish x·σ(x)
 *   activationBackward(heap, op, dy, x, dx, size)   dx = dy · act'(x)
 *   crossEntropyForward(heap, logits, targets, nll, lse, rows, cols)
 *       per row: lse = log Σ_v e^logit_v, nll = lse − logit[target] (targets int32; one outside [0, cols): nll = 0)
 *   crossEntropyBackward(heap, dnll, logits, targets, lse, dlogits, rows, cols)
 *       dlogits[r, v] = dnll[r] · (e^(logit − lse) − [v = target]) (0 for a target outside [0, cols))
 *   normBackward(heap, dy, x, gamma, stats, dx, dgamma, dbeta, rows, cols, rms)
 *       with x̂ = (x − μ)·r and g = dy·γ:  dx = r·(g − mean(g) − x̂·mean(g·x̂))  (RMSNorm: without the mean(g) term),
 *       dγ = Σ_rows dy·x̂, dβ = Σ_rows dy (dbeta < 0: skipped)
 */
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nas_blas.h"
#include "vector_math.h"

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      napi_throw_error(env, NULL, "nas_kernels: N-API call failed: " #call); \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

/* Reads argv[0] as the heap and argv[1..count) as integers into v (doubles are truncated). */
int nas_read_args(napi_env env, napi_callback_info info, size_t expected, const char *name, Heap *heap, int64_t *v,
                     napi_value *argv) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc != expected) {
    napi_throw_type_error(env, NULL, name);
    return 0;
  }
  void *data = NULL;
  size_t bytes = 0;
  if (napi_get_arraybuffer_info(env, argv[0], &data, &bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "nas_kernels: the first argument must be the wasm heap (an ArrayBuffer)");
    return 0;
  }
  heap->base = (float *)data;
  heap->floats = (int64_t)(bytes / sizeof(float));
  for (size_t i = 1; i < expected && v; i++) {
    double d = 0;
    if (napi_get_value_double(env, argv[i], &d) != napi_ok) {
      napi_throw_type_error(env, NULL, "nas_kernels: expected a number");
      return 0;
    }
    v[i - 1] = (int64_t)d;
  }
  return 1;
}

/* True when [offset, offset + count) lies inside the heap; throws otherwise (never write outside the heap). */
int nas_inside(napi_env env, const Heap *h, int64_t offset, int64_t count) {
  if (offset < 0 || count < 0 || offset + count > h->floats) {
    napi_throw_range_error(env, NULL, "nas_kernels: operand outside the heap");
    return 0;
  }
  return 1;
}

int nas_need_blas(napi_env env) {
  if (nas_sgemm) return 1;
  napi_throw_error(env, NULL, "nas_kernels: no BLAS loaded (call load() first)");
  return 0;
}

void nas_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0f)
      for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
    return;
  }
  nas_sgemm(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, (int)m, (int)n, (int)k, alpha, a, (int)(lda > 0 ? lda : 1),
            b, (int)(ldb > 0 ? ldb : 1), beta, c, (int)ldc);
}

VECTORISED void nas_column_sums(const float *x, float *out, int64_t rows, int64_t cols) {
  memset(out, 0, (size_t)cols * sizeof(float));
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    for (int64_t c = 0; c < cols; c++) out[c] += row[c];
  }
}

/* ---- linear layers ---- */

static napi_value linear_forward(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  Heap h;
  int64_t v[7]; /* x, w, b, y, m, k, n */
  if (!nas_read_args(env, info, 8, "nas_kernels.linearForward: expected 8 arguments", &h, v, argv) || !nas_need_blas(env)) return NULL;
  const int64_t m = v[4], k = v[5], n = v[6];
  if (m < 0 || k < 0 || n < 0) return napi_throw_range_error(env, NULL, "nas_kernels: negative size"), NULL;
  if (!nas_inside(env, &h, v[0], m * k) || !nas_inside(env, &h, v[1], k * n) || !nas_inside(env, &h, v[3], m * n)) return NULL;
  if (v[2] >= 0 && !nas_inside(env, &h, v[2], n)) return NULL;
  float *y = h.base + v[3];
  if (v[2] >= 0) {
    const float *b = h.base + v[2];
    for (int64_t r = 0; r < m; r++) memcpy(y + r * n, b, (size_t)n * sizeof(float));
  }
  nas_gemm(0, 0, m, n, k, 1.0f, h.base + v[0], k, h.base + v[1], n, v[2] >= 0 ? 1.0f : 0.0f, y, n);
  return NULL;
}

static napi_value linear_backward(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  Heap h;
  int64_t v[9]; /* dy, x, w, dx, dw, db, m, k, n */
  if (!nas_read_args(env, info, 10, "nas_kernels.linearBackward: expected 10 arguments", &h, v, argv) || !nas_need_blas(env)) return NULL;
  const int64_t m = v[6], k = v[7], n = v[8];
  if (m < 0 || k < 0 || n < 0) return napi_throw_range_error(env, NULL, "nas_kernels: negative size"), NULL;
  if (!nas_inside(env, &h, v[0], m * n) || !nas_inside(env, &h, v[1], m * k) || !nas_inside(env, &h, v[2], k * n)) return NULL;
  if ((v[3] >= 0 && !nas_inside(env, &h, v[3], m * k)) || (v[4] >= 0 && !nas_inside(env, &h, v[4], k * n)) || (v[5] >= 0 && !nas_inside(env, &h, v[5], n)))
    return NULL;
  const float *dy = h.base + v[0], *x = h.base + v[1], *w = h.base + v[2];
  if (v[3] >= 0) nas_gemm(0, 1, m, k, n, 1.0f, dy, n, w, n, 0.0f, h.base + v[3], k);
  if (v[4] >= 0) nas_gemm(1, 0, k, n, m, 1.0f, x, k, dy, n, 0.0f, h.base + v[4], n);
  if (v[5] >= 0) nas_column_sums(dy, h.base + v[5], m, n);
  return NULL;
}

/* ---- attention ---- */

/* One row of scores: s += bias, then softmax in place, 8 at a time (vexp8: masked scores, −1e9, give exactly 0). */
VECTORISED static void bias_softmax_row(float *s, const float *bias, int64_t n) {
  f8 vmx = splat8(-INFINITY);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const f8 v = load8(s + j) + load8(bias + j);
    store8(s + j, v);
    vmx = select8(v > vmx, v, vmx);
  }
  float mx = -INFINITY;
  for (int l = 0; l < 8; l++) mx = vmx[l] > mx ? vmx[l] : mx;
  for (; j < n; j++) {
    s[j] += bias[j];
    mx = s[j] > mx ? s[j] : mx;
  }
  exp_row(s, mx, s, n);
  f8 vsum = splat8(0.0f);
  for (j = 0; j + 8 <= n; j += 8) vsum += load8(s + j);
  float sum = 0.0f;
  for (int l = 0; l < 8; l++) sum += vsum[l];
  for (; j < n; j++) sum += s[j];
  const float inv = 1.0f / sum;
  for (j = 0; j + 8 <= n; j += 8) store8(s + j, load8(s + j) * inv);
  for (; j < n; j++) s[j] *= inv;
}

static napi_value attention_forward(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  Heap h;
  int64_t v[12]; /* q, k, v, bias, biasHeads, y, p, B, T, H, hd, (scale: read as a double below) */
  if (!nas_read_args(env, info, 13, "nas_kernels.attentionForward: expected 13 arguments", &h, v, argv) || !nas_need_blas(env)) return NULL;
  double scale = 0;
  CHECK(napi_get_value_double(env, argv[12], &scale));
  const int64_t B = v[7], T = v[8], H = v[9], hd = v[10], d = H * hd, biasHeads = v[4];
  if (B < 0 || T < 0 || H <= 0 || hd < 0 || (biasHeads != 1 && biasHeads != H)) return napi_throw_range_error(env, NULL, "nas_kernels: bad attention sizes"), NULL;
  for (int i = 0; i < 3; i++)
    if (!nas_inside(env, &h, v[i], B * T * d)) return NULL;
  if (!nas_inside(env, &h, v[3], biasHeads * T * T) || !nas_inside(env, &h, v[5], B * T * d) || !nas_inside(env, &h, v[6], B * H * T * T)) return NULL;
  const float *q = h.base + v[0], *k = h.base + v[1], *vv = h.base + v[2], *bias = h.base + v[3];
  float *y = h.base + v[5], *p = h.base + v[6];
  for (int64_t b = 0; b < B; b++) {
    for (int64_t hh = 0; hh < H; hh++) {
      const int64_t off = b * T * d + hh * hd;
      float *s = p + (b * H + hh) * T * T;
      const float *bh = bias + (biasHeads == 1 ? 0 : hh * T * T);
      nas_gemm(0, 1, T, T, hd, (float)scale, q + off, d, k + off, d, 0.0f, s, T);
      for (int64_t i = 0; i < T; i++) bias_softmax_row(s + i * T, bh + i * T, T);
      nas_gemm(0, 0, T, hd, T, 1.0f, s, T, vv + off, d, 0.0f, y + off, d);
    }
  }
  return NULL;
}

/* dS = scale · P ⊙ (dP − rowsum(dP ⊙ P)), in place over dP. */
VECTORISED static void softmax_backward_rows(float *dp, const float *p, int64_t rows, int64_t n, float scale) {
  for (int64_t i = 0; i < rows; i++) {
    float *g = dp + i * n;
    const float *pi = p + i * n;
    float dot = 0.0f;
    for (int64_t j = 0; j < n; j++) dot += g[j] * pi[j];
    for (int64_t j = 0; j < n; j++) g[j] = scale * (pi[j] * (g[j] - dot));
  }
}

static napi_value attention_backward(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  Heap h;
  int64_t v[13]; /* dy, q, k, v, p, dq, dk, dv, B, T, H, hd, (scale: read as a double below) */
  if (!nas_read_args(env, info, 14, "nas_kernels.attentionBackward: expected 14 arguments", &h, v, argv) || !nas_need_blas(env)) return NULL;
  double scale = 0;
  CHECK(napi_get_value_double(env, argv[13], &scale));
  const int64_t B = v[8], T = v[9], H = v[10], hd = v[11], d = H * hd;
  if (B < 0 || T < 0 || H <= 0 || hd < 0) return napi_throw_range_error(env, NULL, "nas_kernels: bad attention sizes"), NULL;
  for (int i = 0; i < 8; i++)
    if (i != 4 && !nas_inside(env, &h, v[i], B * T * d)) return NULL;
  if (!nas_inside(env, &h, v[4], B * H * T * T)) return NULL;
  const float *dy = h.base + v[0], *q = h.base + v[1], *k = h.base + v[2], *vv = h.base + v[3], *p = h.base + v[4];
  float *dq = h.base + v[5], *dk = h.base + v[6], *dv = h.base + v[7];
  float *ds = malloc((size_t)(T * T > 0 ? T * T : 1) * sizeof(float));
  if (!ds) return napi_throw_error(env, NULL, "nas_kernels: out of memory"), NULL;
  for (int64_t b = 0; b < B; b++) {
    for (int64_t hh = 0; hh < H; hh++) {
      const int64_t off = b * T * d + hh * hd;
      const float *ph = p + (b * H + hh) * T * T;
      nas_gemm(0, 1, T, T, hd, 1.0f, dy + off, d, vv + off, d, 0.0f, ds, T); /* dP = dY·Vᵀ */
      softmax_backward_rows(ds, ph, T, T, (float)scale);
      nas_gemm(0, 0, T, hd, T, 1.0f, ds, T, k + off, d, 0.0f, dq + off, d);  /* dQ = dS·K */
      nas_gemm(1, 0, T, hd, T, 1.0f, ds, T, q + off, d, 0.0f, dk + off, d);  /* dK = dSᵀ·Q */
      nas_gemm(1, 0, T, hd, T, 1.0f, ph, T, dy + off, d, 0.0f, dv + off, d); /* dV = Pᵀ·dY */
    }
  }
  free(ds);
  return NULL;
}

/* ---- activations ---- */

#define GELU_C 1.5957691216057308f /* 2·√(2/π) */
#define GELU_A 0.044715f

/* y = act(x) and the factor act'(x), for 8 values. */
VINLINE f8 act8(int op, f8 v) {
  if (op == 0) return v * vsigmoid8(v * (GELU_C + v * v * (GELU_C * GELU_A)));
  return v * vsigmoid8(v);
}
VINLINE f8 act_grad8(int op, f8 v) {
  if (op == 0) {
    /* d/dx x·σ(u) = σ(u) + x·σ(u)(1 − σ(u))·u′,  u′ = c·(1 + 3·0.044715x²) */
    const f8 v2 = v * v, s = vsigmoid8(v * (GELU_C + v2 * (GELU_C * GELU_A)));
    return s + s * (1.0f - s) * (v * (GELU_C + v2 * (GELU_C * 3.0f * GELU_A)));
  }
  const f8 s = vsigmoid8(v);
  return s + v * s * (1.0f - s);
}

VECTORISED static void activation_forward_op(int op, const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store8(y + i, act8(op, load8(x + i)));
  if (i == n) return;
  float tail[8] = {0};
  memcpy(tail, x + i, (size_t)(n - i) * sizeof(float));
  store8(tail, act8(op, load8(tail)));
  memcpy(y + i, tail, (size_t)(n - i) * sizeof(float));
}

VECTORISED static void activation_backward_op(int op, const float *dy, const float *x, float *dx, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store8(dx + i, load8(dy + i) * act_grad8(op, load8(x + i)));
  if (i == n) return;
  float tx[8] = {0}, tdy[8] = {0};
  memcpy(tx, x + i, (size_t)(n - i) * sizeof(float));
  memcpy(tdy, dy + i, (size_t)(n - i) * sizeof(float));
  store8(tx, load8(tdy) * act_grad8(op, load8(tx)));
  memcpy(dx + i, tx, (size_t)(n - i) * sizeof(float));
}

/* ---- cross-entropy ---- */

VECTORISED static void cross_entropy_forward_rows(const float *logits, const int32_t *targets, float *nll, float *lse, float *scratch, int64_t rows,
                                                  int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *row = logits + r * cols;
    float mx = -INFINITY;
    for (int64_t c = 0; c < cols; c++) mx = row[c] > mx || isnan(row[c]) ? row[c] : mx;
    exp_row(row, mx, scratch, cols);
    double sum = 0.0;
    for (int64_t c = 0; c < cols; c++) sum += (double)scratch[c];
    lse[r] = mx + (float)log(sum);
    const int32_t t = targets[r];
    nll[r] = t >= 0 && t < cols ? lse[r] - row[t] : 0.0f;
  }
}

VECTORISED static void cross_entropy_backward_rows(const float *dnll, const float *logits, const int32_t *targets, const float *lse, float *dlogits,
                                                   int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const int32_t t = targets[r];
    float *out = dlogits + r * cols;
    if (t < 0 || t >= cols) {
      memset(out, 0, (size_t)cols * sizeof(float));
      continue;
    }
    exp_row(logits + r * cols, lse[r], out, cols);
    const float g = dnll[r];
    for (int64_t c = 0; c < cols; c++) out[c] *= g;
    out[t] -= g;
  }
}

static napi_value cross_entropy_forward(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  Heap h;
  int64_t v[6]; /* logits, targets, nll, lse, rows, cols */
  if (!nas_read_args(env, info, 7, "nas_kernels.crossEntropyForward: expected 7 arguments", &h, v, argv)) return NULL;
  const int64_t rows = v[4], cols = v[5];
  if (rows < 0 || cols <= 0) return napi_throw_range_error(env, NULL, "nas_kernels.crossEntropyForward: bad sizes"), NULL;
  if (!nas_inside(env, &h, v[0], rows * cols) || !nas_inside(env, &h, v[1], rows) || !nas_inside(env, &h, v[2], rows) || !nas_inside(env, &h, v[3], rows))
    return NULL;
  float *scratch = malloc((size_t)cols * sizeof(float));
  if (!scratch) return napi_throw_error(env, NULL, "nas_kernels: out of memory"), NULL;
  cross_entropy_forward_rows(h.base + v[0], (const int32_t *)(h.base + v[1]), h.base + v[2], h.base + v[3], scratch, rows, cols);
  free(scratch);
  return NULL;
}

static napi_value cross_entropy_backward(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  Heap h;
  int64_t v[7]; /* dnll, logits, targets, lse, dlogits, rows, cols */
  if (!nas_read_args(env, info, 8, "nas_kernels.crossEntropyBackward: expected 8 arguments", &h, v, argv)) return NULL;
  const int64_t rows = v[5], cols = v[6];
  if (rows < 0 || cols <= 0) return napi_throw_range_error(env, NULL, "nas_kernels.crossEntropyBackward: bad sizes"), NULL;
  if (!nas_inside(env, &h, v[0], rows) || !nas_inside(env, &h, v[1], rows * cols) || !nas_inside(env, &h, v[2], rows) || !nas_inside(env, &h, v[3], rows) ||
      !nas_inside(env, &h, v[4], rows * cols))
    return NULL;
  cross_entropy_backward_rows(h.base + v[0], h.base + v[1], (const int32_t *)(h.base + v[2]), h.base + v[3], h.base + v[4], rows, cols);
  return NULL;
}

static napi_value activation_forward(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  Heap h;
  int64_t v[4]; /* op, x, y, size */
  if (!nas_read_args(env, info, 5, "nas_kernels.activationForward: expected 5 arguments", &h, v, argv)) return NULL;
  if (v[0] < 0 || v[0] > 1) return napi_throw_range_error(env, NULL, "nas_kernels.activationForward: bad op"), NULL;
  if (!nas_inside(env, &h, v[1], v[3]) || !nas_inside(env, &h, v[2], v[3])) return NULL;
  activation_forward_op((int)v[0], h.base + v[1], h.base + v[2], v[3]);
  return NULL;
}

static napi_value activation_backward(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Heap h;
  int64_t v[5]; /* op, dy, x, dx, size */
  if (!nas_read_args(env, info, 6, "nas_kernels.activationBackward: expected 6 arguments", &h, v, argv)) return NULL;
  if (v[0] < 0 || v[0] > 1) return napi_throw_range_error(env, NULL, "nas_kernels.activationBackward: bad op"), NULL;
  if (!nas_inside(env, &h, v[1], v[4]) || !nas_inside(env, &h, v[2], v[4]) || !nas_inside(env, &h, v[3], v[4])) return NULL;
  activation_backward_op((int)v[0], h.base + v[1], h.base + v[2], h.base + v[3], v[4]);
  return NULL;
}

/* ---- the optimizer ---- */

/* The optimizer's table: 5 doubles a parameter (param, grad, out, size, decay), each operand checked. */
static double *read_table(napi_env env, napi_value value, const Heap *h, size_t *count) {
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float64_array || length % 5 != 0) {
    napi_throw_type_error(env, NULL, "nas_kernels: the table must be a Float64Array of 5 numbers a parameter");
    return NULL;
  }
  double *t = (double *)data;
  for (size_t i = 0; i < length; i += 5) {
    const int64_t size = (int64_t)t[i + 3];
    if (!nas_inside(env, h, (int64_t)t[i], size) || !nas_inside(env, h, (int64_t)t[i + 1], size) || !nas_inside(env, h, (int64_t)t[i + 2], size)) return NULL;
  }
  *count = length / 5;
  return t;
}

VECTORISED static double sum_squares_of(const float *g, int64_t n) {
  double s = 0.0;
  for (int64_t j = 0; j < n; j++) s += (double)g[j] * (double)g[j];
  return s;
}

static napi_value sum_squares(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Heap h;
  if (!nas_read_args(env, info, 2, "nas_kernels.sumSquares: expected 2 arguments", &h, NULL, argv)) return NULL;
  size_t count = 0;
  const double *t = read_table(env, argv[1], &h, &count);
  if (!t) return NULL;
  double s = 0.0;
  for (size_t i = 0; i < count; i++) s += sum_squares_of(h.base + (int64_t)t[5 * i + 1], (int64_t)t[5 * i + 3]);
  napi_value result;
  CHECK(napi_create_double(env, s, &result));
  return result;
}

typedef struct {
  double lr, b1, b2, eps, bc1, bc2, scale;
} AdamParams;

VECTORISED static void adamw_one(const float *w, const float *g, float *out, float *m, float *v, int64_t n, double decay, const AdamParams *a) {
  const double b1 = a->b1, b2 = a->b2, lr = a->lr, eps = a->eps, bc1 = a->bc1, bc2 = a->bc2, scale = a->scale;
  for (int64_t j = 0; j < n; j++) {
    const double gj = (double)g[j] * scale;
    const double mj = b1 * (double)m[j] + (1 - b1) * gj;
    const double vj = b2 * (double)v[j] + (1 - b2) * gj * gj;
    m[j] = (float)mj;
    v[j] = (float)vj;
    const double wj = (double)w[j];
    out[j] = (float)(wj - lr * (mj / bc1 / (sqrt(vj / bc2) + eps) + decay * wj));
  }
}

static napi_value adamw(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  Heap h;
  if (!nas_read_args(env, info, 11, "nas_kernels.adamw: expected 11 arguments", &h, NULL, argv)) return NULL;
  size_t count = 0;
  const double *t = read_table(env, argv[1], &h, &count);
  if (!t) return NULL;
  float *state[2];
  size_t stateLength[2];
  for (int i = 0; i < 2; i++) {
    napi_typedarray_type type;
    void *data = NULL;
    if (napi_get_typedarray_info(env, argv[2 + i], &type, &stateLength[i], &data, NULL, NULL) != napi_ok || type != napi_float32_array) {
      napi_throw_type_error(env, NULL, "nas_kernels.adamw: m and v must be Float32Arrays");
      return NULL;
    }
    state[i] = (float *)data;
  }
  double p[7];
  for (int i = 0; i < 7; i++) CHECK(napi_get_value_double(env, argv[4 + i], &p[i]));
  const AdamParams a = {p[0], p[1], p[2], p[3], p[4], p[5], p[6]};
  size_t total = 0;
  for (size_t i = 0; i < count; i++) total += (size_t)t[5 * i + 3];
  if (total > stateLength[0] || total > stateLength[1]) return napi_throw_range_error(env, NULL, "nas_kernels.adamw: m or v too short"), NULL;
  size_t at = 0;
  for (size_t i = 0; i < count; i++) {
    const double *e = t + 5 * i;
    const int64_t n = (int64_t)e[3];
    adamw_one(h.base + (int64_t)e[0], h.base + (int64_t)e[1], h.base + (int64_t)e[2], state[0] + at, state[1] + at, n, e[4], &a);
    at += (size_t)n;
  }
  return NULL;
}

/* ---- elementwise ---- */

#define BINARY_LOOP(OP)                                                                        \
  for (int64_t r = 0; r < rows; r++) {                                                         \
    const float *ar = a + r * ao;                                                              \
    const float *br = b + r * bo;                                                              \
    float *o = out + r * cols;                                                                 \
    if (ai && bi)                                                                              \
      for (int64_t c = 0; c < cols; c++) o[c] = ar[c] OP br[c];                                \
    else if (ai)                                                                               \
      for (int64_t c = 0; c < cols; c++) o[c] = ar[c] OP br[0];                                \
    else if (bi)                                                                               \
      for (int64_t c = 0; c < cols; c++) o[c] = ar[0] OP br[c];                                \
    else                                                                                       \
      for (int64_t c = 0; c < cols; c++) o[c] = ar[0] OP br[0];                                \
  }

VECTORISED static void binary_op(int op, const float *a, int64_t ao, int ai, const float *b, int64_t bo, int bi, float *out,
                                 int64_t rows, int64_t cols) {
  switch (op) {
    case 0: BINARY_LOOP(+) break;
    case 1: BINARY_LOOP(-) break;
    case 2: BINARY_LOOP(*) break;
    case 3: BINARY_LOOP(/) break;
  }
}

static napi_value binary(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  Heap h;
  int64_t v[10]; /* op, a, aOuter, aInner, b, bOuter, bInner, out, rows, cols */
  if (!nas_read_args(env, info, 11, "nas_kernels.binary: expected 11 arguments", &h, v, argv)) return NULL;
  const int64_t rows = v[8], cols = v[9];
  if (v[0] < 0 || v[0] > 3 || rows < 0 || cols < 0 || v[2] < 0 || v[5] < 0 || (v[3] != 0 && v[3] != 1) || (v[6] != 0 && v[6] != 1))
    return napi_throw_range_error(env, NULL, "nas_kernels.binary: bad arguments"), NULL;
  if (rows == 0 || cols == 0) return NULL;
  if (!nas_inside(env, &h, v[1], (rows - 1) * v[2] + (cols - 1) * v[3] + 1) || !nas_inside(env, &h, v[4], (rows - 1) * v[5] + (cols - 1) * v[6] + 1) ||
      !nas_inside(env, &h, v[7], rows * cols))
    return NULL;
  binary_op((int)v[0], h.base + v[1], v[2], (int)v[3], h.base + v[4], v[5], (int)v[6], h.base + v[7], rows, cols);
  return NULL;
}

VECTORISED static void unary_op(int op, const float *x, float *out, int64_t n) {
  switch (op) {
    case 0: for (int64_t i = 0; i < n; i++) out[i] = x[i] * x[i]; break;
    case 1: for (int64_t i = 0; i < n; i++) out[i] = 1.0f / sqrtf(x[i]); break;
    case 2: for (int64_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-x[i])); break;
    case 3: for (int64_t i = 0; i < n; i++) out[i] = -x[i]; break;
    case 4: for (int64_t i = 0; i < n; i++) out[i] = expf(x[i]); break;
    case 5: for (int64_t i = 0; i < n; i++) out[i] = sqrtf(x[i]); break;
  }
}

static napi_value unary(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  Heap h;
  int64_t v[4]; /* op, x, out, size */
  if (!nas_read_args(env, info, 5, "nas_kernels.unary: expected 5 arguments", &h, v, argv)) return NULL;
  if (v[0] < 0 || v[0] > 5) return napi_throw_range_error(env, NULL, "nas_kernels.unary: bad op"), NULL;
  if (!nas_inside(env, &h, v[1], v[3]) || !nas_inside(env, &h, v[2], v[3])) return NULL;
  unary_op((int)v[0], h.base + v[1], h.base + v[2], v[3]);
  return NULL;
}

VECTORISED static void row_reduce_op(int op, const float *x, float *out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    float acc = op == 2 ? -INFINITY : 0.0f;
    if (op == 2)
      for (int64_t c = 0; c < cols; c++) acc = row[c] > acc || isnan(row[c]) ? row[c] : acc;
    else
      for (int64_t c = 0; c < cols; c++) acc += row[c];
    out[r] = op == 1 ? acc / (float)cols : acc;
  }
}

static napi_value row_reduce(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Heap h;
  int64_t v[5]; /* op, x, out, rows, cols */
  if (!nas_read_args(env, info, 6, "nas_kernels.rowReduce: expected 6 arguments", &h, v, argv)) return NULL;
  if (v[0] < 0 || v[0] > 2 || v[3] < 0 || v[4] <= 0) return napi_throw_range_error(env, NULL, "nas_kernels.rowReduce: bad arguments"), NULL;
  if (!nas_inside(env, &h, v[1], v[3] * v[4]) || !nas_inside(env, &h, v[2], v[3])) return NULL;
  row_reduce_op((int)v[0], h.base + v[1], h.base + v[2], v[3], v[4]);
  return NULL;
}

VECTORISED static void softmax_op(const float *x, float *out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    float *o = out + r * cols;
    float mx = -INFINITY;
    for (int64_t c = 0; c < cols; c++) mx = row[c] > mx ? row[c] : mx;
    exp_row(row, mx, o, cols);
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; c++) sum += o[c];
    const float inv = 1.0f / sum;
    for (int64_t c = 0; c < cols; c++) o[c] *= inv;
  }
}

static napi_value softmax_rows(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  Heap h;
  int64_t v[4]; /* x, out, rows, cols */
  if (!nas_read_args(env, info, 5, "nas_kernels.softmaxRows: expected 5 arguments", &h, v, argv)) return NULL;
  if (v[2] < 0 || v[3] <= 0) return napi_throw_range_error(env, NULL, "nas_kernels.softmaxRows: bad sizes"), NULL;
  if (!nas_inside(env, &h, v[0], v[2] * v[3]) || !nas_inside(env, &h, v[1], v[2] * v[3])) return NULL;
  softmax_op(h.base + v[0], h.base + v[1], v[2], v[3]);
  return NULL;
}

/* ---- LayerNorm and RMSNorm ---- */

typedef float f4 __attribute__((vector_size(16)));
typedef double d4 __attribute__((vector_size(32)));

/* Σ x and Σ (x − mu)² of a row in double, four partial sums at a time (the order of addition is per lane). */
VINLINE double row_sum_d(const float *x, int64_t n, double mu, int squares) {
  d4 acc = {0, 0, 0, 0};
  int64_t c = 0;
  for (; c + 4 <= n; c += 4) {
    f4 v;
    memcpy(&v, x + c, sizeof v);
    const d4 d = __builtin_convertvector(v, d4) - mu;
    acc += squares ? d * d : d;
  }
  double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; c < n; c++) {
    const double d = (double)x[c] - mu;
    s += squares ? d * d : d;
  }
  return s;
}

VECTORISED static void norm_forward_rows(const float *x, const float *gamma, const float *beta, float *y, float *stats, int64_t rows,
                                         int64_t cols, double eps, int rms) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    const double mu = rms ? 0.0 : row_sum_d(xr, cols, 0.0, 0) / (double)cols;
    const double var = row_sum_d(xr, cols, mu, 1);
    const float rs = (float)(1.0 / sqrt(var / (double)cols + eps));
    const float m = (float)mu;
    stats[2 * r] = m;
    stats[2 * r + 1] = rs;
    if (beta)
      for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - m) * rs * gamma[c] + beta[c];
    else
      for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - m) * rs * gamma[c];
  }
}

VECTORISED static void norm_backward_rows(const float *dy, const float *x, const float *gamma, const float *stats, float *dx, float *dgamma,
                                          float *dbeta, int64_t rows, int64_t cols, int rms) {
  memset(dgamma, 0, (size_t)cols * sizeof(float));
  if (dbeta) memset(dbeta, 0, (size_t)cols * sizeof(float));
  for (int64_t r = 0; r < rows; r++) {
    const float *dyr = dy + r * cols, *xr = x + r * cols;
    float *dxr = dx + r * cols;
    const float m = stats[2 * r], rs = stats[2 * r + 1];
    /* Row sums eight lanes at a time (the order of addition is per lane). */
    f8 vg = splat8(0.0f), vgx = splat8(0.0f);
    int64_t c = 0;
    for (; c + 8 <= cols; c += 8) {
      const f8 xh = (load8(xr + c) - m) * rs, d = load8(dyr + c), g = d * load8(gamma + c);
      vg += g;
      vgx += g * xh;
      store8(dgamma + c, load8(dgamma + c) + d * xh);
    }
    float sum_g = 0.0f, sum_gx = 0.0f;
    for (int l = 0; l < 8; l++) sum_g += vg[l], sum_gx += vgx[l];
    for (; c < cols; c++) {
      const float xh = (xr[c] - m) * rs;
      const float g = dyr[c] * gamma[c];
      sum_g += g;
      sum_gx += g * xh;
      dgamma[c] += dyr[c] * xh;
    }
    if (dbeta)
      for (int64_t c = 0; c < cols; c++) dbeta[c] += dyr[c];
    const float mean_g = rms ? 0.0f : sum_g / (float)cols, mean_gx = sum_gx / (float)cols;
    for (int64_t c = 0; c < cols; c++) {
      const float xh = (xr[c] - m) * rs;
      dxr[c] = rs * (dyr[c] * gamma[c] - mean_g - xh * mean_gx);
    }
  }
}

static napi_value norm_forward(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  Heap h;
  int64_t v[9]; /* x, gamma, beta, y, stats, rows, cols, (eps: read as a double below), rms */
  if (!nas_read_args(env, info, 10, "nas_kernels.normForward: expected 10 arguments", &h, v, argv)) return NULL;
  double eps = 0;
  CHECK(napi_get_value_double(env, argv[8], &eps));
  const int64_t rows = v[5], cols = v[6];
  const int rms = v[8] != 0;
  if (rows < 0 || cols <= 0) return napi_throw_range_error(env, NULL, "nas_kernels.normForward: bad sizes"), NULL;
  if (!nas_inside(env, &h, v[0], rows * cols) || !nas_inside(env, &h, v[1], cols) || !nas_inside(env, &h, v[3], rows * cols) || !nas_inside(env, &h, v[4], 2 * rows)) return NULL;
  if (v[2] >= 0 && !nas_inside(env, &h, v[2], cols)) return NULL;
  norm_forward_rows(h.base + v[0], h.base + v[1], v[2] >= 0 ? h.base + v[2] : NULL, h.base + v[3], h.base + v[4], rows, cols, eps, rms);
  return NULL;
}

static napi_value norm_backward(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  Heap h;
  int64_t v[11]; /* dy, x, gamma, stats, dx, dgamma, dbeta, rows, cols, rms */
  if (!nas_read_args(env, info, 11, "nas_kernels.normBackward: expected 11 arguments", &h, v, argv)) return NULL;
  const int64_t rows = v[7], cols = v[8];
  if (rows < 0 || cols <= 0) return napi_throw_range_error(env, NULL, "nas_kernels.normBackward: bad sizes"), NULL;
  if (!nas_inside(env, &h, v[0], rows * cols) || !nas_inside(env, &h, v[1], rows * cols) || !nas_inside(env, &h, v[2], cols) || !nas_inside(env, &h, v[3], 2 * rows) ||
      !nas_inside(env, &h, v[4], rows * cols) || !nas_inside(env, &h, v[5], cols))
    return NULL;
  if (v[6] >= 0 && !nas_inside(env, &h, v[6], cols)) return NULL;
  norm_backward_rows(h.base + v[0], h.base + v[1], h.base + v[2], h.base + v[3], h.base + v[4], h.base + v[5], v[6] >= 0 ? h.base + v[6] : NULL, rows, cols,
                     v[9] != 0);
  return NULL;
}

napi_status nas_define_kernels(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"linearForward", NULL, linear_forward, NULL, NULL, NULL, napi_default, NULL},
      {"linearBackward", NULL, linear_backward, NULL, NULL, NULL, napi_default, NULL},
      {"attentionForward", NULL, attention_forward, NULL, NULL, NULL, napi_default, NULL},
      {"attentionBackward", NULL, attention_backward, NULL, NULL, NULL, napi_default, NULL},
      {"sumSquares", NULL, sum_squares, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, adamw, NULL, NULL, NULL, napi_default, NULL},
      {"binary", NULL, binary, NULL, NULL, NULL, napi_default, NULL},
      {"unary", NULL, unary, NULL, NULL, NULL, napi_default, NULL},
      {"rowReduce", NULL, row_reduce, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxRows", NULL, softmax_rows, NULL, NULL, NULL, napi_default, NULL},
      {"normForward", NULL, norm_forward, NULL, NULL, NULL, napi_default, NULL},
      {"normBackward", NULL, norm_backward, NULL, NULL, NULL, napi_default, NULL},
      {"activationForward", NULL, activation_forward, NULL, NULL, NULL, napi_default, NULL},
      {"activationBackward", NULL, activation_backward, NULL, NULL, NULL, napi_default, NULL},
      {"crossEntropyForward", NULL, cross_entropy_forward, NULL, NULL, NULL, napi_default, NULL},
      {"crossEntropyBackward", NULL, cross_entropy_backward, NULL, NULL, NULL, napi_default, NULL},
  };
  const napi_status status = napi_define_properties(env, exports, sizeof props / sizeof *props, props);
  return status != napi_ok ? status : nas_define_flow_kernels(env, exports);
}
