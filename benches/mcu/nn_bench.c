/* CMSIS-NN int8 kernels on Cortex-M4 (DSP extension) in QEMU: instructions per MAC.
 * The team's anchor (docs/anchors/mcu/nn_bench.c); changed for the harness: each output's
 * FNV-1a hash is printed (`hash CMSIS-NN <problem> <hex>`) so that run.sh can check that
 * neurite's kernels (firmware/src/int8_anchors.rs, the same data) give the same bytes. */
#include <stdio.h>
#include <string.h>
#include "arm_nnfunctions.h"
#include "count.h"
static int8_t in_fc[256], w_fc[256 * 64], out_fc[64]; static int32_t b_fc[64], ksum[64];
#define CI 8
#define CO 16
#define HW 16
static int8_t in_cv[HW * HW * CI], w_cv[CO * 3 * 3 * CI], out_cv[HW * HW * CO]; static int32_t b_cv[CO], mult[CO], shft[CO];
static int16_t buf_cv[2 * 3 * 3 * CI * 2];
static uint32_t seed = 1; static int8_t r8(void) { seed = seed * 1664525u + 1013904223u; return (int8_t)(seed >> 24); }
static double fc(int n_in, int n_out) {
  cmsis_nn_context ctx = { ksum, sizeof ksum };
  cmsis_nn_fc_params p = { .input_offset = 3, .filter_offset = 0, .output_offset = -5, .activation = { -128, 127 } };
  cmsis_nn_per_tensor_quant_params q = { 1518500250, -7 };
  cmsis_nn_dims id = { 1, 1, 1, n_in }, fd = { n_in, 1, 1, n_out }, bd = { 1, 1, 1, n_out }, od = { 1, 1, 1, n_out };
  arm_vector_sum_s8(ksum, n_in, n_out, w_fc, p.input_offset, 0, b_fc);
  arm_fully_connected_s8(&ctx, &p, &q, &id, in_fc, &fd, w_fc, &bd, b_fc, &od, out_fc);
  return MEASURE(arm_fully_connected_s8(&ctx, &p, &q, &id, in_fc, &fd, w_fc, &bd, b_fc, &od, out_fc));
}
static double conv(void) {
  cmsis_nn_dims id = { 1, HW, HW, CI }, fd = { CO, 3, 3, CI }, bd = { 1, 1, 1, CO }, od = { 1, HW, HW, CO };
  cmsis_nn_context ctx = { buf_cv, arm_convolve_s8_get_buffer_size(&id, &fd) };
  cmsis_nn_conv_params p = { .input_offset = 3, .output_offset = -5, .stride = { 1, 1 }, .padding = { 1, 1 }, .dilation = { 1, 1 }, .activation = { -128, 127 } };
  cmsis_nn_per_channel_quant_params q = { mult, shft };
  if (ctx.size > (int)sizeof buf_cv) { printf("conv buffer %d too small\n", (int)ctx.size); return 0; }
  arm_convolve_s8(&ctx, &p, &q, &id, in_cv, &fd, w_cv, &bd, b_cv, NULL, &od, out_cv);
  return MEASURE(arm_convolve_s8(&ctx, &p, &q, &id, in_cv, &fd, w_cv, &bd, b_cv, NULL, &od, out_cv));
}
static unsigned long fnv1a(const int8_t *p, unsigned n) {
  uint32_t h = 2166136261u;
  for (unsigned i = 0; i < n; i++) { h ^= (uint8_t)p[i]; h *= 16777619u; }
  return (unsigned long)h;
}
int main(void) {
  for (unsigned i = 0; i < sizeof in_fc; i++) in_fc[i] = r8();
  for (unsigned i = 0; i < sizeof w_fc; i++) w_fc[i] = r8();
  for (unsigned i = 0; i < sizeof in_cv; i++) in_cv[i] = r8();
  for (unsigned i = 0; i < sizeof w_cv; i++) w_cv[i] = r8();
  for (int i = 0; i < CO; i++) { mult[i] = 1518500250; shft[i] = -8; b_cv[i] = 100 * i; }
  for (int i = 0; i < 64; i++) b_fc[i] = 50 * i;
  count_start();
  double n;
  n = fc(64, 64); printf("arm_fully_connected_s8 64x64      %9.0f instr  %.3f instr/MAC\n", n, n / (64.0 * 64));
  printf("hash CMSIS-NN fc-64x64 %08lx\n", fnv1a(out_fc, 64));
  n = fc(256, 64); printf("arm_fully_connected_s8 256x64     %9.0f instr  %.3f instr/MAC\n", n, n / (256.0 * 64));
  printf("hash CMSIS-NN fc-256x64 %08lx\n", fnv1a(out_fc, 64));
  n = conv(); double macs = (double)HW * HW * CO * 9 * CI;
  printf("arm_convolve_s8 16x16x8 -> 16, 3x3 %9.0f instr  %.3f instr/MAC (%.0f MACs incl. padding)\n", n, n / macs, macs);
  printf("hash CMSIS-NN conv-16x16x8 %08lx\n", fnv1a(out_cv, sizeof out_cv));
  return 0;
}
