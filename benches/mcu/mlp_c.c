/* Plain C baseline: MLP 64-32-10 (ReLU, softmax + cross-entropy), batch 1, naive loops.
   Weights row-major [out][in]. Train step = forward + backward (gradients into buffers) + update. */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include "count.h"
#define IN 64
#ifndef HID
#define HID 32                 /* the anchors' model 64-32-10; run.sh also builds -DHID=64 (the digits model's shape) */
#endif
#define OUT 10
#define NP (HID * IN + HID + OUT * HID + OUT)
#define MACS (IN * HID + HID * OUT)
static float P[NP], G[NP], M1[NP], M2[NP];          /* params, grads, Adam moments */
#define W1 (P)
#define B1 (P + HID * IN)
#define W2 (P + HID * IN + HID)
#define B2 (P + HID * IN + HID + OUT * HID)
#define GW1 (G)
#define GB1 (G + HID * IN)
#define GW2 (G + HID * IN + HID)
#define GB2 (G + HID * IN + HID + OUT * HID)
static float x[IN], t[OUT], h[HID], p[OUT];

__attribute__((noinline)) void forward(const float *in) {
  for (int j = 0; j < HID; j++) { float s = B1[j]; for (int i = 0; i < IN; i++) s += W1[j * IN + i] * in[i]; h[j] = s > 0.0f ? s : 0.0f; }
  float mx = -INFINITY;
  for (int k = 0; k < OUT; k++) { float s = B2[k]; for (int j = 0; j < HID; j++) s += W2[k * HID + j] * h[j]; p[k] = s; if (s > mx) mx = s; }
  float sum = 0.0f;
  for (int k = 0; k < OUT; k++) { p[k] = expf(p[k] - mx); sum += p[k]; }
  float r = 1.0f / sum;
  for (int k = 0; k < OUT; k++) p[k] *= r;
}
__attribute__((noinline)) void backward(const float *in, const float *tg) {
  float dz[OUT], dh[HID];
  for (int k = 0; k < OUT; k++) { dz[k] = p[k] - tg[k]; GB2[k] = dz[k]; }
  for (int k = 0; k < OUT; k++) for (int j = 0; j < HID; j++) GW2[k * HID + j] = dz[k] * h[j];
  for (int j = 0; j < HID; j++) { float s = 0.0f; for (int k = 0; k < OUT; k++) s += W2[k * HID + j] * dz[k]; dh[j] = h[j] > 0.0f ? s : 0.0f; }
  for (int j = 0; j < HID; j++) { GB1[j] = dh[j]; for (int i = 0; i < IN; i++) GW1[j * IN + i] = dh[j] * in[i]; }
}
__attribute__((noinline)) void sgd(float lr) { for (int i = 0; i < NP; i++) P[i] -= lr * G[i]; }
static int adam_t;
__attribute__((noinline)) void adam(float lr, float b1, float b2, float eps) {
  adam_t++;
  float c1 = 1.0f / (1.0f - powf(b1, (float)adam_t)), c2 = 1.0f / (1.0f - powf(b2, (float)adam_t));
  for (int i = 0; i < NP; i++) {
    float g = G[i];
    M1[i] = b1 * M1[i] + (1.0f - b1) * g;
    M2[i] = b2 * M2[i] + (1.0f - b2) * g * g;
    P[i] -= lr * (M1[i] * c1) / (sqrtf(M2[i] * c2) + eps);
  }
}
static float loss(void) { forward(x); float l = 0; for (int k = 0; k < OUT; k++) if (t[k] > 0) l -= t[k] * logf(p[k]); return l; }
static void init(void) {
  srand(1);
  for (int i = 0; i < NP; i++) P[i] = 0.0f, M1[i] = M2[i] = 0.0f;
  float r1 = sqrtf(6.0f / (IN + HID)), r2 = sqrtf(6.0f / (HID + OUT));
  for (int i = 0; i < HID * IN; i++) W1[i] = ((float)rand() / RAND_MAX * 2 - 1) * r1;
  for (int i = 0; i < OUT * HID; i++) W2[i] = ((float)rand() / RAND_MAX * 2 - 1) * r2;
  adam_t = 0;
}
int main(void) {
  for (int i = 0; i < IN; i++) x[i] = (float)(i % 7) * 0.1f - 0.3f;
  t[3] = 1.0f;
  count_start();
  init();
  forward(x);
  double f = MEASURE(forward(x));
  double b = MEASURE(backward(x, t));
  double u = MEASURE(sgd(0.01f));
  printf("plain C: params %d B, grads %d B, activations %d B; Adam moments %d B\n", (int)sizeof P, (int)sizeof G,
         (int)(sizeof h + sizeof p + 4 * (OUT + HID)), (int)(sizeof M1 + sizeof M2));
  printf("  forward %.0f instr (%.2f/MAC), backward %.0f, SGD update %.0f (%.2f/param)\n", f, f / MACS, b, u, u / NP);
  init(); float l0 = loss();
  forward(x); backward(x, t); sgd(0.01f);
  double s = MEASURE((forward(x), backward(x, t), sgd(0.01f)));
  for (int k = 0; k < 20; k++) { forward(x); backward(x, t); sgd(0.01f); }
  printf("  SGD train step %.0f instr (%.1fx forward); loss %.4f -> %.4f after 22 steps\n", s, s / f, (double)l0, (double)loss());
  init(); l0 = loss();
  forward(x); backward(x, t); adam(0.001f, 0.9f, 0.999f, 1e-7f);
  double ua = MEASURE(adam(0.001f, 0.9f, 0.999f, 1e-7f));
  double a = MEASURE((forward(x), backward(x, t), adam(0.001f, 0.9f, 0.999f, 1e-7f)));
  for (int k = 0; k < 20; k++) { forward(x); backward(x, t); adam(0.001f, 0.9f, 0.999f, 1e-7f); }
  printf("  Adam update %.0f (%.2f/param), Adam train step %.0f instr (%.1fx forward); loss %.4f -> %.4f after 23 steps\n",
         ua, ua / NP, a, a / f, (double)l0, (double)loss());
  return 0;
}
