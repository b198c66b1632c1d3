/*
 * A whole coupling layer of a normalizing flow in one native call forward and one backward: the mask split, the
 * conditioner MLP, the affine (or additive) transformation of the other half and its log-determinant. See
 * src/models/flows/fused-coupling.ts for why (a 2-D flow's training step was ~860 tiny tfjs kernels) and for the
 * plain-tfjs layer (coupling.ts) that computes the same quantity; tests compare the two.
 *
 *   couplingForward(heap, layout, x, z, logdet, saved)
 *   couplingBackward(heap, layout, x, saved, dz, dlogdet, dx, grads, scratch)
 *
 * `layout` (Float64Array) describes the layer, offsets and sizes in floats:
 *   [0] N rows  [1] D  [2] |A|  [3] |B|  [4] kind: 0 additive, 1 affine with log s = c·tanh(raw), 2 affine with
 *   log s = log 2 − softplus(−raw)  [5] activation: 0 relu, 1 tanh, 2 elu, 3 swish  [6] H hidden layers
 *   [7] hidden width  [8] c (the tanh bound's per-dimension scale, |B| floats; −1 without)
 *   then A's column indices, B's column indices, then (W_l, b_l) offsets for l = 0..H (W_l [in_l, out_l]).
 * Conditioner: h_0 = x_A, h_{l+1} = act(h_l·W_l + b_l) for l < H, out = h_H·W_H + b_H with out = (raw, t) [N, 2|B|]
 * (additive: out = t [N, |B|]). Then z_A = x_A, z_B = x_B ⊙ exp(log s) + t (additive: x_B + t), logdet = Σ log s.
 *
 * `saved` [N·|A| + 2·H·N·width + N·outs] keeps x_A, each hidden layer's pre- and post-activation, and out, for
 * the backward pass. `grads` (Float64Array): offsets of dW_0, db_0, …, dW_H, db_H, dc (−1 without c). dlogdet < 0
 * means a zero gradient of the log-determinant. `scratch`: 2·N·max(outs, width, |A|) + 2·|B| floats of working
 * memory on the heap (the caller's: a fresh malloc of that size would be an mmap with page faults every call).
 * Arithmetic in float32, as the tfjs ops it replaces.
 */
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nas_blas.h"

enum { ADDITIVE = 0, AFFINE_TANH = 1, AFFINE_SIGMOID = 2 };
enum { RELU = 0, TANH = 1, ELU = 2, SWISH = 3 };

typedef struct {
  int64_t n, d, na, nb, kind, act, hidden, width, c, outs;
  const double *a, *b, *layers; /* column indices of A and B; (W, b) offsets per layer */
} Coupling;

static int64_t fan_in(const Coupling *c, int64_t l) { return l == 0 ? c->na : c->width; }
static int64_t fan_out(const Coupling *c, int64_t l) { return l == c->hidden ? c->outs : c->width; }
static int64_t saved_size(const Coupling *c) { return c->n * c->na + 2 * c->hidden * c->n * c->width + c->n * c->outs; }

/* Reads and checks a layout: sizes, kinds, indices and every weight inside the heap. */
static int read_layout(napi_env env, napi_value value, const Heap *h, Coupling *c) {
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float64_array || length < 9) {
    napi_throw_type_error(env, NULL, "nas_kernels: a coupling layout must be a Float64Array");
    return 0;
  }
  const double *v = (const double *)data;
  c->n = (int64_t)v[0], c->d = (int64_t)v[1], c->na = (int64_t)v[2], c->nb = (int64_t)v[3], c->kind = (int64_t)v[4];
  c->act = (int64_t)v[5], c->hidden = (int64_t)v[6], c->width = (int64_t)v[7], c->c = (int64_t)v[8];
  c->outs = c->kind == ADDITIVE ? c->nb : 2 * c->nb;
  if (c->n < 0 || c->na < 1 || c->nb < 1 || c->na + c->nb != c->d || c->kind < 0 || c->kind > 2 || c->act < 0 || c->act > 3 || c->hidden < 0 ||
      (c->hidden > 0 && c->width < 1) || (size_t)(9 + c->d + 2 * (c->hidden + 1)) != length || (c->kind == AFFINE_TANH) != (c->c >= 0)) {
    napi_throw_range_error(env, NULL, "nas_kernels: bad coupling layout");
    return 0;
  }
  c->a = v + 9;
  c->b = c->a + c->na;
  c->layers = c->b + c->nb;
  for (int64_t j = 0; j < c->d; j++) {
    const double col = c->a[j];
    if (col < 0 || col >= (double)c->d) return napi_throw_range_error(env, NULL, "nas_kernels: coupling column out of range"), 0;
  }
  for (int64_t l = 0; l <= c->hidden; l++)
    if (!nas_inside(env, h, (int64_t)c->layers[2 * l], fan_in(c, l) * fan_out(c, l)) || !nas_inside(env, h, (int64_t)c->layers[2 * l + 1], fan_out(c, l)))
      return 0;
  return c->c < 0 || nas_inside(env, h, c->c, c->nb);
}

static const double *read_offsets(napi_env env, napi_value value, size_t expected) {
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float64_array || length != expected) {
    napi_throw_type_error(env, NULL, "nas_kernels: the coupling's gradient offsets must be a Float64Array of 2·(H + 1) + 1 numbers");
    return NULL;
  }
  return (const double *)data;
}

static int64_t offset_arg(napi_env env, napi_value value) {
  double d = 0;
  if (napi_get_value_double(env, value, &d) != napi_ok) {
    napi_throw_type_error(env, NULL, "nas_kernels: expected a number");
    return INT64_MIN;
  }
  return (int64_t)d;
}

VECTORISED static void activate(int act, const float *pre, float *post, int64_t size) {
  switch (act) {
    case RELU: for (int64_t i = 0; i < size; i++) post[i] = pre[i] > 0.0f ? pre[i] : 0.0f; break;
    case TANH: for (int64_t i = 0; i < size; i++) post[i] = tanhf(pre[i]); break;
    case ELU: for (int64_t i = 0; i < size; i++) post[i] = pre[i] > 0.0f ? pre[i] : expf(pre[i]) - 1.0f; break;
    case SWISH: for (int64_t i = 0; i < size; i++) post[i] = pre[i] / (1.0f + expf(-pre[i])); break;
  }
}

/* g ⊙= act'(pre) (post = act(pre), which tanh's and elu's derivatives use). */
VECTORISED static void activation_grad(int act, const float *pre, const float *post, float *g, int64_t size) {
  switch (act) {
    case RELU: for (int64_t i = 0; i < size; i++) g[i] = pre[i] > 0.0f ? g[i] : 0.0f; break;
    case TANH: for (int64_t i = 0; i < size; i++) g[i] *= 1.0f - post[i] * post[i]; break;
    case ELU: for (int64_t i = 0; i < size; i++) g[i] = pre[i] > 0.0f ? g[i] : g[i] * (post[i] + 1.0f); break;
    case SWISH:
      for (int64_t i = 0; i < size; i++) {
        const float s = 1.0f / (1.0f + expf(-pre[i]));
        g[i] *= s + pre[i] * s * (1.0f - s);
      }
      break;
  }
}

static float softplus(float u) { return u > 0.0f ? u + log1pf(expf(-u)) : log1pf(expf(u)); }

/* log s of one element from the conditioner's raw output. */
static float log_scale(const Coupling *c, const float *scale, int64_t j, float raw) {
  return c->kind == AFFINE_TANH ? scale[j] * tanhf(raw) : (float)M_LN2 - softplus(-raw);
}

static void rows_of_bias(float *y, const float *b, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) memcpy(y + r * cols, b, (size_t)cols * sizeof(float));
}

static napi_value coupling_forward(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Heap h;
  if (!nas_read_args(env, info, 6, "nas_kernels.couplingForward: expected 6 arguments", &h, NULL, argv) || !nas_need_blas(env)) return NULL;
  Coupling c;
  if (!read_layout(env, argv[1], &h, &c)) return NULL;
  const int64_t xo = offset_arg(env, argv[2]), zo = offset_arg(env, argv[3]), ldo = offset_arg(env, argv[4]), so = offset_arg(env, argv[5]);
  if (!nas_inside(env, &h, xo, c.n * c.d) || !nas_inside(env, &h, zo, c.n * c.d) || !nas_inside(env, &h, ldo, c.n) || !nas_inside(env, &h, so, saved_size(&c)))
    return NULL;
  const float *x = h.base + xo, *scale = c.c >= 0 ? h.base + c.c : NULL;
  float *z = h.base + zo, *logdet = h.base + ldo, *xa = h.base + so;
  const int64_t n = c.n, d = c.d, w = c.width;
  for (int64_t r = 0; r < n; r++)
    for (int64_t j = 0; j < c.na; j++) xa[r * c.na + j] = x[r * d + (int64_t)c.a[j]];
  const float *in = xa;
  float *p = xa + n * c.na;
  for (int64_t l = 0; l <= c.hidden; l++) {
    const int64_t fi = fan_in(&c, l), fo = fan_out(&c, l);
    float *pre = p;
    rows_of_bias(pre, h.base + (int64_t)c.layers[2 * l + 1], n, fo);
    nas_gemm(0, 0, n, fo, fi, 1.0f, in, fi, h.base + (int64_t)c.layers[2 * l], fo, 1.0f, pre, fo);
    if (l == c.hidden) break;
    float *post = pre + n * w;
    activate((int)c.act, pre, post, n * w);
    in = post;
    p = post + n * w;
  }
  const float *out = p;
  for (int64_t r = 0; r < n; r++) {
    float ld = 0.0f;
    for (int64_t j = 0; j < c.na; j++) z[r * d + (int64_t)c.a[j]] = x[r * d + (int64_t)c.a[j]];
    for (int64_t j = 0; j < c.nb; j++) {
      const int64_t col = (int64_t)c.b[j];
      const float xb = x[r * d + col];
      if (c.kind == ADDITIVE) {
        z[r * d + col] = xb + out[r * c.outs + j];
        continue;
      }
      const float ls = log_scale(&c, scale, j, out[r * c.outs + j]);
      z[r * d + col] = xb * expf(ls) + out[r * c.outs + c.nb + j];
      ld += ls;
    }
    logdet[r] = ld;
  }
  return NULL;
}

static napi_value coupling_backward(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  Heap h;
  if (!nas_read_args(env, info, 9, "nas_kernels.couplingBackward: expected 9 arguments", &h, NULL, argv) || !nas_need_blas(env)) return NULL;
  Coupling c;
  if (!read_layout(env, argv[1], &h, &c)) return NULL;
  const int64_t xo = offset_arg(env, argv[2]), so = offset_arg(env, argv[3]), dzo = offset_arg(env, argv[4]), dldo = offset_arg(env, argv[5]);
  const int64_t dxo = offset_arg(env, argv[6]);
  const double *g = read_offsets(env, argv[7], (size_t)(2 * (c.hidden + 1) + 1));
  if (!g) return NULL;
  const int64_t n = c.n, d = c.d, w = c.width;
  if (!nas_inside(env, &h, xo, n * d) || !nas_inside(env, &h, so, saved_size(&c)) || !nas_inside(env, &h, dzo, n * d) || !nas_inside(env, &h, dxo, n * d) ||
      (dldo >= 0 && !nas_inside(env, &h, dldo, n)))
    return NULL;
  for (int64_t l = 0; l <= c.hidden; l++)
    if (!nas_inside(env, &h, (int64_t)g[2 * l], fan_in(&c, l) * fan_out(&c, l)) || !nas_inside(env, &h, (int64_t)g[2 * l + 1], fan_out(&c, l))) return NULL;
  const int64_t dco = (int64_t)g[2 * (c.hidden + 1)];
  if ((c.c >= 0) != (dco >= 0) || (dco >= 0 && !nas_inside(env, &h, dco, c.nb)))
    return napi_throw_range_error(env, NULL, "nas_kernels: the coupling's dc offset"), NULL;

  const float *x = h.base + xo, *dz = h.base + dzo, *dld = dldo >= 0 ? h.base + dldo : NULL, *scale = c.c >= 0 ? h.base + c.c : NULL;
  const float *xa = h.base + so, *out = xa + n * c.na + 2 * c.hidden * n * w;
  float *dx = h.base + dxo;
  const int64_t widest = c.outs > w ? (c.outs > c.na ? c.outs : c.na) : (w > c.na ? w : c.na);
  const int64_t scratch = offset_arg(env, argv[8]);
  if (!nas_inside(env, &h, scratch, 2 * n * widest + 2 * c.nb)) return NULL;
  float *const mem = h.base + scratch;
  float *buf[2] = {mem, mem + n * widest};
  double *dc = (double *)(mem + 2 * n * widest); /* 2·|B| floats hold |B| doubles (the heap's buffers are 8-byte aligned) */
  memset(dc, 0, (size_t)c.nb * sizeof(double));

  /* The transformation of B: d out = (d raw, d t), and dx_B. */
  float *gout = buf[0];
  for (int64_t r = 0; r < n; r++)
    for (int64_t j = 0; j < c.nb; j++) {
      const int64_t col = (int64_t)c.b[j];
      const float dzb = dz[r * d + col];
      if (c.kind == ADDITIVE) {
        gout[r * c.outs + j] = dzb;
        dx[r * d + col] = dzb;
        continue;
      }
      const float raw = out[r * c.outs + j], ls = log_scale(&c, scale, j, raw), e = expf(ls);
      const float dls = dzb * x[r * d + col] * e + (dld ? dld[r] : 0.0f);
      dx[r * d + col] = dzb * e;
      gout[r * c.outs + c.nb + j] = dzb;
      if (c.kind == AFFINE_TANH) {
        const float th = tanhf(raw);
        gout[r * c.outs + j] = dls * scale[j] * (1.0f - th * th);
        dc[j] += (double)(dls * th);
      } else {
        gout[r * c.outs + j] = dls / (1.0f + expf(raw)); /* d/draw [log 2 − softplus(−raw)] = σ(−raw) */
      }
    }

  /* The conditioner, last layer first; the gradient of x_A ends in buf. */
  const float *gl = gout;
  int which = 0;
  for (int64_t l = c.hidden; l >= 0; l--) {
    const int64_t fi = fan_in(&c, l), fo = fan_out(&c, l);
    const float *pre_in = l == 0 ? NULL : xa + n * c.na + 2 * (l - 1) * n * w; /* pre-activation of this layer's input */
    const float *in = l == 0 ? xa : pre_in + n * w;
    const float *wl = h.base + (int64_t)c.layers[2 * l];
    nas_gemm(1, 0, fi, fo, n, 1.0f, in, fi, gl, fo, 0.0f, h.base + (int64_t)g[2 * l], fo);
    nas_column_sums(gl, h.base + (int64_t)g[2 * l + 1], n, fo);
    float *gin = buf[1 - which];
    nas_gemm(0, 1, n, fi, fo, 1.0f, gl, fo, wl, fo, 0.0f, gin, fi);
    if (l > 0) activation_grad((int)c.act, pre_in, in, gin, n * fi);
    gl = gin;
    which = 1 - which;
  }
  for (int64_t r = 0; r < n; r++)
    for (int64_t j = 0; j < c.na; j++) {
      const int64_t col = (int64_t)c.a[j];
      dx[r * d + col] = dz[r * d + col] + gl[r * c.na + j];
    }
  if (dco >= 0)
    for (int64_t j = 0; j < c.nb; j++) h.base[dco + j] = (float)dc[j];
  return NULL;
}

napi_status nas_define_flow_kernels(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"couplingForward", NULL, coupling_forward, NULL, NULL, NULL, napi_default, NULL},
      {"couplingBackward", NULL, coupling_backward, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof *props, props);
}
