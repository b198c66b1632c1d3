/*
 * Vector math for the kernels of kernels.c: e^x on 8 floats at a time, written with GCC's vector extensions and
 * compiled inside the callers' VECTORISED clones (AVX-512, AVX2, SSE2). Why not libm's expf in a loop: it is a call
 * per element (~4 ns), and as scalar code with clamps GCC 12 turned the loops into masked merges that made every
 * iteration wait for the previous one (1.5 ms instead of 0.2 ms for 393,216 GELUs), or did not vectorise them.
 */
#ifndef NAS_VECTOR_MATH_H
#define NAS_VECTOR_MATH_H

#include <stdint.h>
#include <string.h>

typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));

#define VINLINE static inline __attribute__((always_inline))

VINLINE f8 splat8(float c) { return (f8){c, c, c, c, c, c, c, c}; }
VINLINE f8 select8(i8 mask, f8 a, f8 b) { return (f8)(((i8)a & mask) | ((i8)b & ~mask)); }

/* e^x: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (Cody–Waite, ln 2 in two parts; n rounded to nearest by adding and
 * subtracting 1.5·2²³), e^r by Cephes' expf polynomial (within ~1 ulp of expf on that range), 2^n put into the
 * exponent bits. Above 88, x is clamped to 88 (e^88 ≈ 1.65e38); below −87 the result is 0, where expf would give
 * subnormal numbers (flushed to zero, so a −1e9 mask gives exactly 0); NaN stays NaN. */
VINLINE f8 vexp8(f8 x) {
  const i8 under = x < splat8(-87.0f);
  x = select8(under, splat8(-87.0f), x);
  x = select8(x > splat8(88.0f), splat8(88.0f), x);
  const f8 n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const f8 r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  f8 p = splat8(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const f8 er = p * (r * r) + r + 1.0f;
  const i8 bits = (__builtin_convertvector(n, i8) + 127) << 23;
  return select8(under, splat8(0.0f), er * (f8)bits);
}

VINLINE f8 vsigmoid8(f8 u) { return 1.0f / (1.0f + vexp8(-u)); }

/* 8 floats from (to) memory without an alignment assumption. */
VINLINE f8 load8(const float *p) {
  f8 v;
  memcpy(&v, p, sizeof v);
  return v;
}
VINLINE void store8(float *p, f8 v) { memcpy(p, &v, sizeof v); }

/* out[i] = e^(x[i] − shift), 8 at a time; the tail through a zero-padded copy. */
VINLINE void exp_row(const float *x, float shift, float *out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store8(out + i, vexp8(load8(x + i) - shift));
  if (i == n) return;
  float tail[8] = {0};
  memcpy(tail, x + i, (size_t)(n - i) * sizeof(float));
  store8(tail, vexp8(load8(tail) - shift));
  memcpy(out + i, tail, (size_t)(n - i) * sizeof(float));
}

#endif
