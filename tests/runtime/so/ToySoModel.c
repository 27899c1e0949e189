/* A minimal model library linked exactly like a generated one: C glue +
 * descriptor + a C "driver", the runtime archive with --whole-archive, by the
 * C compiler driver, exporting only the prefixed API. The driver: state =
 * running token sum (int64), KV row p = token (int32, one segment), logits[v]
 * = sum * 100 + p * 10 + v, computed through halide_do_par_for. */
#include "hybridc/runtime_abi.h"
#include "toyso.h"

#include <string.h>

extern const hybridc_library_desc hybridc_library;

int halide_do_par_for(void *user_context, int (*task)(void *, int, uint8_t *), int min, int size,
                      uint8_t *closure);

struct row_closure {
  float *row;
  int64_t sum, pos;
};

static int row_task(void *uc, int v, uint8_t *closure) {
  struct row_closure *c = (struct row_closure *)closure;
  (void)uc;
  c->row[v] = (float)(c->sum * 100 + c->pos * 10 + v);
  return 0;
}

static void toyso_driver(void *ctx, hybridc_memref1d *tokens, hybridc_memref1d *weights,
                         hybridc_memref1d *state_in, hybridc_memref1d *state_out,
                         hybridc_memref1d *kv, int64_t kv_capacity, int64_t past,
                         hybridc_memref1d *workspace, hybridc_memref1d *logits,
                         int64_t logits_from) {
  const int32_t *t = (const int32_t *)tokens->aligned;
  int32_t *rows = (int32_t *)kv->aligned;
  int64_t sum;
  int64_t i;
  (void)weights;
  (void)kv_capacity;
  (void)workspace;
  memcpy(&sum, state_in->aligned, sizeof sum);
  for (i = 0; i < tokens->size; ++i) {
    sum += t[i];
    rows[past + i] = t[i];
    if (i >= logits_from) {
      struct row_closure c;
      c.row = (float *)logits->aligned + (i - logits_from) * TOYSO_VOCAB_SIZE;
      c.sum = sum;
      c.pos = past + i;
      if (halide_do_par_for(ctx, row_task, 0, TOYSO_VOCAB_SIZE, (uint8_t *)&c) != 0)
        hybridc_rt_kernel_failed(ctx, "row", -1);
    }
  }
  memcpy(state_out->aligned, &sum, sizeof sum);
}

static const uint8_t toyso_weights[64] = {1};

static const hybridc_model_desc toyso_variant = {
    .name = "toyso",
    .model_hash = 0x1234,
    .weights_bytes = sizeof toyso_weights,
    .embedded_weights = toyso_weights,
    .vocab_size = TOYSO_VOCAB_SIZE,
    .hidden_size = 4,
    .num_layers = 1,
    .state_bytes = 8,
    /* One layer's K and V of one f32 value per token (kv_layout.h: with a
       head dim of 1 the K layout is token-major too); the driver writes K. */
    .kv_segments = 2,
    .kv_row_bytes = 4,
    .kv_dtype = 0,
    .kv_heads = 1,
    .kv_head_dim = 1,
    .max_chunk_tokens = 3,
    .workspace_fixed_bytes = 0,
    .workspace_bytes_per_token = 0,
    .prefill = toyso_driver,
    .decode = toyso_driver,
    .target = "x86-64-avx2",
    .weights_layout_bytes = sizeof toyso_weights,
};
static const hybridc_model_desc *const toyso_variants[] = {&toyso_variant};
const hybridc_library_desc hybridc_library = {"toyso", 1, toyso_variants};

#include "toyso_glue.inc"
