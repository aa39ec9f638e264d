/* AIfES 2.2.0, f32, layered API: MLP 64-32-10 (dense, ReLU, dense, softmax; cross-entropy loss), batch 1.
   Counts instructions for one inference and one training step with SGD and Adam, prints AIfES's memory sizes.
   -DUSE_CMSIS: dense layers use ailayer_dense_f32_cmsis (forward via CMSIS-DSP arm_mat_mult_f32). */
#include <stdio.h>
#include <string.h>
#include "aifes.h"
#ifdef USE_CMSIS
#include "aifes_cmsis.h"
#define DENSE ailayer_dense_f32_cmsis
#define BACKEND "cmsis dense"
#else
#define DENSE ailayer_dense_f32_default
#define BACKEND "default"
#endif
#include "count.h"
#define IN 64
#ifndef HID
#define HID 32                 /* the anchors' model 64-32-10; run.sh also builds -DHID=64 (the digits model's shape) */
#endif
#define OUT 10
#define MACS (IN * HID + HID * OUT)
static float xin[IN], tgt[OUT], yout[OUT];
static uint8_t param_mem[40000] __attribute__((aligned(8))), work_mem[2500 * HID] __attribute__((aligned(8)));

typedef struct {
  aimodel_t m; uint16_t ishape[2];
  ailayer_input_f32_t il; ailayer_dense_f32_t d1; ailayer_relu_f32_t r1;
  ailayer_dense_f32_t d2; ailayer_softmax_f32_t sm; ailoss_crossentropy_f32_t loss;
} net_t;

static void build(net_t *n) {
  n->ishape[0] = 1; n->ishape[1] = IN;
  n->il = (ailayer_input_f32_t)AILAYER_INPUT_F32_A(2, n->ishape);
  n->d1 = (ailayer_dense_f32_t)AILAYER_DENSE_F32_A(HID); n->r1 = (ailayer_relu_f32_t)AILAYER_RELU_F32_A();
  n->d2 = (ailayer_dense_f32_t)AILAYER_DENSE_F32_A(OUT); n->sm = (ailayer_softmax_f32_t)AILAYER_SOFTMAX_F32_A();
  ailayer_t *x;
  n->m.input_layer = ailayer_input_f32_default(&n->il);
  x = DENSE(&n->d1, n->m.input_layer);
  x = ailayer_relu_f32_default(&n->r1, x);
  x = DENSE(&n->d2, x);
  x = ailayer_softmax_f32_default(&n->sm, x);
  n->m.output_layer = x;
  n->m.loss = ailoss_crossentropy_f32_default(&n->loss, n->m.output_layer);
  aialgo_compile_model(&n->m);
  aialgo_distribute_parameter_memory(&n->m, param_mem, aialgo_sizeof_parameter_memory(&n->m));
  srand(1);
  aimath_f32_default_init_glorot_uniform(&n->d1.weights); aimath_f32_default_init_zeros(&n->d1.bias);
  aimath_f32_default_init_glorot_uniform(&n->d2.weights); aimath_f32_default_init_zeros(&n->d2.bias);
}

int main(void) {
  for (int i = 0; i < IN; i++) xin[i] = (float)(i % 7) * 0.1f - 0.3f;
  memset(tgt, 0, sizeof tgt); tgt[3] = 1.0f;
  uint16_t s_in[] = {1, IN}, s_out[] = {1, OUT};
  aitensor_t xt = AITENSOR_2D_F32(s_in, xin), tt = AITENSOR_2D_F32(s_out, tgt), yt = AITENSOR_2D_F32(s_out, yout);
  count_start();
  static net_t n;

  /* inference-only deployment: inference memory scheduled */
  build(&n);
  uint32_t psz = aialgo_sizeof_parameter_memory(&n.m), isz = aialgo_sizeof_inference_memory(&n.m);
  aialgo_schedule_inference_memory(&n.m, work_mem, isz);
  aialgo_inference_model(&n.m, &xt, &yt);
  double inf = MEASURE(aialgo_inference_model(&n.m, &xt, &yt));
  printf("AIfES %s: parameter memory %lu B, inference memory %lu B\n", BACKEND, (unsigned long)psz, (unsigned long)isz);
  printf("  inference: %.0f instr, %.2f instr/MAC (%d MACs)\n", inf, inf / MACS, MACS);

  for (int k = 0; k < 2; k++) {
    build(&n);
    aiopti_sgd_f32_t sgd = AIOPTI_SGD_F32(0.01f);
    aiopti_adam_f32_t adam = AIOPTI_ADAM_F32(0.001f, 0.9f, 0.999f, 1e-7f);
    aiopti_t *o = k == 0 ? aiopti_sgd_f32_default(&sgd) : aiopti_adam_f32_default(&adam);
    uint32_t tsz = aialgo_sizeof_training_memory(&n.m, o);
    aialgo_schedule_training_memory(&n.m, o, work_mem, tsz);
    aialgo_init_model_for_training(&n.m, o);
    float l0, l1;
    aialgo_calc_loss_model_f32(&n.m, &xt, &tt, &l0);
    aialgo_train_model(&n.m, &xt, &tt, o, 1);                       /* warm-up step */
    double tr = MEASURE(aialgo_train_model(&n.m, &xt, &tt, o, 1));
    double z = MEASURE(aialgo_zero_gradients_model(&n.m, o));
    double f = MEASURE(aialgo_forward_model(&n.m, &xt));
    double b = MEASURE(aialgo_backward_model(&n.m, &tt));
    double u = MEASURE(aialgo_update_params_model(&n.m, o));
    for (int s = 0; s < 20; s++) aialgo_train_model(&n.m, &xt, &tt, o, 1);
    aialgo_calc_loss_model_f32(&n.m, &xt, &tt, &l1);
    printf("AIfES %s + %s: training memory %lu B (params %lu B not included)\n", BACKEND, k ? "Adam" : "SGD", (unsigned long)tsz, (unsigned long)psz);
    printf("  train step: %.0f instr, %.1f instr/MAC-of-forward, %.1fx inference\n", tr, tr / MACS, tr / inf);
    printf("  parts: zero_grad %.0f, forward %.0f, backward %.0f, update %.0f\n", z, f, b, u);
    printf("  loss before %.4f, after 23 steps %.4f\n", (double)l0, (double)l1);
  }
  /* where the element-wise time goes: two AIfES f32 kernels on the 2048-element W1 tensor */
  static float tmp[IN * HID], pos[IN * HID];
  for (int i = 0; i < IN * HID; i++) pos[i] = 1e-6f * (float)(i + 1);   /* like Adam's v: small, positive */
  aitensor_t w1 = n.d1.weights, tt1 = w1; tt1.data = tmp; w1.data = pos;
  double zs = MEASURE(aimath_f32_default_zero_tensor(&tt1));
  double sq = MEASURE(aimath_f32_default_sqrt(&w1, &tt1));
  printf("  element-wise kernels on %d elements: zero_tensor %.1f instr/elem, sqrt %.1f instr/elem\n", IN * HID, zs / (IN * HID), sq / (IN * HID));
  return 0;
}
